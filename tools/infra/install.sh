#!/usr/bin/env bash
# Builds or fetches, and caches by version, the real servers Wharf runs against:
#   install.sh [kafka] [kube] [s3]      (default: all three)
# Kafka's jars come from Maven Central; Kubernetes, KWOK, etcd and the S3 server are built from
# the Go module proxy. Cache: ${WHARF_CACHE_DIR:-~/.cache/wharf}. Only the first run pays.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=(kafka kube s3)
for component in "${components[@]}"; do
  start=$(date +%s)
  dir="$(bash "$here/install-$component.sh")"
  echo "infra: $component ready in $dir ($(( $(date +%s) - start )) s)" >&2
done
