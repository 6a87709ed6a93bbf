"""Four-letter words on the client port.

They describe one server, so against an ensemble (ENSEMBLE set) every client
of this module talks to member 1, whose port server.port names, and the
Mode a word reports is that member's role.
"""
import re
import socket
import time

import pytest

from conftest import ENSEMBLE, start_server, stop_server, wait_until

MODES = ('leader', 'follower') if ENSEMBLE else ('standalone',)


@pytest.fixture
def clients(clients, server):
    return lambda **kw: clients(**dict({'hosts': '127.0.0.1:%d' % server.port}, **kw))


def four_letter(port, cmd, timeout_s=5.0):
    """Sends one command and reads until the server closes (kazoo's
    zk.command reads a single 8 KiB recv, too short for mntr)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout_s)
    out = b''
    deadline = time.monotonic() + timeout_s
    try:
        s.sendall(cmd.encode())
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out.decode('utf-8', 'replace')


def kv(text, sep):
    out = {}
    for line in text.splitlines():
        if sep in line:
            k, v = line.split(sep, 1)
            out[k.strip()] = v.strip()
    return out


def test_ruok_and_isro(zk):
    assert zk.command(b'ruok') == 'imok'
    assert zk.command(b'isro') == 'rw'


def test_srvr(zk, server, root):
    zk.create(root + '/n')
    last = zk.exists(root + '/n').czxid
    text = zk.command(b'srvr')
    assert text.startswith('Zookeeper version: ')
    f = kv(text, ': ')
    assert f['Mode'] in MODES
    assert int(f['Zxid'], 16) >= last
    assert int(f['Node count']) >= 5
    assert int(f['Connections']) >= 1
    assert f['Outstanding'] == '0'
    assert re.fullmatch(r'\d+/[\d.]+/\d+', f['Latency min/avg/max'])
    assert int(f['Received']) > 0 and int(f['Sent']) > 0


def test_envi_and_server_version(zk):
    text = zk.command(b'envi')
    assert text.startswith('Environment:\n')
    f = kv(text, '=')
    assert re.match(r'3\.\d+\.\d+', f['zookeeper.version'])
    assert 'host.name' in f and 'os.name' in f
    version = zk.server_version()
    assert isinstance(version, tuple) and len(version) == 3
    assert version[:2] in ((3, 8), (3, 9)), version


def test_mntr(zk, server, root):
    before = kv(four_letter(server.port, 'mntr'), '\t')
    assert before['zk_version'].startswith('3.')
    assert before['zk_server_state'] in MODES
    n0 = int(before['zk_znode_count'])
    e0 = int(before['zk_ephemerals_count'])
    zk.create(root + '/a')
    zk.create(root + '/b', ephemeral=True)
    after = kv(four_letter(server.port, 'mntr'), '\t')
    assert int(after['zk_znode_count']) == n0 + 2
    assert int(after['zk_ephemerals_count']) == e0 + 1
    assert int(after['zk_num_alive_connections']) >= 1
    for key in ('zk_avg_latency', 'zk_max_latency', 'zk_min_latency',
                'zk_packets_received', 'zk_packets_sent', 'zk_watch_count',
                'zk_outstanding_requests', 'zk_approximate_data_size',
                'zk_open_file_descriptor_count',
                'zk_max_file_descriptor_count'):
        assert key in after, key
    # srvr and mntr agree on the node count.
    srvr = kv(four_letter(server.port, 'srvr'), ': ')
    assert int(srvr['Node count']) == n0 + 2


def test_conf(zk, server):
    f = kv(zk.command(b'conf'), '=')
    assert f['clientPort'] == str(server.port)
    assert f['tickTime'] == '2000'
    assert f['minSessionTimeout'] == '4000'
    assert f['maxSessionTimeout'] == '40000'
    assert f['dataDir'].startswith(server.dir)
    assert 'maxClientCnxns' in f


def test_stat_and_cons(zk, server):
    text = zk.command(b'stat')
    assert text.startswith('Zookeeper version: ')
    assert 'Clients:\n' in text
    assert kv(text, ': ')['Mode'] in MODES
    sid = '0x%x' % zk.client_id[0]
    cons = four_letter(server.port, 'cons')
    mine = [l for l in cons.splitlines() if 'sid=%s,' % sid in l]
    assert len(mine) == 1, cons
    assert re.match(r' /127\.0\.0\.1:\d+\[1\]\(queued=0,recved=\d+,sent=\d+,',
                    mine[0]), mine[0]
    assert ',to=10000,' in mine[0]


def test_watch_listings(zk, clients, server, root):
    # A fresh client so the per-session listings are exactly ours.
    c = clients()
    a = c.create(root + '/a')
    b = c.create(root + '/b')
    c.get(a, watch=lambda e: None)
    c.exists(b, watch=lambda e: None)
    c.get_children(root, watch=lambda e: None)
    sid = '0x%x' % c.client_id[0]

    wchc = four_letter(server.port, 'wchc')
    # Session id line followed by its tab-indented paths.
    block = wchc.split(sid + '\n', 1)[1].split('\n0x', 1)[0]
    paths = sorted(l.strip() for l in block.splitlines() if l.startswith('\t'))
    # ZooKeeper lists data/exist watches only; child watches are counted by
    # mntr's zk_watch_count but never listed by wchc/wchp/wchs.
    assert paths == [a, b]

    wchp = four_letter(server.port, 'wchp')
    assert '%s\n\t%s\n' % (a, sid) in wchp
    assert '%s\n\t%s\n' % (b, sid) in wchp

    m = re.match(r'(\d+) connections watching (\d+) paths\nTotal watches:(\d+)',
                 four_letter(server.port, 'wchs'))
    assert m, 'bad wchs'
    assert int(m.group(1)) >= 1 and int(m.group(2)) >= 2
    assert int(m.group(3)) >= 2

    # Firing a watch removes it from the listings.
    c.set(a, b'x')
    assert wait_until(lambda: a not in four_letter(server.port, 'wchp'))


def test_dirs(zk):
    f = kv(zk.command(b'dirs'), ': ')
    assert int(f['datadir_size']) >= 0 and int(f['logdir_size']) >= 0


def test_unknown_command_gets_no_answer(server):
    assert four_letter(server.port, 'xyzw') == ''


@pytest.fixture(scope='module')
def whitelisted_server():
    # server.sh writes "4lw.commands.whitelist=*" first; a later line for
    # the same key wins, as with Java properties.
    srv = start_server(['4lw.commands.whitelist=ruok,srvr'])
    yield srv
    stop_server(srv)


def test_whitelist(whitelisted_server):
    port = whitelisted_server.port
    assert four_letter(port, 'ruok') == 'imok'
    # ZooKeeper answers ruok before it serves requests; until then srvr
    # says "This ZooKeeper instance is not currently serving requests".
    assert wait_until(
        lambda: kv(four_letter(port, 'srvr'), ': ').get('Mode') in MODES, 10)
    for cmd in ('stat', 'mntr', 'conf', 'envi'):
        assert four_letter(port, cmd) == (
            '%s is not executed because it is not in the whitelist.\n' % cmd)


def test_reset_words_and_dump(zk, server, root):
    zk.create(root + '/e', ephemeral=True)
    zk.get(root + '/e')
    assert four_letter(server.port, 'crst') == 'Connection stats reset.\n'
    assert four_letter(server.port, 'srst') == 'Server stats reset.\n'
    srvr = four_letter(server.port, 'srvr')
    # srst zeroes the packet counters (the srvr connection itself counts one)
    assert int(re.search(r'Received: (\d+)', srvr).group(1)) <= 2
    dump = four_letter(server.port, 'dump')
    sid = '0x%x' % zk.client_id[0]
    assert dump.startswith('SessionTracker dump:\n')
    assert 'ephemeral nodes dump:\n' in dump
    assert '%s:\n\t%s\n' % (sid, root + '/e') in dump
