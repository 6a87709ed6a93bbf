"""kazoo recipes against the server: they lean on sequential ephemerals,
child watches, versions and exists-watches, so they exercise orderings a
unit test cannot."""
import threading
import time

import pytest
from kazoo.exceptions import LockTimeout
from kazoo.recipe.cache import TreeCache, TreeEvent

from conftest import wait_until

JOIN_S = 20  # bound for every worker thread


def run_threads(targets):
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
        assert not t.is_alive(), 'worker thread hung'


def test_lock_mutual_exclusion(clients, root):
    a, b = clients(), clients()
    counter = a.create(root + '/counter', b'0')
    inside = []
    errors = []
    rounds = 15

    def worker(client, name):
        lock = client.Lock(root + '/lock', name)
        for _ in range(rounds):
            with lock:
                inside.append(name)
                if len(inside) != 1:
                    errors.append('two holders: %r' % inside)
                # Unprotected read-modify-write: only the lock keeps it exact.
                data, st = client.get(counter)
                client.set(counter, str(int(data) + 1).encode(),
                           version=st.version)
                inside.remove(name)

    run_threads([lambda: worker(a, 'a'), lambda: worker(b, 'b')])
    assert errors == []
    assert a.get(counter)[0] == str(2 * rounds).encode()
    assert a.get(counter)[1].version == 2 * rounds
    assert a.get_children(root + '/lock') == []


def test_lock_contenders_and_timeout(clients, root):
    a, b = clients(), clients()
    la = a.Lock(root + '/l', 'holder-a')
    lb = b.Lock(root + '/l', 'waiter-b')
    assert la.acquire(timeout=5)
    with pytest.raises(LockTimeout):
        lb.acquire(timeout=0.3)
    assert la.contenders() == ['holder-a']
    assert lb.acquire(blocking=False) is False
    got = []
    t = threading.Thread(target=lambda: got.append(lb.acquire(timeout=10)),
                         daemon=True)
    t.start()
    assert wait_until(lambda: la.contenders() == ['holder-a', 'waiter-b'])
    la.release()
    t.join(JOIN_S)
    assert got == [True]
    assert lb.contenders() == ['waiter-b']
    lb.release()


def test_lock_released_when_holder_session_ends(server, clients, root):
    holder = server.client()
    holder.start(timeout=10)
    assert holder.Lock(root + '/l', 'h').acquire(timeout=5)
    waiter = clients().Lock(root + '/l', 'w')
    with pytest.raises(LockTimeout):
        waiter.acquire(timeout=0.2)
    holder.stop()
    holder.close()
    assert waiter.acquire(timeout=10)
    waiter.release()


def test_election(clients, root):
    a, b = clients(), clients()
    ea = a.Election(root + '/election', 'a')
    eb = b.Election(root + '/election', 'b')
    leaders = []
    a_leading = threading.Event()
    release_a = threading.Event()

    def lead_a():
        leaders.append('a')
        a_leading.set()
        release_a.wait(JOIN_S)

    ta = threading.Thread(target=lambda: ea.run(lead_a), daemon=True)
    ta.start()
    assert a_leading.wait(10)
    tb = threading.Thread(target=lambda: eb.run(leaders.append, 'b'),
                          daemon=True)
    tb.start()
    assert wait_until(lambda: ea.contenders() == ['a', 'b'])
    assert leaders == ['a']
    release_a.set()
    ta.join(JOIN_S)
    tb.join(JOIN_S)
    assert leaders == ['a', 'b']
    assert not ta.is_alive() and not tb.is_alive()


def test_counter_concurrent(clients, root):
    cs = [clients() for _ in range(3)]
    per = 20

    def bump(c):
        counter = c.Counter(root + '/cnt')
        for _ in range(per):
            counter += 1

    run_threads([lambda c=c: bump(c) for c in cs])
    counter = cs[0].Counter(root + '/cnt')
    assert counter.value == 3 * per
    counter -= 5
    assert counter.pre_value == 3 * per and counter.post_value == 3 * per - 5
    # Every increment was one versioned set.
    assert cs[0].exists(root + '/cnt').version == 3 * per + 1


def test_barrier(clients, root):
    a, b = clients(), clients()
    bar = a.Barrier(root + '/barrier')
    bar.create()
    assert b.Barrier(root + '/barrier').wait(timeout=0.2) is False
    passed = []
    t = threading.Thread(
        target=lambda: passed.append(b.Barrier(root + '/barrier').wait(10)),
        daemon=True)
    t.start()
    time.sleep(0.1)   # let the waiter arm its exists-watch; not a correctness wait
    bar.remove()
    t.join(JOIN_S)
    assert passed == [True]
    assert b.Barrier(root + '/barrier').wait(timeout=1) is True


def test_double_barrier(clients, root):
    n = 3
    cs = [clients() for _ in range(n)]
    seen = {}
    log = []
    lock = threading.Lock()
    # kazoo's recipe races when one member leaves (deleting /ready and its
    # own node) before a slower one has looked for /ready: the slow one then
    # counts fewer than n members and waits forever, on any server (the race
    # ZOOKEEPER-1011 describes). A slow server (the sanitized build) widens
    # that window, so the members meet here before anyone leaves; enter()
    # and leave() are still the recipe's own.
    all_entered = threading.Barrier(n, timeout=JOIN_S)

    def member(i):
        db = cs[i].DoubleBarrier(root + '/db', n, identifier='m%d' % i)
        db.enter()
        members = [c for c in cs[i].get_children(root + '/db')
                   if c != 'ready']
        with lock:
            seen[i] = len(members)
        all_entered.wait()
        db.leave()
        with lock:
            log.append(i)

    run_threads([lambda i=i: member(i) for i in range(n)])
    # Nobody got past enter() before every member had joined.
    assert seen == {i: n for i in range(n)}
    assert sorted(log) == list(range(n))
    assert cs[0].exists(root + '/db') is None or \
        cs[0].get_children(root + '/db') == []


@pytest.mark.parametrize('kind', ['Party', 'ShallowParty'])
def test_party(clients, root, kind):
    a, b = clients(), clients()
    pa = getattr(a, kind)(root + '/party', 'alice')
    pb = getattr(b, kind)(root + '/party', 'bob')
    assert len(pa) == 0
    pa.join()
    pb.join()
    assert sorted(pa) == ['alice', 'bob'] and len(pb) == 2
    pb.leave()
    assert list(pa) == ['alice']
    b.stop()   # a member's ephemeral goes with its session
    pa.leave()
    assert len(pa) == 0


def test_queue_fifo_and_priority(clients, root):
    a, b = clients(), clients()
    q = a.Queue(root + '/q')
    q.put(b'one')
    q.put(b'two')
    q.put(b'urgent', priority=1)
    assert len(q) == 3
    other = b.Queue(root + '/q')
    assert [other.get(), other.get(), other.get()] == [
        b'urgent', b'one', b'two']
    assert other.get() is None and len(q) == 0


def test_locking_queue(clients, root):
    a, b = clients(), clients()
    q = a.LockingQueue(root + '/lq')
    q.put(b'low', priority=50)
    q.put_all([b'hi1', b'hi2'], priority=10)
    q.put(b'mid', priority=20)
    assert len(q) == 4
    assert q.get(timeout=5) == b'hi1'
    assert q.holds_lock()
    # Another consumer cannot take the item a holds; it gets the next one.
    qb = b.LockingQueue(root + '/lq')
    assert qb.get(timeout=5) == b'hi2'
    assert q.consume() is True
    assert qb.release() is True     # back in the queue, unconsumed
    order = []
    for _ in range(3):
        order.append(q.get(timeout=5))
        assert q.consume()
    assert order == [b'hi2', b'mid', b'low']
    assert len(q) == 0
    assert q.get(timeout=0.2) is None


def test_semaphore(clients, root):
    cs = [clients() for _ in range(3)]
    sems = [c.Semaphore(root + '/sem', identifier='s%d' % i, max_leases=2)
            for i, c in enumerate(cs)]
    assert sems[0].acquire(timeout=5)
    assert sems[1].acquire(timeout=5)
    with pytest.raises(LockTimeout):
        sems[2].acquire(timeout=0.3)
    assert sems[2].acquire(blocking=False) is False
    assert sorted(sems[2].lease_holders()) == ['s0', 's1']
    got = []
    t = threading.Thread(target=lambda: got.append(sems[2].acquire(timeout=10)),
                         daemon=True)
    t.start()
    sems[0].release()
    t.join(JOIN_S)
    assert got == [True]
    assert sorted(sems[1].lease_holders()) == ['s1', 's2']
    sems[1].release()
    sems[2].release()
    assert sems[0].lease_holders() == []


def test_tree_cache(zk, clients, root):
    writer = clients()
    base = writer.create(root + '/tc', b'root')
    writer.create(base + '/pre', b'p')
    events = []
    lock = threading.Lock()

    def listener(ev):
        with lock:
            events.append(ev)

    cache = TreeCache(zk, base)
    cache.listen(listener)
    cache.start()
    try:
        def seen(kind, path):
            with lock:
                return any(e.event_type == kind and e.event_data and
                           e.event_data.path == path for e in events)

        assert wait_until(lambda: any(
            e.event_type == TreeEvent.INITIALIZED for e in list(events)))
        assert seen(TreeEvent.NODE_ADDED, base)
        assert seen(TreeEvent.NODE_ADDED, base + '/pre')
        assert cache.get_data(base + '/pre').data == b'p'

        writer.create(base + '/a/b', b'deep', makepath=True)
        assert wait_until(lambda: seen(TreeEvent.NODE_ADDED, base + '/a/b'))
        assert cache.get_data(base + '/a/b').data == b'deep'
        assert sorted(cache.get_children(base)) == ['a', 'pre']

        writer.set(base + '/pre', b'p2')
        assert wait_until(lambda: seen(TreeEvent.NODE_UPDATED, base + '/pre'))
        assert wait_until(lambda: cache.get_data(base + '/pre').data == b'p2')
        assert cache.get_data(base + '/pre').stat.version == 1

        writer.delete(base + '/a', recursive=True)
        assert wait_until(lambda: seen(TreeEvent.NODE_REMOVED, base + '/a/b'))
        assert wait_until(lambda: seen(TreeEvent.NODE_REMOVED, base + '/a'))
        assert cache.get_data(base + '/a') is None
        assert cache.get_children(base) == frozenset(['pre'])
    finally:
        cache.close()
