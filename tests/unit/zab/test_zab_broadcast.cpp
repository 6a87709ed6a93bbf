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
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "zab/zab.h"

#include <CppUTest/TestHarness.h>

namespace
{

uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

const char kConfig[] = "server.1=a:2888:3888:participant\nversion=0";
const int32_t kTickMs = 100;
const int32_t kInitLimit = 10;
const int32_t kSyncLimit = 5;

int64_t zx(int64_t epoch, int64_t counter)
{
    return (epoch << 32) | counter;
}

// A TxnHeader (the zxid where zab looks for it) and a small body.
std::vector<uint8_t> make_txn(int64_t zxid, int tag)
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
    int32_t window_max = 0; // cfg.window_max (0: zab's default)
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

std::vector<Txn> epoch_log(int64_t epoch, int64_t first, int64_t last)
{
    std::vector<Txn> v;
    for (int64_t c = first; c <= last; c++)
        v.push_back(Txn{zx(epoch, c), make_txn(zx(epoch, c), (int)(epoch * 1000 + c))});
    return v;
}

std::vector<Txn> concat(std::vector<Txn> a, const std::vector<Txn> &b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string seed_text(const char *what, uint64_t seed)
{
    return std::string(what) + " SEED=" + std::to_string(seed);
}

// The sync packets leader -> learner up to NEWLEADER (LEADERINFO excluded).
std::vector<std::pair<int32_t, int64_t>> sync_of(Net &net, int64_t leader, int64_t learner)
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

} // namespace

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

TEST(ZabBroadcast, LearnerBehindTheWindowGetsSnap)
{
    Net net(7);
    net.window_max = 4; // the leader keeps 0x100000007..a
    std::vector<Txn> full = epoch_log(1, 1, 10);
    net.add(1, full, 1, 1);
    net.add(2, full, 1, 1);
    net.add(3, std::vector<Txn>(full.begin(), full.begin() + 2), 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.leader() == 2 && net.nodes[3].is_serving; }, 5000));
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

TEST(ZabBroadcast, LearnerBehindTheWindowGetsADiffFromDiskWhenTheLogHasIt)
{
    Net net(9);
    net.window_max = 4; // the window keeps 0x100000007..a
    net.has_disk_log = true;
    std::vector<Txn> full = epoch_log(1, 1, 10);
    net.add(1, full, 1, 1);
    net.add(2, full, 1, 1);
    net.add(3, std::vector<Txn>(full.begin(), full.begin() + 2), 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.leader() == 2 && net.nodes[3].is_serving; }, 5000));
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

TEST(ZabBroadcast, ADiskDiffTheLogCannotServeFallsBackToSnap)
{
    Net net(10);
    net.window_max = 4;
    net.has_disk_log = true;
    std::vector<Txn> full = epoch_log(1, 1, 10);
    // 1 and 2 kept only 0x100000004.. on disk (an older part purged):
    // 3, at 0x100000002, is behind both the window and the disk.
    std::vector<Txn> tail(full.begin() + 3, full.end());
    net.add(1, tail, 1, 1);
    net.add(2, tail, 1, 1);
    net.add(3, std::vector<Txn>(full.begin(), full.begin() + 2), 1, 1);
    net.start_all();
    CHECK(net.run_until([&] { return net.leader() == 2 && net.nodes[3].is_serving; }, 5000));
    CHECK_EQUAL(1, net.nodes[2].disk_diffs_refused);
    CHECK_EQUAL(0, net.nodes[2].disk_diffs_sent);
    CHECK_EQUAL(1, net.nodes[2].snaps_sent);
    CHECK_EQUAL(1, net.nodes[3].snaps_loaded);
    CHECK_EQUAL(ZERR_BADARGUMENTS, zab_disk_diff_done(net.z(2), 3, true)); // none pending
    CHECK(net.failure.empty());
}

TEST(ZabBroadcast, SnapSentForNobodyIsRefused)
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

// ---- Introspection: what mntr, srvr and stat read from a leader ----------------

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
