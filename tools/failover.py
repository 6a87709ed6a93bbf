#!/usr/bin/python3
"""Fail-over time of a 3-member ensemble: kill -9 the leader under a light
write load and measure how long until the next write succeeds.

    tools/failover.py --kind zookeeper|zabd [--runs 5] [--interval 0.02] [--settle 0]

The ensemble (tests/pylib/ensemble.py: 127.0.0.1, free ports, tickTime 200,
initLimit 10, syncLimit 5) gets one kazoo client naming all three members,
which does one setData every --interval seconds. Each run: find the leader
(srvr), SIGKILL it, and take the time from the kill until the first write
SENT after the kill is acknowledged; then restart the killed member, wait
until all three serve again and a few writes succeed (and --settle more
seconds, to space the kills out). Prints each run's time
and the median. The client reconnects at once and then every 0.05 s growing
to 0.5 s, so the figure is the ensemble's fail-over plus at most that much.
Exits non-zero if a run does not recover within --limit seconds.
"""
import argparse
import logging
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'pylib'))
from ensemble import Ensemble  # noqa: E402

from kazoo.client import KazooClient  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402


class Writer(threading.Thread):
    def __init__(self, zk, interval):
        super().__init__(name='failover-writer', daemon=True)
        self.zk, self.interval = zk, interval
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acks = []  # (sent, acknowledged) of the last 1000 writes
        self.n_acked = 0
        self.errors = 0

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            sent = time.monotonic()
            try:
                self.zk.set_async('/failover', b'%d' % n).get(timeout=10)
            except Exception:
                self.errors += 1
                time.sleep(0.005)
                continue
            with self.lock:
                self.acks.append((sent, time.monotonic()))
                del self.acks[:-1000]
                self.n_acked += 1
            time.sleep(self.interval)

    def first_ack_after(self, t):
        with self.lock:
            at = [a for s, a in self.acks if s >= t]
        return min(at) if at else None

    def count(self):
        with self.lock:
            return self.n_acked


def wait(ens, what, cond, limit):
    return ens.wait_for(what, cond, time.monotonic() + limit, poll=0.01)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kind', choices=('zookeeper', 'zabd'), required=True)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--interval', type=float, default=0.02, help='seconds between writes')
    ap.add_argument('--settle', type=float, default=0.0,
                    help='seconds to wait after a member rejoins, before the next kill')
    ap.add_argument('--limit', type=float, default=30.0, help='bound on each wait, seconds')
    ap.add_argument('--verbose', action='store_true', help="show kazoo's reconnect warnings")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING if a.verbose else logging.ERROR)

    ens = Ensemble(3, kind=a.kind)
    zk = writer = None
    times = []
    try:
        ens.start()
        ens.wait_serving(time.monotonic() + 60, ens.members)
        zk = KazooClient(hosts=ens.hosts(), timeout=30,
                         connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                                     max_jitter=0.05, max_delay=0.5))
        zk.start(timeout=20)
        zk.ensure_path('/failover')
        writer = Writer(zk, a.interval)
        writer.start()
        for run in range(1, a.runs + 1):
            n0 = writer.count()
            wait(ens, 'writes before run %d' % run, lambda: writer.count() >= n0 + 25, a.limit)
            leader = ens.wait_leader(time.monotonic() + a.limit)
            t0 = time.monotonic()
            leader.kill()
            at = wait(ens, 'a write after kill -9 of the leader', lambda: writer.first_ack_after(t0),
                      a.limit)
            took = at - t0
            times.append(took)
            new = ens.wait_leader(time.monotonic() + a.limit,
                                  [m for m in ens.members if m is not leader])
            print('run %d: kill -9 of leader %d: next write %.3f s later (new leader %d)'
                  % (run, leader.sid, took, new.sid), flush=True)
            leader.start()
            ens.wait_serving(time.monotonic() + a.limit, ens.members)
            time.sleep(a.settle)
        print('%s, 3 members, tickTime %d ms, one write every %.0f ms, %.1f s settle: '
              'median %.3f s (min %.3f, max %.3f) over %d runs'
              % (a.kind, ens.tick_ms, a.interval * 1000, a.settle, statistics.median(times),
                 min(times), max(times), len(times)))
    except AssertionError as e:
        print('failover: %s' % str(e)[-12000:], file=sys.stderr)
        if writer is not None:
            print('failover: the writer saw %d errors; client state %s' % (
                writer.errors, zk.state), file=sys.stderr)
        return 1
    finally:
        if writer is not None:
            writer.stop.set()
            writer.join(15)
        if zk is not None:
            zk.stop()
            zk.close()
        ens.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
