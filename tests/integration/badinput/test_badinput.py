"""Bad input over raw sockets: every case gets ZooKeeper's answer (an error
reply or the connection closed), the server logs it (zabd), and a client
connected beforehand keeps being served.

Run: SERVER_KIND=zabd|zookeeper /usr/bin/python3 -m pytest -q tests/integration/badinput
"""
import os
import socket
import struct
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SH = os.path.join(HERE, '..', 'server.sh')
KIND = os.environ.get('SERVER_KIND', 'zabd')
MAXBUF = 0xfffff

# opcodes and error codes (ZooDefs.OpCode, KeeperException.Code)
CREATE, DELETE, EXISTS, GETDATA, MULTI, GETCHILDREN = 1, 2, 3, 4, 14, 8
UNIMPLEMENTED, MARSHALLING, BADARGS, NONODE, AUTHFAILED = -6, -5, -8, -101, -115


@pytest.fixture(scope='module')
def server():
    d = tempfile.mkdtemp(prefix='badinput-')
    port = int(subprocess.check_output([SERVER_SH, 'freeport']).decode())
    subprocess.check_call([SERVER_SH, 'start', KIND, d, str(port)], stdout=subprocess.DEVNULL)
    # ZooKeeper answers ruok a moment before it accepts sessions.
    deadline = time.time() + 30
    while True:
        try:
            Raw(port).close()
            break
        except (ConnectionError, OSError):
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    yield port, d
    subprocess.call([SERVER_SH, 'stop', d])


def frame(body):
    return struct.pack('>i', len(body)) + body


def ustr(s):
    if s is None:
        return struct.pack('>i', -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack('>i', len(b)) + b


def connect_req(session=0, passwd=b'\0' * 16, last_zxid=0, timeout=10000):
    return struct.pack('>iqiq', 0, last_zxid, timeout, session) + ustr(passwd) + b'\0'


class Raw:
    """A hand-driven ZooKeeper connection."""

    def __init__(self, port, handshake=True):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.xid = 0
        if handshake:
            self.s.sendall(frame(connect_req()))
            body = self.read_frame()
            _, self.timeout, self.session = struct.unpack('>iiq', body[:16])
            self.passwd = body[20:36]

    def read_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('closed')
            buf += chunk
        return buf

    def read_frame(self):
        (n,) = struct.unpack('>i', self.read_exact(4))
        return self.read_exact(n)

    def request(self, op, body, xid=None):
        """Sends a request; returns (err, body) of the reply with that xid,
        skipping notifications."""
        self.xid += 1
        xid = self.xid if xid is None else xid
        self.s.sendall(frame(struct.pack('>ii', xid, op) + body))
        while True:
            r = self.read_frame()
            rxid, _zxid, err = struct.unpack('>iqi', r[:16])
            if rxid == xid:
                return err, r[16:]

    def closed(self, within=5.0):
        """True once the server has closed the connection."""
        self.s.settimeout(within)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionError, OSError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def create_body(path, data=b'', acl_count=None, flags=0):
    acl = struct.pack('>i', 31) + ustr('world') + ustr('anyone')
    n = 1 if acl_count is None else acl_count
    return ustr(path) + ustr(data) + struct.pack('>i', n) + acl + struct.pack('>i', flags)


@pytest.fixture
def bystander(server):
    """A well-behaved client connected before the bad one; checked after."""
    port, _ = server
    c = Raw(port)
    yield c
    name = '/bystander-%d-%d' % (os.getpid(), time.monotonic_ns())
    err, _ = c.request(CREATE, create_body(name, b'ok'))
    assert err == 0, 'the well-behaved client is no longer served'
    err, body = c.request(GETDATA, ustr(name) + b'\0')
    assert err == 0 and body[4:6] == b'ok'
    c.close()


def logged(server, needle, within=5.0):
    """zabd logs each bad input; ZooKeeper's log is not captured here."""
    if KIND != 'zabd':
        return True
    path = os.path.join(server[1], 'server.log')
    deadline = time.time() + within
    while time.time() < deadline:
        with open(path, errors='replace') as f:
            if needle in f.read():
                return True
        time.sleep(0.05)
    return False


def test_garbage_instead_of_connect_closes(server, bystander):
    c = Raw(server[0], handshake=False)
    c.s.sendall(struct.pack('>i', 20) + os.urandom(20))
    assert c.closed()
    assert logged(server, 'connect request')


@pytest.mark.parametrize('when', ['before_handshake', 'after_handshake'])
def test_frame_over_maxbuffer_closes(server, bystander, when):
    c = Raw(server[0], handshake=(when == 'after_handshake'))
    c.s.sendall(struct.pack('>i', MAXBUF + 1) + b'x' * 64)
    assert c.closed()
    assert logged(server, 'over jute.maxbuffer')


def test_negative_frame_length_closes(server, bystander):
    c = Raw(server[0])
    c.s.sendall(struct.pack('>i', -5))
    assert c.closed()
    assert logged(server, 'frame of -5 bytes')


def test_truncated_connect_request_closes(server, bystander):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req()[:10]))
    assert c.closed()
    assert logged(server, 'malformed connect request')


def test_truncated_request_record_closes(server, bystander):
    c = Raw(server[0])
    body = struct.pack('>ii', 1, GETDATA) + struct.pack('>i', 100) + b'abc'
    c.s.sendall(frame(body))
    assert c.closed()
    assert logged(server, 'malformed getData request')


@pytest.mark.parametrize('op', [999, -99])
def test_unknown_opcode_answers_unimplemented_then_closes(server, bystander, op):
    c = Raw(server[0])
    err, _ = c.request(op, b'')
    assert err == UNIMPLEMENTED
    # Then ZooKeeper closes the connection (UnimplementedRequestProcessor).
    assert c.closed()
    assert logged(server, 'unknown opcode %d' % op)
    c.close()


def test_request_before_handshake_closes(server, bystander):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(struct.pack('>ii', 1, GETDATA) + ustr('/') + b'\0'))
    assert c.closed()


def test_vector_count_larger_than_frame_closes(server, bystander):
    c = Raw(server[0])
    c.s.sendall(frame(struct.pack('>ii', 1, CREATE) + create_body('/v', acl_count=0x7fffffff)))
    assert c.closed()
    assert logged(server, 'malformed write request')


def test_huge_string_length_inside_record_closes(server, bystander):
    c = Raw(server[0])
    c.s.sendall(frame(struct.pack('>ii', 1, GETDATA) + struct.pack('>i', 0x7ffffff0) + b'/'))
    assert c.closed()


@pytest.mark.parametrize('path', ['/a\0b', '/zookeeper/', 'relative', ''])
def test_bad_create_paths_answer_badarguments(server, bystander, path):
    c = Raw(server[0])
    err, _ = c.request(CREATE, create_body(path))
    assert err == BADARGS
    c.close()


def test_trailing_slash_under_a_missing_parent_is_nonode(server, bystander):
    # ZooKeeper looks the parent up before it validates the whole path.
    c = Raw(server[0])
    err, _ = c.request(CREATE, create_body('/no-such-parent/'))
    assert err == NONODE
    c.close()


def test_nul_in_read_paths(server, bystander):
    c = Raw(server[0])
    err, _ = c.request(EXISTS, ustr('/a\0b') + b'\0')
    assert err == BADARGS
    err, _ = c.request(GETDATA, ustr('/a\0b') + b'\0')
    assert err == NONODE
    c.close()


def test_multi_with_a_read_op_closes(server, bystander):
    c = Raw(server[0])
    body = struct.pack('>i?i', GETDATA, False, -1) + ustr('/') + b'\0'
    body += struct.pack('>i?i', -1, True, -1)
    c.s.sendall(frame(struct.pack('>ii', 1, MULTI) + body))
    assert c.closed()


def test_multi_without_end_marker_closes(server, bystander):
    c = Raw(server[0])
    body = struct.pack('>i?i', DELETE, False, -1) + ustr('/nothing') + struct.pack('>i', -1)
    c.s.sendall(frame(struct.pack('>ii', 1, MULTI) + body))
    assert c.closed()


def test_client_ahead_of_server_is_refused(server, bystander):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req(last_zxid=1 << 60)))
    assert c.closed()
    assert logged(server, 'as it has seen zxid')


def test_wrong_password_gets_invalid_session_and_drops_the_old_connection(server, bystander):
    port = server[0]
    good = Raw(port)
    bad = Raw(port, handshake=False)
    bad.s.sendall(frame(connect_req(session=good.session, passwd=b'\1' * 16)))
    body = bad.read_frame()
    _, timeout, session = struct.unpack('>iiq', body[:16])
    assert (timeout, session) == (0, 0)
    assert bad.closed()
    # ZooKeeper drops the session's current connection before it checks the
    # password, but the session lives on: the right password gets it back.
    assert good.closed()
    again = Raw(port, handshake=False)
    again.s.sendall(frame(connect_req(session=good.session, passwd=good.passwd)))
    body = again.read_frame()
    assert struct.unpack('>iiq', body[:16])[2] == good.session
    again.close()


def test_unknown_session_gets_invalid_session_then_close(server, bystander):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req(session=0x0123456789abcdef)))
    body = c.read_frame()
    assert struct.unpack('>iiq', body[:16])[1:] == (0, 0)
    assert c.closed()


def test_half_frame_then_disconnect(server, bystander):
    c = Raw(server[0])
    c.s.sendall(struct.pack('>i', 100) + b'abc')
    c.close()
    silent = Raw(server[0], handshake=False)  # connects and sends nothing
    # the bystander fixture checks the server still serves; the silent one stays open
    silent.close()


def test_unknown_auth_scheme_fails_and_closes(server, bystander):
    c = Raw(server[0])
    err, _ = c.request(100, struct.pack('>i', 0) + ustr('nosuch') + ustr(b'x'), xid=-4)
    assert err == AUTHFAILED
    assert c.closed()
    assert logged(server, 'scheme nosuch failed')
