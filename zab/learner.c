/*
 * learner.c: FOLLOWING and OBSERVING. ZooKeeper 3.8's Learner
 * (connectToLeader, registerWithLeader, syncWithLeader) with Follower's and
 * Observer's processPacket, as phases (enum zab_learner_phase):
 *
 *   CONNECTING  the host connects to the leader's quorum port; on
 *               zab_peer_up: FOLLOWERINFO or OBSERVERINFO.
 *   INFO        LEADERINFO: its epoch, if newer than my accepted one, is
 *               persisted as accepted (an older one ends the role); ACKEPOCH
 *               with my current epoch (-1 when I had accepted it already)
 *               and my last zxid.
 *   ACKEPOCH    DIFF (nothing to drop), TRUNC (drop my log after its zxid),
 *               SNAP (the host installed the snapshot first: my log
 *               restarts at its zxid).
 *   SYNCING     PROPOSAL/COMMIT pairs appended and applied; NEWLEADER.
 *   NEWLEADER   ACKs of proposals and of NEWLEADER wait until zab_persisted
 *               covers my log (Learner syncs its log before the ACK); with
 *               the NEWLEADER ACK my current epoch becomes the new one
 *               (persisted before the ACK leaves).
 *   ACKED       UPTODATE: serving.
 *   SERVING     PROPOSAL (ACKed once durable), COMMIT in order, INFORM for
 *               an observer, PING answered.
 * Nothing heard from the leader within initLimit ticks (syncLimit once
 * NEWLEADER is in), or its connection lost: back to LOOKING.
 */
#include <stdlib.h>
#include <string.h>

#include "zab/zab_int.h"

static void refresh(zab *z)
{
    int32_t ticks = z->fl.phase >= ZAB_FP_NEWLEADER ? z->sync_limit : z->init_limit;
    z->fl.deadline_ms = z->now_ms + zab_ms_of_ticks(z, ticks);
}

void zab_learner_enter(zab *z)
{
    memset(&z->fl, 0, sizeof z->fl);
    z->fl.phase = ZAB_FP_CONNECTING;
    z->fl.leader = z->current_vote.leader;
    z->fl.acked_upto = z->last_logged_zxid; /* what I had needs no ACK */
    z->has_connect = true;
    z->connect_leader = z->fl.leader;
    refresh(z);
}

void zab_learner_leave(zab *z)
{
    if (z->fl.phase == 0)
        return;
    z->has_connect = false;
    (void)zab_out_drop(z, z->fl.leader);
    zab_qsends_clear(z);
    zab_out_serving(z, false);
    z->fl.phase = 0;
}

void zab_learner_peer_up(zab *z, int64_t sid)
{
    if (sid != z->fl.leader || z->fl.phase != ZAB_FP_CONNECTING)
        return;
    wire_learner_info li = {z->my_id, WIRE_QP_PROTOCOL_VERSION, 0, true, true};
    wire_wr w;
    wire_wr_init(&w);
    wire_learner_info_encode(&w, &li);
    int rc = wire_wr_err(&w);
    if (rc == 0)
        rc = zab_qp_send(z, sid, z->is_observer ? WIRE_QP_OBSERVERINFO : WIRE_QP_FOLLOWERINFO,
                         ZAB_ZXID(z->accepted_epoch, 0), w.p, (int32_t)w.len);
    wire_wr_fini(&w);
    if (rc != 0) {
        zab_role_fail(z, sid, rc, "could not register with the leader");
        return;
    }
    z->fl.phase = ZAB_FP_INFO;
    refresh(z);
}

void zab_learner_peer_down(zab *z, int64_t sid)
{
    /* Before peer_up a failed connect is the host's to retry. */
    if (sid == z->fl.leader && z->fl.phase > ZAB_FP_CONNECTING)
        zab_role_fail(z, sid, ZERR_CONNECTIONLOSS, "connection to the leader lost");
}

/* ACKs what is durable, once NEWLEADER has made the new epoch mine. */
static void try_ack(zab *z)
{
    if (z->fl.phase < ZAB_FP_NEWLEADER)
        return;
    /* Every proposal logged in this role is ACKed once durable, committed
     * meanwhile or not, as the SendAckRequestProcessor does. The entries
     * still to ACK are the newest: walk back to the last one ACKed. */
    if (!z->is_observer) {
        size_t i = z->n_log;
        while (i > 0 && z->log[i - 1].zxid > z->fl.acked_upto)
            i--;
        for (; i < z->n_log && z->log[i].zxid <= z->persisted_zxid; i++) {
            if (zab_qp_send(z, z->fl.leader, WIRE_QP_ACK, z->log[i].zxid, NULL, -1) != 0)
                return; /* retried on the next zab_persisted */
            z->fl.acked_upto = z->log[i].zxid;
        }
    }
    if (z->fl.phase == ZAB_FP_NEWLEADER && z->persisted_zxid >= z->last_logged_zxid &&
        zab_qp_send(z, z->fl.leader, WIRE_QP_ACK, ZAB_ZXID(z->fl.new_epoch, 0), NULL, -1) == 0) {
        /* Written, synchronously, before this ACK leaves (zab.h's order). */
        zab_out_current_epoch(z, z->fl.new_epoch);
        zab_update_election_vote(z, z->fl.new_epoch);
        z->fl.phase = ZAB_FP_ACKED;
    }
}

void zab_learner_persisted(zab *z)
{
    try_ack(z);
}

static void on_leaderinfo(zab *z, const wire_qp *q)
{
    int32_t version;
    if (wire_qp_data_i32(q->data, &version) != 0 || version < WIRE_QP_PROTOCOL_VERSION) {
        zab_role_fail(z, z->fl.leader, ZERR_MARSHALLINGERROR, "LEADERINFO unreadable or too old");
        return;
    }
    int64_t epoch = ZAB_EPOCH_OF(q->zxid);
    int32_t acked;
    if (epoch > z->accepted_epoch) {
        acked = (int32_t)z->current_epoch;
        zab_out_accepted_epoch(z, epoch);
    } else if (epoch == z->accepted_epoch) {
        acked = -1;
    } else {
        zab_role_fail(z, z->fl.leader, ZERR_DATAINCONSISTENCY,
                      "leader's epoch is older than my accepted epoch");
        return;
    }
    z->fl.new_epoch = epoch;
    uint8_t data[4];
    wire_put_be32(data, (uint32_t)acked);
    if (zab_qp_send(z, z->fl.leader, WIRE_QP_ACKEPOCH, z->last_logged_zxid, data, 4) != 0) {
        zab_role_fail(z, z->fl.leader, ZERR_NOMEM, "could not answer LEADERINFO");
        return;
    }
    z->fl.phase = ZAB_FP_ACKEPOCH;
}

static int on_txn(zab *z, const wire_qp *q, bool is_committed)
{
    if (q->zxid <= z->last_logged_zxid || q->data.len < 0) {
        zab_role_fail(z, z->fl.leader, ZERR_DATAINCONSISTENCY, "proposal out of zxid order");
        return 0;
    }
    if (zab_log_push(z, q->zxid, q->data.p, (size_t)q->data.len, false) != 0 ||
        zab_out_append(z, q->zxid, q->data.p, (size_t)q->data.len) != 0) {
        zab_role_fail(z, z->fl.leader, ZERR_NOMEM, "out of memory logging a proposal");
        return ZERR_NOMEM;
    }
    if (is_committed) {
        zab_entry *e = &z->log[z->n_log - 1];
        (void)zab_out_commit(z, e->zxid, e->p, e->len);
        zab_log_mark_committed(z, e);
    }
    try_ack(z); /* a txn may be durable at once (an empty one, in tests) */
    return 0;
}

static void on_commit(zab *z, int64_t zxid)
{
    zab_entry *e = zab_log_first_uncommitted(z);
    if (e == NULL || e->zxid != zxid) {
        /* FollowerZooKeeperServer.commit exits here: the leader's order and
         * mine disagree, nothing I apply after this can be trusted. */
        zab_role_fail(z, z->fl.leader, ZERR_DATAINCONSISTENCY, "COMMIT for a zxid not next");
        return;
    }
    (void)zab_out_commit(z, e->zxid, e->p, e->len);
    zab_log_mark_committed(z, e);
}

int step_learning(zab *z, const zab_msg *m)
{
    if (m->type == ZAB_MSG_NOTIFICATION)
        return zab_el_receive(z, m);
    if (m->type != ZAB_MSG_QUORUM || m->from != z->fl.leader || z->fl.phase < ZAB_FP_INFO)
        return ZERR_BADARGUMENTS;
    const wire_qp *q = &m->qp;
    refresh(z);
    int32_t ph = z->fl.phase;
    switch (q->type) {
    case WIRE_QP_LEADERINFO:
        if (ph != ZAB_FP_INFO)
            break;
        on_leaderinfo(z, q);
        return 0;
    case WIRE_QP_DIFF:
    case WIRE_QP_TRUNC:
        if (ph != ZAB_FP_ACKEPOCH)
            break;
        if (q->type == WIRE_QP_TRUNC) {
            if (q->zxid > z->last_logged_zxid) {
                zab_role_fail(z, z->fl.leader, ZERR_DATAINCONSISTENCY, "TRUNC past my log");
                return 0;
            }
            zab_log_truncate(z, q->zxid);
            if (z->fl.acked_upto > q->zxid)
                z->fl.acked_upto = q->zxid;
            z->has_truncate = true;
            z->truncate_zxid = q->zxid;
        }
        z->fl.phase = ZAB_FP_SYNCING;
        return 0;
    case WIRE_QP_SNAP:
        if (ph != ZAB_FP_ACKEPOCH)
            break;
        /* zab.h: the host loaded the snapshot that followed this packet
         * and made it durable before stepping it; my log is that
         * snapshot now (Learner.syncWithLeader's SNAP). */
        zab_log_reset(z, q->zxid);
        z->fl.acked_upto = q->zxid;
        z->fl.phase = ZAB_FP_SYNCING;
        return 0;
    case WIRE_QP_PROPOSAL:
        if (ph < ZAB_FP_SYNCING)
            break;
        return on_txn(z, q, false);
    case WIRE_QP_INFORM:
        if (ph < ZAB_FP_SYNCING || !z->is_observer)
            break;
        return on_txn(z, q, true);
    case WIRE_QP_COMMIT:
        if (ph < ZAB_FP_SYNCING)
            break;
        on_commit(z, q->zxid);
        return 0;
    case WIRE_QP_NEWLEADER:
        if (ph != ZAB_FP_SYNCING)
            break;
        if (ZAB_EPOCH_OF(q->zxid) != z->fl.new_epoch) {
            zab_role_fail(z, z->fl.leader, ZERR_DATAINCONSISTENCY, "NEWLEADER of another epoch");
            return 0;
        }
        /* The new current epoch is written with the NEWLEADER ACK, once
         * the synced txns are durable (try_ack), not here: a crash between
         * the two would leave a server whose epoch claims a log it does
         * not hold, and votes compare epochs first (ZOOKEEPER-4643; tests/
         * sim crash seed 100421 with a window of 8). */
        z->fl.phase = ZAB_FP_NEWLEADER;
        refresh(z);
        try_ack(z);
        return 0;
    case WIRE_QP_UPTODATE:
        if (ph != ZAB_FP_ACKED)
            break;
        z->fl.phase = ZAB_FP_SERVING;
        zab_out_serving(z, true);
        /* Learner.syncWithLeader ACKs UPTODATE with the epoch's zxid. */
        return zab_qp_send(z, z->fl.leader, WIRE_QP_ACK, ZAB_ZXID(z->fl.new_epoch, 0), NULL, -1);
    case WIRE_QP_PING:
        if (ph < ZAB_FP_SYNCING)
            break;
        /* Learner.ping: the sessions the host touched since the last one
         * (zab_set_ping_data), spent here. */
        {
            static const uint8_t none[1];
            size_t n = z->ping_len;
            z->ping_len = 0;
            return zab_qp_send(z, z->fl.leader, WIRE_QP_PING, q->zxid, n > 0 ? z->ping_data : none,
                               (int32_t)n);
        }
    case WIRE_QP_SYNC:
    case WIRE_QP_REVALIDATE:
        /* zab.h: the host answers these; one here was passed by mistake. */
        zab_out_error(z, z->fl.leader, ZERR_UNIMPLEMENTED,
                      "SYNC/REVALIDATE answers reached zab: they are the host's");
        return ZERR_UNIMPLEMENTED;
    default:
        break;
    }
    zab_role_fail(z, z->fl.leader, ZERR_BADARGUMENTS, "unexpected packet from the leader");
    return 0;
}

void tick_learning(zab *z)
{
    if (z->fl.phase != 0 && z->now_ms >= z->fl.deadline_ms)
        zab_role_fail(z, z->fl.leader, ZERR_OPERATIONTIMEOUT,
                      z->fl.phase == ZAB_FP_CONNECTING ? "could not reach the leader in initLimit"
                                                       : "leader silent past the limit");
}
