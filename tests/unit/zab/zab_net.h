// zab_net.h: the in-test network the discovery, sync and broadcast tests
// of zab/ run on (test_zab_broadcast.cpp's top comment describes it): nodes
// with a simulated log and durable prefix, quorum packets encoded and
// decoded through wire/ on ordered connections, a seeded delay per message,
// a simulated clock, and checks on every commit applied.
#ifndef ZABD_TESTS_ZAB_NET_H
#define ZABD_TESTS_ZAB_NET_H

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "zab/zab.h"

#include <CppUTest/TestHarness.h>

namespace zabnet
{

inline uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

constexpr char kConfig[] = "server.1=a:2888:3888:participant\nversion=0";
constexpr int32_t kTickMs = 100;
constexpr int32_t kInitLimit = 10;
constexpr int32_t kSyncLimit = 5;

inline int64_t zx(int64_t epoch, int64_t counter)
{
    return (epoch << 32) | counter;
}

// A TxnHeader (the zxid where zab looks for it) and a small body.
inline std::vector<uint8_t> make_txn(int64_t zxid, int tag)
{
    wire_wr w;
    wire_wr_init(&w);
    wire_txn_hdr h = {0x1234, tag, zxid, 1000 + tag, WIRE_OP_SETDATA};
    wire_txn_hdr_encode(&w, &h);
    wire_wr_i32(&w, tag);
    std::vector<uint8_t> v(w.p, w.p + w.len);
    wire_wr_fini(&w);
    return v;
}

struct Txn {
    int64_t zxid;
    std::vector<uint8_t> bytes;
};

struct Node {
    int64_t id = 0;
    bool is_observer = false;
    zab *z = nullptr;
    std::vector<Txn> log; // the simulated log
    size_t n_synced = 0;  // its durable prefix
    int64_t accepted_epoch = 0, current_epoch = 0;
    std::vector<Txn> applied; // the tree: what it applied, in order
    bool is_serving = false;
    std::vector<zab_error> errors;
    std::vector<int32_t> roles; // every role change
    int64_t want_leader = 0;    // connect_leader, until connected or LOOKING
    int snaps_sent = 0, snaps_loaded = 0;
    int disk_diffs_sent = 0, disk_diffs_refused = 0;
};

enum Kind { K_NOTIF, K_QP, K_CONNECT, K_DOWN };

struct InFlight {
    int64_t due_ms;
    uint64_t seq;
    int kind;
    int64_t from, to;
    uint64_t gen; // K_QP: the connection it travels on
    std::vector<uint8_t> bytes;
};

struct Conn {
    bool is_up = false;
    uint64_t gen = 0;
    int64_t last_due[2] = {0, 0}; // FIFO per direction
};

struct Delivered {
    int64_t from, to;
    int32_t type;
    int64_t zxid;
};

struct Net {
    std::vector<zab_server> servers;
    std::map<int64_t, Node> nodes;
    std::vector<InFlight> q;
    std::map<std::pair<int64_t, int64_t>, Conn> conns; // (learner, leader)
    uint64_t rng;
    uint64_t seq = 0;
    int64_t now = 0;
    int64_t next_tick = 0;
    int max_delay_ms = 10;
    int32_t window_max = 0;    // cfg.window_max (0: zab's default)
    bool has_disk_log = false; // cfg.has_disk_log: DIFF from n.log past the window
    std::function<bool(int64_t, int64_t)> link_up = [](int64_t, int64_t) { return true; };
    // zxid -> bytes: every txn applied anywhere (one zxid, one txn), and
    // those a serving leader committed (a quorum has them). A role's start
    // also applies its log's uncommitted tail, as ZooKeeper's
    // fastForwardDataBase does, which a TRUNC may take back.
    std::map<int64_t, std::vector<uint8_t>> applied_any;
    std::map<int64_t, std::vector<uint8_t>> committed;
    std::vector<Delivered> qps; // quorum packets delivered
    std::string failure;

    explicit Net(uint64_t seed) : rng(seed * 7919 + 1) {}
    ~Net()
    {
        for (auto &kv : nodes)
            zab_free(kv.second.z);
    }

    void fail(const std::string &why)
    {
        if (failure.empty())
            failure = why + " (t=" + std::to_string(now) + ")";
    }

    Node &add(int64_t id, std::vector<Txn> log, int64_t accepted, int64_t current,
              bool is_observer = false)
    {
        Node n;
        n.id = id;
        n.is_observer = is_observer;
        n.log = log;
        n.n_synced = log.size();
        n.applied = log; // ZooKeeper loads its whole log at start
        n.accepted_epoch = accepted;
        n.current_epoch = current;
        nodes[id] = n;
        servers.push_back(zab_server{id, is_observer});
        return nodes[id];
    }

    void start(int64_t id)
    {
        Node &n = nodes.at(id);
        std::vector<zab_txn> log;
        for (const Txn &t : n.log)
            log.push_back(zab_txn{t.zxid, t.bytes.data(), t.bytes.size()});
        zab_config cfg = {};
        cfg.my_id = id;
        cfg.servers = servers.data();
        cfg.n_servers = servers.size();
        cfg.is_observer = n.is_observer;
        cfg.config = (const uint8_t *)kConfig;
        cfg.config_len = sizeof kConfig - 1;
        cfg.last_logged_zxid = n.log.empty() ? 0 : n.log.back().zxid;
        cfg.current_epoch = n.current_epoch;
        cfg.accepted_epoch = n.accepted_epoch;
        cfg.seed = rng;
        cfg.now_ms = now;
        cfg.tick_ms = kTickMs;
        cfg.init_limit = kInitLimit;
        cfg.sync_limit = kSyncLimit;
        cfg.log = log.data();
        cfg.n_log = log.size();
        cfg.log_base_zxid = 0;
        cfg.window_max = window_max;
        cfg.has_disk_log = has_disk_log;
        n.z = zab_new(&cfg);
        CHECK(n.z != nullptr);
        drain(n);
    }

    void start_all()
    {
        for (auto &kv : nodes)
            start(kv.first);
    }

    int64_t delay()
    {
        return 1 + (int64_t)(splitmix(&rng) % (uint64_t)max_delay_ms);
    }

    Conn *conn_between(int64_t a, int64_t b)
    {
        auto it = conns.find({a, b});
        if (it != conns.end() && it->second.is_up)
            return &it->second;
        it = conns.find({b, a});
        if (it != conns.end() && it->second.is_up)
            return &it->second;
        return nullptr;
    }

    void push(int kind, int64_t from, int64_t to, std::vector<uint8_t> bytes, uint64_t gen = 0,
              int64_t due = 0)
    {
        InFlight m;
        m.due_ms = due ? due : now + delay();
        m.seq = seq++;
        m.kind = kind;
        m.from = from;
        m.to = to;
        m.gen = gen;
        m.bytes = std::move(bytes);
        q.push_back(std::move(m));
    }

    void close(int64_t a, int64_t b)
    {
        Conn *c = conn_between(a, b);
        if (c == nullptr)
            return;
        c->is_up = false;
        c->gen++;
        push(K_DOWN, a, b, {}); // b learns of it
    }

    void drain(Node &n)
    {
        zab_batch b;
        while (n.z != nullptr && zab_ready(n.z, &b)) {
            // 1. truncate, 2. epochs (synchronous).
            if (b.has_truncate) {
                while (!n.log.empty() && n.log.back().zxid > b.truncate_zxid)
                    n.log.pop_back();
                n.n_synced = std::min(n.n_synced, n.log.size());
                while (!n.applied.empty() && n.applied.back().zxid > b.truncate_zxid)
                    n.applied.pop_back(); // the tree is rebuilt from the log
            }
            if (b.has_accepted_epoch) {
                if (b.accepted_epoch < n.accepted_epoch)
                    fail("accepted epoch went down");
                n.accepted_epoch = b.accepted_epoch;
            }
            if (b.has_current_epoch) {
                if (b.current_epoch < n.current_epoch)
                    fail("current epoch went down");
                n.current_epoch = b.current_epoch;
            }
            // 3. appends (asynchronous).
            for (size_t i = 0; i < b.n_appends; i++) {
                const zab_txn &t = b.appends[i];
                if (!n.log.empty() && t.zxid <= n.log.back().zxid)
                    fail("append out of order on " + std::to_string(n.id));
                n.log.push_back(Txn{t.zxid, std::vector<uint8_t>(t.p, t.p + t.len)});
            }
            // 4. drops, connect, sends.
            for (size_t i = 0; i < b.n_drops; i++)
                close(n.id, b.drops[i]);
            if (b.has_connect) {
                n.want_leader = b.connect_leader;
                push(K_CONNECT, n.id, b.connect_leader, {});
            }
            for (size_t i = 0; i < b.n_qsends; i++) {
                const zab_qsend &s = b.qsends[i];
                Conn *c = conn_between(n.id, s.to);
                if (c == nullptr)
                    continue; // no connection: the bytes go nowhere
                bool is_fwd = conns.count({n.id, s.to}) && &conns[{n.id, s.to}] == c;
                int64_t due = std::max(now + delay(), c->last_due[is_fwd]);
                c->last_due[is_fwd] = due;
                push(K_QP, n.id, s.to, std::vector<uint8_t>(s.p, s.p + s.len), c->gen, due);
            }
            // After the sends: SNAP to each learner that needs one. The
            // harness's snapshot is its committed tree (what it applied),
            // carried in the packet's data (the real host streams it after
            // the packet); what follows it, zab sends.
            for (size_t i = 0; i < b.n_snaps; i++)
                send_snap(n, b.snaps[i]);
            for (size_t i = 0; i < b.n_sends; i++) {
                wire_wr w;
                wire_wr_init(&w);
                wire_el_notif_encode(&w, &b.sends[i].notif);
                push(K_NOTIF, n.id, b.sends[i].to, std::vector<uint8_t>(w.p, w.p + w.len));
                wire_wr_fini(&w);
            }
            // 5. commits.
            for (size_t i = 0; i < b.n_commits; i++)
                apply(n, b.commits[i]);
            // 6. role, serving, errors.
            if (b.has_role_change) {
                n.roles.push_back(b.role_change.role);
                // The host closes every quorum connection when a role ends.
                if (b.role_change.role == ZAB_ROLE_LOOKING) {
                    close_all(n.id);
                    n.want_leader = 0;
                }
            }
            if (b.has_serving)
                n.is_serving = b.is_serving;
            for (size_t i = 0; i < b.n_errors; i++)
                n.errors.push_back(b.errors[i]);
            std::vector<zab_disk_diff> dd(b.disk_diffs, b.disk_diffs + b.n_disk_diffs);
            zab_advance(n.z, &b);
            for (const zab_disk_diff &d : dd)
                disk_diff(n, d);
        }
    }

    // The host's DIFF from its log: the learner's zxid must be in it; then
    // DIFF, and every txn after it up to the window's base.
    void disk_diff(Node &n, const zab_disk_diff &d)
    {
        Conn *c = conn_between(n.id, d.sid);
        int64_t base = zab_window_base(n.z);
        bool has_peer = d.peer_zxid == 0;
        for (const Txn &t : n.log)
            has_peer = has_peer || t.zxid == d.peer_zxid;
        if (c == nullptr || !has_peer) {
            n.disk_diffs_refused++;
            CHECK_EQUAL(0, zab_disk_diff_done(n.z, d.sid, false));
            return;
        }
        auto send = [&](int32_t type, int64_t zxid, const Txn *t) {
            wire_wr pkt;
            wire_wr_init(&pkt);
            wire_qp qp = {type, zxid, {nullptr, -1}, nullptr, 0};
            if (t != nullptr)
                qp.data = wire_buf{t->bytes.data(), (int32_t)t->bytes.size()};
            wire_qp_encode(&pkt, &qp);
            int64_t due = std::max(now + delay(), c->last_due[0]);
            c->last_due[0] = due;
            push(K_QP, n.id, d.sid, std::vector<uint8_t>(pkt.p, pkt.p + pkt.len), c->gen, due);
            wire_wr_fini(&pkt);
        };
        send(WIRE_QP_DIFF, zab_last_zxid(n.z), nullptr);
        for (const Txn &t : n.log)
            if (t.zxid > d.peer_zxid && t.zxid <= base) {
                send(WIRE_QP_PROPOSAL, t.zxid, &t);
                send(WIRE_QP_COMMIT, t.zxid, nullptr);
            }
        n.disk_diffs_sent++;
        CHECK_EQUAL(0, zab_disk_diff_done(n.z, d.sid, true));
        drain(n);
    }

    void send_snap(Node &n, int64_t to)
    {
        Conn *c = conn_between(n.id, to);
        int64_t zxid = n.applied.empty() ? 0 : n.applied.back().zxid;
        if (c == nullptr)
            return;
        wire_wr data, pkt;
        wire_wr_init(&data);
        wire_wr_init(&pkt);
        for (const Txn &t : n.applied) {
            wire_wr_i64(&data, t.zxid);
            wire_wr_buf(&data, wire_buf{t.bytes.data(), (int32_t)t.bytes.size()});
        }
        wire_qp qp = {WIRE_QP_SNAP, zxid, {data.p, (int32_t)data.len}, nullptr, 0};
        wire_qp_encode(&pkt, &qp);
        int64_t due = std::max(now + delay(), c->last_due[0]);
        c->last_due[0] = due;
        push(K_QP, n.id, to, std::vector<uint8_t>(pkt.p, pkt.p + pkt.len), c->gen, due);
        wire_wr_fini(&data);
        wire_wr_fini(&pkt);
        n.snaps_sent++;
        CHECK_EQUAL(0, zab_snap_sent(n.z, to, zxid));
    }

    // A learner's host loads the snapshot before zab sees the SNAP: its
    // tree and log become the snapshot's txns, all durable.
    void install_snap(Node &n, const wire_qp &qp)
    {
        wire_rd r;
        wire_rd_init(&r, qp.data.p, (size_t)qp.data.len, 1 << 21);
        std::vector<Txn> tree;
        while (wire_rd_left(&r) > 0) {
            int64_t zxid = wire_rd_i64(&r);
            wire_buf b = wire_rd_buf(&r);
            CHECK_EQUAL(0, wire_rd_err(&r));
            tree.push_back(Txn{zxid, std::vector<uint8_t>(b.p, b.p + b.len)});
        }
        n.applied = tree;
        n.log = tree;
        n.n_synced = tree.size();
        n.snaps_loaded++;
    }

    void apply(Node &n, const zab_txn &t)
    {
        std::vector<uint8_t> bytes(t.p, t.p + t.len);
        if (!n.applied.empty() && t.zxid <= n.applied.back().zxid)
            fail("commit out of order on " + std::to_string(n.id));
        auto it = applied_any.find(t.zxid);
        if (it == applied_any.end())
            applied_any[t.zxid] = bytes;
        else if (it->second != bytes)
            fail("two txns applied as one zxid");
        if (zab_role_get(n.z) == ZAB_ROLE_LEADING && n.is_serving)
            committed[t.zxid] = bytes;
        n.applied.push_back(Txn{t.zxid, bytes});
    }

    void deliver(const InFlight &m)
    {
        auto it = nodes.find(m.to);
        if (it == nodes.end() || it->second.z == nullptr || !link_up(m.from, m.to))
            return;
        Node &to = it->second;
        if (m.kind == K_NOTIF) {
            int32_t body_len = 0;
            CHECK_EQUAL(1, wire_el_frame_peek(m.bytes.data(), m.bytes.size(), &body_len));
            zab_msg msg = {};
            msg.from = m.from;
            msg.type = ZAB_MSG_NOTIFICATION;
            CHECK_EQUAL(0, wire_el_notif_decode(m.bytes.data() + 4, (size_t)body_len, &msg.notif));
            int rc = zab_step(to.z, &msg);
            if (rc != 0)
                fail("notification step returned " + std::to_string(rc));
        } else if (m.kind == K_QP) {
            Conn *c = conn_between(m.from, m.to);
            if (c == nullptr || c->gen != m.gen)
                return; // died with its connection
            size_t len = 0;
            CHECK_EQUAL(1, wire_qp_peek(m.bytes.data(), m.bytes.size(), 1 << 21, &len));
            CHECK_EQUAL(m.bytes.size(), len);
            wire_rd r;
            wire_rd_init(&r, m.bytes.data(), m.bytes.size(), 1 << 21);
            zab_msg msg = {};
            msg.from = m.from;
            msg.type = ZAB_MSG_QUORUM;
            CHECK_EQUAL(0, wire_qp_decode(&r, &msg.qp));
            qps.push_back(Delivered{m.from, m.to, msg.qp.type, msg.qp.zxid});
            if (msg.qp.type == WIRE_QP_SNAP && zab_role_get(to.z) != ZAB_ROLE_LEADING)
                install_snap(to, msg.qp);
            int rc = zab_step(to.z, &msg);
            wire_qp_fini(&msg.qp);
            if (rc != 0)
                fail("quorum step returned " + std::to_string(rc) + " on " + std::to_string(m.to) +
                     " from " + std::to_string(m.from) + " type " + std::to_string(msg.qp.type) +
                     " role " + std::to_string(zab_role_get(to.z)));
        } else if (m.kind == K_CONNECT) {
            // m.from (a learner) reaches m.to's quorum port, open only
            // while it leads; the host retries every 100 ms (Learner's
            // connectToLeader retries too) while zab still wants it.
            Node &learner = nodes.at(m.from);
            if (learner.z == nullptr || learner.want_leader != m.to)
                return;
            if (zab_role_get(to.z) != ZAB_ROLE_LEADING) {
                push(K_CONNECT, m.from, m.to, {}, 0, now + 100);
                return;
            }
            learner.want_leader = 0;
            Conn &c = conns[{m.from, m.to}];
            c.is_up = true;
            c.gen++;
            CHECK_EQUAL(0, zab_peer_up(learner.z, m.to));
            drain(learner);
            return;
        } else {
            CHECK_EQUAL(0, zab_peer_down(to.z, m.from));
        }
        drain(to);
    }

    // id's side closes all its quorum connections; the others learn of it.
    void close_all(int64_t id)
    {
        for (auto &kv : conns)
            if (kv.second.is_up && (kv.first.first == id || kv.first.second == id))
                close(id, kv.first.first == id ? kv.first.second : kv.first.first);
    }

    void kill(int64_t id)
    {
        Node &n = nodes.at(id);
        zab_free(n.z);
        n.z = nullptr;
        close_all(id);
    }

    void tick_all()
    {
        for (auto &kv : nodes) {
            Node &n = kv.second;
            if (n.z == nullptr)
                continue;
            zab_tick(n.z, now);
            // The log thread: some ticks make everything durable.
            if (n.n_synced < n.log.size() && splitmix(&rng) % 2 == 0) {
                n.n_synced = n.log.size();
                zab_persisted(n.z, n.log.back().zxid);
            }
            drain(n);
        }
    }

    void step()
    {
        size_t best = q.size();
        for (size_t i = 0; i < q.size(); i++)
            if (best == q.size() || q[i].due_ms < q[best].due_ms ||
                (q[i].due_ms == q[best].due_ms && q[i].seq < q[best].seq))
                best = i;
        if (best < q.size() && q[best].due_ms < next_tick) {
            InFlight m = std::move(q[best]);
            q.erase(q.begin() + (long)best); // keeps seq order stable
            if (m.due_ms > now)
                now = m.due_ms;
            deliver(m);
            return;
        }
        now = next_tick;
        next_tick += 25;
        tick_all();
    }

    bool run_until(const std::function<bool()> &cond, int64_t for_ms)
    {
        int64_t until = now + for_ms;
        while (now < until && failure.empty()) {
            if (cond())
                return true;
            step();
        }
        return failure.empty() && cond();
    }

    void run_for(int64_t ms)
    {
        int64_t end = now + ms;
        while (now < end && failure.empty())
            step();
    }

    zab *z(int64_t id)
    {
        return nodes.at(id).z;
    }

    int64_t leader()
    {
        for (auto &kv : nodes)
            if (kv.second.z && zab_role_get(kv.second.z) == ZAB_ROLE_LEADING &&
                kv.second.is_serving)
                return kv.first;
        return 0;
    }

    // One serving leader and every live node serving, all in one epoch.
    bool all_serving()
    {
        int64_t l = leader();
        if (l == 0)
            return false;
        int64_t epoch = zab_current_epoch(z(l));
        for (auto &kv : nodes) {
            const Node &n = kv.second;
            if (n.z == nullptr)
                continue;
            if (!n.is_serving || zab_current_epoch(n.z) != epoch)
                return false;
            int32_t want = n.id == l       ? ZAB_ROLE_LEADING
                           : n.is_observer ? ZAB_ROLE_OBSERVING
                                           : ZAB_ROLE_FOLLOWING;
            if (zab_role_get(n.z) != want || zab_vote_get(n.z).leader != l)
                return false;
        }
        return true;
    }

    // Proposes one txn on the leader; returns its zxid.
    int64_t propose(int64_t l, int tag)
    {
        Node &n = nodes.at(l);
        int64_t zxid = zab_next_zxid(n.z);
        CHECK(zxid > 0);
        std::vector<uint8_t> t = make_txn(zxid, tag);
        int64_t got = 0;
        CHECK_EQUAL(0, zab_propose(n.z, t.data(), t.size(), &got));
        CHECK_EQUAL(zxid, got);
        drain(n);
        return zxid;
    }

    bool all_applied(int64_t zxid)
    {
        for (auto &kv : nodes)
            if (kv.second.z != nullptr &&
                (kv.second.applied.empty() || kv.second.applied.back().zxid < zxid))
                return false;
        return true;
    }

    std::vector<int64_t> zxids_applied(int64_t id)
    {
        std::vector<int64_t> v;
        for (const Txn &t : nodes.at(id).applied)
            v.push_back(t.zxid);
        return v;
    }

    // The quorum packets delivered from -> to, as (type, zxid).
    std::vector<std::pair<int32_t, int64_t>> packets(int64_t from, int64_t to)
    {
        std::vector<std::pair<int32_t, int64_t>> v;
        for (const Delivered &d : qps)
            if (d.from == from && d.to == to)
                v.push_back({d.type, d.zxid});
        return v;
    }
    size_t count(int64_t from, int64_t to, int32_t type)
    {
        size_t n = 0;
        for (const Delivered &d : qps)
            if (d.from == from && d.to == to && d.type == type)
                n++;
        return n;
    }
};

inline std::vector<Txn> epoch_log(int64_t epoch, int64_t first, int64_t last)
{
    std::vector<Txn> v;
    for (int64_t c = first; c <= last; c++)
        v.push_back(Txn{zx(epoch, c), make_txn(zx(epoch, c), (int)(epoch * 1000 + c))});
    return v;
}

inline std::vector<Txn> concat(std::vector<Txn> a, const std::vector<Txn> &b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline std::string seed_text(const char *what, uint64_t seed)
{
    return std::string(what) + " SEED=" + std::to_string(seed);
}

// The sync packets leader -> learner up to NEWLEADER (LEADERINFO excluded).
inline std::vector<std::pair<int32_t, int64_t>> sync_of(Net &net, int64_t leader, int64_t learner)
{
    std::vector<std::pair<int32_t, int64_t>> v;
    bool is_in = false;
    for (auto &p : net.packets(leader, learner)) {
        if (p.first == WIRE_QP_LEADERINFO) {
            is_in = true;
            v.clear();
            continue;
        }
        if (!is_in)
            continue;
        v.push_back(p);
        if (p.first == WIRE_QP_NEWLEADER)
            break;
    }
    return v;
}

} // namespace zabnet

#endif
