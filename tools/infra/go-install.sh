#!/usr/bin/env bash
# Builds one Go command from the Go module proxy into the Wharf cache, once per version.
#
#   bash tools/infra/go-install.sh <name> <package path> <version> [extra -ldflags]
#
# Installs into <cache>/<name>-<version>/ and prints that dir on stdout, and nothing else; the
# binary is at its top. stderr: progress; a second run prints "cached" and returns at once.
# Concurrent runs for one version wait for each other (parallel test workers).
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf).
set -euo pipefail

name="$1" package="$2" version="$3" ldflags="${4:-}"
cache_root="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"
install_dir="$cache_root/$name-$version"

log() { printf '[install-%s] %s\n' "$name" "$*" >&2; }
cached() {
  [[ -f "$install_dir/.complete" ]] || return 1
  log "cached: $install_dir"
  echo "$install_dir"
}

cached && exit 0
command -v go >/dev/null || { log "go is not on PATH (need Go >= 1.25)"; exit 1; }
mkdir -p "$cache_root"
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.$name-$version.lock"
  flock 9
  cached && exit 0
fi

tmp="$(mktemp -d "$cache_root/.$name-$version.XXXXXX")"
chmod 755 "$tmp" # mktemp makes it 0700
trap 'rm -rf "$tmp"' EXIT

log "building $package@$version with $(go version | cut -d' ' -f3) (a cold build takes a minute or more)"
started=$SECONDS
# Outside any module or go.work, so that `go install pkg@version` uses only the package's go.mod.
(cd "$tmp" && CGO_ENABLED=0 GOBIN="$tmp" GOWORK=off go install -trimpath -ldflags "-s -w $ldflags" "$package@$version" >&2)
log "built in $((SECONDS - started))s"

touch "$tmp/.complete"
rm -rf "$install_dir"
mv "$tmp" "$install_dir"
trap - EXIT
log "installed: $install_dir"
echo "$install_dir"
