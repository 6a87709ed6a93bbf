"""ZAB discovery and sync between real zabd processes over their quorum
ports (env ZABD, default build/server/zabd): after the election a leader
establishes its epoch with a quorum of followers, which sync with it
(DIFF/TRUNC as zab decides), and PINGs plus initLimit/syncLimit keep the
roles alive or end them.

zabd does not serve clients in an ensemble yet (the request pipeline's
apply-only-committed change is next), so nothing is proposed: these tests
read what happened from each server's log:
  leader:   "established as leader of epoch 0x<E> with <N> synced followers"
  learner:  "synced with leader <L> at zxid 0x<Z>, epoch 0x<E>"

tickTime is 200 ms, initLimit 10 and syncLimit 5 ticks (2 s and 1 s).
Everything binds and connects on 127.0.0.1 only, with free ports; each
zabd is waited for with a deadline and stopped by its own pid.
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402
from test_election import ROLE_RE, ZABD, Ensemble, free_port, wait_for  # noqa: E402

TICK_MS, INIT_LIMIT, SYNC_LIMIT = 200, 10, 5
ESTAB_RE = re.compile(r'\] established as leader of epoch 0x([0-9a-f]+) with (\d+) synced')
SYNCED_RE = re.compile(r'\] synced with leader (\d+) at zxid 0x([0-9a-f]+), epoch 0x([0-9a-f]+)')


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(180):
        yield


@pytest.fixture
def ens3():
    e = Ensemble(3)
    yield e
    e.close()


def state(s):
    """(role, leader, epoch, zxid) once s is established or synced in its
    latest role, else None. zxid is None for a leader."""
    log = s.log()
    roles = list(ROLE_RE.finditer(log))
    if not roles:
        return None
    last = roles[-1]
    if 'LOOKING: election epoch' in log[last.end():]:
        return None
    role, leader = last.group(1), int(last.group(3))
    if role == 'LEADING':
        m = ESTAB_RE.search(log, last.end())
        return (role, leader, int(m.group(1), 16), None) if m else None
    m = SYNCED_RE.search(log, last.end())
    if m is None or int(m.group(1)) != leader:
        return None
    return (role, leader, int(m.group(3), 16), int(m.group(2), 16))


def settled(servers, leader=None):
    """{sid: state} when every server is established/synced under one
    leader (the given one, if any) in one epoch, else None."""
    st = {s.sid: state(s) for s in servers}
    if None in st.values():
        return None
    leaders = {v[1] for v in st.values()}
    epochs = {v[2] for v in st.values()}
    if len(leaders) != 1 or len(epochs) != 1 or (leader is not None and leaders != {leader}):
        return None
    lead = leaders.pop()
    if lead not in st or st[lead][0] != 'LEADING':
        return None
    return st


def role_lines(s):
    return len(ROLE_RE.findall(s.log())) + s.log().count('LOOKING: election epoch')


def test_three_servers_establish_and_stay_put(ens3):
    t0 = time.monotonic()
    ens3.start()
    st = wait_for('leader 3 established, 1 and 2 synced', lambda: settled(ens3.servers, 3),
                  ens3.servers)
    print('settled in %.3f s: %s' % (time.monotonic() - t0, st))
    s3 = ens3.by_id(3)
    assert 'epochs persisted: accepted 0x1, current 0x1' in s3.log(), s3.log()
    # Nobody changes role for 2 x initLimit x tickTime: PINGs keep the roles.
    before = {s.sid: role_lines(s) for s in ens3.servers}
    hold = 2 * INIT_LIMIT * TICK_MS / 1000.0 + 0.5
    time.sleep(hold)
    for s in ens3.servers:
        assert s.p.poll() is None, s.log()
    after = {s.sid: role_lines(s) for s in ens3.servers}
    assert after == before, ens3.dump()
    assert settled(ens3.servers, 3) == st, ens3.dump()
    print('no role change for %.1f s' % hold)
    # Synced, a follower serves a client.
    s = ens3.by_id(1)
    from test_election import connect_request
    with socket.create_connection(('127.0.0.1', s.client), timeout=5) as c:
        c.sendall(connect_request())
        c.settimeout(5)
        assert len(c.recv(4096)) >= 40  # a ConnectResponse
    wait_for('the session logged', lambda: 'established session 0x01' in s.log(), [s])


def qpacket(ptype, zxid, data):
    """QuorumPacket {int type; long zxid; buffer data; vector<Id> authinfo (null)}."""
    body = struct.pack('>iq', ptype, zxid)
    body += struct.pack('>i', -1) if data is None else struct.pack('>i', len(data)) + data
    return body + struct.pack('>i', -1)


def test_bad_input_on_the_quorum_port_closes_only_that_connection(ens3):
    ens3.start()
    st = wait_for('first epoch', lambda: settled(ens3.servers, 3), ens3.servers)
    s3 = ens3.by_id(3)
    before = {s.sid: role_lines(s) for s in ens3.servers}
    learner_info = struct.pack('>qiq', 99, 0x10000, 0)
    bad = [
        (qpacket(11, 1 << 32, learner_info), 'which is not in the configuration'),
        (qpacket(11, 1 << 32, struct.pack('>qiq', 3, 0x10000, 0)), 'is my own id'),
        (qpacket(16, 1 << 32, struct.pack('>qiq', 1, 0x10000, 0)), 'has the other learner type'),
        (qpacket(5, 0, None), 'sent packet type 5 first'),
        (qpacket(11, 0, b'\0' * 3), 'LearnerInfo that cannot be read'),
        (struct.pack('>iqi', 11, 0, 0x7fffffff), 'packet length or count past'),
    ]
    for pkt, why in bad:
        with socket.create_connection(('127.0.0.1', s3.quorum), timeout=5) as c:
            c.sendall(pkt)
            c.settimeout(5)
            try:
                while c.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        wait_for('logged: ' + why, lambda: why in s3.log(), ens3.servers)
    time.sleep(0.5)
    assert {s.sid: role_lines(s) for s in ens3.servers} == before, ens3.dump()
    assert settled(ens3.servers, 3) == st, ens3.dump()


def test_epochs_survive_a_full_restart(ens3):
    ens3.start()
    st1 = wait_for('first epoch', lambda: settled(ens3.servers), ens3.servers)
    e1 = next(iter(st1.values()))[2]
    for s in ens3.servers:
        s.stop()
    ens3.start()
    for s in ens3.servers:
        wait_for('the persisted epoch read at start',
                 lambda: 'current epoch 0x%x, accepted epoch 0x%x' % (e1, e1) in s.log(), [s])
    st2 = wait_for('second epoch', lambda: settled(ens3.servers), ens3.servers)
    e2 = next(iter(st2.values()))[2]
    print('epoch before the restart 0x%x, after 0x%x' % (e1, e2))
    assert e2 > e1, ens3.dump()


def test_leader_killed_others_establish_a_new_leader(ens3):
    ens3.start()
    wait_for('first epoch', lambda: settled(ens3.servers, 3), ens3.servers)
    s1, s2, s3 = ens3.servers
    t0 = time.monotonic()
    s3.kill()
    st = wait_for('2 established, 1 synced', lambda: settled([s1, s2], 2), [s1, s2], timeout=15)
    took = time.monotonic() - t0
    print('new leader established %.3f s after kill -9 of the leader: %s' % (took, st))
    assert took < 5, ens3.dump()
    assert 'connection to the leader lost' in s1.log() or 'closed by the other side' in s1.log()
    # The old leader returns and syncs with the standing leader.
    s3.start()
    wait_for('3 synced with 2', lambda: settled([s1, s2, s3], 2), [s1, s2, s3])


def test_leader_stopped_past_synclimit_is_replaced_and_rejoins(ens3):
    ens3.start()
    wait_for('first epoch', lambda: settled(ens3.servers, 3), ens3.servers)
    s1, s2, s3 = ens3.servers
    t0 = time.monotonic()
    s3.p.send_signal(signal.SIGSTOP)  # by pid
    try:
        st = wait_for('1 and 2 drop 3 and establish 2', lambda: settled([s1, s2], 2), [s1, s2],
                      timeout=15)
        took = time.monotonic() - t0
        print('followers replaced a stopped leader in %.3f s: %s' % (took, st))
        # They waited for syncLimit before dropping it.
        assert took >= SYNC_LIMIT * TICK_MS / 1000.0 * 0.9, ens3.dump()
        time.sleep(0.5)
    finally:
        s3.p.send_signal(signal.SIGCONT)
    t1 = time.monotonic()
    wait_for('3 steps down and follows 2', lambda: settled([s1, s2, s3], 2), [s1, s2, s3])
    print('old leader rejoined as a follower %.3f s after SIGCONT' % (time.monotonic() - t1))
    log3 = s3.log()
    assert 'LOOKING: election epoch' in log3[ROLE_RE.search(log3).end():], log3
    # It stepped down itself: its learners fell silent, so it lost its quorum.
    assert 'not sufficient followers synced: stepping down' in log3, log3
    print('\n'.join(ln for ln in log3.splitlines() if 'WARN' in ln or 'LOOKING' in ln))


def standalone_writes(data_dir, n):
    """Runs zabd standalone on data_dir, creates n znodes with kazoo, stops
    it."""
    from kazoo.client import KazooClient
    port = free_port()
    cfg = os.path.join(data_dir, '..', 'standalone.cfg')
    with open(cfg, 'w') as f:
        f.write('tickTime=200\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                % (data_dir, port))
    log = open(os.path.join(data_dir, '..', 'standalone.log'), 'ab')
    p = subprocess.Popen([ZABD, cfg], stdout=subprocess.DEVNULL, stderr=log)
    try:
        zk = KazooClient(hosts='127.0.0.1:%d' % port, timeout=10)
        zk.start(timeout=15)
        for i in range(n):
            zk.create('/extra%d' % i, b'v%d' % i)
        zk.stop()
        zk.close()
    finally:
        p.send_signal(signal.SIGTERM)  # by pid
        p.wait(timeout=15)
    assert p.returncode == 0


def test_member_with_more_txns_leads_and_the_others_sync_by_diff():
    """Server 1's data dir holds committed txns the others lack (written
    standalone first). Every currentEpoch is 0 (no epoch files: the last
    zxid's epoch), so FLE elects the server with the highest zxid, 1, and
    it brings 2 and 3 up to date with DIFF; their logs then hold the txns
    (they recover to the same zxid after a restart)."""
    e = Ensemble(3)
    try:
        s1, s2, s3 = e.servers
        standalone_writes(s1.data, 5)
        e.start()
        m = wait_for('1 in ensemble mode', lambda: re.search(r'myid 1 .*last zxid 0x([0-9a-f]+)',
                                                            s1.log()), [s1])
        last = int(m.group(1), 16)
        print('server 1 starts at zxid 0x%x' % last)
        assert last > 5
        st = wait_for('1 established, 2 and 3 synced', lambda: settled(e.servers, 1), e.servers)
        print(st)
        assert 'DIFF window' in s1.log() and 'DIFF window 0 txns' not in s1.log(), s1.log()
        for s in (s2, s3):
            assert st[s.sid][3] == last, s.log()
            assert re.search(r'applied \d+ committed txns, tree at 0x%x' % last, s.log()), s.log()
        for s in e.servers:
            s.stop()
        for s in (s2, s3):
            s.start()
        for s in (s2, s3):
            wait_for('recovered to the synced zxid',
                     lambda: 'recovered to zxid 0x%x' % last in s.log(), [s])
    finally:
        e.close()


TOOLS = os.path.join(os.path.dirname(os.path.abspath(ZABD)), '..', 'tools')
RECOVERED_RE = re.compile(r'\] recovered to zxid 0x([0-9a-f]+) in \d+ ms: (\d+) znodes')


def dump(tool, path):
    return subprocess.check_output([os.path.join(TOOLS, tool), path], timeout=30).decode()


def test_member_with_txns_the_leader_lacks_truncates_them_and_syncs():
    """Server 1 wrote txns standalone (epoch 0) while 2 and 3 formed epoch 1
    without it. Server 1 then joins the standing leader, whose log ends
    before server 1's: zab answers TRUNC to 0x0. Server 1 cuts its log, sets
    aside its snapshot (newer than the cut), rebuilds its tree and syncs;
    after a restart its log and snapshot hold exactly the leader's history
    (no /extra* znode) and it syncs again."""
    e = Ensemble(3)
    try:
        s1, s2, s3 = e.servers
        standalone_writes(s1.data, 3)
        v2 = os.path.join(s1.data, 'version-2')
        assert '/extra2' in dump('zklogdump', s1.data)
        s2.start()
        s3.start()
        wait_for('3 established with 2', lambda: settled([s2, s3], 3), [s2, s3])
        s1.start()
        wait_for('1 synced after TRUNC', lambda: settled([s1, s2, s3], 3), [s1, s2, s3])
        log = s1.log()
        assert re.search(r'TRUNC to 0x0 from leader 3: log cut from 0x[1-9a-f][0-9a-f]* to 0x0, '
                         r'tree rebuilt to 0x0', log), log
        assert 'set aside the snapshots newer than it' in log, log
        assert 'synced with leader 3' in log[log.index('TRUNC to 0x0 from leader 3'):], log
        s1.stop()
        # What is left on disk: no txn, and the newest snapshot (the final
        # one of this stop) has none of the standalone znodes; the set-aside
        # one still has them.
        assert 'zxid 0x' not in dump('zklogdump', s1.data)
        names = os.listdir(v2)
        aside = [n for n in names if n.startswith('truncated-snapshot.')]
        assert aside and '/extra2' in dump('zksnapdump', os.path.join(v2, aside[0])), names
        snaps = sorted((n for n in names if n.startswith('snapshot.')),
                       key=lambda n: int(n.split('.')[1], 16))
        assert snaps, names
        assert '/extra' not in dump('zksnapdump', os.path.join(v2, snaps[-1]))
        s1.start()
        wait_for('1 synced after its restart', lambda: settled([s1, s2, s3], 3), [s1, s2, s3])
        mine = RECOVERED_RE.search(s1.log())
        leaders = RECOVERED_RE.search(s3.log())
        assert mine and leaders, e.dump()
        assert mine.groups() == leaders.groups(), (mine.group(0), leaders.group(0))
        assert 'TRUNC to' not in s1.log() or 'my log ends there already' in s1.log(), s1.log()
    finally:
        e.close()


# ---- Against Apache ZooKeeper 3.8 -------------------------------------------

from test_election import HAVE_ZK  # noqa: E402


@pytest.mark.skipif(not HAVE_ZK, reason='needs java and the Debian package zookeeper')
def test_zabd_leader_syncs_two_zookeeper_followers():
    """zabd (3) leads two ZooKeeper 3.8 followers: they sync by DIFF over
    zabd's quorum port and stay (PINGs both ways) for 2 x initLimit."""
    e = Ensemble(3, zk_ids=[1, 2])
    try:
        z = e.by_id(3)
        zks = [e.by_id(1), e.by_id(2)]
        e.start()
        wait_for('zabd established with both', lambda: (state(z) or (0,))[0] == 'LEADING' and
                 re.search(r'established as leader of epoch 0x1 with [12] synced', z.log()),
                 e.servers, timeout=60)
        for k in zks:
            wait_for('ZooKeeper %d syncs by DIFF' % k.sid,
                     lambda: 'Getting a diff from the leader 0x0' in k.log(), e.servers)
        before = [k.log().count('- LOOKING') for k in zks] + [role_lines(z)]
        time.sleep(2 * INIT_LIMIT * TICK_MS / 1000.0 + 0.5)
        after = [k.log().count('- LOOKING') for k in zks] + [role_lines(z)]
        assert after == before, e.dump()
        for k in zks:
            assert 'GOODBYE' not in k.log() and 'Exception when following' not in k.log(), k.log()
    finally:
        e.close()


@pytest.mark.skipif(not HAVE_ZK, reason='needs java and the Debian package zookeeper')
def test_zabd_joining_a_zookeeper_leader_later_syncs_by_snap():
    """Two ZooKeeper 3.8 servers (2, 3) form an epoch first and take a
    write; then zabd (1) joins. A ZooKeeper leader whose epoch is
    established answers an empty learner with SNAP: zabd reads the DataTree
    stream after the packet, loads it durably, syncs and serves what
    ZooKeeper wrote."""
    from kazoo.client import KazooClient
    e = Ensemble(3, zk_ids=[2, 3])
    try:
        z, k2, k3 = e.servers
        k2.start()
        k3.start()
        wait_for('ZooKeeper 2 follows 3', lambda: 'Getting a diff from the leader' in k2.log(),
                 [k2, k3], timeout=60)
        zk = KazooClient(hosts='127.0.0.1:%d' % k3.client, timeout=10)
        zk.start(timeout=30)
        zk.create('/from-zookeeper', b'zk')
        zk.stop()
        zk.close()
        z.start()
        wait_for('zabd loaded the SNAP and synced',
                 lambda: re.search(r'SNAP from leader 3: tree at 0x[0-9a-f]+', z.log()) and
                 'synced with leader 3' in z.log(), e.servers, timeout=60)
        c = KazooClient(hosts='127.0.0.1:%d' % z.client, timeout=10)
        c.start(timeout=30)
        try:
            c.sync('/')
            assert c.get('/from-zookeeper')[0] == b'zk'
        finally:
            c.stop()
            c.close()
        assert k2.log().count('- LOOKING') == 1, k2.log()
    finally:
        e.close()


@pytest.mark.skipif(not HAVE_ZK, reason='needs java and the Debian package zookeeper')
def test_a_zookeeper_follower_far_behind_a_zabd_leader_syncs_by_snap():
    """zabd (3) leads; ZooKeeper 3.8 (1) stops while 600 txns commit, more
    than the 500 of the DIFF window, and restarts: zabd sends SNAP with its
    tree as ZooKeeper's DataTree stream, and ZooKeeper loads it and serves
    every node."""
    from kazoo.client import KazooClient
    e = Ensemble(3, zk_ids=[1])
    try:
        k1, z2, z3 = e.servers
        e.start()
        wait_for('zabd 3 established with 1 and 2',
                 lambda: re.search(r'established as leader of epoch 0x1 with [12] synced', z3.log()),
                 e.servers, timeout=60)
        wait_for('ZooKeeper 1 synced', lambda: 'Getting a diff from the leader' in k1.log(),
                 e.servers, timeout=60)
        k1.stop()
        c = KazooClient(hosts='127.0.0.1:%d' % z3.client, timeout=10)
        c.start(timeout=30)
        futs = [c.create_async('/n-', b'v' * 20, sequence=True) for _ in range(600)]
        names = sorted(f.get(timeout=60) for f in futs)
        c.stop()
        c.close()
        k1.start()
        wait_for('ZooKeeper 1 got a snapshot', lambda: 'Getting a snapshot from leader' in k1.log(),
                 e.servers, timeout=60)
        wait_for('zabd sent it', lambda: 'SNAP to server 1' in z3.log(), e.servers)
        c = KazooClient(hosts='127.0.0.1:%d' % k1.client, timeout=10)
        c.start(timeout=60)
        try:
            c.sync('/')
            got = sorted('/' + n for n in c.get_children('/') if n.startswith('n-'))
            assert got == names, (len(got), len(names))
        finally:
            c.stop()
            c.close()
    finally:
        e.close()


def test_a_follower_far_behind_gets_snap_and_restarts_from_it(ens3):
    """Follower 1 stops while 600 txns commit (past the 500 of the DIFF
    window): back, it gets SNAP, loads and syncs it, and serves every node.
    Restarted, it recovers from the snapshot it wrote, and the DIFF window
    it serves from starts at that snapshot: the txns its log kept from
    before are below a hole and must not be sent as if they led to it."""
    from kazoo.client import KazooClient
    ens3.start()
    wait_for('leader 3 established, 1 and 2 synced', lambda: settled(ens3.servers, 3),
             ens3.servers)
    s1, s3 = ens3.by_id(1), ens3.by_id(3)
    c = KazooClient(hosts='127.0.0.1:%d' % s3.client, timeout=10)
    c.start(timeout=30)
    c.create('/before', b'b')
    s1.stop()
    futs = [c.create_async('/n-', b'v' * 20, sequence=True) for _ in range(600)]
    names = sorted(f.get(timeout=60) for f in futs)
    s1.start()
    m = wait_for('1 loaded a SNAP', lambda: re.search(
        r'SNAP from leader 3: tree at 0x([0-9a-f]+)', s1.log()), ens3.servers)
    snap = int(m.group(1), 16)
    assert 'SNAP to server 1' in s3.log()
    c.create('/after', b'a')
    c.stop()
    c.close()

    def children_on_1():
        k = KazooClient(hosts='127.0.0.1:%d' % s1.client, timeout=10)
        k.start(timeout=30)
        try:
            k.sync('/')
            return sorted(k.get_children('/')), k.get('/after')[0]
        finally:
            k.stop()
            k.close()
    want = sorted(['before', 'after', 'zookeeper'] + [n[1:] for n in names])
    got, after = children_on_1()
    assert got == want and after == b'a'
    s1.stop()
    s1.start()
    w = wait_for('1 restarted', lambda: re.search(
        r'DIFF window (\d+) txns after 0x([0-9a-f]+)', s1.log()), ens3.servers)
    assert int(w.group(2), 16) >= snap, (hex(snap), w.group(0))
    wait_for('1 synced again', lambda: 'synced with leader 3' in s1.log(), ens3.servers)
    got, after = children_on_1()
    assert got == want and after == b'a'


def test_a_follower_behind_the_window_gets_a_diff_from_the_log_on_disk():
    """The leader's log on disk still holds follower 1's last txn and the
    600 small txns since weigh less than a third of the newest snapshot
    (50 znodes of 4 KB): DIFF from the log, as ZooKeeper's LearnerHandler
    sends from its txn log files, not SNAP."""
    from kazoo.client import KazooClient
    e = Ensemble(3, extra_cfg=['snapCount=40'])
    try:
        e.start()
        wait_for('leader 3 established, 1 and 2 synced', lambda: settled(e.servers, 3),
                 e.servers)
        s1, s3 = e.by_id(1), e.by_id(3)
        c = KazooClient(hosts='127.0.0.1:%d' % s3.client, timeout=10)
        c.start(timeout=30)
        for i in range(50):
            c.create('/big-%d' % i, b'x' * 4096)
        c.create('/counter', b'')
        s1.stop()
        futs = [c.set_async('/counter', b'%d' % i) for i in range(600)]
        for f in futs:
            f.get(timeout=60)
        c.stop()
        c.close()
        s1.start()
        wait_for('1 synced again', lambda: 'synced with leader 3' in s1.log(), e.servers)
        assert re.search(r'server 1 at 0x[0-9a-f]+ is behind the window \(0x[0-9a-f]+\): '
                         r'DIFF from the log on disk', s3.log()), s3.log()[-3000:]
        assert 'SNAP' not in s1.log()
        k = KazooClient(hosts='127.0.0.1:%d' % s1.client, timeout=10)
        k.start(timeout=30)
        try:
            k.sync('/')
            data, st = k.get('/counter')
            assert (data, st.version) == (b'599', 600)
            assert len([n for n in k.get_children('/') if n.startswith('big-')]) == 50
        finally:
            k.stop()
            k.close()
    finally:
        e.close()
