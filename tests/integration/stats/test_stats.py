"""Statistics that move with the load: srvr, stat, cons, mntr, srst, crst,
gtmk and stmk, checked against what each test's own load did.

Each test starts a fresh server (SERVER_KIND=zabd|zookeeper, through
../server.sh, stopped by its pid), resets the server statistics with srst,
runs a known load over a raw connection and checks that every figure
printed moved by exactly what the load did (counts, sizes), or is
consistent with what the client measured (latencies). The shared
expectations pass against Apache ZooKeeper 3.8 too; zabd-only ones say so.
"""
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'badinput'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402
from zkserver import KIND, SERVER_SH, Server  # noqa: E402
from rawwire import (AUTH, AUTH_XID, CREATE, GETDATA, Raw, create_body, frame,  # noqa: E402
                     ustr)

import pytest  # noqa: E402

SETDATA, PING, EXISTS = 5, 11, 3
STAT_LEN = 68


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(90):
        yield


@pytest.fixture
def server():
    started = []

    def make(*cfg):
        s = Server(*cfg, prefix='stats-', connect=lambda port: Raw(port).close())
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def timed(c, op, body):
    t0 = time.monotonic()
    err, rest = c.request(op, body)
    return err, rest, (time.monotonic() - t0) * 1000.0


def timed_xid(c, op, body, xid):
    t0 = time.monotonic()
    err, rest = c.request(op, body, xid=xid)
    return err, rest, (time.monotonic() - t0) * 1000.0


def setdata(path, data):
    return ustr(path) + ustr(data) + struct.pack('>i', -1)


def test_latency_and_packet_counts_follow_the_load(server):
    srv = server()
    c = Raw(srv.port)
    assert c.request(CREATE, create_body('/l', b''))[0] == 0
    assert srv.word(b'srst') == 'Server stats reset.\n'
    # A four-letter word counts as a packet received (ZooKeeper's
    # checkFourLetterWord), its answer not as one sent.
    m0 = srv.mntr()
    base_recv, base_sent = int(m0['zk_packets_received']), int(m0['zk_packets_sent'])
    assert base_recv == 1  # this mntr itself
    assert int(m0['zk_cnt_updatelatency']) == 0
    writes, reads, lat = 150, 100, []
    for i in range(writes):
        err, _, ms = timed(c, SETDATA, setdata('/l', b'%d' % i))
        assert err == 0
        lat.append(ms)
    for _ in range(reads):
        err, _, ms = timed(c, GETDATA, ustr('/l') + b'\0')
        assert err == 0
        lat.append(ms)
    c.xid -= 1
    err, _, ms = timed_xid(c, PING, b'', -2)  # no txn: a read, as in ZooKeeper
    lat.append(ms)
    m = srv.mntr()
    assert int(m['zk_cnt_updatelatency']) == writes
    assert int(m['zk_cnt_readlatency']) == reads + 1
    # ... and its answer as sent: zabd one packet, ZooKeeper one per chunk
    # its writer flushes.
    assert int(m['zk_packets_received']) - base_recv == writes + reads + 1 + 1
    sent = int(m['zk_packets_sent']) - base_sent
    assert sent == writes + reads + 1 + 1 if KIND == 'zabd' else sent > writes + reads + 1
    # The server measures a part of what the client measured.
    assert int(m['zk_max_latency']) <= max(lat) + 1
    assert float(m['zk_avg_latency']) <= sum(lat) / len(lat) + 0.5
    assert int(m['zk_min_latency']) <= int(m['zk_max_latency'])
    assert int(m['zk_sum_updatelatency']) <= int(sum(lat[:writes])) + writes
    for name in ('readlatency', 'updatelatency'):
        assert int(m['zk_p50_' + name]) <= int(m['zk_p99_' + name]) <= int(m['zk_max_' + name])
    s = srv.srvr()
    assert int(s['Received']) - base_recv == writes + reads + 1 + 2
    sent = int(s['Sent']) - base_sent
    assert sent == writes + reads + 1 + 2 if KIND == 'zabd' else sent > writes + reads + 2
    assert s['Outstanding'] == '0'
    lmin, lavg, lmax = s['Latency min/avg/max'].split('/')
    assert int(lmin) <= float(lavg) <= int(lmax) <= max(lat) + 1
    # Pipelined, the same server reports latencies it could not have had
    # one request at a time: the figures move with the load. Enough of
    # them that the last wait behind several fsyncs, whole milliseconds on
    # any disk (2000 could all be answered within one fast fsync, under the
    # millisecond that latencies are counted in).
    assert srv.word(b'srst') == 'Server stats reset.\n'
    burst = 20000
    c.s.sendall(b''.join(frame(struct.pack('>ii', 10000 + i, SETDATA) + setdata('/l', b'x'))
                         for i in range(burst)))
    for _ in range(burst):
        c.read_frame()
    m = srv.mntr()
    assert int(m['zk_cnt_updatelatency']) == burst
    assert int(m['zk_max_updatelatency']) >= 1


def test_response_sizes(server):
    srv = server()
    c = Raw(srv.port)
    assert c.request(CREATE, create_body('/big', b'y' * 5000))[0] == 0
    srv.word(b'srst')
    assert c.request(GETDATA, ustr('/big') + b'\0')[0] == 0
    m = srv.mntr()
    size = 16 + 4 + 5000 + STAT_LEN  # ReplyHeader + data + Stat
    assert int(m['zk_max_client_response_size']) == size
    assert int(m['zk_last_client_response_size']) == size
    c.request(PING, b'', xid=-2)
    m = srv.mntr()
    assert int(m['zk_last_client_response_size']) == 16
    assert int(m['zk_min_client_response_size']) == 16
    assert int(m['zk_max_client_response_size']) == size


def test_tree_counts_follow_creates_and_deletes(server):
    srv = server()
    m0 = srv.mntr()
    c = Raw(srv.port)
    paths = ['/t', '/t/a', '/t/b', '/t/c']
    data = [b'', b'12345', b'x' * 100, b'']
    for p, d in zip(paths, data):
        assert c.request(CREATE, create_body(p, d))[0] == 0
    assert c.request(CREATE, create_body('/t/e', b'eph', flags=1))[0] == 0
    c.request(GETDATA, ustr('/t/a') + b'\1')          # a data watch
    c.request(8, ustr('/t') + b'\1')                  # a child watch
    c.request(EXISTS, ustr('/t/none') + b'\1')       # an exist watch
    m = srv.mntr()
    assert int(m['zk_znode_count']) == int(m0['zk_znode_count']) + 5
    assert int(m['zk_ephemerals_count']) == int(m0['zk_ephemerals_count']) + 1
    assert int(m['zk_watch_count']) == int(m0['zk_watch_count']) + 3
    grown = sum(len(p) + len(d) for p, d in zip(paths, data)) + len('/t/e') + 3
    assert int(m['zk_approximate_data_size']) == int(m0['zk_approximate_data_size']) + grown
    c.close()  # the ephemeral goes with the session (close, then expiry)
    other = Raw(srv.port)
    assert other.request(2, ustr('/t/b') + struct.pack('>i', -1))[0] == 0
    m = srv.mntr()
    assert int(m['zk_znode_count']) == int(m0['zk_znode_count']) + 4
    assert int(m['zk_approximate_data_size']) == int(m0['zk_approximate_data_size']) + grown - 104
    # /t/a's watch is a dead session's: ZooKeeper removes it on close.
    assert int(m['zk_watch_count']) == int(m0['zk_watch_count'])


def test_fsync_and_snapshot_times(server):
    srv = server('snapCount=100')
    srv.word(b'srst')
    c = Raw(srv.port)
    writes = 400
    for i in range(writes):
        assert c.request(CREATE, create_body('/f%d' % i, b'v'))[0] == 0
    deadline = time.monotonic() + 20
    while int(srv.mntr()['zk_cnt_snapshottime']) == 0:
        assert time.monotonic() < deadline, 'no snapshot reported after %d writes' % writes
        time.sleep(0.1)
    m = srv.mntr()
    syncs = int(m['zk_cnt_fsynctime'])
    # One per group commit, about one per write here (each waits for its
    # reply); ZooKeeper also syncs its session txns and log rolls.
    assert 1 <= syncs <= writes + 10
    assert int(m['zk_min_fsynctime']) <= int(m['zk_max_fsynctime'])
    assert int(m['zk_sum_fsynctime']) >= int(m['zk_max_fsynctime'])
    assert int(m['zk_cnt_snapshottime']) >= 1
    assert int(m['zk_max_snapshottime']) >= int(m['zk_min_snapshottime'])


def test_connection_counters(server):
    srv = server('maxClientCnxns=3')
    srv.word(b'srst')
    kept = [Raw(srv.port) for _ in range(3)]
    try:
        extra = socket.create_connection(('127.0.0.1', srv.port), timeout=5)
        extra.settimeout(5)
        assert extra.recv(10) == b'', 'the fourth connection from one address is refused'
        extra.close()
    except ConnectionError:
        pass
    # The client closes one: ZooKeeper counts a drop. Then there is room
    # for the four-letter-word connection again.
    kept.pop().close()
    deadline = time.monotonic() + 5
    refused = 1
    while True:
        try:
            m = srv.mntr()
            if int(m['zk_connection_drop_count']) >= 1:
                break
        except (ConnectionError, KeyError):
            refused += 1  # the close has not been seen yet: still at the limit
        assert time.monotonic() < deadline, 'no drop counted'
        time.sleep(0.05)
    assert int(m['zk_connection_rejected']) == refused
    assert int(m['zk_connection_drop_count']) == 1
    assert int(m['zk_num_alive_connections']) == 3  # two kept and this one


@pytest.mark.skipif(KIND != 'zabd', reason='ZooKeeper 3.8 counts only TLS auth failures')
def test_auth_failures_are_counted(server):
    srv = server()
    srv.word(b'srst')
    c = Raw(srv.port)
    c.s.sendall(frame(struct.pack('>ii', AUTH_XID, AUTH) + struct.pack('>i', 0) +
                      ustr('nosuchscheme') + ustr(b'x')))
    r = c.read_frame()
    assert struct.unpack('>iqi', r[:16])[2] == -115  # AUTHFAILED
    assert int(srv.mntr()['zk_auth_failed_count']) == 1


def test_cons_reports_the_last_request(server):
    srv = server()
    c = Raw(srv.port)
    assert c.request(CREATE, create_body('/c', b'd'), xid=6)[0] == 0
    c.request(GETDATA, ustr('/c') + b'\0', xid=7)
    line = [ln for ln in srv.word(b'cons').splitlines() if 'sid=' in ln]
    assert len(line) == 1, line
    f = dict(kv.split('=', 1) for kv in line[0].split('(', 1)[1].rstrip(')').split(','))
    assert f['lop'] == 'GETD'
    assert f['lcxid'] == '0x7'
    assert f['sid'] == '0x%x' % c.session
    assert f['recved'] == '3' and f['sent'] == '3'  # connect, create, getData
    assert int(f['minlat']) <= int(f['avglat']) <= int(f['maxlat'])
    assert int(f['lresp']) > 0
    assert srv.word(b'crst') == 'Connection stats reset.\n'
    line = [ln for ln in srv.word(b'cons').splitlines() if 'sid=' in ln][0]
    f = dict(kv.split('=', 1) for kv in line.split('(', 1)[1].rstrip(')').split(','))
    assert f['recved'] == '0' and f['sent'] == '0' and f['lop'] == 'NA'


def test_trace_mask_words(server):
    srv = server()
    assert srv.word(b'gtmk') == '306'
    assert srv.word(b'stmk' + struct.pack('>q', 511)) == '511'
    assert srv.word(b'gtmk') == '511'


def test_uptime_and_zxid(server):
    srv = server()
    u0 = int(srv.mntr()['zk_uptime'])
    time.sleep(0.3)
    assert int(srv.mntr()['zk_uptime']) >= u0 + 300
    c = Raw(srv.port)
    c.send(CREATE, create_body('/z', b''))
    r = c.read_frame()
    _xid, zxid, err = struct.unpack('>iqi', r[:16])
    assert err == 0
    assert srv.srvr()['Zxid'] == '0x%x' % zxid


def test_hash_lists_the_tree_digest_every_128_zxids(server):
    srv = server()
    c = Raw(srv.port)
    c.send(CREATE, create_body('/h', b''))
    zxid = struct.unpack('>iqi', c.read_frame()[:16])[1]
    i = 0
    while zxid < 256 or zxid % 128 != 0:
        i += 1
        c.send(SETDATA, setdata('/h', b'%d' % i))
        r = c.read_frame()
        assert struct.unpack('>iqi', r[:16])[2] == 0
        zxid = struct.unpack('>iqi', r[:16])[1]
    history = [ln.split(': ') for ln in srv.word(b'hash').splitlines()]
    got = {int(z, 16): int(d) for z, d in history}
    assert sorted(got) == list(range(128, zxid + 1, 128)), 'one entry per 128 zxids'
    assert len(set(got.values())) == len(got), 'the digest moves with the writes'
    # An independent record of the digest at the last zxid: zabd's final
    # snapshot (a clean stop writes one at the last zxid), or the TxnDigest
    # ZooKeeper logs with every txn.
    subprocess.check_call([SERVER_SH, 'stop', srv.dir])
    v2 = os.path.join(srv.dir, 'data', 'version-2')
    tools = os.path.join(HERE, '..', '..', '..', 'build', 'tools')
    if KIND == 'zabd':
        out = subprocess.check_output([os.path.join(tools, 'zksnapdump'),
                                       os.path.join(v2, 'snapshot.%x' % zxid)]).decode()
        recorded = int(out.split('Tree digest: ')[1].split()[0])
    else:
        logs = sorted(f for f in os.listdir(v2) if f.startswith('log.'))
        out = ''.join(subprocess.check_output([os.path.join(tools, 'zklogdump'),
                                               os.path.join(v2, f)]).decode() for f in logs)
        line = [ln for ln in out.splitlines() if ' zxid 0x%x ' % zxid in ln][0]
        recorded = int(line.split(' digest 2:')[1].split()[0])
    assert got[zxid] == recorded
