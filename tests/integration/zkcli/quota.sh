#!/usr/bin/env bash
# Quotas through Apache ZooKeeper's own shell: setquota, listquota and
# delquota (which only write /zookeeper/quota/<path>/zookeeper_limits and
# zookeeper_stats), the zookeeper_stats upkeep the server owes them, and the
# hard limits a server started with enforceQuota=true turns into
# QUOTAEXCEEDED ("Quota has exceeded : <path>" in zkCli).
#
# One zkCli session reads quota-session.txt on stdin; a few single commands
# follow (the session's ephemeral must be gone from the stats after it quit).
# Every line checked is what zkCli prints against Apache ZooKeeper 3.8.0.
#
#   SERVER_KIND=zookeeper tests/integration/zkcli/quota.sh
#   env: ZKCLI (zkCli.sh path), KEEP=1 keeps the work dir, VERBOSE=1 prints
#        the captured output.
# Prints "N passed, M failed"; exits 1 if anything failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
zk_start zkcli-quota enforceQuota=true

limits_of() { echo "Output quota for /q $1"; }
stats_of() { echo "Output stat for /q $1"; }
abs='absolute path is /zookeeper/quota/q/zookeeper_limits'

# ---- the session ------------------------------------------------------------
cli "$work/session.out" <"$here/quota-session.txt"
use "$work/session.out"
expect "Created /q"
expect "Created /q/a"
# setquota -n 5, then listquota: the limits as StatsTrack writes them, the
# stats recomputed by the server when zkCli created them (/q and /q/a)
expect "$abs"
next_is "$(limits_of 'count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1')"
next_is "$(stats_of 'count=2,bytes=1')"
# get -s of the stats node: its data, and a stat the server never moves
expect_re 'count=([0-9]+),bytes=1'; before=${m[1]:-}
expect_re 'cZxid = (0x[0-9a-f]+)'; s_czxid=${m[1]:-}
expect_re 'mZxid = (0x[0-9a-f]+)'; same "stats mZxid at creation" "${m[1]:-}" "$s_czxid"
expect "dataVersion = 0"
expect "dataLength = 15"
expect "Created /q/b"
expect "Created /q/c"
# two creates: count grows by 2, bytes by len("hello"); the stat stays
expect_re 'count=([0-9]+),bytes=6'; after=${m[1]:-}
same "stats count growth after two creates" "$((after - before))" 2
expect_re 'cZxid = (0x[0-9a-f]+)'; same "stats cZxid" "${m[1]:-}" "$s_czxid"
expect_re 'mZxid = (0x[0-9a-f]+)'; same "stats mZxid after server updates" "${m[1]:-}" "$s_czxid"
expect "dataVersion = 0"
expect "dataLength = 15"
# set /q/b "hi" (-3 bytes), delete /q/c (-1 node)
expect "$abs"
next_is "$(limits_of 'count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1')"
next_is "$(stats_of 'count=3,bytes=3')"
expect "Created /q/eph"
expect "Created /q/seq-0000000004"
expect "count=5,bytes=11"
# setquota -b 100, -N 6 update the limits node in place
expect "$abs"
next_is "$(limits_of 'count=5,bytes=100=;byteHardLimit=-1;countHardLimit=6')"
next_is "$(stats_of 'count=5,bytes=11')"
# the sixth node fits, the seventh is past countHardLimit=6
expect "Created /q/d"
expect "Quota has exceeded : /q/e"
expect "$abs"
next_is "$(limits_of 'count=5,bytes=100=;byteHardLimit=-1;countHardLimit=6')"
next_is "$(stats_of 'count=6,bytes=11')"
# setquota -B 12 (zkCli warns: the soft count 5 is below the usage)
expect "[Warning]: the count quota you create is less than the existing count:6"
# 11 - 2 + 10 = 19 > 12 is refused; 11 - 2 + 3 = 12 is not
expect "Quota has exceeded : /q/b"
expect "$abs"
next_is "$(limits_of 'count=5,bytes=100=;byteHardLimit=12;countHardLimit=6')"
next_is "$(stats_of 'count=6,bytes=12')"
# zkCli's own refusals, read from the tree
expect "/q/a has a parent /q which has a quota"
expect "/nope does not exist."
expect "cannot set a quota under the path: /zookeeper/quota"
expect "the num quota must be greater than zero"
expect "the bytes quota must be greater than or equal to zero"
expect "NumberFormatException happens when parsing the option value"
# delquota -N lifts the hard count limit: /q/e now fits
expect "Created /q/e"
expect_re 'org\.apache\.commons\.cli\.AlreadySelectedException: .*'
expect "$abs"
next_is "$(limits_of 'count=5,bytes=100=;byteHardLimit=12;countHardLimit=-1')"
next_is "$(stats_of 'count=7,bytes=12')"
expect "[zookeeper_limits, zookeeper_stats]"

# ---- after the session closed -------------------------------------------------
# its ephemeral /q/eph (5 bytes) left the stats with it
cli "$work/after.out" get /zookeeper/quota/q/zookeeper_stats
same "get stats: exit status" "$cli_rc" 0
use "$work/after.out"
expect "count=6,bytes=7"

# delquota with no flag removes the quota nodes and trims the empty parents
cli "$work/delquota.out" delquota /q
same "delquota: exit status" "$cli_rc" 0
cli "$work/listquota.out" listquota /q
use "$work/listquota.out"
expect "$abs"
expect "quota for /q does not exist."
cli "$work/ls.out" ls /zookeeper/quota
use "$work/ls.out"
expect "[]"
# and /q is an ordinary subtree again: no limit is enforced
cli "$work/free.out" create /q/f "0123456789abcdef"
use "$work/free.out"
expect "Created /q/f"

zk_finish
