#!/usr/bin/env bash
# Runs zk_c_ops (the official C client test) against a fresh standalone
# server of kind ${SERVER_KIND:-zabd}, started by ../server.sh in a temporary
# directory on a free loopback port and stopped by its pid on exit. With
# ENSEMBLE=3, against a 3-member ensemble instead: the host string lists every
# member, and the C client picks among them in random order per handle.
#
#   run.sh [path/to/zk_c_ops]
# Without an argument the binary is looked for in the usual build trees.
# Exits with the test program's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
server="$here/../server.sh"
export SERVER_KIND=${SERVER_KIND:-zabd}

bin=${1:-}
if [ -z "$bin" ]; then
  for c in "$root/build/tests/integration/c/zk_c_ops" "$root/build/zk_c_ops" \
           /tmp/build-cclient/zk_c_ops; do
    if [ -x "$c" ]; then bin=$c; break; fi
  done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "run.sh: zk_c_ops not found; pass its path" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/zk_c_ops.XXXXXX")
cleanup() {
  "$server" stop "$dir" || true
  if [ "${KEEP_DIR:-0}" = 1 ]; then echo "run.sh: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT

port=$("$server" freeport)
"$server" start "$SERVER_KIND" "$dir" "$port" \
  extendedTypesEnabled=true znode.container.checkIntervalMs=100 >/dev/null
hosts="127.0.0.1:$port"
[ -f "$dir/hosts" ] && hosts=$(cat "$dir/hosts")
echo "run.sh: $SERVER_KIND on $hosts (dir $dir)" >&2

status=0
timeout 240 "$bin" "$hosts" || status=$?
exit "$status"
