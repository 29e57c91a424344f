#!/usr/bin/env bash
# Builds Wharf's images:
#   tools/images/build.sh [--base local|official] [--tag TAG] [TARGET...]
# TARGET: scheduler job-launcher log-archiver stream-ingest (the services), kafka, versitygw,
# or `services` / `all` (default: all). Images are named wharf/<target>:<tag> (services,
# default tag `dev`), wharf/kafka:<kafka version>, wharf/versitygw:<version>.
#
# --base (or WHARF_IMAGE_BASE): `official` builds on node:24-bookworm-slim / debian:bookworm-slim
# (the default when Docker Hub answers); `local` builds on base images made here from Debian
# packages and the npm registry by build-base.sh, for machines without registry access.
# Kafka and versitygw images are cached as `docker save` tarballs in ~/.cache/wharf/images keyed
# by version, so a machine with a fresh Docker engine but a warm cache only loads them.
# Prints one line per image with its size.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/versions.sh"
source "$repo/tools/node/node24.sh"
log() { printf '[images] %s\n' "$*" >&2; }

base="${WHARF_IMAGE_BASE:-}"
tag="${WHARF_IMAGE_TAG:-dev}"
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
services=(scheduler job-launcher log-archiver stream-ingest)
[[ ${#targets[@]} -gt 0 ]] || targets=(all)
expanded=()
for t in "${targets[@]}"; do
  case "$t" in
    all) expanded+=("${services[@]}" kafka versitygw) ;;
    services) expanded+=("${services[@]}") ;;
    scheduler|job-launcher|log-archiver|stream-ingest|kafka|versitygw) expanded+=("$t") ;;
    *) log "unknown target '$t'"; exit 2 ;;
  esac
done

docker info >/dev/null 2>&1 || { log "no Docker engine reachable (start dockerd, or see .ci/docker.sh)"; exit 1; }
if [[ -z "$base" ]]; then
  # Docker Hub answers 401 to an anonymous /v2/ when reachable.
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 https://registry-1.docker.io/v2/ || true)"
  if [[ "$code" == 401 || "$code" == 200 ]]; then base=official; else base=local; fi
  log "base: $base (Docker Hub $([[ $base == official ]] && echo reachable || echo unreachable))"
fi
case "$base" in
  local)
    bash "$here/build-base.sh"
    node_image="$LOCAL_NODE_IMAGE"; runtime_image="$LOCAL_DEBIAN_IMAGE"; jre_image="$LOCAL_JRE_IMAGE" ;;
  official)
    node_image="$OFFICIAL_NODE_IMAGE"; runtime_image="$OFFICIAL_DEBIAN_IMAGE"; jre_image="$OFFICIAL_DEBIAN_IMAGE" ;;
  *) log "--base must be local or official"; exit 2 ;;
esac

revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }
report() { printf '%-32s %8s  (base %s)\n' "$1" "$(size_of "$1")" "$base"; }
# Builds use the host network: the build stage's `npm install` and apt reach the same
# registries and mirrors as this machine, and nothing else is needed from the outside.
docker_build() { docker build --network host -q "$@" >/dev/null; }

# docker save/load cache for images that only change with their version.
cached_build() { # <image> <cache key> <build function>
  local image="$1" build="$3" tar="$WHARF_IMAGE_CACHE/$2.docker.tar"
  if docker image inspect "$image" >/dev/null 2>&1; then return 0; fi
  if [[ -f "$tar" ]]; then
    docker load -q -i "$tar" >/dev/null && log "loaded $image from $tar" && return 0
  fi
  "$build"
  mkdir -p "$WHARF_IMAGE_CACHE"
  docker save -o "$tar.tmp" "$image" && mv "$tar.tmp" "$tar"
}

build_kafka() {
  local dir ctx
  dir="$(bash "$repo/tools/infra/install-kafka.sh")"
  ctx="$(mktemp -d)"
  cp -a "$dir" "$ctx/kafka"
  rm -f "$ctx/kafka/.complete"
  cp "$here/wharf-kafka" "$here/wharf-kafka-ready" "$here/log4j2-container.properties" "$ctx/"
  log "building wharf/kafka:$KAFKA_VERSION…"
  docker_build -t "wharf/kafka:$KAFKA_VERSION" --build-arg BASE_IMAGE="$jre_image" \
    --build-arg KAFKA_VERSION="$KAFKA_VERSION" -f "$here/kafka.Dockerfile" "$ctx" || { rm -rf "$ctx"; return 1; }
  rm -rf "$ctx"
}

build_versitygw() {
  local dir ctx
  dir="$(bash "$repo/tools/infra/install-s3.sh")"
  ctx="$(mktemp -d)"
  # install-s3.sh puts it in bin/; caches made by its first version hold it at the top.
  if [[ -x "$dir/bin/versitygw" ]]; then cp "$dir/bin/versitygw" "$ctx/versitygw"; else cp "$dir/versitygw" "$ctx/versitygw"; fi
  log "building wharf/versitygw:$VERSITYGW_VERSION…"
  docker_build -t "wharf/versitygw:$VERSITYGW_VERSION" --build-arg BASE_IMAGE="$runtime_image" \
    --build-arg VERSITYGW_VERSION="$VERSITYGW_VERSION" -f "$here/versitygw.Dockerfile" "$ctx" || { rm -rf "$ctx"; return 1; }
  rm -rf "$ctx"
}

# The CA bundle this machine trusts (npm's cafile, else the system bundle, which on Debian
# includes locally added CAs), handed to the build stage's npm for registries behind a proxy.
build_ca="${WHARF_BUILD_CA_FILE:-$(npm config get cafile 2>/dev/null || true)}"
if [[ -z "$build_ca" || "$build_ca" == null || "$build_ca" == undefined ]]; then
  build_ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
fi

build_service() { # <app>
  local app="$1"
  (cd "$repo" && node tools/build/bundle.mjs "apps/$app" >&2)
  rm -f "$repo/dist/apps/$app/build-ca.pem"
  if [[ -n "$build_ca" && -s "$build_ca" ]]; then cp "$build_ca" "$repo/dist/apps/$app/build-ca.pem"; fi
  docker_build -t "wharf/$app:$tag" \
    --build-arg NODE_IMAGE="$node_image" --build-arg RUNTIME_IMAGE="$runtime_image" \
    --build-arg APP="$app" --build-arg VERSION="$(node -p "require('$repo/apps/$app/package.json').version")" \
    --build-arg REVISION="$revision" --build-arg CREATED="$created" \
    -f "$here/service.Dockerfile" "$repo/dist/apps/$app"
}

for target in "${expanded[@]}"; do
  started=$SECONDS
  case "$target" in
    kafka)
      # The key covers the recipe too, so a changed script never reloads a stale image.
      recipe="$(cat "$here/kafka.Dockerfile" "$here/wharf-kafka" "$here/wharf-kafka-ready" "$here/log4j2-container.properties" | sha256sum | cut -c1-12)"
      if [[ -f "$WHARF_IMAGE_CACHE/.kafka-recipe" && "$(cat "$WHARF_IMAGE_CACHE/.kafka-recipe")" != "$recipe" ]]; then
        docker image rm -f "wharf/kafka:$KAFKA_VERSION" >/dev/null 2>&1 || true
      fi
      mkdir -p "$WHARF_IMAGE_CACHE" && echo "$recipe" >"$WHARF_IMAGE_CACHE/.kafka-recipe"
      cached_build "wharf/kafka:$KAFKA_VERSION" "kafka-$KAFKA_VERSION-$base-$recipe" build_kafka
      report "wharf/kafka:$KAFKA_VERSION" ;;
    versitygw) cached_build "wharf/versitygw:$VERSITYGW_VERSION" "versitygw-$VERSITYGW_VERSION-$base" build_versitygw; report "wharf/versitygw:$VERSITYGW_VERSION" ;;
    *) build_service "$target"; report "wharf/$target:$tag" ;;
  esac
  log "$target done in $((SECONDS - started)) s"
done
