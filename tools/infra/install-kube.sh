#!/usr/bin/env bash
# Builds and caches a Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler), etcd and kwok from the Go module proxy: no prebuilt binaries, no GitHub.
#
# Usage: tools/infra/install-kube.sh
#   stdout: the bin directory (its only line)
#   stderr: progress ("building … (first run only, several minutes)…" or "cached")
#
# The result lives in ${WHARF_CACHE_DIR:-$HOME/.cache/wharf}/kube-vX-etcd-vY-kwok-vZ/ with
# bin/ and a .complete marker written last; everything is built in a temporary directory
# beside it and moved into place with one rename, so an interrupted run leaves nothing
# half-built behind and a second run is instant. Concurrent runs serialise on a lock file.
#
# Cold build on 2 cores: roughly 10-15 minutes (mostly kube-apiserver's dependency graph);
# needs go (>= the version the modules' go directives ask for) and the Go module proxy.
set -euo pipefail

KUBE_VERSION=v1.36.3
# k8s.io/kubernetes's staging modules (k8s.io/api, k8s.io/client-go, …) are published as v0.MINOR.PATCH.
KUBE_STAGING_VERSION=v0.36.3
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0

CACHE_ROOT="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"
NAME="kube-${KUBE_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}"
DEST="$CACHE_ROOT/$NAME"
BIN_DIR="$DEST/bin"

log() { printf '%s\n' "$*" >&2; }

if [[ -f "$DEST/.complete" ]]; then
  log "cached: $BIN_DIR"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

command -v go >/dev/null || { log "install-kube: go is required"; exit 1; }
mkdir -p "$CACHE_ROOT"

# One builder at a time; whoever waited finds the finished result.
exec 9>"$CACHE_ROOT/.$NAME.lock"
flock 9
if [[ -f "$DEST/.complete" ]]; then
  log "cached: $BIN_DIR"
  printf '%s\n' "$BIN_DIR"
  exit 0
fi

WORK="$(mktemp -d "$CACHE_ROOT/.build-$NAME.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
OUT="$WORK/out"
mkdir -p "$OUT/bin"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod"
# Use the local toolchain unless the modules demand a newer one (then go fetches it from the proxy).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
BUILD_FLAGS=(-trimpath "-ldflags=-s -w")
started=$SECONDS

# new_module DIR MODULE_PATH: a throwaway module whose tools.go pins the commands to build.
new_module() {
  mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1)
}

# tools_go DIR IMPORT...: blank imports of main packages under a build tag, so `go mod tidy`
# records their dependencies without compiling the file.
tools_go() {
  local dir="$1"
  shift
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for pkg in "$@"; do printf '\t_ "%s"\n' "$pkg"; done
    printf ')\n'
  } >"$dir/tools.go"
}

# --- Kubernetes -----------------------------------------------------------------------------
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging/…;
# replace directives of a dependency are ignored, so mirror them here pointing at the
# published staging versions. The list comes from k8s.io/kubernetes's own go.mod.
log "building kube-apiserver, kube-controller-manager, kube-scheduler ${KUBE_VERSION} (first run only, several minutes)…"
KUBE_MOD="$WORK/kube"
new_module "$KUBE_MOD" wharf.local/kube-build
kube_gomod="$(cd "$KUBE_MOD" && go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$kube_gomod" ]] || { log "install-kube: cannot find go.mod of k8s.io/kubernetes@${KUBE_VERSION}"; exit 1; }
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$kube_gomod")
((${#staging[@]} > 0)) || { log "install-kube: no staging replaces found in $kube_gomod"; exit 1; }
{
  printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
  for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$KUBE_STAGING_VERSION"; done
  printf ')\n'
} >>"$KUBE_MOD/go.mod"
tools_go "$KUBE_MOD" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
(
  cd "$KUBE_MOD"
  go mod tidy >&2
  # Stamp the version as the release build does, or /version reports v0.0.0-master.
  minor="${KUBE_VERSION#v1.}" && minor="${minor%%.*}"
  stamp=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  # One invocation: the three commands share most packages, so they compile once.
  go build -trimpath "-ldflags=-s -w$stamp" -o "$OUT/bin/" k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
)
log "  kubernetes built after $((SECONDS - started))s"

# --- etcd -----------------------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 replaces its sibling modules with ../api etc.; those are published
# at the same version, which is what plain requirement resolution picks, so no replaces needed.
log "building etcd ${ETCD_VERSION} (first run only)…"
ETCD_MOD="$WORK/etcd"
new_module "$ETCD_MOD" wharf.local/etcd-build
cat >"$ETCD_MOD/main.go" <<'EOF'
// etcd built from go.etcd.io/etcd/server/v3: the same entry point as the release binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
(
  cd "$ETCD_MOD"
  go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  go mod tidy >&2
  go build "${BUILD_FLAGS[@]}" -o "$OUT/bin/etcd" .
)
log "  etcd built after $((SECONDS - started))s"

# --- kwok -----------------------------------------------------------------------------------
log "building kwok ${KWOK_VERSION} (first run only)…"
KWOK_MOD="$WORK/kwok"
new_module "$KWOK_MOD" wharf.local/kwok-build
tools_go "$KWOK_MOD" sigs.k8s.io/kwok/cmd/kwok
(
  cd "$KWOK_MOD"
  go mod edit -require="sigs.k8s.io/kwok@${KWOK_VERSION}"
  go mod tidy >&2
  go build "${BUILD_FLAGS[@]}" -o "$OUT/bin/kwok" sigs.k8s.io/kwok/cmd/kwok
)
log "  kwok built after $((SECONDS - started))s"

# --- publish --------------------------------------------------------------------------------
for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok; do
  [[ -x "$OUT/bin/$b" ]] || { log "install-kube: $b missing after build"; exit 1; }
done
printf 'kube %s\netcd %s\nkwok %s\nbuilt %s in %ss\n' "$KUBE_VERSION" "$ETCD_VERSION" "$KWOK_VERSION" \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((SECONDS - started))" >"$OUT/.complete"
rm -rf "$DEST" # a leftover without .complete (e.g. from an older script) is not a result
mv "$OUT" "$DEST"
log "built in $((SECONDS - started))s: $BIN_DIR"
printf '%s\n' "$BIN_DIR"
