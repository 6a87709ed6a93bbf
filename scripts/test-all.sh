#!/usr/bin/env bash
# One command: install what is missing, build, and run every test:
#   1. a check that the pure modules stay pure
#   2. unit tests (CppUTest), the fuzz corpus and the C-client integration
#      test, via ctest
#   3. the unit tests and the fuzz corpus under AddressSanitizer +
#      UndefinedBehaviorSanitizer, then 60 s of libFuzzer on every decoder
#   4. kazoo (pytest), raw-socket bad input, zoo.cfg quorum keys (bad
#      configs, standalone, the ensemble refusal), the differential test against
#      Apache ZooKeeper 3.8, Curator (Java), zkCli.sh,
#      restart/recovery, the SIGKILL crash test and the power-cut test
#      (only synced writes survive), each against a real zabd on a free
#      127.0.0.1 port
#      kazoo, the C client, Curator and zkCli.sh also run against a 3-member
#      zabd ensemble (ENSEMBLE=3: clients spread over every member); kazoo's
#      own test suite runs against one zabd and against a 3-member cluster
#   5. the server-facing suites again against the ASan+UBSan zabd, through
#      scripts/sanitized.sh: any sanitizer report fails the suite
# Ends with one line "N passed, M failed" counting the suites; exits non-zero
# if any failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" --test || { echo "install-deps failed"; exit 1; }
jobs=$(nproc)
passed=0 failed=0 failures=()
suite() { # name command...
  local name=$1; shift
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}
build() { # dir extra-cmake-args...
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
    cmake --build "$dir" -j"$jobs" >/dev/null
}

suite "pure modules stay pure" "$root/scripts/check-purity.sh"
suite "build" build "$root/build"
suite "ctest (unit + C client)" bash -c "cd '$root/build' && ctest --output-on-failure --timeout 600"
suite "ensemble simulator (3000 more seeds)" "$root/build/tests/sim/zabsim" --scenario all --seed 100000 --seeds 500
suite "build (asan+ubsan)" build "$root/build-asan" -DZABD_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS=-DCPPUTEST_MEM_LEAK_DETECTION_DISABLED
suite "ctest unit (asan+ubsan)" bash -c \
  "cd '$root/build-asan' && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure --timeout 600 -R '^(unit_|test_)'"
export ZABD="$root/build/server/zabd" SERVER_KIND=zabd
suite "fuzz decoders (libFuzzer, 60 s)" "$root/tests/fuzz/run.sh"
suite "kazoo (pytest)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo"
suite "kazoo vs 3-node ensemble" env ENSEMBLE=3 /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo"
suite "kazoo's own test suite" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo_own"
suite "kazoo's own test suite vs 3-node cluster" env ENSEMBLE=3 /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo_own"
suite "C client vs 3-node ensemble" env ENSEMBLE=3 "$root/tests/integration/c/run.sh" "$root/build/tests/integration/c/zk_c_ops"
suite "bad input (raw sockets)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/badinput"
suite "ensemble configuration (zoo.cfg quorum keys)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/ensemble_config"
suite "ensemble leader election (real zabd processes)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/ensemble"
suite "differential (vs ZooKeeper 3.8, 40 seeds)" /usr/bin/python3 "$root/tests/differential/run.py" --shrink-budget 120
suite "statistics" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/stats"
suite "SASL DIGEST-MD5 (kazoo, zkCli.sh, raw)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/sasl"
suite "backpressure" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/backpressure"
suite "curator" "$root/tests/integration/curator/run.sh"
suite "curator vs 3-node ensemble" env ENSEMBLE=3 "$root/tests/integration/curator/run.sh"
suite "zkCli.sh" "$root/tests/integration/zkcli/run.sh"
suite "zkCli.sh quotas" "$root/tests/integration/zkcli/quota.sh"
suite "zkCli.sh vs 3-node ensemble" env ENSEMBLE=3 "$root/tests/integration/zkcli/run.sh"
suite "zkCli.sh quotas vs 3-node ensemble" env ENSEMBLE=3 "$root/tests/integration/zkcli/quota.sh"
suite "restart and recovery" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/faults/restart"
suite "crash (SIGKILL under load)" "$root/tests/faults/crash/run.sh"
suite "power cut (unsynced writes dropped)" "$root/tests/faults/powercut/run.sh"
suite "ZooKeeper's files both ways" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/faults/zkfiles"
suite "ensemble faults (real processes)" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/faults/ensemble"

# The same server-facing suites against zabd built with ASan+UBSan.
san() { suite "$1 (asan+ubsan zabd)" "$root/scripts/sanitized.sh" "$root/build-asan" "${@:2}"; }
san "C client" "$root/tests/integration/c/run.sh" "$root/build/tests/integration/c/zk_c_ops"
san "kazoo" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo"
san "C client vs 3-node ensemble" env ENSEMBLE=3 "$root/tests/integration/c/run.sh" "$root/build/tests/integration/c/zk_c_ops"
san "kazoo vs 3-node ensemble" env ENSEMBLE=3 /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo"
san "kazoo's own test suite" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/kazoo_own"
san "bad input" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/badinput"
san "ensemble configuration" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/ensemble_config"
san "ensemble leader election" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/ensemble"
san "differential (20 seeds)" /usr/bin/python3 "$root/tests/differential/run.py" --seeds 20 --shrink-budget 60
san "SASL" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/sasl"
san "backpressure" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/integration/backpressure"
san "curator" "$root/tests/integration/curator/run.sh"
san "zkCli.sh" "$root/tests/integration/zkcli/run.sh"
san "zkCli.sh quotas" "$root/tests/integration/zkcli/quota.sh"
san "restart and recovery" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/faults/restart"
san "crash" "$root/tests/faults/crash/run.sh"
san "power cut" "$root/tests/faults/powercut/run.sh"
san "ensemble faults" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/faults/ensemble"

[ "${#failures[@]}" -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
