/*
 * zab: the ZAB core as a state machine that does no I/O: Fast Leader
 * Election (ZooKeeper 3.8's FastLeaderElection, election.c), then the
 * leader's discovery, sync and broadcast (Leader + LearnerHandler,
 * leader.c) and the learner's (Learner + Follower + Observer, learner.c).
 *
 * How the host (server/, or the simulator) drives it:
 *   - z = zab_new(&cfg): my id, the ensemble, this server's learner type,
 *     the persisted zxid and epochs, a seed and the current time. The first
 *     election starts at once (the server boots LOOKING, as ZooKeeper's does).
 *   - Every message from a peer, decoded: zab_step(z, &msg).
 *   - At least every 50 ms: zab_tick(z, now_ms).
 *   - Quorum connections opening and closing: zab_peer_up / zab_peer_down;
 *     the log's durability: zab_persisted; a leader's writes: zab_propose.
 *   - After any of those: while (zab_ready(z, &b)) { do what b says, in the
 *     order zab_batch gives; zab_advance(z, &b); }
 *   - When a role ends (the leader is lost, sync fails, ...):
 *     zab_start_election(z, last_logged_zxid, current_epoch).
 *
 * Time. zab reads no clock. The host owns a monotonic clock in milliseconds
 * (the simulator passes simulated time) and hands it in through zab_tick,
 * which it calls at least every 50 ms; zab_step and everything else measure
 * against the now_ms of the last zab_tick (or zab_new). This replaces the
 * tick-count zab_tick(z) that STYLE.md sketches because election needs
 * sub-tick timing: finalizeWait is 200 ms and the notification timeout starts
 * at 200 ms, while tickTime is typically 2000 ms. Tick-based limits
 * (initLimit, syncLimit) will be converted with tickTime from the config.
 * A deadline fires on the first zab_tick at or after it, so a host that
 * ticks every 50 ms is at most 50 ms late.
 *
 * What zab emits never goes to itself: its own vote is counted directly,
 * where ZooKeeper loops its own notification back through its queue.
 *
 * Randomness comes only from cfg.seed (election uses none). No globals, no
 * threads, no locks: one owner (the loop thread) calls everything.
 */
#ifndef ZABD_ZAB_H
#define ZABD_ZAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zab zab; /* layout in zab/zab_int.h */

/* ---- Values ------------------------------------------------------------- */

/* The roles, numbered as ZooKeeper's ServerState (and so as a notification's
 * state field, enum wire_el_state). */
enum zab_role {
    ZAB_ROLE_LOOKING = WIRE_EL_LOOKING,
    ZAB_ROLE_FOLLOWING = WIRE_EL_FOLLOWING,
    ZAB_ROLE_LEADING = WIRE_EL_LEADING,
    ZAB_ROLE_OBSERVING = WIRE_EL_OBSERVING,
};

/* Time limits from FastLeaderElection (finalizeWait, min/maxNotificationInterval). */
enum {
    ZAB_FINALIZE_WAIT_MS = 200,
    ZAB_MIN_NOTIFICATION_INTERVAL_MS = 200,
    ZAB_MAX_NOTIFICATION_INTERVAL_MS = 60000,
};

/* A vote, visible because it is a small value passed around (like wire_stat).
 * leader is the proposed leader's server id; election_epoch is the logical
 * clock of the election it was cast in (-1 when none, as ZooKeeper's
 * boot-time vote). */
typedef struct zab_vote {
    int64_t leader;
    int64_t zxid;
    int64_t election_epoch;
    int64_t peer_epoch;
} zab_vote;

/* FastLeaderElection.totalOrderPredicate's order: is a newer than b? Higher
 * peer epoch wins, then higher zxid, then higher server id (leader).
 * election_epoch is not compared. The rule that a vote for a non-voter is
 * never newer lives inside the election, which knows the voters. */
bool zab_vote_newer(const zab_vote *a, const zab_vote *b);

/* A txn as the log holds it. */
typedef struct zab_txn {
    int64_t zxid;
    const uint8_t *p;
    size_t len;
} zab_txn;

/* ---- Configuration ----------------------------------------------------------- */

typedef struct zab_server {
    int64_t id;
    bool is_observer; /* server.N=...:observer */
} zab_server;

typedef struct zab_config {
    int64_t my_id;
    const zab_server *servers; /* every server, me included; copied */
    size_t n_servers;
    bool is_observer; /* this server's learner type (peerType=observer) */
    /* The bytes a 3.8 notification carries in its config field (the host
     * builds QuorumVerifier.toString()); opaque here, copied. */
    const uint8_t *config;
    size_t config_len;
    int64_t last_logged_zxid;
    int64_t current_epoch;  /* the peer epoch a vote carries */
    int64_t accepted_epoch; /* kept for discovery (not used by election) */
    uint64_t seed;
    int64_t now_ms; /* the host's monotonic clock at creation */
    /* Added for discovery, sync and broadcast. tick_ms is zoo.cfg's tickTime
     * (0: 2000); init_limit and sync_limit are in ticks (0: 10 and 5, the
     * sample zoo.cfg's). */
    int32_t tick_ms;
    int32_t init_limit;
    int32_t sync_limit;
    /* The committed-log window DIFF serves from (ZooKeeper's committedLog):
     * the txns in my log after log_base_zxid (the zxid of the snapshot they
     * follow, or of an earlier txn), in zxid order, copied. Everything in my
     * log counts as committed at start, as ZooKeeper loads its whole log into
     * the tree. The last one's zxid must be last_logged_zxid (when any).
     * zab keeps at most window_max committed txns (0: 500, ZooKeeper's
     * commitLogCount), dropping the oldest. A learner behind the window
     * needs SNAP. */
    const zab_txn *log;
    size_t n_log;
    int64_t log_base_zxid;
    int32_t window_max;
    /* The host can read its log on disk beyond the window (a leader then
     * asks it, in zab_batch.disk_diffs, to DIFF a learner behind the
     * window before falling back to SNAP, as ZooKeeper's LearnerHandler
     * tries its txn log files). false: SNAP at once. */
    bool has_disk_log;
} zab_config;

/* ---- Lifetime ------------------------------------------------------------------ */

/* Copies cfg and starts the first election. NULL on bad arguments (no
 * servers, my_id absent, a duplicate id, fewer than one voter, more than
 * 4096 servers, my learner type not matching my server entry) or out of
 * memory. */
zab *zab_new(const zab_config *cfg);
void zab_free(zab *z); /* NULL is a no-op */

/* ---- Input ----------------------------------------------------------------------- */

enum zab_msg_type {
    ZAB_MSG_NOTIFICATION = 1, /* election port (3888) */
    ZAB_MSG_QUORUM = 2,       /* quorum port (2888): qp, decoded wire_qp */
    ZAB_MSG_PEER_UP = 3,      /* = zab_peer_up(z, from) */
    ZAB_MSG_PEER_DOWN = 4,    /* = zab_peer_down(z, from) */
};

/* One decoded message from peer `from`. Borrowed for the call only: zab
 * copies what it keeps. A notification's config is not interpreted (no
 * dynamic reconfiguration yet). */
typedef struct zab_msg {
    int64_t from;
    int32_t type; /* enum zab_msg_type */
    wire_el_notif notif;
    wire_qp qp;
} zab_msg;

/* Feeds one message at the time of the last zab_tick. Notifications are
 * handled in every role (a server that is not LOOKING answers a LOOKING peer
 * with its current vote). Quorum packets are run by the role (leader.c,
 * learner.c). Returns 0; ZERR_BADARGUMENTS for a quorum packet while
 * LOOKING, from a server not in the ensemble, or an unknown type;
 * ZERR_MARSHALLINGERROR for a packet whose data does not decode (the role
 * treats it as the peer's failure); ZERR_NOMEM if a reply could not be
 * queued (lost, as on a lossy network). A packet that ends the role (a
 * learner refused, an older epoch, ...) returns 0 and reports why in the
 * batch's errors.
 *
 * Quorum connections belong to the host. A learner's host connects to the
 * leader's quorum port when a batch says connect_leader, and reports
 * zab_peer_up(z, leader) once connected (zab then sends FOLLOWERINFO or
 * OBSERVERINFO); a failed connect is the host's to retry until the
 * learner's initLimit runs out. A leader's host accepts connections whose
 * sid it learns from the first packet (FOLLOWERINFO/OBSERVERINFO: decode
 * its data with wire_learner_info_decode) and passes that sid as `from` for
 * every packet on the connection; zab_peer_up is a no-op on a leader. Any
 * side reports zab_peer_down(z, sid) when a quorum connection closes; a
 * learner losing its leader returns to LOOKING, a leader forgets the
 * learner. When the role changes to LOOKING the host closes every quorum
 * connection (zab lists the ones it knows in drops; a learner's that never
 * sent LearnerInfo it does not know). A quorum packet refused with
 * ZERR_BADARGUMENTS or ZERR_MARSHALLINGERROR means the host closes that
 * connection.
 *
 * Not zab's: REQUEST and REVALIDATE on a leader, SYNC and REVALIDATE on a
 * learner (the request pipeline and the session table answer them), and
 * the session touches in a learner's PING (the host reads them on the
 * leader, and hands them in with zab_set_ping_data on the learner before
 * it steps the leader's PING). The host handles those itself; given one,
 * zab returns ZERR_UNIMPLEMENTED and logs it in errors. The host still
 * passes every PING to zab (liveness, and the learner's answer). */
int zab_step(zab *z, const zab_msg *m);
int zab_peer_up(zab *z, int64_t sid);
int zab_peer_down(zab *z, int64_t sid);

/* A learner's next PING answer carries these bytes (the session touches,
 * wire_qp_touch_encode'd by the host), copied; the answer spends them.
 * 0 or ZERR_NOMEM. */
int zab_set_ping_data(zab *z, const uint8_t *p, size_t len);

/* The host's log made txns durable through upto_zxid (in zxid order: every
 * appended txn at or below it). A learner ACKs them (after NEWLEADER), a
 * leader counts its own ACK. */
void zab_persisted(zab *z, int64_t upto_zxid);

/* A leader's host wrote the snapshot learner sid asked for (a sid in
 * zab_batch.snaps): the SNAP packet (zxid = zxid) and the tree at zxid,
 * which must be in my log window (my last zxid, normally: a host whose
 * tree holds uncommitted proposals waits until they commit). zab then sends
 * what follows zxid and NEWLEADER. ZERR_BADARGUMENTS if sid asked for none
 * or zxid is outside the log (the learner is dropped). */
int zab_snap_sent(zab *z, int64_t sid, int64_t zxid);

/* A leader's host answered a disk_diffs entry: sent is true when it wrote
 * a DIFF packet (zxid = zab_last_zxid) and, as PROPOSAL + COMMIT pairs,
 * every txn of its log after the learner's zxid up to and including the
 * window's base (zab_window_base), which zab follows with its window and
 * NEWLEADER; false when its log cannot (it lacks the learner's zxid, or
 * the txns weigh too much against a snapshot): zab asks for SNAP.
 * ZERR_BADARGUMENTS if sid asked for none. */
int zab_disk_diff_done(zab *z, int64_t sid, bool sent);
/* The zxid the committed-log window follows (zab_config.log_base_zxid,
 * moved up as the window drops its oldest). */
int64_t zab_window_base(const zab *z);

/* The zxid the next zab_propose assigns (epoch << 32 | counter+1), or -1
 * when I cannot propose (not LEADING, or not established yet). The txn
 * bytes carry the zxid in their TxnHeader (and the tree digest after it may
 * depend on it), so the host asks for it before it builds the txn: prep
 * with zab_next_zxid, encode, then zab_propose. */
int64_t zab_next_zxid(const zab *z);

/* A leader proposes txn (TxnHeader + record [+ TxnDigest], as the log holds
 * it; opaque but for the header's zxid, which must be zab_next_zxid: bytes
 * 12..19). Copies it; queues it to append, PROPOSALs to the synced
 * followers; commits come back in a later batch. 0 with *zxid_out set;
 * ZERR_NOTREADONLY when not a serving leader; ZERR_BADARGUMENTS for a txn
 * shorter than a TxnHeader or with another zxid; ZERR_NOMEM. When the
 * counter would reach 0xffffffff the leader steps down (a new epoch needs
 * an election, as Leader.propose's XidRolloverException) and this returns
 * ZERR_CONNECTIONLOSS. */
int zab_propose(zab *z, const uint8_t *txn, size_t len, int64_t *zxid_out);

/* The host's monotonic time, at least every 50 ms; fires due deadlines
 * (notification resend with doubling back-off, the end of finalizeWait).
 * now_ms must not go backwards (asserted). */
void zab_tick(zab *z, int64_t now_ms);

/* Leaves the current role and starts a new election round: the logical
 * clock goes up by one and the vote is for myself with these values (the
 * log may have grown since zab_new). Reports the change to LOOKING.
 * 0, or ZERR_NOMEM if notifications could not be queued (they are resent
 * on the notification timeout). */
int zab_start_election(zab *z, int64_t last_logged_zxid, int64_t current_epoch);

/* ---- Output ------------------------------------------------------------------------ */

/* A notification to send to peer `to`; notif.config borrows from z and stays
 * valid for z's lifetime. */
typedef struct zab_send {
    int64_t to;
    wire_el_notif notif;
} zab_send;

/* A change of role. vote.leader is the leader (me when LEADING); vote is the
 * decided vote and vote.election_epoch the election it ended. A change to
 * LOOKING carries the vote I start with. Only the latest change since the
 * last zab_advance is reported. */
typedef struct zab_role_change {
    int32_t role; /* enum zab_role */
    zab_vote vote;
} zab_role_change;

/* A quorum packet for peer `to`, encoded (wire_qp_encode: no frame, write
 * the bytes as they are). */
typedef struct zab_qsend {
    int64_t to;
    const uint8_t *p;
    size_t len;
} zab_qsend;

/* Something that went wrong and that an operator wants in the log: why a
 * role ended, a learner was dropped or could not be synced. what is a
 * static string. */
typedef struct zab_error {
    int64_t peer; /* the server it concerns, or my id */
    int32_t code; /* ZERR_* */
    const char *what;
} zab_error;

/* A learner behind the window: its sid and last zxid. */
typedef struct zab_disk_diff {
    int64_t sid;
    int64_t peer_zxid;
} zab_disk_diff;

/* What the host must do, IN THIS ORDER:
 *   1. truncate: if has_truncate, cut the log after truncate_zxid (TRUNC)
 *      and rebuild the tree from snapshot + log, synchronously.
 *   2. epochs: if has_accepted_epoch / has_current_epoch, write them and
 *      fsync SYNCHRONOUSLY: no packet of this batch may leave before they
 *      are durable (a LEADERINFO/ACKEPOCH/ACK promises them).
 *   3. appends: hand the txns to the log thread (asynchronous); report
 *      durability with zab_persisted. A follower's ACK and a leader's own
 *      vote wait for that, not for this batch. EXCEPT when role_change
 *      goes to LOOKING: then make every txn appended so far durable before
 *      this batch's packets leave. The election's vote counts every logged
 *      txn, so a server elected on an unsynced tail could lose, after a
 *      crash, a txn another quorum member had acknowledged (tests/sim seed
 *      crash 113 with --no-role-end-flush). ZooKeeper's
 *      SyncRequestProcessor flushes on shutdown for the same reason.
 *   4. drops, then connect_leader, then send qsends to their peers (in
 *      order, per peer), and the notifications in sends. Then, for each
 *      learner in snaps (a leader), a SNAP packet and a snapshot of the
 *      tree, reported with zab_snap_sent (now or in a later call); and
 *      for each in disk_diffs, a DIFF from its log, reported with
 *      zab_disk_diff_done.
 *      A learner's host, given a SNAP packet, loads the snapshot that
 *      follows it and makes it durable (snapshot written, log cut after
 *      its zxid) BEFORE it steps the packet into zab.
 *   5. commits: apply to the tree in this order (zxid order).
 *   6. act on role_change and serving; log errors.
 *   7. zab_advance.
 * Every pointer is borrowed until the next call into z. A learner's
 * REQUEST forwarding is the host's, and so are the session touches in its
 * PING answers (zab_set_ping_data). */
typedef struct zab_batch {
    const zab_send *sends; /* borrowed until the next call into z */
    size_t n_sends;
    bool has_role_change;
    zab_role_change role_change;

    const zab_qsend *qsends;
    size_t n_qsends;
    bool has_truncate;
    int64_t truncate_zxid;
    bool has_accepted_epoch;
    int64_t accepted_epoch;
    bool has_current_epoch;
    int64_t current_epoch;
    const zab_txn *appends;
    size_t n_appends;
    const zab_txn *commits;
    size_t n_commits;
    const int64_t *drops; /* close these peers' quorum connections */
    size_t n_drops;
    const int64_t *snaps; /* a leader: send these learners SNAP + a snapshot */
    size_t n_snaps;
    /* A leader with has_disk_log: DIFF these learners from the log on disk
     * (their zxid below the window), then zab_disk_diff_done. */
    const zab_disk_diff *disk_diffs;
    size_t n_disk_diffs;
    bool has_connect;       /* a learner: connect to ... */
    int64_t connect_leader; /* ... this server's quorum port */
    /* Clients may be served (true: a leader established, a learner got
     * UPTODATE) or must not be any more (false: the role ended). Reported
     * on change; the last change counts. */
    bool has_serving;
    bool is_serving;
    const zab_error *errors;
    size_t n_errors;
} zab_batch;

/* Fills *out and returns true when there is something to do; false (and an
 * empty *out) otherwise. */
bool zab_ready(zab *z, zab_batch *out);
/* Retires what `done` (from zab_ready) held: its first n_sends sends (and
 * so each list's first n_), its role change, epochs, truncate, connect and
 * serving change. Output queued after that zab_ready stays pending. */
void zab_advance(zab *z, const zab_batch *done);

/* ---- Introspection (4lw, tests) -------------------------------------------------- */

int32_t zab_role_get(const zab *z);
/* The vote I propose while LOOKING; the decided vote otherwise. */
zab_vote zab_vote_get(const zab *z);
int64_t zab_election_epoch(const zab *z); /* the logical clock */
/* The current notification timeout (doubles on each silent period, up to
 * ZAB_MAX_NOTIFICATION_INTERVAL_MS). */
int32_t zab_notification_timeout_ms(const zab *z);
/* Discovery/broadcast state (tests, 4lw): the epoch I accepted and the one
 * I am in, the last zxid in my log, the last committed, and whether I
 * serve clients. */
int64_t zab_accepted_epoch(const zab *z);
int64_t zab_current_epoch(const zab *z);
int64_t zab_last_zxid(const zab *z);
int64_t zab_last_committed(const zab *z);
bool zab_is_serving(const zab *z);

/* A leader's view of its learners and proposals, for mntr, srvr and stat
 * (ZooKeeper 3.8's LeaderZooKeeperServer gauges). All O(servers) at most.
 * Learners: the learner handlers that sent FOLLOWERINFO/OBSERVERINFO and
 * were not dropped since (Leader.getLearners); synced: those whose sync
 * (DIFF/TRUNC and NEWLEADER) went out, so that new proposals reach them
 * (getForwardingFollowers, getObservingLearners). 0 when not LEADING. */
size_t zab_n_learners(const zab *z);
size_t zab_n_synced_followers(const zab *z);
size_t zab_n_synced_observers(const zab *z);
/* The sizes in bytes of the txns zab_propose took since this leadership
 * began (or since zab_proposal_sizes_reset): the last, the smallest and
 * the largest; each -1 when there was none or I do not lead (BufferStats's
 * initial value). */
typedef struct zab_sizes {
    int64_t last, min, max;
} zab_sizes;
zab_sizes zab_proposal_sizes(const zab *z);
void zab_proposal_sizes_reset(zab *z); /* srst */
/* Milliseconds since I was established as leader (to the last zab_tick),
 * or -1 when I am not an established leader (Leader.getUptime). */
int64_t zab_leader_uptime_ms(const zab *z);
/* QuorumPeer.ZabState's word for where my role is: "election" (LOOKING),
 * "discovery", "synchronization" or "broadcast". A static string. */
const char *zab_phase_name(const zab *z);

#ifdef __cplusplus
}
#endif
#endif
