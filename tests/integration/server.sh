#!/usr/bin/env bash
# Starts or stops one standalone server for a test: zabd or Apache ZooKeeper,
# both driven by the same generated zoo.cfg, so every integration test can run
# against either (SERVER_KIND=zabd|zookeeper).
#
#   server.sh start KIND DIR PORT [key=value ...]   writes DIR/zoo.cfg, starts the
#        server in the background (log in DIR/server.log, pid in DIR/pid), waits
#        until it answers "ruok" and prints the pid.
#   server.sh stop DIR         stops the pid in DIR/pid with SIGTERM (SIGKILL after 10 s)
#   server.sh kill DIR         SIGKILL
#   server.sh freeport         prints a free loopback TCP port
# The server binds to 127.0.0.1 only. ZK_EXTRA_CP is appended to ZooKeeper's
# classpath (e.g. /usr/share/java/slf4j-simple.jar to see its log).
#
# Ensemble mode: with ENSEMBLE=N (N >= 2) in the environment, "start" runs an
# N-member ensemble of KIND instead (ZooKeeper through QuorumPeerMain). Member
# 1's client port is PORT; the other client ports and every quorum and
# election port are free ports. Member i lives in DIR/si (zoo.cfg, data/myid,
# server.log, pid); every zoo.cfg gets the same key=value lines plus
# initLimit/syncLimit (unless given) and the server.i lines. start waits until
# every member answers "srvr" with a Mode line (synced and serving), writes the
# connect string of all members to DIR/hosts and their pids to DIR/pid, one a
# line, and prints the pids. stop/kill signal every pid in DIR/pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZABD=${ZABD:-$root/build/server/zabd}

freeport() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

ruok() {
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'ruok' >&3
  local r; r=$(timeout 2 cat <&3 || true)
  exec 3>&- || true
  [ "$r" = "imok" ]
}

# srvr PORT: succeeds once the server on PORT answers srvr with a Mode line.
srvr_mode() {
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'srvr' >&3
  local r; r=$(timeout 2 cat <&3 || true)
  exec 3>&- || true
  [[ "$r" == *$'\nMode: '* ]]
}

# ensemble_start KIND DIR PORT [key=value ...]: see the header.
ensemble_start() {
  local kind=$1 dir=$2 port=$3 n=$ENSEMBLE; shift 3
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] || { echo "server.sh: ENSEMBLE=$n: want a number >= 2" >&2; exit 2; }
  local -a ports cl q e pids
  local p i j tries attempt
  # Another process may take a free port before a member binds it: a member
  # that exits with "Address already in use" is retried on fresh ports (PORT
  # stays), at most 3 attempts.
  for attempt in 1 2 3; do
  # 3n - 1 distinct free ports besides PORT (freeport may repeat itself).
  ports=("$port") pids=() tries=0
  while [ "${#ports[@]}" -lt $((3 * n)) ]; do
    tries=$((tries + 1)); [ "$tries" -le $((30 * n)) ] || { echo "server.sh: no free ports" >&2; exit 1; }
    p=$(freeport)
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
  done
  for ((i = 1; i <= n; i++)); do
    cl[i]=${ports[i - 1]} q[i]=${ports[n + i - 1]} e[i]=${ports[2 * n + i - 1]}
  done
  local have_init=0 have_sync=0 kv
  for kv in "$@"; do
    case "$kv" in initLimit=*) have_init=1 ;; syncLimit=*) have_sync=1 ;; esac
  done
  local props=()
  for kv in "$@"; do
    case "$kv" in znode.container.*=*) props+=("-D$kv") ;; esac
  done
  fail() { # message: stops what started, shows the logs, exits 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -f "$dir/pid"
    echo "server.sh: $1" >&2
    local j
    for ((j = 1; j <= n; j++)); do
      [ -f "$dir/s$j/server.log" ] && { echo "--- member $j:" >&2; tail -15 "$dir/s$j/server.log" >&2; }
    done
    exit 1
  }
  for ((i = 1; i <= n; i++)); do
    local sd="$dir/s$i"
    mkdir -p "$sd/data"
    echo "$i" > "$sd/data/myid"
    {
      echo "tickTime=${TICK_TIME:-2000}"
      echo "dataDir=$sd/data"
      echo "clientPort=${cl[i]}"
      echo "clientPortAddress=127.0.0.1"
      echo "4lw.commands.whitelist=*"
      echo "admin.enableServer=false"
      [ "$have_init" = 1 ] || echo "initLimit=10"
      [ "$have_sync" = 1 ] || echo "syncLimit=5"
      for kv in "$@"; do echo "$kv"; done
      for ((j = 1; j <= n; j++)); do
        echo "server.$j=127.0.0.1:${q[j]}:${e[j]};127.0.0.1:${cl[j]}"
      done
    } > "$sd/zoo.cfg"
    case "$kind" in
    zabd) (cd "$sd" && exec "$ZABD" "$sd/zoo.cfg") > "$sd/server.log" 2>&1 & ;;
    zookeeper)
      # shellcheck disable=SC2086
      (cd "$sd" && exec java -Xmx${ZK_HEAP:-256m} "${props[@]}" -Dzookeeper.log.dir="$sd" \
        -Dzookeeper.root.logger=INFO,CONSOLE -Dzookeeper.extendedTypesEnabled=true \
        ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} \
        -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar${ZK_EXTRA_CP:+:$ZK_EXTRA_CP} \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$sd/zoo.cfg") > "$sd/server.log" 2>&1 & ;;
    *) echo "server.sh: unknown kind $kind" >&2; exit 2 ;;
    esac
    pids[i]=$!
    echo "${pids[i]}" > "$sd/pid"
  done
  printf '%s\n' "${pids[@]}" > "$dir/pid"
  # Bounded wait (60 s: three JVMs start on a small machine) until every
  # member is synced and serving.
  local deadline=$((SECONDS + ${ENSEMBLE_START_S:-60})) ready
  while :; do
    ready=0
    for ((i = 1; i <= n; i++)); do
      if ! kill -0 "${pids[i]}" 2>/dev/null; then
        if [ "$attempt" -lt 3 ] && grep -q 'Address already in use' "$dir/s$i/server.log"; then
          echo "server.sh: member $i: a port was taken; again on fresh ports" >&2
          for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
          for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
          continue 3
        fi
        fail "member $i ($kind) exited"
      fi
      srvr_mode "${cl[i]}" && ready=$((ready + 1))
    done
    [ "$ready" -eq "$n" ] && break
    [ "$SECONDS" -lt "$deadline" ] || fail "$kind ensemble: only $ready of $n members serving within ${ENSEMBLE_START_S:-60} s"
    sleep 0.1
  done
  local hosts=""
  for ((i = 1; i <= n; i++)); do hosts+="${hosts:+,}127.0.0.1:${cl[i]}"; done
  echo "$hosts" > "$dir/hosts"
  printf '%s\n' "${pids[@]}"
  return 0
  done
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  if [ -n "${ENSEMBLE:-}" ]; then ensemble_start "$@"; exit 0; fi
  kind=$1 dir=$2 port=$3; shift 3
  mkdir -p "$dir/data"
  {
    echo "tickTime=${TICK_TIME:-2000}"
    echo "dataDir=$dir/data"
    echo "clientPort=$port"
    echo "clientPortAddress=127.0.0.1"
    echo "4lw.commands.whitelist=*"
    echo "admin.enableServer=false"
    for kv in "$@"; do echo "$kv"; done
  } > "$dir/zoo.cfg"
  case "$kind" in
  zabd) "$ZABD" "$dir/zoo.cfg" > "$dir/server.log" 2>&1 & ;;
  zookeeper)
    # ZooKeeper reads some zoo.cfg-looking keys only as JVM properties.
    props=()
    for kv in "$@"; do
      case "$kv" in znode.container.*=*) props+=("-D$kv") ;; esac
    done
    # SERVER_JVMFLAGS and JVMFLAGS are word-split as zkServer.sh does
    # (-Djava.security.auth.login.config=FILE for SASL, for example).
    # shellcheck disable=SC2086
    java -Xmx${ZK_HEAP:-1g} "${props[@]}" -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \
      -Dzookeeper.extendedTypesEnabled=true ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} \
      -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar${ZK_EXTRA_CP:+:$ZK_EXTRA_CP} \
      org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" > "$dir/server.log" 2>&1 & ;;
  *) echo "server.sh: unknown kind $kind" >&2; exit 2 ;;
  esac
  pid=$!
  echo "$pid" > "$dir/pid"
  for _ in $(seq 1 300); do
    if ruok "$port"; then echo "$pid"; exit 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "server.sh: $kind exited; log:" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "server.sh: $kind did not answer ruok on $port within 30 s" >&2
  kill -9 "$pid" 2>/dev/null || true
  exit 1 ;;
stop|kill)
  # DIR/pid holds one pid (standalone) or one per ensemble member.
  dir=$1; mapfile -t pids < <(grep -E '^[0-9]+$' "$dir/pid" 2>/dev/null || true)
  [ "${#pids[@]}" -gt 0 ] || exit 0
  sig=-TERM; [ "$cmd" = kill ] && sig=-9
  for pid in "${pids[@]}"; do kill "$sig" "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 1 ] || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && { kill -9 "$pid" 2>/dev/null || true; }; done
  rm -f "$dir/pid" "$dir"/s[0-9]*/pid ;;
freeport) freeport ;;
*) echo "usage: server.sh start KIND DIR PORT [k=v...] | stop DIR | kill DIR | freeport" >&2; exit 2 ;;
esac
