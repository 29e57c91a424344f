#!/usr/bin/env bash
# Builds the local S3 server, versitygw (posix backend, one static binary), from the Go module
# proxy into the Wharf cache.
#
# stdout: the install dir, and nothing else. It holds the binary, <install dir>/versitygw, so it
# is the `binDir` of startS3 (libs/testing/src/infra/s3.ts).
# stderr: progress. A second run prints "cached" and returns at once.
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
VERSITYGW_MODULE=github.com/versity/versitygw

CACHE_ROOT="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"
INSTALL_DIR="$CACHE_ROOT/versitygw-$VERSITYGW_VERSION"

log() { printf '[install-s3] %s\n' "$*" >&2; }

if [[ -f "$INSTALL_DIR/.complete" ]]; then
  log "cached: $INSTALL_DIR"
  echo "$INSTALL_DIR"
  exit 0
fi

command -v go >/dev/null || { log "go is not on PATH (need Go >= 1.25)"; exit 1; }
mkdir -p "$CACHE_ROOT"

# Serialise concurrent installs of the same version (e.g. parallel test workers).
if command -v flock >/dev/null; then
  exec 9>"$CACHE_ROOT/.versitygw-$VERSITYGW_VERSION.lock"
  flock 9
  if [[ -f "$INSTALL_DIR/.complete" ]]; then
    log "cached: $INSTALL_DIR"
    echo "$INSTALL_DIR"
    exit 0
  fi
fi

tmp="$(mktemp -d "$CACHE_ROOT/.versitygw-$VERSITYGW_VERSION.XXXXXX")"
chmod 755 "$tmp" # mktemp makes it 0700
trap 'rm -rf "$tmp"' EXIT

log "building $VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION with $(go version | cut -d' ' -f3) (a cold build takes minutes)"
started=$SECONDS
# Run outside any module or go.work so that `go install pkg@version` uses only versitygw's go.mod.
(
  cd "$tmp"
  CGO_ENABLED=0 GOBIN="$tmp" GOWORK=off go install -trimpath \
    -ldflags "-s -w -X=main.Version=$VERSITYGW_VERSION" \
    "$VERSITYGW_MODULE/cmd/versitygw@$VERSITYGW_VERSION" >&2
)
"$tmp/versitygw" --version >&2
log "built in $((SECONDS - started))s"

touch "$tmp/.complete"
rm -rf "$INSTALL_DIR"
mv "$tmp" "$INSTALL_DIR"
trap - EXIT
log "installed: $INSTALL_DIR"
echo "$INSTALL_DIR"
