#!/usr/bin/env bash
# Runs a command inside a private network namespace that only it and its children see:
#   scripts/netns.sh deno test --allow-all tests/
# Inside: loopback up, and an extra address 127.0.0.2 on an `ifb` device, because Janus ignores
# loopback interfaces when it gathers ICE candidates (live tests set JANUS_ICE_ENFORCE_LIST to
# 127.0.0.2). Nothing inside can reach the machine's network, and every process left over is killed
# when the command ends (a PID namespace). Needs unprivileged user namespaces (or root).
set -euo pipefail
if [ "${MOTORCADE_NETNS:-}" != "1" ]; then
  exec unshare --user --map-root-user --net --mount --pid --fork --mount-proc \
    env MOTORCADE_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
ip link add vtest0 type ifb
ip addr add 127.0.0.2/32 dev vtest0
ip link set vtest0 up
"$@"
