"""ACLs: digest and ip schemes, add_auth, aversion, error codes."""
import pytest
from kazoo.exceptions import (
    AuthFailedError, BadVersionError, InvalidACLError, NoAuthError)
from kazoo.protocol.states import KazooState
from kazoo.security import (
    ACL, Id, OPEN_ACL_UNSAFE, Permissions, READ_ACL_UNSAFE, make_acl,
    make_digest_acl, make_digest_acl_credential)

import zkraw
from conftest import wait_until


def test_digest_acl(zk, clients, root):
    acl = make_digest_acl('alice', 'secret', all=True)
    assert acl.id.id == make_digest_acl_credential('alice', 'secret')
    # Creating with an ACL the creator does not hold is allowed.
    path = zk.create(root + '/d', b'private', acl=[acl])
    with pytest.raises(NoAuthError):
        zk.get(path)
    with pytest.raises(NoAuthError):
        zk.set(path, b'x')
    # getACL needs READ or ADMIN since 3.6.
    with pytest.raises(NoAuthError):
        zk.get_acls(path)
    # exists and delete (a permission of the parent) need nothing.
    assert zk.exists(path).dataLength == 7

    wrong = clients(auth_data=[('digest', 'alice:wrong')])
    with pytest.raises(NoAuthError):
        wrong.get(path)

    alice = clients()
    alice.add_auth('digest', 'alice:secret')
    assert alice.get(path)[0] == b'private'
    acls, st = alice.get_acls(path)
    assert acls == [acl] and st.aversion == 0
    alice.set(path, b'changed')

    # Per-permission ACLs: READ only for world, ALL for alice.
    p2 = alice.create(root + '/r', b'r', acl=[
        make_acl('world', 'anyone', read=True), acl])
    assert zk.get(p2)[0] == b'r'
    with pytest.raises(NoAuthError):
        zk.set(p2, b'no')
    with pytest.raises(NoAuthError):
        zk.create(p2 + '/child')
    alice.create(p2 + '/child')
    zk.delete(path)      # DELETE is checked on the parent (open)


def test_auth_scheme_acl_uses_session_identity(clients, root):
    bob = clients(auth_data=[('digest', 'bob:pw')])
    # "auth" expands to every identity the session has authenticated.
    path = bob.create(root + '/a', acl=[make_acl('auth', '', all=True)])
    acls, _ = bob.get_acls(path)
    assert acls == [make_digest_acl('bob', 'pw', all=True)]


def test_set_acls_and_aversion(zk, root):
    path = zk.create(root + '/v')
    acls, st = zk.get_acls(path)
    assert acls == OPEN_ACL_UNSAFE and st.aversion == 0
    st1 = zk.set_acls(path, READ_ACL_UNSAFE + [
        make_acl('ip', '127.0.0.1', all=True)], version=0)
    assert st1.aversion == 1 and st1.version == 0
    with pytest.raises(BadVersionError):
        zk.set_acls(path, OPEN_ACL_UNSAFE, version=0)
    acls, st = zk.get_acls(path)
    assert st.aversion == 1
    assert acls == [ACL(Permissions.READ, Id('world', 'anyone')),
                    ACL(Permissions.ALL, Id('ip', '127.0.0.1'))]
    zk.set_acls(path, OPEN_ACL_UNSAFE)
    assert zk.get_acls(path)[1].aversion == 2


def test_ip_acl(zk, root):
    mine = zk.create(root + '/ip', b'ok',
                     acl=[make_acl('ip', '127.0.0.1', all=True)])
    assert zk.get(mine)[0] == b'ok'
    subnet = zk.create(root + '/net', b'ok',
                       acl=[make_acl('ip', '127.0.0.0/8', all=True)])
    assert zk.get(subnet)[0] == b'ok'
    other = zk.create(root + '/other', acl=[make_acl('ip', '10.1.2.3', all=True)])
    with pytest.raises(NoAuthError):
        zk.get(other)


@pytest.mark.parametrize('scheme,ident', [
    ('auth', ''),              # no authenticated identity to expand
    ('bogus', 'x'),            # unknown scheme
    ('ip', 'not-an-ip'),
    ('digest', 'no-colon'),
    ('world', 'nobody'),       # world has only "anyone"
])
def test_invalid_acl(zk, root, scheme, ident):
    with pytest.raises(InvalidACLError):
        zk.create(root + '/bad', acl=[make_acl(scheme, ident, all=True)])
    path = zk.create(root + '/good')
    with pytest.raises(InvalidACLError):
        zk.set_acls(path, [make_acl(scheme, ident, all=True)])
    assert zk.get_acls(path)[1].aversion == 0


def test_empty_acl_list(zk, root):
    # kazoo replaces acl=[] by its default, so send the empty list raw.
    with pytest.raises(InvalidACLError):
        zkraw.call(zk, zkraw.RawCreate(root + '/empty', b'', [], 0))
    assert zk.exists(root + '/empty') is None


def test_auth_failed_for_unknown_scheme(clients):
    c = clients()
    states = []
    c.add_listener(states.append)
    with pytest.raises(AuthFailedError):
        c.add_auth('no-such-scheme', 'x')
    # The server closes the session; kazoo gives up on it.
    assert wait_until(lambda: KazooState.LOST in states)
    with pytest.raises(AuthFailedError):
        c.get('/')


def test_who_am_i(clients):
    c = clients()
    assert zkraw.call(c, zkraw.WhoAmI()) == [('ip', '127.0.0.1')]
    c.add_auth('digest', 'carol:pw')
    # ZooKeeper keeps a session's identities in a set: order unspecified.
    assert sorted(zkraw.call(c, zkraw.WhoAmI())) == [
        ('digest', 'carol'), ('ip', '127.0.0.1')]


def test_digest_auth_without_colon_is_accepted(clients, root):
    # DigestAuthenticationProvider takes the whole id as the user when it
    # has no colon: "nocolon" authenticates as nocolon:base64(sha1(nocolon)).
    c = clients()
    c.add_auth('digest', 'nocolon')
    assert ('digest', 'nocolon') in zkraw.call(c, zkraw.WhoAmI())
    path = c.create(root + '/nc', acl=[make_acl('auth', '', all=True)])
    import base64
    import hashlib
    want = 'nocolon:' + base64.b64encode(hashlib.sha1(b'nocolon').digest()).decode()
    assert c.get_acls(path)[0] == [ACL(Permissions.ALL, Id('digest', want))]


@pytest.mark.parametrize('user,first', [('user2:pw2', 'digest'), ('user1:pw1', 'ip')])
def test_who_am_i_lists_ids_in_zookeepers_hash_order(clients, root, user, first):
    # ZooKeeper keeps a session's ids in a ConcurrentHashMap-backed set;
    # clients see its iteration order (Id hash codes, 16 bins): the digest id
    # of user2 files before ("ip", "127.0.0.1"), user1's after it. An "auth"
    # ACL expands in the same order.
    c = clients()
    c.add_auth('digest', user)
    got = zkraw.call(c, zkraw.WhoAmI())
    assert [scheme for scheme, _ in got] == (['digest', 'ip'] if first == 'digest'
                                             else ['ip', 'digest'])
    c.add_auth('digest', 'user2:pw2' if user == 'user1:pw1' else 'user1:pw1')
    path = c.create(root + '/order', acl=[make_acl('auth', '', all=True)])
    users = [a.id.id.split(':')[0] for a in c.get_acls(path)[0]]
    assert users == ['user2', 'user1']


# ZooKeeper 3.8.0's own whoAmI after digest u00:pw .. u22:pw (read from it).
WHOAMI_23 = ['u02', 'u04', 'u15', '127.0.0.1', 'u13', 'u08', 'u18', 'u07', 'u12', 'u09', 'u14',
             'u10', 'u21', 'u20', 'u19', 'u11', 'u03', 'u01', 'u00', 'u16', 'u17', 'u05', 'u06',
             'u22']


def test_who_am_i_order_survives_the_sets_resizes(clients):
    # 24 ids: the map doubles at 12 and 24, and its bin split pushes the
    # nodes before the tail that stays together onto the fronts (u12
    # before u09 here).
    c = clients()
    for i in range(23):
        c.add_auth('digest', 'u%02d:pw' % i)
    assert [user for _, user in zkraw.call(c, zkraw.WhoAmI())] == WHOAMI_23
