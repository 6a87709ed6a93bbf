// The deterministic ensemble simulator: every server's zab in one process on a
// simulated clock, network and disk, each run fixed by its seed.
//
// Pieces (one file each):
//   sim.cpp         PRNG, clock and event queue, network, disk, scenarios
//   sim_zab.cpp     the only code that talks to zab (start, tick, deliver
//                   notifications and quorum packets, drain a batch: disk,
//                   quorum connections, commits, the client's proposals)
//   invariants.cpp  the invariants, checked after every event
//   script.cpp      the testdata/*.txt interpreter
//   zabsim.cpp      the CLI
//
// Time is integer simulated milliseconds. Events (deliveries, ticks, faults,
// disk syncs) sit in a priority queue ordered by (time, sequence number), the
// sequence number being the order they were scheduled in, so ties break the
// same way on every run with the same seed.
#ifndef ZABD_TESTS_SIM_H
#define ZABD_TESTS_SIM_H

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "zab/zab.h"

namespace sim
{

// ---- PRNG -------------------------------------------------------------------

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed = 1) : s(seed) {}
    uint64_t next();
    uint64_t below(uint64_t n); // 0..n-1; 0 when n == 0
    bool chance(int percent);
};

// ---- Disk -------------------------------------------------------------------

// One record of a server's txn log. sum covers zxid and bytes, so recovery
// can tell a torn record from a whole one.
struct DiskRec {
    int64_t zxid;
    std::vector<uint8_t> bytes;
    uint32_t sum;
};

// A server's disk: the txn log as a synced prefix and an unsynced tail, and
// the current/accepted epochs, which are always synced (ZooKeeper writes each
// epoch file and syncs it before going on).
//
// The glue follows zab.h's contract: a batch's truncate and epochs are
// written here synchronously (they are synced state at once); its appends
// go to the unsynced tail, and Sim::disk_sync() completes after a seeded
// latency and calls glue_persisted(), which calls zab_persisted.
struct Disk {
    std::vector<DiskRec> recs;
    size_t n_synced = 0;
    uint64_t gen = 0; // bumped by a crash: an in-flight sync then completes nothing
    int64_t current_epoch = 0;
    int64_t accepted_epoch = 0;

    void append(int64_t zxid, const uint8_t *p, size_t len);
    void set_epochs(int64_t current, int64_t accepted);
    // TRUNC: drops every record after zxid (synchronously, so durably) and
    // cancels in-flight syncs (their record counts no longer mean anything).
    void truncate(int64_t zxid);
    // SNAP: the log becomes these records, all synced (the snapshot file is
    // written and synced, the log cut after its zxid), synchronously; like
    // a TRUNC it cancels in-flight syncs.
    void install(std::vector<DiskRec> snapshot);
    // Whether the synced prefix holds zxid with these bytes' sum.
    bool has_synced(int64_t zxid, uint32_t sum) const;
    // Marks the first n records synced (a sync that started when there were n).
    void complete_sync(size_t n);
    // Power loss: the unsynced tail is gone, except that its first record may
    // survive torn (a prefix of its bytes with the old sum). Returns a trace line.
    std::string crash(Rng &rng);
    // What a restart reads: drops a torn last record. Returns records dropped.
    size_t recover();
    int64_t last_zxid() const; // 0 for an empty log
};

uint32_t disk_sum(int64_t zxid, const uint8_t *p, size_t len);

// ---- Nodes ------------------------------------------------------------------

enum NodeState { NODE_UNSTARTED, NODE_UP, NODE_CRASHED };

// One txn a node applied to its (simulated) tree. Tentative ones were loaded
// from its log at start or applied when it entered a role (zab applies the
// log's uncommitted tail then, as ZooKeeper reloads its database): a TRUNC
// may take those back. Final ones came as commits of a running role.
// The bytes are kept so that a leader can send its tree as a snapshot (SNAP).
// A SNAP replaces the whole list with the leader's tree, tentative until the
// node serves, like txns applied while syncing.
struct Applied {
    int64_t zxid;
    uint32_t sum;
    bool is_final;
    std::vector<uint8_t> bytes;
};

struct Node {
    int64_t id = 0;
    bool is_observer = false;
    NodeState state = NODE_UNSTARTED;
    uint64_t incarnation = 0; // bumped on every start, so stale ticks are ignored
    zab *z = nullptr;
    Disk disk;
    // As the host last heard it from zab_ready (role_change).
    int32_t role = ZAB_ROLE_LOOKING;
    zab_vote vote = {};
    // For the invariants.
    int64_t max_el_epoch = 0; // highest logical clock seen since the last start
    // Voters whose LOOKING vote of an election epoch reached this voter
    // while it was LOOKING (heard), or while it still followed or led an
    // older epoch (missed: FLE answers such a vote instead of keeping it).
    std::map<int64_t, std::set<int64_t>> heard_votes, missed_votes;
    size_t n_self_sends = 0;
    uint64_t decided_at_step = 0; // the step of the last change to a decided role
    bool is_serving = false;      // as the batch last reported it
    int64_t want_leader = 0;      // connect_leader, until connected or LOOKING
    std::vector<Applied> applied; // the tree, as the txns applied in order
    uint64_t n_appends = 0;       // for --break drop-append
    uint64_t n_commits = 0;       // for --break skip-commit
    int32_t last_sync = 0;        // the last DIFF/TRUNC/SNAP it received (WIRE_QP_*)
};

// One decision (a change to a role other than LOOKING), as reported.
struct Decision {
    int64_t node;
    int32_t role;
    zab_vote vote;
    int64_t at_ms;
    bool was_clean;    // the run had no loss and no delay > 200 ms so far
    bool was_informed; // every vote of its epoch it missed, it heard again before deciding
};

// ---- Network ----------------------------------------------------------------

// A directed connection. Messages keep their order within it (as on TCP):
// each one is due no earlier than the one before it.
struct Conn {
    uint64_t gen = 0; // bumped when dropped: in-flight messages of older gens are lost
    int64_t last_due_ms = 0;
    size_t n_in_flight = 0;
    int64_t base_delay_ms = -1; // drawn on first use
    int64_t slow_until_ms = 0;  // a slow period: extra seeded delay up to slow_ms
    int64_t slow_ms = 0;
    // QuorumCnxManager's send queue (capacity 1: a newer message replaces
    // it) while the peer is down, and its lastMessageSent, which goes out
    // again on every new connection when the queue is empty.
    std::vector<uint8_t> queued;
    std::vector<uint8_t> last_sent;
};

// A learner's quorum connection to its leader (both directions, each ordered
// like a Conn, with the same delay model). Keyed (learner, leader).
struct QConn {
    bool is_up = false;
    uint64_t gen = 0; // bumped on open and close: older packets die
    Conn dir[2];      // [0] learner -> leader, [1] leader -> learner
};

// ---- Test-only breakage (the invariants must be able to fail) --------------

enum Break {
    BREAK_NONE,
    // Corrupts LOOKING notifications on the wire: those to the lowest voter
    // vote for it, those from it vote for the highest voter (sim_zab.cpp).
    BREAK_CORRUPT_VOTE,
    // Delivers every 5th notification to a node other than its destination
    // (possibly the sender itself) under its true sender id.
    BREAK_MISROUTE,
    // The host loses every 4th append of a follower (it never reaches the
    // disk) yet reports it durable: an acknowledged txn can be lost.
    BREAK_DROP_APPEND,
    // The host skips applying every 5th commit on a learner: its applied
    // zxids skip one.
    BREAK_SKIP_COMMIT,
    // The host never makes the epochs durable: a restart reads 0 for both,
    // so a later discovery can pick an epoch already established.
    BREAK_FORGET_EPOCHS,
    // A leader's host leaves its tree's last txn out of every snapshot it
    // sends (the packet's zxid says so) yet reports zab_snap_sent at its
    // last committed zxid: the learner never gets that txn.
    BREAK_SNAP_SHORT,
    // A learner's host loads a snapshot into its tree but never writes it to
    // the disk (the log keeps what it had): a restart or the final checks
    // find the snapshot's txns missing from its synced log.
    BREAK_SNAP_VOLATILE,
    // A leader's host leaves the first txn after the learner's zxid out of
    // every DIFF from its disk's log yet reports it sent: a hole.
    BREAK_DISK_DIFF_HOLE,
};

// ---- The simulator ----------------------------------------------------------

struct Event {
    int64_t at_ms;
    uint64_t seq;
    std::function<void()> fn;
};
struct EventLater {
    bool operator()(const Event &a, const Event &b) const
    {
        return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.seq > b.seq;
    }
};

enum {
    TICK_MAX_MS = 50, // zab's contract: zab_tick at least every 50 ms
    // zoo.cfg's tickTime, initLimit, syncLimit, small so that scenarios
    // stay fast: a role without its quorum or leader ends within 3 s.
    SIM_TICK_MS = 200,
    SIM_INIT_LIMIT = 10,
    SIM_SYNC_LIMIT = 5,
    ROLE_TIMEOUT_MS = SIM_TICK_MS * (SIM_INIT_LIMIT + SIM_SYNC_LIMIT),
    CONNECT_RETRY_MS = 100, // a learner's host retries its connect this often
    // After the heal: two maximum notification intervals (a LOOKING server
    // may sleep that long twice: once before it hears the others, once before
    // they hear its answer), two role timeouts (a leader without a quorum
    // steps down, a discovery that fails once), and a margin.
    HEAL_BOUND_MS = 2 * ZAB_MAX_NOTIFICATION_INTERVAL_MS + 2 * ROLE_TIMEOUT_MS + 20000,
    QUIET_MS = 5000,      // stable this long after the heal: quiescent
    DELAY_CLEAN_MS = 200, // a delay beyond this makes the run unclean
};

struct Sim {
    explicit Sim(uint64_t seed);
    ~Sim();

    Rng rng;
    int64_t now_ms = 0;
    uint64_t n_steps = 0;
    // A hash of every event run (time, sequence number) and every role
    // change: two runs of one seed must end with the same one.
    uint64_t history_hash = 1469598103934665603ull;
    void history_add(uint64_t v);
    bool is_verbose = false;
    Break brk = BREAK_NONE;
    uint64_t n_broken = 0; // messages the breakage touched
    // When a role ends (a batch changes it to LOOKING) the host makes its
    // log's unsynced tail durable before that batch's packets leave, as
    // ZooKeeper's zk.shutdown() does (SyncRequestProcessor.shutdown
    // flushes). zab.h does not ask for it, but without it an acknowledged
    // txn can be lost (crash seed 113; tests/sim/README.md): false runs the
    // host with only what zab.h asks (--no-role-end-flush).
    bool is_flushing_at_role_end = true;
    // zab_config.window_max for every start: the committed txns zab keeps
    // to DIFF from (0: zab's default, 500). A learner further behind gets
    // SNAP; small windows make that happen in the scenarios and scripts.
    int32_t window_max = 0;
    // zab_config.has_disk_log: a leader DIFFs a learner behind the window
    // from its disk's log (send_disk_diff) before it falls back to SNAP.
    // Drawn with the window (half the seeds with a small one).
    bool has_disk_log = false;
    uint64_t n_disk_diffs = 0;
    // SNAP syncs: snapshots a leader's host sent, and those a learner's
    // host installed (durably, before zab_step saw the packet).
    uint64_t n_snaps_sent = 0, n_snaps_installed = 0;
    // A learner crashes right after it installs a snapshot (before zab sees
    // the SNAP): this node, or -1 for whichever installs one next; 0: none.
    // When restart_after_snap_crash_ms >= 0 it restarts that much later.
    int64_t crash_after_snap = 0;
    // A node crashes right after a batch of its made a current epoch
    // durable (script crash-after-epoch): 0 none.
    int64_t crash_after_epoch = 0;
    int64_t restart_after_snap_crash_ms = -1;
    // Called by the glue once node id has installed a snapshot durably:
    // counts it and carries out crash_after_snap. True when id crashed.
    bool snap_installed(int64_t id);

    std::map<int64_t, Node> nodes; // by id; iteration in id order
    std::vector<zab_server> servers;
    std::string config_text; // what notifications carry as config

    // Failure: the first invariant to fail stops the run.
    std::string fail_inv, fail_why;
    uint64_t fail_step = 0;
    int64_t fail_ms = 0;

    // Run facts the invariants read.
    bool is_clean = true; // no message lost and none delayed beyond 200 ms
    std::string unclean_why;
    int64_t first_start_ms = -1;
    int64_t healed_at_ms = -1; // when everything was healed for good
    int64_t last_role_change_ms = 0;
    std::vector<Decision> decisions;
    size_t n_decisions_checked = 0;
    std::map<int64_t, int64_t> leader_of_el_epoch;
    std::map<int64_t, int64_t> leader_of_peer_epoch; // epoch -> its established leader

    // Broadcast facts (sim_zab.cpp records them, invariants.cpp reads them).
    std::map<int64_t, uint32_t> txn_sum; // zxid -> bytes' sum, of every txn applied anywhere
    std::map<int64_t, int64_t> pred_of;  // zxid -> the zxid applied before it (final commits)
    struct Proposal {
        int64_t leader;
        uint64_t incarnation;
        uint32_t sum;
    };
    std::map<int64_t, Proposal> proposed; // the client's txns, by zxid
    std::map<int64_t, uint32_t> acked;    // those the leader committed: acknowledged
    uint64_t n_client_txns = 0;
    // Violations found as they happen (by the glue), per invariant name.
    std::map<std::string, std::string> violations;
    void violate(const std::string &inv, const std::string &why);
    bool is_quiescent = false; // set by the scenario/script: the final checks apply

    // Setup.
    void add_server(int64_t id, bool is_observer);
    void trace(const std::string &line);
    void mark_unclean(const std::string &why);

    // Events.
    void at(int64_t at_ms, std::function<void()> fn);
    bool step();                    // one event, then the invariants; false when none
    bool run_until(int64_t end_ms); // false on a failure
    size_t n_in_flight() const;     // notifications (quorum links never go quiet)

    // Nodes.
    void start(int64_t id); // a first start or a restart from the disk
    void crash(int64_t id);
    bool is_up(int64_t id) const;

    // Network.
    std::map<int64_t, int> group; // partition group; all 0 when healed
    std::map<std::pair<int64_t, int64_t>, Conn> conns;
    bool linked(int64_t a, int64_t b) const;
    void send(int64_t from, int64_t to, std::vector<uint8_t> frame);
    // A new connection from->to: the queued message, else the last one sent.
    void connect(int64_t from, int64_t to);
    void drop_conn(int64_t a, int64_t b); // both directions; both ends see it closed
    void partition(const std::vector<std::vector<int64_t>> &sides);
    void heal_network();
    void heal_all(); // network, crashed and unstarted nodes; sets healed_at_ms
    void slow_conn(int64_t from, int64_t to, int64_t for_ms, int64_t extra_ms);

    // Quorum connections.
    std::map<std::pair<int64_t, int64_t>, QConn> qconns;
    // A learner's host connects to leader (retrying every CONNECT_RETRY_MS
    // while the learner still wants it and the leader is not LEADING or not
    // reachable).
    void qconnect(int64_t learner, int64_t leader, bool is_retry = false);
    // Sends a quorum packet on the open connection between from and to;
    // lost (and traced) when there is none.
    void qsend(int64_t from, int64_t to, std::vector<uint8_t> bytes);
    // Closes the connection between a and b (either orientation): its bytes
    // stop at once; each end but `quiet` (the one that asked, and knows)
    // learns it through zab_peer_down in an event of its own, 1..notice_ms
    // later (a partition sends no FIN: its notice may come after zab's own
    // timeouts, so both paths run).
    void qclose(int64_t a, int64_t b, int64_t quiet, const char *why, int64_t notice_ms = 5);
    void qclose_all(int64_t id, int64_t quiet, const char *why);
    bool is_partitioning = false; // drop_conn: a partition's, noticed late

    // The simulated client: the serving leader, if any, proposes one txn.
    // Returns its zxid, or -1 when nobody serves.
    int64_t client_propose();

    // Disk.
    void disk_sync(int64_t id);

    // Queries.
    size_t n_voters() const;
    // A running server LEADING and serving (established), with a quorum of
    // running, linked voters (itself included) FOLLOWING it and serving
    // (synced); 0 when none.
    int64_t leader() const;
    bool all_follow(int64_t leader) const; // every running node serves under it

    std::priority_queue<Event, std::vector<Event>, EventLater> q;
    uint64_t next_seq = 0;
    void schedule_tick(int64_t id, uint64_t incarnation);
};

// ---- zab glue (sim_zab.cpp) -------------------------------------------------

void glue_start(Sim &s, Node &n);
void glue_stop(Sim &s, Node &n);
void glue_tick(Sim &s, Node &n);
void glue_deliver(Sim &s, Node &to, int64_t from, const std::vector<uint8_t> &frame);
void glue_qdeliver(Sim &s, Node &to, int64_t from, const std::vector<uint8_t> &bytes);
void glue_peer_up(Sim &s, Node &n, int64_t peer);
void glue_peer_down(Sim &s, Node &n, int64_t peer);
void glue_persisted(Sim &s, Node &n, int64_t upto_zxid);
// The client's txn on leader n: 0 and *zxid, or zab_propose's error.
int glue_propose(Sim &s, Node &n, int64_t *zxid);
// The established leader zab reports for n (LEADING and serving), or false.
bool glue_established_leader(const Sim &s, const Node &n, int64_t *peer_epoch, int64_t *leader);
const char *glue_role_name(int32_t role);

// ---- Invariants (invariants.cpp) --------------------------------------------

enum InvResult { INV_OK, INV_FAIL, INV_NOT_CHECKED };

struct Invariant {
    const char *name;
    InvResult (*fn)(Sim &s, std::string *why);
};
extern const Invariant k_invariants[];
extern const size_t k_n_invariants;
// Runs them all; on the first failure fills s.fail_*; false then.
bool check_invariants(Sim &s);

// ---- Scenarios (sim.cpp) and scripts (script.cpp) ---------------------------

struct RunOpts {
    uint64_t seed = 1;
    int64_t fault_ms = 300000; // the window of random faults
    bool is_verbose = false;
    Break brk = BREAK_NONE;
    bool is_flushing_at_role_end = true;
    // zab's committed-log window: -1 seeded (a third of the seeds get a
    // small one, 1..16 txns, so learners behind it need SNAP; the others
    // zab's default), else this for every seed (0: zab's default, 500).
    int32_t window_max = -1;
    // has_disk_log: -1 drawn with a seeded window (half the small ones),
    // else 0 or 1 for every seed.
    int32_t disk_log = -1;
    uint64_t *history_hash_out = nullptr; // when set, receives the run's hash
    uint64_t *n_snaps_out = nullptr;      // when set, receives the snapshots installed
};

extern const char *const k_scenarios[];
// Runs one seed of a scenario: 0 when it passed, 1 when an invariant failed,
// -1 for an unknown name; *summary says which invariant, step and time, or
// how the run ended.
int run_scenario(const std::string &name, const RunOpts &o, std::string *summary);
// Runs a testdata script: 0 when every expect holds and no invariant failed,
// 1 when not, 2 for a bad file or command; *why says where and what.
int run_script(const std::string &path, bool is_verbose, std::string *why);

} // namespace sim
#endif
