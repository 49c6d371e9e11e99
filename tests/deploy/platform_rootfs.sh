#!/usr/bin/env bash
# Offline base of the platform image: Debian bookworm (debootstrap minbase) with python3 3.11 and
# venv, written as a tar stream to stdout, the same way sandbox/image/rootfs.sh makes the sandbox's.
# Needs root and a Debian mirror (apt's, not a Docker registry).
# Usage: platform_rootfs.sh WORKDIR > rootfs.tar
set -euo pipefail
work=$1
mirror=${HELDOUT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root="$work/rootfs"
log() { echo "[platform-rootfs] $*" >&2; }

log "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

log "trimming"
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
    "$root"/usr/share/man "$root"/usr/share/info "$root"/tmp/* "$root"/root/.cache
: >"$root/etc/resolv.conf"
find "$root" -xdev -perm /6000 -type f -exec chmod ug-s {} +

log "packing"
tar -C "$root" --numeric-owner -c .
