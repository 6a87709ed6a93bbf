// SNAP and DIFF from the host's log on disk, on zab_net.h's network: a
// learner behind the committed-log window, whose leader's host carries its
// committed txns as the snapshot or reads them back from its log.
#include "tests/unit/zab/zab_net.h"

using namespace zabnet;

TEST_GROUP(ZabSnap){};

// Epoch 1 has ten txns: 1 and 2 hold them from `leaders_from` on, 3 only
// the first two. Runs until 2 leads and 3 serves.
static void start_with_3_behind(Net &net, size_t leaders_from = 0)
{
    std::vector<Txn> full = epoch_log(1, 1, 10);
    std::vector<Txn> leaders_log(full.begin() + (long)leaders_from, full.end());
    net.add(1, leaders_log, 1, 1);
    net.add(2, leaders_log, 1, 1);
    net.add(3, std::vector<Txn>(full.begin(), full.begin() + 2), 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.leader() == 2 && net.nodes[3].is_serving; }, 5000));
}

TEST(ZabSnap, LearnerBehindTheWindowGetsSnap)
{
    Net net(7);
    net.window_max = 4; // the leader keeps 0x100000007..a
    start_with_3_behind(net);
    // 3 was behind the window: the host was asked for one snapshot, 3
    // loaded it (no DIFF), then NEWLEADER; its tree is the leader's.
    CHECK_EQUAL(1, net.nodes[2].snaps_sent);
    CHECK_EQUAL(1, net.nodes[3].snaps_loaded);
    CHECK_EQUAL(1, (long)net.count(2, 3, WIRE_QP_SNAP));
    CHECK_EQUAL(0, (long)net.count(2, 3, WIRE_QP_DIFF));
    CHECK_EQUAL(1, (long)net.count(2, 3, WIRE_QP_NEWLEADER));
    CHECK_EQUAL(net.nodes[2].applied.size(), net.nodes[3].applied.size());
    CHECK(net.nodes[3].applied.back().bytes == net.nodes[2].applied.back().bytes);
    // New writes reach it like any follower.
    int64_t zxid = net.propose(2, 1);
    CHECK(net.run_until([&] { return net.nodes[3].applied.back().zxid == zxid; }, 2000));
    CHECK(net.failure.empty());
}

TEST(ZabSnap, LearnerBehindTheWindowGetsADiffFromDiskWhenTheLogHasIt)
{
    Net net(9);
    net.window_max = 4; // the window keeps 0x100000007..a
    net.has_disk_log = true;
    start_with_3_behind(net);
    // 3 is at 0x100000002, which the leader's log holds: a DIFF of the log
    // up to the window, then the window; no snapshot.
    CHECK_EQUAL(1, net.nodes[2].disk_diffs_sent);
    CHECK_EQUAL(0, net.nodes[2].snaps_sent);
    CHECK_EQUAL(1, (long)net.count(2, 3, WIRE_QP_DIFF));
    CHECK_EQUAL(0, (long)net.count(2, 3, WIRE_QP_SNAP));
    CHECK_EQUAL(net.nodes[2].applied.size(), net.nodes[3].applied.size());
    for (size_t i = 0; i < net.nodes[3].applied.size(); i++)
        CHECK(net.nodes[3].applied[i].bytes == net.nodes[2].applied[i].bytes);
    int64_t zxid = net.propose(2, 1);
    CHECK(net.run_until([&] { return net.nodes[3].applied.back().zxid == zxid; }, 2000));
    CHECK(net.failure.empty());
}

TEST(ZabSnap, ADiskDiffTheLogCannotServeFallsBackToSnap)
{
    Net net(10);
    net.window_max = 4;
    net.has_disk_log = true;
    // 1 and 2 kept only 0x100000004.. on disk (an older part purged):
    // 3, at 0x100000002, is behind both the window and the disk.
    start_with_3_behind(net, 3);
    CHECK_EQUAL(1, net.nodes[2].disk_diffs_refused);
    CHECK_EQUAL(0, net.nodes[2].disk_diffs_sent);
    CHECK_EQUAL(1, net.nodes[2].snaps_sent);
    CHECK_EQUAL(1, net.nodes[3].snaps_loaded);
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_disk_diff_done(net.z(2), 3, true)); // none pending
    CHECK(net.failure.empty());
}

TEST(ZabSnap, SnapSentForNobodyIsRefused)
{
    Net net(8);
    std::vector<Txn> full = epoch_log(1, 1, 3);
    for (int64_t id = 1; id <= 3; id++)
        net.add(id, full, 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.leader() == 3 && net.nodes[1].is_serving; }, 5000));
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_snap_sent(net.z(3), 1, zab_last_zxid(net.z(3))));
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_snap_sent(net.z(1), 3, 0)); // not a leader
    CHECK(net.failure.empty());
}
