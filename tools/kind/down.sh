#!/usr/bin/env bash
# Deletes the kind cluster tools/kind/up.sh created (and everything in it).
set -euo pipefail
cluster="${WHARF_KIND_CLUSTER:-wharf}"
command -v kind >/dev/null || { echo "[kind] kind is not installed" >&2; exit 1; }
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  kind delete cluster --name "$cluster"
else
  echo "[kind] no cluster named $cluster" >&2
fi
