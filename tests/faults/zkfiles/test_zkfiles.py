"""ZooKeeper's own files, both ways (issue 5, point 3).

(a) A workload against Apache ZooKeeper 3.8 (every node type, ACL schemes,
    a small snapCount so there are several snapshots, several log files and
    txns after the newest snapshot, a session left open), ZooKeeper stopped
    (SIGTERM, SIGKILL, and with dataLogDir), zabd started on the same
    directory: the same tree (data, every Stat field, ACLs, ephemeral
    owners), the old session resumes with its id and password and still owns
    its ephemerals, every digest ZooKeeper logged matches ours, and
    ZooKeeper's files are byte for byte unchanged.
(b) A workload against zabd, SIGTERM, Apache ZooKeeper started on a copy:
    the same tree, ZooKeeper's own digest check of our snapshot passes.
(c) ZooKeeper -> zabd -> ZooKeeper on one directory.
(d) zksnapdump and zklogdump on both kinds of files.
"""
import base64
import os
import re

import pytest
from kazoo.client import KazooClient

import workload
from zkfiles_support import (copy_dir, file_sums, run_tool, zxid_files)

SNAP_COUNT = 'snapCount=20'
EXT = 'extendedTypesEnabled=true'  # TTL nodes (server.sh passes it to ZooKeeper too)
N_AFTER = 150


def digest_summary(log):
    """zabd's recovery line about ZooKeeper's log files."""
    m = re.search(r'replayed (\d+) txns from ZooKeeper\'s log files up to 0x([0-9a-f]+); '
                  r'digests checked: (\d+), mismatched: (\d+)', log)
    assert m, log[-2000:]
    return int(m.group(1)), int(m.group(2), 16), int(m.group(3)), int(m.group(4))


def digest_checks_due(log, n_txns):
    """How many digest checks replaying n_txns txns after ZooKeeper's
    snapshot makes, as ZooKeeper makes them: a snapshot is fuzzy (written
    while txns are applied) up to the zxid of the digest it carries, the
    txns up to that zxid are not checked one by one, their end state is
    checked once against that digest, then every txn's digest is."""
    m = re.search(r'loaded snapshot 0x([0-9a-f]+): .* digest at 0x([0-9a-f]+)', log)
    assert m, log[-2000:]
    fuzzy = int(m.group(2), 16) - int(m.group(1), 16)
    assert 0 <= fuzzy <= n_txns, (fuzzy, n_txns)
    return n_txns - fuzzy + 1


def zk_digest_ok(log):
    """ZooKeeper loaded a snapshot carrying a digest and found no mismatch
    (DataTree.compareSnapshotDigests / reportDigestMismatch)."""
    assert 'The digest in the snapshot has digest version of 2' in log, log[-3000:]
    assert re.search(r'Snapshot loaded in \d+ ms, highest zxid is 0x[0-9a-f]+, digest is -?\d+',
                     log), log[-3000:]
    assert 'mismatch' not in log.lower() and 'not matching' not in log.lower(), log[-3000:]


def run_zk_workload(zk_inst):
    """Workload on ZooKeeper; returns (dump, (sid, passwd), owner client)."""
    owner = zk_inst.client()
    workload.run(owner, N_AFTER)
    reader = zk_inst.client()
    tree = workload.dump(reader)
    reader.stop()
    reader.close()
    return tree, owner.client_id, owner


def first_entry_after(path, zxid):
    """Offset in a ZooKeeper log file of its first txn entry above zxid:
    entries follow the 16-byte file header, each a checksum (8 bytes), the
    txn's length (4), the txn (a TxnHeader: session 8, cxid 4, zxid 8, ...)
    and an end-of-record byte; a length of 0 is the preallocated tail."""
    with open(path, 'rb') as f:
        b = f.read()
    off = 16
    while off + 12 + 20 <= len(b):
        n = int.from_bytes(b[off + 8:off + 12], 'big')
        if n == 0:
            break
        if int.from_bytes(b[off + 24:off + 32], 'big') > zxid:
            return off
        off += 12 + n + 1
    return None


def abandon(client):
    """Lets a client go without closing its session: called once its
    server is down, so kazoo's closeSession cannot reach anyone."""
    client.stop()
    client.close()


@pytest.mark.parametrize('variant', ['sigterm', 'sigkill', 'datalogdir'])
def test_zookeeper_dir_starts_zabd(servers, variant):
    base = servers.root + '/zk'
    cfg = [SNAP_COUNT, EXT]
    if variant == 'datalogdir':
        cfg.append('dataLogDir=%s/datalog' % base)
    zk = servers.make('zookeeper', 'zk', cfg=cfg)
    zk.start()
    tree, (sid, passwd), owner = run_zk_workload(zk)
    zk.stop('kill' if variant == 'sigkill' else 'stop')
    abandon(owner)

    data = base + '/data'
    logs_dir = base + '/datalog' if variant == 'datalogdir' else data
    snaps = zxid_files(data + '/version-2', 'snapshot')
    logs = zxid_files(logs_dir + '/version-2', 'log')
    assert len(snaps) >= 3 and len(logs) >= 3, (snaps, logs)
    if variant == 'datalogdir':
        assert zxid_files(data + '/version-2', 'log') == []
    before = file_sums(data, logs_dir)

    zabd = servers.make('zabd', 'zk', port=zk.port, cfg=cfg)
    zabd.start()
    n_txns, last, checked, mismatched = digest_summary(zabd.log())
    assert n_txns > 0 and last > snaps[-1], (n_txns, hex(last), snaps)
    # On failure: every line of zabd's about the digests it checked.
    assert checked == digest_checks_due(zabd.log(), n_txns) and mismatched == 0, \
        '\n'.join(l for l in zabd.log().splitlines() if 'digest' in l)
    assert 'torn' not in zabd.log()

    # The same tree, every Stat field and ACL included.
    reader = zabd.client()
    assert workload.dump(reader) == tree
    reader.stop()
    reader.close()

    # The session ZooKeeper had open resumes on zabd, with its ephemerals.
    back = KazooClient(hosts='127.0.0.1:%d' % zabd.port, client_id=(sid, passwd), timeout=10)
    back.start(timeout=15)
    assert back.client_id[0] == sid
    assert back.exists('/app/eph').ephemeralOwner == sid
    back.create('/after-migration', b'zabd writes its own log')
    back.stop()  # closes the session: its ephemerals go
    back.close()
    check = zabd.client()
    assert check.exists('/app/eph') is None
    assert check.get('/after-migration')[0] == b'zabd writes its own log'
    check.stop()
    check.close()
    zabd.stop()

    # ZooKeeper's files were only read. (The final snapshot is a new file.)
    after = file_sums(data, logs_dir)
    assert {p: h for p, h in after.items() if p in before} == before
    assert os.path.isdir(logs_dir + '/version-2/txnlog')


def test_zabd_dir_starts_zookeeper(servers):
    zabd = servers.make('zabd', 'zabd', cfg=[SNAP_COUNT, EXT])
    zabd.start()
    owner = zabd.client()
    workload.run(owner, N_AFTER)
    sid, passwd = owner.client_id
    reader = zabd.client()
    tree = workload.dump(reader)
    reader.stop()
    reader.close()
    zabd.stop()  # SIGTERM: the final snapshot
    abandon(owner)
    m = re.search(r'final snapshot(?: of 0x|: snapshot\.)([0-9a-f]+) (?:written|already covers)',
                  zabd.log())
    assert m, zabd.log()[-2000:]
    # ... of the last zxid: Apache ZooKeeper needs nothing but snapshot files.
    assert zxid_files(zabd.dir + '/data/version-2', 'snapshot')[-1] == int(m.group(1), 16)

    copy_dir(zabd.dir + '/data', servers.root + '/zk/data')
    zk = servers.make('zookeeper', 'zk', cfg=[SNAP_COUNT, EXT])
    zk.start()
    reader = zk.client()
    assert workload.dump(reader) == tree
    reader.stop()
    reader.close()
    zk_digest_ok(zk.log())
    # The session zabd had open is ZooKeeper's now, ephemerals and all.
    back = KazooClient(hosts='127.0.0.1:%d' % zk.port, client_id=(sid, passwd), timeout=10)
    back.start(timeout=15)
    assert back.client_id[0] == sid
    assert back.exists('/app/eph').ephemeralOwner == sid
    back.stop()
    back.close()
    zk.stop()


def test_round_trip_zookeeper_zabd_zookeeper(servers):
    zk = servers.make('zookeeper', 'rt', cfg=[SNAP_COUNT, EXT])
    zk.start()
    tree, _, owner = run_zk_workload(zk)
    zk.stop()
    abandon(owner)

    zabd = servers.make('zabd', 'rt', port=zk.port, cfg=[SNAP_COUNT, EXT])
    zabd.start()
    c = zabd.client()
    assert workload.dump(c) == tree
    c.add_auth('digest', 'alice:secret')
    c.create('/rt', b'made by zabd')
    for i in range(30):  # enough for zabd's own snapshots too
        c.set('/app/cfg', b'zabd %d' % i)
    c.delete('/app/batch-0')
    tree2 = workload.dump(c)
    c.stop()
    c.close()
    zabd.stop()

    zk.start()  # the same directory, as an operator going back would
    r = zk.client()
    assert workload.dump(r) == tree2
    r.stop()
    r.close()
    zk_digest_ok(zk.log())
    zk.stop()


def test_dump_tools_read_both_kinds_of_files(servers):
    zk = servers.make('zookeeper', 'zk', cfg=[SNAP_COUNT, EXT])
    zk.start()
    tree, _, owner = run_zk_workload(zk)
    zk.stop()
    abandon(owner)
    # ZooKeeper writes a snapshot while txns go on, so one taken under load
    # can hold a tree a txn or two past the digest it records. One more
    # start makes the newest a quiet one: ZooKeeper snapshots what it
    # loaded before it serves anyone (the session is kept, its timeout has
    # not passed).
    zk.start()
    zk.stop()
    v2 = zk.dir + '/data/version-2'

    # ZooKeeper's newest snapshot: every node it holds, stats, the digest.
    snap = '%s/snapshot.%x' % (v2, zxid_files(v2, 'snapshot')[-1])
    rc, out, err = run_tool('zksnapdump', snap)
    assert rc == 0, err
    assert re.search(r'^ZNode Details \(count=\d+\):$', out, re.M)
    for path in ('/', '/app', '/app/cfg', '/app/box', '/app/ttl', '/zookeeper/config'):
        assert re.search('^%s$' % re.escape(path), out, re.M), path
    mine = re.search(r'^Tree digest: (-?\d+)$', out, re.M)
    assert mine
    target = re.search(r'^Target zxid digest is: ([0-9a-f]+), (-?\d+)$', out, re.M)
    if target:
        assert target.group(2) == mine.group(1)
    else:
        # A snapshot ZooKeeper takes right after loading, before any txn,
        # may carry an empty ZxidDigest (it records the digest of the last
        # txn it processed, and there may be none); the digest of that
        # tree is then the one ZooKeeper logged as it loaded it.
        loaded = re.findall(r'Snapshot loaded in \d+ ms, highest zxid is 0x([0-9a-f]+), '
                            r'digest is (-?\d+)', zk.log())
        assert loaded and int(loaded[-1][0], 16) == zxid_files(v2, 'snapshot')[-1], loaded
        assert loaded[-1][1] == mine.group(1), (loaded, mine.group(1))
    assert re.search(r'^0x[0-9a-f]+, 10000, 2$', out, re.M)  # the open session, 2 ephemerals
    rc, out_d, _ = run_tool('zksnapdump', '-d', snap)
    assert rc == 0 and '/app/box\n' in out_d
    assert '  data = %s\n' % base64.b64encode(b'container').decode() in out_d

    # ZooKeeper's log files: one line per txn, in zxid order.
    lines = []
    for z in zxid_files(v2, 'log'):
        rc, out, err = run_tool('zklogdump', '%s/log.%x' % (v2, z))
        assert rc == 0, err
        assert out.startswith('ZooKeeper Transactional Log File with dbid 0 txnlog format '
                              'version 2\n')
        assert re.search(r'^EOF reached after \d+ txns\.$', out, re.M)
        lines += [ln for ln in out.splitlines() if ' zxid 0x' in ln]
    zxids = [int(re.search(r' zxid 0x([0-9a-f]+) ', ln).group(1), 16) for ln in lines]
    assert zxids == list(range(1, len(zxids) + 1))
    line_re = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z session 0x[0-9a-f]+ '
                         r'cxid 0x[0-9a-f]+ zxid 0x[0-9a-f]+ \w+')
    assert all(line_re.match(ln) for ln in lines)
    text = '\n'.join(lines)
    for want in (' createSession timeout=10000', ' createContainer /app/box ',
                 ' createTTL /app/ttl ', ' multi [create /app/multi ', ' setACL /app/mixed ',
                 ' delete /app/box/gone', ' setData /app/cfg '):
        assert want in text, want
    assert ' digest 2:' in text

    # zabd: its snapshot (ZooKeeper's format) and its RocksDB log.
    zabd = servers.make('zabd', 'zk', port=zk.port, cfg=[SNAP_COUNT, EXT])
    zabd.start()
    c = zabd.client()
    c.create('/from-zabd', b'x')
    c.set('/from-zabd', b'yy')
    c.stop()  # closeSession
    c.close()
    zabd.stop()
    newest = zxid_files(v2, 'snapshot')[-1]
    rc, out, err = run_tool('zksnapdump', '%s/snapshot.%x' % (v2, newest))
    assert rc == 0, err
    assert re.search(r'^/from-zabd\n(?:  .*\n)*?  dataLength = 2$', out, re.M)
    target = re.search(r'^Target zxid digest is: ([0-9a-f]+), (-?\d+)$', out, re.M)
    mine = re.search(r'^Tree digest: (-?\d+)$', out, re.M)
    assert target and int(target.group(1), 16) == newest and target.group(2) == mine.group(1)
    rc, out, err = run_tool('zklogdump', zk.dir + '/data')
    assert rc == 0, err
    own = [ln for ln in out.splitlines() if ' zxid 0x' in ln]
    kinds = [ln.split()[7:9] for ln in own]
    assert ['createSession', 'timeout=10000'] in kinds
    assert ['create', '/from-zabd'] in kinds and ['setData', '/from-zabd'] in kinds
    assert own[-1].split()[7] == 'closeSession'
    assert int(re.search(r' zxid 0x([0-9a-f]+) ', own[0]).group(1), 16) > zxids[-1]

    # Damage is reported, not papered over.
    bad = servers.root + '/bad.log'
    with open('%s/log.%x' % (v2, zxid_files(v2, 'log')[0]), 'rb') as f:
        b = bytearray(f.read(4096))
    b[16 + 12 + 20] ^= 0xFF
    with open(bad, 'wb') as f:
        f.write(b)
    rc, out, _ = run_tool('zklogdump', bad)
    assert rc == 1 and 'damaged entry at offset 16' in out
    rc, _, err = run_tool('zksnapdump', bad)
    assert rc == 1 and 'not a ZooKeeper snapshot' in err


def test_damaged_zookeeper_log_refuses_to_start(servers):
    zk = servers.make('zookeeper', 'zk', cfg=[SNAP_COUNT, EXT])
    zk.start()
    _, _, owner = run_zk_workload(zk)
    zk.stop()
    abandon(owner)
    v2 = zk.dir + '/data/version-2'
    newest_snap = zxid_files(v2, 'snapshot')[-1]
    last_log = zxid_files(v2, 'log')[-1]
    p = '%s/log.%x' % (v2, last_log)
    # A txn that recovery must replay: the last log can start below the
    # newest snapshot, whose zxid is the last one applied while ZooKeeper
    # wrote it (it serialises while txns go on).
    at = first_entry_after(p, newest_snap)
    assert at is not None, (hex(last_log), hex(newest_snap))
    with open(p, 'r+b') as f:
        f.seek(at + 12 + 40)  # inside that entry's txn
        c = f.read(1)
        f.seek(at + 12 + 40)
        f.write(bytes([c[0] ^ 0x01]))
    zabd = servers.make('zabd', 'zk', port=zk.port, cfg=[SNAP_COUNT, EXT])
    with pytest.raises(Exception):
        zabd.start()
    log = zabd.log()
    assert 'log.%x' % last_log in log and 'damaged entry' in log, log[-2000:]
