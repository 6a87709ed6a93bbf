#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each for
# FUZZ_SECS seconds (default 60), starting from its committed corpus:
#   fuzz_decoders  every decoder, corpus tests/fuzz/corpus
#   fuzz_server    connections and dispatch in-process, tests/fuzz/corpus-server
#
#   tests/fuzz/run.sh [decoders|server|all]     (default all)
#
# A crash, leak or sanitizer report fails the run, prints the report and
# leaves the input in the current directory (crash-*, leak-*), to be added
# to the corpus once fixed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
which=${1:-all}
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DZABD_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" >/dev/null

fuzz() { # target corpus-dir
  local target=$1 seeds=$2 corpus log
  cmake --build "$build" -j"$(nproc)" --target "$target" >/dev/null
  corpus=$(mktemp -d)
  log=$(mktemp)
  cp "$seeds"/* "$corpus/"
  echo "fuzzing $target for ${FUZZ_SECS:-60} s"
  # The server target logs every connection to stderr; keep the log in a
  # file and show the report part of it on failure.
  if ! "$build/tests/fuzz/$target" -max_total_time="${FUZZ_SECS:-60}" -max_len=4096 \
      -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    grep -n -m1 -E '^==[0-9]+==|deadly signal|ZK_ASSERT|runtime error' "$log" |
      cut -d: -f1 | { read -r at || at=1; tail -n +"$((at > 5 ? at - 5 : 1))" "$log" | head -80; }
    rm -rf "$corpus" "$log"
    return 1
  fi
  grep -E "^Done|stat::number_of_executed_units" "$log" || true
  rm -rf "$corpus" "$log"
}

status=0
case $which in
decoders | all) fuzz fuzz_decoders "$root/tests/fuzz/corpus" || status=1 ;;&
server | all) fuzz fuzz_server "$root/tests/fuzz/corpus-server" || status=1 ;;
esac
exit $status
