#!/usr/bin/env bash
# Curator 5 integration test: compiles CuratorIT.java against Debian's jars
# into a temp dir, starts a server of kind ${SERVER_KIND:-zabd} on a free
# loopback port, runs the checks (120 s limit) and exits with their status.
# With ENSEMBLE=3, a 3-member ensemble, and Curator gets every member's
# address (from the ensemble's hosts file).
#   SERVER_KIND=zookeeper tests/integration/curator/run.sh   # the reference
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server="$here/../server.sh"
kind=${SERVER_KIND:-zabd}
J=/usr/share/java
# The minimal classpath: Curator, the ZooKeeper client and its jute records,
# Guava and slf4j (nop binding: keep the output to our own lines).
CP=$J/curator-recipes.jar:$J/curator-framework.jar:$J/curator-client.jar
CP=$CP:$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/guava.jar
CP=$CP:$J/slf4j-api.jar:$J/slf4j-nop.jar

work=$(mktemp -d "${TMPDIR:-/tmp}/curator-it.XXXXXX")
cleanup() {
  "$server" stop "$work/server" >/dev/null 2>&1 || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

mkdir -p "$work/classes"
javac -nowarn -d "$work/classes" -cp "$CP" "$here/CuratorIT.java"

port=$("$server" freeport)
# zabd takes the reaper interval from zoo.cfg; the reference reads it only
# from a JVM property (znode.container.checkIntervalMs) and ignores this key.
"$server" start "$kind" "$work/server" "$port" \
  extendedTypesEnabled=true znode.container.checkIntervalMs=100 >/dev/null

hosts="127.0.0.1:$port"
[ -f "$work/server/hosts" ] && hosts=$(cat "$work/server/hosts")

status=0
# CURATOR_REAP_WAIT_S bounds the wait for the container/TTL reaper (default
# 80 s, because the reference only reaps once a minute under server.sh).
timeout -k 5 120 java ${CURATOR_REAP_WAIT_S:+-Dcuratorit.reapWaitS=$CURATOR_REAP_WAIT_S} \
  -cp "$work/classes:$CP" CuratorIT "$hosts" || status=$?
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 124 ] && echo "curator: timed out after 120 s" >&2
  echo "--- last server log lines ($kind) ---" >&2
  for log in "$work"/server/server.log "$work"/server/s[0-9]*/server.log; do
    [ -f "$log" ] && { echo "== $log" >&2; tail -n 30 "$log" >&2; }
  done
fi
exit "$status"
