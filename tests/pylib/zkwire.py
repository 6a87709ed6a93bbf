"""The ZooKeeper client protocol by hand: every request record, every reply
record, and a connection that reads every frame (replies and notifications).

Jute is big-endian: int = 4 bytes, long = 8, boolean = 1; a buffer or ustring
is an int length (-1 for null) then the bytes; a vector is an int count (-1
for null) then the elements.  On TCP every packet is a 4-byte length then the
body.  A request body is RequestHeader {int xid; int type} then the record; a
reply is ReplyHeader {int xid; long zxid; int err} then the record (only when
err is 0).  Notifications carry xid -1 and a WatcherEvent {int type; int
state; ustring path}.

Strings given as Python str are UTF-8 encoded; bytes go out verbatim, so a
caller controls every byte (malformed UTF-8, NULs, bad lengths).
"""
import socket
import struct
import time

# ZooDefs.OpCode
NOTIFICATION, CREATE, DELETE, EXISTS, GETDATA, SETDATA = 0, 1, 2, 3, 4, 5
GETACL, SETACL, GETCHILDREN, SYNC, PING, GETCHILDREN2 = 6, 7, 8, 9, 11, 12
CHECK, MULTI, CREATE2, RECONFIG, CHECKWATCHES, REMOVEWATCHES = 13, 14, 15, 16, 17, 18
CREATECONTAINER, DELETECONTAINER, CREATETTL, MULTIREAD = 19, 20, 21, 22
AUTH, SETWATCHES, SASL, GETEPHEMERALS, GETALLCHILDRENNUMBER = 100, 101, 102, 103, 104
SETWATCHES2, ADDWATCH, WHOAMI = 105, 106, 107
CREATESESSION, CLOSESESSION, ERROR = -10, -11, -1

OP_NAMES = {
    CREATE: 'create', DELETE: 'delete', EXISTS: 'exists', GETDATA: 'getData',
    SETDATA: 'setData', GETACL: 'getACL', SETACL: 'setACL',
    GETCHILDREN: 'getChildren', SYNC: 'sync', PING: 'ping',
    GETCHILDREN2: 'getChildren2', CHECK: 'check', MULTI: 'multi',
    CREATE2: 'create2', RECONFIG: 'reconfig', CHECKWATCHES: 'checkWatches',
    REMOVEWATCHES: 'removeWatches', CREATECONTAINER: 'createContainer',
    DELETECONTAINER: 'deleteContainer', CREATETTL: 'createTTL',
    MULTIREAD: 'multiRead', AUTH: 'auth', SETWATCHES: 'setWatches',
    SASL: 'sasl', GETEPHEMERALS: 'getEphemerals',
    GETALLCHILDRENNUMBER: 'getAllChildrenNumber', SETWATCHES2: 'setWatches2',
    ADDWATCH: 'addWatch', WHOAMI: 'whoAmI', CLOSESESSION: 'closeSession',
}

XID_NOTIFICATION, XID_PING, XID_AUTH, XID_SETWATCHES = -1, -2, -4, -8

PERM_READ, PERM_WRITE, PERM_CREATE, PERM_DELETE, PERM_ADMIN, PERM_ALL = 1, 2, 4, 8, 16, 31

ERR_NAMES = {
    0: 'OK', -1: 'SYSTEMERROR', -2: 'RUNTIMEINCONSISTENCY', -3: 'DATAINCONSISTENCY',
    -4: 'CONNECTIONLOSS', -5: 'MARSHALLINGERROR', -6: 'UNIMPLEMENTED',
    -7: 'OPERATIONTIMEOUT', -8: 'BADARGUMENTS', -12: 'UNKNOWNSESSION',
    -13: 'NEWCONFIGNOQUORUM', -14: 'RECONFIGINPROGRESS', -100: 'APIERROR',
    -101: 'NONODE', -102: 'NOAUTH', -103: 'BADVERSION',
    -108: 'NOCHILDRENFOREPHEMERALS', -110: 'NODEEXISTS', -111: 'NOTEMPTY',
    -112: 'SESSIONEXPIRED', -113: 'INVALIDCALLBACK', -114: 'INVALIDACL',
    -115: 'AUTHFAILED', -116: 'CLOSING', -117: 'NOTHING', -118: 'SESSIONMOVED',
    -119: 'NOTREADONLY', -120: 'EPHEMERALONLOCALSESSION', -121: 'NOWATCHER',
    -122: 'REQUESTTIMEOUT', -123: 'RECONFIGDISABLED',
    -124: 'SESSIONCLOSEDREQUIRESASLAUTH', -125: 'QUOTAEXCEEDED', -127: 'THROTTLEDOP',
}


UNIMPLEMENTED_ERR, AUTHFAILED_ERR = -6, -115


def err_name(err):
    return ERR_NAMES.get(err, str(err))


# ---- encoding ---------------------------------------------------------------

def i32(v):
    return struct.pack('>i', v)


def i64(v):
    return struct.pack('>q', v)


def boolean(v):
    return b'\1' if v else b'\0'


def ustr(s):
    """A ustring; None is null; str is UTF-8 encoded; bytes go as they are."""
    if s is None:
        return i32(-1)
    b = s.encode() if isinstance(s, str) else bytes(s)
    return i32(len(b)) + b


buf = ustr


def acl_vec(acl):
    """acl: None (null vector) or a list of (perms, scheme, id)."""
    if acl is None:
        return i32(-1)
    return i32(len(acl)) + b''.join(i32(p) + ustr(s) + ustr(i) for p, s, i in acl)


def str_vec(v):
    if v is None:
        return i32(-1)
    return i32(len(v)) + b''.join(ustr(s) for s in v)


def frame(body):
    return i32(len(body)) + body


def connect_req(session=0, passwd=b'\0' * 16, last_zxid=0, timeout_ms=30000, read_only=False):
    return (i32(0) + i64(last_zxid) + i32(timeout_ms) + i64(session) + buf(passwd) +
            boolean(read_only))


def create_req(path, data=b'', acl=((PERM_ALL, 'world', 'anyone'),), flags=0, ttl=None):
    body = ustr(path) + buf(data) + acl_vec(None if acl is None else list(acl)) + i32(flags)
    if ttl is not None:
        body += i64(ttl)
    return body


def path_version(path, version):
    return ustr(path) + i32(version)


def path_watch(path, watch):
    return ustr(path) + boolean(watch)


def set_data_req(path, data, version):
    return ustr(path) + buf(data) + i32(version)


def set_acl_req(path, acl, version):
    return ustr(path) + acl_vec(None if acl is None else list(acl)) + i32(version)


def path_int(path, v):
    return ustr(path) + i32(v)


def auth_req(scheme, auth):
    return i32(0) + ustr(scheme) + buf(auth)


def set_watches_req(rel_zxid, data=(), exist=(), child=(), persistent=None, recursive=None):
    body = i64(rel_zxid) + str_vec(list(data)) + str_vec(list(exist)) + str_vec(list(child))
    if persistent is not None:
        body += str_vec(list(persistent)) + str_vec(list(recursive or []))
    return body


def reconfig_req(joining=None, leaving=None, members=None, config_id=-1):
    return ustr(joining) + ustr(leaving) + ustr(members) + i64(config_id)


def multi_header(op, done=False, err=-1):
    return i32(op) + boolean(done) + i32(err)


MULTI_END = multi_header(-1, True, -1)


# ---- decoding ---------------------------------------------------------------

class Short(Exception):
    pass


class Reader(object):
    def __init__(self, b, off=0):
        self.b = b
        self.off = off

    def left(self):
        return len(self.b) - self.off

    def take(self, n):
        if n < 0 or self.off + n > len(self.b):
            raise Short('need %d bytes at %d of %d' % (n, self.off, len(self.b)))
        out = self.b[self.off:self.off + n]
        self.off += n
        return out

    def i32(self):
        return struct.unpack('>i', self.take(4))[0]

    def i64(self):
        return struct.unpack('>q', self.take(8))[0]

    def boolean(self):
        return self.take(1) != b'\0'

    def buf(self):
        n = self.i32()
        if n == -1:
            return None
        return self.take(n)

    def ustr(self):
        b = self.buf()
        if b is None:
            return None
        try:
            return b.decode()
        except UnicodeDecodeError:
            return {'hex': b.hex()}

    def str_vec(self):
        n = self.i32()
        if n == -1:
            return None
        return [self.ustr() for _ in range(n)]

    def stat(self):
        keys = ('czxid', 'mzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion',
                'ephemeralOwner', 'dataLength', 'numChildren', 'pzxid')
        fmt = '>qqqqiiiqiiq'
        return dict(zip(keys, struct.unpack(fmt, self.take(struct.calcsize(fmt)))))

    def acl_vec(self):
        n = self.i32()
        if n == -1:
            return None
        return [[self.i32(), self.ustr(), self.ustr()] for _ in range(n)]


def decode_multi(r, is_read):
    out = []
    while True:
        typ, done, err = r.i32(), r.boolean(), r.i32()
        if done:
            return out
        if typ == ERROR:
            out.append({'type': typ, 'err': r.i32()})
        elif typ == CREATE:
            out.append({'type': typ, 'path': r.ustr()})
        elif typ == CREATE2:
            out.append({'type': typ, 'path': r.ustr(), 'stat': r.stat()})
        elif typ == SETDATA:
            out.append({'type': typ, 'stat': r.stat()})
        elif typ in (DELETE, CHECK):
            out.append({'type': typ})
        elif typ == GETDATA:
            out.append({'type': typ, 'data': hexb(r.buf()), 'stat': r.stat()})
        elif typ == GETCHILDREN:
            out.append({'type': typ, 'children': r.str_vec()})
        else:
            out.append({'type': typ, 'undecoded': r.take(r.left()).hex()})
            return out


def hexb(b):
    return None if b is None else b.hex()


def decode_body(op, body):
    """The reply record of a successful `op`, as plain data.  Whatever does
    not decode, or is left over, is kept as hex so it is still compared."""
    r = Reader(body)
    out = {}
    try:
        if op in (CREATE,):
            out['path'] = r.ustr()
        elif op in (CREATE2, CREATECONTAINER, CREATETTL):
            out['path'] = r.ustr()
            out['stat'] = r.stat()
        elif op in (EXISTS, SETDATA, SETACL):
            out['stat'] = r.stat()
        elif op == GETDATA:
            out['data'] = hexb(r.buf())
            out['stat'] = r.stat()
        elif op == GETACL:
            out['acl'] = r.acl_vec()
            out['stat'] = r.stat()
        elif op == GETCHILDREN:
            out['children'] = r.str_vec()
        elif op == GETEPHEMERALS:
            out['paths'] = r.str_vec()
        elif op == GETCHILDREN2:
            out['children'] = r.str_vec()
            out['stat'] = r.stat()
        elif op == SYNC:
            out['path'] = r.ustr()
        elif op in (MULTI, MULTIREAD):
            out['results'] = decode_multi(r, op == MULTIREAD)
        elif op == GETALLCHILDRENNUMBER:
            out['number'] = r.i32()
        elif op == ADDWATCH:
            out['err'] = r.i32()
        elif op == WHOAMI:
            n = r.i32()
            out['clients'] = None if n == -1 else [[r.ustr(), r.ustr()] for _ in range(n)]
        elif op == CHECK:
            if r.left():
                out['stat'] = r.stat()
    except Short as e:
        out['short'] = str(e)
    if r.left():
        out['rest'] = r.take(r.left()).hex()
    return out


def decode_connect_resp(body):
    r = Reader(body)
    out = {}
    try:
        out['protocol'] = r.i32()
        out['timeout'] = r.i32()
        out['session'] = r.i64()
        pw = r.buf()
        out['passwd_len'] = None if pw is None else len(pw)
        out['passwd'] = pw
        if r.left():
            out['read_only'] = r.boolean()
    except Short as e:
        out['short'] = str(e)
    if r.left():
        out['rest'] = r.take(r.left()).hex()
    return out


# ---- a connection -----------------------------------------------------------

class Closed(Exception):
    """The server closed the connection (EOF or reset)."""


class Timeout(Exception):
    pass


class Conn(object):
    """One TCP connection speaking the client protocol.  Frames are read
    whole; the caller decides what they are."""

    def __init__(self, port, timeout_s=5.0):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=timeout_s)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b''
        self.closed = False
        self.timeout_s = timeout_s

    def send(self, data):
        try:
            self.s.sendall(data)
        except OSError:
            self.closed = True
            raise Closed('send failed')

    def send_request(self, xid, op, body):
        self.send(frame(i32(xid) + i32(op) + body))

    def read_frame(self, timeout_s=None):
        """The next frame's body; raises Closed or Timeout."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            if len(self.rbuf) >= 4:
                (n,) = struct.unpack('>i', self.rbuf[:4])
                if n < 0:
                    raise Closed('negative frame length %d' % n)
                if len(self.rbuf) >= 4 + n:
                    body = self.rbuf[4:4 + n]
                    self.rbuf = self.rbuf[4 + n:]
                    return body
            if self.closed:
                raise Closed('closed')
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout('no frame within the deadline')
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                raise Timeout('no frame within the deadline')
            except OSError:
                self.closed = True
                continue
            if not chunk:
                self.closed = True
                continue
            self.rbuf += chunk

    def wait_closed(self, within_s):
        """True once the server closed the connection (EOF or reset);
        False if it is still open after within_s or sent more frames."""
        deadline = time.monotonic() + within_s
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0 or len(self.rbuf) >= 4:
                return False
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            self.rbuf += chunk
        return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
        self.closed = True


def parse_reply_header(body):
    xid, zxid, err = struct.unpack('>iqi', body[:16])
    return xid, zxid, err, body[16:]


def parse_event(body):
    r = Reader(body)
    try:
        return {'type': r.i32(), 'state': r.i32(), 'path': r.ustr(),
                'rest': r.take(r.left()).hex() if r.left() else None}
    except Short:
        return {'undecoded': body.hex()}
