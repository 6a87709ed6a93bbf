"""Just enough of the ZooKeeper client protocol, by hand, to send bad input.

jute: big-endian ints and longs, strings and buffers as a 4-byte length (-1
for null) then the bytes, booleans as one byte.  A frame is a 4-byte length
then the body.
"""
import socket
import struct
import time

MAXBUF = 0xfffff  # jute.maxbuffer's default

# ZooDefs.OpCode
CREATE, DELETE, EXISTS, GETDATA, GETCHILDREN = 1, 2, 3, 4, 8
SYNC, MULTI, MULTI_READ, AUTH = 9, 14, 22, 100

# KeeperException.Code
OK, MARSHALLINGERROR, UNIMPLEMENTED, BADARGUMENTS = 0, -5, -6, -8
NONODE, AUTHFAILED = -101, -115

AUTH_XID = -4


def frame(body):
    return struct.pack('>i', len(body)) + body


def ustr(s):
    if s is None:
        return struct.pack('>i', -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack('>i', len(b)) + b


def connect_req(session=0, passwd=b'\0' * 16, last_zxid=0, timeout=10000):
    return struct.pack('>iqiq', 0, last_zxid, timeout, session) + ustr(passwd) + b'\0'


def create_body(path, data=b'', acl_count=None, flags=0):
    """CreateRequest with one world:anyone ACL, however many acl_count claims."""
    acl = struct.pack('>i', 31) + ustr('world') + ustr('anyone')
    n = 1 if acl_count is None else acl_count
    return ustr(path) + ustr(data) + struct.pack('>i', n) + acl + struct.pack('>i', flags)


def multi_op(op, body, done=False):
    """One MultiHeader {int type; bool done; int err} and its record."""
    return struct.pack('>i?i', op, done, -1) + body


MULTI_END = struct.pack('>i?i', -1, True, -1)


class Raw:
    """A hand-driven connection; handshake=True opens a fresh session."""

    def __init__(self, port, handshake=True):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.port = self.s.getsockname()[1]
        self.xid = 0
        self.session = 0
        self.passwd = b''
        if handshake:
            self.s.sendall(frame(connect_req()))
            self.timeout, self.session, self.passwd = parse_connect_resp(self.read_frame())
            assert self.session != 0

    def ids(self):
        """What zabd's log lines call this client by: address or session."""
        out = ['127.0.0.1:%d' % self.port]
        if self.session:
            out.append('0x%016x' % (self.session & 0xffffffffffffffff))
        return out

    def read_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('closed by the server')
            buf += chunk
        return buf

    def read_frame(self):
        (n,) = struct.unpack('>i', self.read_exact(4))
        return self.read_exact(n)

    def read_frame_raw(self):
        """The next frame with its length prefix, as reply_headers takes it."""
        body = self.read_frame()
        return struct.pack('>i', len(body)) + body

    def send(self, op, body, xid=None):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.s.sendall(frame(struct.pack('>ii', xid, op) + body))
        return xid

    def request(self, op, body, xid=None):
        """Sends a request; returns (err, body) of its reply."""
        xid = self.send(op, body, xid)
        r = self.read_frame()
        rxid, _zxid, err = struct.unpack('>iqi', r[:16])
        assert rxid == xid, 'reply xid %d for request xid %d' % (rxid, xid)
        return err, r[16:]

    def finish(self, within=5.0):
        """Reads until the server closes the connection or `within` seconds
        pass.  Returns (closed, data): closed is True only on EOF or reset,
        data is every byte received meanwhile."""
        deadline = time.monotonic() + within
        data = b''
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, data
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                # Before ConnectionError: socket.timeout is an OSError too.
                return False, data
            except ConnectionError:
                return True, data
            if not chunk:
                return True, data
            data += chunk

    def close(self):
        self.s.close()


def parse_connect_resp(body):
    """ConnectResponse -> (timeOut, sessionId, passwd)."""
    _proto, timeout, session = struct.unpack('>iiq', body[:16])
    (n,) = struct.unpack('>i', body[16:20])
    return timeout, session, body[20:20 + max(n, 0)]


def reply_headers(data):
    """Splits received bytes into frames; returns [(xid, err)] of each
    ReplyHeader, and asserts nothing is left over."""
    out = []
    while data:
        (n,) = struct.unpack('>i', data[:4])
        body = data[4:4 + n]
        assert len(body) == n, 'a cut-short frame'
        xid, _zxid, err = struct.unpack('>iqi', body[:16])
        out.append((xid, err))
        data = data[4 + n:]
    return out
