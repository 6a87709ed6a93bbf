"""Faults in a real ensemble under a write load, for 3 participants and for
5 participants + 1 observer (SERVER_KIND=zabd|zookeeper, default zabd).

Each test starts a fresh ensemble (tickTime 200 ms, initLimit 10, syncLimit
5), puts a write load on every member (faultload.py), injects one fault,
measures the time from the fault until the next write sent after it is
acknowledged (printed, and in the terminal summary), brings the member
back, and then checks (faultload.check_all): one leader and every member
serving in its role; every acknowledged write on every member after a sync;
every member's tree the same (data and czxid, mzxid, version, cversion,
aversion, ephemeralOwner, dataLength, numChildren); every client still in
its first session; the observer served reads and forwarded writes.

The faults: SIGKILL of the leader, SIGKILL of a follower (each restarted
afterwards), SIGSTOP of the leader for longer than syncLimit x tickTime
then SIGCONT, and a follower stopped (SIGTERM) while the others take more
than 500 txns (it catches up by SNAP) or fewer than 500 (DIFF) before it
is restarted. The learner's log says whether it got SNAP (both kinds log
it) and DIFF (ZooKeeper only), and the tests check it.

Everything binds to 127.0.0.1 on free ports; every wait has a deadline;
each process is stopped by its own pid (tests/pylib/ensemble.py).
"""
import os
import time

import pytest

from conftest import figure
from ensemble import KIND
from faultload import Load, check_all

RECOVERY_S = float(os.environ.get('ENSEMBLE_RECOVERY_S', '5'))  # "within a few seconds"
WAIT_S = 45  # bound on any other wait (restarts, catch-up, checks)
DIFF_WINDOW = 500  # ZooKeeper's commitLogCount, zabd's WINDOW_MAX: DIFF within it, SNAP beyond
# What a learner logs when it gets SNAP, and DIFF (zabd logs no DIFF line).
SNAP_LINE = {'zookeeper': 'Getting a snapshot from leader', 'zabd': '] SNAP from leader '}
DIFF_LINE = {'zookeeper': 'Getting a diff from the leader'}


def deadline(s=WAIT_S):
    return time.monotonic() + s


def start_load(ens, warm=60):
    load = Load(ens)
    load.start()
    load.wait_acks(warm, deadline(), 'writes before the fault')
    return load


def a_follower(ens, leader):
    return next(m for m in ens.participants if m is not leader)


def recovered(ens, load, fault, t0):
    """Measures and records the time from t0 until the next write sent
    after it was acknowledged; it must be under RECOVERY_S."""
    took = load.wait_recovery(t0, t0 + max(RECOVERY_S, 1.0) + 20)
    figure('%s [%s, %s]: next write acknowledged %.3f s after the fault'
           % (fault, KIND, ens.label, took))
    assert took < RECOVERY_S, '%s: the next write took %.3f s (bound %.1f s)' % (
        fault, took, RECOVERY_S)
    return took


def rejoin(ens, m, what):
    """Starts m again and waits until every member serves; records how long."""
    t0 = time.monotonic()
    m.start()
    ens.wait_serving(deadline(), ens.members)
    figure('%s [%s, %s]: %r serving again %.3f s after its restart'
           % (what, KIND, ens.label, m, time.monotonic() - t0))


def finish(ens, load, t_fault):
    load.wait_acks(40, deadline(), 'writes after the member is back')
    lists = check_all(ens, load, deadline(), fault_at=t_fault)
    print('checked: %d nodes on each of %d members; %s' % (
        len(next(iter(lists.values()))), len(lists), load.summary()))


def test_sigkill_leader(ens):
    load = start_load(ens)
    try:
        old = ens.wait_leader(deadline())
        t0 = time.monotonic()
        old.kill()
        recovered(ens, load, 'SIGKILL leader', t0)
        new = ens.wait_leader(deadline(), [m for m in ens.members if m is not old])
        assert new is not old and not new.observer
        load.wait_acks(60, deadline(), 'writes under the new leader')
        load.pause(deadline())  # the old leader comes back within the DIFF window
        rejoin(ens, old, 'SIGKILL leader')
        assert old.mode() == 'follower', ens.modes()
        load.resume()
        finish(ens, load, t0)
    finally:
        load.close()


def test_sigkill_follower(ens):
    load = start_load(ens)
    try:
        leader = ens.wait_leader(deadline())
        f = a_follower(ens, leader)
        t0 = time.monotonic()
        f.kill()
        recovered(ens, load, 'SIGKILL follower', t0)
        load.wait_acks(60, deadline(), 'writes without the follower')
        assert ens.leader() is leader, 'the leader changed: %s' % ens.modes()
        load.pause(deadline())
        rejoin(ens, f, 'SIGKILL follower')
        load.resume()
        finish(ens, load, t0)
    finally:
        load.close()


def test_sigstop_leader_past_synclimit(ens):
    load = start_load(ens)
    try:
        old = ens.wait_leader(deadline())
        others = [m for m in ens.members if m is not old]
        hold = 3 * ens.sync_limit * ens.tick_ms / 1000.0  # 3 x syncLimit x tickTime
        t0 = time.monotonic()
        old.pause()
        try:
            recovered(ens, load, 'SIGSTOP leader', t0)
            new = ens.wait_leader(deadline(), others)
            assert new is not old
            load.wait_acks(40, deadline(), 'writes under the new leader')
            while time.monotonic() < t0 + hold:
                time.sleep(0.05)
        finally:
            old.resume()
        figure('SIGSTOP leader [%s, %s]: SIGCONT after %.3f s (syncLimit x tickTime = %.1f s)'
               % (KIND, ens.label, time.monotonic() - t0,
                  ens.sync_limit * ens.tick_ms / 1000.0))
        t1 = time.monotonic()
        ens.wait_serving(deadline(), ens.members)
        figure('SIGSTOP leader [%s, %s]: old leader serving as %s %.3f s after SIGCONT'
               % (KIND, ens.label, old.mode(), time.monotonic() - t1))
        assert old.mode() == 'follower', ens.modes()
        finish(ens, load, t0)
    finally:
        load.close()


def behind(ens, load, n_writes, kind):
    """Stops a follower (SIGTERM), lets the others take n_writes, restarts
    it and checks it caught up with a `kind` sync. Returns the txn count."""
    leader = ens.wait_leader(deadline())
    f = a_follower(ens, leader)
    z0 = f.zxid()
    t0 = time.monotonic()
    status = f.stop()
    if ens.kind == 'zabd':
        assert status == 0, 'zabd exited %s at SIGTERM\n%s' % (status, f.log())
    recovered(ens, load, 'SIGTERM follower', t0)
    load.wait_acks(n_writes, deadline(), 'writes while the follower is down')
    load.pause(deadline())
    lz = leader.zxid()
    txns = lz - z0
    assert lz >> 32 == z0 >> 32, 'the epoch changed: 0x%x -> 0x%x' % (z0, lz)
    figure('%s [%s, %s]: follower %d txns behind (0x%x -> 0x%x)'
           % (kind, KIND, ens.label, txns, z0, lz))
    if kind == 'SNAP':
        assert txns > DIFF_WINDOW, txns
    else:
        assert txns < DIFF_WINDOW, txns
    rejoin(ens, f, 'follower behind (%s)' % kind)
    got_snap = SNAP_LINE[ens.kind] in f.log()
    assert got_snap == (kind == 'SNAP'), '%r: SNAP %s\n%s' % (
        f, 'logged' if got_snap else 'not logged', f.log()[-4000:])
    if kind == 'DIFF' and ens.kind in DIFF_LINE:
        assert DIFF_LINE[ens.kind] in f.log(), '%r: no DIFF logged\n%s' % (f, f.log()[-4000:])
    load.resume()
    finish(ens, load, t0)


# ZooKeeper also serves DIFF from its txn log on disk while that log is small
# next to its snapshot (zookeeper.snapshotSizeFactor, 0.33 by default): with
# this suite's small tree it would never send SNAP. Off, a learner behind the
# 500-txn committed log needs SNAP, as in zabd, whose DIFF window is that
# committed log only.
@pytest.mark.zk_props('zookeeper.snapshotSizeFactor=-1')
def test_follower_behind_catches_up_by_snap(ens):
    load = start_load(ens)
    try:
        behind(ens, load, DIFF_WINDOW + 200, 'SNAP')
    finally:
        load.close()


def test_follower_behind_catches_up_by_diff(ens):
    load = start_load(ens)
    try:
        behind(ens, load, 100, 'DIFF')
    finally:
        load.close()
