"""Leader election between real zabd processes (env ZABD, default
build/server/zabd) over their election ports, as ZooKeeper 3.8's
QuorumCnxManager and FastLeaderElection run it.

Every server's log is empty, so the highest participant id wins. Each
member logs its role ("LEADING - LEADER ELECTION TOOK - N MS: leader L,
...") and then syncs over the quorum port (test_sync.py checks that part).
A member serves clients once it is synced (test_clients.py); before that
it refuses them, and srvr/mntr answer as ZooKeeper's do for a server that
is not running.

Everything binds and connects on 127.0.0.1 only, with free ports; each
zabd is waited for with a deadline and stopped by its own pid.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

ZABD = os.environ.get('ZABD', os.path.join(ROOT, 'build', 'server', 'zabd'))
ROLE_S = 20  # bound on any wait for a role; elections here take well under 2 s
NOT_SERVING = b'This ZooKeeper instance is not currently serving requests\n'
ROLE_RE = re.compile(r'\] (LEADING|FOLLOWING|OBSERVING) - LEADER ELECTION TOOK - (\d+) MS: '
                     r'leader (\d+), zxid 0x([0-9a-f]+), election epoch 0x([0-9a-f]+)')


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(120):
        yield


_taken = set()


def free_port():
    """A port free now and not handed out before in this run."""
    for _ in range(100):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _taken:
            _taken.add(port)
            return port
    raise RuntimeError('no free port')


class Server:
    def __init__(self, ens, sid, observer=False):
        self.ens, self.sid, self.observer = ens, sid, observer
        self.client, self.quorum, self.election = free_port(), free_port(), free_port()
        self.dir = os.path.join(ens.dir, 's%d' % sid)
        self.data = os.path.join(self.dir, 'data')
        os.makedirs(self.data)
        with open(os.path.join(self.data, 'myid'), 'w') as f:
            f.write('%d\n' % sid)
        self.log_path = os.path.join(self.dir, 'server.log')
        self.p = None
        self.log_at = 0  # where this run's log starts

    def line(self):
        return 'server.%d=127.0.0.1:%d:%d:%s;127.0.0.1:%d' % (
            self.sid, self.quorum, self.election,
            'observer' if self.observer else 'participant', self.client)

    def start(self):
        cfg = os.path.join(self.dir, 'zoo.cfg')
        with open(cfg, 'w') as f:
            f.write('\n'.join(['tickTime=200', 'initLimit=10', 'syncLimit=5',
                               'dataDir=' + self.data, 'clientPort=%d' % self.client,
                               'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*']
                              + list(self.ens.extra_cfg)
                              + [s.line() for s in self.ens.servers]) + '\n')
        self.log_at = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.p = subprocess.Popen([ZABD, cfg], stdout=subprocess.DEVNULL,
                                  stderr=open(self.log_path, 'ab'), cwd=self.dir)

    def log(self):
        with open(self.log_path, 'rb') as f:
            f.seek(self.log_at)
            return f.read().decode(errors='replace')

    def roles(self):
        """[(role, took_ms, leader, zxid, election_epoch)] of this run, in order."""
        return [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4), 16),
                 int(m.group(5), 16)) for m in ROLE_RE.finditer(self.log())]

    def looking_count(self):
        return len(re.findall(r'\] LOOKING: election epoch', self.log()))

    def kill(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()  # SIGKILL, by pid
            self.p.wait(timeout=10)

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)  # by pid
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
            assert self.p.returncode == 0, self.log()


class Ensemble:
    def __init__(self, n, observers=(), zk_ids=(), extra_cfg=()):
        self.dir = tempfile.mkdtemp(prefix='ensemble-election-')
        self.extra_cfg = extra_cfg  # more zoo.cfg lines for every zabd member
        self.servers = [(ZkServer if i in zk_ids else Server)(self, i) for i in range(1, n + 1)]
        self.servers += [Server(self, i, observer=True)
                         for i in range(n + 1, n + 1 + len(observers))]

    def by_id(self, sid):
        return next(s for s in self.servers if s.sid == sid)

    def start(self):
        for s in self.servers:
            s.start()

    def close(self):
        """Stops every server still running with SIGTERM (so that a
        sanitized zabd checks for leaks at its clean stop); a zabd must exit
        with status 0."""
        bad = []
        for s in self.servers:
            try:
                s.stop()
            except AssertionError as e:
                bad.append('server %d did not stop cleanly: %s' % (s.sid, str(e)[-3000:]))
            finally:
                s.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert not bad, '\n'.join(bad)

    def dump(self):
        return '\n'.join('---- server %d\n%s' % (s.sid, s.log()[-4000:]) for s in self.servers)


def wait_for(what, cond, servers, timeout=ROLE_S):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        for s in servers:
            assert s.p.poll() is None, 'server %d exited\n%s' % (s.sid, s.log())
        if time.monotonic() > deadline:
            pytest.fail('%s within %d s\n%s' % (what, timeout, servers[0].ens.dump()))
        time.sleep(0.05)


def last_roles(servers):
    """{sid: (role, leader)} once every server logged a role, else None."""
    out = {}
    for s in servers:
        r = s.roles()
        if not r:
            return None
        out[s.sid] = (r[-1][0], r[-1][2])
    return out


def four(port, word):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as c:
        c.sendall(word)
        c.settimeout(5)
        out = b''
        while True:
            b = c.recv(4096)
            if not b:
                return out
            out += b


def connect_request():
    # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly
    body = struct.pack('>iqiqi16sB', 0, 0, 30000, 0, 16, b'\0' * 16, 0)
    return struct.pack('>i', len(body)) + body


@pytest.fixture
def ens3():
    e = Ensemble(3)
    yield e
    e.close()


def agreed(servers, leader):
    roles = last_roles(servers)
    if roles is None:
        return None
    want = {s.sid: ('LEADING' if s.sid == leader else
                    'OBSERVING' if s.observer else 'FOLLOWING', leader) for s in servers}
    return roles if roles == want else None


def test_three_servers_elect_the_highest_id(ens3):
    ens3.start()
    roles = wait_for('one LEADING (3) and two FOLLOWING it',
                     lambda: agreed(ens3.servers, 3), ens3.servers)
    print('roles', roles)
    for s in ens3.servers:
        r = s.roles()
        assert len(r) == 1, s.log()  # one election, no flapping
        assert r[0][3] == 0  # zxid of the vote: empty logs
        print('server %d: %s after %d ms' % (s.sid, r[0][0], r[0][1]))
    # Synced, every member serves: srvr answers, and a client gets a session.
    for s in ens3.servers:
        wait_for('server %d serving' % s.sid,
                 lambda: four(s.client, b'srvr').startswith(b'Zookeeper version'), [s])
        assert four(s.client, b'ruok') == b'imok'
        assert ('established as leader' if s.sid == 3 else 'synced with leader 3') in s.log()
        with socket.create_connection(('127.0.0.1', s.client), timeout=5) as c:
            c.sendall(connect_request())
            c.settimeout(5)
            resp = c.recv(4096)
        (n,) = struct.unpack('>i', resp[:4])
        assert len(resp) == 4 + n and n >= 36, resp  # a ConnectResponse
        (_, timeout, sid) = struct.unpack('>iiq', resp[4:20])
        assert timeout > 0 and sid >> 56 == s.sid, (timeout, hex(sid))  # minted with myid


def test_a_member_not_synced_refuses_clients():
    # A lone member of a 3-server ensemble never gets a quorum.
    e = Ensemble(3)
    try:
        s = e.servers[0]
        s.start()
        wait_for('server 1 LOOKING', lambda: s.looking_count() > 0, [s])
        wait_for('the client port open', lambda: _connects(s.client), [s])
        assert four(s.client, b'srvr') == NOT_SERVING
        assert four(s.client, b'mntr') == NOT_SERVING
        assert four(s.client, b'isro') == b'null'
        assert four(s.client, b'ruok') == b'imok'
        with socket.create_connection(('127.0.0.1', s.client), timeout=5) as c:
            c.sendall(connect_request())
            c.settimeout(5)
            assert c.recv(4096) == b''
        wait_for('the refusal logged', lambda: 'ZooKeeperServer not running' in s.log(), [s])
    finally:
        e.close()


def _connects(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def test_leader_killed_next_highest_takes_over_and_old_leader_follows_on_return(ens3):
    ens3.start()
    wait_for('first election', lambda: agreed(ens3.servers, 3), ens3.servers)
    s1, s2, s3 = ens3.servers
    t0 = time.monotonic()
    s3.kill()
    wait_for('2 LEADING, 1 FOLLOWING 2', lambda: agreed([s1, s2], 2), [s1, s2], timeout=10)
    took = time.monotonic() - t0
    print('re-election after kill -9 of the leader: %.3f s' % took)
    assert took < 5
    assert 'connection to the leader lost' in s1.log(), s1.log()
    # The old leader returns with a higher id and follows the standing leader.
    s3.start()
    wait_for('3 FOLLOWING 2', lambda: (s3.roles() or [(None,)])[-1][0:1] == ('FOLLOWING',) and
             s3.roles()[-1][2] == 2 and s3.roles(), [s1, s2, s3])
    time.sleep(1.0)  # and nobody changes their mind
    assert agreed([s1, s2, s3], 2), ens3.dump()
    assert len(s2.roles()) == 2 and len(s1.roles()) == 2, ens3.dump()


def test_five_participants_and_an_observer():
    e = Ensemble(5, observers=[6])
    try:
        e.start()
        roles = wait_for('5 LEADING, 1-4 FOLLOWING, 6 OBSERVING', lambda: agreed(e.servers, 5),
                         e.servers)
        print('roles', roles)
        assert roles[6] == ('OBSERVING', 5)
    finally:
        e.close()


def test_garbage_on_an_election_port_is_dropped_and_election_completes(ens3):
    s1, s2, s3 = ens3.servers
    s3.start()
    # Before the others: bad input to server 3's election port.
    wait_for('election port open', lambda: 'election port: listening' in s3.log(), [s3])
    bad = [
        b'GET / HTTP/1.1\r\n\r\n',  # an unknown protocol version
        struct.pack('>qqi', -65536, 2, 100000) + b'x' * 16,  # address length over 2048
        struct.pack('>qqi', -65536, 99, 14) + b'127.0.0.1:3888',  # unknown server id
        struct.pack('>qqi', -65536, 3, 14) + b'127.0.0.1:3888',  # its own id
    ]
    for b in bad:
        with socket.create_connection(('127.0.0.1', s3.election), timeout=5) as c:
            c.sendall(b)
            c.settimeout(5)
            try:
                assert c.recv(100) == b''  # closed
            except ConnectionResetError:
                pass
    log = s3.log()
    assert 'bad initial message' in log and 'not in the configuration' in log, log
    assert 'our own server id' in log, log
    # A good initial message from a lower id: dropped (QuorumCnxManager's rule).
    with socket.create_connection(('127.0.0.1', s3.election), timeout=5) as c:
        addr = b'127.0.0.1:1'
        c.sendall(struct.pack('>qqi', -65536, 2, len(addr)) + addr)
        c.settimeout(5)
        # 2 < 3: server 3 drops it and connects back to 2's (closed) port.
        assert c.recv(100) == b''
    s1.start()
    s2.start()
    # Garbage to a follower's port while the election runs.
    wait_for('election port open', lambda: 'election port: listening' in s1.log(), [s1])
    with socket.create_connection(('127.0.0.1', s1.election), timeout=5) as c:
        c.sendall(b'\xff' * 64)
    wait_for('election completes', lambda: agreed(ens3.servers, 3), ens3.servers)


def test_oversize_frame_closes_only_that_connection():
    e = Ensemble(3)
    try:
        s1, s2, s3 = e.servers
        s1.start()
        wait_for('election port open', lambda: 'election port: listening' in s1.log(), [s1])
        # Pretend to be server 3 (higher than 1: the connection is kept).
        with socket.create_connection(('127.0.0.1', s1.election), timeout=5) as c:
            addr = b'127.0.0.1:%d' % s3.election
            c.sendall(struct.pack('>qqi', -65536, 3, len(addr)) + addr)
            c.settimeout(5)
            # Server 1 (LOOKING) sends its notification to 3 on this connection.
            hdr = c.recv(4)
            assert len(hdr) == 4
            (n,) = struct.unpack('>i', hdr)
            body = b''
            while len(body) < n:
                body += c.recv(n - len(body))
            state, leader = struct.unpack('>iq', body[:12])
            assert (state, leader) == (0, 1)  # LOOKING, votes for itself
            cfg_len = struct.unpack('>i', body[40:44])[0]
            cfg = body[44:44 + cfg_len].decode()
            assert cfg.startswith('server.1=127.0.0.1:%d:%d:participant;127.0.0.1:%d\n'
                                  % (s1.quorum, s1.election, s1.client)), cfg
            assert cfg.endswith('\nversion=0'), cfg
            c.sendall(struct.pack('>i', 600 * 1024))
            try:
                while c.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        wait_for('oversize logged', lambda: 'outside 1..524288: closing' in s1.log(), [s1])
        s2.start()
        s3.start()
        wait_for('election completes', lambda: agreed(e.servers, 3), e.servers)
    finally:
        e.close()


# ---- Against Apache ZooKeeper 3.8 -------------------------------------------

# slf4j-simple: ZooKeeper's log on stderr (the Debian package has no binding on its path).
ZK_CP = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar'
HAVE_ZK = os.path.exists('/usr/share/java/zookeeper.jar') and shutil.which('java') is not None
ZK_ROLE_RE = re.compile(r'(LEADING|FOLLOWING|OBSERVING) - LEADER ELECTION TOOK - (\d+) MS')


class ZkServer(Server):
    """The same server line and zoo.cfg, run by ZooKeeper's QuorumPeerMain."""

    def start(self):
        cfg = os.path.join(self.dir, 'zoo.cfg')
        with open(cfg, 'w') as f:
            f.write('\n'.join(['tickTime=200', 'initLimit=10', 'syncLimit=5',
                               'dataDir=' + self.data, 'clientPort=%d' % self.client,
                               'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*',
                               'admin.enableServer=false']
                              + [s.line() for s in self.ens.servers]) + '\n')
        self.log_at = 0
        self.p = subprocess.Popen(
            ['java', '-Xmx256m', '-Dzookeeper.log.dir=' + self.dir,
             '-Dzookeeper.root.logger=INFO,CONSOLE', '-cp', ZK_CP,
             'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg],
            stdout=open(self.log_path, 'ab'), stderr=subprocess.STDOUT, cwd=self.dir)

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()  # by pid; the JVM's status is not checked
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()

    def first_role(self):
        """(role, took_ms, leader) of ZooKeeper's first election, or None.
        Its role line names no leader: a LEADING server leads itself; a
        FOLLOWING one connects to its leader's quorum port next (logged
        when it fails, "connecting to /host:port", or when it succeeds,
        "using address: /host:port"), which names the server."""
        log = self.log()
        m = ZK_ROLE_RE.search(log)
        if m is None:
            return None
        if m.group(1) == 'LEADING':
            return ('LEADING', int(m.group(2)), self.sid)
        a = re.compile(r'(?:connecting to|using address:) /127\.0\.0\.1:(\d+)').search(log, m.end())
        if a is None:
            return None
        port = int(a.group(1))
        leader = next((s.sid for s in self.ens.servers if s.quorum == port), -1)
        return (m.group(1), int(m.group(2)), leader)


@pytest.mark.skipif(not HAVE_ZK, reason='needs java and the Debian package zookeeper')
@pytest.mark.parametrize('zabd_id', [3, 1])
def test_mixed_with_zookeeper_agrees_on_the_first_leader(zabd_id):
    """Two ZooKeeper 3.8 servers and one zabd: all three end the first
    election with the same leader (the highest id, 3). Only that is
    checked here; what follows (ZooKeeper followers sync with a zabd
    leader; a zabd learner is refused by a ZooKeeper leader's SNAP) is in
    test_sync.py."""
    e = Ensemble(3, zk_ids=[i for i in (1, 2, 3) if i != zabd_id])
    try:
        z = e.by_id(zabd_id)
        zks = [s for s in e.servers if s is not z]
        e.start()

        def outcome():
            r = z.roles()
            firsts = [k.first_role() for k in zks]
            if not r or None in firsts:
                return None
            return {z.sid: (r[0][0], r[0][2]), **{k.sid: (f[0], f[2]) for k, f in zip(zks, firsts)}}

        got = wait_for('every server ends its first election', outcome, e.servers, timeout=60)
        print('first election:', got)
        want = {i: ('LEADING' if i == 3 else 'FOLLOWING', 3) for i in (1, 2, 3)}
        assert got == want, e.dump()
    finally:
        e.close()
