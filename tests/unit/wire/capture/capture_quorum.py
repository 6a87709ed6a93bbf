#!/usr/bin/env python3
"""Captures the quorum and election traffic of a real Apache ZooKeeper 3.8
ensemble (the Debian package `zookeeper`) and writes it as C fixtures for
tests/unit/wire/test_quorum.cpp.

Rerun (about 30 s; needs java and /usr/share/java/zookeeper.jar):

    python3 tests/unit/wire/capture/capture_quorum.py \
        --out tests/unit/wire/quorum_capture.inc

How it works: three servers on 127.0.0.1, each with its own zoo.cfg in which
its own server.N line names its real quorum and election ports and the other
two lines name ports of a TCP relay in this process. Every connection a peer
opens to another therefore passes the relay, which forwards the bytes and
records each direction. A hand-written client (tests/pylib/zkwire.py) then
opens a session on a follower, creates znodes, runs sync, pings, and moves the
session to the other follower (REVALIDATE). Afterwards the servers are stopped
by PID, the recorded streams are cut into messages (QuorumPacket records on
the quorum port, the initial message plus length-framed notifications on the
election port) and the first message of each kind is written out.

Everything binds to 127.0.0.1 only; every wait has a deadline; every process
started here is stopped by its PID.
"""
import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', '..', 'pylib'))
import zkwire  # noqa: E402

ZK_CP = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar'
QP_NAMES = {1: 'REQUEST', 2: 'PROPOSAL', 3: 'ACK', 4: 'COMMIT', 5: 'PING', 6: 'REVALIDATE',
            7: 'SYNC', 8: 'INFORM', 9: 'COMMITANDACTIVATE', 10: 'NEWLEADER',
            11: 'FOLLOWERINFO', 12: 'UPTODATE', 13: 'DIFF', 14: 'TRUNC', 15: 'SNAP',
            16: 'OBSERVERINFO', 17: 'LEADERINFO', 18: 'ACKEPOCH', 19: 'INFORMANDACTIVATE'}


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Relay(object):
    """Listens on 127.0.0.1:listen_port, forwards to 127.0.0.1:target_port
    and records (conn, direction, bytes) chunks. 'up' is connector to
    listener, 'down' the reverse."""

    def __init__(self, name, listen_port, target_port, stop):
        self.name, self.target, self.stop = name, target_port, stop
        self.chunks = []  # (conn_id, dir, bytes)
        self.lock = threading.Lock()
        self.n_conns = 0
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', listen_port))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.threads = [threading.Thread(target=self.accept_loop, daemon=True)]
        self.threads[0].start()

    def accept_loop(self):
        while not self.stop.is_set():
            try:
                c, _ = self.ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection(('127.0.0.1', self.target), timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                cid = self.n_conns
                self.n_conns += 1
            for src, dst, d in ((c, u, 'up'), (u, c, 'down')):
                t = threading.Thread(target=self.pump, args=(cid, src, dst, d), daemon=True)
                t.start()
                self.threads.append(t)
        self.ls.close()

    def pump(self, cid, src, dst, d):
        src.settimeout(0.2)
        while not self.stop.is_set():
            try:
                b = src.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            with self.lock:
                self.chunks.append((cid, d, b))
            try:
                dst.sendall(b)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def streams(self):
        out = {}
        with self.lock:
            for cid, d, b in self.chunks:
                out[(cid, d)] = out.get((cid, d), b'') + b
        return out


def four_letter(port, cmd):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=2)
        s.sendall(cmd.encode())
        data = b''
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
        return data.decode(errors='replace')
    except OSError:
        return ''


def wait_until(cond, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    return None


def request(conn, xid, op, body):
    conn.send_request(xid, op, body)
    for _ in range(20):
        rx, zxid, err, rest = zkwire.parse_reply_header(conn.read_frame())
        if rx == xid:
            if err != 0:
                raise RuntimeError('op %d failed: %d' % (op, err))
            return rest
    raise RuntimeError('no reply to xid %d' % xid)


def session_open(port, session=0, passwd=b'\0' * 16):
    c = zkwire.Conn(port, timeout_s=10)
    c.send(zkwire.frame(zkwire.connect_req(session=session, passwd=passwd, timeout_ms=10000)))
    r = zkwire.decode_connect_resp(c.read_frame())
    if r.get('session', 0) == 0:
        raise RuntimeError('connect refused: %r' % r)
    return c, r['session'], r['passwd']


def drive(client_port_f1, client_port_f2, tick_ms):
    """Client traffic through the followers: writes, sync, pings, a session
    move (REVALIDATE), then closeSession."""
    c, sid, pw = session_open(client_port_f1)
    request(c, 1, zkwire.CREATE, zkwire.create_req('/qcap', b'hello'))
    request(c, 2, zkwire.CREATE, zkwire.create_req('/qcap/a', b'', flags=1))  # ephemeral
    request(c, 3, zkwire.SETDATA, zkwire.set_data_req('/qcap', b'world', 0))
    request(c, 4, zkwire.SYNC, zkwire.ustr('/qcap'))
    # Client pings keep the session in the follower's touch table, so the
    # follower's PING replies to the leader carry it.
    end = time.monotonic() + 4 * tick_ms / 1000.0
    xid = 5
    while time.monotonic() < end:
        c.send_request(zkwire.XID_PING, zkwire.PING, b'')
        c.read_frame()
        time.sleep(tick_ms / 4000.0)
    c.close()
    # The same session on the other follower: it asks the leader (REVALIDATE).
    c2, sid2, _ = session_open(client_port_f2, session=sid, passwd=pw)
    assert sid2 == sid
    request(c2, xid, zkwire.DELETE, zkwire.path_version('/qcap/a', -1))
    request(c2, xid + 1, zkwire.CLOSESESSION, b'')
    c2.close()
    return sid


# ---- cutting the streams into messages ---------------------------------------------

def cut_quorum(b):
    """QuorumPacket records, back to back with no frame: int type, long zxid,
    buffer data, vector<Id> authinfo. Stops at a SNAP (the snapshot stream
    that follows is not a QuorumPacket) or at a partial record."""
    out, off = [], 0
    while off + 16 <= len(b):
        start = off
        typ, zxid, dlen = struct.unpack_from('>iqi', b, off)
        off += 16
        if dlen > 0:
            off += dlen
        if off + 4 > len(b):
            break
        (n,) = struct.unpack_from('>i', b, off)
        off += 4
        ok = True
        for _ in range(max(n, 0)):
            for _ in range(2):
                if off + 4 > len(b):
                    ok = False
                    break
                (sl,) = struct.unpack_from('>i', b, off)
                off += 4 + max(sl, 0)
        if not ok or off > len(b):
            break
        out.append((typ, zxid, b[start:off]))
        if typ == 15:
            break
    return out


def cut_election(b, initial):
    """The initial message (when this is the connector's direction), then
    4-byte length frames."""
    out, off = [], 0
    if initial and len(b) >= 8:
        (pv,) = struct.unpack_from('>q', b, 0)
        if pv >= 0:
            out.append(('init_old', b[:8]))
            off = 8
        elif len(b) >= 20:
            (alen,) = struct.unpack_from('>i', b, 16)
            out.append(('init', b[:20 + alen]))
            off = 20 + alen
    while off + 4 <= len(b):
        (n,) = struct.unpack_from('>i', b, off)
        if n <= 0 or off + 4 + n > len(b):
            break
        out.append(('notification', b[off:off + 4 + n]))
        off += 4 + n
    return out


def c_array(name, b, comment):
    lines = ['/* %s */' % comment, 'static const uint8_t %s[] = {' % name]
    for i in range(0, len(b), 12):
        lines.append('    ' + ', '.join('0x%02x' % x for x in b[i:i + 12]) + ',')
    lines.append('};')
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()

    tick_ms = 1000
    ids = (1, 2, 3)
    ports = free_ports(15)
    cport = dict(zip(ids, ports[0:3]))
    realq = dict(zip(ids, ports[3:6]))
    reale = dict(zip(ids, ports[6:9]))
    relq = dict(zip(ids, ports[9:12]))
    rele = dict(zip(ids, ports[12:15]))
    top = tempfile.mkdtemp(prefix='zabd-qcap-')
    stop = threading.Event()
    relays = {}
    procs = {}
    try:
        for i in ids:
            relays[('q', i)] = Relay('q%d' % i, relq[i], realq[i], stop)
            relays[('e', i)] = Relay('e%d' % i, rele[i], reale[i], stop)
        for i in ids:
            d = os.path.join(top, 's%d' % i)
            os.makedirs(os.path.join(d, 'data'))
            with open(os.path.join(d, 'data', 'myid'), 'w') as f:
                f.write('%d\n' % i)
            lines = ['tickTime=%d' % tick_ms, 'initLimit=10', 'syncLimit=5',
                     'dataDir=%s' % os.path.join(d, 'data'), 'clientPort=%d' % cport[i],
                     'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*',
                     'admin.enableServer=false']
            for j in ids:
                q, e = (realq[j], reale[j]) if j == i else (relq[j], rele[j])
                lines.append('server.%d=127.0.0.1:%d:%d' % (j, q, e))
            cfg = os.path.join(d, 'zoo.cfg')
            with open(cfg, 'w') as f:
                f.write('\n'.join(lines) + '\n')
            log = open(os.path.join(d, 'server.log'), 'w')
            procs[i] = subprocess.Popen(
                ['java', '-Xmx256m', '-Dzookeeper.log.dir=' + d,
                 '-Dzookeeper.root.logger=INFO,CONSOLE', '-cp', ZK_CP,
                 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
                stdout=log, stderr=subprocess.STDOUT)
            log.close()

        def modes():
            m = {}
            for i in ids:
                for line in four_letter(cport[i], 'srvr').splitlines():
                    if line.startswith('Mode:'):
                        m[i] = line.split()[1]
            return m if sorted(m.values()) == ['follower', 'follower', 'leader'] else None

        m = wait_until(modes, 90)
        if not m:
            raise RuntimeError('no quorum within 90 s; logs in %s' % top)
        leader = [i for i in ids if m[i] == 'leader'][0]
        f1, f2 = [i for i in ids if m[i] == 'follower']
        print('leader %d, followers %d %d' % (leader, f1, f2))
        sid = drive(cport[f1], cport[f2], tick_ms)
        print('session 0x%x done' % sid)
        time.sleep(2 * tick_ms / 1000.0)  # a few more PINGs either way
    finally:
        for i, p in procs.items():
            p.send_signal(signal.SIGTERM)
        for i, p in procs.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        stop.set()
        for r in relays.values():
            for t in r.threads:
                t.join(timeout=2)

    # Collect the first message of each kind.
    found = {}
    dump = []
    allq = []
    for (kind, i), r in sorted(relays.items()):
        for (cid, d), b in sorted(r.streams().items()):
            if kind == 'q':
                who = 'learner' if d == 'up' else 'leader'
                for typ, zxid, raw in cut_quorum(b):
                    name = QP_NAMES.get(typ, str(typ))
                    dump.append('q%d c%d %s %s zxid=0x%x %s' % (i, cid, who, name, zxid, raw.hex()))
                    key = ('qp', who, name, len(raw) > 20 if name in ('PING', 'REQUEST') else 0)
                    if name == 'REQUEST':
                        key = ('qp', who, name, struct.unpack_from('>i', raw, 28)[0])
                    if name == 'PROPOSAL':
                        key = ('qp', who, name, struct.unpack_from('>i', raw, 16 + 28)[0])
                    where = 'q%d conn %d, %s to %s, %s zxid 0x%x' % (
                        i, cid, who, 'leader' if who == 'learner' else 'learner', name, zxid)
                    found.setdefault(key, (raw, where))
                    allq.append((i, cid, who, name, zxid, raw, where))
            else:
                for what, raw in cut_election(b, d == 'up'):
                    dump.append('e%d c%d %s %s %s' % (i, cid, d, what, raw.hex()))
                    key = ('el', what, len(raw))
                    found.setdefault(key, (raw, 'e%d conn %d, %s' % (i, cid, what)))
    with open(os.path.join(top, 'messages.txt'), 'w') as f:
        f.write('\n'.join(dump) + '\n')

    # The COMMIT of the create chosen above, on the same connection.
    if ('qp', 'leader', 'PROPOSAL', 1) in found:
        praw = found[('qp', 'leader', 'PROPOSAL', 1)][0]
        p = [q for q in allq if q[5] == praw][0]
        for q in allq:
            if q[:3] == p[:3] and q[3] == 'COMMIT' and q[4] == p[4]:
                found[('qp', 'leader', 'COMMIT', 0)] = (q[5], q[6])
                break
    want = [
        ('k_cap_followerinfo', ('qp', 'learner', 'FOLLOWERINFO', 0)),
        ('k_cap_leaderinfo', ('qp', 'leader', 'LEADERINFO', 0)),
        ('k_cap_ackepoch', ('qp', 'learner', 'ACKEPOCH', 0)),
        ('k_cap_diff', ('qp', 'leader', 'DIFF', 0)),
        ('k_cap_newleader', ('qp', 'leader', 'NEWLEADER', 0)),
        ('k_cap_ack', ('qp', 'learner', 'ACK', 0)),
        ('k_cap_uptodate', ('qp', 'leader', 'UPTODATE', 0)),
        ('k_cap_request_create', ('qp', 'learner', 'REQUEST', 1)),
        ('k_cap_request_sync', ('qp', 'learner', 'REQUEST', 9)),
        ('k_cap_proposal_create', ('qp', 'leader', 'PROPOSAL', 1)),
        ('k_cap_commit', ('qp', 'leader', 'COMMIT', 0)),
        ('k_cap_sync', ('qp', 'leader', 'SYNC', 0)),
        ('k_cap_ping_leader', ('qp', 'leader', 'PING', 0)),
        ('k_cap_ping_learner', ('qp', 'learner', 'PING', 0)),
        ('k_cap_ping_learner_touch', ('qp', 'learner', 'PING', True)),
        ('k_cap_revalidate_req', ('qp', 'learner', 'REVALIDATE', 0)),
        ('k_cap_revalidate_resp', ('qp', 'leader', 'REVALIDATE', 0)),
    ]
    out = ['/* Generated by tests/unit/wire/capture/capture_quorum.py from a 3-node\n'
           ' * Apache ZooKeeper 3.8 ensemble on loopback; rerun it to refresh.\n'
           ' * Quorum messages are whole QuorumPacket records as they travel\n'
           ' * (no frame); election messages include their 4-byte length. */']
    missing = []
    for name, key in want:
        if key not in found:
            missing.append(name)
            continue
        raw, where = found[key]
        out.append(c_array(name, raw, where))
    inits = sorted(k for k in found if k[0] == 'el' and k[1] == 'init')
    if inits:
        raw, where = found[inits[0]]
        out.append(c_array('k_cap_election_init', raw, where))
    else:
        missing.append('k_cap_election_init')
    notes = sorted(k for k in found if k[0] == 'el' and k[1] == 'notification')
    if notes:
        raw, where = found[notes[0]]
        out.append(c_array('k_cap_notification', raw, where))
    else:
        missing.append('k_cap_notification')
    with open(args.out, 'w') as f:
        f.write('\n\n'.join(out) + '\n')
    print('wrote %s; messages in %s/messages.txt' % (args.out, top))
    if missing:
        print('missing: %s' % ', '.join(missing))
    if not args.keep and not missing:
        shutil.rmtree(top, ignore_errors=True)
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
