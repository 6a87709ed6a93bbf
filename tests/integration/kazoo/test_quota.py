"""Quotas through kazoo: the zookeeper_stats the server keeps across session
expiry and restarts, and QUOTAEXCEEDED from a server with enforceQuota=true.

The quota nodes are written the way zkCli's setquota writes them:
/zookeeper/quota<path>/zookeeper_limits holds the limits, and
zookeeper_stats is created with "count=0,bytes=0", which the server then
replaces with the usage of <path>'s subtree and keeps up to date.

kazoo 2.8 (Debian's) knows no exception for error -125: a reply carrying it
kills kazoo's connection thread.  Newer kazoo maps it to QuotaExceededError;
this module registers the same class when kazoo lacks it.
"""
import os
import socket
import struct
import subprocess
import time
import uuid

import pytest
from kazoo.exceptions import (EXCEPTIONS, MarshallingError, RolledBackError,
                              RuntimeInconsistency, ZookeeperError)
from kazoo import exceptions as kazoo_exceptions

from conftest import (BASE_CFG, SERVER_KIND, SERVER_SH, start_server,
                      stop_server, wait_until)

QUOTA_EXCEEDED = -125
if QUOTA_EXCEEDED in EXCEPTIONS:
    QuotaExceededError = EXCEPTIONS[QUOTA_EXCEEDED]
else:
    @kazoo_exceptions._zookeeper_exception(QUOTA_EXCEEDED)
    class QuotaExceededError(ZookeeperError):
        """Exceeded the quota that was set on the path."""

Q = '/zookeeper/quota'


def set_quota(zk, path, limits):
    zk.ensure_path(Q + path)
    zk.create(Q + path + '/zookeeper_limits', limits.encode())
    zk.create(Q + path + '/zookeeper_stats', b'count=0,bytes=0')


def stats(zk, path):
    return zk.get(Q + path + '/zookeeper_stats')[0].decode()


@pytest.fixture
def enforcing():
    srv = start_server(['enforceQuota=true'])
    yield srv
    stop_server(srv)


@pytest.fixture
def own_server():
    srv = start_server()
    yield srv
    stop_server(srv)


def restart(srv, extra_cfg=()):
    """Stops srv (SIGTERM) and starts it again on the same data dir and port."""
    subprocess.run(['bash', SERVER_SH, 'stop', srv.dir], check=True, timeout=60)
    env = dict(os.environ)
    if srv.kind == 'zookeeper':
        env['JAVA_TOOL_OPTIONS'] = (env.get('JAVA_TOOL_OPTIONS', '') +
                                    ' -Dznode.container.checkIntervalMs=100').strip()
    subprocess.run(['bash', SERVER_SH, 'start', srv.kind, srv.dir, str(srv.port)] +
                   BASE_CFG + list(extra_cfg), check=True, timeout=90,
                   capture_output=True, env=env)


# ---- raw client: a session that stops talking, so the server expires it ----

def _frame(sock, body):
    sock.sendall(struct.pack('!i', len(body)) + body)


def _read_frame(sock):
    buf = b''
    while len(buf) < 4:
        chunk = sock.recv(4096)
        assert chunk, 'server closed the connection'
        buf += chunk
    n = struct.unpack('!i', buf[:4])[0]
    while len(buf) < 4 + n:
        chunk = sock.recv(4096)
        assert chunk, 'server closed the connection'
        buf += chunk
    return buf[4:4 + n]


def _jstr(b):
    return struct.pack('!i', len(b)) + b


def silent_session_with_ephemerals(port, paths):
    """Connects with the smallest timeout (2 ticks = 4 s), creates each path
    as an ephemeral with 3 bytes of data, then goes quiet; returns the open
    socket (close it after the session expired)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    _frame(s, struct.pack('!iqiq', 0, 0, 4000, 0) + _jstr(b'\0' * 16) + b'\0')
    _read_frame(s)
    acl = struct.pack('!i', 1) + struct.pack('!i', 31) + _jstr(b'world') + _jstr(b'anyone')
    for xid, p in enumerate(paths, 1):
        _frame(s, struct.pack('!ii', xid, 1) + _jstr(p.encode()) + _jstr(b'eph') + acl +
               struct.pack('!i', 1))
        reply = _read_frame(s)
        assert struct.unpack('!iqi', reply[:16])[2] == 0
    return s


def test_stats_follow_creates_deletes_and_session_expiry(server, zk, root):
    zk.create(root + '/q')
    set_quota(zk, root + '/q', 'count=100,bytes=-1')
    assert stats(zk, root + '/q') == 'count=1,bytes=0'
    zk.create(root + '/q/a', b'hello')
    zk.create(root + '/q/b')
    assert stats(zk, root + '/q') == 'count=3,bytes=5'
    zk.set(root + '/q/a', b'hi')
    zk.delete(root + '/q/b')
    assert stats(zk, root + '/q') == 'count=2,bytes=2'
    tx = zk.transaction()
    tx.create(root + '/q/m1', b'12')
    tx.create(root + '/q/m2', b'345')
    assert tx.commit() == [root + '/q/m1', root + '/q/m2']
    assert stats(zk, root + '/q') == 'count=4,bytes=7'

    s = silent_session_with_ephemerals(server.port, [root + '/q/e1', root + '/q/e2'])
    try:
        assert stats(zk, root + '/q') == 'count=6,bytes=13'
        # no pings: the server expires the session and deletes its ephemerals
        assert wait_until(lambda: zk.exists(root + '/q/e1') is None, timeout_s=20)
        assert zk.exists(root + '/q/e2') is None
    finally:
        s.close()
    assert stats(zk, root + '/q') == 'count=4,bytes=7'
    # the server's rewrites never move the stats node's own stat
    st = zk.exists(Q + root + '/q/zookeeper_stats')
    assert (st.version, st.mzxid) == (0, st.czxid)
    zk.delete(Q + root, recursive=True)


def test_stats_survive_restarts(own_server):
    # snapCount=10: each restart loads a snapshot (where the stats of every
    # root are recomputed) and replays the log after it.
    srv = own_server
    cfg = ['snapCount=10']
    restart(srv, cfg)
    zk = srv.client()
    zk.start(timeout=10)
    try:
        zk.create('/r')
        set_quota(zk, '/r', 'count=1000,bytes=-1')
        zk.create('/r/child', b'0123456789')
        for i in range(8):
            zk.create('/r/n%d' % i, b'x' * i)
        zk.delete('/r/n0')
        zk.set('/r/n1', b'yyy')
        before = stats(zk, '/r')
        assert before == 'count=9,bytes=40'
        st_before = zk.exists(Q + '/r/zookeeper_stats')
    finally:
        zk.stop()
        zk.close()
    for round_ in range(2):
        restart(srv, cfg)
        zk = srv.client()
        zk.start(timeout=10)
        try:
            assert stats(zk, '/r') == before
            st = zk.exists(Q + '/r/zookeeper_stats')
            assert (st.czxid, st.mzxid, st.version) == \
                (st_before.czxid, st_before.mzxid, st_before.version)
            # the quota is live again after the restart
            for i in range(12):
                zk.create('/r/after%d-%d' % (round_, i), b'ab')
            zk.delete('/r/after%d-0' % round_)
            count, nbytes = 9 + 11 * (round_ + 1), 40 + 22 * (round_ + 1)
            before = 'count=%d,bytes=%d' % (count, nbytes)
            assert stats(zk, '/r') == before
        finally:
            zk.stop()
            zk.close()


def test_hard_limits_answer_quota_exceeded(enforcing):
    zk = enforcing.client()
    zk.start(timeout=10)
    try:
        zk.create('/h')
        set_quota(zk, '/h', 'count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3')
        zk.create('/h/a', b'123456')
        zk.create('/h/b')
        with pytest.raises(QuotaExceededError):
            zk.create('/h/c')
        assert zk.exists('/h/c') is None
        # bytes: 6 -> 11 is past 10; checked before the version
        with pytest.raises(QuotaExceededError):
            zk.set('/h/a', b'12345678901')
        with pytest.raises(QuotaExceededError):
            zk.set('/h/a', b'12345678901', version=42)
        zk.set('/h/a', b'1234567890')
        assert stats(zk, '/h') == 'count=3,bytes=10'
        # in a multi the failing op answers QUOTAEXCEEDED, the ones after it
        # RUNTIMEINCONSISTENCY, the ones before it roll back
        zk.set(Q + '/h/zookeeper_limits', b'count=-1,bytes=-1=;byteHardLimit=12;countHardLimit=5')
        tx = zk.transaction()
        tx.create('/h/m1', b'1')
        tx.create('/h/m2', b'123')
        tx.create('/h/m3')
        res = tx.commit()
        assert [type(r) for r in res] == [RolledBackError, QuotaExceededError,
                                          RuntimeInconsistency]
        assert zk.exists('/h/m1') is None
        # two creates that each fit the tree as it stands both pass, as in
        # ZooKeeper (a multi is checked against the committed stats)
        tx = zk.transaction()
        tx.create('/h/m4')
        tx.create('/h/m5')
        assert tx.commit() == ['/h/m4', '/h/m5']
        assert stats(zk, '/h') == 'count=5,bytes=10'
        # limits that are not a StatsTrack string: MARSHALLINGERROR
        zk.set(Q + '/h/zookeeper_limits', b'count=abc')
        with pytest.raises(MarshallingError):
            zk.create('/h/x')
        # and the session is fine after all of it
        assert zk.exists('/h').numChildren == 4
    finally:
        zk.stop()
        zk.close()


def test_without_enforce_quota_hard_limits_are_only_logged(own_server):
    zk = own_server.client()
    zk.start(timeout=10)
    try:
        zk.create('/s')
        set_quota(zk, '/s', 'count=-1,bytes=-1=;byteHardLimit=1;countHardLimit=1')
        zk.create('/s/a', b'0123')
        zk.create('/s/b', b'0123')
        assert stats(zk, '/s') == 'count=3,bytes=8'
    finally:
        zk.stop()
        zk.close()
    if own_server.kind == 'zabd':
        log = own_server.logs()  # an ensemble's leader checks the limits
        assert 'Quota exceeded: /s [current count=2, hardCountLimit=1]' in log
