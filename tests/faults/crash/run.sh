#!/usr/bin/env bash
# Crash test: concurrent kazoo writers, SIGKILL of the server at a random
# moment, restart on the same data dir, and a check that every write the
# server acknowledged survived (crash_load.py does the rounds and the check).
#
#   SERVER_KIND=zabd|zookeeper (default zabd)  CRASH_ROUNDS=3  CRASH_SEED=N
#   CRASH_SABOTAGE=wipe  self-test: deletes the data dir before each restart,
#                        so the run must fail
# Exits 0 only if nothing acknowledged was lost. The server's directory
# (zoo.cfg, server.log, journal.jsonl) is kept on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
srv=$root/tests/integration/server.sh
kind=${SERVER_KIND:-zabd}

dir=$(mktemp -d /tmp/zabd-crash.XXXXXX)
port=$("$srv" freeport)
rc=1
cleanup() {
  "$srv" kill "$dir" || true
  if [ "$rc" -eq 0 ]; then rm -rf "$dir"; else echo "crash test: kept $dir" >&2; fi
}
trap cleanup EXIT

"$srv" start "$kind" "$dir" "$port" >/dev/null
extra=()
[ "${CRASH_SABOTAGE:-}" = wipe ] && extra+=(--sabotage-wipe)
set +e
timeout -k 5 90 /usr/bin/python3 "$here/crash_load.py" --kind "$kind" --dir "$dir" \
  --port "$port" --server-sh "$srv" --rounds "${CRASH_ROUNDS:-3}" \
  ${CRASH_SEED:+--seed "$CRASH_SEED"} --deadline 80 "${extra[@]}"
rc=$?
set -e
exit $rc
