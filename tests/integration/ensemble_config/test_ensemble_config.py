"""zoo.cfg quorum keys against the real zabd binary (env ZABD, default
build/server/zabd): bad configurations stop the start with status 2 and a
message naming the file, line and key on stderr; one server line is
standalone and serves; a valid ensemble configuration (three lines + myid)
is validated, its ports included, and then runs leader election and stays
up, logging its role, without serving clients (sync is not built yet;
tests/integration/ensemble runs real elections).

Everything binds and connects on 127.0.0.1 only; each zabd is waited for
with a deadline and stopped by its own pid.
"""
import os
import shutil
import socket
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
EXIT_S = 15  # a refused start takes milliseconds; this only bounds a hang


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(60):
        yield


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cfg:
    """A temp dir with data/ and a zoo.cfg; removed by close()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='ensemble-config-')
        self.data = os.path.join(self.dir, 'data')
        os.mkdir(self.data)
        self.path = os.path.join(self.dir, 'zoo.cfg')
        self.client_port = free_port()

    def write(self, *lines, client=True):
        head = ['tickTime=2000', 'dataDir=' + self.data]  # lines 1 and 2
        if client:
            head += ['clientPort=%d' % self.client_port, 'clientPortAddress=127.0.0.1']
        with open(self.path, 'w') as f:
            f.write('\n'.join(head + list(lines)) + '\n')
        return len(head)  # lines[0] is on line len(head) + 1

    def myid(self, text):
        with open(os.path.join(self.data, 'myid'), 'w') as f:
            f.write(text)

    def run(self):
        """Runs zabd until it exits; returns (status, stderr)."""
        p = subprocess.Popen([ZABD, self.path], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=self.dir)
        try:
            _, err = p.communicate(timeout=EXIT_S)
        except subprocess.TimeoutExpired:
            p.kill()  # by pid
            p.communicate()
            pytest.fail('zabd did not exit within %d s' % EXIT_S)
        return p.returncode, err.decode(errors='replace')

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cfg():
    c = Cfg()
    yield c
    c.close()


def three_lines(ports=None):
    """server.1..3 on 127.0.0.1..3; server.1 gets ports (quorum, election)."""
    q, e = ports if ports else (free_port(), free_port())
    return ['server.1=127.0.0.1:%d:%d' % (q, e),
            'server.2=127.0.0.2:%d:%d' % (q, e),
            'server.3=127.0.0.3:%d:%d' % (q, e)]


def assert_refused(cfg, *pieces, status=2):
    rc, err = cfg.run()
    assert rc == status, err
    for p in pieces:
        assert p in err, err
    return err


# ---- Mistakes that stop the start -------------------------------------------

def test_malformed_server_line_names_file_line_and_key(cfg):
    n = cfg.write('server.1=127.0.0.1:2888')
    assert_refused(cfg, '[ERROR] invalid configuration: %s:%d: server.1:' % (cfg.path, n + 1),
                   'is not of the form')


@pytest.mark.parametrize('value,why', [
    ('127.0.0.1:x:3888', "quorum port 'x'"),
    ('127.0.0.1:2888:70000', "election port '70000'"),
    ('127.0.0.1:2888:3888:leader', "unknown server type 'leader'"),
    ('127.0.0.1:2888:3888;2181;2182', 'is not of the form'),
    ('127.0.0.1:2888:2888', 'must differ'),
])
def test_bad_parts_of_a_server_line(cfg, value, why):
    n = cfg.write('server.4=' + value)
    assert_refused(cfg, '%s:%d: server.4: ' % (cfg.path, n + 1), why)


def test_duplicate_server_id(cfg):
    n = cfg.write(*three_lines(), 'server.01=127.0.0.4:1:2', 'initLimit=5', 'syncLimit=2')
    assert_refused(cfg, '%s:%d: server.01: server id 1 is already given on line %d'
                   % (cfg.path, n + 4, n + 1))


def test_two_servers_on_one_address_and_port(cfg):
    n = cfg.write('server.1=127.0.0.1:2888:3888', 'server.2=127.0.0.1:3888:3889',
                  'server.3=127.0.0.3:2888:3888', 'initLimit=5', 'syncLimit=2')
    assert_refused(cfg, '%s:%d: server.2: quorum port 127.0.0.1:3888 is already the election '
                   'port of server.1' % (cfg.path, n + 2))


def test_ensemble_without_myid(cfg):
    cfg.write(*three_lines(), 'initLimit=5', 'syncLimit=2')
    assert_refused(cfg, 'myid file is missing', cfg.data + '/myid')


def test_non_numeric_myid(cfg):
    cfg.write(*three_lines(), 'initLimit=5', 'syncLimit=2')
    cfg.myid('one\n')
    assert_refused(cfg, cfg.data + "/myid:1: 'one' is not a server id")


def test_myid_not_in_the_server_list(cfg):
    cfg.write(*three_lines(), 'initLimit=5', 'syncLimit=2')
    cfg.myid('7\n')
    assert_refused(cfg, 'myid 7', 'has no server.7 line')


@pytest.mark.parametrize('missing', ['initLimit', 'syncLimit'])
def test_ensemble_needs_init_and_sync_limit(cfg, missing):
    lines = [k for k in ('initLimit=5', 'syncLimit=2') if not k.startswith(missing)]
    cfg.write(*three_lines(), *lines)
    cfg.myid('1\n')
    assert_refused(cfg, '%s is not set' % missing)


def test_election_alg_other_than_3(cfg):
    n = cfg.write('electionAlg=0')
    assert_refused(cfg, '%s:%d: electionAlg: 0 is not supported' % (cfg.path, n + 1))


def test_unknown_peer_type(cfg):
    n = cfg.write('peerType=leader')
    assert_refused(cfg, '%s:%d: peerType' % (cfg.path, n + 1), "'leader'")


def test_peer_type_disagreeing_with_the_line_warns_and_the_line_wins(cfg):
    # QuorumPeerConfig.setupPeerType only warns; the ensemble then runs.
    cfg.write(*three_lines(), 'initLimit=5', 'syncLimit=2', 'peerType=observer',
              '4lw.commands.whitelist=ruok,srvr')
    cfg.myid('1\n')
    log = run_ensemble_member(cfg)
    assert '[WARN]' in log and 'peerType is observer but the server list makes this server a ' \
        'participant' in log, log
    assert 'myid 1 (participant)' in log, log


def test_a_port_in_use_stops_the_start(cfg):
    """Each of this server's ports, held by a socket of ours on 127.0.0.1."""
    for which in ('client', 'quorum', 'election'):
        q, e = free_port(), free_port()
        cfg.client_port = free_port()
        port = {'client': cfg.client_port, 'quorum': q, 'election': e}[which]
        cfg.write(*three_lines((q, e)), 'initLimit=5', 'syncLimit=2')
        cfg.myid('1\n')
        holder = socket.socket()
        try:
            holder.bind(('127.0.0.1', port))
            holder.listen(1)
            err = assert_refused(cfg, '[ERROR] cannot start: server.1 (this server, myid): '
                                 '%s port 127.0.0.1:%d cannot be bound' % (which, port))
            assert 'not implemented' not in err
        finally:
            holder.close()


# ---- What runs ---------------------------------------------------------------

def ruok(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
            s.sendall(b'ruok')
            s.settimeout(2)
            return s.recv(16) == b'imok'
    except OSError:
        return False


def test_one_server_line_runs_standalone_and_serves(cfg):
    from kazoo.client import KazooClient

    q, e = free_port(), free_port()
    cfg.write('server.1=127.0.0.1:%d:%d' % (q, e), '4lw.commands.whitelist=ruok')
    p = subprocess.Popen([ZABD, cfg.path], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(cfg.dir, 'server.log'), 'wb'), cwd=cfg.dir)
    try:
        deadline = time.monotonic() + 20
        while not ruok(cfg.client_port):
            assert p.poll() is None, open(os.path.join(cfg.dir, 'server.log')).read()
            assert time.monotonic() < deadline, 'zabd did not answer ruok within 20 s'
            time.sleep(0.05)
        zk = KazooClient(hosts='127.0.0.1:%d' % cfg.client_port, timeout=10)
        zk.start(timeout=15)
        try:
            zk.create('/standalone', b'yes')
            assert zk.get('/standalone')[0] == b'yes'
            # ZooKeeper's standalone server id: session ids start 0x01...
            assert zk.client_id[0] >> 56 == 1
        finally:
            zk.stop()
            zk.close()
        # Standalone: the quorum and election ports stay free.
        for port in (q, e):
            s = socket.socket()
            s.bind(('127.0.0.1', port))
            s.close()
    finally:
        p.terminate()  # by pid
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    log = open(os.path.join(cfg.dir, 'server.log')).read()
    assert 'only one server line: running standalone' in log, log
    assert p.returncode == 0, log


def four(port, word):
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(word)
        s.settimeout(5)
        out = b''
        while True:
            b = s.recv(4096)
            if not b:
                return out
            out += b


def run_ensemble_member(cfg):
    """Starts zabd on an ensemble configuration whose other members never
    answer: it must stay up, LOOKING, answer ruok (the configuration must
    allow it), and srvr as a ZooKeeper server that is not running; then SIGTERM stops it with status 0.
    Returns its log."""
    log_path = os.path.join(cfg.dir, 'server.log')
    p = subprocess.Popen([ZABD, cfg.path], stdout=subprocess.DEVNULL,
                         stderr=open(log_path, 'wb'), cwd=cfg.dir)
    try:
        deadline = time.monotonic() + 20
        while 'LOOKING: election epoch 0x1, my vote: leader 1' not in open(log_path).read():
            assert p.poll() is None, open(log_path).read()
            assert time.monotonic() < deadline, 'zabd logged no LOOKING within 20 s'
            time.sleep(0.05)
        assert ruok(cfg.client_port)
        assert four(cfg.client_port, b'srvr') == \
            b'This ZooKeeper instance is not currently serving requests\n'
        time.sleep(0.5)
        assert p.poll() is None, open(log_path).read()
    finally:
        p.terminate()  # by pid
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    log = open(log_path).read()
    assert p.returncode == 0, log
    return log


def test_three_server_lines_and_myid_run_election_and_stay_up(cfg):
    cfg.write(*three_lines(), 'initLimit=5', 'syncLimit=2', '4lw.commands.whitelist=ruok,srvr')
    cfg.myid('1\n')  # server.1 is on 127.0.0.1, where its ports are checked
    log = run_ensemble_member(cfg)
    assert 'ensemble mode: 3 servers (3 voters), myid 1 (participant), last zxid 0x0, current ' \
        'epoch 0x0, accepted epoch 0x0, DIFF window 0 txns after 0x0, tickTime 2000 ms, ' \
        'initLimit 5, syncLimit 2' in log, log
    assert 'not implemented yet; run standalone' not in log
