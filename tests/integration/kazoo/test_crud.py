"""Create/read/update/delete, stat fields and the error codes around them."""
import pytest
from kazoo.exceptions import (
    BadArgumentsError, BadVersionError, ConnectionLoss, MarshallingError,
    NoChildrenForEphemeralsError, NodeExistsError, NoNodeError, NotEmptyError)
from kazoo.security import OPEN_ACL_UNSAFE

import zkraw


def test_create_get_stat_fields(zk, root):
    path = zk.create(root + '/a', b'hello')
    assert path == root + '/a'
    data, st = zk.get(path)
    assert data == b'hello'
    assert st.version == 0 and st.cversion == 0 and st.aversion == 0
    assert st.ephemeralOwner == 0
    assert st.dataLength == 5 and st.numChildren == 0
    assert st.czxid == st.mzxid == st.pzxid
    assert st.czxid > 0
    assert st.ctime == st.mtime and st.ctime > 0

    # Parent: one more child, cversion bumped, pzxid is the child's czxid,
    # its own mzxid untouched.
    _, pst = zk.get(root)
    assert pst.numChildren == 1 and pst.cversion == 1
    assert pst.pzxid == st.czxid
    assert pst.mzxid == pst.czxid < st.czxid

    st2 = zk.set(path, b'hi')
    assert st2.version == 1 and st2.dataLength == 2
    assert st2.mzxid > st.mzxid and st2.czxid == st.czxid
    assert st2.pzxid == st.pzxid, 'pzxid changes only with children'
    assert zk.get(path)[0] == b'hi'
    assert zk.exists(path) == st2

    # A child changes the node's pzxid and cversion but not mzxid/version.
    cpath = zk.create(path + '/c')
    st3 = zk.exists(path)
    cst = zk.exists(cpath)
    assert st3.pzxid == cst.czxid and st3.cversion == 1
    assert st3.mzxid == st2.mzxid and st3.version == 1
    zk.delete(cpath)
    st4 = zk.exists(path)
    assert st4.cversion == 2 and st4.numChildren == 0
    assert st4.pzxid > cst.czxid

    zk.delete(path, version=1)
    assert zk.exists(path) is None
    assert zk.get_children(root) == []


def test_empty_and_none_data(zk, root):
    zk.create(root + '/e')
    data, st = zk.get(root + '/e')
    assert data == b'' and st.dataLength == 0
    zk.set(root + '/e', b'')
    assert zk.get(root + '/e')[1].version == 1


def test_get_children_sorted_and_with_stat(zk, root):
    for n in ('b', 'a', 'c'):
        zk.create(root + '/' + n)
    assert sorted(zk.get_children(root)) == ['a', 'b', 'c']
    children, st = zk.get_children(root, include_data=True)
    assert sorted(children) == ['a', 'b', 'c']
    assert st.numChildren == 3 and st.cversion == 3


def test_sequential_names(zk, root):
    a = zk.create(root + '/s-', sequence=True)
    b = zk.create(root + '/s-', sequence=True)
    zk.create(root + '/other')
    c = zk.create(root + '/', sequence=True)
    assert a == root + '/s-0000000000'
    assert b == root + '/s-0000000001'
    # The suffix is the parent's cversion: it counts every child created
    # (sequential or not) under that parent.
    assert c == root + '/0000000003'
    assert zk.exists(root).cversion == 4
    zk.delete(a)
    assert zk.exists(root).cversion == 5
    # Pinned oddity of ZooKeeper 3.8: after a delete the next suffix is
    # still the number of creations (4), not the cversion the delete
    # produced (5); the delete's bump never reaches the copy of the
    # parent's stat that names sequential nodes.
    d = zk.create(root + '/s-', sequence=True)
    assert d == root + '/s-0000000004'
    assert zk.exists(root).cversion == 6


def test_ephemeral_and_ephemeral_sequential(zk, root):
    p = zk.create(root + '/eph', b'x', ephemeral=True)
    st = zk.exists(p)
    assert st.ephemeralOwner == zk.client_id[0]
    q = zk.create(root + '/es-', ephemeral=True, sequence=True)
    assert q == root + '/es-0000000001'
    assert zk.exists(q).ephemeralOwner == zk.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(p + '/child')
    got = zkraw.call(zk, zkraw.GetEphemerals(root))
    assert sorted(got) == sorted([p, q])


def test_makepath_and_ensure_path(zk, root):
    deep = root + '/x/y/z'
    with pytest.raises(NoNodeError):
        zk.create(deep)
    assert zk.create(deep, b'v', makepath=True) == deep
    assert zk.get(deep)[0] == b'v'
    assert zk.get(root + '/x')[0] == b''
    # kazoo: the path when it had to create it, True when it existed.
    assert zk.ensure_path(root + '/x/y/q') == root + '/x/y/q'
    assert zk.ensure_path(root + '/x/y/q') is True
    assert sorted(zk.get_children(root + '/x/y')) == ['q', 'z']
    assert zkraw.call(zk, zkraw.GetAllChildrenNumber(root)) == 4


def test_node_exists_and_no_node(zk, root):
    zk.create(root + '/a')
    with pytest.raises(NodeExistsError):
        zk.create(root + '/a')
    with pytest.raises(NoNodeError):
        zk.get(root + '/missing')
    with pytest.raises(NoNodeError):
        zk.set(root + '/missing', b'')
    with pytest.raises(NoNodeError):
        zk.delete(root + '/missing')
    with pytest.raises(NoNodeError):
        zk.get_children(root + '/missing')
    with pytest.raises(NoNodeError):
        zk.create(root + '/missing/child')
    assert zk.exists(root + '/missing') is None


def test_bad_version(zk, root):
    zk.create(root + '/v', b'0')
    zk.set(root + '/v', b'1', version=0)
    with pytest.raises(BadVersionError):
        zk.set(root + '/v', b'2', version=0)
    with pytest.raises(BadVersionError):
        zk.delete(root + '/v', version=5)
    assert zk.get(root + '/v')[1].version == 1
    zk.set(root + '/v', b'3', version=-1)
    assert zk.get(root + '/v')[1].version == 2


def test_not_empty(zk, root):
    zk.create(root + '/p/c', makepath=True)
    with pytest.raises(NotEmptyError):
        zk.delete(root + '/p')
    zk.delete(root + '/p', recursive=True)
    assert zk.exists(root + '/p') is None


def _raw_create(zk, path):
    return zkraw.call(zk, zkraw.RawCreate(path, b'', OPEN_ACL_UNSAFE, 0))


def test_bad_paths(zk, root):
    # kazoo normalises paths client-side, so these go out raw.
    for bad in (root + '/', 'relative', root + '/\x01ctl', root + '/a\x00b',
                root + '/\x7f', root + '/\ufffe', root + '/\uf8ff',
                root + '/.', root + '/..'):
        with pytest.raises(BadArgumentsError):
            _raw_create(zk, bad)
    # kazoo encodes '' as a null string: the request does not decode.
    with pytest.raises(MarshallingError):
        _raw_create(zk, '')
    # Non-ASCII and spaces are fine.
    assert _raw_create(zk, root + '/\u00e9 x') == root + '/\u00e9 x'
    # ZooKeeper looks the parent up before it validates the whole path, so
    # an empty or relative component whose "parent" does not exist answers
    # NoNode, not BadArguments.
    for odd in (root + '//x', root + '/./x', root + '/../x', root + '/x/.'):
        with pytest.raises(NoNodeError):
            _raw_create(zk, odd)
    with pytest.raises(BadArgumentsError):
        zk.create(root + '/seq\x00', sequence=True)
    assert zk.get_children(root) == ['\u00e9 x']


def test_root_and_zookeeper_nodes(zk):
    with pytest.raises(NodeExistsError):
        _raw_create(zk, '/')
    with pytest.raises(NodeExistsError):
        zk.create('/zookeeper')
    assert 'zookeeper' in zk.get_children('/')
    assert 'quota' in zk.get_children('/zookeeper')
    assert zk.exists('/zookeeper/config') is not None


def test_data_limits(server, clients, root):
    # 1 MiB (jute.maxbuffer) minus framing overhead is accepted.
    zk = clients()
    big = b'x' * (1024 * 1024 - 1024)
    zk.create(root + '/big', big)
    data, st = zk.get(root + '/big')
    assert data == big and st.dataLength == len(big)
    # 1 MiB + 1: the request frame exceeds jute.maxbuffer and ZooKeeper
    # closes the connection instead of answering; kazoo reports
    # ConnectionLoss, reconnects, and the session survives.
    sid = zk.client_id[0]
    with pytest.raises(ConnectionLoss):
        zk.set(root + '/big', b'y' * (1024 * 1024 + 1))
    assert zk.get(root + '/big')[1].version == 0
    assert zk.client_id[0] == sid


def test_get_ephemerals_prefix_is_trimmed_only_to_decide_all(zk, root):
    # FinalRequestProcessor: a null, blank or "/" prefix once trim()med
    # lists every ephemeral of the session; any other prefix is matched
    # as sent, untrimmed.
    p = zk.create(root + '/e1', ephemeral=True)
    for prefix in ('', ' ', ' / ', '\t/\n'):
        assert zkraw.call(zk, zkraw.GetEphemerals(prefix)) == [p]
    assert zkraw.call(zk, zkraw.GetEphemerals(root + '/e')) == [p]
    assert zkraw.call(zk, zkraw.GetEphemerals(root + '/e ')) == []
    assert zkraw.call(zk, zkraw.GetEphemerals(' ' + root)) == []


def test_children_come_in_zookeepers_hash_set_order(zk, root):
    # DataNode keeps child names in a HashSet<String>(8): getChildren lists
    # them by hash bin, the bins sized by the most children the node ever
    # had, in creation order within a bin (read from ZooKeeper 3.8.0).
    made = ['j', 'cfj', 'jb', 'ahe', 'ddh', 'ihg', 'cdc', 'gab', 'e', 'jg', 'ggj', 'cf', 'a',
            'h', 'geg', 'gjf', 'jgj']
    for m in made:
        zk.create(root + '/' + m)
    for m in ('jb', 'ahe', 'ddh', 'ihg'):
        zk.delete(root + '/' + m)
    zk.create(root + '/zz')
    assert zk.get_children(root) == ['zz', 'a', 'gjf', 'cdc', 'cf', 'e', 'cfj', 'h', 'geg', 'gab',
                                     'j', 'ggj', 'jgj', 'jg']
