"""Fixtures for the SASL suite: servers (kind from SERVER_KIND, default zabd)
started by ../server.sh with a JAAS file handed over the way zkServer.sh
users do it, SERVER_JVMFLAGS="-Djava.security.auth.login.config=FILE", and
stopped by their pid files; kazoo clients that log in with DIGEST-MD5; a
raw-socket DIGEST-MD5 client; and zkCli.sh with a JAAS Client section.
"""
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
sys.path.insert(0, os.path.join(HERE, '..', 'badinput'))
sys.path.insert(0, os.path.join(HERE, '..', 'kazoo'))
from hard_limit import hard_limit  # noqa: E402
from rawwire import Raw, ustr  # noqa: E402

import pytest  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

SERVER_SH = os.path.join(HERE, '..', 'server.sh')
KIND = os.environ.get('SERVER_KIND', 'zabd')
ZKCLI = os.environ.get('ZKCLI', '/usr/share/zookeeper/bin/zkCli.sh')
TEST_TIMEOUT_S = 90  # zkCli.sh starts a JVM per run

SASL_PROVIDER = 'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider'
USERS = {'super': 'super_secret', 'bob': 'bobsecret', 'carol': 'carolsecret',
         'admin': 'adminsecret',
         # Non-ASCII: Java hashes a name ISO-8859-1 when every character fits.
         'j\u00fcrgen': 'p\u00e4ssw\u00f6rd', '\u65e5\u672c': 'p\u00e4ss'}
JAAS = ('Server {\n'
        '    org.apache.zookeeper.server.auth.DigestLoginModule required\n' +
        ''.join('    user_%s="%s"\n' % kv for kv in USERS.items()) +
        ';\n};\n')
# zookeeper.superUser and letAnySaslUserDoX, as zoo.cfg keys (ZooKeeper
# turns them into zookeeper.* system properties).
BASE_CFG = [SASL_PROVIDER, 'superUser=admin', 'letAnySaslUserDoX=anysasl']


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


def free_port():
    return int(subprocess.check_output([SERVER_SH, 'freeport']).decode())


class Server:
    def __init__(self, directory, port, log):
        self.dir, self.port = directory, port
        self.hosts = '127.0.0.1:%d' % port
        self.log_path = log

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def logged(self, needle, within=5.0):
        """zabd: waits for a log line containing every needle. Always true
        for ZooKeeper, whose log this setup does not keep (no SLF4J binding
        on its classpath)."""
        if KIND != 'zabd':
            return True
        needles = [needle] if isinstance(needle, str) else needle
        deadline = time.monotonic() + within
        while True:
            if any(all(n in line for n in needles) for line in self.log().splitlines()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def start(cfg, jaas=JAAS, jvmflags=None, expect_fail=False):
    """Starts a server with the JAAS text (None: no JAAS flag); returns a
    Server, or with expect_fail (the start must fail) the server's log."""
    d = tempfile.mkdtemp(prefix='sasl-it-')
    env = dict(os.environ)
    env.pop('JVMFLAGS', None)
    if jvmflags is None and jaas is not None:
        with open(os.path.join(d, 'jaas.conf'), 'w', encoding='utf-8') as f:
            f.write(jaas)
        jvmflags = '-Djava.security.auth.login.config=%s' % os.path.join(d, 'jaas.conf')
    if jvmflags is not None:
        env['SERVER_JVMFLAGS'] = jvmflags
    else:
        env.pop('SERVER_JVMFLAGS', None)
    port = free_port()
    res = subprocess.run([SERVER_SH, 'start', KIND, os.path.join(d, 'srv'), str(port)] + cfg,
                         capture_output=True, text=True, env=env, timeout=60)
    log = os.path.join(d, 'srv', 'server.log')
    if expect_fail:
        if res.returncode == 0:
            subprocess.call([SERVER_SH, 'stop', os.path.join(d, 'srv')])
        text = open(log, errors='replace').read()
        shutil.rmtree(d, ignore_errors=True)
        assert res.returncode != 0, 'the server started'
        return text
    assert res.returncode == 0, res.stderr
    s = Server(d, port, log)
    # ZooKeeper answers ruok a moment before it accepts sessions.
    deadline = time.monotonic() + 30
    while True:
        try:
            Raw(port).close()
            break
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return s


def stop(s):
    subprocess.call([SERVER_SH, 'stop', os.path.join(s.dir, 'srv')])
    if not os.environ.get('KEEP_SERVER_DIRS'):
        shutil.rmtree(s.dir, ignore_errors=True)


@pytest.fixture(scope='module')
def server():
    s = start(BASE_CFG)
    yield s
    stop(s)


@pytest.fixture
def clients(server):
    """kazoo(user=None, password=None, **kw): a started client, DIGEST-MD5
    when user is given; every one is stopped after the test."""
    made = []

    def make(user=None, password=None, srv=None, **kw):
        if user is not None:
            kw['sasl_options'] = {'mechanism': 'DIGEST-MD5', 'username': user,
                                  'password': password if password is not None else USERS[user]}
        c = KazooClient(hosts=(srv or server).hosts, timeout=10.0,
                        connection_retry={'max_tries': 1}, **kw)
        made.append(c)
        c.start(timeout=15)
        return c

    yield make
    for c in made:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


# ---- a DIGEST-MD5 client by hand (RFC 2831), to send what kazoo would not ----

SASL_OP = 102
REALM = b'zk-sasl-md5'
URI = b'zookeeper/zk-sasl-md5'


def md5hex(b):
    return hashlib.md5(b).hexdigest().encode()


def digest_response(user, password, nonce, cnonce=b'cnonce123', realm=REALM, uri=URI,
                    authzid=None, a2_prefix=b'AUTHENTICATE:'):
    a1 = hashlib.md5(user + b':' + realm + b':' + password).digest() + b':' + nonce + b':' + cnonce
    if authzid is not None:
        a1 += b':' + authzid
    kd = (md5hex(a1) + b':' + nonce + b':00000001:' + cnonce + b':auth:' +
          md5hex(a2_prefix + uri))
    return md5hex(kd)


def response_token(user, password, nonce, **kw):
    cnonce = kw.get('cnonce', b'cnonce123')
    return (b'username="%s",realm="zk-sasl-md5",nonce="%s",cnonce="%s",nc=00000001,qop=auth,'
            b'digest-uri="zookeeper/zk-sasl-md5",response=%s'
            % (user, nonce, cnonce, digest_response(user, password, nonce, **kw)))


def sasl_request(c, token, xid):
    """Sends one SASL request; returns (xid, zxid, err, token-or-None)."""
    c.send(SASL_OP, ustr(token), xid=xid)
    r = c.read_frame()
    rxid, zxid, err = struct.unpack('>iqi', r[:16])
    (n,) = struct.unpack('>i', r[16:20])
    return rxid, zxid, err, (r[20:20 + n] if n >= 0 else None)


def challenge(c, xid=1):
    """The first step: returns (reply, nonce)."""
    reply = sasl_request(c, b'', xid)
    m = re.search(rb'nonce="([^"]*)"', reply[3] or b'')
    return reply, (m.group(1) if m else None)


# ---- zkCli.sh with a JAAS Client section -------------------------------------

def zkcli(server, user, password, *command):
    """Runs zkCli.sh once as user; returns its output without SLF4J noise."""
    d = tempfile.mkdtemp(prefix='sasl-zkcli-')
    try:
        path = os.path.join(d, 'client.jaas')
        with open(path, 'w', encoding='utf-8') as f:
            f.write('Client {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n'
                    '    username="%s"\n    password="%s";\n};\n' % (user, password))
        env = dict(os.environ)
        env['CLIENT_JVMFLAGS'] = '-Djava.security.auth.login.config=%s' % path
        res = subprocess.run([ZKCLI, '-server', server.hosts] + list(command), cwd=d, env=env,
                             capture_output=True, text=True, timeout=80)
        return '\n'.join(line for line in (res.stdout + res.stderr).splitlines()
                         if not line.startswith('SLF4J'))
    finally:
        shutil.rmtree(d, ignore_errors=True)
