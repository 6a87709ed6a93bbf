#!/usr/bin/env bash
# Builds the libFuzzer target with clang (ASan + UBSan) and fuzzes every
# decoder for FUZZ_SECS seconds (default 60), starting from the committed
# corpus. A crash or sanitizer report fails the run and leaves the input in
# the current directory (crash-*), to be added to tests/fuzz/corpus once fixed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DZABD_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_decoders >/dev/null
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$root/tests/fuzz/corpus/"* "$corpus/"
"$build/tests/fuzz/fuzz_decoders" -max_total_time="${FUZZ_SECS:-60}" -max_len=4096 \
  -print_final_stats=1 "$corpus" > "$corpus.log" 2>&1 || { tail -40 "$corpus.log"; exit 1; }
grep -E "^Done|stat::number_of_executed_units" "$corpus.log" || true
rm -f "$corpus.log"
