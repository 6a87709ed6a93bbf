#!/usr/bin/env bash
# The pure modules (wire, znode-tree, session, watch, zab) do no I/O, read no
# clock and use no global RNG (STYLE.md). This fails when one of them includes
# an I/O or threading header or calls a clock, rand() or getenv().
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dirs=()
for d in wire znode-tree session watch zab; do [ -d "$root/$d" ] && dirs+=("$root/$d"); done
pattern='#include[[:space:]]*<(event2/|rocksdb/|openssl/|pthread\.h|sys/socket\.h|netinet/|unistd\.h|fcntl\.h)|[^_a-z](time|clock_gettime|gettimeofday|rand|srand|random|getenv)[[:space:]]*\('
hits=$(grep -rnE "$pattern" "${dirs[@]}" --include='*.c' --include='*.h' || true)
if [ -n "$hits" ]; then
  echo "check-purity: forbidden use in a pure module:"
  echo "$hits"
  exit 1
fi
echo "check-purity: ${#dirs[@]} pure modules clean"
