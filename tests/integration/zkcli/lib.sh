# Shared by the zkCli.sh suites (run.sh, quota.sh): source it, then call
#   zk_start PREFIX [key=value ...]   a server of kind ${SERVER_KIND:-zabd}
#        on a free 127.0.0.1 port, its work dir removed (KEEP=1 keeps it)
#        and the server stopped by its pid on exit; with ENSEMBLE=3, a
#        3-member ensemble, and every zkCli gets all members in -server
#        (the Java client picks among them in random order)
#   cli OUTFILE [command args...]     one zkCli run, stdin passed through;
#        zkCli's exit status in cli_rc, its output (SLF4J noise dropped) in
#        OUTFILE (VERBOSE=1 prints it)
#   use FILE                          the output the checks below read
#   expect LINE / expect_re REGEX     the next line at or after the cursor
#        that is LINE / matches REGEX as a whole (groups left in m[])
#   anywhere LINE / absent LINE       in the whole output, or not
#   same WHAT A B / next_is LINE      equality; the line right at the cursor
#   zk_finish                         prints "N passed, M failed", exit status
# Environment: ZKCLI (zkCli.sh path).
zkcli=${ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
kind=${SERVER_KIND:-zabd}
server_sh="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../server.sh"
passed=0 failed=0

zk_cleanup() {
  "$server_sh" stop "$work/server" || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}

zk_start() {
  work=$(mktemp -d "/tmp/$1.XXXXXX"); shift
  trap zk_cleanup EXIT
  port=$("$server_sh" freeport)
  if ! "$server_sh" start "$kind" "$work/server" "$port" "$@" >/dev/null; then
    echo "could not start $kind server"; echo "0 passed, 1 failed"; exit 1
  fi
  hosts="127.0.0.1:$port"
  [ -f "$work/server/hosts" ] && hosts=$(cat "$work/server/hosts")
}

cli() {
  local out=$1; shift
  (cd "$work" && timeout 120 "$zkcli" -server "$hosts" "$@") >"$out.raw" 2>&1
  cli_rc=$?
  grep -v '^SLF4J' "$out.raw" >"$out"
  if [ -n "${VERBOSE:-}" ]; then echo "---- zkCli $* ----"; cat "$out"; fi
}

ok()  { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
use() { mapfile -t lines <"$1"; cur=0; src=$1; }

expect() {
  local i
  for ((i = cur; i < ${#lines[@]}; i++)); do
    if [[ "${lines[i]}" == "$1" ]]; then cur=$((i + 1)); ok; return 0; fi
  done
  bad "$(basename "$src"): expected line '$1' after line $cur"; return 1
}

expect_re() {
  local i
  for ((i = cur; i < ${#lines[@]}; i++)); do
    if [[ "${lines[i]}" =~ ^$1$ ]]; then
      m=("${BASH_REMATCH[@]}"); cur=$((i + 1)); ok; return 0
    fi
  done
  m=(); bad "$(basename "$src"): expected a line matching '$1' after line $cur"; return 1
}

anywhere() {
  if grep -qxF -- "$1" "$src"; then ok; else bad "$(basename "$src"): no line '$1'"; fi
}

absent() {
  if grep -qxF -- "$1" "$src"; then bad "$(basename "$src"): unexpected line '$1'"; else ok; fi
}

same() { if [ "$2" = "$3" ]; then ok; else bad "$1: '$2' != '$3'"; fi; }
next_is() { same "line $cur" "${lines[cur]:-}" "$1"; cur=$((cur + 1)); }

zk_finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
