"""zoo.cfg settings that change what clients see: the super user, the
per-address connection limit, session timeout bounds and jute.maxbuffer.
Each case runs its own server with the setting."""
import base64
import hashlib
import os
import socket
import struct

import pytest
from kazoo.exceptions import ConnectionLoss, NoAuthError
from kazoo.security import make_acl, make_digest_acl

from conftest import start_server, stop_server, wait_until

ZK = os.environ.get('SERVER_KIND', 'zabd') == 'zookeeper'


def digest(user, password):
    h = hashlib.sha1(('%s:%s' % (user, password)).encode()).digest()
    return '%s:%s' % (user, base64.b64encode(h).decode())


@pytest.fixture
def configured(request):
    srv = start_server(request.param)
    yield srv
    stop_server(srv)


@pytest.mark.skipif(ZK, reason='ZooKeeper reads superDigest only as a JVM property')
@pytest.mark.parametrize('configured', [['DigestAuthenticationProvider.superDigest=' +
                                         digest('super', 'secret')]], indirect=True)
def test_super_digest_bypasses_acls(configured):
    owner = configured.client()
    owner.start()
    owner.add_auth('digest', 'alice:pw')
    owner.create('/private', b'x', acl=[make_digest_acl('alice', 'pw', all=True)])
    other = configured.client()
    other.start()
    with pytest.raises(NoAuthError):
        other.get('/private')
    other.add_auth('digest', 'super:secret')
    assert other.get('/private')[0] == b'x'
    other.set('/private', b'y')
    for c in (owner, other):
        c.stop()
        c.close()


@pytest.mark.parametrize('configured', [['maxClientCnxns=2']], indirect=True)
def test_max_client_cnxns_per_address(configured):
    # The limit is per server: all three connections go to one (member 1
    # of an ensemble).
    one = '127.0.0.1:%d' % configured.port
    a, b = configured.client(hosts=one), configured.client(hosts=one)
    a.start()
    b.start()
    s = None
    try:
        # ZooKeeper may close the connection before the request is written,
        # or even before connect() returns (EPIPE).
        s = socket.create_connection(('127.0.0.1', configured.port), timeout=5)
        s.sendall(struct.pack('>i', 44) + struct.pack('>iqiq', 0, 0, 10000, 0) +
                  struct.pack('>i', 16) + b'\0' * 16)
        s.settimeout(5)
        got = s.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b''
    assert got == b'', 'a third connection from the same address was served'
    if s is not None:
        s.close()
    assert a.exists('/') is not None
    for c in (a, b):
        c.stop()
        c.close()


def negotiated_timeout(port, requested_ms):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(struct.pack('>i', 45) + struct.pack('>iqiq', 0, 0, requested_ms, 0) +
              struct.pack('>i', 16) + b'\0' * 16 + b'\0')
    body = b''
    while len(body) < 8:
        body += s.recv(64)
    s.close()
    return struct.unpack('>ii', body[4:12])[1]


@pytest.mark.parametrize('configured', [['minSessionTimeout=6000', 'maxSessionTimeout=9000']],
                         indirect=True)
def test_session_timeout_is_clamped_to_the_configured_bounds(configured):
    c = configured.client()  # ZooKeeper answers ruok before it takes sessions
    c.start()
    c.stop()
    c.close()
    assert negotiated_timeout(configured.port, 1000) == 6000
    assert negotiated_timeout(configured.port, 7000) == 7000
    assert negotiated_timeout(configured.port, 60000) == 9000


@pytest.mark.skipif(ZK, reason='ZooKeeper reads jute.maxbuffer only as a JVM property')
@pytest.mark.parametrize('configured', [['jute.maxbuffer=2000']], indirect=True)
def test_jute_maxbuffer_from_zoo_cfg(configured):
    c = configured.client()
    c.start()
    c.create('/small', b'x' * 1500)
    with pytest.raises(ConnectionLoss):
        c.create('/big', b'x' * 3000)
    assert wait_until(lambda: c.connected, 10)
    assert c.exists('/big') is None
    c.stop()
    c.close()


@pytest.mark.parametrize('configured', [['DigestAuthenticationProvider.superDigest=' +
                                         digest('super', 'secret')]], indirect=True)
def test_auth_acl_of_super_user_expands_to_its_digest_only(configured):
    # fixupACL expands "auth" into the ids of providers that authenticate:
    # the digest id, not ("super", "") (no provider) nor ip.
    c = configured.client()
    c.start()
    c.add_auth('digest', 'super:secret')
    c.create('/super-auth', acl=[make_acl('auth', '', all=True)])
    acls, _ = c.get_acls('/super-auth')
    assert [(a.id.scheme, a.id.id) for a in acls] == [('digest', digest('super', 'secret'))]
    c.stop()
    c.close()
