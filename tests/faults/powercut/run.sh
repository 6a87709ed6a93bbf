#!/usr/bin/env bash
# Power-cut test: zabd under write load with the durability shim preloaded,
# the power cut at chosen moments (snapshot renames, directory syncs, purges,
# WAL syncs, start-up, random times), the data directory rewound to what a
# power cut leaves, zabd restarted on it without the shim, and every
# acknowledged write checked; then the negative controls, which must lose
# writes (powercut.py says what each round does). selftest.py checks the
# shim and the rewind on a scripted process first.
#
#   POWERCUT_SEED=N   replay a run      POWERCUT_ONLY=positive|negative
# Needs the build (build/server/zabd, build/tests/faults/powercut/{libpcshim.so,pc_ctl}).
# Exits 0 only if nothing acknowledged was lost and every negative control
# lost something. The work directory is kept on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${BUILD_DIR:-$root/build}
zabd=${ZABD:-$build/server/zabd}
shim=$build/tests/faults/powercut/libpcshim.so
ctl=$build/tests/faults/powercut/pc_ctl
for f in "$zabd" "$shim" "$ctl"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "powercut: $f is missing (build first)" >&2; exit 1; }
done
if [ "${SERVER_KIND:-zabd}" != zabd ]; then
  # ZooKeeper overwrites its preallocated log in place, which the model refuses
  # (docs/durability.md, Limits).
  echo "powercut: runs against zabd only; skipped for SERVER_KIND=$SERVER_KIND"
  exit 0
fi
work=$(mktemp -d /tmp/zabd-powercut.XXXXXX)
rc=1
cleanup() {
  if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "powercut: kept $work" >&2; fi
}
trap cleanup EXIT
set +e
# First the model itself (selftest.py: known file operations, known outcome),
# then zabd.
timeout -k 5 60 /usr/bin/python3 -B "$here/selftest.py" --ctl "$ctl" --shim "$shim" \
  --workdir "$work/selftest" || exit 1
timeout -k 5 170 /usr/bin/python3 -B "$here/powercut.py" --zabd "$zabd" --shim "$shim" \
  --ctl "$ctl" --workdir "$work" --deadline 150 ${POWERCUT_SEED:+--seed "$POWERCUT_SEED"} \
  ${POWERCUT_ONLY:+--only "$POWERCUT_ONLY"}
rc=$?
set -e
exit $rc
