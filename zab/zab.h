/*
 * zab: the ZAB core as a state machine that does no I/O. Today it holds Fast
 * Leader Election (ZooKeeper 3.8's FastLeaderElection); discovery, sync and
 * broadcast grow into the same object later.
 *
 * How the host (server/, or the simulator) drives it:
 *   - z = zab_new(&cfg): my id, the ensemble, this server's learner type,
 *     the persisted zxid and epochs, a seed and the current time. The first
 *     election starts at once (the server boots LOOKING, as ZooKeeper's does).
 *   - Every message from a peer, decoded: zab_step(z, &msg).
 *   - At least every 50 ms: zab_tick(z, now_ms).
 *   - After any of those: while (zab_ready(z, &b)) { send b.sends[i].notif to
 *     b.sends[i].to; act on b.role_change; zab_advance(z, &b); }
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
    ZAB_MSG_QUORUM = 2,       /* quorum port (2888): not handled yet */
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
 * with its current vote). Returns 0; ZERR_UNIMPLEMENTED for a quorum packet
 * in a role whose step is not written yet (FOLLOWING, LEADING, OBSERVING: the
 * packet is dropped); ZERR_BADARGUMENTS for a quorum packet while LOOKING or
 * an unknown type; ZERR_NOMEM if a reply could not be queued (lost, as on a
 * lossy network). */
int zab_step(zab *z, const zab_msg *m);

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

/* What the host must do. Later: epochs and txns to persist, commits. */
typedef struct zab_batch {
    const zab_send *sends; /* borrowed until the next call into z */
    size_t n_sends;
    bool has_role_change;
    zab_role_change role_change;
} zab_batch;

/* Fills *out and returns true when there is something to do; false (and an
 * empty *out) otherwise. */
bool zab_ready(zab *z, zab_batch *out);
/* Retires what `done` (from zab_ready) held: its first n_sends sends and its
 * role change. Output queued after that zab_ready stays pending. */
void zab_advance(zab *z, const zab_batch *done);

/* ---- Introspection (4lw, tests) -------------------------------------------------- */

int32_t zab_role_get(const zab *z);
/* The vote I propose while LOOKING; the decided vote otherwise. */
zab_vote zab_vote_get(const zab *z);
int64_t zab_election_epoch(const zab *z); /* the logical clock */
/* The current notification timeout (doubles on each silent period, up to
 * ZAB_MAX_NOTIFICATION_INTERVAL_MS). */
int32_t zab_notification_timeout_ms(const zab *z);

#ifdef __cplusplus
}
#endif
#endif
