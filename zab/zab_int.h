/*
 * zab internals: never included from outside zab/.
 *
 * One struct zab per server. The ensemble is a fixed array of servers (the
 * config's order); per-server election state (the two ballot boxes) is kept
 * in arrays indexed like it, so a message's sender is found by a linear scan
 * of at most a few dozen entries.
 *
 * Role dispatch: role_ops[role] gives the step and tick functions of the
 * current role (step_looking in election.c; the others in zab.c until they
 * are written).
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
} zab_role_ops;

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
};

/* zab.c */
void zab_role_set(zab *z, int32_t role, const zab_vote *v);
/* Queues a notification to `to`; ZERR_NOMEM (and the send is lost). */
int zab_send_notif(zab *z, int64_t to, int32_t state, const zab_vote *v, int64_t election_epoch);
/* The index of server id, or -1. */
int zab_server_index(const zab *z, int64_t id);
bool zab_is_voter(const zab *z, int64_t id);

/* election.c */
int zab_el_start(zab *z);
/* The election port's receiver (WorkerReceiver), in every role. */
int zab_el_receive(zab *z, const zab_msg *m);
int step_looking(zab *z, const zab_msg *m);
void tick_looking(zab *z);

#endif
