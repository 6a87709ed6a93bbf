"""A minimal raw-socket ZooKeeper client: connect or reconnect to a session,
getData/exists with a watch, setWatches, and reading watch events.

kazoo 2.8 (Debian's python3-kazoo) never sends setWatches: on a lost
connection it fires every watcher with a NONE event and forgets them. To
check that a watch set before a restart still fires after it, the test has
to re-register it as the official clients do, so it speaks the protocol here.
"""
import socket
import struct
import time

OP_EXISTS = 3
OP_GET_DATA = 4
OP_PING = 11
OP_SET_WATCHES = 101
OP_CLOSE = -11
XID_WATCH = -1
XID_PING = -2
XID_SET_WATCHES = -8

EV_CREATED = 1
EV_DELETED = 2
EV_CHANGED = 3
EV_CHILD = 4


def _string(s):
    b = s.encode()
    return struct.pack('>i', len(b)) + b


def _strings(v):
    return struct.pack('>i', len(v)) + b''.join(_string(s) for s in v)


class RawClient:
    def __init__(self, port, timeout_ms=20000):
        self.port = port
        self.timeout_ms = timeout_ms
        self.session_id = 0
        self.passwd = b'\0' * 16
        self.last_zxid = 0
        self.xid = 0
        self.events = []  # (type, path) in arrival order
        self.sock = None

    # -- framing --
    def _send(self, payload):
        self.sock.sendall(struct.pack('>i', len(payload)) + payload)

    def _recv_exact(self, n, deadline):
        buf = b''
        while len(buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('server closed the connection')
            buf += chunk
        return buf

    def _recv_frame(self, deadline):
        (n,) = struct.unpack('>i', self._recv_exact(4, deadline))
        return self._recv_exact(n, deadline)

    # -- session --
    def connect(self):
        """Connects, or reconnects to the session it already has. Returns the
        negotiated timeout in ms (0 means the server says the session expired)."""
        if self.sock is not None:
            self.sock.close()
        self.sock = socket.create_connection(('127.0.0.1', self.port), timeout=5)
        self._send(struct.pack('>iqiqi', 0, self.last_zxid, self.timeout_ms, self.session_id,
                               len(self.passwd)) + self.passwd + b'\0')
        r = self._recv_frame(time.monotonic() + 10)
        _, timeout, sid, plen = struct.unpack_from('>iiqi', r)
        if timeout > 0:
            self.session_id = sid
            self.passwd = r[20:20 + plen]
        return timeout

    def close_socket(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # -- requests --
    def _call(self, op, body, xid=None, timeout_s=10.0):
        if xid is None:
            self.xid += 1
            xid = self.xid
        self._send(struct.pack('>ii', xid, op) + body)
        deadline = time.monotonic() + timeout_s
        while True:
            r = self._recv_frame(deadline)
            rxid, zxid, err = struct.unpack_from('>iqi', r)
            if rxid == XID_WATCH:
                self._note_event(r[16:])
                continue
            if zxid > 0:
                self.last_zxid = max(self.last_zxid, zxid)
            if rxid == xid:
                return err, r[16:]

    def _note_event(self, body):
        etype, _, plen = struct.unpack_from('>iii', body)
        self.events.append((etype, body[12:12 + plen].decode()))

    def get_data(self, path, watch):
        return self._call(OP_GET_DATA, _string(path) + (b'\1' if watch else b'\0'))[0]

    def exists(self, path, watch):
        return self._call(OP_EXISTS, _string(path) + (b'\1' if watch else b'\0'))[0]

    def set_watches(self, data=(), exist=(), child=()):
        body = struct.pack('>q', self.last_zxid) + _strings(data) + _strings(exist) + \
            _strings(child)
        return self._call(OP_SET_WATCHES, body, xid=XID_SET_WATCHES)[0]

    def ping(self):
        return self._call(OP_PING, b'', xid=XID_PING)[0]

    def wait_events(self, n, timeout_s):
        """Reads until at least n events arrived or timeout_s passed; returns them."""
        deadline = time.monotonic() + timeout_s
        while len(self.events) < n and time.monotonic() < deadline:
            try:
                r = self._recv_frame(deadline)
            except socket.timeout:
                break
            if struct.unpack_from('>i', r)[0] == XID_WATCH:
                self._note_event(r[16:])
        return list(self.events)

    def close(self):
        if self.sock is None:
            return
        try:
            self._call(OP_CLOSE, b'', timeout_s=5)
        except (OSError, ConnectionError):
            pass
        self.close_socket()
