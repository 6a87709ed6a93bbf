// sim.cpp: the PRNG, the clock and its event queue, the network, the disk,
// and the random scenarios. Nothing here knows zab beyond the Node fields the
// glue (sim_zab.cpp) keeps up to date.
#include "tests/sim/sim.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace sim
{

// ---- PRNG -------------------------------------------------------------------

uint64_t Rng::next()
{
    uint64_t z = (s += 0x9e3779b97f4a7c15ull); // splitmix64
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n)
{
    return n == 0 ? 0 : next() % n;
}

bool Rng::chance(int percent)
{
    return (int)below(100) < percent;
}

// ---- Disk -------------------------------------------------------------------

uint32_t disk_sum(int64_t zxid, const uint8_t *p, size_t len)
{
    uint32_t h = 2166136261u; // FNV-1a over the zxid's bytes, then the data
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)((uint64_t)zxid >> (8 * i))) * 16777619u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

void Disk::append(int64_t zxid, const uint8_t *p, size_t len)
{
    DiskRec r;
    r.zxid = zxid;
    r.bytes.assign(p, p + len);
    r.sum = disk_sum(zxid, p, len);
    recs.push_back(std::move(r));
}

void Disk::set_epochs(int64_t current, int64_t accepted)
{
    current_epoch = current;
    accepted_epoch = accepted;
}

void Disk::truncate(int64_t zxid)
{
    while (!recs.empty() && recs.back().zxid > zxid)
        recs.pop_back();
    n_synced = std::min(n_synced, recs.size());
    gen++;
}

void Disk::install(std::vector<DiskRec> snapshot)
{
    recs = std::move(snapshot);
    n_synced = recs.size();
    gen++;
}

bool Disk::has_synced(int64_t zxid, uint32_t sum) const
{
    for (size_t i = 0; i < n_synced; i++)
        if (recs[i].zxid == zxid)
            return recs[i].sum == sum;
    return false;
}

void Disk::complete_sync(size_t n)
{
    if (n > n_synced && n <= recs.size())
        n_synced = n;
}

std::string Disk::crash(Rng &rng)
{
    gen++;
    size_t n_lost = recs.size() - n_synced;
    std::string line = "disk: " + std::to_string(n_lost) + " unsynced record(s) lost";
    if (n_lost == 0)
        return line;
    DiskRec first = recs[n_synced];
    recs.resize(n_synced);
    if (rng.chance(50) && !first.bytes.empty()) {
        // The first lost write reached the platter in part.
        first.bytes.resize(rng.below(first.bytes.size()));
        recs.push_back(std::move(first));
        n_synced = recs.size(); // whatever is on the platter now is all there is
        line += ", the first one torn";
    }
    return line;
}

size_t Disk::recover()
{
    size_t n = 0;
    while (!recs.empty()) {
        const DiskRec &r = recs.back();
        if (disk_sum(r.zxid, r.bytes.data(), r.bytes.size()) == r.sum)
            break;
        recs.pop_back();
        n++;
    }
    n_synced = std::min(n_synced, recs.size());
    return n;
}

int64_t Disk::last_zxid() const
{
    return recs.empty() ? 0 : recs.back().zxid;
}

// ---- Simulator ---------------------------------------------------------------

Sim::Sim(uint64_t seed) : rng(seed * 0x2545f4914f6cdd1dull + 7) {}

Sim::~Sim()
{
    for (auto &kv : nodes)
        glue_stop(*this, kv.second);
}

void Sim::add_server(int64_t id, bool is_observer)
{
    Node n;
    n.id = id;
    n.is_observer = is_observer;
    nodes[id] = n;
    servers.push_back(zab_server{id, is_observer});
    group[id] = 0;
    config_text.clear();
    for (const zab_server &sv : servers)
        config_text +=
            "server." + std::to_string(sv.id) + "=127.0.0.1:" + std::to_string(2880 + sv.id) + ":" +
            std::to_string(3880 + sv.id) + (sv.is_observer ? ":observer\n" : ":participant\n");
    config_text += "version=0";
}

void Sim::trace(const std::string &line)
{
    if (is_verbose)
        std::printf("%8" PRId64 " ms  #%-7" PRIu64 " %s\n", now_ms, n_steps, line.c_str());
}

void Sim::violate(const std::string &inv, const std::string &why)
{
    if (violations.count(inv) == 0)
        violations[inv] = why;
}

void Sim::mark_unclean(const std::string &why)
{
    if (!is_clean)
        return;
    is_clean = false;
    unclean_why = why;
    trace("run is no longer clean (agreement unchecked from now): " + why);
}

void Sim::at(int64_t at_ms, std::function<void()> fn)
{
    q.push(Event{std::max(at_ms, now_ms), next_seq++, std::move(fn)});
}

void Sim::history_add(uint64_t v)
{
    for (int i = 0; i < 8; i++)
        history_hash = (history_hash ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
}

bool Sim::step()
{
    if (q.empty())
        return false;
    Event e = q.top();
    q.pop();
    now_ms = e.at_ms;
    n_steps++;
    history_add((uint64_t)e.at_ms);
    history_add(e.seq);
    e.fn();
    return check_invariants(*this);
}

bool Sim::run_until(int64_t end_ms)
{
    while (!q.empty() && q.top().at_ms <= end_ms)
        if (!step())
            return false;
    if (now_ms < end_ms)
        now_ms = end_ms;
    return true;
}

size_t Sim::n_in_flight() const
{
    size_t n = 0;
    for (const auto &kv : conns)
        n += kv.second.n_in_flight;
    return n; // election messages only: quorum connections PING forever
}

// ---- Nodes ---------------------------------------------------------------------

void Sim::schedule_tick(int64_t id, uint64_t incarnation)
{
    // Each node ticks on its own seeded period (at most 50 ms), so ticks of
    // different nodes interleave differently from seed to seed.
    int64_t period = 10 + (int64_t)rng.below(TICK_MAX_MS - 10 + 1);
    at(now_ms + period, [this, id, incarnation] {
        Node &n = nodes.at(id);
        if (n.state != NODE_UP || n.incarnation != incarnation)
            return;
        glue_tick(*this, n);
        schedule_tick(id, incarnation);
    });
}

void Sim::start(int64_t id)
{
    Node &n = nodes.at(id);
    if (n.state == NODE_UP)
        return;
    size_t n_torn = n.disk.recover();
    trace("start " + std::to_string(id) + (n.state == NODE_CRASHED ? " (restart)" : "") +
          ": last zxid 0x" +
          [&] {
              char b[32];
              std::snprintf(b, sizeof b, "%" PRIx64, (uint64_t)n.disk.last_zxid());
              return std::string(b);
          }() +
          ", epochs " + std::to_string(n.disk.current_epoch) + "/" +
          std::to_string(n.disk.accepted_epoch) +
          (n_torn ? ", dropped " + std::to_string(n_torn) + " torn record" : ""));
    // A server that starts (or restarts) later than finalizeWait after the
    // first one casts its vote late, as if its notifications had been
    // delayed that long: FLE may then elect two leaders in one epoch.
    if (first_start_ms < 0)
        first_start_ms = now_ms;
    else if (now_ms - first_start_ms > DELAY_CLEAN_MS)
        mark_unclean("server " + std::to_string(id) + " started " +
                     std::to_string(now_ms - first_start_ms) + " ms after the first");
    n.state = NODE_UP;
    n.incarnation++;
    n.max_el_epoch = 0;
    n.heard_votes.clear();
    n.missed_votes.clear();
    glue_start(*this, n);
    for (auto &kv : nodes)
        if (kv.first != id)
            connect(kv.first, id);
    schedule_tick(id, n.incarnation);
}

void Sim::crash(int64_t id)
{
    Node &n = nodes.at(id);
    if (n.state != NODE_UP)
        return;
    trace("crash " + std::to_string(id));
    n.state = NODE_CRASHED;
    glue_stop(*this, n);
    trace(n.disk.crash(rng));
    qclose_all(id, id, "crash");
    for (auto &kv : nodes)
        if (kv.first != id) {
            drop_conn(id, kv.first);
            auto c = conns.find({id, kv.first});
            if (c != conns.end()) { // its process memory is gone
                c->second.queued.clear();
                c->second.last_sent.clear();
            }
        }
}

bool Sim::is_up(int64_t id) const
{
    auto it = nodes.find(id);
    return it != nodes.end() && it->second.state == NODE_UP;
}

bool Sim::snap_installed(int64_t id)
{
    n_snaps_installed++;
    if (crash_after_snap != id && crash_after_snap != -1)
        return false;
    crash_after_snap = 0;
    trace("node " + std::to_string(id) + " crashes right after installing the snapshot");
    crash(id);
    if (restart_after_snap_crash_ms >= 0) {
        uint64_t inc = nodes.at(id).incarnation;
        at(now_ms + restart_after_snap_crash_ms, [this, id, inc] {
            Node &n = nodes.at(id);
            if (n.state == NODE_CRASHED && n.incarnation == inc)
                start(id);
        });
    }
    return true;
}

// ---- Network ---------------------------------------------------------------------

bool Sim::linked(int64_t a, int64_t b) const
{
    return is_up(a) && is_up(b) && group.at(a) == group.at(b);
}

void Sim::send(int64_t from, int64_t to, std::vector<uint8_t> frame)
{
    Conn &c = conns[{from, to}];
    if (!is_up(to)) {
        // Nobody listens: it waits in the queue for a connection (as
        // ZooKeeper's does), replacing an older one from the same sender.
        c.queued = std::move(frame);
        return;
    }
    if (!linked(from, to)) {
        mark_unclean("a message across a partition");
        return;
    }
    c.last_sent = frame;
    if (c.base_delay_ms < 0)
        c.base_delay_ms = 1 + (int64_t)rng.below(10);
    int64_t delay = c.base_delay_ms + (int64_t)rng.below(10);
    if (c.slow_until_ms > now_ms)
        delay += (int64_t)rng.below((uint64_t)c.slow_ms + 1);
    int64_t due = std::max(now_ms + delay, c.last_due_ms); // FIFO within the connection
    if (due - now_ms > DELAY_CLEAN_MS)
        mark_unclean("a delay of " + std::to_string(due - now_ms) + " ms");
    c.last_due_ms = due;
    c.n_in_flight++;
    uint64_t gen = c.gen;
    at(due, [this, from, to, gen, frame = std::move(frame)] {
        Conn &c = conns[{from, to}];
        if (c.gen != gen)
            return; // the connection was dropped meanwhile; counted then
        c.n_in_flight--;
        glue_deliver(*this, nodes.at(to), from, frame);
    });
}

void Sim::connect(int64_t from, int64_t to)
{
    auto it = conns.find({from, to});
    if (it == conns.end() || !linked(from, to))
        return;
    std::vector<uint8_t> f = !it->second.queued.empty() ? it->second.queued : it->second.last_sent;
    it->second.queued.clear();
    if (!f.empty()) {
        trace("connect " + std::to_string(from) + "->" + std::to_string(to) +
              ": resend the queued or last message");
        send(from, to, std::move(f));
    }
}

void Sim::drop_conn(int64_t a, int64_t b)
{
    bool was_open = false;
    for (auto d : {std::make_pair(a, b), std::make_pair(b, a)}) {
        auto it = conns.find(d);
        if (it == conns.end())
            continue;
        was_open = true;
        if (it->second.n_in_flight > 0)
            mark_unclean("in-flight messages lost with a connection");
        it->second.gen++;
        it->second.n_in_flight = 0;
        it->second.last_due_ms = 0;
        it->second.base_delay_ms = -1; // a new connection, a new path
    }
    if (was_open)
        trace("connection " + std::to_string(a) + "<->" + std::to_string(b) + " closed");
    // The quorum connection between them goes with the election one.
    if (is_partitioning)
        qclose(a, b, 0, "partition", ROLE_TIMEOUT_MS);
    else
        qclose(a, b, 0, "connection dropped");
}

// ---- Quorum connections -------------------------------------------------------------

void Sim::qconnect(int64_t learner, int64_t leader, bool is_retry)
{
    uint64_t inc = nodes.at(learner).incarnation;
    at(now_ms + (is_retry ? (int64_t)CONNECT_RETRY_MS : 1 + (int64_t)rng.below(10)), [this, learner,
                                                                                      leader, inc] {
        Node &l = nodes.at(learner);
        if (l.state != NODE_UP || l.incarnation != inc || l.want_leader != leader)
            return; // it no longer wants this connection
        auto it = nodes.find(leader);
        if (it == nodes.end() || !linked(learner, leader) || it->second.role != ZAB_ROLE_LEADING) {
            // Refused or unreachable: Learner.connectToLeader retries;
            // zab's initLimit decides when to give up (it then looks).
            qconnect(learner, leader, true);
            return;
        }
        QConn &c = qconns[{learner, leader}];
        if (c.is_up)
            return;
        c.is_up = true;
        c.gen++;
        for (Conn &d : c.dir) {
            d.last_due_ms = 0;
            d.n_in_flight = 0;
            d.base_delay_ms = -1;
        }
        l.want_leader = 0;
        trace("quorum connection " + std::to_string(learner) + "->" + std::to_string(leader) +
              " open");
        glue_peer_up(*this, it->second, learner); // a no-op on a leader, by zab.h
        glue_peer_up(*this, l, leader);
    });
}

void Sim::qsend(int64_t from, int64_t to, std::vector<uint8_t> bytes)
{
    int dir = 0;
    auto it = qconns.find({from, to});
    if (it == qconns.end() || !it->second.is_up) {
        dir = 1;
        it = qconns.find({to, from});
    }
    if (it == qconns.end() || !it->second.is_up) {
        trace("quorum packet " + std::to_string(from) + "->" + std::to_string(to) +
              " lost: no connection");
        return;
    }
    QConn &qc = it->second;
    Conn &c = qc.dir[dir];
    const Conn &el = conns[{from, to}]; // a slow link slows both ports
    if (c.base_delay_ms < 0)
        c.base_delay_ms = 1 + (int64_t)rng.below(10);
    int64_t delay = c.base_delay_ms + (int64_t)rng.below(10);
    if (el.slow_until_ms > now_ms)
        delay += (int64_t)rng.below((uint64_t)el.slow_ms + 1);
    int64_t due = std::max(now_ms + delay, c.last_due_ms);
    c.last_due_ms = due;
    c.n_in_flight++;
    uint64_t gen = qc.gen;
    std::pair<int64_t, int64_t> key = it->first;
    at(due, [this, from, to, gen, dir, key, bytes = std::move(bytes)] {
        QConn &qc = qconns[key];
        if (qc.gen != gen)
            return; // died with its connection (counted then)
        qc.dir[dir].n_in_flight--;
        glue_qdeliver(*this, nodes.at(to), from, bytes);
    });
}

void Sim::qclose(int64_t a, int64_t b, int64_t quiet, const char *why, int64_t notice_ms)
{
    for (auto key : {std::make_pair(a, b), std::make_pair(b, a)}) {
        auto it = qconns.find(key);
        if (it == qconns.end() || !it->second.is_up)
            continue;
        QConn &qc = it->second;
        qc.is_up = false;
        qc.gen++;
        qc.dir[0].n_in_flight = qc.dir[1].n_in_flight = 0;
        trace("quorum connection " + std::to_string(key.first) + "->" + std::to_string(key.second) +
              " closed (" + why + ")");
        uint64_t gen = qc.gen;
        for (auto end : {key, std::make_pair(key.second, key.first)}) {
            int64_t me = end.first, peer = end.second;
            if (me == quiet || !is_up(me))
                continue;
            uint64_t inc = nodes.at(me).incarnation;
            // The end learns it in an event of its own (never inside
            // another node's batch), unless the pair reconnected meanwhile
            // (then it already went through LOOKING and knows).
            at(now_ms + 1 + (int64_t)rng.below((uint64_t)notice_ms),
               [this, me, peer, inc, gen, key] {
                   Node &n = nodes.at(me);
                   if (n.state != NODE_UP || n.incarnation != inc || qconns[key].gen != gen)
                       return;
                   glue_peer_down(*this, n, peer);
               });
        }
    }
}

void Sim::qclose_all(int64_t id, int64_t quiet, const char *why)
{
    std::vector<int64_t> peers;
    for (const auto &kv : qconns)
        if (kv.second.is_up && (kv.first.first == id || kv.first.second == id))
            peers.push_back(kv.first.first == id ? kv.first.second : kv.first.first);
    for (int64_t p : peers)
        qclose(id, p, quiet, why);
}

int64_t Sim::client_propose()
{
    for (auto &kv : nodes) {
        Node &n = kv.second;
        if (n.state != NODE_UP || n.role != ZAB_ROLE_LEADING || !n.is_serving)
            continue;
        int64_t zxid = -1;
        if (glue_propose(*this, n, &zxid) == 0)
            return zxid;
    }
    return -1;
}

void Sim::partition(const std::vector<std::vector<int64_t>> &sides)
{
    std::map<int64_t, int> old = group;
    for (auto &kv : group)
        kv.second = 0;
    for (size_t i = 0; i < sides.size(); i++)
        for (int64_t id : sides[i])
            group[id] = (int)i + 1;
    std::string line = "partition";
    for (size_t i = 0; i < sides.size(); i++) {
        line += i ? " |" : "";
        for (int64_t id : sides[i])
            line += " " + std::to_string(id);
    }
    trace(line);
    for (auto &a : nodes)
        for (auto &b : nodes)
            if (a.first < b.first && old[a.first] == old[b.first] &&
                group[a.first] != group[b.first]) {
                is_partitioning = true;
                drop_conn(a.first, b.first);
                is_partitioning = false;
            }
}

void Sim::heal_network()
{
    trace("heal network");
    for (auto &kv : group)
        kv.second = 0;
    for (auto &kv : conns)
        kv.second.slow_until_ms = 0;
}

void Sim::heal_all()
{
    heal_network();
    crash_after_snap = 0; // no fault after the heal
    for (auto &kv : nodes)
        if (kv.second.state != NODE_UP)
            start(kv.first);
    healed_at_ms = now_ms;
}

void Sim::slow_conn(int64_t from, int64_t to, int64_t for_ms, int64_t extra_ms)
{
    trace("slow " + std::to_string(from) + "->" + std::to_string(to) + " by up to " +
          std::to_string(extra_ms) + " ms for " + std::to_string(for_ms) + " ms");
    Conn &c = conns[{from, to}];
    c.slow_until_ms = now_ms + for_ms;
    c.slow_ms = extra_ms;
}

// ---- Disk ------------------------------------------------------------------------

void Sim::disk_sync(int64_t id)
{
    Node &n = nodes.at(id);
    size_t upto = n.disk.recs.size();
    uint64_t gen = n.disk.gen;
    // Mostly quick; one sync in ten is slow (a busy disk), so commits wait on
    // durability and crashes find more in the unsynced tail.
    int64_t latency = rng.chance(10) ? 1 + (int64_t)rng.below(1000) : 1 + (int64_t)rng.below(20);
    at(now_ms + latency, [this, id, upto, gen] {
        Node &n = nodes.at(id);
        if (n.disk.gen != gen || n.state != NODE_UP)
            return; // a crash (or a TRUNC) came first: this sync means nothing
        n.disk.complete_sync(upto);
        glue_persisted(*this, n, upto ? n.disk.recs[upto - 1].zxid : 0);
    });
}

// ---- Queries ---------------------------------------------------------------------

size_t Sim::n_voters() const
{
    size_t n = 0;
    for (const zab_server &sv : servers)
        n += !sv.is_observer;
    return n;
}

int64_t Sim::leader() const
{
    for (const auto &l : nodes) {
        if (l.second.state != NODE_UP || l.second.role != ZAB_ROLE_LEADING || !l.second.is_serving)
            continue;
        size_t n = 0;
        for (const auto &f : nodes) {
            const Node &v = f.second;
            if (v.is_observer || v.state != NODE_UP)
                continue;
            if (v.id == l.first || (v.role == ZAB_ROLE_FOLLOWING && v.is_serving &&
                                    v.vote.leader == l.first && linked(v.id, l.first)))
                n++;
        }
        if (n > n_voters() / 2)
            return l.first;
    }
    return 0;
}

bool Sim::all_follow(int64_t l) const
{
    for (const auto &kv : nodes) {
        const Node &n = kv.second;
        if (n.state != NODE_UP)
            continue;
        if (n.role == ZAB_ROLE_LOOKING || n.vote.leader != l || !n.is_serving)
            return false;
    }
    return true;
}

// ---- Scenarios ---------------------------------------------------------------------

const char *const k_scenarios[] = {"election3", "election5", "crash", "partition",
                                   "late-join", "mixed",     nullptr};

namespace
{

// Gives each node a random history: a prefix of one history of three txns
// in epoch 1 and two in epoch 2 (one zxid, one txn, as a real ensemble's
// logs are), so votes differ by epoch and zxid, not only by id. Epoch 2
// was established once, so a quorum accepted it: every node has (else a
// leader could pick epoch 2 again and reuse its zxids).
void random_disks(Sim &s)
{
    std::vector<int64_t> history;
    for (int64_t i = 1; i <= 3; i++)
        history.push_back((int64_t)1 << 32 | i);
    for (int64_t i = 1; i <= 2; i++)
        history.push_back((int64_t)2 << 32 | i);
    for (auto &kv : s.nodes) {
        Disk &d = kv.second.disk;
        size_t n = (size_t)s.rng.below(history.size() + 1);
        for (size_t i = 0; i < n; i++) {
            uint8_t b[8] = {(uint8_t)i, 1, 2, 3, 4, 5, 6, 7};
            d.append(history[i], b, sizeof b);
        }
        d.complete_sync(d.recs.size());
        int64_t epoch = n > 0 ? history[n - 1] >> 32 : 1;
        d.set_epochs(epoch, 2);
    }
}

int64_t pick(Sim &s, const std::vector<int64_t> &ids)
{
    return ids[s.rng.below(ids.size())];
}

struct Plan {
    size_t n_voters;
    bool has_observer;
    bool has_crash, has_partition, has_drop, has_slow;
    size_t n_late; // servers that start only later in the window
};

bool plan_of(const std::string &name, Rng &r, Plan *p)
{
    *p = Plan{3, false, false, false, false, false, 0};
    if (name == "election3")
        return true;
    if (name == "election5") {
        *p = Plan{5, true, false, false, false, false, 0};
        return true;
    }
    size_t n = r.chance(50) ? 3 : 5;
    bool obs = r.chance(50);
    if (name == "crash")
        *p = Plan{n, obs, true, false, false, false, 0};
    else if (name == "partition")
        *p = Plan{n, obs, false, true, true, true, 0};
    else if (name == "late-join")
        *p = Plan{n, obs, false, false, false, false, 1 + r.below(2)};
    else if (name == "mixed")
        *p = Plan{n, obs, true, true, true, true, r.below(2)};
    else
        return false;
    return true;
}

void random_fault(Sim &s, const Plan &p, const std::vector<int64_t> &ids)
{
    std::vector<int> kinds;
    if (p.has_crash)
        kinds.insert(kinds.end(), {0, 0, 1, 6});
    if (p.has_partition)
        kinds.insert(kinds.end(), {2, 2, 3, 7});
    if (p.has_drop)
        kinds.push_back(4);
    if (p.has_slow)
        kinds.push_back(5);
    if (p.has_crash && s.window_max > 0 && s.window_max <= 16)
        kinds.push_back(8); // only with a small window: default seeds keep their paths
    if (kinds.empty())
        return;
    switch (kinds[s.rng.below(kinds.size())]) {
    case 0: { // crash one, restart it a little later
        int64_t id = pick(s, ids);
        if (!s.is_up(id))
            break;
        s.crash(id);
        int64_t back = s.now_ms + 100 + (int64_t)s.rng.below(30000);
        s.at(back, [&s, id] {
            if (s.nodes.at(id).state == NODE_CRASHED)
                s.start(id);
        });
        break;
    }
    case 1: // restart whatever is down
        for (int64_t id : ids)
            if (s.nodes.at(id).state == NODE_CRASHED)
                s.start(id);
        break;
    case 2: { // two sides, at random
        std::vector<std::vector<int64_t>> sides(2);
        for (int64_t id : ids)
            sides[s.rng.below(2)].push_back(id);
        s.partition(sides);
        break;
    }
    case 3:
        s.heal_network();
        break;
    case 4: {
        int64_t a = pick(s, ids), b = pick(s, ids);
        if (a != b)
            s.drop_conn(a, b);
        break;
    }
    case 5: {
        int64_t a = pick(s, ids), b = pick(s, ids);
        if (a != b)
            s.slow_conn(a, b, 1000 + (int64_t)s.rng.below(20000), (int64_t)s.rng.below(2000));
        break;
    }
    case 6: { // the serving leader crashes right after a burst of txns
        for (int i = 0, k = 1 + (int)s.rng.below(4); i < k; i++)
            (void)s.client_propose();
        int64_t l = 0;
        for (int64_t id : ids)
            if (s.is_up(id) && s.nodes.at(id).role == ZAB_ROLE_LEADING)
                l = id;
        if (l == 0)
            break;
        int64_t when = s.now_ms + (int64_t)s.rng.below(30); // mid-broadcast
        s.at(when, [&s, l] { s.crash(l); });
        s.at(when + 100 + (int64_t)s.rng.below(20000), [&s, l] {
            if (s.nodes.at(l).state == NODE_CRASHED)
                s.start(l);
        });
        break;
    }
    case 7: { // the leader alone on one side, after a burst of txns
        for (int i = 0, k = 1 + (int)s.rng.below(4); i < k; i++)
            (void)s.client_propose();
        std::vector<std::vector<int64_t>> sides(2);
        for (int64_t id : ids)
            sides[s.is_up(id) && s.nodes.at(id).role == ZAB_ROLE_LEADING ? 0 : 1].push_back(id);
        if (!sides[0].empty())
            s.partition(sides);
        break;
    }
    case 8: // the next learner to install a snapshot crashes right after it
        s.crash_after_snap = -1;
        s.restart_after_snap_crash_ms = 100 + (int64_t)s.rng.below(10000);
        break;
    }
}

} // namespace

int run_scenario(const std::string &name, const RunOpts &o, std::string *summary)
{
    Sim s(o.seed);
    s.is_verbose = o.is_verbose;
    s.brk = o.brk;
    s.is_flushing_at_role_end = o.is_flushing_at_role_end;
    // The window from its own PRNG, so that s.rng draws what it drew before
    // windows were seeded: a seed with zab's default window takes the same
    // path as it did then.
    if (o.window_max >= 0) {
        s.window_max = o.window_max;
    } else {
        Rng w(o.seed ^ 0x5eed5a9a11ull);
        s.window_max = w.chance(33) ? 1 + (int32_t)w.below(16) : 0;
        s.has_disk_log = s.window_max > 0 && w.chance(50);
    }
    if (o.disk_log >= 0)
        s.has_disk_log = o.disk_log != 0;
    Plan p;
    if (!plan_of(name, s.rng, &p))
        return -1;
    std::vector<int64_t> ids;
    for (size_t i = 1; i <= p.n_voters; i++)
        ids.push_back((int64_t)i);
    if (p.has_observer)
        ids.push_back((int64_t)p.n_voters + 1);
    for (int64_t id : ids)
        s.add_server(id, id > (int64_t)p.n_voters);
    random_disks(s);

    // Everybody but the late ones starts within 100 ms (less than
    // finalizeWait, so a run without faults stays clean).
    std::vector<int64_t> late;
    for (size_t i = 0; i < p.n_late; i++)
        late.push_back(pick(s, ids));
    for (int64_t id : ids) {
        bool is_late = std::find(late.begin(), late.end(), id) != late.end();
        int64_t t =
            is_late ? 2000 + (int64_t)s.rng.below((uint64_t)o.fault_ms) : (int64_t)s.rng.below(100);
        s.at(t, [&s, id] { s.start(id); });
    }
    // Faults at seeded times through the window, on average one per 10 s.
    for (int64_t t = (int64_t)s.rng.below(10000); t < o.fault_ms;
         t += 1 + (int64_t)s.rng.below(20000))
        s.at(t, [&s, &p, &ids] { random_fault(s, p, ids); });
    // The client: a txn on the serving leader every 0.2 to 3 s until the
    // heal (and a last one just after it, once somebody serves again).
    for (int64_t t = 500 + (int64_t)s.rng.below(2000); t < o.fault_ms;
         t += 200 + (int64_t)s.rng.below(2800))
        s.at(t, [&s] { (void)s.client_propose(); });
    int64_t heal_at = o.fault_ms;
    s.at(heal_at, [&s] { s.heal_all(); });

    bool ok = s.run_until(heal_at);
    // Until quiescence: one leader that everybody follows, stable for
    // QUIET_MS; the invariants fail the run if that takes past the bound.
    while (ok) {
        int64_t l = s.leader();
        if (l != 0 && s.all_follow(l) && s.now_ms - s.last_role_change_ms >= QUIET_MS &&
            s.now_ms - heal_at >= QUIET_MS) {
            // Quiescent: the final checks (nothing acknowledged lost,
            // everything applied everywhere) run once more, now binding.
            s.is_quiescent = true;
            ok = check_invariants(s);
            break;
        }
        if (!s.step()) {
            ok = !s.fail_inv.empty() ? false : true;
            if (ok) {
                s.fail_inv = "simulator";
                s.fail_why = "no event left before quiescence";
                ok = false;
            }
        }
    }
    if (o.history_hash_out)
        *o.history_hash_out = s.history_hash;
    if (o.n_snaps_out)
        *o.n_snaps_out = s.n_snaps_installed;
    char line[512];
    if (!ok) {
        std::snprintf(line, sizeof line,
                      "%s at step %" PRIu64 ", t=%" PRId64 " ms: %s (window %d, %" PRIu64
                      " SNAP(s) installed, %" PRIu64 " DIFF(s) from disk%s)",
                      s.fail_inv.c_str(), s.fail_step, s.fail_ms, s.fail_why.c_str(),
                      (int)(s.window_max ? s.window_max : 500), s.n_snaps_installed, s.n_disk_diffs,
                      s.has_disk_log ? "" : ", off");
        *summary = line;
        return 1;
    }
    std::snprintf(line, sizeof line,
                  "ok: leader %" PRId64 " at t=%" PRId64 " ms after %" PRIu64
                  " steps; %zu of %" PRIu64 " txns acknowledged; run %s%s; broken %" PRIu64
                  "; window %d, %" PRIu64 " SNAP(s) sent, %" PRIu64 " installed",
                  s.leader(), s.now_ms, s.n_steps, s.acked.size(), s.n_client_txns,
                  s.is_clean ? "clean" : "unclean: ", s.unclean_why.c_str(), s.n_broken,
                  (int)(s.window_max ? s.window_max : 500), s.n_snaps_sent, s.n_snaps_installed);
    *summary = line;
    return 0;
}

} // namespace sim
