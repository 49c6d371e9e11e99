#!/usr/bin/env bash
# Offline base of the runtime image: Debian bookworm (debootstrap minbase) + a venv with the
# pinned requirements, written as a tar stream to stdout. Needs root, a Debian mirror and PyPI.
# Usage: rootfs.sh WORKDIR REQUIREMENTS > rootfs.tar
set -euo pipefail
work=$1
req=$2
mirror=${HELDOUT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root="$work/rootfs"
log() { echo "[rootfs] $*" >&2; }

log "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,libgomp1,ca-certificates \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# pip inside the chroot needs DNS and the host's CA bundle (a proxy's CA may be in it).
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp "$req" "$root/tmp/requirements.txt"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

log "venv with $(grep -c '==' "$req") pinned packages"
in_root python3 -m venv /opt/venv
in_root /opt/venv/bin/pip install --progress-bar off --no-cache-dir --disable-pip-version-check \
    --only-binary=:all: --cert /etc/ssl/certs/ca-certificates.crt -r /tmp/requirements.txt >&2
# No pip in the sandbox: a notebook cannot install anything (it has no network either).
in_root /opt/venv/bin/python -m pip uninstall --quiet -y pip setuptools >&2 || true

log "trimming"
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
    "$root"/usr/share/man "$root"/usr/share/info "$root"/tmp/* "$root"/root/.cache
find "$root/opt/venv/lib" -depth -type d -name tests -path '*site-packages/*' -exec rm -rf {} +
: >"$root/etc/resolv.conf"
# Setuid bits are useless under no-new-privileges; remove them anyway.
find "$root" -xdev -perm /6000 -type f -exec chmod ug-s {} +

# The unprivileged user that runs every notebook.
echo 'sandbox:x:10001:10001:sandbox:/home/sandbox:/usr/sbin/nologin' >>"$root/etc/passwd"
echo 'sandbox:x:10001:' >>"$root/etc/group"
mkdir -p "$root/home/sandbox/work" "$root/opt/heldout"
chown -R 10001:10001 "$root/home/sandbox"

log "packing"
tar -C "$root" --numeric-owner -c .
