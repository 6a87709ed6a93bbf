"""SASL DIGEST-MD5 on the client port, as Apache ZooKeeper 3.8 serves it,
with real clients: kazoo's sasl_options (pure-sasl), its legacy
auth_data=[('sasl', 'user:password')], the Java client in zkCli.sh with a
JAAS Client section, and a hand-driven DIGEST-MD5 client for what those
never send. Every expectation was checked against ZooKeeper
(SERVER_KIND=zookeeper).

Run: SERVER_KIND=zabd|zookeeper /usr/bin/python3 -m pytest -q tests/integration/sasl
"""
import os
import struct
import subprocess
import tempfile
import time

import pytest
from kazoo.exceptions import AuthFailedError, InvalidACLError, NoAuthError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import make_acl, make_digest_acl

import zkraw
from kazoo_harness import harness_env, run_kazoo_tests
from conftest import (JAAS, KIND, SASL_PROVIDER, challenge, digest_response, free_port,
                      response_token, sasl_request, start, stop, zkcli)
from rawwire import GETDATA, Raw, ustr

OK, MARSHALLINGERROR, AUTHFAILED, SESSIONCLOSEDREQUIRESASLAUTH = 0, -5, -115, -124
ZABD = os.environ.get('ZABD', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                                           '..', '..', 'build', 'server', 'zabd'))


def whoami(c):
    return zkraw.call(c, zkraw.WhoAmI())


def unique(name):
    return '/sasl-%s-%d' % (name, os.getpid())


def login_fails(clients, user, password):
    """kazoo 2.8 reports a refused login one of two ways, by a race between
    its connection thread and start(): start() finds the client no longer
    connected (KazooTimeoutError, at once, not after the timeout), or it
    returns and every call raises AuthFailedError. Either happens against
    ZooKeeper too."""
    t0 = time.monotonic()
    try:
        c = clients(user, password)
    except KazooTimeoutError:
        assert time.monotonic() - t0 < 5, 'start() waited for its timeout'
        return True
    with pytest.raises(AuthFailedError):
        c.exists('/')
    return True


# ---- kazoo ------------------------------------------------------------------

def test_kazoo_login_shows_the_sasl_identity(clients):
    bob = clients('bob')
    # ZooKeeper lists ids in its hash set's order: sasl before ip here.
    assert whoami(bob) == [('sasl', 'bob'), ('ip', '127.0.0.1')]


def test_sasl_acl_is_for_its_user_only(clients):
    path = unique('acl')
    bob = clients('bob')
    bob.create(path, b'secret', acl=[make_acl('sasl', 'bob', all=True)])
    assert bob.get(path)[0] == b'secret'
    assert bob.get_acls(path)[0] == [make_acl('sasl', 'bob', all=True)]
    carol, anonymous = clients('carol'), clients()
    for other in (carol, anonymous):
        with pytest.raises(NoAuthError):
            other.get(path)
    digest_user = clients(auth_data=[('digest', 'bob:bobsecret')])
    with pytest.raises(NoAuthError):  # same name, other scheme
        digest_user.get(path)
    bob.delete(path)


def test_legacy_auth_data_sasl_logs_in(clients):
    # kazoo's deprecated form, which its own test suite still uses.
    c = clients(auth_data=[('sasl', 'carol:carolsecret')])
    assert ('sasl', 'carol') in whoami(c)


def test_auth_acl_expands_to_the_sasl_id_and_any_digest_id(clients):
    path = unique('auth')
    c = clients('bob', auth_data=[('digest', 'dan:pw')])
    # The order of ZooKeeper's hash set: these ids fall in bins 3, 7, 12.
    assert whoami(c) == [('digest', 'dan'), ('sasl', 'bob'), ('ip', '127.0.0.1')]
    c.create(path, acl=[make_acl('auth', '', all=True)])
    acl = c.get_acls(path)[0]
    assert [(a.id.scheme, a.id.id) for a in acl] == [
        ('digest', 'dan:MTAWyGS4hiq5IGXa0Hs1f6o+Adk='), ('sasl', 'bob')]
    c.delete(path)


def test_user_super_matches_every_sasl_acl_but_nothing_else(clients):
    """SASLAuthenticationProvider.matches: the sasl id "super" matches any
    sasl ACL; it is not ZooKeeper's super user (digest ACLs stay closed)."""
    sasl_path, digest_path = unique('super-s'), unique('super-d')
    bob = clients('bob')
    bob.create(sasl_path, b's', acl=[make_acl('sasl', 'bob', all=True)])
    bob.create(digest_path, b'd', acl=[make_digest_acl('dan', 'pw', all=True)])
    sup = clients('super')
    assert whoami(sup) == [('sasl', 'super'), ('ip', '127.0.0.1')]
    assert sup.get(sasl_path)[0] == b's'
    with pytest.raises(NoAuthError):
        sup.get(digest_path)
    # zookeeper.superUser (superUser=admin in zoo.cfg) is the super user.
    admin = clients('admin')
    assert sorted(whoami(admin)) == [('ip', '127.0.0.1'), ('sasl', 'admin'), ('super', '')]
    assert admin.get(digest_path)[0] == b'd'
    assert admin.get(sasl_path)[0] == b's'
    admin.delete(sasl_path)
    admin.delete(digest_path)


def test_let_any_sasl_user_do_x(clients):
    path = unique('anysasl')
    bob = clients('bob')
    bob.create(path, b'x', acl=[make_acl('sasl', 'anysasl', all=True)])
    assert clients('carol').get(path)[0] == b'x'
    with pytest.raises(NoAuthError):
        clients().get(path)  # only SASL-authenticated connections
    bob.delete(path)


@pytest.mark.parametrize('acl_id,ok', [('a@b@c', False), ('a/b/c@R', False), ('bob/h@R', True),
                                       ('x@R', True), ('@', True), ('a/b/c', True)])
def test_sasl_acl_ids_are_checked_as_kerberos_names(clients, acl_id, ok):
    c = clients('bob')
    path = unique('valid-%d' % abs(hash(acl_id)))
    if not ok:
        with pytest.raises(InvalidACLError):
            c.create(path, acl=[make_acl('sasl', acl_id, all=True)])
        return
    c.create(path, acl=[make_acl('sasl', acl_id, all=True), make_acl('world', 'anyone', all=True)])
    c.delete(path)


def test_wrong_password_gets_authfailed_and_others_are_served(server, clients):
    bob = clients('bob')
    assert login_fails(clients, 'bob', 'not-the-password')
    assert server.logged(['failed to SASL authenticate', "user 'bob'", 'Mismatched response'])
    assert login_fails(clients, 'nobody', 'x')
    assert server.logged(["user 'nobody'", 'cannot acquire password for nobody'])
    assert bob.exists('/') is not None
    assert whoami(clients('carol'))[0] == ('sasl', 'carol')


# ---- the exchange on the wire -------------------------------------------------

def test_challenge_and_rspauth_as_zookeeper_sends_them(server):
    c = Raw(server.port)
    (xid, zxid, err, tok), nonce = challenge(c, xid=7)
    assert (xid, zxid, err) == (7, 0, OK)
    assert tok == b'realm="zk-sasl-md5",nonce="%s",charset=utf-8,algorithm=md5-sess' % nonce
    assert len(nonce) == 40
    reply = sasl_request(c, response_token(b'bob', b'bobsecret', nonce), 8)
    want = b'rspauth=' + digest_response(b'bob', b'bobsecret', nonce, a2_prefix=b':')
    assert reply == (8, 0, OK, want)
    # Authenticated: the session goes on.
    c.send(GETDATA, ustr('/') + b'\0', xid=9)
    assert struct.unpack('>iqi', c.read_frame()[:16])[2] == OK
    # A second exchange is refused, as Java's SaslServer is past its last step.
    c.send(102, ustr(b''), xid=10)
    closed, data = c.finish()
    assert closed
    assert data == struct.pack('>iiqii', 20, 10, 0, AUTHFAILED, -1)


def test_nonces_differ_and_a_replayed_response_fails(server):
    a = Raw(server.port)
    _, na = challenge(a)
    b = Raw(server.port)
    _, nb = challenge(b)
    assert na != nb
    tok = response_token(b'bob', b'bobsecret', na)
    assert sasl_request(a, tok, 2)[2] == OK
    b.send(102, ustr(tok), xid=2)  # a's response on b's challenge
    closed, data = b.finish()
    assert closed and data == struct.pack('>iiqii', 20, 2, 0, AUTHFAILED, -1)
    assert server.logged('Mismatched nonce')


@pytest.mark.parametrize('tok,logged', [
    (b'\x00\xffgarbage', 'Missing username'),
    (b'username="bob",username="bob"', 'more than one username'),
    (b'username="bob",realm="elsewhere"', 'Nonexistent realm'),
    (b'x' * 5000, 'Invalid digest response length'),
])
def test_bad_response_gets_authfailed_then_close(server, clients, tok, logged):
    bystander = clients('bob')
    c = Raw(server.port)
    challenge(c)
    c.send(102, ustr(tok), xid=2)
    closed, data = c.finish()
    assert closed
    assert data == struct.pack('>iiqii', 20, 2, 0, AUTHFAILED, -1)
    assert server.logged(['127.0.0.1:%d' % c.port, logged])
    assert bystander.exists('/') is not None


@pytest.mark.parametrize('body', [ustr(None), b'', b'\x00\x00\x00\x10abc'])
def test_null_or_undecodable_token_closes_without_reply(server, body):
    c = Raw(server.port)
    c.send(102, body, xid=1)
    assert c.finish() == (True, b'')


def test_what_java_cannot_parse_closes_without_reply(server):
    """A maxbuf that is not a number throws NumberFormatException inside
    Java's SaslServer, not SaslException: ZooKeeper drops the connection."""
    c = Raw(server.port)
    _, nonce = challenge(c)
    c.send(102, ustr(b'maxbuf=abc,' + response_token(b'bob', b'bobsecret', nonce)), xid=2)
    assert c.finish() == (True, b'')
    assert server.logged(['127.0.0.1:%d' % c.port, 'NumberFormatException'])


def test_authzid_does_not_raise_privileges(server):
    c = Raw(server.port)
    _, nonce = challenge(c)
    tok = response_token(b'carol', b'carolsecret', nonce, authzid=b'admin')
    tok += b',authzid="admin"'
    assert sasl_request(c, tok, 2)[2] == OK
    c.send(107, b'', xid=3)
    body = c.read_frame()[16:]
    assert b'admin' not in body and b'carol' in body and b'super' not in body


# ---- zkCli.sh (the Java client) ------------------------------------------------

def test_zkcli_with_a_jaas_client_section(server, clients):
    path = unique('zkcli')
    bob = clients('bob')
    bob.create(path, b'from-kazoo', acl=[make_acl('sasl', 'bob', read=True, write=True,
                                                  create=True, delete=True, admin=True)])
    out = zkcli(server, 'bob', 'bobsecret', 'getAcl', path)
    assert "'sasl,'bob\n: cdrwa" in out, out
    assert 'SaslAuthenticated' in out
    out = zkcli(server, 'bob', 'bobsecret', 'whoami')
    assert 'sasl: bob\nip: 127.0.0.1' in out, out
    out = zkcli(server, 'bob', 'bobsecret', 'get', path)
    assert 'from-kazoo' in out, out
    out = zkcli(server, 'bob', 'wrong', 'get', path)
    assert 'state:AuthFailed' in out and 'KeeperErrorCode = AuthFailed for %s' % path in out, out
    bob.delete(path)


def test_non_ascii_users_hash_as_java_hashes_them(server, clients):
    """DigestMD5Base.stringToByte_8859_1: the Java client and server hash
    j\u00fcrgen in ISO-8859-1 and a name with CJK characters in UTF-8, so
    both log in with zkCli.sh; pure-sasl hashes UTF-8 bytes, so kazoo's
    j\u00fcrgen is refused, by ZooKeeper as by zabd."""
    out = zkcli(server, 'j\u00fcrgen', 'p\u00e4ssw\u00f6rd', 'whoami')
    assert 'sasl: j\u00fcrgen' in out, out
    out = zkcli(server, '\u65e5\u672c', 'p\u00e4ss', 'whoami')
    assert 'sasl: \u65e5\u672c' in out, out
    assert login_fails(clients, 'j\u00fcrgen', 'p\u00e4ssw\u00f6rd')


def test_kazoo_own_sasl_tests():
    """kazoo's own DIGEST-MD5 tests (kazoo/tests/test_sasl.py), through its
    KazooTestHarness, which starts the server itself with java -D flags and
    a zoo.cfg of its own; tests/integration/javashim/java turns that into the server of this
    run, bound to 127.0.0.1."""
    import kazoo.tests
    tests = os.path.join(os.path.dirname(kazoo.tests.__file__), 'test_sasl.py')
    env = harness_env(KIND, ZABD, 1, free_port())
    rc, counts, out = run_kazoo_tests([tests, '-k', 'Digest'], tempfile.gettempdir(), env, 80)
    assert rc == 0 and counts.get('passed', 0) == 4 and counts.get('failed', 0) == 0, out[-3000:]


# ---- configuration ----------------------------------------------------------------

def test_sasl_required_closes_unauthenticated_sessions():
    s = start([SASL_PROVIDER, 'sessionRequireClientSASLAuth=true'])
    try:
        c = Raw(s.port)
        c.send(GETDATA, ustr('/') + b'\0', xid=1)
        closed, data = c.finish()
        assert closed and data == struct.pack('>iiqi', 16, 1, 0, SESSIONCLOSEDREQUIRESASLAUTH)
        # A failed login answers SESSIONCLOSEDREQUIRESASLAUTH instead of AUTHFAILED.
        c = Raw(s.port)
        _, nonce = challenge(c)
        c.send(102, ustr(response_token(b'bob', b'wrong', nonce)), xid=2)
        closed, data = c.finish()
        assert closed and data == struct.pack('>iiqii', 20, 2, 0, SESSIONCLOSEDREQUIRESASLAUTH,
                                               -1)
        # Logged in, everything is served.
        c = Raw(s.port)
        _, nonce = challenge(c)
        assert sasl_request(c, response_token(b'bob', b'bobsecret', nonce), 2)[2] == OK
        c.send(GETDATA, ustr('/') + b'\0', xid=3)
        assert struct.unpack('>iqi', c.read_frame()[:16])[2] == OK
    finally:
        stop(s)


def test_allow_sasl_failed_clients_keeps_the_connection():
    s = start([SASL_PROVIDER, 'allowSaslFailedClients=true'])
    try:
        c = Raw(s.port)
        _, nonce = challenge(c)
        assert sasl_request(c, response_token(b'bob', b'wrong', nonce), 2) == (2, 0, OK, None)
        assert s.logged(['127.0.0.1:%d' % c.port, 'Mismatched response'])
        c.send(107, b'', xid=3)  # still served, as ip only
        r = c.read_frame()
        assert struct.unpack('>i', r[:4]) + struct.unpack('>i', r[12:16]) == (3, OK)
        assert r[16:] == struct.pack('>i', 1) + ustr('ip') + ustr('127.0.0.1')
    finally:
        stop(s)


def test_jaas_file_from_zoo_cfg_and_another_section_name():
    """zabd's own key jaasLoginConfig, and zookeeper.sasl.serverconfig (a
    zoo.cfg key to ZooKeeper too)."""
    if KIND != 'zabd':
        pytest.skip('jaasLoginConfig is a zabd key')
    d = tempfile.mkdtemp(prefix='sasl-cfg-')
    path = os.path.join(d, 'jaas.conf')
    with open(path, 'w') as f:
        f.write(JAAS.replace('Server {', 'ZkSrv {'))
    s = start([SASL_PROVIDER, 'jaasLoginConfig=' + path, 'sasl.serverconfig=ZkSrv'], jaas=None)
    try:
        c = Raw(s.port)
        _, nonce = challenge(c)
        assert sasl_request(c, response_token(b'bob', b'bobsecret', nonce), 2)[2] == OK
    finally:
        stop(s)
        os.unlink(path)
        os.rmdir(d)


def test_without_a_server_section_sasl_is_not_offered():
    """No JAAS flag, or a file without the section (kazoo's own harness
    always sets the SASL provider, with an empty JAAS file when it tests no
    SASL): ZooKeeper starts and answers a SASL token OK with a null token."""
    for jaas in (None, '', 'Client { org.apache.zookeeper.server.auth.DigestLoginModule '
                           'required username="bob" password="x"; };'):
        s = start([SASL_PROVIDER], jaas=jaas)
        try:
            c = Raw(s.port)
            assert sasl_request(c, b'', 5) == (5, 0, OK, None)
            assert s.logged(['127.0.0.1:%d' % c.port, 'SASL is not configured'])
            c.send(GETDATA, ustr('/') + b'\0', xid=6)  # and the session goes on
            assert struct.unpack('>iqi', c.read_frame()[:16])[2] == OK
        finally:
            stop(s)


@pytest.mark.parametrize('case', ['missing', 'syntax', 'kerberos'])
def test_a_broken_jaas_file_stops_the_start(case):
    d = tempfile.mkdtemp(prefix='sasl-bad-')
    path = os.path.join(d, 'jaas.conf')
    text = {'syntax': 'Server {\n org.apache.zookeeper.server.auth.DigestLoginModule required\n'
                      ' user_bob="x"\n};\n',
            'kerberos': 'Server {\n com.sun.security.auth.module.Krb5LoginModule required\n'
                        ' useKeyTab=true keyTab="/nonexistent.keytab"\n'
                        ' principal="zookeeper/localhost@EXAMPLE.COM";\n};\n'}.get(case)
    if text is not None:
        with open(path, 'w') as f:
            f.write(text)
    try:
        log = start([SASL_PROVIDER], jvmflags='-Djava.security.auth.login.config=' + path,
                    expect_fail=True)
        if KIND != 'zabd':
            return
        want = {'missing': path + ': cannot open: No such file or directory',
                'syntax': path + ":4: expected an option key or ';', found '}'",
                'kerberos': 'uses login module com.sun.security.auth.module.Krb5LoginModule'}
        assert want[case] in log, log
        # zabd's status for a configuration error, as for zoo.cfg's.
        srv_dir = os.path.join(d, 'again')
        os.makedirs(os.path.join(srv_dir, 'data'))
        with open(os.path.join(srv_dir, 'zoo.cfg'), 'w') as f:
            f.write('dataDir=%s/data\nclientPort=1\n%s\n' % (srv_dir, SASL_PROVIDER))
        res = subprocess.run([ZABD, '-Djava.security.auth.login.config=' + path,
                              os.path.join(srv_dir, 'zoo.cfg')],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 2 and want[case] in res.stderr, res.stderr
    finally:
        subprocess.call(['rm', '-rf', d])
