// sim_zab.cpp: everything the simulator says to zab and hears from it. The
// rest of the simulator sees zab only through the Node fields kept here
// (role, vote, serving, applied) and these glue_* functions:
//   - notifications and quorum packets are encoded on the way out and
//     decoded (wire_el_*, wire_qp_peek/wire_qp_decode) before zab_step;
//   - a batch is carried out in zab.h's order: truncate and epochs to the
//     disk's synced state, appends to its unsynced tail (a sync follows,
//     then zab_persisted), drops/connect/packets, commits to the node's
//     applied list, role and serving changes (LOOKING closes every quorum
//     connection of the node, and first flushes the log, as ZooKeeper's
//     shutdown does: Sim::is_flushing_at_role_end);
//   - the client's txns go in through zab_next_zxid/zab_propose.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "tests/sim/sim.h"

namespace sim
{

const char *glue_role_name(int32_t role)
{
    switch (role) {
    case ZAB_ROLE_LOOKING:
        return "looking";
    case ZAB_ROLE_FOLLOWING:
        return "following";
    case ZAB_ROLE_LEADING:
        return "leading";
    case ZAB_ROLE_OBSERVING:
        return "observing";
    }
    return "?";
}

namespace
{

std::string vote_str(const zab_vote &v)
{
    char b[128];
    std::snprintf(b, sizeof b,
                  "(leader %" PRId64 ", zxid 0x%" PRIx64 ", el %" PRId64 ", peer %" PRId64 ")",
                  v.leader, (uint64_t)v.zxid, v.election_epoch, v.peer_epoch);
    return b;
}

int64_t lowest_voter(const Sim &s)
{
    for (const zab_server &sv : s.servers)
        if (!sv.is_observer)
            return sv.id; // servers are added in id order by every scenario
    return 0;
}

int64_t highest_voter(const Sim &s)
{
    int64_t id = 0;
    for (const zab_server &sv : s.servers)
        if (!sv.is_observer)
            id = sv.id;
    return id;
}

std::string hex(int64_t v)
{
    char b[32];
    std::snprintf(b, sizeof b, "0x%" PRIx64, (uint64_t)v);
    return b;
}

// Step 5 of a batch: apply one commit to n's tree (its applied list),
// recording what the invariants check: zxid order, one txn per zxid, and
// for a final commit the zxid applied before it (a node that skips one,
// or applies a different history, disagrees with the others there).
void apply(Sim &s, Node &n, const zab_txn &t, bool is_final)
{
    uint32_t sum = disk_sum(t.zxid, t.p, t.len);
    std::string who = "node " + std::to_string(n.id);
    int64_t prev = n.applied.empty() ? 0 : n.applied.back().zxid;
    if (t.zxid <= prev)
        s.violate("inv_applied_zxids_grow",
                  who + " applied " + hex(t.zxid) + " after " + hex(prev));
    auto it = s.txn_sum.find(t.zxid);
    if (it == s.txn_sum.end())
        s.txn_sum[t.zxid] = sum;
    else if (it->second != sum)
        s.violate("inv_committed_prefixes_agree",
                  who + " applied other bytes as " + hex(t.zxid) + " than another node");
    if (is_final) {
        auto p = s.pred_of.find(t.zxid);
        if (p == s.pred_of.end())
            s.pred_of[t.zxid] = prev;
        else if (p->second != prev)
            s.violate("inv_applied_zxids_grow", who + " applied " + hex(t.zxid) + " after " +
                                                    hex(prev) + ", another node after " +
                                                    hex(p->second) + " (a txn skipped)");
    }
    n.applied.push_back(Applied{t.zxid, sum, is_final, std::vector<uint8_t>(t.p, t.p + t.len)});
    // The client's txn is acknowledged when its leader commits it (a quorum
    // has logged it durably, so a quorum's synced disks must hold it).
    auto pr = s.proposed.find(t.zxid);
    if (is_final && pr != s.proposed.end() && pr->second.leader == n.id &&
        pr->second.incarnation == n.incarnation && n.role == ZAB_ROLE_LEADING && n.is_serving &&
        s.acked.count(t.zxid) == 0) {
        s.acked[t.zxid] = sum;
        size_t k = 0;
        for (const auto &kv : s.nodes)
            if (!kv.second.is_observer && kv.second.disk.has_synced(t.zxid, sum))
                k++;
        if (k <= s.n_voters() / 2)
            s.violate("inv_acked_txns_never_lost",
                      "txn " + hex(t.zxid) + " acknowledged with only " + std::to_string(k) +
                          " voters' synced logs holding it");
        s.trace("node " + std::to_string(n.id) + " acknowledges txn " + hex(t.zxid));
    }
}

// Step 1: TRUNC. The log and the tree lose everything after zxid; only
// tentative txns may go (a final commit taken back is a lost commit).
void truncate(Sim &s, Node &n, int64_t zxid)
{
    s.trace("node " + std::to_string(n.id) + " truncates its log after " + hex(zxid));
    n.disk.truncate(zxid);
    while (!n.applied.empty() && n.applied.back().zxid > zxid) {
        if (n.applied.back().is_final)
            s.violate("inv_applied_zxids_grow", "node " + std::to_string(n.id) + " TRUNC to " +
                                                    hex(zxid) + " takes back committed " +
                                                    hex(n.applied.back().zxid));
        n.applied.pop_back();
    }
}

// Step 4's end, a leader with has_disk_log: a learner behind the window is
// sent DIFF and, as PROPOSAL + COMMIT pairs, the records of my disk's log
// after its last zxid up to the window's base, when my log holds that zxid
// (what the real host checks; it also weighs the txns against a snapshot,
// which the simulator has not got). The log holds what this node appended
// or installed, synced or not: a leader reads its own log, page cache
// included.
void send_disk_diff(Sim &s, Node &n, const zab_disk_diff &d)
{
    int64_t base = zab_window_base(n.z);
    size_t i = 0;
    while (i < n.disk.recs.size() && n.disk.recs[i].zxid < d.peer_zxid)
        i++;
    bool ok = d.peer_zxid > 0 && i < n.disk.recs.size() && n.disk.recs[i].zxid == d.peer_zxid;
    std::vector<std::vector<uint8_t>> pkts;
    auto add = [&](int32_t type, int64_t zxid, const DiskRec *r) {
        wire_wr w;
        wire_wr_init(&w);
        wire_qp qp = {type, zxid, {nullptr, -1}, nullptr, 0};
        if (r != nullptr)
            qp.data = wire_buf{r->bytes.data(), (int32_t)r->bytes.size()};
        wire_qp_encode(&w, &qp);
        pkts.emplace_back(w.p, w.p + w.len);
        wire_wr_fini(&w);
    };
    if (ok) {
        add(WIRE_QP_DIFF, zab_last_zxid(n.z), nullptr);
        int64_t prev = d.peer_zxid;
        bool is_first = true;
        for (i++; i < n.disk.recs.size() && n.disk.recs[i].zxid <= base; i++) {
            const DiskRec &r = n.disk.recs[i];
            prev = r.zxid;
            if (is_first && s.brk == BREAK_DISK_DIFF_HOLE) {
                is_first = false;
                s.n_broken++;
                continue;
            }
            is_first = false;
            add(WIRE_QP_PROPOSAL, r.zxid, &r);
            add(WIRE_QP_COMMIT, r.zxid, nullptr);
        }
        ok = prev == base; /* the log reaches the window */
    }
    s.trace("node " + std::to_string(n.id) + " " + (ok ? "DIFFs" : "cannot DIFF") + " " +
            std::to_string(d.sid) + " from its log (" + hex(d.peer_zxid) + " to " + hex(base) +
            ")");
    if (ok) {
        for (auto &p : pkts)
            s.qsend(n.id, d.sid, std::move(p));
        s.n_disk_diffs++;
    }
    int rc = zab_disk_diff_done(n.z, d.sid, ok);
    if (rc != 0) {
        s.fail_inv = "zab_disk_diff_done";
        s.fail_why = "node " + std::to_string(n.id) + " could not report its DIFF to " +
                     std::to_string(d.sid);
    }
}

// Step 4's end, a leader: the SNAP packet for learner `to` and the snapshot
// behind it, then zab_snap_sent. The snapshot is my tree, whose last txn is
// zab_last_committed: a leader applies nothing but commits (those its role
// began with, its log's uncommitted tail included, are committed in zab
// too: zab_role_set), so the tree is exactly its log through the last
// commit, and that zxid is in zab's window (the window always keeps the
// last committed txn; my uncommitted proposals after it, zab sends next).
// The real host streams a DataTree after the packet; here the packet's
// data carries the tree's txns (zxid, bytes), so the snapshot travels, is
// delayed and dies with the connection like any packet, and is sent once.
void send_snap(Sim &s, Node &n, int64_t to)
{
    int64_t zxid = zab_last_committed(n.z);
    int64_t tree_last = n.applied.empty() ? 0 : n.applied.back().zxid;
    if (tree_last != zxid) {
        s.fail_inv = "sim_snapshot";
        s.fail_why = "node " + std::to_string(n.id) + "'s tree ends at " + hex(tree_last) +
                     ", zab's last commit is " + hex(zxid);
        return;
    }
    size_t n_txns = n.applied.size();
    int64_t pkt_zxid = zxid;
    if (s.brk == BREAK_SNAP_SHORT && n_txns > 0) {
        n_txns--;
        pkt_zxid = n_txns > 0 ? n.applied[n_txns - 1].zxid : 0;
        s.n_broken++;
    }
    wire_wr data, pkt;
    wire_wr_init(&data);
    wire_wr_init(&pkt);
    for (size_t i = 0; i < n_txns; i++) {
        const Applied &a = n.applied[i];
        wire_wr_i64(&data, a.zxid);
        wire_wr_buf(&data, wire_buf{a.bytes.data(), (int32_t)a.bytes.size()});
    }
    wire_qp qp = {WIRE_QP_SNAP, pkt_zxid, {data.p, (int32_t)data.len}, nullptr, 0};
    wire_qp_encode(&pkt, &qp);
    if (wire_wr_err(&data) != 0 || wire_wr_err(&pkt) != 0) {
        s.fail_inv = "sim_snapshot";
        s.fail_why = "node " + std::to_string(n.id) + " could not encode its snapshot";
    } else {
        s.trace("node " + std::to_string(n.id) + " sends SNAP to " + std::to_string(to) + " at " +
                hex(pkt_zxid) + " (" + std::to_string(n_txns) + " txns)");
        s.n_snaps_sent++;
        s.qsend(n.id, to, std::vector<uint8_t>(pkt.p, pkt.p + pkt.len));
    }
    wire_wr_fini(&data);
    wire_wr_fini(&pkt);
    if (!s.fail_inv.empty())
        return;
    int rc = zab_snap_sent(n.z, to, zxid);
    if (rc != 0) {
        s.fail_inv = "zab_snap_sent";
        s.fail_why = "node " + std::to_string(n.id) + " refused its snapshot for " +
                     std::to_string(to) + " at " + hex(zxid) + ": " + std::to_string(rc);
    }
}

// A learner's host, given a SNAP packet, before zab_step sees it: the
// snapshot becomes the disk's log, all synced, synchronously (the real host
// writes and syncs a snapshot file and cuts its log), and the node's tree.
// The tree replaces what the node applied: only tentative txns may go, so
// every final txn it had is the snapshot's at the same place; the snapshot's
// txns are tentative until the node serves (its leader may not be
// established: see the commits in glue_drain). Each txn has the bytes the
// others applied for its zxid, and the one before it where some node
// committed it finally is the same (the snapshot skips nothing). False when
// the run failed or the node crashed right after the install (then zab
// never sees the packet).
bool install_snap(Sim &s, Node &n, const wire_qp &qp)
{
    std::string who = "node " + std::to_string(n.id);
    std::vector<Applied> tree;
    wire_rd r;
    wire_rd_init(&r, qp.data.p, qp.data.len > 0 ? (size_t)qp.data.len : 0, 1 << 21);
    while (wire_rd_left(&r) > 0) {
        int64_t zxid = wire_rd_i64(&r);
        wire_buf b = wire_rd_buf(&r);
        if (wire_rd_err(&r) != 0 || b.len < 0 || (!tree.empty() && zxid <= tree.back().zxid)) {
            s.fail_inv = "sim_snapshot";
            s.fail_why = who + " got a snapshot that does not decode";
            return false;
        }
        tree.push_back(Applied{zxid, disk_sum(zxid, b.p, (size_t)b.len), false,
                               std::vector<uint8_t>(b.p, b.p + b.len)});
    }
    if ((tree.empty() ? 0 : tree.back().zxid) != qp.zxid) {
        s.fail_inv = "sim_snapshot";
        s.fail_why = who + " got a SNAP at " + hex(qp.zxid) + " whose tree ends elsewhere";
        return false;
    }
    for (size_t i = 0; i < n.applied.size(); i++) {
        const Applied &a = n.applied[i];
        if (a.is_final && (i >= tree.size() || tree[i].zxid != a.zxid || tree[i].sum != a.sum)) {
            s.violate("inv_applied_zxids_grow",
                      who + "'s SNAP at " + hex(qp.zxid) + " takes back committed " + hex(a.zxid));
            break;
        }
    }
    for (size_t i = 0; i < tree.size(); i++) {
        const Applied &a = tree[i];
        auto it = s.txn_sum.find(a.zxid);
        if (it == s.txn_sum.end())
            s.txn_sum[a.zxid] = a.sum;
        else if (it->second != a.sum)
            s.violate("inv_committed_prefixes_agree",
                      who + "'s snapshot has other bytes as " + hex(a.zxid) + " than another node");
        int64_t prev = i > 0 ? tree[i - 1].zxid : 0;
        auto p = s.pred_of.find(a.zxid);
        if (p != s.pred_of.end() && p->second != prev)
            s.violate("inv_applied_zxids_grow", who + "'s snapshot holds " + hex(a.zxid) +
                                                    " after " + hex(prev) + ", another node " +
                                                    "committed it after " + hex(p->second) +
                                                    " (a txn skipped)");
    }
    if (s.brk == BREAK_SNAP_VOLATILE) {
        s.n_broken++; // the tree only: the disk keeps its old log
    } else {
        std::vector<DiskRec> recs;
        for (const Applied &a : tree)
            recs.push_back(DiskRec{a.zxid, a.bytes, a.sum});
        n.disk.install(std::move(recs));
    }
    s.trace(who + " installs a snapshot at " + hex(qp.zxid) + " (" + std::to_string(tree.size()) +
            " txns), durably");
    n.applied = std::move(tree);
    return !s.snap_installed(n.id);
}

// Hands one batch's actions to the simulated world in zab.h's order, until
// zab has nothing.
void glue_drain(Sim &s, Node &n)
{
    zab_batch b;
    bool is_sync_needed = false;
    bool has_new_current_epoch = false;
    int64_t flushed_upto = -1;
    while (n.z != nullptr && zab_ready(n.z, &b)) {
        // 0. A role ends: flush the log before this batch's votes leave
        // (they carry its last zxid), as ZooKeeper's shutdown does.
        if (s.is_flushing_at_role_end && b.has_role_change &&
            b.role_change.role == ZAB_ROLE_LOOKING && n.disk.n_synced < n.disk.recs.size()) {
            n.disk.complete_sync(n.disk.recs.size());
            flushed_upto = n.disk.last_zxid();
            s.trace("node " + std::to_string(n.id) + " role ended: log flushed through " +
                    hex(flushed_upto));
        }
        // 1. truncate and 2. epochs: synchronously durable before any packet.
        if (b.has_truncate) {
            truncate(s, n, b.truncate_zxid);
            is_sync_needed = true; // in-flight syncs were cancelled
        }
        if (b.has_accepted_epoch || b.has_current_epoch) {
            int64_t cur = b.has_current_epoch ? b.current_epoch : n.disk.current_epoch;
            int64_t acc = b.has_accepted_epoch ? b.accepted_epoch : n.disk.accepted_epoch;
            if (cur < n.disk.current_epoch || acc < n.disk.accepted_epoch)
                s.violate("inv_applied_zxids_grow",
                          "node " + std::to_string(n.id) + " was told to lower an epoch");
            n.disk.set_epochs(cur, acc);
            has_new_current_epoch = has_new_current_epoch || b.has_current_epoch;
        }
        // 3. appends: the unsynced tail; a sync after the batch.
        for (size_t i = 0; i < b.n_appends; i++) {
            const zab_txn &t = b.appends[i];
            n.n_appends++;
            if (s.brk == BREAK_DROP_APPEND && n.role == ZAB_ROLE_FOLLOWING &&
                n.n_appends % 4 == 0) {
                s.n_broken++;
                continue;
            }
            n.disk.append(t.zxid, t.p, t.len);
            is_sync_needed = true;
        }
        // 4. drops, connect, quorum packets, notifications.
        for (size_t i = 0; i < b.n_drops; i++)
            s.qclose(n.id, b.drops[i], n.id, "zab dropped it");
        if (b.has_connect) {
            n.want_leader = b.connect_leader;
            s.qconnect(n.id, b.connect_leader);
        }
        for (size_t i = 0; i < b.n_qsends; i++)
            s.qsend(n.id, b.qsends[i].to,
                    std::vector<uint8_t>(b.qsends[i].p, b.qsends[i].p + b.qsends[i].len));
        for (size_t i = 0; i < b.n_sends; i++) {
            const zab_send &snd = b.sends[i];
            if (snd.to == n.id) {
                n.n_self_sends++; // inv_no_self_send reports it
                continue;
            }
            wire_el_notif notif = snd.notif;
            if (s.brk == BREAK_CORRUPT_VOTE && notif.state == ZAB_ROLE_LOOKING) {
                // The lowest voter is told every peer votes for it, and its
                // own votes reach the others as votes for the highest voter,
                // both with an unbeatable log: the two views never meet.
                int64_t lo = lowest_voter(s), hi = highest_voter(s);
                if (snd.to == lo || n.id == lo) {
                    notif.leader = snd.to == lo ? lo : hi;
                    notif.zxid = 0x7fffffff00000000;
                    notif.peer_epoch = 0x7fffffff;
                    s.n_broken++;
                }
            }
            wire_wr w;
            wire_wr_init(&w);
            wire_el_notif_encode(&w, &notif);
            if (wire_wr_err(&w) != 0) {
                s.trace("encode failed: notification lost");
                s.mark_unclean("a notification could not be encoded");
            } else {
                if (s.is_verbose)
                    s.trace("send " + std::to_string(n.id) + "->" + std::to_string(snd.to) + " " +
                            glue_role_name(notif.state) + " " +
                            vote_str(zab_vote{notif.leader, notif.zxid, notif.election_epoch,
                                              notif.peer_epoch}));
                s.send(n.id, snd.to, std::vector<uint8_t>(w.p, w.p + w.len));
            }
            wire_wr_fini(&w);
        }
        // 5. commits, in order. Those that come with the change to a role
        // are its log's uncommitted tail, applied as ZooKeeper reloads its
        // database: tentative (a TRUNC may take them back). So are those a
        // learner applies while it syncs, before it serves: its leader may
        // not be established yet (crash seed 3537: an observer applied a
        // DIFF from a leader that crashed before a quorum acked NEWLEADER,
        // and the next leader truncated it, as ZooKeeper's would). Once the
        // node serves, what it applied is final.
        bool is_entering = (b.has_role_change && b.role_change.role != ZAB_ROLE_LOOKING) ||
                           !(n.is_serving || (b.has_serving && b.is_serving));
        for (size_t i = 0; i < b.n_commits; i++) {
            n.n_commits++;
            if (s.brk == BREAK_SKIP_COMMIT && !is_entering && n.role != ZAB_ROLE_LEADING &&
                n.n_commits % 5 == 0) {
                s.n_broken++;
                continue;
            }
            apply(s, n, b.commits[i], !is_entering);
        }
        // 6. role, serving, errors.
        if (b.has_role_change) {
            const zab_role_change &rc = b.role_change;
            s.trace("node " + std::to_string(n.id) + " " + glue_role_name(rc.role) + " " +
                    vote_str(rc.vote));
            n.role = rc.role;
            n.vote = rc.vote;
            s.history_add((uint64_t)n.id << 8 | (uint64_t)rc.role);
            s.history_add((uint64_t)rc.vote.leader);
            s.last_role_change_ms = s.now_ms;
            if (rc.role == ZAB_ROLE_LOOKING) {
                // zab.h: the host closes every quorum connection.
                n.want_leader = 0;
                s.qclose_all(n.id, n.id, "role ended");
            } else {
                n.decided_at_step = s.n_steps;
                const std::set<int64_t> &missed = n.missed_votes[rc.vote.election_epoch];
                const std::set<int64_t> &heard = n.heard_votes[rc.vote.election_epoch];
                bool informed =
                    std::includes(heard.begin(), heard.end(), missed.begin(), missed.end());
                if (!informed)
                    s.trace("node " + std::to_string(n.id) + " decided without a vote it missed " +
                            "while following: agreement unchecked for it");
                s.decisions.push_back(
                    Decision{n.id, rc.role, rc.vote, s.now_ms, s.is_clean, informed});
            }
        }
        if (b.has_serving) {
            if (b.is_serving != n.is_serving)
                s.trace("node " + std::to_string(n.id) +
                        (b.is_serving ? " serves, epoch " : " stops serving, epoch ") +
                        std::to_string(zab_current_epoch(n.z)));
            n.is_serving = b.is_serving;
            if (n.is_serving)
                for (Applied &a : n.applied)
                    a.is_final = true;
            s.history_add((uint64_t)n.id << 8 | 0x80 | (uint64_t)b.is_serving);
            s.last_role_change_ms = s.now_ms;
        }
        for (size_t i = 0; i < b.n_errors; i++)
            s.trace("node " + std::to_string(n.id) + " zab error " +
                    std::to_string(b.errors[i].code) + " (peer " +
                    std::to_string(b.errors[i].peer) + "): " + b.errors[i].what);
        // 4's end, the snapshots: after the batch, since zab_snap_sent is
        // a call into z (the batch's pointers are borrowed until then) and
        // its packets must follow this batch's. Nothing else reaches z in
        // between, so the SNAP still follows this batch's packets and
        // precedes what zab_snap_sent queues (the next zab_ready's). The
        // tree then includes this batch's commits, as zab's last commit
        // does. A batch that ended the role (a learner listed, then the
        // role failed in the same call) sends none: its connections closed.
        std::vector<int64_t> snaps(b.snaps, b.snaps + b.n_snaps);
        std::vector<zab_disk_diff> dds(b.disk_diffs, b.disk_diffs + b.n_disk_diffs);
        zab_advance(n.z, &b);
        // The same for DIFFs from the disk's log (their refusals become
        // snaps in the next batch).
        for (const zab_disk_diff &d : dds)
            if (n.role == ZAB_ROLE_LEADING && s.fail_inv.empty())
                send_disk_diff(s, n, d);
        for (int64_t to : snaps)
            if (n.role == ZAB_ROLE_LEADING && s.fail_inv.empty())
                send_snap(s, n, to);
    }
    if (is_sync_needed)
        s.disk_sync(n.id);
    if (flushed_upto >= 0 && n.z != nullptr) {
        zab_persisted(n.z, flushed_upto);
        glue_drain(s, n);
    }
    if (has_new_current_epoch && s.crash_after_epoch == n.id && n.state == NODE_UP) {
        s.crash_after_epoch = 0;
        s.trace("node " + std::to_string(n.id) + " crashes right after writing its current epoch");
        s.crash(n.id);
    }
}

} // namespace

void glue_start(Sim &s, Node &n)
{
    zab_config cfg = {};
    cfg.my_id = n.id;
    cfg.servers = s.servers.data();
    cfg.n_servers = s.servers.size();
    cfg.is_observer = n.is_observer;
    cfg.config = (const uint8_t *)s.config_text.data();
    cfg.config_len = s.config_text.size();
    cfg.last_logged_zxid = n.disk.last_zxid();
    if (s.brk == BREAK_FORGET_EPOCHS && n.incarnation > 1) {
        n.disk.set_epochs(0, 0);
        s.n_broken++;
    }
    cfg.current_epoch = n.disk.current_epoch;
    cfg.accepted_epoch = n.disk.accepted_epoch;
    cfg.seed = s.rng.next();
    cfg.now_ms = s.now_ms;
    cfg.tick_ms = SIM_TICK_MS;
    cfg.init_limit = SIM_INIT_LIMIT;
    cfg.sync_limit = SIM_SYNC_LIMIT;
    cfg.window_max = s.window_max;
    cfg.has_disk_log = s.has_disk_log;
    // The surviving log is the committed window (it follows zxid 0: an
    // installed snapshot is kept as the log of its txns, so the disk holds
    // the whole history, and zab keeps the last window_max of it), and the
    // tree is rebuilt from it: every record applied again, tentatively.
    std::vector<zab_txn> log;
    n.applied.clear();
    for (const DiskRec &r : n.disk.recs) {
        log.push_back(zab_txn{r.zxid, r.bytes.data(), r.bytes.size()});
        n.applied.push_back(Applied{r.zxid, r.sum, false, r.bytes});
        auto it = s.txn_sum.find(r.zxid);
        if (it == s.txn_sum.end())
            s.txn_sum[r.zxid] = r.sum;
        else if (it->second != r.sum)
            s.violate("inv_committed_prefixes_agree", "node " + std::to_string(n.id) +
                                                          " restarts with other bytes as " +
                                                          hex(r.zxid) + " than another applied");
    }
    cfg.log = log.data();
    cfg.n_log = log.size();
    cfg.log_base_zxid = 0;
    n.is_serving = false;
    n.want_leader = 0;
    n.z = zab_new(&cfg);
    if (n.z == nullptr) {
        std::fprintf(stderr, "zabsim: zab_new refused the config of node %" PRId64 "\n", n.id);
        std::abort();
    }
    n.role = zab_role_get(n.z);
    n.vote = zab_vote_get(n.z);
    glue_drain(s, n);
}

void glue_stop(Sim &s, Node &n)
{
    zab_free(n.z);
    n.z = nullptr;
    n.role = ZAB_ROLE_LOOKING;
    n.vote = zab_vote{};
    n.is_serving = false;
    n.want_leader = 0;
}

void glue_tick(Sim &s, Node &n)
{
    zab_tick(n.z, s.now_ms);
    glue_drain(s, n);
}

void glue_deliver(Sim &s, Node &to, int64_t from, const std::vector<uint8_t> &frame)
{
    Node *dst = &to;
    if (s.brk == BREAK_MISROUTE && s.rng.below(5) == 0) {
        // To some running node other than the addressee, the sender included.
        std::vector<Node *> others;
        for (auto &kv : s.nodes)
            if (kv.second.state == NODE_UP && kv.first != to.id)
                others.push_back(&kv.second);
        if (!others.empty()) {
            dst = others[s.rng.below(others.size())];
            s.n_broken++;
        }
    }
    int32_t body_len = 0;
    int rc = wire_el_frame_peek(frame.data(), frame.size(), &body_len);
    zab_msg m = {};
    m.from = from;
    m.type = ZAB_MSG_NOTIFICATION;
    if (rc != 1 || (size_t)body_len + 4 != frame.size() ||
        wire_el_notif_decode(frame.data() + 4, (size_t)body_len, &m.notif) != 0) {
        // Our own encoder made it: a decode failure is a wire bug.
        s.fail_inv = "wire_el_roundtrip";
        s.fail_why = "a frame from " + std::to_string(from) + " did not decode";
        return;
    }
    if (s.is_verbose)
        s.trace("recv " + std::to_string(from) + "->" + std::to_string(dst->id) + " " +
                glue_role_name(m.notif.state) +
                vote_str(zab_vote{m.notif.leader, m.notif.zxid, m.notif.election_epoch,
                                  m.notif.peer_epoch}));
    if (m.notif.state == ZAB_ROLE_LOOKING && !dst->is_observer && !s.nodes.at(from).is_observer)
        (dst->role == ZAB_ROLE_LOOKING ? dst->heard_votes
                                       : dst->missed_votes)[m.notif.election_epoch]
            .insert(from);
    rc = zab_step(dst->z, &m);
    if (rc != 0)
        s.trace("zab_step returned " + std::to_string(rc));
    glue_drain(s, *dst);
}

void glue_qdeliver(Sim &s, Node &to, int64_t from, const std::vector<uint8_t> &bytes)
{
    // The quorum port has no frame: wire_qp_peek finds where a packet ends
    // (the simulator delivers one packet per event, so it must be all).
    size_t len = 0;
    int rc = wire_qp_peek(bytes.data(), bytes.size(), 1 << 21, &len);
    zab_msg m = {};
    m.from = from;
    m.type = ZAB_MSG_QUORUM;
    wire_rd r;
    wire_rd_init(&r, bytes.data(), bytes.size(), 1 << 21);
    if (rc != 1 || len != bytes.size() || wire_qp_decode(&r, &m.qp) != 0) {
        s.fail_inv = "wire_qp_roundtrip";
        s.fail_why = "a quorum packet from " + std::to_string(from) + " did not decode";
        return;
    }
    if (s.is_verbose)
        s.trace("qrecv " + std::to_string(from) + "->" + std::to_string(to.id) + " type " +
                std::to_string(m.qp.type) + " zxid " + hex(m.qp.zxid));
    if (m.qp.type == WIRE_QP_DIFF || m.qp.type == WIRE_QP_TRUNC || m.qp.type == WIRE_QP_SNAP)
        to.last_sync = m.qp.type; // for the scripts' expect sync
    // zab.h: a learner's host installs the snapshot durably before zab
    // sees the SNAP (a leader or a LOOKING node refuses the packet anyway).
    if (m.qp.type == WIRE_QP_SNAP && to.role != ZAB_ROLE_LEADING && to.role != ZAB_ROLE_LOOKING &&
        !install_snap(s, to, m.qp)) {
        wire_qp_fini(&m.qp);
        return;
    }
    rc = zab_step(to.z, &m);
    wire_qp_fini(&m.qp);
    if (rc != 0)
        s.trace("node " + std::to_string(to.id) + ": zab_step(quorum from " + std::to_string(from) +
                ") returned " + std::to_string(rc));
    glue_drain(s, to);
    // zab.h: a packet refused as bad means the host closes that connection.
    if ((rc == ZERR_BADARGUMENTS || rc == ZERR_MARSHALLINGERROR) && to.state == NODE_UP)
        s.qclose(to.id, from, 0, "zab refused a packet");
}

void glue_peer_up(Sim &s, Node &n, int64_t peer)
{
    (void)zab_peer_up(n.z, peer);
    glue_drain(s, n);
}

void glue_peer_down(Sim &s, Node &n, int64_t peer)
{
    (void)zab_peer_down(n.z, peer);
    glue_drain(s, n);
}

void glue_persisted(Sim &s, Node &n, int64_t upto_zxid)
{
    if (s.is_verbose)
        s.trace("node " + std::to_string(n.id) + " durable through " + hex(upto_zxid));
    zab_persisted(n.z, upto_zxid);
    glue_drain(s, n);
}

int glue_propose(Sim &s, Node &n, int64_t *zxid_out)
{
    int64_t zxid = zab_next_zxid(n.z);
    if (zxid < 0)
        return ZERR_NOTREADONLY;
    // A setData of /sim/kN by a client, as the request pipeline would log
    // it: TxnHeader, then SetDataTxn.
    uint64_t k = ++s.n_client_txns;
    std::string path = "/sim/k" + std::to_string(k % 7);
    std::string data = "v" + std::to_string(k);
    wire_wr w;
    wire_wr_init(&w);
    wire_txn_hdr h = {0x5151, (int32_t)k, zxid, s.now_ms, WIRE_OP_SETDATA};
    wire_txn_hdr_encode(&w, &h);
    wire_txn t = {};
    t.type = WIRE_OP_SETDATA;
    t.path = wire_str{path.data(), (int32_t)path.size()};
    t.data = wire_buf{(const uint8_t *)data.data(), (int32_t)data.size()};
    t.version = (int32_t)k;
    wire_txn_body_encode(&w, &t);
    int rc = wire_wr_err(&w);
    int64_t got = -1;
    if (rc == 0)
        rc = zab_propose(n.z, w.p, w.len, &got);
    if (rc == 0) {
        s.proposed[got] = Sim::Proposal{n.id, n.incarnation, disk_sum(got, w.p, w.len)};
        s.trace("client: node " + std::to_string(n.id) + " proposes txn " + hex(got));
        *zxid_out = got;
    } else {
        s.trace("client: node " + std::to_string(n.id) + " refused a txn: " + std::to_string(rc));
    }
    wire_wr_fini(&w);
    glue_drain(s, n);
    return rc;
}

bool glue_established_leader(const Sim &s, const Node &n, int64_t *peer_epoch, int64_t *leader)
{
    // Discovery and sync establish a leader: zab reports it serving.
    if (n.z == nullptr || n.role != ZAB_ROLE_LEADING || !n.is_serving)
        return false;
    *peer_epoch = zab_current_epoch(n.z);
    *leader = n.id;
    return true;
}

} // namespace sim
