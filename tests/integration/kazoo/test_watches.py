"""Watches: one-shot data/child/exist watches, kazoo's DataWatch and
ChildrenWatch, persistent and recursive watches (addWatch), removeWatches."""
import os
import socket
import struct

import queue
import threading

import pytest
from kazoo.protocol.states import EventType

import zkraw
from conftest import wait_until


class Events(object):
    """Thread-safe collector of kazoo WatchedEvents."""

    def __init__(self):
        self.q = queue.Queue()

    def __call__(self, event):
        self.q.put(event)

    def get(self, timeout_s=5.0):
        return self.q.get(timeout=timeout_s)

    def none_within(self, timeout_s=0.5):
        try:
            ev = self.q.get(timeout=timeout_s)
        except queue.Empty:
            return True
        raise AssertionError('unexpected event %r' % (ev,))


def test_get_watch_is_one_shot(zk, root):
    path = zk.create(root + '/d', b'0')
    ev = Events()
    zk.get(path, watch=ev)
    zk.set(path, b'1')
    e = ev.get()
    assert e.type == EventType.CHANGED and e.path == path
    zk.set(path, b'2')
    ev.none_within()
    # Re-registering arms it again; delete fires DELETED.
    zk.get(path, watch=ev)
    zk.delete(path)
    e = ev.get()
    assert e.type == EventType.DELETED and e.path == path
    ev.none_within()


def test_exists_watch_created_changed_deleted(zk, root):
    path = root + '/x'
    ev = Events()
    assert zk.exists(path, watch=ev) is None
    zk.create(path, b'a')
    e = ev.get()
    assert e.type == EventType.CREATED and e.path == path
    zk.exists(path, watch=ev)
    zk.set(path, b'b')
    assert ev.get().type == EventType.CHANGED
    zk.exists(path, watch=ev)
    zk.delete(path)
    assert ev.get().type == EventType.DELETED
    ev.none_within()


def test_child_watch(zk, root):
    ev = Events()
    assert zk.get_children(root, watch=ev) == []
    # Data changes of the parent do not fire a child watch.
    zk.set(root, b'data')
    zk.create(root + '/c1')
    e = ev.get()
    assert e.type == EventType.CHILD and e.path == root
    zk.create(root + '/c2')
    ev.none_within()
    zk.get_children(root, watch=ev)
    zk.delete(root + '/c1')
    assert ev.get().type == EventType.CHILD
    # A deleted node fires DELETED on its child watch.
    zk.get_children(root + '/c2', watch=ev)
    zk.delete(root + '/c2')
    e = ev.get()
    assert e.type == EventType.DELETED and e.path == root + '/c2'


def test_watch_fires_for_other_clients_write(zk, clients, root):
    other = clients()
    path = zk.create(root + '/w', b'0')
    ev = Events()
    zk.get(path, watch=ev)
    other.set(path, b'1')
    e = ev.get()
    assert e.type == EventType.CHANGED and e.path == path
    # Once the event arrived, a read returns the new value.
    assert zk.get(path)[0] == b'1'


def test_data_watch_recipe(zk, root):
    path = root + '/dw'
    seen = []
    lock = threading.Lock()

    @zk.DataWatch(path)
    def watcher(data, stat, event):
        with lock:
            seen.append((data, stat.version if stat else None,
                         event.type if event else None))

    assert wait_until(lambda: len(seen) >= 1)
    assert seen[0] == (None, None, None)
    zk.create(path, b'v0')
    assert wait_until(lambda: len(seen) >= 2)
    zk.set(path, b'v1')
    assert wait_until(lambda: len(seen) >= 3)
    zk.delete(path)
    assert wait_until(lambda: len(seen) >= 4)
    with lock:
        assert seen[1] == (b'v0', 0, EventType.CREATED)
        assert seen[2] == (b'v1', 1, EventType.CHANGED)
        assert seen[3] == (None, None, EventType.DELETED)


def test_children_watch_recipe(zk, root):
    seen = []

    @zk.ChildrenWatch(root)
    def watcher(children):
        seen.append(sorted(children))

    assert wait_until(lambda: seen == [[]])
    zk.create(root + '/a')
    assert wait_until(lambda: seen[-1:] == [['a']])
    zk.create(root + '/b')
    assert wait_until(lambda: seen[-1:] == [['a', 'b']])
    zk.delete(root + '/a')
    assert wait_until(lambda: seen[-1:] == [['b']])


def test_persistent_watch(zk, root):
    rec = zkraw.EventRecorder(zk)
    path = zk.create(root + '/p', b'0')
    assert zkraw.call(zk, zkraw.AddWatch(path, zkraw.ADD_WATCH_PERSISTENT))
    zk.set(path, b'1')
    zk.set(path, b'2')
    zk.create(path + '/c')
    zk.create(path + '/c/gc')      # grandchild: not seen by a plain persistent watch
    zk.set(path + '/c', b'x')     # child data: not seen either
    zk.delete(path + '/c/gc')
    zk.delete(path + '/c')
    zk.delete(path)
    zk.create(path)               # still armed after the delete
    want = [(zkraw.EV_CHANGED, path), (zkraw.EV_CHANGED, path),
            (zkraw.EV_CHILD, path), (zkraw.EV_CHILD, path),
            (zkraw.EV_DELETED, path), (zkraw.EV_CREATED, path)]
    assert rec.wait_for(len(want)) == want
    zk.sync(root)
    assert rec.take() == want


def test_persistent_recursive_watch(zk, root):
    rec = zkraw.EventRecorder(zk)
    base = zk.create(root + '/r')
    assert zkraw.call(zk, zkraw.AddWatch(
        base, zkraw.ADD_WATCH_PERSISTENT_RECURSIVE))
    zk.create(base + '/a', b'0')
    zk.set(base + '/a', b'1')
    zk.create(base + '/a/b')
    zk.delete(base + '/a/b')
    zk.set(base, b'x')
    zk.create(root + '/sibling')   # outside the watched subtree
    # Recursive watches never send NodeChildrenChanged.
    want = [(zkraw.EV_CREATED, base + '/a'), (zkraw.EV_CHANGED, base + '/a'),
            (zkraw.EV_CREATED, base + '/a/b'),
            (zkraw.EV_DELETED, base + '/a/b'), (zkraw.EV_CHANGED, base)]
    assert rec.wait_for(len(want)) == want
    zk.sync(root)
    assert rec.take() == want


def test_add_watch_same_path_modes(zk, root):
    rec = zkraw.EventRecorder(zk)
    base = zk.create(root + '/m')
    zkraw.call(zk, zkraw.AddWatch(base, zkraw.ADD_WATCH_PERSISTENT_RECURSIVE))
    zkraw.call(zk, zkraw.AddWatch(base, zkraw.ADD_WATCH_PERSISTENT))
    zk.create(base + '/a')
    zk.set(base + '/a', b'1')
    zk.set(base, b'1')
    if os.environ.get('SERVER_KIND', 'zabd') == 'zookeeper':
        # 3.8 keeps one mode per (watcher, path): the second addWatch replaces.
        want = [(zkraw.EV_CHILD, base), (zkraw.EV_CHANGED, base)]
    else:
        # zabd follows 3.9 (WatchManager with several modes per path): both
        # stay; a change seen by both is delivered once.
        want = [(zkraw.EV_CREATED, base + '/a'), (zkraw.EV_CHILD, base),
                (zkraw.EV_CHANGED, base + '/a'), (zkraw.EV_CHANGED, base)]
    assert rec.wait_for(len(want)) == want
    zk.sync(root)
    assert rec.take() == want


def test_add_watch_bad_mode_and_missing_path(zk, root):
    from kazoo.exceptions import MarshallingError
    with pytest.raises(MarshallingError):
        zkraw.call(zk, zkraw.AddWatch(root, 7))
    # A watch on a path that does not exist yet is fine.
    rec = zkraw.EventRecorder(zk)
    assert zkraw.call(zk, zkraw.AddWatch(root + '/later', 0))
    zk.create(root + '/later')
    assert rec.wait_for(1) == [(zkraw.EV_CREATED, root + '/later')]


def test_remove_and_check_watches(zk, root):
    rec = zkraw.EventRecorder(zk)
    path = zk.create(root + '/rw')
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_DATA))
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.RemoveWatches(path, zkraw.WATCHER_ANY))

    # One-shot data watch: check finds it, remove drops it, nothing fires.
    ev = Events()
    zk.get(path, watch=ev)
    assert zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_DATA))
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_CHILDREN))
    assert zkraw.call(zk, zkraw.RemoveWatches(path, zkraw.WATCHER_DATA))
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_DATA))
    zk.set(path, b'1')

    # Persistent watch: removed by WATCHER_ANY.
    zkraw.call(zk, zkraw.AddWatch(path, zkraw.ADD_WATCH_PERSISTENT))
    assert zkraw.call(zk, zkraw.RemoveWatches(path, zkraw.WATCHER_ANY))
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.RemoveWatches(path, zkraw.WATCHER_ANY))
    zk.set(path, b'2')
    zk.sync(root)
    # The server sends no event for a removed watch (the "watch removed"
    # events of the Java client are made client-side).
    assert rec.take() == []
    ev.none_within(0.2)


def _frame(body):
    return struct.pack('>i', len(body)) + body


def _ustr(s):
    b = s.encode()
    return struct.pack('>i', len(b)) + b


def _read_frame(s):
    def exact(n):
        buf = b''
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, 'connection closed'
            buf += chunk
        return buf
    (n,) = struct.unpack('>i', exact(4))
    return exact(n)


def test_set_watches_fires_what_a_reconnecting_client_missed(zk, server, root):
    # What a client library sends after reconnecting: setWatches with the
    # last zxid it saw. Changes after that zxid fire at once; the rest are
    # registered (DataTree.setWatches).
    changed = zk.create(root + '/changed', b'0')
    gone = zk.create(root + '/gone')
    same = zk.create(root + '/same')
    seen = zk.exists(same).mzxid
    zk.set(changed, b'1')
    zk.delete(gone)
    born = root + '/born'
    zk.create(born)
    s = socket.create_connection(('127.0.0.1', server.port), timeout=5)
    s.sendall(_frame(struct.pack('>iqiq', 0, 0, 10000, 0) + struct.pack('>i', 16) +
                     b'\0' * 16 + b'\0'))
    _read_frame(s)
    lists = [[changed, gone, same], [born], []]  # data, exist, child
    body = struct.pack('>iiq', -8, 101, seen)
    for paths in lists:
        body += struct.pack('>i', len(paths)) + b''.join(_ustr(p) for p in paths)
    s.sendall(_frame(body))
    events = []
    while True:
        f = _read_frame(s)
        xid = struct.unpack('>i', f[:4])[0]
        if xid == -8:
            break
        assert xid == -1
        etype, _state, plen = struct.unpack('>iii', f[16:28])
        events.append((etype, f[28:28 + plen].decode()))
    assert sorted(events) == sorted([(3, changed), (2, gone), (1, born)])
    # /same was registered: a change now fires it
    zk.set(same, b'x')
    f = _read_frame(s)
    etype, _state, plen = struct.unpack('>iii', f[16:28])
    assert (etype, f[28:28 + plen].decode()) == (3, same)
    s.close()


def test_check_watches_answers_for_any_sessions_watch_on_the_path(server, clients, root):
    # ZooKeeper 3.8's WatchManager.containsWatcher only asks whether the
    # path has a watch in the table, whoever holds it; and 3.8 files a
    # recursive watch in the child table too. The table is the server's:
    # both clients talk to the same one (member 1 of an ensemble).
    one = '127.0.0.1:%d' % server.port
    zk = clients(hosts=one)
    path = zk.create(root + '/cw')
    other = clients(hosts=one)
    other.get(path, watch=lambda e: None)
    assert zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_DATA))
    assert zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_ANY))
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.CheckWatches(path, zkraw.WATCHER_CHILDREN))
    # Removing is still per watcher.
    with pytest.raises(zkraw.NoWatcherError):
        zkraw.call(zk, zkraw.RemoveWatches(path, zkraw.WATCHER_DATA))
    zkraw.call(other, zkraw.AddWatch(root, zkraw.ADD_WATCH_PERSISTENT_RECURSIVE))
    assert zkraw.call(zk, zkraw.CheckWatches(root, zkraw.WATCHER_CHILDREN))


def test_events_about_nodes_the_watcher_may_not_read_are_not_delivered(zk, clients, root):
    # CVE-2024-23944 (fixed in ZooKeeper 3.8.4 and 3.9.2, backported to
    # Debian's 3.8.0): an event reaches a watcher only if it may READ the
    # node the event is about: the created, deleted or changed node, and
    # the parent for NodeChildrenChanged. One-shot watches are spent anyway.
    from kazoo.security import make_digest_acl
    secret = [make_digest_acl('alice', 'pw', all=True)]
    alice = clients(auth_data=[('digest', 'alice:pw')])
    rec = zkraw.EventRecorder(zk)
    zkraw.call(zk, zkraw.AddWatch(root, zkraw.ADD_WATCH_PERSISTENT))
    deep = clients()
    deep_rec = zkraw.EventRecorder(deep)
    zkraw.call(deep, zkraw.AddWatch(root, zkraw.ADD_WATCH_PERSISTENT_RECURSIVE))

    zk.exists(root + '/s', watch=lambda e: None)
    alice.create(root + '/s', acl=secret)
    alice.set(root + '/s', b'1')                   # the exists watch is spent
    zk.exists(root + '/s', watch=lambda e: None)
    alice.set(root + '/s', b'2')
    alice.create(root + '/s/kid')                  # readable: delivered to deep
    alice.delete(root + '/s/kid')
    alice.create(root + '/e', ephemeral=True, acl=secret)
    zk.exists(root + '/e', watch=lambda e: None)
    alice.stop()                                    # the ephemeral goes, unseen
    zk.create(root + '/open')
    zk.sync(root)
    deep.sync(root)
    CHILD, CREATED, DELETED = zkraw.EV_CHILD, zkraw.EV_CREATED, zkraw.EV_DELETED
    assert rec.take() == [(CHILD, root)] * 4
    assert deep_rec.take() == [(CREATED, root + '/s/kid'), (DELETED, root + '/s/kid'),
                               (CREATED, root + '/open')]


def test_expiry_deletes_unreadable_ephemerals_without_telling_watchers(zk, server, root):
    # CVE-2024-23944 on the expiry path: the session's ephemerals go in one
    # closeSession txn applied by the server itself; a watcher hears of the
    # parent's child change, not of a node it may not read.
    from kazoo.security import make_digest_acl
    secret = make_digest_acl('alice', 'pw', all=True)
    rec = zkraw.EventRecorder(zk)
    zkraw.call(zk, zkraw.AddWatch(root, zkraw.ADD_WATCH_PERSISTENT_RECURSIVE))
    s = socket.create_connection(('127.0.0.1', server.port), timeout=10)
    # ConnectRequest for a new session of 4 s (the server's minimum here).
    s.sendall(_frame(struct.pack('>iqiq', 0, 0, 4000, 0) + struct.pack('>i', 16) + b'\0' * 16 +
                     b'\0'))
    _read_frame(s)
    acl = struct.pack('>i', 1) + struct.pack('>i', secret.perms) + _ustr('digest') + _ustr(
        secret.id.id)
    for i, name in enumerate(('hidden', 'seen')):
        node_acl = acl if name == 'hidden' else (
            struct.pack('>i', 1) + struct.pack('>i', 31) + _ustr('world') + _ustr('anyone'))
        body = _ustr(root + '/' + name) + struct.pack('>i', 0) + node_acl + struct.pack('>i', 1)
        s.sendall(_frame(struct.pack('>ii', i + 1, 1) + body))
        assert struct.unpack('>iqi', _read_frame(s)[:16])[2] == 0
    s.close()   # no closeSession: the session expires
    assert wait_until(lambda: zk.get_children(root) == [], 20)
    zk.sync(root)
    got = rec.wait_for(2)
    assert (zkraw.EV_DELETED, root + '/seen') in got
    assert (zkraw.EV_DELETED, root + '/hidden') not in got
    assert (zkraw.EV_CREATED, root + '/hidden') not in got
