#!/usr/bin/env bash
# One command: install what is missing, build, and start a standalone zabd
# in the foreground with the built-in configuration (127.0.0.1:2181, data in
# ./data). Pass a zoo.cfg path to use that instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target zabd
exec "$root/build/server/zabd" "$@"
