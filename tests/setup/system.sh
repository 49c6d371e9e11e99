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
command -v runsc >/dev/null || need+=(runsc)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
        >/tmp/heldout-apt.log || { tail -20 /tmp/heldout-apt.log; exit 1; }
fi

# gVisor's runsc as a second runtime (the sandbox's second wall): ptrace is the platform that
# works on these machines; gVisor's own netstack, --network=none, gives the loopback the kernel
# and the runner talk over (the host's netns refuses runsc's network setup here).
python3 - <<'PY'
import json, pathlib
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}
want = {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", "--network=none"]}
if config.get("runtimes", {}).get("runsc") != want:
    config.setdefault("runtimes", {})["runsc"] = want
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    print("registered runsc in /etc/docker/daemon.json")
PY
if pidof dockerd >/dev/null && ! timeout 5 docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q runsc; then
    kill -HUP "$(pidof dockerd)"  # dockerd reloads its runtimes on SIGHUP
    sleep 1
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
timeout 5 docker info --format '{{json .Runtimes}}' | grep -q runsc || {
    echo "dockerd does not list the runsc runtime; see /etc/docker/daemon.json" >&2
    exit 1
}
echo "system ready: docker $(docker version --format '{{.Server.Version}}'), runtimes runc and runsc"
