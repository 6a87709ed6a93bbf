#!/usr/bin/env bash
# Runs the same workloads against Apache ZooKeeper 3.8 and zabd, one after the
# other on this machine, and prints them side by side with zabd/zk ratios.
#
#   tools/bench.sh [all|raw|throughput|memory|ensemble]  (default all;
#                                                  ensemble only when named)
#
# raw: the servers' own capacity, with zkrawload (pipelined, no client
#   library): create, setData, a 90/10 getData/setData mix and getData, 100 B
#   values, at 8 connections x 64 in flight and at 32 x 16, then getData and
#   setData latency at one request in flight; each workload on a fresh
#   server, BENCH_WARMUP seconds of the same load first, then BENCH_SECS
#   measured seconds; server CPU per request over the measured part;
#   RAW_REPEAT such pairs of runs per workload, medians reported.
# throughput: the same through the official C client (zkbench): create,
#   set, get, exists, mix with BENCH_SESSIONS sessions x BENCH_WINDOW in
#   flight. The C client tops out near 15k requests/s per core here, so
#   these figures measure it as much as the server.
# memory: populate MEM_NODES znodes of 100 B, read VmRSS (and, for ZooKeeper,
#   the live heap after a full GC through jcmd), stop with SIGTERM, start on
#   the same data dir and time until a getData of the newest znode succeeds.
# ensemble: a 3-member ensemble of each kind (server.sh with ENSEMBLE=3),
#   connection i pinned to member i mod 3: zkrawload's workloads at
#   ENS_SHAPES, then zkbench's (the C client spreads its sessions over the
#   members itself), then the leader fail-over time of tools/failover.py.
#   Server CPU per request is the sum over the three members.
#
# Environment (defaults in brackets):
#   BENCH_SERVERS ["zookeeper zabd"]  BENCH_SECS [10]  BENCH_WARMUP [2]
#   RAW_SHAPES ["8x64 32x16"]  RAW_WORKLOADS ["create set mix get"]  RAW_REPEAT [3]
#   BENCH_SESSIONS [8]  BENCH_WINDOW [32]  BENCH_KEYS [1000]
#   MEM_NODES [1000000]  MEM_SESSIONS [4]  MEM_WINDOW [128]
#   ZK_HEAP [4g] (read by server.sh)  ZKBENCH [build/tools/zkbench]
#   ZABD [build/server/zabd]  BENCH_DIR [/tmp/zabd-bench.PID, removed after]
#   ENS_SHAPES ["24x32"]  ENS_ZK_HEAP [512m]  FAILOVER_RUNS [5]
#
# Servers run with the default durability (ZooKeeper forceSync=yes) and are
# stopped by the pids server.sh recorded, also on error or Ctrl-C.
# Timings are reported, never asserted; the exit status is non-zero only
# when a step failed (a server did not start, zkbench saw errors, ...).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
S=$root/tests/integration/server.sh
ZKBENCH=${ZKBENCH:-$root/build/tools/zkbench}
RAWLOAD=${RAWLOAD:-$root/build/tools/zkrawload}
export ZABD=${ZABD:-$root/build/server/zabd}
export ZK_HEAP=${ZK_HEAP:-4g}
SERVERS=${BENCH_SERVERS:-zookeeper zabd}
SECS=${BENCH_SECS:-10}
WARMUP=${BENCH_WARMUP:-2}
SESSIONS=${BENCH_SESSIONS:-8}
WINDOW=${BENCH_WINDOW:-32}
KEYS=${BENCH_KEYS:-1000}
MEM_NODES=${MEM_NODES:-1000000}
RAW_SHAPES=${RAW_SHAPES:-8x64 32x16}
RAW_WORKLOADS=${RAW_WORKLOADS:-create set mix get}
RAW_REPEAT=${RAW_REPEAT:-3}
MEM_SESSIONS=${MEM_SESSIONS:-4}
MEM_WINDOW=${MEM_WINDOW:-128}
MODE=${1:-all}
own_dir=0
if [ -z "${BENCH_DIR:-}" ]; then BENCH_DIR=${TMPDIR:-/tmp}/zabd-bench.$$; own_dir=1; fi
mkdir -p "$BENCH_DIR"
failed=0
declare -A R   # R[kind.key] = value

started=()
ZB=0 HELPER=0
cleanup() {
  [ "$ZB" = 0 ] || kill "$ZB" 2>/dev/null
  [ "$HELPER" = 0 ] || kill "$HELPER" 2>/dev/null
  for d in "${started[@]}"; do "$S" stop "$d" >/dev/null 2>&1 || true; done
  if [ "$own_dir" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench.sh: $*" >&2; exit 1; }
warn() { echo "bench.sh: $*" >&2; failed=1; }
fld() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# zb TIMEOUT_S ARGS...: runs zkbench with its output line in $OUT. In the
# background plus wait, so that Ctrl-C or kill reaches the trap at once
# instead of after a long run (bash defers traps during a foreground child).
zb() {
  local t=$1 rc; shift
  timeout "$t" "$ZKBENCH" "$@" >"$BENCH_DIR/zkbench.out" &
  ZB=$!
  wait "$ZB"; rc=$?
  ZB=0
  OUT=$(cat "$BENCH_DIR/zkbench.out")
  return $rc
}

[ -x "$ZKBENCH" ] || die "no zkbench at $ZKBENCH (cmake --build build --target zkbench, or set ZKBENCH)"
for k in $SERVERS; do
  case $k in
  zookeeper) [ -r /usr/share/java/zookeeper.jar ] || die "Apache ZooKeeper is not installed" ;;
  zabd) [ -x "$ZABD" ] || die "no zabd at $ZABD (build it, or set ZABD, or BENCH_SERVERS=zookeeper)" ;;
  *) die "unknown server kind $k" ;;
  esac
done

# start_server KIND NAME: a fresh server in $BENCH_DIR/KIND-NAME; sets DIR PORT PID.
start_server() {
  DIR=$BENCH_DIR/$1-$2
  rm -rf "$DIR"
  PORT=$("$S" freeport)
  started+=("$DIR")
  PID=$("$S" start "$1" "$DIR" "$PORT") || { warn "$1 did not start (log: $DIR/server.log)"; return 1; }
  # ZooKeeper answers ruok before it accepts sessions (it closes them while
  # the data tree loads), so wait for a real read before measuring.
  zb 90 --hosts "127.0.0.1:$PORT" --wait-get / --timeout 60 ||
    { warn "$1 on port $PORT answers ruok but serves no reads"; return 1; }
}

run_throughput() {
  local kind=$1 w line args
  for w in create set get exists mix; do
    case $w in
    mix) args=(--op mix --read-pct 90) ;;
    *) args=(--op "$w") ;;
    esac
    start_server "$kind" "$w" || continue
    local cpu0; cpu0=$(cpu_ticks "$PID")
    zb $((SECS + WARMUP + 300)) --hosts "127.0.0.1:$PORT" "${args[@]}" \
      --size 100 --sessions "$SESSIONS" --window "$WINDOW" --keys "$KEYS" \
      --duration "$SECS" --warmup "$WARMUP" --timeout 120 ||
      warn "$kind $w: zkbench failed: $OUT"
    line=$OUT
    echo "  $kind: $line"
    R[$kind.$w.ops]=$(fld "$line" ops_per_sec)
    R[$kind.$w.p99]=$(fld "$line" p99_us)
    # Server CPU per request: the load generator (the official C client)
    # shares the two cores, so throughput alone hides how much each server
    # spends. Warm-up requests are counted at the measured rate.
    R[$kind.$w.cpu]=$(awk -v c="$(( $(cpu_ticks "$PID") - cpu0 ))" -v hz="$HZ" \
      -v ops="${R[$kind.$w.ops]:-0}" -v t="$((SECS + WARMUP))" \
      'BEGIN { if (ops + 0 == 0) print "-"; else printf "%.1f", c / hz * 1e6 / (ops * t) }')
    "$S" stop "$DIR"
  done
}

# raw_run KIND WORKLOAD CONNS WINDOW: one zkrawload workload on a fresh
# server; appends its figures to the lists R[KIND.raw.WORKLOAD.CONNSxWINDOW
# .{ops,p50,p99,cpu}.runs], one value per run ("-" for a failed one).
raw_run() {
  local kind=$1 w=$2 conns=$3 win=$4 key line args cpu0
  key=$kind.raw.$w.${conns}x$win
  case $w in
  mix) args=(--op mix --read-pct 90) ;;
  get) args=(--op get --keys 1000) ;; # 100 B values, as the writes leave them
  *) args=(--op "$w") ;;
  esac
  start_server "$kind" "raw-$w-${conns}x$win" || return
  # The same load unmeasured first: the JVM compiles its hot paths, zabd's
  # keys and caches fill; then CPU is read around the measured part only.
  timeout $((WARMUP + 60)) "$RAWLOAD" "127.0.0.1:$PORT" "${args[@]}" --conns "$conns" \
    --window "$win" --secs "$WARMUP" >/dev/null 2>&1
  cpu0=$(cpu_ticks "$PID")
  line=$(timeout $((SECS + 60)) "$RAWLOAD" "127.0.0.1:$PORT" "${args[@]}" --conns "$conns" \
    --window "$win" --secs "$SECS") || warn "$kind raw $w ${conns}x$win: zkrawload failed: $line"
  echo "  $kind: $line"
  local ops p50 p99 cpu
  ops=$(fld "$line" ops_per_sec) p50=$(fld "$line" p50_us) p99=$(fld "$line" p99_us)
  cpu=$(awk -v c="$(( $(cpu_ticks "$PID") - cpu0 ))" -v hz="$HZ" -v ops="${ops:-0}" -v t="$SECS" \
    'BEGIN { if (ops + 0 == 0) print "-"; else printf "%.1f", c / hz * 1e6 / (ops * t) }')
  R[$key.ops.runs]+="${ops:--} "
  R[$key.p50.runs]+="${p50:--} "
  R[$key.p99.runs]+="${p99:--} "
  R[$key.cpu.runs]+="$cpu "
  "$S" stop "$DIR"
}

# median LIST...: the median of the numbers given ("-" entries left out).
median() {
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
                             else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# raw_summary KEY: R[zookeeper|zabd.KEY.{ops,p50,p99,cpu}] become the
# medians of their runs; R[KEY.ratio] the median of the zabd/zk ratios of
# the runs taken back to back, R[KEY.range] their lowest and highest.
raw_summary() {
  local key=$1 k f
  for k in $SERVERS; do
    for f in ops p50 p99 cpu; do
      # shellcheck disable=SC2086
      R[$k.$key.$f]=$(median ${R[$k.$key.$f.runs]:-})
    done
  done
  local -a z a rs=()
  read -ra z <<<"${R[zookeeper.$key.ops.runs]:-}"
  read -ra a <<<"${R[zabd.$key.ops.runs]:-}"
  local i
  for i in "${!z[@]}"; do
    [ -n "${a[i]:-}" ] || continue
    rs+=("$(ratio "${a[i]}" "${z[i]}")")
  done
  R[$key.ratio]=$(median "${rs[@]}")
  R[$key.range]=$(printf '%s\n' "${rs[@]}" | grep -E '^[0-9.]+$' | sort -g |
    awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1) print lo "-" hi; else print "-" }')
}

# Each workload runs on every server back to back before the next one, so
# that a noisy minute on a shared machine hits both sides of a ratio alike;
# RAW_REPEAT such pairs, and the medians are reported (one run moves by a
# quarter here from one minute to the next).
run_raw() {
  local k w shape r
  for shape in $RAW_SHAPES; do
    for w in $RAW_WORKLOADS; do
      for r in $(seq "$RAW_REPEAT"); do
        for k in $SERVERS; do raw_run "$k" "$w" "${shape%x*}" "${shape#*x}"; done
      done
      raw_summary "raw.$w.$shape"
    done
  done
  for w in get set; do
    for r in $(seq "$RAW_REPEAT"); do
      for k in $SERVERS; do raw_run "$k" "$w" 1 1; done
    done
    raw_summary "raw.$w.1x1"
  done
}

# ---- ensemble mode ----------------------------------------------------------

# ens_start KIND NAME: a fresh 3-member ensemble; sets DIR HOSTS PIDS.
ens_start() {
  DIR=$BENCH_DIR/ens-$1-$2
  rm -rf "$DIR"
  PORT=$("$S" freeport)
  started+=("$DIR")
  mapfile -t PIDS < <(ENSEMBLE=3 ZK_HEAP=${ENS_ZK_HEAP:-512m} "$S" start "$1" "$DIR" "$PORT") ||
    { warn "$1 ensemble did not start (logs: $DIR/s*/server.log)"; return 1; }
  HOSTS=$(cat "$DIR/hosts")
  zb 90 --hosts "127.0.0.1:$PORT" --wait-get / --timeout 60 ||
    { warn "$1 ensemble member 1 serves no reads"; return 1; }
}

ens_cpu() { local t=0 p; for p in "${PIDS[@]}"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }

ens_raw_run() {
  local kind=$1 w=$2 conns=$3 win=$4 key line args cpu0
  key=$kind.ens.$w.${conns}x$win
  case $w in
  mix) args=(--op mix --read-pct 90) ;;
  get) args=(--op get --keys 1000) ;;
  *) args=(--op "$w") ;;
  esac
  ens_start "$kind" "raw-$w-${conns}x$win" || return
  timeout $((WARMUP + 60)) "$RAWLOAD" "$HOSTS" "${args[@]}" --conns "$conns" \
    --window "$win" --secs "$WARMUP" >/dev/null 2>&1
  cpu0=$(ens_cpu)
  line=$(timeout $((SECS + 60)) "$RAWLOAD" "$HOSTS" "${args[@]}" --conns "$conns" \
    --window "$win" --secs "$SECS") || warn "$kind ensemble raw $w ${conns}x$win: zkrawload failed: $line"
  echo "  $kind: $line"
  R[$key.ops]=$(fld "$line" ops_per_sec)
  R[$key.p99]=$(fld "$line" p99_us)
  R[$key.cpu]=$(awk -v c="$(( $(ens_cpu) - cpu0 ))" -v hz="$HZ" -v ops="${R[$key.ops]:-0}" \
    -v t="$SECS" 'BEGIN { if (ops + 0 == 0) print "-"; else printf "%.1f", c / hz * 1e6 / (ops * t) }')
  "$S" stop "$DIR"
}

ens_client_run() {
  local kind=$1 w=$2 key args cpu0
  key=$kind.ensc.$w
  case $w in mix) args=(--op mix --read-pct 90) ;; *) args=(--op "$w") ;; esac
  ens_start "$kind" "c-$w" || return
  cpu0=$(ens_cpu)
  zb $((SECS + WARMUP + 300)) --hosts "$HOSTS" "${args[@]}" --size 100 --sessions "$SESSIONS" \
    --window "$WINDOW" --keys "$KEYS" --duration "$SECS" --warmup "$WARMUP" --timeout 120 ||
    warn "$kind ensemble $w: zkbench failed: $OUT"
  echo "  $kind: $OUT"
  R[$key.ops]=$(fld "$OUT" ops_per_sec)
  R[$key.p99]=$(fld "$OUT" p99_us)
  R[$key.cpu]=$(awk -v c="$(( $(ens_cpu) - cpu0 ))" -v hz="$HZ" -v ops="${R[$key.ops]:-0}" \
    -v t="$((SECS + WARMUP))" 'BEGIN { if (ops + 0 == 0) print "-"; else printf "%.1f", c / hz * 1e6 / (ops * t) }')
  "$S" stop "$DIR"
}

run_ensemble() {
  local k w shape
  for shape in ${ENS_SHAPES:-24x32}; do
    for w in $RAW_WORKLOADS; do
      for k in $SERVERS; do ens_raw_run "$k" "$w" "${shape%x*}" "${shape#*x}"; done
    done
  done
  for w in create set get mix; do
    for k in $SERVERS; do ens_client_run "$k" "$w"; done
  done
  printf '%-16s %11s %11s %8s %9s %9s %8s %8s\n' workload zk_ops/s zabd_ops/s zabd/zk \
    zk_p99us zabd_p99 zk_cpu zabd_cpu
  for shape in ${ENS_SHAPES:-24x32}; do
    for w in $RAW_WORKLOADS; do
      local key=ens.$w.$shape
      printf '%-16s %11s %11s %8s %9s %9s %8s %8s\n' "raw $w $shape" "$(v zookeeper.$key.ops)" \
        "$(v zabd.$key.ops)" "$(ratio "$(v zabd.$key.ops)" "$(v zookeeper.$key.ops)")" \
        "$(v zookeeper.$key.p99)" "$(v zabd.$key.p99)" "$(v zookeeper.$key.cpu)" "$(v zabd.$key.cpu)"
    done
  done
  for w in create set get mix; do
    local key=ensc.$w
    printf '%-16s %11s %11s %8s %9s %9s %8s %8s\n' "C client $w" "$(v zookeeper.$key.ops)" \
      "$(v zabd.$key.ops)" "$(ratio "$(v zabd.$key.ops)" "$(v zookeeper.$key.ops)")" \
      "$(v zookeeper.$key.p99)" "$(v zabd.$key.p99)" "$(v zookeeper.$key.cpu)" "$(v zabd.$key.cpu)"
  done
  echo "(3 members on this machine; cpu: CPU microseconds per request summed over the members)"
  if [ -x "$here/failover.py" ]; then
    for k in $SERVERS; do
      echo "fail-over, $k:"
      timeout 600 "$here/failover.py" --kind "$k" --runs "${FAILOVER_RUNS:-5}" || warn "$k fail-over run failed"
    done
  else
    echo "(tools/failover.py not present: no fail-over figures)"
  fi
}

print_raw() {
  local w shape k
  printf '%-14s %11s %11s %8s %11s %9s %9s %9s %9s %8s %8s %8s\n' workload zk_ops/s zabd_ops/s \
    zabd/zk range zk_p50us zabd_p50 zk_p99us zabd_p99 zk_cpu zabd_cpu zabd/zk
  for shape in $RAW_SHAPES 1x1; do
    for w in $RAW_WORKLOADS; do
      k=raw.$w.$shape
      [ "$shape" = 1x1 ] && [ "$w" != get ] && [ "$w" != set ] && continue
      printf '%-14s %11s %11s %8s %11s %9s %9s %9s %9s %8s %8s %8s\n' "$w $shape" \
        "$(v zookeeper.$k.ops)" "$(v zabd.$k.ops)" "$(v $k.ratio)" "$(v $k.range)" \
        "$(v zookeeper.$k.p50)" "$(v zabd.$k.p50)" "$(v zookeeper.$k.p99)" "$(v zabd.$k.p99)" \
        "$(v zookeeper.$k.cpu)" "$(v zabd.$k.cpu)" "$(ratio "$(v zabd.$k.cpu)" "$(v zookeeper.$k.cpu)")"
    done
  done
  echo "(zkrawload, 100 B values; medians of $RAW_REPEAT runs each; zabd/zk: the median of the"
  echo " ratios of runs taken back to back, range: the lowest and highest of them; cpu: server CPU"
  echo " microseconds per request; zabd/zk above 1 is faster for ops/s, below 1 is cheaper for cpu;"
  echo " 1x1 rows: one request in flight, compare latencies)"
}

run_memory() {
  local kind=$1 line last rss0 t0 t1
  start_server "$kind" mem || return
  rss0=$(rss_kb "$PID")
  zb $((MEM_NODES / 100 + 600)) --hosts "127.0.0.1:$PORT" \
    --populate "$MEM_NODES" --size 100 --sessions "$MEM_SESSIONS" --window "$MEM_WINDOW" \
    --timeout $((MEM_NODES / 100 + 300)) ||
    { warn "$kind populate failed: $OUT"; "$S" stop "$DIR"; return; }
  line=$OUT
  echo "  $kind: $line"
  last=$(fld "$line" last)
  R[$kind.pop_secs]=$(fld "$line" secs)
  sleep 1   # let a pending snapshot or log roll settle before reading RSS
  local rss1; rss1=$(rss_kb "$PID")
  R[$kind.rss_mb]=$(awk -v k="$rss1" 'BEGIN { printf "%.0f", k / 1024 }')
  R[$kind.per_node]=$(awk -v a="$rss0" -v b="$rss1" -v n="$MEM_NODES" \
    'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
  if [ "$kind" = zookeeper ] && command -v jcmd >/dev/null; then
    # The JVM's RSS includes garbage and heap it has not returned; the live
    # set after a full GC is the fairer per-znode figure.
    timeout 60 jcmd "$PID" GC.run >/dev/null 2>&1
    local used_kb
    used_kb=$(timeout 60 jcmd "$PID" GC.heap_info 2>/dev/null |
      sed -n 's/.*heap.*used \([0-9]*\)K.*/\1/p' | head -1)
    if [ -n "$used_kb" ]; then
      R[$kind.heap_mb]=$(awk -v k="$used_kb" 'BEGIN { printf "%.0f", k / 1024 }')
      R[$kind.heap_per_node]=$(awk -v k="$used_kb" -v n="$MEM_NODES" \
        'BEGIN { printf "%.0f", k * 1024 / n }')
    fi
    R[$kind.rss_gc_mb]=$(awk -v k="$(rss_kb "$PID")" 'BEGIN { printf "%.0f", k / 1024 }')
  fi
  R[$kind.disk_mb]=$(du -sm "$DIR/data" | awk '{print $1}')
  t0=$(now_ms)
  "$S" stop "$DIR"
  R[$kind.stop_ms]=$(( $(now_ms) - t0 ))

  # Restart on the same data dir; the clock runs from the launch until a
  # read of the newest znode succeeds (JVM start-up included for ZooKeeper).
  t0=$(now_ms)
  "$S" start "$kind" "$DIR" "$PORT" >"$DIR/restart.out" 2>&1 &
  HELPER=$!
  zb 330 --hosts "127.0.0.1:$PORT" --wait-get "$last" --timeout 300
  local rc=$?
  t1=$(now_ms)
  line=$OUT
  wait "$HELPER" || warn "$kind: server.sh start after restart failed: $(cat "$DIR/restart.out")"
  if [ $rc -ne 0 ]; then
    warn "$kind: no successful read of $last after restart: $line"
  else
    R[$kind.recover_ms]=$(( t1 - t0 ))
    local first=/bench/pop/n00000000
    zb 30 --hosts "127.0.0.1:$PORT" --wait-get "$first" --timeout 5 ||
      warn "$kind: $first missing after restart"
    echo "  $kind: restart: $line (total $((t1 - t0)) ms)"
  fi
  HELPER=0
  PID=$(cat "$DIR/pid" 2>/dev/null || echo 0)
  R[$kind.rss_rec_mb]=$(awk -v k="$(rss_kb "$PID")" 'BEGIN { printf "%.0f", k / 1024 }')
  "$S" stop "$DIR"
}

v() { echo "${R[$1]:--}"; }
ratio() {   # ratio A B: A / B with two decimals, "-" if either is missing
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
                                   else printf "%.2f", a / b }'
}

echo "zabd benchmark: servers [$SERVERS], data in $BENCH_DIR" \
  "($(df --output=source "$BENCH_DIR" | tail -1)), $(nproc) cpus, ZK_HEAP=$ZK_HEAP"

if [ "$MODE" = all ] || [ "$MODE" = raw ]; then
  echo "raw (zkrawload): shapes [$RAW_SHAPES] + 1x1, secs=$SECS warmup=$WARMUP size=100 repeat=$RAW_REPEAT"
  run_raw
  echo
  print_raw
  echo
fi

if [ "$MODE" = all ] || [ "$MODE" = throughput ]; then
  echo "throughput: sessions=$SESSIONS window=$WINDOW secs=$SECS warmup=$WARMUP size=100"
  for k in $SERVERS; do run_throughput "$k"; done
  echo
  printf '%-10s %12s %12s %8s %12s %12s %11s %11s %8s\n' workload zk_ops/s zabd_ops/s zabd/zk \
    zk_p99_us zabd_p99_us zk_cpu_us zabd_cpu_us zabd/zk
  for w in create set get exists mix; do
    printf '%-10s %12s %12s %8s %12s %12s %11s %11s %8s\n' "$w" "$(v zookeeper.$w.ops)" \
      "$(v zabd.$w.ops)" "$(ratio "$(v zabd.$w.ops)" "$(v zookeeper.$w.ops)")" \
      "$(v zookeeper.$w.p99)" "$(v zabd.$w.p99)" "$(v zookeeper.$w.cpu)" "$(v zabd.$w.cpu)" \
      "$(ratio "$(v zabd.$w.cpu)" "$(v zookeeper.$w.cpu)")"
  done
  echo "(cpu_us: server CPU time per request; zabd/zk above 1 is faster for ops/s, below 1 is cheaper for cpu)"
  echo
fi

if [ "$MODE" = ensemble ]; then
  echo "ensemble: 3 members of each kind, raw shapes [${ENS_SHAPES:-24x32}], secs=$SECS warmup=$WARMUP"
  run_ensemble
  echo
fi

if [ "$MODE" = all ] || [ "$MODE" = memory ]; then
  echo "memory/recovery: $MEM_NODES znodes of 100 B"
  for k in $SERVERS; do run_memory "$k"; done
  echo
  printf '%-32s %12s %12s %8s\n' metric zookeeper zabd zabd/zk
  for m in pop_secs:"populate time (s)" rss_mb:"RSS after populate (MB)" \
    per_node:"RSS growth per znode (B)" heap_mb:"zk live heap after full GC (MB)" \
    heap_per_node:"zk live heap per znode (B)" rss_gc_mb:"zk RSS after full GC (MB)" \
    disk_mb:"data dir on disk (MB)" stop_ms:"stop on SIGTERM (ms)" \
    recover_ms:"restart until read (ms)" rss_rec_mb:"RSS after restart (MB)"; do
    key=${m%%:*} label=${m#*:}
    printf '%-32s %12s %12s %8s\n' "$label" "$(v zookeeper.$key)" "$(v zabd.$key)" \
      "$(ratio "$(v zabd.$key)" "$(v zookeeper.$key)")"
  done
  echo "(zabd/zk below 1 means zabd is smaller/faster for the memory and time rows)"
fi
exit $failed
