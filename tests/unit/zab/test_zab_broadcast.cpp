// Discovery, sync and broadcast on an in-test network. Like the election
// harness, a seeded PRNG gives each message its delay and the clock is
// simulated (every node ticks every 25 ms); here quorum packets travel too,
// encoded and decoded through wire/, on connections that keep their order
// (TCP) and whose in-flight bytes die with them. Each node has a simulated
// log with a durable prefix: a flush at a random tick makes the rest
// durable and reports it through zab_persisted. Epochs are persisted at
// once (the contract: synchronously, before the batch's packets). Commits
// are checked as they are applied: in zxid order, and the same bytes on
// every node for one zxid; the chaos test cuts connections and isolates
// leaders at random and checks that no txn a leader committed is lost.
#include "tests/unit/zab/zab_net.h"

using namespace zabnet;

TEST_GROUP(ZabBroadcast){};

TEST(ZabBroadcast, ThreeVotersEmptyDiffThenHundredTxns)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("broadcast", seed);
        Net net(seed);
        for (int64_t id = 1; id <= 3; id++)
            net.add(id, {}, 0, 0);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 5000), what.c_str());
        int64_t l = net.leader();
        CHECK_EQUAL_TEXT(3, l, what.c_str()); // equal votes: the highest id
        for (int64_t id = 1; id <= 3; id++) {
            // Epoch 1 = max(accepted 0) + 1, persisted as both epochs.
            CHECK_EQUAL_TEXT(1, net.nodes[id].accepted_epoch, what.c_str());
            CHECK_EQUAL_TEXT(1, net.nodes[id].current_epoch, what.c_str());
            if (id == l)
                continue;
            auto s = sync_of(net, l, id);
            std::vector<std::pair<int32_t, int64_t>> want = {{WIRE_QP_DIFF, 0},
                                                             {WIRE_QP_NEWLEADER, zx(1, 0)}};
            CHECK_TEXT(s == want, what.c_str()); // an empty DIFF
        }
        std::vector<int64_t> want;
        for (int i = 1; i <= 100; i++) {
            want.push_back(net.propose(l, i));
            if (i % 7 == 0)
                net.run_for(10); // some proposals overlap, some do not
        }
        CHECK_EQUAL_TEXT(zx(1, 100), want.back(), what.c_str());
        CHECK_TEXT(net.run_until([&] { return net.all_applied(zx(1, 100)); }, 5000),
                   (what + " " + net.failure).c_str());
        net.run_for(1000); // the last ACKs: followers apply before their log syncs
        for (int64_t id = 1; id <= 3; id++) {
            CHECK_TEXT(net.zxids_applied(id) == want, what.c_str());
            CHECK_EQUAL_TEXT(zx(1, 100), zab_last_committed(net.z(id)), what.c_str());
            CHECK_EQUAL_TEXT(100, (long)net.nodes[id].log.size(), what.c_str());
            CHECK_TEXT(net.nodes[id].errors.empty(), what.c_str());
        }
        // Followers ACKed each proposal once; the leader committed each once.
        for (int64_t id = 1; id <= 2; id++) {
            CHECK_EQUAL_TEXT(100 + 2, net.count(id, l, WIRE_QP_ACK), what.c_str());
            CHECK_EQUAL_TEXT(100, net.count(l, id, WIRE_QP_COMMIT), what.c_str());
        }
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, ProposeNeedsAnEstablishedLeaderAndItsZxid)
{
    Net net(3);
    for (int64_t id = 1; id <= 3; id++)
        net.add(id, {}, 0, 0);
    net.start_all();
    std::vector<uint8_t> t = make_txn(zx(1, 1), 1);
    int64_t got = 0;
    CHECK_EQUAL(-1, zab_next_zxid(net.z(3)));
    CHECK_EQUAL(ZERR_NOTREADONLY, zab_propose(net.z(3), t.data(), t.size(), &got));
    CHECK(net.run_until([&] { return net.all_serving(); }, 5000));
    CHECK_EQUAL(ZERR_NOTREADONLY, zab_propose(net.z(1), t.data(), t.size(), &got));
    std::vector<uint8_t> wrong = make_txn(zx(1, 2), 1);
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_propose(net.z(3), wrong.data(), wrong.size(), &got));
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_propose(net.z(3), t.data(), 19, &got));
    CHECK_EQUAL(zx(1, 1), zab_next_zxid(net.z(3)));
    CHECK_EQUAL(0, zab_propose(net.z(3), t.data(), t.size(), &got));
    CHECK_EQUAL(zx(1, 1), got);
    CHECK_EQUAL(zx(1, 2), zab_next_zxid(net.z(3)));
}

TEST(ZabBroadcast, FollowerBehindSyncsByDiff)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("diff", seed);
        Net net(seed);
        std::vector<Txn> full = epoch_log(1, 1, 10);
        net.add(1, full, 1, 1);
        net.add(2, full, 1, 1);
        net.add(3, std::vector<Txn>(full.begin(), full.begin() + 7), 1, 1);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 5000), what.c_str());
        CHECK_EQUAL_TEXT(2, net.leader(), what.c_str());
        std::vector<std::pair<int32_t, int64_t>> want = {
            {WIRE_QP_DIFF, zx(1, 10)},   {WIRE_QP_PROPOSAL, zx(1, 8)},
            {WIRE_QP_COMMIT, zx(1, 8)},  {WIRE_QP_PROPOSAL, zx(1, 9)},
            {WIRE_QP_COMMIT, zx(1, 9)},  {WIRE_QP_PROPOSAL, zx(1, 10)},
            {WIRE_QP_COMMIT, zx(1, 10)}, {WIRE_QP_NEWLEADER, zx(2, 0)}};
        CHECK_TEXT(sync_of(net, 2, 3) == want, what.c_str());
        std::vector<std::pair<int32_t, int64_t>> empty = {{WIRE_QP_DIFF, zx(1, 10)},
                                                          {WIRE_QP_NEWLEADER, zx(2, 0)}};
        CHECK_TEXT(sync_of(net, 2, 1) == empty, what.c_str());
        std::vector<int64_t> ids;
        for (const Txn &t : full)
            ids.push_back(t.zxid);
        CHECK_TEXT(net.zxids_applied(3) == ids, what.c_str());
        CHECK_TEXT(net.nodes[3].applied[9].bytes == full[9].bytes, what.c_str());
        for (int i = 1; i <= 5; i++)
            ids.push_back(net.propose(2, 100 + i));
        CHECK_EQUAL_TEXT(zx(2, 1), ids[10], what.c_str());
        CHECK_TEXT(net.run_until([&] { return net.all_applied(zx(2, 5)); }, 5000), what.c_str());
        for (int64_t id = 1; id <= 3; id++)
            CHECK_TEXT(net.zxids_applied(id) == ids, what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, OldEpochTxnIsTruncated)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("trunc", seed);
        Net net(seed);
        std::vector<Txn> base = epoch_log(1, 1, 5);
        std::vector<Txn> good = concat(base, epoch_log(2, 1, 2));
        net.add(1, good, 2, 2);
        net.add(2, good, 2, 2);
        // 3 logged 0x100000006 in epoch 1 and no quorum ever did.
        net.add(3, concat(base, epoch_log(1, 6, 6)), 1, 1);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 5000), what.c_str());
        CHECK_EQUAL_TEXT(2, net.leader(), what.c_str());
        std::vector<std::pair<int32_t, int64_t>> want = {
            {WIRE_QP_TRUNC, zx(1, 5)},  {WIRE_QP_PROPOSAL, zx(2, 1)},
            {WIRE_QP_COMMIT, zx(2, 1)}, {WIRE_QP_PROPOSAL, zx(2, 2)},
            {WIRE_QP_COMMIT, zx(2, 2)}, {WIRE_QP_NEWLEADER, zx(3, 0)}};
        CHECK_TEXT(sync_of(net, 2, 3) == want, what.c_str());
        std::vector<int64_t> ids;
        for (const Txn &t : good)
            ids.push_back(t.zxid);
        CHECK_TEXT(net.zxids_applied(3) == ids, what.c_str());
        CHECK_EQUAL_TEXT(7, (long)net.nodes[3].log.size(), what.c_str());
        CHECK_EQUAL_TEXT(zx(2, 2), net.nodes[3].log.back().zxid, what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, LearnerAheadInAnOldEpochIsTruncatedToTheLeadersLast)
{
    Net net(5);
    std::vector<Txn> base = epoch_log(1, 1, 5);
    net.add(1, base, 2, 2); // they moved to epoch 2 and proposed nothing
    net.add(2, base, 2, 2);
    net.add(3, concat(base, epoch_log(1, 6, 6)), 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.all_serving(); }, 5000));
    CHECK_EQUAL(2, net.leader());
    std::vector<std::pair<int32_t, int64_t>> want = {{WIRE_QP_TRUNC, zx(1, 5)},
                                                     {WIRE_QP_NEWLEADER, zx(3, 0)}};
    CHECK(sync_of(net, 2, 3) == want);
    CHECK_EQUAL(zx(1, 5), zab_last_zxid(net.z(3)));
    CHECK_EQUAL(5, (long)net.nodes[3].applied.size());
}

TEST(ZabBroadcast, NewEpochsExceedAcceptedOnesAndNeverRepeat)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        std::string what = seed_text("epochs", seed);
        Net net(seed);
        // 5 has the highest id and the highest accepted epoch: whichever
        // quorum connects first, epoch 8 is max + 1.
        const int64_t accepted[] = {0, 3, 6, 2, 5, 7};
        for (int64_t id = 1; id <= 5; id++)
            net.add(id, {}, accepted[id], 1);
        net.start_all();
        std::vector<int64_t> epochs;
        std::vector<int64_t> all;
        for (int round = 0; round < 3; round++) {
            net.run_until([&] { return net.all_serving(); }, 20000);
            CHECK_TEXT(net.all_serving(),
                       (what + " round " + std::to_string(round) + net.failure).c_str());
            int64_t l = net.leader();
            if (round == 0)
                CHECK_EQUAL_TEXT(5, l, what.c_str());
            CHECK_TEXT(net.nodes[l].z != nullptr, what.c_str());
            int64_t e = zab_current_epoch(net.z(l));
            if (round == 0)
                CHECK_EQUAL_TEXT(8, e, what.c_str());
            for (int64_t prev : epochs)
                CHECK_TEXT(e > prev, what.c_str());
            epochs.push_back(e);
            for (auto &kv : net.nodes)
                if (kv.second.z != nullptr) {
                    CHECK_EQUAL_TEXT(e, kv.second.accepted_epoch, what.c_str());
                    CHECK_EQUAL_TEXT(e, kv.second.current_epoch, what.c_str());
                }
            // Some txns, then the leader dies with some perhaps not
            // committed everywhere; every committed one must survive.
            for (int i = 1; i <= 10; i++)
                net.propose(l, round * 100 + i);
            net.run_until([&] { return zab_last_committed(net.z(l)) >= zx(e, 5); }, 2000);
            net.kill(l);
            if (round == 2)
                break;
        }
        CHECK_EQUAL_TEXT(3, (long)epochs.size(), what.c_str());
        // Survivors (1, 2) elect again? Not a quorum of 5: they stay LOOKING,
        // and nothing they applied contradicts another node.
        std::vector<int64_t> a1 = net.zxids_applied(1), a2 = net.zxids_applied(2);
        size_t n = std::min(a1.size(), a2.size());
        CHECK_TEXT(std::equal(a1.begin(), a1.begin() + (long)n, a2.begin()), what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, KilledLeaderLosesNoCommittedTxn)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("kill", seed);
        Net net(seed);
        for (int64_t id = 1; id <= 3; id++)
            net.add(id, {}, 0, 0);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 5000), what.c_str());
        CHECK_EQUAL_TEXT(3, net.leader(), what.c_str());
        for (int i = 1; i <= 20; i++)
            net.propose(3, i);
        // Kill the leader part way: at least its first 5 are committed.
        net.run_until([&] { return zab_last_committed(net.z(3)) >= zx(1, 5); }, 2000);
        int64_t leader_committed = zab_last_committed(net.z(3));
        CHECK_TEXT(leader_committed >= zx(1, 5), what.c_str());
        net.kill(3);
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 20000),
                   (what + net.failure).c_str());
        CHECK_EQUAL_TEXT(2, net.leader(), what.c_str());
        CHECK_EQUAL_TEXT(2, zab_current_epoch(net.z(2)), what.c_str());
        int64_t z2 = net.propose(2, 99);
        CHECK_EQUAL_TEXT(zx(2, 1), z2, what.c_str());
        CHECK_TEXT(net.run_until([&] { return net.all_applied(z2); }, 5000), what.c_str());
        // Everything anyone committed (the dead leader too) is applied on
        // both survivors, in order, with the same bytes (apply() checks).
        std::vector<int64_t> a1 = net.zxids_applied(1);
        CHECK_TEXT(a1 == net.zxids_applied(2), what.c_str());
        for (auto &kv : net.committed)
            CHECK_TEXT(std::find(a1.begin(), a1.end(), kv.first) != a1.end(), what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, PartitionedLeaderStepsDownWithinSyncLimit)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("partition", seed);
        Net net(seed);
        for (int64_t id = 1; id <= 3; id++)
            net.add(id, {}, 0, 0);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 5000), what.c_str());
        net.run_for(1000); // pings flow
        int64_t cut = net.now;
        net.link_up = [](int64_t a, int64_t b) { return a != 3 && b != 3; };
        const int64_t limit = (int64_t)kSyncLimit * kTickMs;
        // Still leading just before the limit could have run out ...
        net.run_until([&] { return zab_role_get(net.z(3)) != ZAB_ROLE_LEADING; }, limit - kTickMs);
        CHECK_EQUAL_TEXT(ZAB_ROLE_LEADING, zab_role_get(net.z(3)), what.c_str());
        // ... and gone within syncLimit plus a tick (the quorum check).
        CHECK_TEXT(
            net.run_until([&] { return zab_role_get(net.z(3)) != ZAB_ROLE_LEADING; }, 2 * kTickMs),
            what.c_str());
        CHECK_TEXT(net.now <= cut + limit + kTickMs, what.c_str());
        CHECK_FALSE_TEXT(net.nodes[3].is_serving, what.c_str());
        CHECK_EQUAL_TEXT(ZAB_ROLE_LOOKING, net.nodes[3].roles.back(), what.c_str());
        bool is_logged = false;
        for (const zab_error &e : net.nodes[3].errors)
            is_logged = is_logged || e.code == ZERR_CONNECTIONLOSS;
        CHECK_TEXT(is_logged, what.c_str());
        // The majority side goes on in a newer epoch.
        CHECK_TEXT(net.run_until(
                       [&] {
                           int64_t l = net.leader();
                           return l == 2 && net.nodes[1].is_serving &&
                                  zab_vote_get(net.z(1)).leader == 2;
                       },
                       20000),
                   what.c_str());
        CHECK_EQUAL_TEXT(2, zab_current_epoch(net.z(2)), what.c_str());
        CHECK_TEXT(zab_role_get(net.z(3)) != ZAB_ROLE_LEADING, what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, ObserverLearnsByInform)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        std::string what = seed_text("observer", seed);
        Net net(seed);
        for (int64_t id = 1; id <= 5; id++)
            net.add(id, {}, 0, 0);
        net.add(9, {}, 0, 0, true);
        net.start_all();
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 10000),
                   (what + net.failure).c_str());
        CHECK_EQUAL_TEXT(5, net.leader(), what.c_str());
        CHECK_EQUAL_TEXT(ZAB_ROLE_OBSERVING, zab_role_get(net.z(9)), what.c_str());
        std::vector<int64_t> want;
        for (int i = 1; i <= 30; i++)
            want.push_back(net.propose(5, i));
        CHECK_TEXT(net.run_until([&] { return net.all_applied(zx(1, 30)); }, 5000), what.c_str());
        CHECK_TEXT(net.zxids_applied(9) == want, what.c_str());
        CHECK_EQUAL_TEXT(30, (long)net.count(5, 9, WIRE_QP_INFORM), what.c_str());
        CHECK_EQUAL_TEXT(0, (long)net.count(5, 9, WIRE_QP_PROPOSAL), what.c_str());
        CHECK_EQUAL_TEXT(0, (long)net.count(5, 9, WIRE_QP_COMMIT), what.c_str());
        // The observer ACKs NEWLEADER and UPTODATE, never a proposal.
        CHECK_EQUAL_TEXT(2, (long)net.count(9, 5, WIRE_QP_ACK), what.c_str());
        for (int64_t id = 1; id <= 4; id++)
            CHECK_TEXT(net.zxids_applied(id) == want, what.c_str());
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, LearnerWithNoLeaderReturnsToLooking)
{
    // 1 and 2 of 3 voters run and elect 2. Then 2 goes silent (its
    // connection stays open): 1 hears no PING and is LOOKING again once
    // syncLimit has passed, not before.
    Net net(11);
    for (int64_t id = 1; id <= 3; id++)
        net.add(id, {}, 0, 0);
    net.start(1);
    net.start(2);
    CHECK(net.run_until([&] { return net.leader() == 2 && net.nodes[1].is_serving; }, 5000));
    net.link_up = [](int64_t a, int64_t b) { return a != 2 && b != 2; }; // silent, not closed
    int64_t cut = net.now;
    CHECK(net.run_until([&] { return zab_role_get(net.z(1)) == ZAB_ROLE_LOOKING; }, 2000));
    CHECK(net.now <= cut + kSyncLimit * kTickMs + 50);
    CHECK(net.now >= cut + (kSyncLimit - 1) * kTickMs);
    CHECK_FALSE(net.nodes[1].is_serving);
}

TEST(ZabBroadcast, RandomConnectionLossKeepsEveryCommit)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        std::string what = seed_text("chaos", seed);
        Net net(seed);
        for (int64_t id = 1; id <= 5; id++)
            net.add(id, {}, 0, 0);
        net.start_all();
        uint64_t rng = seed;
        int tag = 0;
        for (int round = 0; round < 200 && net.failure.empty(); round++) {
            int64_t l = net.leader();
            if (l != 0 && zab_next_zxid(net.z(l)) > 0)
                net.propose(l, ++tag);
            net.run_for(20);
            if (round % 50 == 20 && l != 0) // isolate the leader for a second
                net.link_up = [l](int64_t a, int64_t b) { return a != l && b != l; };
            if (round % 50 == 45)
                net.link_up = [](int64_t, int64_t) { return true; };
            if (round % 15 == 7) { // cut one live connection, either side
                std::vector<std::pair<int64_t, int64_t>> up;
                for (auto &kv : net.conns)
                    if (kv.second.is_up)
                        up.push_back(kv.first);
                if (!up.empty()) {
                    auto c = up[splitmix(&rng) % up.size()];
                    net.close(c.first, c.second);
                    // the side that closed tells its zab too
                    CHECK_EQUAL(0, zab_peer_down(net.z(c.first), c.second));
                    net.drain(net.nodes[c.first]);
                }
            }
        }
        net.link_up = [](int64_t, int64_t) { return true; };
        CHECK_TEXT(net.run_until([&] { return net.all_serving(); }, 30000),
                   (what + net.failure).c_str());
        CHECK_TEXT(zab_current_epoch(net.z(1)) >= 4, what.c_str()); // leaders did change
        int64_t last = net.propose(net.leader(), ++tag);
        CHECK_TEXT(net.run_until([&] { return net.all_applied(last); }, 5000),
                   (what + net.failure).c_str());
        std::vector<int64_t> a1 = net.zxids_applied(1);
        for (int64_t id = 2; id <= 5; id++)
            CHECK_TEXT(net.zxids_applied(id) == a1, what.c_str());
        for (auto &kv : net.committed)
            CHECK_TEXT(std::find(a1.begin(), a1.end(), kv.first) != a1.end(), what.c_str());
        CHECK_TEXT(a1.size() > 20, what.c_str()); // the run did make progress
        CHECK_TEXT(net.failure.empty(), net.failure.c_str());
    }
}

TEST(ZabBroadcast, LearnerRefusesAnEpochOlderThanItAccepted)
{
    Net net(13);
    net.add(1, {}, 9, 1); // accepted epoch 9 from a leader that never made it
    net.add(2, {}, 1, 1);
    net.add(3, {}, 1, 1);
    net.start(2);
    net.start(3);
    CHECK(net.run_until([&] { return net.leader() == 3 && net.nodes[2].is_serving; }, 5000));
    CHECK_EQUAL(2, zab_current_epoch(net.z(3)));
    net.start(1);
    net.run_for(3000);
    // 1 follows 3, is offered epoch 2 < 9, refuses, is LOOKING again (and
    // so on): it never serves, and 9 stays its accepted epoch.
    CHECK_FALSE(net.nodes[1].is_serving);
    CHECK_EQUAL(9, net.nodes[1].accepted_epoch);
    CHECK_EQUAL(1, net.nodes[1].current_epoch);
    bool is_logged = false;
    for (const zab_error &e : net.nodes[1].errors)
        is_logged = is_logged || (e.peer == 3 && e.code == ZERR_DATAINCONSISTENCY);
    CHECK(is_logged);
    CHECK(std::count(net.nodes[1].roles.begin(), net.nodes[1].roles.end(),
                     (int32_t)ZAB_ROLE_FOLLOWING) >= 2);
    CHECK_EQUAL(0, (long)net.count(1, 3, WIRE_QP_ACKEPOCH));
    CHECK(net.failure.empty());
}
