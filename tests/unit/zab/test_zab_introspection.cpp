// What mntr, srvr and stat read from a leader (zab.h's introspection), on
// zab_net.h's network.
#include "tests/unit/zab/zab_net.h"

using namespace zabnet;

namespace
{

// A txn of exactly len bytes (a TxnHeader, then filler), proposed on l.
int64_t propose_len(Net &net, int64_t l, size_t len)
{
    Node &n = net.nodes.at(l);
    int64_t zxid = zab_next_zxid(n.z);
    CHECK(zxid > 0);
    std::vector<uint8_t> t = make_txn(zxid, 1);
    t.resize(len, 0xab);
    int64_t got = 0;
    CHECK_EQUAL(0, zab_propose(n.z, t.data(), t.size(), &got));
    net.drain(n);
    return got;
}

void check_sizes_at(int line, zab *z, int64_t last, int64_t min, int64_t max)
{
    zab_sizes s = zab_proposal_sizes(z);
    std::string at = "check_sizes at line " + std::to_string(line);
    CHECK_EQUAL_TEXT(last, s.last, at.c_str());
    CHECK_EQUAL_TEXT(min, s.min, at.c_str());
    CHECK_EQUAL_TEXT(max, s.max, at.c_str());
}
#define check_sizes(...) check_sizes_at(__LINE__, __VA_ARGS__)

} // namespace

TEST_GROUP(ZabIntrospection){};

TEST(ZabIntrospection, LeaderCountsItsLearnersAndTheirSync)
{
    Net net(5);
    for (int64_t id = 1; id <= 3; id++)
        net.add(id, {}, 0, 0);
    net.add(9, {}, 0, 0, true);
    net.start_all();
    STRCMP_EQUAL("election", zab_phase_name(net.z(1)));
    // Discovery: learners have registered with 3 but none is synced yet.
    CHECK(net.run_until(
        [&] { return zab_role_get(net.z(3)) == ZAB_ROLE_LEADING && zab_n_learners(net.z(3)) >= 2; },
        10000));
    CHECK_EQUAL(0, (long)(zab_n_synced_followers(net.z(3)) + zab_n_synced_observers(net.z(3))));
    STRCMP_EQUAL("discovery", zab_phase_name(net.z(3)));
    CHECK_EQUAL(-1, zab_leader_uptime_ms(net.z(3)));
    CHECK(net.run_until([&] { return net.all_serving(); }, 10000));
    int64_t l = net.leader();
    CHECK_EQUAL(3, l);
    CHECK_EQUAL(3, (long)zab_n_learners(net.z(l)));
    CHECK_EQUAL(2, (long)zab_n_synced_followers(net.z(l)));
    CHECK_EQUAL(1, (long)zab_n_synced_observers(net.z(l)));
    STRCMP_EQUAL("broadcast", zab_phase_name(net.z(l)));
    STRCMP_EQUAL("broadcast", zab_phase_name(net.z(1)));
    STRCMP_EQUAL("broadcast", zab_phase_name(net.z(9)));
    // A learner counts nothing: the figures are a leader's.
    CHECK_EQUAL(0, (long)zab_n_learners(net.z(1)));
    CHECK_EQUAL(0, (long)zab_n_synced_followers(net.z(1)));
    CHECK_EQUAL(-1, zab_leader_uptime_ms(net.z(1)));
    // Uptime runs with the host's clock from the establishment.
    int64_t up = zab_leader_uptime_ms(net.z(l));
    CHECK(up >= 0);
    net.run_for(1000);
    int64_t up2 = zab_leader_uptime_ms(net.z(l));
    CHECK(up2 >= up + 900 && up2 <= up + 1100);
    // A follower goes: the leader forgets it once its connection closes.
    net.kill(1);
    CHECK(net.run_until([&] { return zab_n_synced_followers(net.z(l)) == 1; }, 2000));
    CHECK_EQUAL(2, (long)zab_n_learners(net.z(l)));
    CHECK_EQUAL(1, (long)zab_n_synced_observers(net.z(l)));
    CHECK_EQUAL(ZAB_ROLE_LEADING, zab_role_get(net.z(l))); // 2 of 3 voters: still a quorum
    // It comes back and syncs again.
    net.start(1);
    CHECK(net.run_until([&] { return zab_n_synced_followers(net.z(l)) == 2; }, 10000));
    CHECK_EQUAL(3, (long)zab_n_learners(net.z(l)));
    CHECK_TEXT(net.failure.empty(), net.failure.c_str());
}

TEST(ZabIntrospection, ProposalSizesAreTheLastMinAndMaxOfOneLeadership)
{
    Net net(7);
    for (int64_t id = 1; id <= 3; id++)
        net.add(id, {}, 0, 0);
    net.start_all();
    CHECK(net.run_until([&] { return net.all_serving(); }, 10000));
    int64_t l = net.leader();
    check_sizes(net.z(l), -1, -1, -1); // none yet: BufferStats's -1
    propose_len(net, l, 60);
    check_sizes(net.z(l), 60, 60, 60);
    propose_len(net, l, 150);
    propose_len(net, l, 40);
    check_sizes(net.z(l), 40, 40, 150);
    propose_len(net, l, 90);
    check_sizes(net.z(l), 90, 40, 150);
    // A refused proposal is not counted.
    std::vector<uint8_t> bad = make_txn(zab_next_zxid(net.z(l)) + 5, 1);
    bad.resize(500);
    int64_t got = 0;
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_propose(net.z(l), bad.data(), bad.size(), &got));
    check_sizes(net.z(l), 90, 40, 150);
    check_sizes(net.z(1), -1, -1, -1); // followers do not propose
    // srst starts them over.
    zab_proposal_sizes_reset(net.z(l));
    check_sizes(net.z(l), -1, -1, -1);
    propose_len(net, l, 70);
    check_sizes(net.z(l), 70, 70, 70);
    // A new leadership starts with none (ZooKeeper's new Leader object):
    // l is cut off and steps down, 2 leads; l rejoins as a follower.
    net.link_up = [l](int64_t a, int64_t b) { return a != l && b != l; };
    CHECK(net.run_until(
        [&] {
            return net.leader() == 2 && zab_next_zxid(net.z(2)) > 0 &&
                   zab_role_get(net.z(l)) != ZAB_ROLE_LEADING;
        },
        20000));
    check_sizes(net.z(2), -1, -1, -1);
    propose_len(net, 2, 33);
    check_sizes(net.z(2), 33, 33, 33);
    check_sizes(net.z(l), -1, -1, -1); // not leading
    net.link_up = [](int64_t, int64_t) { return true; };
    CHECK(net.run_until([&] { return net.all_serving() && net.leader() == 2; }, 20000));
    // Then 2 is cut off and the same zab (l) leads again, in a new epoch:
    // the sizes are that leadership's only.
    net.link_up = [](int64_t a, int64_t b) { return a != 2 && b != 2; };
    CHECK(net.run_until([&] { return net.leader() == l && zab_next_zxid(net.z(l)) > 0; }, 20000));
    check_sizes(net.z(l), -1, -1, -1);
    propose_len(net, l, 44);
    check_sizes(net.z(l), 44, 44, 44);
    CHECK_TEXT(net.failure.empty(), net.failure.c_str());
}
