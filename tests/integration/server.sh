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

cmd=${1:-}; shift || true
case "$cmd" in
start)
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
  dir=$1; pid=$(cat "$dir/pid" 2>/dev/null || true)
  [ -n "$pid" ] || exit 0
  if [ "$cmd" = kill ]; then kill -9 "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; exit 0; }; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$dir/pid" ;;
freeport) freeport ;;
*) echo "usage: server.sh start KIND DIR PORT [k=v...] | stop DIR | kill DIR | freeport" >&2; exit 2 ;;
esac
