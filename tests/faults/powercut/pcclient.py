"""The power-cut test's clients, over the raw ZooKeeper wire protocol:
pipelined writers that record every acknowledged write, and the check that
each one survived.

Writer: one session per connection, up to WINDOW requests in flight, each a
create2 (for a path not known to exist) or a setData with version -1 on
/pc/c<i>/p<k>. Every reply with err 0 is an acknowledgement: its path, the
version and mzxid from the reply's stat and the sequence number of the data
sent are appended to the ack journal at once (one JSON line, flushed).
Replies that never came (the server died) are outcomes unknown and are not
journalled. The data of write s of connection i in round r on p<k> is
payload(r, i, k, s), so the journal need not hold it and the check can tell
a newer write (a sequence number that was sent) from garbage.

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


def payload(rnd, idx, k, seq):
    """The bytes of one write; seq 0 is the empty data of /pc and /pc/c<i>."""
    if seq == 0:
        return b''
    head = b'r%d-c%d-p%d-s%d-' % (rnd, idx, k, seq)
    return head + b'x' * (16 + (seq * 7919 + idx * 31 + rnd * 131 + k) % 384)


def path_ids(path):
    """(i, k) of /pc/c<i>/p<k>, (i, None) of /pc/c<i>, (None, None) of /pc."""
    parts = path.split('/')[2:]
    idx = int(parts[0][1:]) if parts else None
    k = int(parts[1][1:]) if len(parts) > 1 else None
    return idx, k


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
        self.sent = {}  # (round, connection) -> highest sequence number sent

    def note_sent(self, rnd, idx, seq):
        self.sent[(rnd, idx)] = seq  # one writer per key: no lock needed

    def ack(self, rnd, path, version, seq, mzxid):
        line = json.dumps({'round': rnd, 'path': path, 'version': version, 'seq': seq,
                           'mzxid': mzxid})
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
                self.journal.ack(self.rnd, path, st[4], 0, st[1])
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
                    data = payload(self.rnd, self.idx, k, seq)
                    self.journal.note_sent(self.rnd, self.idx, seq)
                    if path in known:
                        op, body = OP_SET_DATA, jstr(path) + jstr(data) + struct.pack('>i', -1)
                    else:
                        op, body = OP_CREATE2, create2_body(path, data)
                        creating.add(path)
                    conn.send(struct.pack('>ii', xid, op) + body)
                    inflight[xid] = (op, path, seq)
                    xid += 1
                r = conn.frame(time.monotonic() + 5)
                if r is None:
                    raise TimeoutError('no reply within 5 s')
                rxid, zxid, err = struct.unpack_from('>iqi', r)
                if rxid not in inflight:
                    continue  # a watch event or ping: none are asked for
                op, path, seq_sent = inflight.pop(rxid)
                if op == OP_CREATE2:
                    creating.discard(path)
                    if err in (0, ERR_NODEEXISTS):
                        known.add(path)
                    if err == 0:
                        st = parse_create2(r[16:])
                        self.journal.ack(self.rnd, path, st[4], seq_sent, st[1])
                        self.acked += 1
                elif err == 0:
                    st = STAT.unpack_from(r, 16)
                    self.journal.ack(self.rnd, path, st[4], seq_sent, st[1])
                    self.acked += 1
                elif err == ERR_NONODE:
                    known.discard(path)
        finally:
            conn.close()


def was_sent(path, data, sent):
    """Whether data is what some write to path sent (payload() of a sequence
    number its connection reached)."""
    idx, k = path_ids(path)
    if k is None:
        return data == b''
    try:
        head = data.split(b'-x', 1)[0].split(b'x', 1)[0].decode()
        fields = dict((f[0], int(f[1:])) for f in head.rstrip('-').split('-'))
        rnd, seq = fields['r'], fields['s']
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        return False
    return (fields.get('c') == idx and fields.get('p') == k and
            0 < seq <= sent.get((rnd, idx), 0) and data == payload(rnd, idx, k, seq))


def verify(port, journal_path, sent):
    """Checks every acknowledged write against the server's tree.

    For each path the newest acknowledgement (highest version) must be there:
    the node exists, its version is at least the acked one, an equal version
    has the same data and mzxid, and its data is one the writers sent. Each
    /pc/c<i> must count as many children as there are p<k> nodes. Returns
    (paths checked, acknowledged writes lost, problems); a write is lost when
    its node is missing or is at an older version."""
    best = {}
    versions = {}  # path -> every acknowledged version
    with open(journal_path, encoding='utf-8') as f:
        for line in f:
            r = json.loads(line)
            versions.setdefault(r['path'], []).append(r['version'])
            b = best.get(r['path'])
            if b is None or r['version'] > b['version']:
                best[r['path']] = r
    idxs = sorted(set(idx for rnd, idx in sent))
    paths = set(best) | {'/pc'} | {'/pc/c%d' % i for i in idxs} | \
        {'/pc/c%d/p%d' % (i, k) for i in idxs for k in range(PATHS)}
    problems = []
    found = {}
    conn = Conn(port)
    try:
        for xid, path in enumerate(sorted(paths), 1):
            err, body = conn.call(xid, OP_GET_DATA, jstr(path) + b'\0')
            if err == 0:
                (dlen,) = struct.unpack_from('>i', body)
                data = body[4:4 + max(dlen, 0)]
                found[path] = (data, STAT.unpack_from(body, 4 + max(dlen, 0)))
            elif err != ERR_NONODE:
                problems.append('%s: getData error %d' % (path, err))
        conn.send(struct.pack('>ii', len(paths) + 1, OP_CLOSE))
    finally:
        conn.close()
    for path, r in sorted(best.items()):
        got = found.get(path)
        want = 'round %d v%d' % (r['round'], r['version'])
        if got is None:
            problems.append('LOST %s (%s): node missing' % (path, want))
            continue
        data, st = got
        version, mzxid = st[4], st[1]
        idx, k = path_ids(path)
        acked_data = payload(r['round'], idx, k, r['seq']) if k is not None else b''
        if version < r['version']:
            problems.append('LOST %s (%s): version %d' % (path, want, version))
        elif version == r['version'] and (data != acked_data or mzxid != r['mzxid']):
            problems.append('LOST %s (%s): same version, other data or mzxid 0x%x'
                            % (path, want, mzxid))
        elif mzxid < r['mzxid']:
            problems.append('LOST %s (%s): mzxid 0x%x < acked 0x%x'
                            % (path, want, mzxid, r['mzxid']))
    for path, (data, st) in sorted(found.items()):
        if not was_sent(path, data, sent):
            problems.append('GARBAGE %s: data %r was never written' % (path, data[:40]))
    for i in idxs:
        parent = '/pc/c%d' % i
        have = sum(1 for k in range(PATHS) if '%s/p%d' % (parent, k) in found)
        if parent in found and found[parent][1][9] != have:
            problems.append('%s: numChildren %d, but %d children answer getData'
                            % (parent, found[parent][1][9], have))
    lost = sum(1 for path, vs in versions.items() for v in vs
               if path not in found or found[path][1][4] < v)
    return len(best), lost, problems
