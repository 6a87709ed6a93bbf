"""The power-cut test's clients, over the raw ZooKeeper wire protocol:
pipelined writers that record every acknowledged write, and the check that
each one survived.

Writer: one session per connection, up to WINDOW requests in flight, each a
create2 (for a path not known to exist) or a setData with version -1 on
/pc/c<i>/p<k>. Every reply with err 0 is an acknowledgement: its path, the
version and mzxid from the reply's stat and the data sent are appended to the
ack journal at once (one JSON line, flushed). Replies that never came (the
server died) are outcomes unknown and are not journalled. Every payload sent
is remembered too, so the check can tell a newer write from garbage.

Wire formats used (all big-endian, jute): a request is len, xid, type, body;
a reply is len, xid, zxid, err, body; a string is len + bytes; a Stat is
czxid, mzxid, ctime, mtime (longs), version, cversion, aversion (ints),
ephemeralOwner (long), dataLength, numChildren (ints), pzxid (long).
"""
import json
import random
import socket
import struct
import threading
import time

OP_CREATE2 = 15
OP_SET_DATA = 5
OP_GET_DATA = 4
OP_CLOSE = -11
XID_WATCH = -1
ERR_NONODE = -101
ERR_NODEEXISTS = -110
STAT = struct.Struct('>qqqqiiiqiiq')
WORLD_ANYONE_ALL = struct.pack('>i', 1) + struct.pack('>i', 31) + \
    struct.pack('>i', 5) + b'world' + struct.pack('>i', 6) + b'anyone'
WINDOW = 48
PATHS = 24


def jstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack('>i', len(b)) + b


class Conn:
    """One session; frames in and out, nothing else."""

    def __init__(self, port, timeout_s=10.0):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''
        self.send(struct.pack('>iqiqi', 0, 0, 30000, 0, 16) + b'\0' * 16 + b'\0')
        r = self.frame(time.monotonic() + timeout_s)
        if r is None or struct.unpack_from('>i', r, 4)[0] <= 0:
            raise ConnectionError('session refused')

    def send(self, payload):
        self.sock.sendall(struct.pack('>i', len(payload)) + payload)

    def frame(self, deadline):
        """The next frame, or None at the deadline; ConnectionError at EOF."""
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack_from('>i', self.buf)
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                return None
            if not chunk:
                raise ConnectionError('server closed the connection')
            self.buf += chunk

    def call(self, xid, op, body, timeout_s=10.0):
        self.send(struct.pack('>ii', xid, op) + body)
        deadline = time.monotonic() + timeout_s
        while True:
            r = self.frame(deadline)
            if r is None:
                raise TimeoutError('no reply to xid %d' % xid)
            rxid, zxid, err = struct.unpack_from('>iqi', r)
            if rxid == xid:
                return err, r[16:]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def create2_body(path, data):
    return jstr(path) + jstr(data) + WORLD_ANYONE_ALL + struct.pack('>i', 0)


def parse_create2(body):
    (plen,) = struct.unpack_from('>i', body)
    return STAT.unpack_from(body, 4 + plen)


class Journal:
    """Acknowledged writes, one JSON line each, flushed as they arrive."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, 'a', encoding='utf-8')
        self.sent = {}  # path -> set of payload hex sent, across rounds

    def note_sent(self, path, data):
        with self.lock:
            self.sent.setdefault(path, set()).add(data.hex())

    def ack(self, rnd, path, version, data, mzxid):
        line = json.dumps({'round': rnd, 'path': path, 'version': version,
                           'data': data.hex(), 'mzxid': mzxid})
        with self.lock:
            self.f.write(line + '\n')
            self.f.flush()

    def close(self):
        self.f.close()


class Writer(threading.Thread):
    """Pipelined creates and setData on /pc/c<idx>/p<k> until the server goes."""

    def __init__(self, idx, rnd, port, journal, seed, stop):
        super().__init__(daemon=True)
        self.idx, self.rnd, self.port, self.journal = idx, rnd, port, journal
        self.rng = random.Random(seed)
        self.stop_ev = stop
        self.acked = 0
        self.error = None

    def run(self):
        try:
            self.loop()
        except (OSError, ConnectionError, TimeoutError, struct.error) as e:
            self.error = e  # the power cut: expected

    def setup(self, conn):
        """Creates /pc and /pc/c<idx> (acked creates count like any other)."""
        xid = 1
        for path in ('/pc', '/pc/c%d' % self.idx):
            err, body = conn.call(xid, OP_CREATE2, create2_body(path, b''))
            xid += 1
            if err == 0:
                st = parse_create2(body)
                self.journal.ack(self.rnd, path, st[4], b'', st[1])
                self.acked += 1
            elif err != ERR_NODEEXISTS:
                raise ConnectionError('create %s: error %d' % (path, err))
        return xid

    def loop(self):
        conn = Conn(self.port)
        try:
            xid = self.setup(conn)
            known = set()     # paths known to exist
            creating = set()  # paths with a create in flight
            inflight = {}     # xid -> (op, path, data)
            seq = 0
            while not self.stop_ev.is_set():
                while len(inflight) < WINDOW:
                    k = self.rng.randrange(PATHS)
                    path = '/pc/c%d/p%d' % (self.idx, k)
                    if path in creating:
                        break
                    seq += 1
                    data = ('r%d-c%d-s%d-' % (self.rnd, self.idx, seq)).encode() + \
                        b'x' * self.rng.randrange(16, 400)
                    self.journal.note_sent(path, data)
                    if path in known:
                        op, body = OP_SET_DATA, jstr(path) + jstr(data) + struct.pack('>i', -1)
                    else:
                        op, body = OP_CREATE2, create2_body(path, data)
                        creating.add(path)
                    conn.send(struct.pack('>ii', xid, op) + body)
                    inflight[xid] = (op, path, data)
                    xid += 1
                r = conn.frame(time.monotonic() + 5)
                if r is None:
                    raise TimeoutError('no reply within 5 s')
                rxid, zxid, err = struct.unpack_from('>iqi', r)
                if rxid not in inflight:
                    continue  # a watch event or ping: none are asked for
                op, path, data = inflight.pop(rxid)
                if op == OP_CREATE2:
                    creating.discard(path)
                    if err in (0, ERR_NODEEXISTS):
                        known.add(path)
                    if err == 0:
                        st = parse_create2(r[16:])
                        self.journal.ack(self.rnd, path, st[4], data, st[1])
                        self.acked += 1
                elif err == 0:
                    st = STAT.unpack_from(r, 16)
                    self.journal.ack(self.rnd, path, st[4], data, st[1])
                    self.acked += 1
                elif err == ERR_NONODE:
                    known.discard(path)
        finally:
            conn.close()


def verify(port, journal_path, sent, max_report=20):
    """Checks every acknowledged write against the server's tree.

    For each path the newest acknowledgement (highest version) must be there:
    the node exists, its version is at least the acked one, an equal version
    has the same data and mzxid, and its data is one the writers sent. Each
    /pc/c<i> must count as many children as there are p<k> nodes. Returns
    (paths checked, acknowledged writes lost, problems); a write is lost when
    its node is missing or is at an older version."""
    best = {}
    acks = []
    with open(journal_path, encoding='utf-8') as f:
        for line in f:
            r = json.loads(line)
            acks.append((r['path'], r['version']))
            b = best.get(r['path'])
            if b is None or r['version'] > b['version']:
                best[r['path']] = r
    problems = []
    conn = Conn(port)
    try:
        found = {}
        paths = sorted(set(best) | set(sent))
        for xid, path in enumerate(paths, 1):
            err, body = conn.call(xid, OP_GET_DATA, jstr(path) + b'\0')
            if err == 0:
                (dlen,) = struct.unpack_from('>i', body)
                data = body[4:4 + max(dlen, 0)]
                found[path] = (data, STAT.unpack_from(body, 4 + max(dlen, 0)))
            elif err != ERR_NONODE:
                problems.append('%s: getData error %d' % (path, err))
        for path, r in sorted(best.items()):
            got = found.get(path)
            want = 'round %d v%d' % (r['round'], r['version'])
            if got is None:
                problems.append('LOST %s (%s): node missing' % (path, want))
                continue
            data, st = got
            version, mzxid = st[4], st[1]
            if version < r['version']:
                problems.append('LOST %s (%s): version %d' % (path, want, version))
            elif version == r['version'] and (data.hex() != r['data'] or mzxid != r['mzxid']):
                problems.append('LOST %s (%s): same version, other data or mzxid 0x%x'
                                % (path, want, mzxid))
            elif mzxid < r['mzxid']:
                problems.append('LOST %s (%s): mzxid 0x%x < acked 0x%x'
                                % (path, want, mzxid, r['mzxid']))
        for path, (data, st) in found.items():
            if data.hex() not in sent.get(path, ()) and path.count('/') == 3:
                problems.append('GARBAGE %s: data %r was never written' % (path, data[:40]))
        parents = sorted(set(p.rsplit('/', 1)[0] for p in found if p.count('/') == 3))
        for parent in parents:
            have = sum(1 for p in found if p.startswith(parent + '/'))
            if parent in found and found[parent][1][9] != have:
                problems.append('%s: numChildren %d, but %d children answer getData'
                                % (parent, found[parent][1][9], have))
        conn.send(struct.pack('>ii', len(paths) + 1, OP_CLOSE))
    finally:
        conn.close()
    lost = sum(1 for path, v in acks if path not in found or found[path][1][4] < v)
    return len(best), lost, problems
