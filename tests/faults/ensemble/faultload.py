"""Write load and checks for the ensemble fault tests.

Load: one kazoo client pinned to each member (its connect string names that
member only, so the load really is spread over every server, the observer
included) plus one roaming client that names them all. Each client creates
persistent sequential nodes under its own parent /load/w<i> in a loop and
records every ACKNOWLEDGED write: (path, data, sent at, acknowledged at). A
write that failed (connection loss, timeout) is not recorded: it may or may
not have happened, and only what was acknowledged must survive.

Checks (check_all): every member serves in its role under one leader;
after a `sync`, every acknowledged write is on every member with its data;
every member's tree (a full recursive listing of data and the Stat fields
that must agree) is the same; every client still has its first session
(same session id, never LOST) and is connected again.
"""
import collections
import threading
import time

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState
from kazoo.retry import KazooRetry

SESSION_S = 30.0  # longer than any member is down in these tests
REQUEST_S = 15.0
# Stat fields every member must agree on (ctime/mtime too come from the
# leader's txn, but the brief and ZooKeeper's own checks compare these).
FIELDS = ('czxid', 'mzxid', 'version', 'cversion', 'aversion', 'ephemeralOwner',
          'dataLength', 'numChildren')


def client(hosts, timeout=SESSION_S):
    """A started kazoo client that reconnects quickly (0.05 s, growing to
    0.5 s between attempts, forever)."""
    zk = KazooClient(hosts=hosts, timeout=timeout,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                                 max_jitter=0.05, max_delay=0.5))
    zk.start(timeout=20)
    return zk


class Writer(threading.Thread):
    def __init__(self, load, idx, hosts, label):
        super().__init__(name='writer-%s' % label, daemon=True)
        self.load, self.idx, self.hosts, self.label = load, idx, hosts, label
        self.prefix = '/load/w%d/n-' % idx
        self.acked = []  # (path, data, sent, acknowledged)
        self.errors = collections.Counter()
        self.states = []
        self.idle = threading.Event()
        self.zk = client(hosts)
        self.zk.add_listener(self.states.append)
        self.session = self.zk.client_id[0]
        self.zk.ensure_path('/load/w%d' % idx)

    def run(self):
        n = 0
        while not self.load.stopping.is_set():
            if self.load.paused.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.idle.clear()
            data = ('%s %d' % (self.label, n)).encode()
            n += 1
            sent = time.monotonic()
            try:
                path = self.zk.create_async(self.prefix, data, sequence=True).get(timeout=REQUEST_S)
            except Exception as e:  # not acknowledged: may or may not have happened
                self.errors[type(e).__name__] += 1
                time.sleep(0.02)
                continue
            self.acked.append((path, data, sent, time.monotonic()))
            time.sleep(self.load.interval)
        self.idle.set()


class Load:
    def __init__(self, ens, interval=0.02):
        self.ens = ens
        self.interval = interval
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.writers = []
        try:
            for m in ens.members:
                self.writers.append(Writer(self, m.sid, m.hosts(), 's%d' % m.sid))
            self.writers.append(Writer(self, 0, ens.hosts(), 'all'))
        except BaseException:
            self.close()  # the clients that did connect
            raise

    def start(self):
        for w in self.writers:
            w.start()

    def acked(self):
        return [a for w in self.writers for a in w.acked]

    def count(self):
        return sum(len(w.acked) for w in self.writers)

    def wait_acks(self, n, deadline, what='acknowledged writes'):
        """Waits until n more writes than now are acknowledged."""
        want = self.count() + n
        return self.ens.wait_for('%d more %s (%d so far)' % (n, what, self.count()),
                                 lambda: self.count() >= want, deadline)

    def first_ack_after(self, t):
        """The first acknowledgement of a write sent at or after t, or None."""
        acks = [a[3] for w in self.writers for a in w.acked[-2000:] if a[2] >= t]
        return min(acks) if acks else None

    def wait_recovery(self, t, deadline):
        """Seconds from t until the first write sent after t was acknowledged."""
        at = self.ens.wait_for('a write acknowledged after the fault',
                               lambda: self.first_ack_after(t), deadline)
        return at - t

    def pause(self, deadline):
        self.paused.set()
        for w in self.writers:
            w.idle.wait(max(0.0, deadline - time.monotonic()))

    def resume(self):
        self.paused.clear()

    def stop(self, deadline):
        self.stopping.set()
        for w in self.writers:
            w.join(max(0.0, deadline - time.monotonic()))
            assert not w.is_alive(), '%s still writing' % w.name

    def close(self):
        self.stopping.set()
        for w in self.writers:
            try:
                w.zk.stop()
                w.zk.close()
            except Exception:
                pass

    def summary(self):
        return ', '.join('%s: %d acked%s' % (w.label, len(w.acked),
                                             ' (%s)' % dict(w.errors) if w.errors else '')
                         for w in self.writers)


def listing(zk):
    """{path: (data, (stat fields))} of the whole tree but /zookeeper, read
    after a sync; each level is read with pipelined requests."""
    zk.sync('/')
    out = {}
    level = ['/']
    while level:
        reqs = [(p, zk.get_async(p), zk.get_children_async(p)) for p in level]
        level = []
        for p, g, c in reqs:
            data, st = g.get(timeout=REQUEST_S)
            kids = c.get(timeout=REQUEST_S)
            out[p] = (data, tuple(getattr(st, f) for f in FIELDS))
            for k in kids:
                q = '/' + k if p == '/' else p + '/' + k
                if q != '/zookeeper':
                    level.append(q)
    return out


def diff(a, b, limit=5):
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        if a.get(k) != b.get(k):
            out.append('%s: %r != %r' % (k, a.get(k), b.get(k)))
            if len(out) >= limit:
                break
    return out


def check_all(ens, load, deadline, fault_at=None):
    """The checks after a fault; returns the listings by member id."""
    ens.wait_serving(deadline, ens.members)
    for m in ens.members:
        assert m.running(), '%r is not running' % m
    load.stop(deadline)
    # Sessions: the first one, connected again, never expired.
    for w in load.writers:
        ens.wait_for('%s connected again' % w.name,
                     lambda: w.zk.state == KazooState.CONNECTED, deadline)
        assert w.zk.client_id[0] == w.session, '%s: session 0x%x is now 0x%x' % (
            w.name, w.session, w.zk.client_id[0])
        assert KazooState.LOST not in w.states, '%s: session lost (%s)' % (w.name, w.states)
    acked = load.acked()
    assert acked, 'no write was acknowledged'
    # The observer forwards writes: its pinned client's writes were acknowledged after the fault.
    for m in ens.observers:
        w = next(w for w in load.writers if w.idx == m.sid)
        after = [a for a in w.acked if fault_at is None or a[2] >= fault_at]
        assert after, '%r forwarded no acknowledged write after the fault' % m
    # Every member, read through a client pinned to it (the observer serves reads).
    lists = {}
    for m in ens.members:
        zk = client(m.hosts())
        try:
            lists[m.sid] = listing(zk)
        finally:
            zk.stop()
            zk.close()
    for sid, lst in lists.items():
        missing = [(p, d) for p, d, _, _ in acked if lst.get(p, (None,))[0] != d]
        assert not missing, 'server %d lacks %d of %d acknowledged writes, e.g. %s' % (
            sid, len(missing), len(acked), missing[:3])
    first = ens.members[0].sid
    for sid, lst in lists.items():
        d = diff(lists[first], lst)
        assert not d, 'server %d and server %d disagree: %s' % (first, sid, d)
    return lists
