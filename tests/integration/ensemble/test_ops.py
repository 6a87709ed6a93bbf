"""Operations of an ensemble member, as ZooKeeper 3.8 prints them: srvr and
stat name the role ("Mode: leader") and a leader adds "Proposal sizes
last/min/max"; mntr has zk_server_state, zk_peer_state, zk_quorum_size and
on a leader the LeaderZooKeeperServer gauges zabd measures; and
/zookeeper/config holds the ensemble's server lines.

A 3-node zabd ensemble (test_election.py's helpers) is checked against a
3-node ZooKeeper 3.8 ensemble run the same way: the same line and field
NAMES and formats, and the values that do not depend on timing.

A write through a client moves the leader's proposal sizes, and a client
reads /zookeeper/config, on both.
"""
import os
import re
import time

import pytest

from test_election import (HAVE_ZK, Ensemble, four, wait_for)  # noqa: E402
from hard_limit import hard_limit  # noqa: E402  (test_election put it on the path)

needs_zk = pytest.mark.skipif(not HAVE_ZK, reason='needs java and the Debian package zookeeper')

SERVED_S = 30  # bound on the wait for every member to answer srvr with a Mode
LEADER_GAUGES = ['zk_learners', 'zk_synced_followers', 'zk_synced_observers',
                 'zk_leader_uptime', 'zk_last_proposal_size', 'zk_min_proposal_size',
                 'zk_max_proposal_size']
MEMBER_GAUGES = ['zk_server_state', 'zk_peer_state', 'zk_quorum_size']


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(180):
        yield


def mode_of(out):
    m = re.search(rb'^Mode: (\S+)$', out, re.M)
    return m.group(1).decode() if m else None


def modes(ens):
    """{sid: mode} once every member answers srvr with a Mode, else None."""
    out = {}
    for s in ens.servers:
        try:
            m = mode_of(four(s.client, b'srvr'))
        except OSError:
            return None
        if m is None:
            return None
        out[s.sid] = m
    return out


SYNCED_RE = re.compile(r'\] (established as leader of epoch|synced with leader)')


def served(ens):
    """{sid: mode} once every member answers srvr with a Mode."""
    zabd = [s for s in ens.servers if type(s).__name__ == 'Server']
    wait_for('every zabd member synced', lambda: all(SYNCED_RE.search(s.log()) for s in zabd),
             ens.servers, timeout=SERVED_S)
    return wait_for('every member answering srvr with a Mode', lambda: modes(ens), ens.servers,
                    timeout=SERVED_S)


def mntr(port):
    """{name: value} of a mntr answer."""
    out = {}
    for line in four(port, b'mntr').decode().splitlines():
        k, _, v = line.partition('\t')
        out[k] = v
    return out


def keys(out):
    """The names of srvr/stat lines ("Mode", "Node count", ...), in order."""
    return [line.split(':')[0] for line in out.decode().splitlines()
            if ':' in line and not line.startswith(' /')]


def leader_of(ens, m):
    return ens.by_id(next(sid for sid, mode in m.items() if mode == 'leader'))


@pytest.fixture
def zabd3():
    e = Ensemble(3)
    e.start()
    yield e
    e.close()


@pytest.fixture(scope='module')
def zk3():
    """What a ZooKeeper 3.8 ensemble prints, once served and after a create
    (10 bytes) and a setData (100 bytes) through its leader."""
    if not HAVE_ZK:
        pytest.skip('needs java and the Debian package zookeeper')
    from kazoo.client import KazooClient
    e = Ensemble(3, zk_ids=(1, 2, 3))
    e.start()
    try:
        with hard_limit(120):
            m = served(e)
            lead = leader_of(e, m)
            fol = e.by_id(next(sid for sid, mode in m.items() if mode == 'follower'))
            got = {'m_lead_before': mntr(lead.client), 'srvr_lead_before': four(lead.client, b'srvr')}
            zk = KazooClient(hosts='127.0.0.1:%d' % lead.client, timeout=10)
            zk.start(timeout=20)
            try:
                zk.create('/a', b'x' * 10)
                got['m_lead_create'] = mntr(lead.client)
                zk.set('/a', b'y' * 100)
                got['m_lead_set'] = mntr(lead.client)
                zk.set('/a', b'z')
                got['m_lead_set1'] = mntr(lead.client)
                got['config'] = zk.get('/zookeeper/config')
            finally:
                zk.stop()
                zk.close()
            got.update(srvr_lead=four(lead.client, b'srvr'), stat_lead=four(lead.client, b'stat'),
                       srvr_fol=four(fol.client, b'srvr'), stat_fol=four(fol.client, b'stat'),
                       m_lead=mntr(lead.client), m_fol=mntr(fol.client),
                       servers=[s.line() for s in e.servers])
    finally:
        e.close()
    return got


def test_srvr_and_stat_name_each_members_role(zabd3):
    m = served(zabd3)
    assert sorted(m.values()) == ['follower', 'follower', 'leader'], m
    lead = leader_of(zabd3, m)
    assert lead.sid == 3  # empty logs: the highest id leads
    for s in zabd3.servers:
        role = s.roles()[-1][0]
        want = {'LEADING': 'leader', 'FOLLOWING': 'follower'}[role]
        for word in (b'srvr', b'stat'):
            out = four(s.client, word)
            assert mode_of(out) == want, out
            sizes = re.findall(rb'^Proposal sizes last/min/max: (-?\d+)/(-?\d+)/(-?\d+)$', out, re.M)
            # Only a leader prints the line; nothing proposed yet: -1 each.
            assert sizes == ([(b'-1', b'-1', b'-1')] if want == 'leader' else []), out
            assert out.endswith(b'\n'), out


def test_mntr_has_the_role_and_a_leaders_gauges(zabd3):
    m = served(zabd3)
    lead = leader_of(zabd3, m)
    lm = mntr(lead.client)
    assert lm['zk_server_state'] == 'leader'
    assert lm['zk_peer_state'] == 'leading - broadcast'
    assert lm['zk_quorum_size'] == '3'
    assert lm['zk_learners'] == '2'
    assert lm['zk_synced_followers'] == '2'
    assert lm['zk_synced_observers'] == '0'
    for k in ('zk_last_proposal_size', 'zk_min_proposal_size', 'zk_max_proposal_size'):
        assert lm[k] == '-1', (k, lm[k])
    # Left out rather than printed as constants (server/ens_report.c).
    assert 'zk_pending_syncs' not in lm and 'zk_synced_non_voting_followers' not in lm
    up = int(lm['zk_leader_uptime'])
    assert 0 <= up <= int(lm['zk_uptime'])
    for s in zabd3.servers:
        if s is lead:
            continue
        fm = mntr(s.client)
        assert fm['zk_server_state'] == 'follower'
        assert fm['zk_peer_state'] == 'following - broadcast'
        assert fm['zk_quorum_size'] == '3'
        assert not any(k in fm for k in LEADER_GAUGES), fm
    # The uptime moves with time ...
    wait_for('zk_leader_uptime growing', lambda: int(mntr(lead.client)['zk_leader_uptime']) >= up + 200,
             zabd3.servers, timeout=10)
    # ... and the counts with the quorum connections: a follower killed.
    gone = next(s for s in zabd3.servers if s is not lead)
    gone.kill()
    alive = [s for s in zabd3.servers if s is not gone]
    wait_for('the leader counting one synced follower',
             lambda: mntr(lead.client).get('zk_synced_followers') == '1', alive, timeout=20)
    lm = mntr(lead.client)
    assert lm['zk_learners'] == '1'
    assert lm['zk_server_state'] == 'leader'
    gone.start()
    wait_for('the follower back and synced',
             lambda: mntr(lead.client).get('zk_synced_followers') == '2', zabd3.servers, timeout=30)
    assert mntr(lead.client)['zk_learners'] == '2'


def test_srst_resets_nothing_it_should_not(zabd3):
    m = served(zabd3)
    lead = leader_of(zabd3, m)
    assert four(lead.client, b'srst') == b'Server stats reset.\n'
    out = four(lead.client, b'srvr')
    assert b'Proposal sizes last/min/max: -1/-1/-1\n' in out
    assert mntr(lead.client)['zk_synced_followers'] == '2'


@needs_zk
def test_formats_match_zookeeper(zabd3, zk3):
    m = served(zabd3)
    lead = leader_of(zabd3, m)
    fol = next(s for s in zabd3.servers if s is not lead)
    # srvr and stat: the same lines, in the same order, on each role.
    assert keys(four(lead.client, b'srvr')) == keys(zk3['srvr_lead'])
    assert keys(four(fol.client, b'srvr')) == keys(zk3['srvr_fol'])
    assert keys(four(lead.client, b'stat')) == keys(zk3['stat_lead'])
    assert keys(four(fol.client, b'stat')) == keys(zk3['stat_fol'])
    assert keys(zk3['srvr_lead'])[-1] == 'Proposal sizes last/min/max'
    assert b'Proposal sizes last/min/max: -1/-1/-1\n' in zk3['srvr_lead_before']
    # mntr: every ensemble name zabd prints, ZooKeeper prints on that role.
    lm, fm = mntr(lead.client), mntr(fol.client)
    for name in MEMBER_GAUGES + LEADER_GAUGES:
        assert name in zk3['m_lead'], name
        assert name in lm, name
    for name in MEMBER_GAUGES:
        assert name in zk3['m_fol'] and name in fm, name
    for name in LEADER_GAUGES:
        assert name not in zk3['m_fol'] and name not in fm, name
    # The values that do not depend on timing or load are ZooKeeper's.
    zl = zk3['m_lead']
    for name in ('zk_server_state', 'zk_peer_state', 'zk_quorum_size', 'zk_learners',
                 'zk_synced_followers', 'zk_synced_observers'):
        assert lm[name] == zl[name], (name, lm[name], zl[name])
    for name in ('zk_server_state', 'zk_peer_state', 'zk_quorum_size'):
        assert fm[name] == zk3['m_fol'][name], name
    for name in ('zk_last_proposal_size', 'zk_min_proposal_size', 'zk_max_proposal_size'):
        assert zk3['m_lead_before'][name] == lm[name] == '-1', name
    # ZooKeeper's sizes move with the writes: a setData of 100 bytes is 99
    # more than one of 1 byte; the largest is kept.
    c, s, t = zk3['m_lead_create'], zk3['m_lead_set'], zk3['m_lead_set1']
    assert int(s['zk_last_proposal_size']) - int(t['zk_last_proposal_size']) == 99
    assert t['zk_max_proposal_size'] == s['zk_max_proposal_size'] == s['zk_last_proposal_size']
    assert int(c['zk_last_proposal_size']) != int(s['zk_last_proposal_size'])


def config_string(ens):
    return ('\n'.join(s.line() for s in sorted(ens.servers, key=lambda s: s.sid))
            + '\nversion=0').encode()


@needs_zk
def test_zookeeper_config_node_on_zookeeper(zk3):
    """The reference for the test below: ZooKeeper's own bytes and Stat."""
    data, st = zk3['config']
    assert data == ('\n'.join(zk3['servers']) + '\nversion=0').encode()
    assert (st.czxid, st.mzxid, st.ctime, st.version, st.cversion, st.aversion,
            st.ephemeralOwner, st.numChildren, st.pzxid) == (0, 0, 0, -1, 0, -1, 0, 0, 0)
    assert st.dataLength == len(data) and st.mtime > 0


def test_zookeeper_config_node(zabd3):
    from kazoo.client import KazooClient
    served(zabd3)
    t0 = int(time.time() * 1000)
    for s in zabd3.servers:
        zk = KazooClient(hosts='127.0.0.1:%d' % s.client, timeout=10)
        zk.start(timeout=20)
        try:
            data, st = zk.get('/zookeeper/config')
        finally:
            zk.stop()
            zk.close()
        assert data == config_string(zabd3), (s.sid, data)
        assert (st.czxid, st.mzxid, st.ctime, st.version, st.cversion, st.aversion,
                st.ephemeralOwner, st.numChildren, st.pzxid) == (0, 0, 0, -1, 0, -1, 0, 0, 0)
        assert st.dataLength == len(data)
        assert t0 - 120000 < st.mtime <= int(time.time() * 1000)  # set when the member started


@needs_zk
def test_proposal_sizes_move_with_writes(zabd3, zk3):
    """The same writes as zk3's through zabd's leader: the same txn bytes,
    so the same sizes as ZooKeeper's for the create and each setData."""
    from kazoo.client import KazooClient
    m = served(zabd3)
    lead = leader_of(zabd3, m)
    zk = KazooClient(hosts='127.0.0.1:%d' % lead.client, timeout=10)
    zk.start(timeout=20)
    got = {}
    try:
        zk.create('/a', b'x' * 10)
        got['m_lead_create'] = mntr(lead.client)
        zk.set('/a', b'y' * 100)
        got['m_lead_set'] = mntr(lead.client)
        zk.set('/a', b'z')
        got['m_lead_set1'] = mntr(lead.client)
        out = four(lead.client, b'srvr')  # before the client's closeSession
    finally:
        zk.stop()
        zk.close()
    for k, v in got.items():
        assert v['zk_last_proposal_size'] == zk3[k]['zk_last_proposal_size'], k
    t = got['m_lead_set1']
    assert t['zk_max_proposal_size'] == got['m_lead_set']['zk_last_proposal_size']
    assert int(t['zk_min_proposal_size']) <= int(t['zk_last_proposal_size'])
    line = 'Proposal sizes last/min/max: %s/%s/%s\n' % (
        t['zk_last_proposal_size'], t['zk_min_proposal_size'], t['zk_max_proposal_size'])
    assert line.encode() in out, out
