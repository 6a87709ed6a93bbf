"""Restart and recovery: sessions survive a restart within their timeout,
snapshots plus log replay give back the same tree, autopurge keeps what it
should, and bad configurations stop zabd before it listens.

Run: SERVER_KIND=zabd /usr/bin/python3 -m pytest -q tests/faults/restart
(cases 1-3 also run against SERVER_KIND=zookeeper).
"""
import glob
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from kazoo.client import KazooClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
SERVER_SH = os.path.join(ROOT, 'tests', 'integration', 'server.sh')
ZABD = os.environ.get('ZABD', os.path.join(ROOT, 'build', 'server', 'zabd'))
KIND = os.environ.get('SERVER_KIND', 'zabd')
zabd_only = pytest.mark.skipif(KIND != 'zabd', reason='zabd-specific exit codes and messages')


def wait_until(cond, timeout_s=10.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class Server:
    def __init__(self, *cfg):
        self.dir = tempfile.mkdtemp(prefix='restart-')
        self.port = int(subprocess.check_output([SERVER_SH, 'freeport']).decode())
        self.cfg = list(cfg)
        self.start()

    def start(self):
        subprocess.check_call([SERVER_SH, 'start', KIND, self.dir, str(self.port)] + self.cfg,
                              stdout=subprocess.DEVNULL)

    def stop(self, how='stop'):
        subprocess.check_call([SERVER_SH, how, self.dir])

    def client(self, timeout=20.0, **kw):
        c = KazooClient(hosts='127.0.0.1:%d' % self.port, timeout=timeout, **kw)
        c.start(timeout=30)
        return c

    def snapshots(self):
        return glob.glob(os.path.join(self.dir, 'data', 'version-2', 'snapshot.*'))


@pytest.fixture
def server(request):
    s = Server(*getattr(request, 'param', ()))
    yield s
    s.stop()


@pytest.mark.parametrize('how', ['stop', 'kill'])
def test_session_and_watch_survive_a_restart(server, how):
    a = server.client(timeout=20.0)
    sid = a.client_id[0]
    a.create('/eph', b'x', ephemeral=True)
    a.create('/watched', b'0')
    fired = threading.Event()
    a.get('/watched', watch=lambda e: fired.set())
    server.stop(how)
    server.start()
    assert wait_until(lambda: a.connected, 30)
    assert a.client_id[0] == sid
    data, stat = a.get('/eph')
    assert data == b'x' and stat.ephemeralOwner == sid
    b = server.client()
    b.set('/watched', b'1')
    assert fired.wait(10), 'a watch set before the restart did not fire after it'
    a.stop(); a.close(); b.stop(); b.close()


def test_abandoned_session_expires_after_restart(server):
    # A child process creates an ephemeral and dies without closing.
    code = ('import os,sys; from kazoo.client import KazooClient as K;'
            'c=K(hosts="127.0.0.1:%d", timeout=4.0); c.start(30);'
            'c.create("/gone", ephemeral=True); os._exit(0)' % server.port)
    subprocess.check_call([sys.executable, '-c', code])
    w = server.client()
    assert w.exists('/gone') is not None
    server.stop('kill')
    server.start()
    assert wait_until(lambda: w.connected, 30)
    deleted = threading.Event()
    if w.exists('/gone', watch=lambda e: deleted.set()) is not None:
        assert deleted.wait(20), 'the abandoned ephemeral was not deleted after its timeout'
    assert w.exists('/gone') is None
    w.stop(); w.close()


@pytest.mark.parametrize('server', [('snapCount=100',)], indirect=True)
def test_snapshots_and_replay_restore_the_same_tree(server):
    c = server.client()
    c.ensure_path('/snap')
    for i in range(1000):
        c.create('/snap/n%04d' % i, b'v%d' % i)
    for i in range(0, 1000, 7):
        c.set('/snap/n%04d' % i, b'w%d' % i)
    before = {p: c.get('/snap/' + p) for p in c.get_children('/snap')}
    c.stop(); c.close()
    if KIND == 'zabd':
        assert wait_until(lambda: len(server.snapshots()) > 0, 10), 'no snapshot written'
    server.stop('kill')
    server.start()
    c = server.client()
    after = {p: c.get('/snap/' + p) for p in c.get_children('/snap')}
    assert len(after) == 1000
    for p, (data, st) in before.items():
        d2, st2 = after[p]
        assert (d2, st2.mzxid, st2.version, st2.czxid) == (data, st.mzxid, st.version, st.czxid)
    c.stop(); c.close()


@zabd_only
@pytest.mark.parametrize('server', [('snapCount=100', 'autopurge.purgeInterval=1',
                                     'autopurge.snapRetainCount=3')], indirect=True)
def test_autopurge_keeps_retain_count_snapshots(server):
    c = server.client()
    c.ensure_path('/p')
    for i in range(1500):
        c.create('/p/n%05d' % i)
    c.stop(); c.close()
    assert wait_until(lambda: 0 < len(server.snapshots()) <= 3, 15), server.snapshots()
    server.stop()
    server.start()
    c = server.client()
    assert len(c.get_children('/p')) == 1500
    c.stop(); c.close()


def run_zabd_with(cfg_lines, timeout=10):
    d = tempfile.mkdtemp(prefix='badcfg-')
    cfg = os.path.join(d, 'zoo.cfg')
    with open(cfg, 'w') as f:
        f.write('\n'.join(cfg_lines) + '\n')
    return subprocess.run([ZABD, cfg], capture_output=True, text=True, timeout=timeout)


def free_port():
    return int(subprocess.check_output([SERVER_SH, 'freeport']).decode())


def listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return True
    except OSError:
        return False


@zabd_only
@pytest.mark.parametrize('bad,key', [('tickTime=abc', 'tickTime'),
                                     ('clientPort=-5', 'clientPort'),
                                     ('minSessionTimeout=50000\nmaxSessionTimeout=10000',
                                      'SessionTimeout')])
def test_invalid_config_exits_2_before_listening(bad, key):
    port = free_port()
    d = tempfile.mkdtemp()
    r = run_zabd_with(['dataDir=%s' % d, 'clientPortAddress=127.0.0.1',
                       'clientPort=%d' % port] + bad.split('\n'))
    assert r.returncode == 2
    assert key in r.stderr
    assert not listening(port)


@zabd_only
def test_data_dir_that_is_a_file_exits_2():
    f = tempfile.mktemp()
    open(f, 'w').close()
    r = run_zabd_with(['dataDir=%s' % f, 'clientPortAddress=127.0.0.1',
                       'clientPort=%d' % free_port()])
    assert r.returncode == 2
    assert f in r.stderr


@zabd_only
def test_unknown_key_warns_and_starts():
    s = Server('noSuchKey=1')
    try:
        with open(os.path.join(s.dir, 'server.log')) as f:
            log = f.read()
        assert 'noSuchKey' in log and '[WARN]' in log
    finally:
        s.stop()


@zabd_only
def test_sigterm_with_clients_exits_0():
    d = tempfile.mkdtemp(prefix='sigterm-')
    port = free_port()
    cfg = os.path.join(d, 'zoo.cfg')
    with open(cfg, 'w') as f:
        f.write('dataDir=%s/data\nclientPortAddress=127.0.0.1\nclientPort=%d\n' % (d, port))
    p = subprocess.Popen([ZABD, cfg], stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: listening(port), 10)
        c = KazooClient(hosts='127.0.0.1:%d' % port)
        c.start(timeout=30)
        c.create('/t')
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        assert '[INFO] stopped' in p.stderr.read()
        c.stop(); c.close()
    finally:
        if p.poll() is None:
            p.kill()


@zabd_only
def test_damage_inside_the_log_is_refused_not_guessed(server):
    c = server.client()
    c.ensure_path('/x')
    for i in range(300):
        c.create('/x/n%d' % i, b'v' * 50)
    c.stop(); c.close()
    server.stop('kill')
    wals = sorted(glob.glob(os.path.join(server.dir, 'data', 'version-2', 'txnlog', '*.log')),
                  key=os.path.getsize)
    assert wals, 'no RocksDB WAL file to damage'
    with open(wals[-1], 'r+b') as f:
        b = bytearray(f.read())
        mid = len(b) // 2
        b[mid] ^= 0xff
        b[mid + 1] ^= 0xff
        f.seek(0)
        f.write(b)
    r = subprocess.run([ZABD, os.path.join(server.dir, 'zoo.cfg')], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2
    assert 'Corruption' in r.stderr and 'txn log' in r.stderr
    # Leave a usable server for the fixture to stop.
    subprocess.call(['rm', '-rf', os.path.join(server.dir, 'data')])
    server.start()
