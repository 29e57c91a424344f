#!/usr/bin/env bash
# The Docker half of CI (called from .ci/run):
#   1. a Docker engine: the running one, else Debian's docker.io (installed if missing) started
#      here with published ports on 127.0.0.1 only (the harness binds its ports there anyway);
#   2. the images, built locally (tools/images/build.sh; base images and the Kafka/S3 images are
#      cached under ~/.cache/wharf/images, so a second run only rebuilds the services);
#   3. the Kafka integration suite once through the testcontainers provider (Kafka and S3 as
#      containers, Kubernetes as processes), together with the check that every service image
#      starts against that infra and reports ready.
# Where no Docker engine can be had it says why and exits 0: the process provider already ran
# every integration suite. With Docker, a failed build or test exits non-zero. On exit it removes
# any test container left (label dev.wharf.role) and the superseded service images, and stops
# the dockerd it started. Env: WHARF_IMAGE_BASE=local|official (default: official if Docker
# Hub answers), WHARF_KEEP_DOCKERD=1 keeps a dockerd this script started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
source tools/node/node24.sh
state="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}/dockerd"
say() { printf '[ci/docker] %s\n' "$*" >&2; }
no_docker() {
  say "no Docker engine: $* — the testcontainers provider and the image checks were NOT run (the process provider covers the integration suites)"
  exit 0
}
started_dockerd=''
cleanup() {
  # The harness removes its containers itself; this catches any a killed or crashed run left.
  if docker info >/dev/null 2>&1; then
    local left=()
    mapfile -t left < <(docker ps -aq --filter label=dev.wharf.role 2>/dev/null || true)
    if [[ ${#left[@]} -gt 0 ]]; then
      say "removing leftover test containers: ${left[*]}"
      docker rm -f "${left[@]}" >/dev/null 2>&1 || true
    fi
    # Each run rebuilds the service images; the previous ones (untagged now) would pile up.
    docker image prune -f --filter label=org.opencontainers.image.revision >/dev/null 2>&1 || true
  fi
  if [[ -n "$started_dockerd" && -z "${WHARF_KEEP_DOCKERD:-}" ]]; then
    say "stopping the dockerd this script started (pid $started_dockerd)"
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
  fi
}
trap cleanup EXIT
t0=$SECONDS

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then no_docker "dockerd is not installed and this user cannot install it (not root)"; fi
    say "installing Debian's docker.io…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1; } \
      || no_docker "apt-get install docker.io failed"
  fi
  command -v docker >/dev/null || no_docker "the docker client is missing"
  [[ $(id -u) -eq 0 ]] || no_docker "dockerd is not running and starting it needs root"
  mkdir -p "$state"
  say "starting dockerd (log $state/dockerd.log)…"
  # --ip: ports published by containers bind to 127.0.0.1 only.
  setsid dockerd --host unix:///var/run/docker.sock --ip 127.0.0.1 --pidfile "$state/dockerd.pid" \
    >"$state/dockerd.log" 2>&1 < /dev/null &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
  docker info >/dev/null 2>&1 || { no_docker "dockerd did not start ($(tail -n 3 "$state/dockerd.log" | tr '\n' ' '))"; }
fi
say "Docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) ready after $((SECONDS - t0)) s"

t1=$SECONDS
bash tools/images/build.sh kafka versitygw services
say "images ready in $((SECONDS - t1)) s"

t2=$SECONDS
export WHARF_INFRA="${WHARF_INFRA:-kafka,kube,s3}"
# Kubernetes has no image here: the provider runs it as processes (built once by install.sh).
[[ "$WHARF_INFRA" != *kube* ]] || bash tools/infra/install.sh kube >&2
status=0
WHARF_CONTAINERS=1 node_modules/.bin/jest -c jest.int.config.js \
  --globalSetup "$repo/libs/testing/src/containers/global-setup.ts" \
  --globalTeardown "$repo/libs/testing/src/jest/global-teardown.ts" \
  '(libs/platform/src/kafka/.*|libs/testing/src/containers/.*)\.int\.spec\.ts$' || status=$?
say "testcontainers run done in $((SECONDS - t2)) s (total $((SECONDS - t0)) s), jest exit $status"
exit "$status"
