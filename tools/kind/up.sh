#!/usr/bin/env bash
# Wharf on a local kind cluster, from a fresh clone on a machine with Docker and internet:
#   bash tools/kind/up.sh
# 1. creates the kind cluster `wharf` (tools/kind/cluster.yaml: gRPC on 127.0.0.1:50051)
# 2. builds the images (tools/images/build.sh) and `kind load`s them: they are never pulled
# 3. applies deploy/overlays/kind and waits for Kafka, the S3 store and the four services
# 4. runs a smoke job (2 indexes) with the wharf CLI and waits for it to succeed
# Env: WHARF_KIND_CLUSTER (default wharf), WHARF_IMAGE_BASE (official|local, see ADR 0006),
# WHARF_KIND_SKIP_BUILD=1 (reuse built images), WHARF_KIND_SMOKE=0 (skip the smoke job).
# Stop with: bash tools/kind/down.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/node/node24.sh
cluster="${WHARF_KIND_CLUSTER:-wharf}"
context="kind-$cluster"
say() { printf '[kind] %s\n' "$*" >&2; }
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { say "$tool is required (docker, kind >= 0.24, kubectl >= 1.27)"; exit 1; }
done
docker info >/dev/null 2>&1 || { say "the Docker engine is not running"; exit 1; }
t0=$SECONDS

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  say "cluster $cluster exists; reusing it"
else
  say "creating cluster $cluster…"
  kind create cluster --name "$cluster" --config tools/kind/cluster.yaml --wait 180s
fi

images=(wharf/scheduler:dev wharf/job-launcher:dev wharf/log-archiver:dev wharf/stream-ingest:dev
  wharf/kafka:4.4.0 wharf/versitygw:v1.8.0)
if [[ -z "${WHARF_KIND_SKIP_BUILD:-}" ]]; then
  bash tools/run.sh deps
  bash tools/images/build.sh --tag dev all
fi
for image in "${images[@]}"; do
  say "loading $image into the kind node…"
  kind load docker-image --name "$cluster" "$image" >/dev/null
done

say "applying deploy/overlays/kind…"
kubectl --context "$context" apply -k deploy/overlays/kind >/dev/null
for workload in statefulset/kafka statefulset/s3 deployment/scheduler deployment/job-launcher \
  deployment/log-archiver deployment/stream-ingest; do
  kubectl --context "$context" -n wharf rollout status "$workload" --timeout=300s
done
say "Wharf is up in $((SECONDS - t0)) s; gRPC API on 127.0.0.1:50051"

if [[ "${WHARF_KIND_SMOKE:-1}" != 0 ]]; then
  node tools/build/bundle.mjs apps/cli >/dev/null
  say "smoke job: 2 indexes on busybox…"
  node dist/apps/cli/main.js --server 127.0.0.1:50051 --token wharf-kind-dev-token-0001 submit --name kind-smoke --image busybox:1.36 \
    --namespace wharf-jobs --queue default --item alpha --item beta --parallelism 2 --watch -- sh -c 'echo "hello from index $WHARF_INDEX: $WHARF_ITEM"'
  say "smoke job succeeded"
fi
cat >&2 <<MSG
[kind] done in $((SECONDS - t0)) s. Try:
  export WHARF_TOKEN=wharf-kind-dev-token-0001         # the kind overlay's development token
  node dist/apps/cli/main.js list                      # the wharf CLI (default server 127.0.0.1:50051)
  grpcurl -plaintext 127.0.0.1:50051 list              # the API, by reflection
  kubectl --context $context -n wharf get pods
  bash tools/kind/down.sh                              # delete the cluster
MSG
