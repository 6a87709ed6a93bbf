"""Restart and recovery: sessions and watches survive a restart within their
timeout, abandoned sessions expire after one, snapshots plus log replay give
back the same tree, autopurge keeps what it should, bad configurations and a
damaged log stop zabd before it listens, and SIGTERM exits cleanly.

Run (needs kazoo, so the system python):
  SERVER_KIND=zabd      /usr/bin/python3 -m pytest -q tests/faults/restart
  SERVER_KIND=zookeeper /usr/bin/python3 -m pytest -q tests/faults/restart
Cases 1-4 run against both kinds; the others check zabd's own exit codes and
messages and are skipped for ZooKeeper. ZABD=path picks another zabd binary.
"""
import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import EventType, KazooState

from rawclient import EV_CHANGED, EV_CREATED, RawClient
from restart_support import HERE, KIND, ZABD, Server, fast_retry, free_port, listening, wait_until

zabd_only = pytest.mark.skipif(KIND != 'zabd', reason='zabd-specific exit codes and messages')

TICK_S = 2.0  # server.sh's default tickTime
NONODE = -101


def stat_tuple(st):
    return (st.czxid, st.mzxid, st.ctime, st.mtime, st.version, st.cversion, st.aversion,
            st.ephemeralOwner, st.dataLength, st.numChildren, st.pzxid)


def snapshot_zxid(path):
    return int(path.rsplit('.', 1)[1], 16)


def read_tree(c, parent):
    """{child: (data, stat tuple)} of every child of parent, plus parent itself."""
    out = {p: c.get(parent + '/' + p) for p in c.get_children(parent)}
    out = {p: (d, stat_tuple(st)) for p, (d, st) in out.items()}
    out[''] = (c.get(parent)[0], stat_tuple(c.get(parent)[1]))
    return out


# ---- 1. A session and its watches survive a restart ------------------------------

@pytest.mark.parametrize('how', ['stop', 'kill'])
def test_session_and_watch_survive_a_restart(server, how):
    a = server.client(timeout=20.0)
    sid = a.client_id[0]
    a.create('/eph', b'x', ephemeral=True)
    for p in ('/watched', '/changed-meanwhile'):
        a.create(p, b'0')
    states = []
    a.add_listener(states.append)
    # kazoo forgets its watches on a disconnect, so a raw client holds them
    # and re-registers them with setWatches as the official clients do.
    r = RawClient(server.port, timeout_ms=20000)
    assert r.connect() == 20000
    assert r.get_data('/watched', watch=True) == 0
    assert r.get_data('/changed-meanwhile', watch=True) == 0
    assert r.exists('/created-meanwhile', watch=True) == NONODE
    r.close_socket()

    server.stop(how)
    assert wait_until(lambda: KazooState.SUSPENDED in states, 10), states
    server.start()
    assert wait_until(lambda: states[-1] == KazooState.CONNECTED, 20), states
    assert KazooState.LOST not in states, 'the session was lost across a restart'
    assert a.client_id[0] == sid

    data, stat = a.get('/eph')
    assert data == b'x'
    assert stat.ephemeralOwner == sid

    b = server.client()
    b.set('/changed-meanwhile', b'1')
    b.create('/created-meanwhile')
    raw_sid = r.session_id
    assert r.connect() == 20000, 'the raw session did not survive the restart'
    assert r.session_id == raw_sid
    assert r.set_watches(data=['/watched', '/changed-meanwhile'],
                         exist=['/created-meanwhile']) == 0
    # Changes made while the client was away fire as soon as it re-registers.
    got = r.wait_events(2, 10)
    assert sorted(got) == sorted([(EV_CHANGED, '/changed-meanwhile'),
                                  (EV_CREATED, '/created-meanwhile')]), got
    b.set('/watched', b'1')
    got = r.wait_events(3, 10)
    assert got[2:] == [(EV_CHANGED, '/watched')], \
        'a watch set before the restart did not fire after it: %r' % got
    r.close()


# ---- 2. A session whose client is gone expires after a restart --------------------

def test_abandoned_session_expires_after_restart(server):
    # A child process creates an ephemeral with a 4 s session and dies
    # without closing it, so only expiry can remove it.
    code = ('import os; from kazoo.client import KazooClient as K;'
            'c=K(hosts="127.0.0.1:%d", timeout=4.0); c.start(30);'
            'c.create("/gone", b"g", ephemeral=True); os._exit(0)' % server.port)
    subprocess.run([sys.executable, '-c', code], check=True, timeout=40)
    w = server.client(timeout=20.0)
    owner = w.get('/gone')[1].ephemeralOwner
    assert owner != 0
    server.stop('kill')
    server.start()
    restarted = time.monotonic()

    deleted = []
    got = threading.Event()
    # Retried by kazoo until it is connected again; the session is restored
    # with its ephemeral, then expires once its 4 s pass without a client.
    st = w.exists('/gone', watch=lambda e: (deleted.append(e), got.set()))
    assert st is not None and st.ephemeralOwner == owner, \
        'the ephemeral of a live (4 s) session vanished at the restart'
    bound = 4.0 + 2 * TICK_S + 2.0
    assert got.wait(max(0.1, bound - (time.monotonic() - restarted))), \
        'the abandoned session did not expire within %.0f s of the restart' % bound
    assert [(e.type, e.path) for e in deleted] == [(EventType.DELETED, '/gone')]
    assert w.exists('/gone') is None


# ---- 3. Snapshots plus log replay give back the same tree -------------------------

@pytest.mark.parametrize('server', [('snapCount=100',)], indirect=True)
def test_snapshots_and_replay_restore_the_same_tree(server):
    c = server.client()
    c.create('/snap')
    for i in range(1000):
        c.create('/snap/n%04d' % i, b'v%d' % i)
    for i in range(0, 1000, 7):
        c.set('/snap/n%04d' % i, b'w%d' % i)
    for i in range(0, 1000, 101):
        c.delete('/snap/n%04d' % i)
    assert wait_until(lambda: server.snapshots(), 10), 'no snapshot file was written'
    # A tail that no snapshot holds yet, so replay has work to do.
    for i in range(5):
        c.set('/snap/n0001', b't%d' % i)
    before = read_tree(c, '/snap')
    assert len(before) == 1000 - 10 + 1

    server.stop('kill')
    server.start()
    c2 = server.client()
    after = read_tree(c2, '/snap')
    assert sorted(after) == sorted(before)
    changed = [p for p in before if after[p] != before[p]]
    assert not changed, 'changed by the restart: %r' % [(p, before[p], after[p])
                                                         for p in changed[:3]]


# ---- 4. autopurge keeps snapRetainCount snapshots ---------------------------------

@pytest.mark.parametrize('server', [('snapCount=100', 'autopurge.purgeInterval=1',
                                     'autopurge.snapRetainCount=3')], indirect=True)
def test_autopurge_keeps_retain_count_snapshots(server):
    c = server.client()
    c.create('/p')
    seen = set()
    for i in range(1500):
        c.create('/p/n%05d' % i, b'%d' % i)
        if i % 50 == 0:
            seen.update(server.snapshots())
    last_zxid = c.exists('/p/n01499').mzxid
    if KIND == 'zabd':
        # zabd purges after each snapshot it completes, not on a timer.
        assert wait_until(lambda: 0 < len(server.snapshots()) <= 3, 10), server.snapshots()
        seen.update(server.snapshots())
        written = server.log.count('snapshot written')
        assert written > 5, 'only %d snapshots were written' % written
    before = read_tree(c, '/p')

    server.stop()
    server.start()
    if KIND == 'zabd':
        assert wait_until(lambda: 0 < len(server.snapshots()) <= 3, 10), server.snapshots()
        assert len(seen | set(server.snapshots())) > 5
        newest = max(snapshot_zxid(p) for p in server.snapshots())
        assert newest >= last_zxid - 100, 'purge kept old snapshots and deleted the newest'
    else:
        # server.sh runs ZooKeeperServerMain, which (unlike QuorumPeerMain)
        # never starts ZooKeeper's purge timer: only the data is checked.
        assert len(server.snapshots()) > 5
    c2 = server.client()
    after = read_tree(c2, '/p')
    assert len(after) == 1501
    assert after == before


# ---- 5. Start-up failures ---------------------------------------------------------

def run_zabd(cfg_path, timeout_s=5.0):
    """Runs zabd until it exits (or timeout_s), watching its port meanwhile.

    Returns (exit status or None if still running, stderr, ever_listened, seconds)."""
    port = None
    with open(cfg_path) as f:
        for line in f:
            if line.startswith('clientPort='):
                port = int(line.split('=', 1)[1])
    t0 = time.monotonic()
    p = subprocess.Popen([ZABD, cfg_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    ever = False
    try:
        while p.poll() is None and time.monotonic() - t0 < timeout_s:
            if port is not None and listening(port):
                ever = True
            time.sleep(0.02)
        rc = p.poll()
    finally:
        if p.poll() is None:
            p.kill()
        _, err = p.communicate(timeout=10)
    return rc, err, ever, time.monotonic() - t0


def write_cfg(d, port, lines):
    cfg = os.path.join(d, 'zoo.cfg')
    with open(cfg, 'w') as f:
        f.write('\n'.join(['clientPortAddress=127.0.0.1', 'clientPort=%d' % port] + lines)
                + '\n')
    return cfg


@zabd_only
@pytest.mark.parametrize('bad,keys', [
    (['tickTime=abc'], ['tickTime']),
    (['clientPort=-5'], ['clientPort']),
    (['minSessionTimeout=50000', 'maxSessionTimeout=10000'],
     ['minSessionTimeout', 'maxSessionTimeout']),
])
def test_invalid_config_exits_2_before_listening(tmpdir_path, bad, keys):
    port = free_port()
    cfg = write_cfg(tmpdir_path, port, ['dataDir=%s/data' % tmpdir_path] + bad)
    rc, err, ever, secs = run_zabd(cfg)
    assert rc == 2, (rc, err)
    assert secs < 5
    for k in keys:
        assert k in err, err
    assert '[ERROR]' in err
    assert not ever and 'serving clients' not in err
    assert not os.path.exists(os.path.join(tmpdir_path, 'data', 'version-2')), \
        'zabd touched its dataDir despite an invalid configuration'


@zabd_only
def test_data_dir_that_is_a_file_exits_2(tmpdir_path):
    f = os.path.join(tmpdir_path, 'plainfile')
    with open(f, 'w') as fh:
        fh.write('not a directory\n')
    cfg = write_cfg(tmpdir_path, free_port(), ['dataDir=%s' % f])
    rc, err, ever, secs = run_zabd(cfg)
    assert rc == 2, (rc, err)
    assert secs < 5
    assert f in err and '[ERROR]' in err, err
    assert not ever and 'serving clients' not in err
    with open(f) as fh:
        assert fh.read() == 'not a directory\n'


@zabd_only
def test_unknown_key_warns_and_starts():
    s = Server('noSuchKey=1')
    try:
        warn = [l for l in s.log.splitlines() if '[WARN]' in l and 'noSuchKey' in l]
        assert len(warn) == 1, s.log
        c = s.client()
        c.create('/ok', b'1')
        assert c.get('/ok')[0] == b'1'
    finally:
        s.close()


# ---- 6. A damaged txn log is refused, never silently changed ----------------------

def fill(server, n=300):
    c = server.client()
    c.create('/x')
    for i in range(n):
        c.create('/x/n%03d' % i, b'%03d' % i + b'v' * 50)
    return read_tree(c, '/x')


def start_on_damaged(server, timeout_s=20.0):
    """Runs zabd on the damaged data dir. Returns ('refused', stderr) if it
    exits, or ('started', tree) with /x as it reads after start-up."""
    rc, err, ever, _ = run_zabd(os.path.join(server.dir, 'zoo.cfg'), timeout_s=3.0)
    if rc is not None:
        assert rc != 0, 'zabd exited 0 on a damaged log: %s' % err
        assert not ever and 'serving clients' not in err
        print('zabd refused the damaged log (exit %d): %s' % (rc, err.strip().splitlines()[-1:]))
        return 'refused', err
    # Still running after 3 s: it accepted the log, so it must serve all of it.
    server.start()
    c = server.client()
    return 'started', read_tree(c, '/x')


def wal_files(server):
    return sorted(glob.glob(os.path.join(server.data, 'version-2', 'txnlog', '*.log')),
                  key=os.path.getsize)


def flip(path, offset):
    with open(path, 'r+b') as f:
        f.seek(offset)
        b = f.read(2)
        f.seek(offset)
        f.write(bytes(x ^ 0xff for x in b))


@zabd_only
@pytest.mark.parametrize('where', ['middle', 'last-record'])
def test_damaged_wal_is_refused_or_fully_intact(server, where):
    acked = fill(server)
    server.stop('kill')  # leaves the writes in RocksDB's WAL, not in .sst files
    wals = wal_files(server)
    assert wals, 'no RocksDB WAL file to damage'
    size = os.path.getsize(wals[-1])
    assert size > 300 * 50
    # The newest create's txn ends the WAL: 20 bytes from the end is inside
    # its data, well after the record's header.
    flip(wals[-1], size // 2 if where == 'middle' else size - 20)
    outcome, got = start_on_damaged(server)
    print('damaged WAL (%s): zabd %s' % (where, outcome))
    if outcome == 'refused':
        lines = [l for l in got.splitlines() if '[ERROR]' in l and 'txn log' in l]
        assert lines and 'orruption' in lines[0], got
    else:
        assert got == acked, 'zabd started on a damaged log with different data'


def build_damage_tool(tmp):
    src = os.path.join(HERE, 'damage_entry.c')
    exe = os.path.join(tmp, 'damage_entry')
    cc = shutil.which('cc') or shutil.which('gcc')
    if cc is None or not os.path.exists('/usr/include/rocksdb/c.h'):
        pytest.skip('needs a C compiler and librocksdb-dev')
    subprocess.run([cc, '-O1', '-o', exe, src, '-lrocksdb'], check=True, timeout=120)
    return exe


@zabd_only
def test_entry_failing_its_crc_is_refused_naming_its_zxid(server, tmpdir_path):
    tool = build_damage_tool(tmpdir_path)
    fill(server, 50)
    # SIGKILL: a clean stop writes a final snapshot that covers the entry,
    # and replay would never read it.
    server.stop('kill')
    out = subprocess.run([tool, os.path.join(server.data, 'version-2', 'txnlog')],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    zxid = out.stdout.strip()
    outcome, err = start_on_damaged(server)
    assert outcome == 'refused', 'zabd started on a log entry that fails its CRC'
    lines = [l for l in err.splitlines() if '[ERROR]' in l]
    assert lines and zxid in lines[0] and 'checksum' in lines[0], err


# ---- 7. SIGTERM with clients connected -------------------------------------------

@zabd_only
def test_sigterm_with_clients_exits_0(tmpdir_path):
    port = free_port()
    cfg = write_cfg(tmpdir_path, port, ['dataDir=%s/data' % tmpdir_path])
    p = subprocess.Popen([ZABD, cfg], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    clients = []
    try:
        assert wait_until(lambda: listening(port), 10)
        for _ in range(3):
            c = KazooClient(hosts='127.0.0.1:%d' % port, connection_retry=fast_retry())
            c.start(timeout=30)
            clients.append(c)
        clients[0].create('/t', b'1')
        clients[1].get('/t', watch=lambda e: None)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
        assert time.monotonic() - t0 < 5
        assert rc == 0
        err = p.stderr.read()
        assert err.rstrip().splitlines()[-1].endswith('[INFO] stopped'), err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for c in clients:
            c.stop()
            c.close()
