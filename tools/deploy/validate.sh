#!/usr/bin/env bash
# CI validation of the deploy tree (see docs/deploy.md "CI validation"):
#   1. kubectl kustomize of every overlay → dist/deploy/<overlay>.yaml
#   2. each service's RBAC equals the least-privilege table in docs/deploy.md
#   3. server-side dry-run of every overlay under restricted Pod Security against a local
#      kube-apiserver (WHARF_KUBE_KUBECONFIG, else one started for the check)
# Usage: bash tools/deploy/validate.sh [--no-cluster]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/node/node24.sh
export PATH="$PWD/node_modules/.bin:$PATH"

command -v kubectl >/dev/null || { echo "validate: kubectl (>= 1.27, with built-in kustomize) is required" >&2; exit 1; }
mkdir -p dist/deploy
for dir in deploy/overlays/*/; do
  overlay="$(basename "$dir")"
  kubectl kustomize "$dir" > "dist/deploy/$overlay.yaml"
  echo "ok   build $overlay: $(grep -c '^kind:' "dist/deploy/$overlay.yaml") objects → dist/deploy/$overlay.yaml"
done
tsx tools/deploy/rbac-check.ts
if [[ "${1:-}" == "--no-cluster" ]]; then
  echo "validate: --no-cluster: server-side dry-run skipped"
else
  tsx tools/deploy/dry-run.ts
fi
