"""Sessions: ephemerals end with their session, a session survives a new
connection carrying its id and password, expiry, timeout negotiation."""
import socket
import struct
import threading

import pytest
from kazoo.exceptions import SessionExpiredError
from kazoo.protocol.states import EventType, KazooState

from conftest import wait_until


def test_ephemeral_vanishes_when_owner_stops(server, clients, root):
    owner = server.client()
    owner.start(timeout=10)
    try:
        path = owner.create(root + '/eph', b'x', ephemeral=True)
        sid = owner.client_id[0]
        watcher = clients()
        assert watcher.exists(path).ephemeralOwner == sid
        events = []
        got = threading.Event()

        def on_event(ev):
            events.append(ev)
            got.set()

        watcher.exists(path, watch=on_event)
        children = []
        watcher.get_children(root, watch=children.append)
    finally:
        owner.stop()
        owner.close()
    assert got.wait(5)
    assert events[0].type == EventType.DELETED and events[0].path == path
    assert wait_until(lambda: children) and children[0].type == EventType.CHILD
    assert watcher.exists(path) is None


def test_reattach_with_client_id_keeps_ephemerals(server, clients, root):
    # Both on one server (member 1 of an ensemble), and the first client
    # does not reconnect once the second takes its connection: otherwise
    # the two would take the session from each other, and in an ensemble
    # the one whose member lost it gets SESSIONMOVED (ZooKeeper's too).
    one = '127.0.0.1:%d' % server.port
    orig = clients(hosts=one, connection_retry={'max_tries': 0})
    path = orig.create(root + '/eph', ephemeral=True)
    sid, passwd = orig.client_id
    # A second connection presenting the same id and password joins the
    # same session: it sees the ephemeral as its own.
    twin = clients(hosts=one, client_id=(sid, passwd))
    assert twin.client_id[0] == sid
    assert twin.exists(path).ephemeralOwner == sid
    p2 = twin.create(root + '/eph2', ephemeral=True)
    assert twin.exists(p2).ephemeralOwner == sid
    assert sorted(twin.get_children(root)) == ['eph', 'eph2']


def test_wrong_password_expires(server, clients):
    zk = clients()
    sid, passwd = zk.client_id
    bad = bytes(b ^ 0xFF for b in passwd)
    c = server.client(client_id=(sid, bad))
    states = []
    c.add_listener(states.append)
    try:
        # The server answers "expired" (logged by kazoo); kazoo then starts
        # a brand-new session on its own.
        c.start(timeout=10)
        assert wait_until(lambda: c.connected)
        assert states == [KazooState.CONNECTED]
        assert c.client_id[0] != sid
    finally:
        c.stop()
        c.close()
    # The real owner is not hurt.
    assert zk.exists('/') is not None


def test_session_expiry_via_client_id_close(server, clients, root):
    # The victim knows one server: with several, kazoo would try the next
    # one at once after the expiry and have a new session before the check
    # below. The twin joins through the last member (another one, in an
    # ensemble).
    victim = clients(hosts='127.0.0.1:%d' % server.port)
    path = victim.create(root + '/eph', ephemeral=True)
    observer = clients()
    deleted = threading.Event()
    observer.exists(path, watch=lambda ev: deleted.set())
    lost = threading.Event()
    victim.add_listener(lambda st: st == KazooState.LOST and lost.set())

    # Join the victim's session on a second connection and close it: that
    # closes the session itself, so the victim's next (re)connect is
    # answered with an expired session.
    twin = server.client(client_id=victim.client_id, hosts=server.hosts.split(',')[-1])
    twin.start(timeout=10)
    twin.stop()
    twin.close()

    assert deleted.wait(5)
    assert observer.exists(path) is None
    assert lost.wait(10)
    with pytest.raises(SessionExpiredError):
        victim.get('/')


def _raw_connect(port, timeout_ms, with_readonly=True, sid=0, passwd=b''):
    """Handshake by hand; returns (timeout_ms, session_id, passwd)."""
    body = struct.pack('!iqiq', 0, 0, timeout_ms, sid)
    body += struct.pack('!i', len(passwd)) + passwd
    if with_readonly:
        body += b'\x00'
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    try:
        s.sendall(struct.pack('!i', len(body)) + body)
        buf = b''
        while len(buf) < 4:
            chunk = s.recv(4096)
            assert chunk, 'server closed during handshake'
            buf += chunk
        n = struct.unpack('!i', buf[:4])[0]
        while len(buf) < 4 + n:
            chunk = s.recv(4096)
            assert chunk, 'server closed during handshake'
            buf += chunk
        proto, to, rsid, plen = struct.unpack('!iiqi', buf[4:24])
        assert proto == 0
        pw = buf[24:24 + plen]
        rest = buf[24 + plen:4 + n]
        # The reply carries the readOnly flag only if the request did.
        assert rest == (b'\x00' if with_readonly else b'')
        return to, rsid, pw
    finally:
        s.close()


def test_session_timeout_negotiation(server):
    # tickTime=2000: ZooKeeper clamps to [2, 20] ticks.
    to, sid, pw = _raw_connect(server.port, 1000)
    assert to == 4000 and sid != 0 and len(pw) == 16
    to, _, _ = _raw_connect(server.port, 10000)
    assert to == 10000
    to, _, _ = _raw_connect(server.port, 100000)
    assert to == 40000
    to, _, _ = _raw_connect(server.port, 6000, with_readonly=False)
    assert to == 6000


def test_session_ids_and_reconnect_reply(server):
    to, sid, pw = _raw_connect(server.port, 6000)
    # The top byte of a session id is the server id; a standalone
    # ZooKeeper uses 1 there (not 0, and not the myid it does not have).
    assert (sid >> 56) == 1
    # Reconnect with the right password: same session, same password,
    # the timeout asked for again.
    to2, sid2, pw2 = _raw_connect(server.port, 8000, sid=sid, passwd=pw)
    assert (sid2, pw2) == (sid, pw) and to2 == 8000
    # Wrong password: timeout 0 and session id 0 mean "expired".
    bad = bytes(16)
    to3, sid3, _ = _raw_connect(server.port, 6000, sid=sid, passwd=bad)
    assert to3 == 0 and sid3 == 0


# ZooKeeper's order for these paths (read from 3.8.0 itself): see below.
EPH_ORDER = ['n01', 'n12', 'n00', 'n11', 'n10', 'n05', 'n04', 'n02', 'n13', 'n09', 'n08', 'n06']


def test_ephemerals_are_listed_and_deleted_in_zookeepers_hash_set_order(clients):
    # ZooKeeper keeps a session's ephemerals in a HashSet<String> and both
    # getEphemerals and a session close walk a clone of it: the order
    # depends on String.hashCode, on the set's growth (14 paths pass the
    # 3/4 mark of 16 bins) and on the clone's smaller table. The events a
    # close sends follow it.
    import zkraw
    owner, watcher = clients(), clients()
    base = '/eph-order'  # the order below is for exactly these paths
    watcher.create(base)
    try:
        for i in range(14):
            owner.create('%s/n%02d' % (base, i), ephemeral=True)
        owner.delete(base + '/n03')
        owner.delete(base + '/n07')
        assert zkraw.call(owner, zkraw.GetEphemerals(base)) == [base + '/' + n for n in EPH_ORDER]
        rec = zkraw.EventRecorder(watcher)
        for n in EPH_ORDER:
            watcher.exists(base + '/' + n, watch=lambda e: None)
        owner.stop()
        watcher.sync(base)
        assert rec.wait_for(len(EPH_ORDER)) == [(zkraw.EV_DELETED, base + '/' + n) for n in EPH_ORDER]
    finally:
        watcher.delete(base, recursive=True)
