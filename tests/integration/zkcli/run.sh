#!/usr/bin/env bash
# Drives Apache ZooKeeper's own shell, zkCli.sh, against a server of kind
# ${SERVER_KIND:-zabd} and checks what it prints line by line.
#
# One zkCli session reads session.txt on stdin (zkCli runs commands from a
# pipe when JLine is off, one at a time, each finished before the next), so
# ephemerals, auth and watches live across commands; a few more commands run
# one per invocation (command as arguments), which is how scripts use it and
# also sets the exit status.  Checks are exact lines, found in order
# ("expect"), or anywhere for watch events that zkCli prints from its event
# thread and may interleave with command output ("anywhere").
#
#   SERVER_KIND=zookeeper tests/integration/zkcli/run.sh
#   env: ZKCLI (zkCli.sh path), KEEP=1 keeps the work dir, VERBOSE=1 prints
#        the captured output.
# Prints "N passed, M failed"; exits 1 if anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
zk_start zkcli-it extendedTypesEnabled=true

# expect_stat CVERSION DATAVERSION ACLVERSION EPHEMERAL_OWNER DATALENGTH NUMCHILDREN
# The next stat block, as zkCli prints it (one "name = value" per line, in
# Stat order).  Leaves the zxids in czxid, mzxid, pzxid.  EPHEMERAL_OWNER is
# a regex ("0x0", or "0x[1-9a-f][0-9a-f]*" for any session).
hex='0x[0-9a-f]+'
date='[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [A-Z]+ [0-9]{4}'
expect_stat() {
  czxid= mzxid= pzxid=
  expect_re "cZxid = ($hex)" || return 1; czxid=${m[1]}
  local base=$cur
  [[ "${lines[cur]:-}" =~ ^ctime\ =\ $date$ ]] && ok || bad "ctime line: '${lines[cur]:-}'"
  [[ "${lines[cur+1]:-}" =~ ^mZxid\ =\ ($hex)$ ]] && { ok; mzxid=${BASH_REMATCH[1]}; } || bad "mZxid line: '${lines[cur+1]:-}'"
  [[ "${lines[cur+2]:-}" =~ ^mtime\ =\ $date$ ]] && ok || bad "mtime line: '${lines[cur+2]:-}'"
  [[ "${lines[cur+3]:-}" =~ ^pZxid\ =\ ($hex)$ ]] && { ok; pzxid=${BASH_REMATCH[1]}; } || bad "pZxid line: '${lines[cur+3]:-}'"
  same cversion "${lines[cur+4]:-}" "cversion = $1"
  same dataVersion "${lines[cur+5]:-}" "dataVersion = $2"
  same aclVersion "${lines[cur+6]:-}" "aclVersion = $3"
  [[ "${lines[cur+7]:-}" =~ ^ephemeralOwner\ =\ $4$ ]] && ok || bad "ephemeralOwner: '${lines[cur+7]:-}' !~ $4"
  same dataLength "${lines[cur+8]:-}" "dataLength = $5"
  same numChildren "${lines[cur+9]:-}" "numChildren = $6"
  cur=$((base + 10))
}

# ---- one long session from session.txt ------------------------------------
cli "$work/session.out" <"$here/session.txt"
# zkCli's status after quit is that of the last command (here: sync).
same "session exit status" "$cli_rc" 0
use "$work/session.out"
expect_re 'ZooKeeper CLI version: 3\.[0-9]+\.[0-9]+.*'
expect "WatchedEvent state:SyncConnected type:None path:null"
expect "Created /zkcli"
expect "Created /zkcli/a"
expect "Node already exists: /zkcli/a"
# get -s: data, then its stat
expect "alpha"
expect_stat 0 0 0 0x0 5 0; a_czxid=$czxid a_mzxid0=$mzxid
same "new node: mZxid == cZxid" "$a_mzxid0" "$a_czxid"
same "new node: pZxid == cZxid" "$pzxid" "$a_czxid"
# set (silent), then set -v 0 is stale
expect "version No is not valid : /zkcli/a"
expect_stat 0 1 0 0x0 4 0                      # stat after "beta"
same "stat: cZxid kept" "$czxid" "$a_czxid"
[ $((mzxid)) -gt $((a_czxid)) ] && ok || bad "mZxid $mzxid not after cZxid $a_czxid"
a_mzxid1=$mzxid
expect_stat 0 2 0 0x0 5 0                      # set -s prints the new stat
[ $((mzxid)) -gt $((a_mzxid1)) ] && ok || bad "set -s: mZxid did not grow"
# /zkcli already had child "a" (cversion 1): the suffix is the parent's cversion
expect "Created /zkcli/seq-0000000001"
expect "Created /zkcli/seq-0000000002"
expect "Created /zkcli/eph"
expect "Created /zkcli/eseq-0000000004"
expect "Created /zkcli/cont"
expect "Created /zkcli/ttl"
expect "Created /zkcli/a/b"
expect "Created /zkcli/a/b/c"
expect_stat 0 0 0 '0x[1-9a-f][0-9a-f]*' 1 0  # stat /zkcli/eph: owned by the session
expect_stat 0 0 0 0x0 0 0                      # container: owner shown as 0x0
expect "[a, cont, eph, eseq-0000000004, seq-0000000001, seq-0000000002, ttl]"
# ls -R: breadth first, children sorted
for p in /zkcli /zkcli/a /zkcli/cont /zkcli/eph /zkcli/eseq-0000000004 \
         /zkcli/seq-0000000001 /zkcli/seq-0000000002 /zkcli/ttl /zkcli/a/b /zkcli/a/b/c; do
  same "ls -R line" "${lines[cur]:-}" "$p"; cur=$((cur + 1))
done
expect "[b]"                                   # ls -s: children, then stat
expect_stat 1 2 0 0x0 5 1
same "ls -s: cZxid of /zkcli/a" "$czxid" "$a_czxid"
[ $((pzxid)) -gt $((a_czxid)) ] && ok || bad "pZxid did not move with child"
expect_re '\[(/zkcli/(eph|eseq-0000000004)), (/zkcli/(eph|eseq-0000000004))\]'
[ "${m[1]:-}" != "${m[3]:-}" ] && ok || bad "getEphemerals lists one node twice"
expect "9"                                     # getAllChildrenNumber /zkcli
expect "Node does not exist: /zkcli/nope"      # get
expect "Node does not exist: /zkcli/nope"      # delete
expect "Node not empty: /zkcli/a"
expect "version No is not valid : /zkcli/seq-0000000001"
expect "[cont, eph, eseq-0000000004, seq-0000000002, ttl]"
# addWatch -m PERSISTENT_RECURSIVE: events for the subtree, not one-shot
anywhere "WatchedEvent state:SyncConnected type:NodeCreated path:/zkcli/w"
anywhere "WatchedEvent state:SyncConnected type:NodeDataChanged path:/zkcli/w"
anywhere "WatchedEvent state:SyncConnected type:NodeDeleted path:/zkcli/w"
absent "WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/zkcli"
n=$(grep -cxF "WatchedEvent state:SyncConnected type:NodeCreated path:/zkcli/w" "$src")
same "NodeCreated /zkcli/w count (watch persists)" "$n" 2
expect "Created /zkcli/w"
expect "Created /zkcli/w"
expect "Auth scheme: User"                     # whoami
anywhere "digest: bob"
anywhere "ip: 127.0.0.1"
expect "'digest,'bob:fyVmFCwVbTJYrznoSu1koqYEYF0="
expect ": cdrwa"
expect "'world,'anyone"                        # getAcl -s
expect ": r"
expect_stat 0 0 2 0x0 2 0
expect "Acl is not valid : /zkcli/w"
expect "Insufficient permission : /zkcli/w/kid"
expect "Node does not exist: /zkcli/nope"
expect "Sync is OK"
# quit closes the session: its ephemerals go, seen by the recursive watch
anywhere "WatchedEvent state:SyncConnected type:NodeDeleted path:/zkcli/eph"
anywhere "WatchedEvent state:SyncConnected type:NodeDeleted path:/zkcli/eseq-0000000004"
expect "WatchedEvent state:Closed type:None path:null"

# ---- one command per invocation ---------------------------------------------
cli "$work/ls.out" ls /zkcli
same "ls exit status" "$cli_rc" 0
use "$work/ls.out"
expect "[cont, seq-0000000002, ttl, w]"        # the ephemerals went with quit

cli "$work/get.out" get -s /zkcli/seq-0000000002
same "get exit status" "$cli_rc" 0
use "$work/get.out"
expect "s"
expect_stat 0 0 0 0x0 1 0

cli "$work/missing.out" get /zkcli/nope
same "get missing: exit status" "$cli_rc" 1
use "$work/missing.out"
expect "Node does not exist: /zkcli/nope"

cli "$work/noauth.out" get /zkcli/w            # world:anyone:r allows read
same "get w exit status" "$cli_rc" 0
use "$work/noauth.out"
expect "w3"

cli "$work/deleteall.out" deleteall /zkcli
same "deleteall exit status" "$cli_rc" 0
cli "$work/gone.out" stat /zkcli
same "stat after deleteall: exit status" "$cli_rc" 1
use "$work/gone.out"
expect "Node does not exist: /zkcli"

cli "$work/version.out" version
use "$work/version.out"
expect_re 'ZooKeeper CLI version: .*'

zk_finish
