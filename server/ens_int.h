/*
 * ens_int.h: an ensemble member's state, shared by server/ensemble.c (zab's
 * batches: persistence, packets, commits, roles; the member's life) and
 * server/ens_serve.c (what it serves: the client path's quorum side,
 * learners' REQUESTs, syncs, touches, REVALIDATE, SNAP). Loop thread only.
 */
#ifndef ZABD_ENS_INT_H
#define ZABD_ENS_INT_H

#include "server/peer.h"
#include "server/srv_int.h"
#include "zab/zab.h"

/* A learner's sync, answered once everything proposed before it commits. */
typedef struct pending_sync {
    int64_t sid;
    int64_t zxid;
} pending_sync;

struct srv_ens {
    srv *s;
    zab *z;
    srv_peers *peers;
    srv_qport *qport;
    struct event *tick_ev;
    wire_wr frame;
    int32_t role;
    int64_t leader;
    int64_t looking_since_ms;
    int64_t last_logged; /* newest zxid handed to the log */
    int32_t n_voters;
    int64_t *downs; /* quorum connections that closed during a batch (n_servers) */
    size_t n_downs;
    bool is_synced; /* zab's serving flag */
    bool is_draining;
    struct event *drain_ev; /* drains after proposals of this loop iteration */
    pending_sync *syncs;    /* a leader's pending learner syncs, in order */
    size_t n_syncs, cap_syncs;
    wire_wr qbuf;              /* packets the host builds (SYNC, REVALIDATE, PING touches) */
    int64_t digest_mismatches; /* commits whose TxnDigest was not my tree's */
    /* A leader's SNAP syncs waiting for its proposals to commit (the tree
     * it snapshots holds them), and the learners' REQUESTs held meanwhile:
     * { long from; int len; QuorumPacket } each. */
    int64_t *snap_wait;
    size_t n_snap_wait, cap_snap_wait;
    wire_wr held_reqs;
    /* DIFFs from the log on disk zab asked for in the last batch. */
    zab_disk_diff *dd_wait;
    size_t n_dd_wait, cap_dd_wait;
};

/* next comes right after prev in a history: the next counter of its
 * epoch, or the first txn of a later epoch. */
static inline bool ens_follows(int64_t prev, int64_t next)
{
    return next == prev + 1 || ((next >> 32) > (prev >> 32) && (next & 0xffffffff) == 1);
}

/* ensemble.c */
/* Carries out zab's batches until it has none (re-entry is a no-op). */
void ens_drain(srv_ens *e);
/* Logs, marks the log failed and stops the server. */
void ens_fatal(srv_ens *e, const char *what, int rc);
/* A quorum packet from `from` (srv_qport_cb.on_packet). */
void ens_on_packet(void *arg, int64_t from, const wire_qp *qp);

/* ens_serve.c */
/* Closes every client connection: the member stopped serving. */
void ens_close_clients(srv_ens *e, const char *why);
/* A new leader gives every session a full timeout. */
void ens_touch_all_sessions(srv_ens *e);
/* Moves srv.release_zxid to what may leave now, and releases it. */
void ens_update_release(srv_ens *e);
/* SYNCs for learners' syncs whose proposals have all committed. */
void ens_flush_syncs(srv_ens *e);
/* Packets zab leaves to the host; true when handled (not for zab). */
bool ens_host_packet(srv_ens *e, int64_t from, const wire_qp *qp);
/* SNAP: the learners a batch asked for, and sending them when possible. */
void ens_want_snaps(srv_ens *e, const zab_batch *b);
void ens_try_snaps(srv_ens *e);
/* DIFF from the log on disk: the learners a batch asked for, then each
 * sent (or refused, which makes zab ask for SNAP). */
void ens_want_disk_diffs(srv_ens *e, const zab_batch *b);
void ens_do_disk_diffs(srv_ens *e);
/* A learner's SNAP packet with its stream (srv_qport_cb.on_snap). */
void ens_on_snap(void *arg, int64_t from, const wire_qp *snap, const uint8_t *stream, size_t len);

#endif
