#!/usr/bin/env bash
# Builds ghz, Go's gRPC load generator, from the Go module proxy into the Wharf cache. Only the
# scheduler's submit benchmark uses it (`submit-bench.ts --client ghz`), as a load generator
# that is not Wharf's own code.
#
# stdout: the install dir, and nothing else; it holds <install dir>/ghz.
# stderr: progress. A second run prints "cached" and returns at once.
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf).
set -euo pipefail

GHZ_VERSION=v0.120.0
GHZ_MODULE=github.com/bojand/ghz

CACHE_ROOT="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"
INSTALL_DIR="$CACHE_ROOT/ghz-$GHZ_VERSION"

log() { printf '[install-ghz] %s\n' "$*" >&2; }

if [[ -f "$INSTALL_DIR/.complete" ]]; then
  log "cached: $INSTALL_DIR"
  echo "$INSTALL_DIR"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.ghz-$GHZ_VERSION.lock"
flock 9
if [[ -f "$INSTALL_DIR/.complete" ]]; then
  log "cached: $INSTALL_DIR"
  echo "$INSTALL_DIR"
  exit 0
fi

tmp="$(mktemp -d "$CACHE_ROOT/.ghz-$GHZ_VERSION.XXXXXX")"
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

log "building $GHZ_MODULE/cmd/ghz@$GHZ_VERSION with $(go version | cut -d' ' -f3) (a cold build takes a minute or two)"
started=$SECONDS
# Outside any module or go.work, so that `go install pkg@version` uses only ghz's go.mod.
(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" GOWORK=off go install -trimpath -ldflags "-s -w" "$GHZ_MODULE/cmd/ghz@$GHZ_VERSION" >&2)
log "built in $((SECONDS - started))s"

touch "$tmp/.complete"
rm -rf "$INSTALL_DIR"
mv "$tmp" "$INSTALL_DIR"
trap - EXIT
log "installed: $INSTALL_DIR"
echo "$INSTALL_DIR"
