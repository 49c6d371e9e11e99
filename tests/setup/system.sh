#!/usr/bin/env bash
# Install and start what Heldout's tests and demo need on a Debian machine, as root.
# Idempotent: quick when everything is already there.
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
        >/tmp/heldout-apt.log || { tail -20 /tmp/heldout-apt.log; exit 1; }
fi

# The Debian docker.io package ships its own client; a different `docker` earlier on PATH
# talks to the same socket, so either works.
if ! timeout 5 docker version >/dev/null 2>&1; then
    echo "starting dockerd"
    mkdir -p /var/log
    nohup dockerd >/var/log/heldout-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        timeout 5 docker version >/dev/null 2>&1 && break
        sleep 1
    done
    timeout 5 docker version >/dev/null 2>&1 || {
        echo "dockerd did not start; see /var/log/heldout-dockerd.log" >&2
        tail -20 /var/log/heldout-dockerd.log >&2
        exit 1
    }
fi
echo "system ready: docker $(docker version --format '{{.Server.Version}}')"
