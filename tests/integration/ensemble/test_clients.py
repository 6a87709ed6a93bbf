"""Clients of a zabd ensemble (env ZABD, default build/server/zabd), through
kazoo, with each client pinned to one member so that every role serves.

A learner forwards writes, session txns and syncs to the leader and answers
them from the commit; reads come from its own committed tree after the
session's earlier requests; the leader alone expires sessions, from the
touches learners report in their PINGs; a session moves between members
(REVALIDATE). Everything binds and connects on 127.0.0.1 with free ports,
every wait has a deadline, servers are stopped by pid.
"""
import os
import sys
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError, BadVersionError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
import zkwire  # noqa: E402
from test_election import Ensemble, four, wait_for  # noqa: E402


def raw_session(s, timeout_ms):
    """A session with no client library: it pings only when told, so
    closing its socket silences it. (conn, session id, password)."""
    c = zkwire.Conn(s.client, timeout_s=10)
    c.send(zkwire.frame(zkwire.connect_req(timeout_ms=timeout_ms)))
    resp = zkwire.decode_connect_resp(c.read_frame())
    return c, resp['session'], resp['passwd']


def raw_ephemeral(c, path):
    c.send_request(1, 1, zkwire.create_req(path, flags=1))
    xid, zxid, err, _ = zkwire.parse_reply_header(c.read_frame())
    assert (xid, err) == (1, 0), (xid, err)


def serving(servers):
    out = {}
    for s in servers:
        try:
            r = four(s.client, b'srvr')
        except OSError:
            return None
        if not r.startswith(b'Zookeeper version'):
            return None
        out[s.sid] = r
    return out


def client(s, **kw):
    k = KazooClient(hosts='127.0.0.1:%d' % s.client, timeout=kw.pop('timeout', 10),
                    connection_retry={'max_tries': -1, 'delay': 0.05, 'max_delay': 0.2},
                    **kw)
    k.start(timeout=15)
    return k


class Clients:
    def __init__(self):
        self.all = []

    def add(self, k):
        self.all.append(k)
        return k

    def close(self):
        for k in self.all:
            try:
                k.stop()
                k.close()
            except Exception:
                pass


@pytest.fixture
def ens3():
    e = Ensemble(3)
    e.start()
    wait_for('every member serving', lambda: serving(e.servers), e.servers)
    cs = Clients()
    yield e, cs
    cs.close()
    e.close()


def leader_of(servers):
    for s in servers:
        if 'established as leader' in s.log():
            return s
    return None


def test_writes_on_every_member_are_seen_everywhere(ens3):
    e, cs = ens3
    ks = [cs.add(client(s)) for s in e.servers]
    # Session ids are minted with the myid of the member that took the connect.
    for s, k in zip(e.servers, ks):
        assert k.client_id[0] >> 56 == s.sid, hex(k.client_id[0])
    for i, k in enumerate(ks):
        k.create('/w%d' % i, b'from %d' % i)
    for k in ks:
        k.sync('/')
        assert sorted(k.get_children('/')) == ['w0', 'w1', 'w2', 'zookeeper']
        for i in range(3):
            data, st = k.get('/w%d' % i)
            assert data == b'from %d' % i
    # Stats agree on every member.
    stats = [tuple(k.exists('/w1'))[:8] for k in ks]
    assert stats[0] == stats[1] == stats[2], stats
    # Errors come back through the leader as ZooKeeper's.
    f = ks[0]
    with pytest.raises(NodeExistsError):
        f.create('/w2', b'')
    with pytest.raises(NoNodeError):
        f.delete('/nope')
    with pytest.raises(BadVersionError):
        f.set('/w0', b'x', version=7)
    t = f.transaction()
    t.create('/m1', b'')
    t.create('/w1', b'')
    res = t.commit()
    assert isinstance(res[1], NodeExistsError), res
    assert f.exists('/m1') is None


def test_a_session_reads_its_own_pipelined_writes_on_a_follower(ens3):
    e, cs = ens3
    leader = leader_of(e.servers)
    follower = next(s for s in e.servers if s is not leader)
    k = cs.add(client(follower))
    k.create('/p', b'')
    # Pipelined: every write is answered before the read behind it.
    futs = []
    for i in range(50):
        futs.append(k.set_async('/p', b'%d' % i))
        futs.append(k.get_async('/p'))
    for i in range(50):
        st = futs[2 * i].get(timeout=10)
        data, st2 = futs[2 * i + 1].get(timeout=10)
        assert data == b'%d' % i and st2.version == i + 1, (i, data, st2)
    # Sequential creates from one session keep their order.
    seqs = [k.create_async('/p/s-', b'', sequence=True) for _ in range(100)]
    names = [f.get(timeout=10) for f in seqs]
    assert names == sorted(names), names


def test_sync_makes_another_members_write_visible(ens3):
    e, cs = ens3
    a, b, c = [cs.add(client(s)) for s in e.servers]
    for i in range(20):
        a.create('/s%d' % i, b'v')
        b.sync('/')
        assert b.exists('/s%d' % i) is not None, i
        c.sync('/s%d' % i)
        assert c.get('/s%d' % i)[0] == b'v'


def test_watches_fire_on_every_member(ens3):
    e, cs = ens3
    ks = [cs.add(client(s)) for s in e.servers]
    ks[0].create('/watched', b'0')
    seen = {i: [] for i in range(3)}
    for i, k in enumerate(ks):
        k.sync('/')
        k.get('/watched', watch=lambda ev, i=i: seen[i].append(ev))
    ks[2].set('/watched', b'1')
    wait_for('a watch event on every member',
             lambda: all(len(v) == 1 for v in seen.values()), e.servers, timeout=10)
    for v in seen.values():
        assert v[0].type == 'CHANGED' and v[0].path == '/watched'


def test_ephemerals_go_everywhere_when_the_session_closes_or_expires(ens3):
    e, cs = ens3
    leader = leader_of(e.servers)
    f1, f2 = [s for s in e.servers if s is not leader]
    watcher = cs.add(client(leader))
    owner = client(f1)
    owner.create('/eph', b'', ephemeral=True)
    watcher.sync('/')
    assert watcher.exists('/eph').ephemeralOwner == owner.client_id[0]
    owner.stop()  # closeSession through the follower
    owner.close()
    for s in e.servers:
        k = cs.add(client(s))
        k.sync('/')
        assert k.exists('/eph') is None, s.sid
    # Expiry: a client that goes silent; only the leader expires it, and the
    # learners drop its ephemerals when the closeSession commits.
    quiet, sid, _ = raw_session(f2, 1000)
    raw_ephemeral(quiet, '/eph2')
    t0 = time.monotonic()
    quiet.close()  # no closeSession, no more pings
    k1 = cs.add(client(f1))
    wait_for('the ephemeral gone after expiry', lambda: k1.exists('/eph2') is None, e.servers,
             timeout=20)
    print('expired after %.2f s (timeout 1 s negotiated up to minSessionTimeout)'
          % (time.monotonic() - t0))
    assert 'expiring session 0x%016x' % sid in leader.log()
    for s in (f1, f2):
        assert 'expiring session 0x%016x' % sid not in s.log(), s.sid


def test_a_live_session_is_kept_by_pings_through_a_follower(ens3):
    e, cs = ens3
    leader = leader_of(e.servers)
    f = next(s for s in e.servers if s is not leader)
    k = cs.add(client(f, timeout=1.0))  # negotiated up to 2 x tickTime = 400 ms
    k.create('/kept', b'', ephemeral=True)
    time.sleep(3)  # many timeouts: only the learner's PING touches keep it
    k.sync('/')
    assert k.exists('/kept') is not None
    assert 'expiring session' not in leader.log()


def test_a_session_moves_to_another_member(ens3):
    e, cs = ens3
    leader = leader_of(e.servers)
    f1, f2 = [s for s in e.servers if s is not leader]
    c, sid, pw = raw_session(f1, 10000)
    raw_ephemeral(c, '/moved')
    c.close()
    k2 = cs.add(KazooClient(hosts='127.0.0.1:%d' % f2.client, client_id=(sid, pw), timeout=10))
    k2.start(timeout=15)
    assert k2.client_id[0] == sid
    assert k2.exists('/moved').ephemeralOwner == sid
    assert 'revalidated session 0x%016x for server %d: valid' % (sid, f2.sid) in leader.log()
    # A wrong password is refused as ZooKeeper refuses it.
    bad = zkwire.Conn(f1.client)
    bad.send(zkwire.frame(zkwire.connect_req(session=sid, passwd=b"x" * 16)))
    resp = zkwire.decode_connect_resp(bad.read_frame())
    assert resp['session'] == 0 and resp['timeout'] == 0, resp
    assert bad.wait_closed(5)
    bad.close()
    assert k2.exists('/moved') is not None


def test_an_observer_serves_reads_and_forwards_writes():
    e = Ensemble(3, observers=(4,))
    cs = Clients()
    try:
        e.start()
        wait_for('every member serving', lambda: serving(e.servers), e.servers)
        obs = e.by_id(4)
        assert 'synced with leader 3' in obs.log() and 'OBSERVING' in obs.log()
        ko = cs.add(client(obs))
        ko.create('/from-observer', b'o')
        k1 = cs.add(client(e.by_id(1)))
        k1.sync('/')
        assert k1.get('/from-observer')[0] == b'o'
        k1.create('/from-follower', b'f')
        ko.sync('/')
        assert ko.get('/from-follower')[0] == b'f'
    finally:
        cs.close()
        e.close()


def test_clients_reconnect_and_keep_their_sessions_when_the_leader_dies(ens3):
    e, cs = ens3
    leader = leader_of(e.servers)
    followers = [s for s in e.servers if s is not leader]
    hosts = ','.join('127.0.0.1:%d' % s.client for s in followers)
    k = cs.add(KazooClient(hosts=hosts, timeout=10,
                           connection_retry={'max_tries': -1, 'delay': 0.05, 'max_delay': 0.2}))
    k.start(timeout=15)
    sid = k.client_id[0]
    k.create('/before', b'', ephemeral=True)
    acked = ['/before']
    t0 = time.monotonic()
    leader.kill()
    deadline = time.monotonic() + 30
    while True:
        try:
            k.create('/after', b'')
            break
        except Exception:
            assert time.monotonic() < deadline, e.dump()
            time.sleep(0.05)
    print('a write succeeded %.2f s after SIGKILL of the leader' % (time.monotonic() - t0))
    acked.append('/after')
    assert k.client_id[0] == sid
    for s in followers:
        kk = cs.add(client(s))
        kk.sync('/')
        for p in acked:
            assert kk.exists(p) is not None, (s.sid, p)


def test_a_stale_connection_of_a_moved_session_gets_sessionmoved(ens3):
    """A session moves from follower A to follower B while its connection
    to A stays open: the leader now expects its requests through B
    (REVALIDATE set the owner), so a write still sent through A is refused
    with SESSIONMOVED (-118), as ZooKeeper's checkSession refuses it, and
    the same write through B works."""
    e, cs = ens3
    leader = leader_of(e.servers)
    a, b = [s for s in e.servers if s is not leader]
    old, sid, pw = raw_session(a, 10000)
    raw_ephemeral(old, '/owned')  # through A: A owns it
    new = zkwire.Conn(b.client, timeout_s=10)
    new.send(zkwire.frame(zkwire.connect_req(session=sid, passwd=pw, timeout_ms=10000)))
    assert zkwire.decode_connect_resp(new.read_frame())['session'] == sid
    old.send_request(7, 1, zkwire.create_req('/via-old'))
    xid, _, err, _ = zkwire.parse_reply_header(old.read_frame())
    assert (xid, err) == (7, -118), (xid, err)
    new.send_request(8, 1, zkwire.create_req('/via-new'))
    xid, _, err, _ = zkwire.parse_reply_header(new.read_frame())
    assert (xid, err) == (8, 0), (xid, err)
    k = cs.add(client(leader))
    k.sync('/')
    assert k.exists('/via-old') is None and k.exists('/via-new') is not None
    assert k.exists('/owned').ephemeralOwner == sid
    old.close()
    new.close()


def test_a_silent_session_with_its_socket_open_expires_on_a_follower(ens3):
    """A follower reports in its PINGs only the sessions it heard from
    since the last one: a client that stops sending but keeps its socket
    open expires at the leader like any other, as on ZooKeeper."""
    e, cs = ens3
    leader = leader_of(e.servers)
    f = next(s for s in e.servers if s is not leader)
    quiet, sid, _ = raw_session(f, 1000)
    raw_ephemeral(quiet, '/silent')
    k = cs.add(client(leader))
    t0 = time.monotonic()
    wait_for('the silent session expired', lambda: k.exists('/silent') is None, e.servers,
             timeout=15)
    print('expired %.2f s after its last request, socket still open' % (time.monotonic() - t0))
    assert 'expiring session 0x%016x' % sid in leader.log()
    assert quiet.wait_closed(5)  # the follower drops its connection on the closeSession
    quiet.close()
