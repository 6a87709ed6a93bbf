"""Raw ZooKeeper requests that kazoo 2.8 has no API for.

kazoo 2.8 (Debian's python3-kazoo) knows neither containers, TTL nodes,
addWatch, removeWatches nor whoAmI, and it normalises every path before
sending it, so the server never sees a malformed one.  Each class below is
one jute request record shaped like kazoo's own (a ``type`` opcode, a
``serialize`` and a ``deserialize``), handed to the client's request queue
with ``call``; replies and error codes then flow through kazoo's normal
machinery, so a server error still raises kazoo's exception class.

``EventRecorder`` taps the connection's watch-event reader: kazoo drops
events for which it registered no one-shot watcher (persistent watches),
so the tests read the raw (type, path) stream instead.
"""
import struct
import threading
import time
from collections import namedtuple

from kazoo.exceptions import EXCEPTIONS, ZookeeperError
from kazoo.protocol.serialization import (
    ZnodeStat, int_struct, read_string, stat_struct, write_buffer,
    write_string)
from kazoo.security import OPEN_ACL_UNSAFE

# Opcodes (ZooDefs.OpCode).
OP_CREATE = 1
OP_CHECK_WATCHES = 17
OP_REMOVE_WATCHES = 18
OP_CREATE_CONTAINER = 19
OP_CREATE_TTL = 21
OP_GET_EPHEMERALS = 103
OP_GET_ALL_CHILDREN_NUMBER = 104
OP_ADD_WATCH = 106
OP_WHO_AM_I = 107

# CreateMode flags.
MODE_PERSISTENT = 0
MODE_EPHEMERAL = 1
MODE_PERSISTENT_SEQUENTIAL = 2
MODE_CONTAINER = 4
MODE_PERSISTENT_WITH_TTL = 5
MODE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6

# AddWatchMode.
ADD_WATCH_PERSISTENT = 0
ADD_WATCH_PERSISTENT_RECURSIVE = 1

# WatcherType for removeWatches/checkWatches.
WATCHER_CHILDREN = 1
WATCHER_DATA = 2
WATCHER_ANY = 3

# Event types on the wire.
EV_CREATED = 1
EV_DELETED = 2
EV_CHANGED = 3
EV_CHILD = 4


class NoWatcherError(ZookeeperError):
    """ZNOWATCHER (-121): kazoo 2.8 has no class for it and would kill its
    connection thread with 'Invalid error code' on receiving it."""
    code = -121


class RequestTimeoutError(ZookeeperError):
    code = -122


class QuotaExceededError(ZookeeperError):
    code = -125


class ThrottledError(ZookeeperError):
    code = -127


for _cls in (NoWatcherError, RequestTimeoutError, QuotaExceededError,
             ThrottledError):
    EXCEPTIONS.setdefault(_cls.code, _cls)


def _acl_bytes(acl):
    b = bytearray(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) +
                 write_string(a.id.id))
    return b


def _create2_reply(buf, off):
    path, off = read_string(buf, off)
    return path, ZnodeStat._make(stat_struct.unpack_from(buf, off))


class RawCreate(namedtuple('RawCreate', 'path data acl flags')):
    """CreateRequest sent verbatim (no client-side path normalisation)."""
    type = OP_CREATE

    def serialize(self):
        return (write_string(self.path) + write_buffer(self.data) +
                _acl_bytes(self.acl) + int_struct.pack(self.flags))

    @classmethod
    def deserialize(cls, buf, off):
        return read_string(buf, off)[0]


class CreateContainer(RawCreate):
    """createContainer: CreateRequest body, Create2Response reply."""
    type = OP_CREATE_CONTAINER

    @classmethod
    def deserialize(cls, buf, off):
        return _create2_reply(buf, off)


class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
    type = OP_CREATE_TTL

    def serialize(self):
        return (write_string(self.path) + write_buffer(self.data) +
                _acl_bytes(self.acl) + int_struct.pack(self.flags) +
                struct.pack('!q', self.ttl))

    @classmethod
    def deserialize(cls, buf, off):
        return _create2_reply(buf, off)


class _PathMode(namedtuple('_PathMode', 'path mode')):
    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.mode)

    @classmethod
    def deserialize(cls, buf, off):
        return True


class AddWatch(_PathMode):
    type = OP_ADD_WATCH


class RemoveWatches(_PathMode):
    type = OP_REMOVE_WATCHES


class CheckWatches(_PathMode):
    type = OP_CHECK_WATCHES


class GetEphemerals(namedtuple('GetEphemerals', 'prefix')):
    type = OP_GET_EPHEMERALS

    def serialize(self):
        return write_string(self.prefix)

    @classmethod
    def deserialize(cls, buf, off):
        n = int_struct.unpack_from(buf, off)[0]
        off += 4
        out = []
        for _ in range(max(n, 0)):
            s, off = read_string(buf, off)
            out.append(s)
        return out


class GetAllChildrenNumber(namedtuple('GetAllChildrenNumber', 'path')):
    type = OP_GET_ALL_CHILDREN_NUMBER

    def serialize(self):
        return write_string(self.path)

    @classmethod
    def deserialize(cls, buf, off):
        return int_struct.unpack_from(buf, off)[0]


class WhoAmI(object):
    """whoAmI has no request body.  Not an empty namedtuple: kazoo skips
    the reply of a falsy request object."""
    type = OP_WHO_AM_I

    def serialize(self):
        return b''

    @classmethod
    def deserialize(cls, buf, off):
        n = int_struct.unpack_from(buf, off)[0]
        off += 4
        out = []
        for _ in range(max(n, 0)):
            scheme, off = read_string(buf, off)
            ident, off = read_string(buf, off)
            out.append((scheme, ident))
        return out


def call(zk, request, timeout=10):
    """Send one raw request on zk's session and return its decoded reply."""
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get(timeout=timeout)


def create_container(zk, path, data=b'', acl=None):
    return call(zk, CreateContainer(path, data, acl or OPEN_ACL_UNSAFE,
                                    MODE_CONTAINER))


def create_ttl(zk, path, ttl_ms, data=b'', acl=None, sequential=False):
    flags = (MODE_PERSISTENT_SEQUENTIAL_WITH_TTL if sequential
             else MODE_PERSISTENT_WITH_TTL)
    return call(zk, CreateTTL(path, data, acl or OPEN_ACL_UNSAFE, flags,
                              ttl_ms))


class EventRecorder(object):
    """Records every watch event the server sends on zk's connection.

    Installs itself in front of the connection's event reader; kazoo keeps
    dispatching one-shot watchers as before.  Must be installed while the
    client is connected and is lost if kazoo rebuilds its connection object
    (it does not on a plain reconnect).
    """

    def __init__(self, zk):
        self.events = []
        self._cond = threading.Condition()
        conn = zk._connection
        original = conn._read_watch_event

        def tap(buf, off):
            t, _state = struct.unpack_from('!ii', buf, off)
            path = read_string(buf, off + 8)[0]
            if zk.chroot and path.startswith(zk.chroot):
                path = path[len(zk.chroot):] or '/'
            with self._cond:
                self.events.append((t, path))
                self._cond.notify_all()
            return original(buf, off)

        conn._read_watch_event = tap

    def wait_for(self, n, timeout_s=5.0):
        """Waits until at least n events arrived; returns a copy of all."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.events) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.events)

    def take(self):
        with self._cond:
            out, self.events = self.events, []
            return out


STAT_LEN = stat_struct.size


class RawMulti(namedtuple('RawMulti', 'ops')):
    """multi (opcode 14) of sub-ops given as (opcode, record bytes); the
    reply comes back as [(type, err, path, stat)] exactly as the server
    framed each result, so a test sees the result types themselves."""
    type = 14

    def serialize(self):
        b = bytearray()
        for op, record in self.ops:
            b.extend(struct.pack('!i?i', op, False, -1) + record)
        b.extend(struct.pack('!i?i', -1, True, -1))
        return bytes(b)

    @classmethod
    def deserialize(cls, buf, off):
        out = []
        while True:
            t, done, err = struct.unpack_from('!i?i', buf, off)
            off += 9
            if done:
                return out
            path = stat = None
            if t == -1:
                err = int_struct.unpack_from(buf, off)[0]
                off += 4
            elif t in (1, 15):
                path, off = read_string(buf, off)
                if t == 15:
                    stat = ZnodeStat._make(stat_struct.unpack_from(buf, off))
                    off += STAT_LEN
            elif t == 5:
                stat = ZnodeStat._make(stat_struct.unpack_from(buf, off))
                off += STAT_LEN
            out.append((t, err, path, stat))


def create_record(path, data=b'', acl=None, flags=0, ttl=None):
    """A CreateRequest (or CreateTTLRequest when ttl is given) record."""
    b = (write_string(path) + write_buffer(data) + _acl_bytes(acl or OPEN_ACL_UNSAFE) +
         int_struct.pack(flags))
    if ttl is not None:
        b += struct.pack('!q', ttl)
    return b


def check_record(path, version=-1):
    return write_string(path) + int_struct.pack(version)
