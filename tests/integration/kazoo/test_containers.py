"""Container and TTL nodes (kazoo 2.8 has no API for either: raw requests).

The server runs with znode.container.checkIntervalMs=100: zabd reads it
from zoo.cfg, Apache ZooKeeper gets it as a system property from conftest
(JAVA_TOOL_OPTIONS).  Without it ZooKeeper would reap once a minute.
"""
import pytest
from kazoo.exceptions import (BadArgumentsError, NoChildrenForEphemeralsError, NodeExistsError,
                              NoNodeError)

import zkraw
from conftest import wait_until



def test_container_create_and_stat(zk, root):
    path, st = zkraw.create_container(zk, root + '/c', b'cd')
    assert path == root + '/c'
    assert st.dataLength == 2 and st.version == 0
    # The container marker lives in ephemeralOwner inside the server but
    # clients are shown 0.
    assert st.ephemeralOwner == 0
    assert zk.exists(path) == st
    assert zk.get(path)[0] == b'cd'
    # A container may have ordinary children and is not ephemeral.
    assert zk.create(path + '/child') == path + '/child'


def test_ttl_create_and_validation(zk, root):
    path, st = zkraw.create_ttl(zk, root + '/t', 60000, b'tt')
    assert path == root + '/t' and st.dataLength == 2
    assert st.ephemeralOwner == 0
    seq, _ = zkraw.create_ttl(zk, root + '/ts-', 60000, sequential=True)
    assert seq == root + '/ts-0000000001'
    for bad_ttl in (0, -1, 1 << 40):   # ttl must be in (0, 2^40)
        with pytest.raises(BadArgumentsError):
            zkraw.create_ttl(zk, root + '/bad', bad_ttl)
    # createTTL with a mode that is not a TTL mode.
    with pytest.raises(BadArgumentsError):
        zkraw.call(zk, zkraw.CreateTTL(root + '/bad', b'', zkraw.OPEN_ACL_UNSAFE,
                                       zkraw.MODE_PERSISTENT, 1000))
    assert sorted(zk.get_children(root)) == ['t', 'ts-0000000001']
    # TTL nodes are persistent: children allowed.
    zk.create(path + '/kid')


def test_container_reaped_after_last_child_goes(zk, root):
    path, _ = zkraw.create_container(zk, root + '/c')
    # Never had a child: never reaped.
    zk.create(root + '/marker')
    zk.delete(root + '/marker')
    assert not wait_until(lambda: zk.exists(path) is None, 0.5)
    zk.create(path + '/a')
    zk.create(path + '/b', ephemeral=True)
    zk.delete(path + '/a')
    # Still has a child.
    assert not wait_until(lambda: zk.exists(path) is None, 0.5)
    zk.delete(path + '/b')
    assert wait_until(lambda: zk.exists(path) is None, 5)


def test_ttl_node_expires_without_children(zk, root):
    path, _ = zkraw.create_ttl(zk, root + '/t', 200)
    keep, _ = zkraw.create_ttl(zk, root + '/keep', 200)
    zk.create(keep + '/child')
    assert wait_until(lambda: zk.exists(path) is None, 5)
    # A TTL node with a child stays.
    assert zk.exists(keep) is not None
    zk.delete(keep + '/child')
    assert wait_until(lambda: zk.exists(keep) is None, 5)


def test_ttl_is_counted_from_last_modification(zk, root):
    path, _ = zkraw.create_ttl(zk, root + '/t', 1500)
    # Keep touching it: each set moves mtime, so it must survive 2.5 s.
    for _ in range(5):
        assert not wait_until(lambda: zk.exists(path) is None, 0.5)
        zk.set(path, b'x')
    assert wait_until(lambda: zk.exists(path) is None, 6)


def test_create_flags_give_the_mode_the_opcode_gives_the_node_type(zk, root):
    # pRequest2TxnCreate: the flags decide the checks and the sequential
    # suffix; the txn comes from the opcode alone. createContainer makes a
    # container whatever the flags (ephemeral ones included), create and
    # create2 with the container flag make a plain persistent node.
    zk.create(root + '/p')
    path, _ = zkraw.call(zk, zkraw.CreateContainer(root + '/p/c0', b'', zkraw.OPEN_ACL_UNSAFE, 0))
    assert path == root + '/p/c0'
    seq, _ = zkraw.call(zk, zkraw.CreateContainer(root + '/p/c2-', b'', zkraw.OPEN_ACL_UNSAFE, 2))
    assert seq == root + '/p/c2-0000000001'
    eph, st = zkraw.call(zk, zkraw.CreateContainer(root + '/p/c1', b'', zkraw.OPEN_ACL_UNSAFE, 1))
    assert st.ephemeralOwner == 0
    plain = zkraw.call(zk, zkraw.RawCreate(root + '/p/n4', b'', zkraw.OPEN_ACL_UNSAFE, 4))
    assert plain == root + '/p/n4'
    # Usual errors, not BADARGUMENTS, on the way there.
    with pytest.raises(NodeExistsError):
        zkraw.call(zk, zkraw.CreateContainer(root + '/p/c0', b'', zkraw.OPEN_ACL_UNSAFE, 0))
    with pytest.raises(NoNodeError):
        zkraw.call(zk, zkraw.RawCreate(root + '/none/n4', b'', zkraw.OPEN_ACL_UNSAFE, 4))
    with pytest.raises(BadArgumentsError):  # TTL mode without a TTL
        zkraw.call(zk, zkraw.CreateContainer(root + '/p/c5', b'', zkraw.OPEN_ACL_UNSAFE, 5))
    for p in (path, seq, eph, plain):
        zk.create(p + '/kid')
        zk.delete(p + '/kid')
    # The three containers are reaped once emptied; the plain node stays.
    assert wait_until(lambda: zk.get_children(root + '/p') == ['n4'], 5)
