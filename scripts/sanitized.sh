#!/usr/bin/env bash
# Runs one test command against the ASan+UBSan build of zabd and fails if
# any sanitizer report was written, even when the command itself passed
# (a server that aborts after a test, or leaks at a clean stop, may not fail
# the client that drove it).
#
#   scripts/sanitized.sh BUILD_DIR COMMAND [ARGS...]
#
# Every process started below (zabd, and any instrumented test binary)
# writes its reports to a fresh directory instead of stderr
# (ASAN_OPTIONS/UBSAN_OPTIONS log_path), so the check does not depend on
# where a suite keeps or deletes its server logs. ZABD points the suites at
# BUILD_DIR/server/zabd. Reports are printed and the status is 1.
set -uo pipefail
build=$1; shift
[ -x "$build/server/zabd" ] || { echo "sanitized.sh: no $build/server/zabd" >&2; exit 1; }
reports=$(mktemp -d /tmp/zabd-sanitizer.XXXXXX)
export ZABD="$build/server/zabd"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:handle_abort=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="log_path=$reports/lsan${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
"$@"
rc=$?
found=$(find "$reports" -type f -size +0 | sort)
if [ -n "$found" ]; then
  echo "sanitized.sh: sanitizer reports from: $*"
  for f in $found; do echo "---- $f"; head -60 "$f"; done
  rc=1
fi
rm -rf "$reports"
exit $rc
