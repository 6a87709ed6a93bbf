/*
 * leader.c: LEADING. ZooKeeper 3.8's Leader.lead and one LearnerHandler per
 * learner, as one state machine: the threads that block in
 * getEpochToPropose, waitForEpochAck and waitForNewLeaderAck become phases
 * (enum zab_leader_phase) with a deadline of initLimit ticks each, and each
 * learner's handler is a zab_lh (enum zab_lh_state).
 *
 *   EPOCH       LearnerInfo from a quorum of voters (me included): the new
 *               epoch is one more than the highest accepted epoch among
 *               them, so it is never one that any of them accepted before.
 *               I persist it as my accepted epoch; LEADERINFO to each.
 *   ACKEPOCH    ACKEPOCH from a quorum; one that shows a learner ahead of
 *               me (newer current epoch, or same and a longer log) ends the
 *               role. Then my current epoch is the new one, and each
 *               learner that acked is synced (syncFollower): DIFF, TRUNC, a
 *               DIFF from the host's log on disk or SNAP, then NEWLEADER.
 *   NEWLEADER   ACKs of NEWLEADER from a quorum: established, serving;
 *               UPTODATE to each learner that acked.
 *   ESTABLISHED zab_propose, PROPOSAL/ACK/COMMIT (INFORM to observers),
 *               PING every half tick, a quorum check every tick.
 * Learners that come later go through the same steps at once.
 */
#include <stdlib.h>
#include <string.h>

#include "zab/zab_int.h"

static zab_lh *lh_of(zab *z, int64_t sid)
{
    int i = zab_server_index(z, sid);
    return i < 0 ? NULL : &z->ld.lh[i];
}

static void lh_forget(zab *z, int idx, int32_t code, const char *why)
{
    zab_lh *lh = &z->ld.lh[idx];
    if (lh->state == ZAB_LH_NONE)
        return;
    if (why != NULL)
        zab_out_error(z, z->servers[idx].id, code, why);
    memset(lh, 0, sizeof *lh);
    /* A proposal it ACKed keeps that ACK: it was durable there. */
}

static void lh_drop(zab *z, int idx, int32_t code, const char *why)
{
    if (z->ld.lh[idx].state == ZAB_LH_NONE)
        return;
    lh_forget(z, idx, code, why);
    (void)zab_out_drop(z, z->servers[idx].id);
}

/* The voters at or past `state` (me included) form a quorum. */
static bool quorum_at(zab *z, int32_t state)
{
    size_t n = 1;
    for (size_t i = 0; i < z->n_servers; i++)
        if (!z->servers[i].is_observer && z->servers[i].id != z->my_id &&
            z->ld.lh[i].state >= state)
            n++;
    return n >= zab_quorum(z);
}

static void maybe_choose_epoch(zab *z);
static void maybe_epoch_acked(zab *z);

static void set_phase(zab *z, int32_t phase)
{
    z->ld.phase = phase;
    z->ld.phase_deadline_ms = z->now_ms + zab_ms_of_ticks(z, z->init_limit);
}

void zab_leader_enter(zab *z)
{
    memset(z->ld.lh, 0, z->n_servers * sizeof *z->ld.lh);
    z->ld.epoch = -1;
    z->ld.last_zxid = -1;
    z->ld.is_tick_skip = true;
    set_phase(z, ZAB_LP_EPOCH);
    /* A lone voter is its own quorum: Leader.lead goes straight through. */
    maybe_choose_epoch(z);
    maybe_epoch_acked(z);
}

void zab_leader_leave(zab *z)
{
    for (size_t i = 0; i < z->n_servers; i++)
        lh_drop(z, (int)i, 0, NULL);
    /* Nothing queued for a learner matters once its connection goes; the
     * uncommitted proposals stay in my log for the next election. */
    zab_qsends_clear(z);
    for (size_t i = 0; i < z->n_log; i++) {
        free(z->log[i].acks);
        z->log[i].acks = NULL;
    }
    zab_out_serving(z, false);
    z->ld.phase = 0;
}

void zab_leader_peer_down(zab *z, int64_t sid)
{
    int i = zab_server_index(z, sid);
    lh_forget(z, i, ZERR_CONNECTIONLOSS, "learner connection closed");
}

/* ---- Discovery -------------------------------------------------------------------- */

static int send_leaderinfo(zab *z, int64_t sid)
{
    uint8_t data[4];
    wire_put_be32(data, WIRE_QP_PROTOCOL_VERSION);
    zab_lh *lh = lh_of(z, sid);
    lh->state = ZAB_LH_LEADERINFO;
    return zab_qp_send(z, sid, WIRE_QP_LEADERINFO, ZAB_ZXID(z->ld.epoch, 0), data, 4);
}

static void sync_learner(zab *z, int idx);
static void try_establish(zab *z);

/* getEpochToPropose, once a quorum has connected. */
static void maybe_choose_epoch(zab *z)
{
    if (z->ld.phase != ZAB_LP_EPOCH || !quorum_at(z, ZAB_LH_INFO))
        return;
    int64_t epoch = z->accepted_epoch;
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state >= ZAB_LH_INFO && z->ld.lh[i].accepted_epoch > epoch)
            epoch = z->ld.lh[i].accepted_epoch;
    z->ld.epoch = epoch + 1;
    z->ld.last_zxid = ZAB_ZXID(z->ld.epoch, 0); /* zk.setZxid: proposals count from here */
    zab_out_accepted_epoch(z, z->ld.epoch);
    set_phase(z, ZAB_LP_ACKEPOCH);
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state == ZAB_LH_INFO)
            (void)send_leaderinfo(z, z->servers[i].id);
}

/* waitForEpochAck, once a quorum has acked: my current epoch becomes the
 * new one, and every learner that acked is synced. */
static void maybe_epoch_acked(zab *z)
{
    if (z->ld.phase != ZAB_LP_ACKEPOCH || !quorum_at(z, ZAB_LH_ACKEPOCH))
        return;
    zab_out_current_epoch(z, z->ld.epoch);
    set_phase(z, ZAB_LP_NEWLEADER);
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state == ZAB_LH_ACKEPOCH)
            sync_learner(z, (int)i);
    try_establish(z);
}

static int on_learner_info(zab *z, int idx, const wire_qp *q)
{
    wire_learner_info li;
    if (wire_learner_info_decode(q->data, &li) != 0)
        return ZERR_MARSHALLINGERROR;
    bool is_observer = q->type == WIRE_QP_OBSERVERINFO;
    if (li.server_id != z->servers[idx].id || is_observer != z->servers[idx].is_observer) {
        lh_drop(z, idx, ZERR_BADARGUMENTS, "learner info does not match the configuration");
        return 0;
    }
    /* A new connection from the same learner starts it over. */
    lh_forget(z, idx, 0, NULL);
    zab_lh *lh = &z->ld.lh[idx];
    lh->state = ZAB_LH_INFO;
    lh->is_observer = is_observer;
    lh->accepted_epoch = ZAB_EPOCH_OF(q->zxid);
    lh->deadline_ms = z->now_ms + zab_ms_of_ticks(z, z->init_limit + z->sync_limit);
    if (z->ld.phase == ZAB_LP_EPOCH)
        maybe_choose_epoch(z);
    else
        return send_leaderinfo(z, z->servers[idx].id);
    return 0;
}

static int on_ackepoch(zab *z, int idx, const wire_qp *q)
{
    zab_lh *lh = &z->ld.lh[idx];
    int32_t epoch;
    if (lh->state != ZAB_LH_LEADERINFO) {
        lh_drop(z, idx, ZERR_BADARGUMENTS, "ACKEPOCH out of turn");
        return 0;
    }
    if (wire_qp_data_i32(q->data, &epoch) != 0)
        return ZERR_MARSHALLINGERROR;
    lh->current_epoch = epoch;
    lh->last_zxid = q->zxid;
    lh->state = ZAB_LH_ACKEPOCH;
    if (z->ld.phase == ZAB_LP_ACKEPOCH) {
        /* waitForEpochAck: a voter ahead of me means I should not lead. */
        if (!lh->is_observer && (epoch > z->current_epoch ||
                                 (epoch == z->current_epoch && q->zxid > z->last_logged_zxid))) {
            zab_role_fail(z, z->servers[idx].id, ZERR_DATAINCONSISTENCY,
                          "a follower is ahead of the leader");
            return 0;
        }
        maybe_epoch_acked(z);
    } else {
        sync_learner(z, idx);
    }
    return 0;
}

/* ---- Sync (LearnerHandler.syncFollower) ------------------------------------------ */

static int send_entry(zab *z, int64_t sid, bool is_observer, const zab_entry *e)
{
    int rc = zab_qp_send(z, sid, WIRE_QP_PROPOSAL, e->zxid, e->p, (int32_t)e->len);
    if (rc == 0 && e->is_committed)
        rc = zab_qp_send(z, sid, WIRE_QP_COMMIT, e->zxid, NULL, -1);
    return rc;
}

/* The learner's last zxid against my window [log_base_zxid, last]:
 *   equal to my last         empty DIFF;
 *   past my last             TRUNC to my last (it has txns of an old epoch
 *                            that no quorum kept);
 *   in the window, found     DIFF, then what follows it;
 *   in the window, not found TRUNC to my entry before it when the entry
 *                            after it is of a later epoch (it has a txn
 *                            that died with its epoch), then what follows;
 *   before the window        with a host that reads its log on disk, a
 *                            DIFF from there first (zab_disk_diff_done),
 *                            else (or when that cannot) SNAP;
 *   in the window, not mine, SNAP: the host sends the SNAP packet and
 *   no later epoch           a snapshot of its tree, then zab_snap_sent.
 * Then what follows (my uncommitted proposals too, to a follower), then
 * NEWLEADER. */
static void send_rest(zab *z, int idx, size_t from, int rc)
{
    zab_lh *lh = &z->ld.lh[idx];
    int64_t sid = z->servers[idx].id;
    for (size_t i = from; i < z->n_log && rc == 0; i++) {
        if (!z->log[i].is_committed && lh->is_observer)
            break; /* observers learn of those through INFORM */
        rc = send_entry(z, sid, lh->is_observer, &z->log[i]);
    }
    if (rc == 0)
        rc = zab_qp_send(z, sid, WIRE_QP_NEWLEADER, ZAB_ZXID(z->ld.epoch, 0), z->config,
                         z->config_len);
    if (rc != 0) {
        lh_drop(z, idx, rc, "out of memory syncing a learner");
        return;
    }
    lh->state = ZAB_LH_SYNCED;
}

static void need_snap(zab *z, int idx)
{
    if (zab_out_snap(z, z->servers[idx].id) != 0) {
        lh_drop(z, idx, ZERR_NOMEM, "out of memory asking for a snapshot");
        return;
    }
    z->ld.lh[idx].state = ZAB_LH_SNAP;
}

static void sync_learner(zab *z, int idx)
{
    zab_lh *lh = &z->ld.lh[idx];
    int64_t sid = z->servers[idx].id;
    int64_t peer = lh->last_zxid;
    int64_t last = z->last_logged_zxid;
    size_t from = z->n_log; /* entries from here on are sent */
    int rc = 0;
    if (peer == last) {
        rc = zab_qp_send(z, sid, WIRE_QP_DIFF, last, NULL, -1);
    } else if (peer > last) {
        rc = zab_qp_send(z, sid, WIRE_QP_TRUNC, last, NULL, -1);
    } else if (peer >= z->log_base_zxid) {
        size_t i = 0;
        while (i < z->n_log && z->log[i].zxid <= peer)
            i++;
        /* log[i] is the first entry after peer; is peer itself mine? */
        bool is_found = peer == z->log_base_zxid || (i > 0 && z->log[i - 1].zxid == peer);
        if (is_found) {
            rc = zab_qp_send(z, sid, WIRE_QP_DIFF, last, NULL, -1);
        } else if (i < z->n_log && ZAB_EPOCH_OF(z->log[i].zxid) > ZAB_EPOCH_OF(peer)) {
            int64_t prev = i > 0 ? z->log[i - 1].zxid : z->log_base_zxid;
            rc = zab_qp_send(z, sid, WIRE_QP_TRUNC, prev, NULL, -1);
        } else {
            return need_snap(z, idx);
        }
        from = i;
    } else if (z->has_disk_log) {
        /* LearnerHandler's "use txnlog and committedLog": the host's log
         * on disk may reach back to it. */
        if (zab_out_disk_diff(z, sid, peer) != 0) {
            lh_drop(z, idx, ZERR_NOMEM, "out of memory asking for a DIFF from disk");
            return;
        }
        lh->state = ZAB_LH_DISKDIFF;
        return;
    } else {
        return need_snap(z, idx);
    }
    send_rest(z, idx, from, rc);
}

int zab_leader_disk_diff_done(zab *z, int64_t sid, bool sent)
{
    int idx = zab_server_index(z, sid);
    if (idx < 0 || z->ld.lh[idx].state != ZAB_LH_DISKDIFF)
        return ZERR_BADARGUMENTS;
    if (!sent) {
        need_snap(z, idx);
        return 0;
    }
    /* The host sent DIFF and everything up to the window's base. */
    send_rest(z, idx, 0, 0);
    return 0;
}

int zab_leader_snap_sent(zab *z, int64_t sid, int64_t zxid)
{
    int idx = zab_server_index(z, sid);
    if (idx < 0 || z->ld.lh[idx].state != ZAB_LH_SNAP)
        return ZERR_BADARGUMENTS;
    if (zxid < z->log_base_zxid || zxid > z->last_logged_zxid) {
        /* What follows the snapshot must be in my log. */
        lh_drop(z, idx, ZERR_BADARGUMENTS, "snapshot zxid outside the committed log");
        return ZERR_BADARGUMENTS;
    }
    size_t from = 0;
    while (from < z->n_log && z->log[from].zxid <= zxid)
        from++;
    send_rest(z, idx, from, 0);
    return 0;
}

/* waitForNewLeaderAck, once a quorum has acked NEWLEADER. */
static void try_establish(zab *z)
{
    if (z->ld.phase != ZAB_LP_NEWLEADER || !quorum_at(z, ZAB_LH_ACKED))
        return;
    z->ld.phase = ZAB_LP_ESTABLISHED;
    zab_update_election_vote(z, z->ld.epoch);
    z->ld.next_ping_ms = z->now_ms + z->tick_ms / 2;
    z->ld.is_tick_skip = true;
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state == ZAB_LH_ACKED) {
            (void)zab_qp_send(z, z->servers[i].id, WIRE_QP_UPTODATE, -1, NULL, -1);
            z->ld.lh[i].state = ZAB_LH_UPTODATE;
        }
    zab_out_serving(z, true);
}

/* ---- Broadcast -------------------------------------------------------------------- */

/* Commits, in zxid order, every outstanding proposal at the head that a
 * quorum of voters has ACKed (tryToCommit: a later one waits for the
 * earlier). */
static void try_commit(zab *z)
{
    zab_entry *e;
    while ((e = zab_log_first_uncommitted(z)) != NULL && e->acks != NULL) {
        size_t n = 0;
        for (size_t i = 0; i < z->n_servers; i++)
            if (e->acks[i] && !z->servers[i].is_observer)
                n++;
        if (n < zab_quorum(z))
            return;
        int64_t zxid = e->zxid;
        (void)zab_out_commit(z, zxid, e->p, e->len);
        for (size_t i = 0; i < z->n_servers; i++) {
            zab_lh *lh = &z->ld.lh[i];
            if (lh->state < ZAB_LH_SYNCED)
                continue;
            if (lh->is_observer)
                (void)zab_qp_send(z, z->servers[i].id, WIRE_QP_INFORM, zxid, e->p, (int32_t)e->len);
            else
                (void)zab_qp_send(z, z->servers[i].id, WIRE_QP_COMMIT, zxid, NULL, -1);
        }
        zab_log_mark_committed(z, e); /* may free e (window trim) */
    }
}

static void ack(zab *z, int idx, int64_t zxid)
{
    zab_entry *e = zab_log_find(z, zxid);
    if (e == NULL || e->is_committed || e->acks == NULL)
        return; /* late or for an earlier epoch: Leader.processAck ignores it */
    e->acks[idx] = 1;
    try_commit(z);
}

void zab_leader_persisted(zab *z)
{
    int me = zab_server_index(z, z->my_id);
    for (size_t i = z->n_committed_in_log; i < z->n_log; i++)
        if (z->log[i].acks != NULL && z->log[i].zxid <= z->persisted_zxid)
            z->log[i].acks[me] = 1;
    try_commit(z);
}

int zab_leader_propose(zab *z, const uint8_t *txn, size_t len, int64_t *zxid_out)
{
    int64_t zxid = z->ld.last_zxid + 1;
    if (len < 20 || len > INT32_MAX || (int64_t)wire_get_be64(txn + 12) != zxid)
        return ZERR_BADARGUMENTS;
    if (ZAB_COUNTER_OF(zxid) == 0xffffffff) {
        zab_role_fail(z, z->my_id, ZERR_CONNECTIONLOSS,
                      "zxid counter rolled over: forcing a new election and epoch");
        return ZERR_CONNECTIONLOSS;
    }
    int64_t prev_last = z->last_logged_zxid;
    uint8_t *acks = calloc(z->n_servers, 1);
    if (acks == NULL || zab_log_push(z, zxid, txn, len, false) != 0) {
        free(acks);
        return ZERR_NOMEM;
    }
    if (zab_out_append(z, zxid, txn, len) != 0) {
        zab_log_truncate(z, prev_last); /* undo the push */
        free(acks);
        return ZERR_NOMEM;
    }
    z->log[z->n_log - 1].acks = acks;
    z->ld.last_zxid = zxid;
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state >= ZAB_LH_SYNCED && !z->ld.lh[i].is_observer)
            (void)zab_qp_send(z, z->servers[i].id, WIRE_QP_PROPOSAL, zxid, txn, (int32_t)len);
    *zxid_out = zxid;
    return 0;
}

/* ---- Packets and time ---------------------------------------------------------------- */

int step_leading(zab *z, const zab_msg *m)
{
    if (m->type == ZAB_MSG_NOTIFICATION)
        return zab_el_receive(z, m);
    if (m->type != ZAB_MSG_QUORUM)
        return ZERR_BADARGUMENTS;
    int idx = zab_server_index(z, m->from);
    zab_lh *lh = &z->ld.lh[idx];
    const wire_qp *q = &m->qp;
    if (q->type == WIRE_QP_FOLLOWERINFO || q->type == WIRE_QP_OBSERVERINFO)
        return on_learner_info(z, idx, q);
    if (lh->state == ZAB_LH_NONE)
        return ZERR_BADARGUMENTS; /* a packet before LearnerInfo */
    /* Any packet shows the learner alive (tickOfNextAckDeadline). */
    int32_t ticks = lh->state >= ZAB_LH_ACKED ? z->sync_limit : z->init_limit + z->sync_limit;
    lh->deadline_ms = z->now_ms + zab_ms_of_ticks(z, ticks);
    switch (q->type) {
    case WIRE_QP_ACKEPOCH:
        return on_ackepoch(z, idx, q);
    case WIRE_QP_ACK:
        if (q->zxid == ZAB_ZXID(z->ld.epoch, 0)) {
            if (lh->state == ZAB_LH_SYNCED) { /* the NEWLEADER ACK */
                lh->state = ZAB_LH_ACKED;
                if (z->ld.phase == ZAB_LP_ESTABLISHED) {
                    lh->state = ZAB_LH_UPTODATE;
                    return zab_qp_send(z, m->from, WIRE_QP_UPTODATE, -1, NULL, -1);
                }
                try_establish(z);
            }
            return 0; /* or the ACK of UPTODATE */
        }
        if (!lh->is_observer)
            ack(z, idx, q->zxid);
        return 0;
    case WIRE_QP_PING:
        /* Session touches are the host's (the session table is not here). */
        return 0;
    case WIRE_QP_REQUEST:
    case WIRE_QP_REVALIDATE:
        /* zab.h: the host answers these; one here was passed by mistake. */
        zab_out_error(z, m->from, ZERR_UNIMPLEMENTED,
                      "learner REQUEST/REVALIDATE reached zab: they are the host's");
        return ZERR_UNIMPLEMENTED;
    default:
        lh_drop(z, idx, ZERR_BADARGUMENTS, "unexpected packet from a learner");
        return 0;
    }
}

void tick_leading(zab *z)
{
    zab_leader *ld = &z->ld;
    if (ld->phase == ZAB_LP_EPOCH)
        maybe_choose_epoch(z);
    if (ld->phase == ZAB_LP_ACKEPOCH)
        maybe_epoch_acked(z);
    if (ld->phase == ZAB_LP_NEWLEADER)
        try_establish(z);
    if (ld->phase != ZAB_LP_ESTABLISHED) {
        if (z->now_ms >= ld->phase_deadline_ms) {
            static const char *const why[] = {
                [ZAB_LP_EPOCH] = "timeout waiting for a quorum's epochs",
                [ZAB_LP_ACKEPOCH] = "timeout waiting for a quorum's epoch ACKs",
                [ZAB_LP_NEWLEADER] = "timeout waiting for a quorum's NEWLEADER ACKs",
            };
            zab_role_fail(z, z->my_id, ZERR_OPERATIONTIMEOUT, why[ld->phase]);
        }
        return;
    }
    /* Leader.lead's loop: every half tick ping; every other half tick,
     * check that a quorum is still with me. */
    while (z->role == ZAB_ROLE_LEADING && z->now_ms >= ld->next_ping_ms) {
        ld->next_ping_ms += z->tick_ms / 2 > 0 ? z->tick_ms / 2 : 1;
        for (size_t i = 0; i < z->n_servers; i++) {
            zab_lh *lh = &ld->lh[i];
            if (lh->state == ZAB_LH_NONE)
                continue;
            if (z->now_ms >= lh->deadline_ms) {
                lh_drop(z, (int)i, ZERR_OPERATIONTIMEOUT, "learner silent past its limit");
                continue;
            }
            if (lh->state >= ZAB_LH_SYNCED)
                (void)zab_qp_send(z, z->servers[i].id, WIRE_QP_PING, ld->last_zxid, NULL, -1);
        }
        if (!ld->is_tick_skip && !quorum_at(z, ZAB_LH_INFO)) {
            zab_role_fail(z, z->my_id, ZERR_CONNECTIONLOSS,
                          "not sufficient followers synced: stepping down");
            return;
        }
        ld->is_tick_skip = !ld->is_tick_skip;
    }
}
