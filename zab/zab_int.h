/*
 * zab internals: never included from outside zab/.
 *
 * One struct zab per server. The ensemble is a fixed array of servers (the
 * config's order); per-server election state (the two ballot boxes) is kept
 * in arrays indexed like it, so a message's sender is found by a linear scan
 * of at most a few dozen entries.
 *
 * Role dispatch: role_ops[role] gives the step and tick functions of the
 * current role (step_looking in election.c, step_leading in leader.c,
 * step_learning in learner.c for FOLLOWING and OBSERVING) and what the role
 * does on entry, on leaving, and when the log reports durability.
 *
 * The log. zab keeps the txns it may have to serve or still has to commit:
 * the committed window (at most window_max committed txns after
 * log_base_zxid, ZooKeeper's committedLog) followed by the uncommitted
 * tail, all in zxid order. Each entry owns a copy of its bytes.
 *
 * Outputs are queues of (key, bytes) records whose bytes live in one arena
 * per queue, so what zab_ready hands out stays valid until the next call
 * and a later push (which may move the arena) only rebuilds the view.
 */
#ifndef ZABD_ZAB_INT_H
#define ZABD_ZAB_INT_H

#include "zab/zab.h"

enum { ZAB_MAX_SERVERS = 4096 };

/* A vote as received, with what FastLeaderElection's Vote also carries: the
 * sender's state and the notification version (both matter to Vote.equals). */
typedef struct zab_ballot {
    bool is_present;
    int32_t state; /* enum zab_role */
    int32_t version;
    zab_vote vote;
} zab_ballot;

/* The election (one lookForLeader run, plus the logical clock across runs). */
typedef struct zab_election {
    int64_t logical_clock;
    zab_vote proposal;     /* proposedLeader/Zxid/Epoch; election_epoch unused */
    zab_ballot *recvset;   /* votes of this round, by server index */
    zab_ballot *outofelec; /* FOLLOWING/LEADING votes of any round */
    int32_t not_timeout_ms;
    int64_t not_deadline_ms; /* resend when no notification arrives by then */
    bool is_finalizing;      /* a quorum agrees; waiting out finalizeWait */
    int64_t finalize_deadline_ms;
} zab_election;

typedef struct zab_role_ops {
    const char *name;
    int (*step)(zab *z, const zab_msg *m);
    void (*tick)(zab *z);
    void (*enter)(zab *z);
    void (*leave)(zab *z); /* before the role changes: drop connections */
    void (*persisted)(zab *z);
    void (*peer_up)(zab *z, int64_t sid);
    void (*peer_down)(zab *z, int64_t sid);
} zab_role_ops;

/* A queue of byte records (quorum sends, appends, commits). */
typedef struct zab_outrec {
    int64_t key; /* peer id or zxid */
    size_t off, len;
} zab_outrec;
typedef struct zab_outq {
    zab_outrec *recs;
    size_t n, cap;
    wire_wr arena;
    zab_txn *view; /* rebuilt by zab_ready; zab_qsend has the same shape */
    size_t cap_view;
} zab_outq;

typedef struct zab_entry {
    int64_t zxid;
    uint8_t *p;
    size_t len;
    bool is_committed;
    uint8_t *acks; /* leader's proposals: ACKed, by server index */
} zab_entry;

/* LearnerHandler's state for one learner, by server index. */
enum zab_lh_state {
    ZAB_LH_NONE = 0,
    ZAB_LH_INFO,       /* FOLLOWERINFO/OBSERVERINFO in, waiting for the epoch */
    ZAB_LH_LEADERINFO, /* LEADERINFO out, waiting for ACKEPOCH */
    ZAB_LH_ACKEPOCH,   /* ACKEPOCH in, waiting for a quorum of them */
    ZAB_LH_DISKDIFF,   /* behind the window: DIFF from disk asked of the host */
    ZAB_LH_SNAP,       /* needs SNAP: asked of the host, waiting for zab_snap_sent */
    ZAB_LH_SYNCED,     /* sync packets and NEWLEADER out: forwarding */
    ZAB_LH_ACKED,      /* NEWLEADER ACKed, waiting for establishment */
    ZAB_LH_UPTODATE,   /* UPTODATE out */
};
typedef struct zab_lh {
    int32_t state; /* enum zab_lh_state */
    bool is_observer;
    int64_t accepted_epoch; /* from its LearnerInfo packet */
    int64_t current_epoch;  /* from ACKEPOCH (-1: had accepted mine) */
    int64_t last_zxid;      /* from ACKEPOCH */
    int64_t deadline_ms;    /* dropped when not heard from by then */
} zab_lh;

enum zab_leader_phase {
    ZAB_LP_EPOCH = 1,  /* collecting LearnerInfo from a quorum */
    ZAB_LP_ACKEPOCH,   /* LEADERINFO out, collecting ACKEPOCH */
    ZAB_LP_NEWLEADER,  /* syncing, collecting NEWLEADER ACKs */
    ZAB_LP_ESTABLISHED /* serving, broadcasting */
};
typedef struct zab_leader {
    int32_t phase;
    int64_t phase_deadline_ms;
    int64_t epoch;     /* the new epoch, once chosen */
    int64_t last_zxid; /* the last proposed (PING's zxid) */
    int64_t next_ping_ms;
    bool is_tick_skip; /* Leader.lead's tickSkip: quorum check every other half tick */
    zab_lh *lh;        /* by server index */
} zab_leader;

enum zab_learner_phase {
    ZAB_FP_CONNECTING = 1, /* connect_leader out, waiting for peer_up */
    ZAB_FP_INFO,           /* LearnerInfo out, waiting for LEADERINFO */
    ZAB_FP_ACKEPOCH,       /* ACKEPOCH out, waiting for DIFF/TRUNC/SNAP */
    ZAB_FP_SYNCING,        /* receiving the sync, waiting for NEWLEADER */
    ZAB_FP_NEWLEADER,      /* NEWLEADER in, ACK once the log is durable */
    ZAB_FP_ACKED,          /* waiting for UPTODATE */
    ZAB_FP_SERVING,
};
typedef struct zab_learner {
    int32_t phase;
    int64_t leader;
    int64_t new_epoch;
    int64_t acked_upto;  /* the last proposal ACKed (or had at the start) */
    int64_t deadline_ms; /* back to LOOKING when not heard from by then */
} zab_learner;

struct zab {
    int64_t my_id;
    bool is_observer; /* learner type */
    zab_server *servers;
    size_t n_servers;
    size_t n_voters;
    uint8_t *config;
    int32_t config_len;
    uint64_t rng_state; /* from cfg.seed; nothing draws from it yet */
    int64_t now_ms;

    int64_t last_logged_zxid;
    int64_t current_epoch;
    int64_t accepted_epoch;

    int32_t role;
    const zab_role_ops *ops;
    /* QuorumPeer's currentVote: my boot vote, then each decided vote. What a
     * server that is not LOOKING (or answers a non-voter) sends. */
    zab_vote current_vote;
    zab_election el;

    zab_send *sends;
    size_t n_sends;
    size_t cap_sends;
    bool has_role_change;
    zab_role_change role_change;

    int32_t tick_ms, init_limit, sync_limit, window_max;

    /* The log (see the top). */
    zab_entry *log;
    size_t n_log, cap_log;
    size_t n_committed_in_log;
    int64_t log_base_zxid;
    int64_t last_committed;
    int64_t persisted_zxid;

    zab_leader ld;
    zab_learner fl;
    bool is_serving;

    /* Outputs beyond sends and role_change. */
    zab_outq qsends, appends, commits;
    bool is_qsends_cleared; /* since the last zab_ready */
    bool has_truncate;
    int64_t truncate_zxid;
    bool has_accepted_epoch, has_current_epoch;
    int64_t *drops;
    size_t n_drops, cap_drops;
    int64_t *snaps; /* learners the host must send a snapshot (zab_batch.snaps) */
    size_t n_snaps, cap_snaps;
    bool has_disk_log;         /* zab_config's */
    zab_disk_diff *disk_diffs; /* zab_batch.disk_diffs */
    size_t n_disk_diffs, cap_disk_diffs;
    bool has_connect;
    int64_t connect_leader;
    bool has_serving;
    zab_error *errors;
    size_t n_errors, cap_errors;
    /* The session touches the host hands in for a learner's next PING
     * answer (zab_set_ping_data); spent by that answer. */
    uint8_t *ping_data;
    size_t ping_len, ping_cap;

    /* Introspection (zab.h): the sizes of the txns proposed while leading
     * the epoch prop_epoch (0: none since that leadership began or since
     * zab_proposal_sizes_reset), and when serving last began. */
    int64_t prop_epoch;
    int64_t prop_last_len, prop_min_len, prop_max_len;
    int64_t serving_since_ms;
};

#define ZAB_EPOCH_OF(zxid)       ((int64_t)((uint64_t)(zxid) >> 32))
#define ZAB_COUNTER_OF(zxid)     ((int64_t)((uint64_t)(zxid)&0xffffffffu))
#define ZAB_ZXID(epoch, counter) ((int64_t)(((uint64_t)(epoch) << 32) | (uint64_t)(counter)))

/* zab.c */
/* QuorumPeer.updateElectionVote (ZOOKEEPER-1732): once a role has a new
 * epoch, the vote it answers LOOKING peers with carries that epoch, or
 * servers that elected under an older one can never make a quorum with
 * those that sync later. */
void zab_update_election_vote(zab *z, int64_t epoch);
void zab_role_set(zab *z, int32_t role, const zab_vote *v);
/* Queues a notification to `to`; ZERR_NOMEM (and the send is lost). */
int zab_send_notif(zab *z, int64_t to, int32_t state, const zab_vote *v, int64_t election_epoch);
/* The index of server id, or -1. */
int zab_server_index(const zab *z, int64_t id);
bool zab_is_voter(const zab *z, int64_t id);

/* Outputs (zab.c); each returns 0 or ZERR_NOMEM (the output is lost). */
int zab_qp_send(zab *z, int64_t to, int32_t type, int64_t zxid, const uint8_t *data,
                int32_t len); /* len -1: null data */
int zab_out_append(zab *z, int64_t zxid, const uint8_t *p, size_t len);
int zab_out_commit(zab *z, int64_t zxid, const uint8_t *p, size_t len);
int zab_out_drop(zab *z, int64_t sid);
int zab_out_snap(zab *z, int64_t sid);
/* Drops every entry: my log is now the snapshot at zxid (SNAP). */
void zab_log_reset(zab *z, int64_t zxid);
/* leader.c: the host wrote learner sid's snapshot at zxid. */
int zab_leader_snap_sent(zab *z, int64_t sid, int64_t zxid);
int zab_leader_disk_diff_done(zab *z, int64_t sid, bool sent);
int zab_out_disk_diff(zab *z, int64_t sid, int64_t peer_zxid);
void zab_out_error(zab *z, int64_t peer, int32_t code, const char *what);
void zab_out_serving(zab *z, bool is_serving);
void zab_out_accepted_epoch(zab *z, int64_t epoch);
void zab_out_current_epoch(zab *z, int64_t epoch);
/* Forgets the quorum sends not handed out yet (the connections go). */
void zab_qsends_clear(zab *z);

/* The log (zab.c). */
int zab_log_push(zab *z, int64_t zxid, const uint8_t *p, size_t len, bool is_committed);
zab_entry *zab_log_find(zab *z, int64_t zxid);
/* The first uncommitted entry, or NULL. */
zab_entry *zab_log_first_uncommitted(zab *z);
void zab_log_mark_committed(zab *z, zab_entry *e);
/* Drops entries after zxid (TRUNC). */
void zab_log_truncate(zab *z, int64_t zxid);

/* Ends the role: logs why, then zab_start_election with what I have. */
void zab_role_fail(zab *z, int64_t peer, int32_t code, const char *what);
int64_t zab_ms_of_ticks(const zab *z, int32_t ticks);
size_t zab_quorum(const zab *z);

/* Records a proposed txn's size for zab_proposal_sizes (zab.c). */
void zab_note_proposal_size(zab *z, size_t len);

/* leader.c */
int step_leading(zab *z, const zab_msg *m);
void tick_leading(zab *z);
void zab_leader_enter(zab *z);
void zab_leader_leave(zab *z);
void zab_leader_persisted(zab *z);
void zab_leader_peer_down(zab *z, int64_t sid);
int zab_leader_propose(zab *z, const uint8_t *txn, size_t len, int64_t *zxid_out);

/* learner.c (FOLLOWING and OBSERVING) */
int step_learning(zab *z, const zab_msg *m);
void tick_learning(zab *z);
void zab_learner_enter(zab *z);
void zab_learner_leave(zab *z);
void zab_learner_persisted(zab *z);
void zab_learner_peer_up(zab *z, int64_t sid);
void zab_learner_peer_down(zab *z, int64_t sid);

/* election.c */
int zab_el_start(zab *z);
/* The election port's receiver (WorkerReceiver), in every role. */
int zab_el_receive(zab *z, const zab_msg *m);
int step_looking(zab *z, const zab_msg *m);
void tick_looking(zab *z);

#endif
