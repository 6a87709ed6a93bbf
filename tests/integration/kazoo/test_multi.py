"""multi (kazoo transactions): results, all-or-nothing, per-op errors."""
import pytest
from kazoo.exceptions import (
    BadVersionError, MarshallingError, NodeExistsError, NoNodeError, NotEmptyError,
    RolledBackError, RuntimeInconsistency)

import zkraw
from conftest import wait_until


def test_transaction_success_results(zk, root):
    zk.create(root + '/a', b'0')
    zk.create(root + '/gone')
    t = zk.transaction()
    t.check(root + '/a', 0)
    t.create(root + '/b', b'bee')
    t.set_data(root + '/a', b'1', version=0)
    t.delete(root + '/gone')
    t.create(root + '/seq-', sequence=True)
    res = t.commit()
    assert len(res) == 5
    assert res[0] is True
    assert res[1] == root + '/b'
    assert res[2].version == 1 and res[2].dataLength == 1
    assert res[3] is True
    assert res[4] == root + '/seq-0000000003'
    assert zk.get(root + '/a')[0] == b'1'
    assert zk.get(root + '/b')[0] == b'bee'
    assert zk.exists(root + '/gone') is None

    # Every op of one multi shares one zxid.
    bst = zk.exists(root + '/b')
    assert res[2].mzxid == bst.czxid
    assert zk.exists(root + '/seq-0000000003').czxid == bst.czxid


def test_transaction_first_op_fails(zk, root):
    zk.create(root + '/a', b'0')
    t = zk.transaction()
    t.check(root + '/a', 5)
    t.create(root + '/b')
    t.set_data(root + '/a', b'y')
    t.delete(root + '/missing')
    res = t.commit()
    # The failing op carries its error; every op after the first failure
    # answers RuntimeInconsistency (ZooKeeper stops checking), even the
    # delete that would also have failed.
    assert [type(r) for r in res] == [
        BadVersionError, RuntimeInconsistency, RuntimeInconsistency,
        RuntimeInconsistency]
    assert zk.exists(root + '/b') is None
    assert zk.get(root + '/a')[1].version == 0


def test_transaction_later_op_fails_rolls_back(zk, root):
    zk.create(root + '/a', b'0')
    t = zk.transaction()
    t.create(root + '/c', b'1')
    t.set_data(root + '/a', b'y', version=0)
    t.create(root + '/c')
    t.delete(root + '/a')
    res = t.commit()
    assert [type(r) for r in res] == [
        RolledBackError, RolledBackError, NodeExistsError,
        RuntimeInconsistency]
    assert zk.exists(root + '/c') is None
    data, st = zk.get(root + '/a')
    assert data == b'0' and st.version == 0


def test_transaction_sees_its_own_earlier_ops(zk, root):
    t = zk.transaction()
    t.create(root + '/p')
    t.create(root + '/p/q')
    t.check(root + '/p/q', 0)
    t.delete(root + '/p/q')
    t.delete(root + '/p')
    res = t.commit()
    assert res == [root + '/p', root + '/p/q', True, True, True]
    assert zk.get_children(root) == []
    # Deleting a parent whose child was created earlier in the same multi.
    t = zk.transaction()
    t.create(root + '/p')
    t.create(root + '/p/q')
    t.delete(root + '/p')
    res = t.commit()
    assert [type(r) for r in res] == [
        RolledBackError, RolledBackError, NotEmptyError]
    assert zk.get_children(root) == []


def test_transaction_no_node_and_bad_version(zk, root):
    t = zk.transaction()
    t.set_data(root + '/missing', b'')
    res = t.commit()
    assert [type(r) for r in res] == [NoNodeError]
    t = zk.transaction()
    t.create(root + '/x')
    t.delete(root + '/x', version=3)
    res = t.commit()
    assert [type(r) for r in res] == [RolledBackError, BadVersionError]
    assert zk.exists(root + '/x') is None


def test_transaction_context_manager(zk, root):
    with zk.transaction() as t:
        t.create(root + '/m1')
        t.create(root + '/m2')
    assert sorted(zk.get_children(root)) == ['m1', 'm2']
    _, st = zk.get(root)
    assert st.cversion == 2 and st.numChildren == 2


def test_multi_create2_sub_op_answers_as_a_plain_create(zk, root):
    # MultiOperationRecord rebuilds every create sub-op with Op.create,
    # which takes its opcode from the flags: create2 becomes create, and
    # its result carries the path only.
    res = zkraw.call(zk, zkraw.RawMulti([(15, zkraw.create_record(root + '/c2'))]))
    assert res == [(1, 0, root + '/c2', None)]


def test_multi_rederives_create_sub_ops_from_their_flags(zk, root):
    res = zkraw.call(zk, zkraw.RawMulti([
        (21, zkraw.create_record(root + '/ttl0', flags=0, ttl=60000)),  # plain create
        (21, zkraw.create_record(root + '/ttl1', flags=1, ttl=60000)),  # ephemeral
        (1, zkraw.create_record(root + '/cont', flags=4)),              # container
        (21, zkraw.create_record(root + '/ttl5', flags=5, ttl=60000)),  # TTL node
    ]))
    assert [(t, e, p) for t, e, p, _ in res] == [
        (1, 0, root + '/ttl0'), (1, 0, root + '/ttl1'), (15, 0, root + '/cont'),
        (15, 0, root + '/ttl5')]
    assert zk.exists(root + '/ttl1').ephemeralOwner == zk.client_id[0]
    # A container is reaped once its last child goes; a plain node is not.
    zk.create(root + '/cont/x')
    zk.create(root + '/ttl0/x')
    zk.delete(root + '/cont/x')
    zk.delete(root + '/ttl0/x')
    assert wait_until(lambda: zk.exists(root + '/cont') is None)
    assert zk.exists(root + '/ttl0') is not None


def test_multi_create_with_ttl_flags_fails_the_whole_request(zk, root):
    # A create (not createTTL) record with a TTL mode reaches prep as
    # createTTL over a CreateRequest: the cast throws, the whole multi is
    # MARSHALLINGERROR and a zxid is spent; nothing is created.
    before = zk.create(root + '/before')
    with pytest.raises(MarshallingError):
        zkraw.call(zk, zkraw.RawMulti([(1, zkraw.create_record(root + '/x')),
                                       (1, zkraw.create_record(root + '/y', flags=5))]))
    after = zk.create(root + '/after')
    assert zk.exists(after).czxid == zk.exists(before).czxid + 2
    assert zk.exists(root + '/x') is None
    # After a failed op nothing more is prepped: the TTL flags never throw.
    res = zkraw.call(zk, zkraw.RawMulti([(13, zkraw.check_record(root + '/missing')),
                                         (1, zkraw.create_record(root + '/y', flags=5))]))
    assert [(t, e) for t, e, _, _ in res] == [(-1, -101), (-1, -2)]
