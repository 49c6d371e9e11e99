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
engine_up() { timeout 5 docker version >/dev/null 2>&1; }

# /run is on disk on these machines, not a tmpfs. After a machine is stopped and started again
# the last engine's runtime state is still there (containerd's task list, runc and runsc state,
# the pid file), and the new dockerd's containerd spends its start cleaning the dead shims one
# by one (runsc panics on a paused one) until dockerd gives up: "timeout waiting for containerd
# to start". None of that state outlives a real reboot; clear it the same way, with the engine
# down. Images, containers and volumes (/var/lib/docker) are kept.
clear_engine_state() {
    pkill -9 -x dockerd 2>/dev/null || true
    pkill -9 -f '^(/usr/bin/)?containerd' 2>/dev/null || true
    pkill -9 -f '/usr/bin/runsc' 2>/dev/null || true
    sleep 1
    # the dead engine's network namespaces are still mounted below /run/docker/netns
    awk '$2 ~ "^/(var/)?run/(docker|containerd)/" {print $2}' /proc/mounts | sort -r |
        while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    rm -rf /run/docker /run/containerd /run/runsc /run/docker.pid /run/docker.sock || true
}

start_engine() {
    mkdir -p /var/log
    nohup dockerd >/var/log/heldout-dockerd.log 2>&1 &
    for _ in $(seq 1 120); do
        engine_up && return 0
        pidof dockerd >/dev/null || return 1  # it gave up; no use waiting
        sleep 1
    done
    return 1
}

if ! engine_up && pidof dockerd >/dev/null; then
    # an engine that is still starting (or reloading) answers soon
    for _ in $(seq 1 30); do engine_up && break; sleep 1; done
fi
if ! engine_up; then
    for attempt in 1 2; do
        echo "starting dockerd (attempt $attempt)"
        clear_engine_state
        start_engine && break
        echo "dockerd did not start; the end of /var/log/heldout-dockerd.log:" >&2
        tail -20 /var/log/heldout-dockerd.log >&2
    done
    engine_up || { echo "dockerd did not start twice; giving up" >&2; exit 1; }
fi
timeout 5 docker info --format '{{json .Runtimes}}' | grep -q runsc || {
    echo "dockerd does not list the runsc runtime; see /etc/docker/daemon.json" >&2
    exit 1
}
echo "system ready: docker $(docker version --format '{{.Server.Version}}'), runtimes runc and runsc"
