"""Output and backpressure: what a client that does not keep up can make the
server hold, and globalOutstandingLimit.

Each test starts its own zabd (or, with SERVER_KIND=zookeeper, Apache
ZooKeeper where the behaviour is shared) on a free 127.0.0.1 port through
../server.sh and stops it by its pid.

- A client that pipelines getData of a 1 MB znode and never reads: the
  server stops reading it once its output passes the high-water mark, so its
  memory stays bounded; others are served meanwhile; when the client reads
  at last, every reply arrives, in order.
- A client that never reads while watch events for it keep coming: it is
  closed as a slow consumer once 64 MiB pile up (zabd only: ZooKeeper keeps
  queueing until it runs out of heap), and the server's memory stays bounded.
- globalOutstandingLimit: with many requests pipelined on many connections,
  the outstanding count (mntr zk_outstanding_requests) stays near the limit
  (checked against ZooKeeper 3.8 too, which overshoots more).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'badinput'))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402
from zkserver import KIND, Server  # noqa: E402
from rawwire import CREATE, GETDATA, Raw, create_body, frame, ustr  # noqa: E402

import pytest  # noqa: E402

SETDATA, ADD_WATCH = 5, 106
MB = 1024 * 1024


def _sanitized():
    """ASan keeps freed memory in quarantine and pads every block, so RSS
    says nothing about what the server holds: memory bounds are checked on
    the release build only (behaviour on both)."""
    zabd = os.environ.get('ZABD', os.path.join(HERE, '..', '..', '..', 'build', 'server', 'zabd'))
    if KIND != 'zabd':
        return False
    return b'libasan' in subprocess.run(['ldd', zabd], capture_output=True).stdout


SANITIZED = _sanitized()


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(120):
        yield


@pytest.fixture
def server_factory():
    started = []

    def make(*cfg):
        s = Server(*cfg, prefix='backpressure-', connect=lambda port: Raw(port).close())
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def setdata_body(path, data):
    return ustr(path) + ustr(data) + struct.pack('>i', -1)


def round_trip(port, within):
    """A fresh client's create + getData; returns how long it took."""
    t0 = time.monotonic()
    c = Raw(port)
    name = '/bystander-%d' % time.monotonic_ns()
    err, _ = c.request(CREATE, create_body(name, b'x'))
    assert err == 0
    err, body = c.request(GETDATA, ustr(name) + b'\0')
    assert err == 0 and body[:5] == ustr(b'x')
    c.close()
    took = time.monotonic() - t0
    assert took < within, 'a bystander took %.1f s to be served' % took
    return took


def test_reader_that_stops_reading_is_not_read_and_memory_stays_bounded(server_factory):
    srv = server_factory()
    big = b'b' * 1000000
    setup = Raw(srv.port)
    assert setup.request(CREATE, create_body('/big', big))[0] == 0
    rss0 = srv.rss_mb()
    slow = Raw(srv.port)
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    n = 400  # 400 MB of replies if the server kept reading
    req = b''.join(frame(struct.pack('>ii', i + 1, GETDATA) + ustr('/big') + b'\0')
                   for i in range(n))
    sender = threading.Thread(target=slow.s.sendall, args=(req,), daemon=True)
    sender.start()
    # The server keeps whatever it read of the pipeline; give it time to
    # read as much as it would.
    peak = rss0
    for _ in range(30):
        time.sleep(0.1)
        peak = max(peak, srv.rss_mb())
    round_trip(srv.port, within=5.0)
    grown = peak - rss0
    assert SANITIZED or grown < 64, 'server RSS grew by %.0f MB for a client that does not read' % grown
    # Now read: every reply, in order, complete.
    slow.s.settimeout(30)
    for i in range(n):
        r = slow.read_frame()
        xid, _zxid, err = struct.unpack('>iqi', r[:16])
        assert (xid, err) == (i + 1, 0)
        assert r[16:20] == struct.pack('>i', len(big))
    sender.join(10)
    slow.close()


@pytest.mark.skipif(KIND != 'zabd', reason='ZooKeeper queues events without bound')
def test_consumer_that_never_reads_its_events_is_closed(server_factory):
    srv = server_factory()
    name = '/flood/' + 'n' * 8000  # 8 kB events: 64 MiB in ~8000 writes
    w = Raw(srv.port)
    assert w.request(CREATE, create_body('/flood'))[0] == 0
    assert w.request(CREATE, create_body(name))[0] == 0
    slow = Raw(srv.port)
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    err, _ = slow.request(ADD_WATCH, ustr('/flood') + struct.pack('>i', 1))
    assert err == 0
    rss0 = srv.rss_mb()
    # Pipelined setData, 64 in flight, until the server gives up on `slow`.
    window, sent, acked, peak = 64, 0, 0, rss0
    body = setdata_body(name, b'v')
    deadline = time.monotonic() + 90
    closed = False
    w.s.settimeout(10)
    while not closed:
        assert time.monotonic() < deadline, 'slow consumer was never closed'
        batch = b''
        while sent - acked < window:
            sent += 1
            batch += frame(struct.pack('>ii', sent, SETDATA) + body)
        w.s.sendall(batch)
        for _ in range(window // 2):
            r = w.read_frame()
            assert struct.unpack('>iqi', r[:16])[2] == 0
            acked += 1
        if acked % 512 < window // 2:
            peak = max(peak, srv.rss_mb())
            closed = 'does not read its output' in srv.log()
    round_trip(srv.port, within=5.0)
    # 64 MiB of frames; evbuffer chains and malloc take up to about twice
    # that in memory.
    assert SANITIZED or peak - rss0 < 64 * 2.5, 'server RSS grew by %.0f MB' % (peak - rss0)
    slow.s.settimeout(10)
    eof, _ = slow.finish(within=10)
    assert eof, 'the slow consumer was not disconnected'


def test_global_outstanding_limit_bounds_requests_in_flight(server_factory):
    limit, conns, per_conn = 50, 16, 400
    srv = server_factory('globalOutstandingLimit=%d' % limit)
    setup = Raw(srv.port)
    assert setup.request(CREATE, create_body('/gol', b''))[0] == 0
    clients = [Raw(srv.port) for _ in range(conns)]
    body = setdata_body('/gol', b'x' * 100)
    done = []

    def run(c):
        c.s.sendall(b''.join(frame(struct.pack('>ii', i + 1, SETDATA) + body)
                             for i in range(per_conn)))
        c.s.settimeout(60)
        for i in range(per_conn):
            r = c.read_frame()
            assert struct.unpack('>iqi', r[:16])[0::2] == (i + 1, 0)
        done.append(c)
    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    seen = []
    while any(t.is_alive() for t in threads):
        seen.append(int(srv.mntr()['zk_outstanding_requests']))
        time.sleep(0.002)
    for t in threads:
        t.join()
    assert len(done) == conns, 'every request is answered'
    assert max(seen) > 0, 'the load never showed outstanding requests: %r' % seen
    # zabd stays within limit + conns (a throttled connection may still have
    # requests in flight); ZooKeeper 3.8 overshoots up to about twice the
    # limit. Without throttling the count reaches thousands here.
    assert max(seen) <= 2 * limit + conns, \
        'outstanding requests reached %d with globalOutstandingLimit=%d' % (max(seen), limit)
