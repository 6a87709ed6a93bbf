/*
 * ensemble.c: an ensemble member, driven from the loop: builds zab from the
 * configuration, the persisted epochs and the recovered log, feeds it the
 * notifications server/peer.c reads, the quorum packets server/quorum.c
 * reads, the log's durability and a 50 ms tick, and carries out each batch
 * in the order zab.h gives (truncate, epochs synced, appends to the log
 * thread, drops, connect, packets, commits applied, role and serving).
 *
 * Epochs. ZooKeeper's currentEpoch and acceptedEpoch files are storage
 * meta values of those names ("currentEpoch", "acceptedEpoch"), written
 * with a synced put before any packet of the batch that changed them
 * leaves. Absent (a fresh or a standalone data dir), both start as the
 * last logged zxid's epoch, as QuorumPeer.loadDataBase does.
 *
 * Commits are applied with srv_replay_txn, the function recovery replays
 * the log with, so the tree means the same after sync as after a restart.
 *
 * Clients. A synced member serves them (srv_is_serving). The leader preps
 * and applies a write at once, as standalone, but proposes it through zab
 * instead of logging it, and what the write releases (its reply, watch
 * events, later reads of the session) waits for its COMMIT instead of its
 * fsync: the release watermark (srv.release_zxid) is the last commit. A
 * leader that loses its quorum closes every client connection, so nothing
 * uncommitted is ever seen; its tree keeps the uncommitted tail, as the log
 * does, and the next sync truncates or commits it. A learner applies only
 * commits, answers its own clients' forwarded requests from them
 * (forward.c) and releases everything at once. The leader runs learners'
 * REQUESTs (srv_dispatch_remote on a conn stand-in), answers their syncs
 * with SYNC once everything proposed before is committed, and takes the
 * session touches in their PINGs; it alone expires sessions, and a new
 * leader touches every session first. A TRUNC cuts the log
 * (stor_truncate_after) and rebuilds the tree by recovery (truncate_log).
 */
#include "server/peer.h"
#include "server/srv_int.h"
#include "zab/zab.h"

#include <stdlib.h>
#include <string.h>

enum { ZAB_TICK_MS = 50, WINDOW_MAX = 500 };

/* A learner's sync, answered once everything proposed before it commits. */
typedef struct pending_sync {
    int64_t sid;
    int64_t zxid;
} pending_sync;

static const char META_CURRENT[] = "currentEpoch", META_ACCEPTED[] = "acceptedEpoch";

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
};

static const char *role_name(int32_t role)
{
    switch (role) {
    case ZAB_ROLE_LOOKING:
        return "LOOKING";
    case ZAB_ROLE_FOLLOWING:
        return "FOLLOWING";
    case ZAB_ROLE_LEADING:
        return "LEADING";
    case ZAB_ROLE_OBSERVING:
        return "OBSERVING";
    }
    return "?";
}

/* ServerStats.getServerState's words, for the log and later for mntr. */
const char *srv_ens_state(const srv *s)
{
    if (s->ens == NULL)
        return "standalone";
    switch (s->ens->role) {
    case ZAB_ROLE_FOLLOWING:
        return "follower";
    case ZAB_ROLE_LEADING:
        return "leader";
    case ZAB_ROLE_OBSERVING:
        return "observer";
    }
    return "looking";
}

bool srv_is_serving(const srv *s)
{
    if (s->ens == NULL)
        return !s->cfg.quorum.is_ensemble;
    return s->ens->is_synced;
}

bool srv_owns_writes(const srv *s)
{
    if (s->ens == NULL)
        return !s->cfg.quorum.is_ensemble;
    return s->ens->is_synced && s->ens->role == ZAB_ROLE_LEADING;
}

bool srv_ens_is_learner(const srv *s)
{
    return s->ens != NULL && s->ens->is_synced && s->ens->role != ZAB_ROLE_LEADING;
}

const char *srv_ens_not_serving_why(const srv *s)
{
    (void)s;
    return "not synced with a leader yet";
}

int64_t srv_ens_next_zxid(const srv *s)
{
    return s->ens != NULL && s->ens->is_synced ? zab_next_zxid(s->ens->z) : -1;
}

int srv_ens_propose(srv *s, const uint8_t *txn, size_t len, int64_t zxid)
{
    srv_ens *e = s->ens;
    int64_t got = -1;
    int rc = e->is_synced ? zab_propose(e->z, txn, len, &got) : ZERR_NOTREADONLY;
    if (rc != 0) {
        srv_log(SRV_LOG_WARN, "cannot propose txn 0x%" PRIx64 ": %s", (uint64_t)zxid,
                wire_err_name(rc));
        event_active(e->drain_ev, EV_READ, 0); /* a step-down is in the batch */
        return rc;
    }
    ZK_ASSERT(got == zxid, "zab proposed 0x%" PRIx64 " for 0x%" PRIx64, (uint64_t)got,
              (uint64_t)zxid);
    /* The append and the PROPOSALs leave after this iteration's requests,
     * together. */
    event_active(e->drain_ev, EV_READ, 0);
    return 0;
}

void srv_ens_send_leader(srv *s, const uint8_t *p, size_t len)
{
    srv_ens *e = s->ens;
    srv_qport_send(e->qport, e->leader, p, len);
}

/* Every client connection goes when the member stops serving, as
 * ZooKeeper's server shuts down with its role: nothing the old role held
 * back (uncommitted on a leader) may leave, and clients reconnect to a
 * member that serves. */
static void close_clients(srv_ens *e, const char *why)
{
    srv *s = e->s;
    size_t n = 0;
    conn *next;
    for (conn *c = s->conns; c != NULL; c = next) {
        next = c->next;
        srv_conn_close(c, why);
        n++;
    }
    srv_fwd_reset(s);
    e->n_syncs = 0;
    if (n > 0)
        srv_log(SRV_LOG_INFO, "closed %zu client connections: %s", n, why);
}

static int collect_session(void *arg, int64_t id, int32_t timeout_ms)
{
    wire_wr *w = arg;
    wire_wr_i64(w, id);
    return 0;
}

/* ZooKeeper's new leader tracks every session afresh (its session tracker
 * is rebuilt from the tree): each gets a full timeout to be heard from. */
static void touch_all_sessions(srv_ens *e)
{
    srv *s = e->s;
    wire_wr ids;
    wire_wr_init(&ids);
    sess_foreach(s->sessions, collect_session, &ids);
    int64_t now = srv_now_ms();
    size_t n = ids.err == 0 ? ids.len / 8 : 0;
    for (size_t i = 0; i < n; i++)
        sess_touch(s->sessions, (int64_t)wire_get_be64(ids.p + 8 * i), now);
    wire_wr_fini(&ids);
    srv_log(SRV_LOG_INFO, "leader: tracking %zu sessions, each due a full timeout from now", n);
}

/* What held output may leave: the leader's last commit; a learner holds
 * nothing back (it applies only commits). */
static void update_release(srv_ens *e)
{
    srv *s = e->s;
    int64_t r = e->role == ZAB_ROLE_LEADING ? zab_last_committed(e->z) : INT64_MAX;
    if (r > s->release_zxid || e->role != ZAB_ROLE_LEADING) {
        s->release_zxid = r;
        srv_outq_drain(s);
    }
}

/* why: the reason zab gave with the change (the batch's last error), or NULL. */
static void role_changed(srv_ens *e, const zab_role_change *rc, const char *why)
{
    int64_t now = srv_now_ms();
    const zab_vote *v = &rc->vote;
    int32_t was = e->role;
    e->role = rc->role;
    e->leader = v->leader;
    if (rc->role == ZAB_ROLE_LOOKING) {
        if (e->is_synced) {
            e->is_synced = false;
            close_clients(e, "the role ended");
        }
        e->s->release_zxid = e->s->last_zxid;
        /* zab.h: the host closes every quorum connection on LOOKING. */
        srv_qport_set_leading(e->qport, false);
        srv_qport_close_all(e->qport, "role ended");
        e->looking_since_ms = now;
        srv_peers_set_resend(e->peers, true);
        srv_log(SRV_LOG_INFO,
                "LOOKING: election epoch 0x%" PRIx64 ", my vote: leader %" PRId64
                ", zxid 0x%" PRIx64 ", peer epoch 0x%" PRIx64 " (was %s%s%s)",
                (uint64_t)v->election_epoch, v->leader, (uint64_t)v->zxid, (uint64_t)v->peer_epoch,
                role_name(was), why != NULL ? ": " : "", why != NULL ? why : "");
        return;
    }
    /* Out of the election: stale LOOKING votes must not reach a peer that
     * connects later; a LOOKING peer is answered with the decided vote. */
    srv_peers_drop_pending(e->peers);
    srv_peers_set_resend(e->peers, false);
    srv_qport_set_leading(e->qport, rc->role == ZAB_ROLE_LEADING);
    srv_log(SRV_LOG_INFO,
            "%s - LEADER ELECTION TOOK - %" PRId64 " MS: leader %" PRId64 ", zxid 0x%" PRIx64
            ", election epoch 0x%" PRIx64 ", peer epoch 0x%" PRIx64,
            role_name(rc->role), now - e->looking_since_ms, v->leader, (uint64_t)v->zxid,
            (uint64_t)v->election_epoch, (uint64_t)v->peer_epoch);
}

static void serving_changed(srv_ens *e, bool on)
{
    e->is_synced = on;
    if (!on) {
        srv_log(SRV_LOG_INFO, "no longer synced (%s)", role_name(e->role));
        close_clients(e, "no longer synced with a leader");
        e->s->release_zxid = e->s->last_zxid;
        return;
    }
    if (e->role == ZAB_ROLE_LEADING) {
        e->s->release_zxid = zab_last_committed(e->z);
        touch_all_sessions(e);
    }
    update_release(e);
    if (e->role == ZAB_ROLE_LEADING)
        srv_log(SRV_LOG_INFO,
                "established as leader of epoch 0x%" PRIx64 " with %d synced followers "
                "(learner connections), last zxid 0x%" PRIx64,
                (uint64_t)zab_current_epoch(e->z), srv_qport_n_named(e->qport),
                (uint64_t)zab_last_zxid(e->z));
    else
        srv_log(SRV_LOG_INFO,
                "synced with leader %" PRId64 " at zxid 0x%" PRIx64 ", epoch 0x%" PRIx64 " (%s)",
                e->leader, (uint64_t)zab_last_zxid(e->z), (uint64_t)zab_current_epoch(e->z),
                role_name(e->role));
    srv_log(SRV_LOG_INFO, "serving clients as %s", srv_ens_state(e->s));
}

static void fatal(srv_ens *e, const char *what, int rc)
{
    srv_log(SRV_LOG_ERROR, "%s: %s; shutting down", what, wire_err_name(rc));
    e->s->log_failed = true;
    srv_stop(e->s);
}

/* zab.h's step 1, a TRUNC: the log loses its txns above zxid, then the
 * tree is rebuilt from snapshot + log as at a restart (ZooKeeper's Learner:
 * ZKDatabase.truncateLog, which reloads the database). Snapshots newer than
 * zxid are set aside by storage first, or recovery would load one. The
 * session table is rebuilt too, and no watch or client is touched: an
 * ensemble member serves none yet (srv_is_serving), so the tree and the
 * sessions recovery restores are all its state. false: the server stops, as
 * ZooKeeper exits when its truncate fails (zab counts the batch as done once
 * advanced, so going on would leave its log and ours apart). */
static bool truncate_log(srv_ens *e, int64_t zxid)
{
    srv *s = e->s;
    char err[512] = "";
    if (zxid >= e->last_logged && stor_snapshot_newest(s->st) <= (uint64_t)zxid) {
        srv_log(SRV_LOG_INFO, "TRUNC to 0x%" PRIx64 ": my log ends there already", (uint64_t)zxid);
        return true;
    }
    int64_t t0 = srv_now_ms();
    uint64_t snap_was = stor_snapshot_newest(s->st);
    int rc = stor_truncate_after(s->st, (uint64_t)zxid, err, sizeof err);
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "leader %" PRId64 " sent TRUNC to 0x%" PRIx64 ": %s", e->leader,
                (uint64_t)zxid, err);
        fatal(e, "cannot truncate the txn log", rc);
        return false;
    }
    if (snap_was > (uint64_t)zxid)
        srv_log(SRV_LOG_WARN,
                "TRUNC to 0x%" PRIx64
                ": set aside the snapshots newer than it (newest was 0x%" PRIx64
                ", renamed truncated-snapshot.<zxid> in %s/version-2)",
                (uint64_t)zxid, snap_was, s->cfg.data_dir);
    /* A durability report the log thread posted before the cut must not
     * reach zab as covering txns it no longer has. The thread is idle now. */
    uint64_t top = stor_last_zxid(s->st);
    pthread_mutex_lock(&s->durable_mu);
    s->durable_posted = (int64_t)top;
    pthread_mutex_unlock(&s->durable_mu);
    int64_t was_logged = e->last_logged;
    e->last_logged = (int64_t)top;
    if ((rc = srv_rebuild(s, err, sizeof err)) != 0) {
        srv_log(SRV_LOG_ERROR, "rebuilding the tree after TRUNC to 0x%" PRIx64 ": %s",
                (uint64_t)zxid, err);
        fatal(e, "cannot rebuild the tree after TRUNC", rc);
        return false;
    }
    srv_ens_config_node_set(s);
    if (s->last_zxid > zxid) {
        /* Only ZooKeeper's own log files (a directory taken over from it)
         * can hold txns the cut did not reach: they are only ever read. */
        srv_log(SRV_LOG_ERROR,
                "after TRUNC to 0x%" PRIx64 " recovery still reaches 0x%" PRIx64
                " (ZooKeeper's log.* files in %s/version-2 hold txns past the cut)",
                (uint64_t)zxid, (uint64_t)s->last_zxid,
                s->cfg.data_log_dir ? s->cfg.data_log_dir : s->cfg.data_dir);
        fatal(e, "cannot truncate ZooKeeper's log files", ZERR_UNIMPLEMENTED);
        return false;
    }
    srv_log(SRV_LOG_INFO,
            "TRUNC to 0x%" PRIx64 " from leader %" PRId64 ": log cut from 0x%" PRIx64
            " to 0x%" PRIx64 ", tree rebuilt to 0x%" PRIx64 " (%zu znodes) in %" PRId64 " ms",
            (uint64_t)zxid, e->leader, (uint64_t)was_logged, top, (uint64_t)s->last_zxid,
            zt_node_count(s->tree), srv_now_ms() - t0);
    return true;
}

/* zab.h's steps 1-3. false: the batch's packets must not leave. */
static bool persist(srv_ens *e, const zab_batch *b)
{
    srv *s = e->s;
    int rc;
    if (b->has_truncate && !truncate_log(e, b->truncate_zxid))
        return false;
    if (b->has_accepted_epoch &&
        (rc = stor_meta_put(s->st, META_ACCEPTED, (uint64_t)b->accepted_epoch)) != 0) {
        fatal(e, "cannot persist acceptedEpoch", rc);
        return false;
    }
    if (b->has_current_epoch &&
        (rc = stor_meta_put(s->st, META_CURRENT, (uint64_t)b->current_epoch)) != 0) {
        fatal(e, "cannot persist currentEpoch", rc);
        return false;
    }
    if (b->has_accepted_epoch || b->has_current_epoch)
        srv_log(SRV_LOG_INFO, "epochs persisted: accepted 0x%" PRIx64 ", current 0x%" PRIx64,
                (uint64_t)zab_accepted_epoch(e->z), (uint64_t)zab_current_epoch(e->z));
    for (size_t i = 0; i < b->n_appends; i++) {
        const zab_txn *t = &b->appends[i];
        if ((rc = stor_append(s->st, (uint64_t)t->zxid, t->p, t->len)) != 0) {
            fatal(e, "cannot log a txn from the leader", rc);
            return false;
        }
        e->last_logged = t->zxid;
    }
    if (b->n_appends > 0 && !s->is_submit_pending) {
        /* The same hand-over as a standalone write's (commit.c). */
        s->is_submit_pending = true;
        event_active(s->submit_ev, EV_READ, 0);
    }
    return true;
}

/* A role ended: the vote of the election that follows counts every txn
 * logged, so they must all be durable before it goes out (zab.h). The
 * loop waits on the log thread here, once per role change, as ZooKeeper's
 * SyncRequestProcessor flushes on shutdown. */
static bool flush_log(srv_ens *e)
{
    srv *s = e->s;
    stor_submit(s->st);
    int rc = stor_flush(s->st);
    if (rc != 0) {
        fatal(e, "cannot flush the txn log as the role ends", rc);
        return false;
    }
    return true;
}

static void send_sync(srv_ens *e, int64_t sid)
{
    wire_qp qp = {WIRE_QP_SYNC, 0, {NULL, -1}, NULL, 0};
    wire_wr_reset(&e->qbuf);
    wire_qp_encode(&e->qbuf, &qp);
    if (e->qbuf.err == 0)
        srv_qport_send(e->qport, sid, e->qbuf.p, e->qbuf.len);
}

/* Learners' syncs whose proposals have all committed: their SYNC follows
 * the COMMITs just sent on the same connection. */
static void flush_syncs(srv_ens *e)
{
    int64_t committed = zab_last_committed(e->z);
    size_t i = 0;
    while (i < e->n_syncs && e->syncs[i].zxid <= committed)
        send_sync(e, e->syncs[i++].sid);
    if (i > 0) {
        memmove(e->syncs, e->syncs + i, (e->n_syncs - i) * sizeof *e->syncs);
        e->n_syncs -= i;
    }
}

/* The leader's TxnDigest (the tree digest after the txn) against mine:
 * equal trees outside /zookeeper/ have equal digests, so a mismatch means
 * the trees went apart. Logged, as ZooKeeper's DataTree.compareDigest
 * does, and counted. */
static void check_digest(srv_ens *e, const zab_txn *t)
{
    bool has = false;
    int32_t version = 0;
    int64_t digest = 0;
    if (wire_txn_entry_digest(t->p, t->len, &has, &version, &digest) != 0 || !has ||
        version != ZT_DIGEST_VERSION)
        return;
    int64_t mine = zt_digest(e->s->tree);
    if (mine != digest) {
        e->digest_mismatches++;
        srv_log(SRV_LOG_ERROR,
                "digests are not matching at txn 0x%" PRIx64 ": leader's 0x%" PRIx64
                ", mine 0x%" PRIx64 " (%" PRId64 " so far)",
                (uint64_t)t->zxid, (uint64_t)digest, (uint64_t)mine, e->digest_mismatches);
    }
}

/* Commits in zxid order. The leader applied its own proposals when it made
 * them, and every member's tree already holds what its log held when the
 * role began (recovery, or the sync that followed): those are skipped. */
static void apply_commits(srv_ens *e, const zab_batch *b)
{
    srv *s = e->s;
    size_t applied = 0;
    for (size_t i = 0; i < b->n_commits; i++) {
        const zab_txn *t = &b->commits[i];
        if (t->zxid <= s->last_zxid)
            continue;
        wire_txn_hdr h;
        int rc = srv_apply_commit(s, t->p, t->len, &h);
        if (rc != 0) {
            srv_log(SRV_LOG_ERROR, "committed txn 0x%" PRIx64 " does not apply: %s",
                    (uint64_t)t->zxid, wire_err_name(rc));
            continue;
        }
        applied++;
        check_digest(e, t);
        if (e->is_synced)
            srv_fwd_committed(s, &h);
        s->txns_since_snap++;
        srv_maybe_snapshot(s);
    }
    if (applied > 0 && !e->is_synced)
        srv_log(SRV_LOG_INFO, "applied %zu committed txns, tree at 0x%" PRIx64, applied,
                (uint64_t)s->last_zxid);
    if (b->n_commits > 0 && e->role == ZAB_ROLE_LEADING) {
        update_release(e);
        flush_syncs(e);
    }
}

static void send_all(srv_ens *e, const zab_batch *b)
{
    srv *s = e->s;
    for (size_t i = 0; i < b->n_drops; i++) {
        srv_qport_close(e->qport, b->drops[i], "dropped by zab");
    }
    if (b->has_connect)
        srv_qport_connect(e->qport, b->connect_leader,
                          srv_now_ms() + (int64_t)s->cfg.quorum.init_limit * s->cfg.tick_time_ms);
    for (size_t i = 0; i < b->n_qsends; i++)
        srv_qport_send(e->qport, b->qsends[i].to, b->qsends[i].p, b->qsends[i].len);
    for (size_t i = 0; i < b->n_sends; i++) {
        wire_wr_reset(&e->frame);
        wire_el_notif_encode(&e->frame, &b->sends[i].notif);
        if (e->frame.err != 0) {
            srv_log(SRV_LOG_WARN, "out of memory encoding a notification");
            wire_wr_fini(&e->frame);
            wire_wr_init(&e->frame);
            continue;
        }
        srv_peers_send(e->peers, b->sends[i].to, e->frame.p, e->frame.len);
    }
}

static void want_snaps(srv_ens *e, const zab_batch *b);
static void try_snaps(srv_ens *e);

static void drain(srv_ens *e)
{
    zab_batch b;
    /* A callback below (a connection closing) can come back here: the
     * outer loop picks up what it queued. */
    if (e->is_draining)
        return;
    e->is_draining = true;
    /* Each round retires what it handled; zab emits a bounded amount per
     * input, so this ends. */
    while (zab_ready(e->z, &b)) {
        bool ok = persist(e, &b);
        if (ok && b.has_role_change && b.role_change.role == ZAB_ROLE_LOOKING)
            ok = flush_log(e);
        if (ok)
            send_all(e, &b);
        if (ok)
            apply_commits(e, &b);
        if (b.has_serving)
            serving_changed(e, b.is_serving);
        if (b.has_role_change)
            role_changed(e, &b.role_change, b.n_errors > 0 ? b.errors[b.n_errors - 1].what : NULL);
        for (size_t i = 0; i < b.n_errors; i++)
            srv_log(SRV_LOG_WARN, "zab (%s): server %" PRId64 ": %s (%s)", role_name(e->role),
                    b.errors[i].peer, b.errors[i].what, wire_err_name(b.errors[i].code));
        if (ok)
            want_snaps(e, &b);
        zab_advance(e->z, &b);
        for (size_t i = 0; i < e->n_downs; i++)
            zab_peer_down(e->z, e->downs[i]);
        e->n_downs = 0;
        try_snaps(e); /* may give zab more to send: the loop goes on */
        if (e->s->log_failed)
            break;
    }
    e->is_draining = false;
}

static void on_notif(void *arg, int64_t from, const wire_el_notif *n)
{
    srv_ens *e = arg;
    zab_msg m;
    memset(&m, 0, sizeof m);
    m.from = from;
    m.type = ZAB_MSG_NOTIFICATION;
    m.notif = *n;
    int rc = zab_step(e->z, &m);
    if (rc != 0)
        srv_log(SRV_LOG_WARN, "notification from server %" PRId64 " not taken: %s", from,
                wire_err_name(rc));
    drain(e);
}

static void on_q_up(void *arg, int64_t sid)
{
    srv_ens *e = arg;
    zab_peer_up(e->z, sid);
    drain(e);
}

/* A learner's REQUEST on the leader: the request runs here for a stand-in
 * connection that carries the session and the auth ids the packet holds;
 * its reply is the learner's to make from the commit. A sync waits for
 * everything proposed so far. */
static void run_request(srv_ens *e, int64_t from, const wire_qp *qp)
{
    srv *s = e->s;
    wire_qp_request rq;
    if (!e->is_synced || e->role != ZAB_ROLE_LEADING) {
        srv_log(SRV_LOG_WARN, "REQUEST from server %" PRId64 " while not serving: dropped", from);
        return;
    }
    if (wire_qp_request_decode(qp->data, &rq) != 0) {
        srv_log(SRV_LOG_WARN, "malformed REQUEST from server %" PRId64 ": closing", from);
        srv_qport_close(e->qport, from, NULL);
        zab_peer_down(e->z, from);
        return;
    }
    if (s->is_paused) {
        /* A SNAP is waiting for my proposals to commit: nothing new is
         * proposed until it has left (try_snaps replays these). */
        size_t at = e->held_reqs.len;
        wire_wr_i64(&e->held_reqs, from);
        wire_wr_i32(&e->held_reqs, 0);
        wire_qp_encode(&e->held_reqs, qp);
        if (e->held_reqs.err == 0)
            wire_wr_patch_i32(&e->held_reqs, at + 8, (int32_t)(e->held_reqs.len - at - 12));
        else
            srv_log(SRV_LOG_ERROR, "out of memory holding a REQUEST of server %" PRId64, from);
        return;
    }
    if (rq.type == WIRE_OP_SYNC) {
        if (zab_last_committed(e->z) >= s->last_zxid) {
            send_sync(e, from);
            return;
        }
        if (e->n_syncs == e->cap_syncs) {
            size_t cap = e->cap_syncs ? 2 * e->cap_syncs : 16;
            pending_sync *v = realloc(e->syncs, cap * sizeof *v);
            if (v == NULL) {
                srv_log(SRV_LOG_ERROR, "out of memory queueing a sync of server %" PRId64, from);
                return;
            }
            e->syncs = v;
            e->cap_syncs = cap;
        }
        e->syncs[e->n_syncs++] = (pending_sync){from, s->last_zxid};
        return;
    }
    wire_acl *ids = qp->n_auth > 0 ? calloc((size_t)qp->n_auth, sizeof *ids) : NULL;
    conn rc;
    memset(&rc, 0, sizeof rc);
    rc.s = s;
    rc.fd = -1;
    rc.is_remote = true;
    rc.handshaken = true;
    rc.session_id = rq.session_id;
    rc.timeout_ms = sess_timeout_ms(s->sessions, rq.session_id);
    rc.port = (int)from;
    snprintf(rc.addr, sizeof rc.addr, "server %" PRId64, from);
    for (int32_t i = 0; ids != NULL && i < qp->n_auth; i++) {
        if (wire_str_eqc(qp->auth[i].scheme, "super"))
            rc.is_super = true;
        else
            ids[rc.n_auth++] = (wire_acl){0, qp->auth[i].scheme, qp->auth[i].id};
    }
    rc.auth = ids;
    rc.req_op = rq.type;
    rc.req_xid = rq.cxid;
    const uint8_t *rec = rq.record.len > 0 ? rq.record.p : (const uint8_t *)"";
    srv_dispatch_remote(&rc, rq.cxid, rq.type, rec, rq.record.len > 0 ? (size_t)rq.record.len : 0);
    free(ids);
}

/* REVALIDATE on the leader: is the session alive? It is touched with the
 * timeout the learner gives (LearnerHandler -> Leader.zk.checkIfValidGlobalSession
 * does touchSession). */
static void revalidate(srv_ens *e, int64_t from, const wire_qp *qp)
{
    srv *s = e->s;
    int64_t sid;
    int32_t timeout;
    if (wire_qp_revalidate_req_decode(qp->data, &sid, &timeout) != 0) {
        srv_log(SRV_LOG_WARN, "malformed REVALIDATE from server %" PRId64 ": closing", from);
        srv_qport_close(e->qport, from, NULL);
        zab_peer_down(e->z, from);
        return;
    }
    bool valid = e->is_synced && sess_exists(s->sessions, sid) &&
                 !sess_is_closing(s->sessions, sid) &&
                 sess_touch_for(s->sessions, sid, srv_now_ms(), timeout) == 0;
    wire_wr data;
    wire_wr_init(&data);
    wire_qp_revalidate_resp_encode(&data, sid, valid);
    wire_qp ans = {WIRE_QP_REVALIDATE, qp->zxid, {data.p, (int32_t)data.len}, NULL, 0};
    wire_wr_reset(&e->qbuf);
    wire_qp_encode(&e->qbuf, &ans);
    if (data.err == 0 && e->qbuf.err == 0)
        srv_qport_send(e->qport, from, e->qbuf.p, e->qbuf.len);
    wire_wr_fini(&data);
    srv_log(SRV_LOG_INFO, "revalidated session 0x%016" PRIx64 " for server %" PRId64 ": %s",
            (uint64_t)sid, from, valid ? "valid" : "invalid");
}

/* The session touches in a learner's PING (LearnerHandler: touch each). */
static void take_touches(srv_ens *e, int64_t from, const wire_qp *qp)
{
    srv *s = e->s;
    int n = qp->data.len > 0 ? wire_qp_touch_count(qp->data) : 0;
    if (n < 0) {
        srv_log(SRV_LOG_WARN, "PING from server %" PRId64 " with a torn touch list", from);
        return;
    }
    int64_t now = srv_now_ms();
    for (int i = 0; i < n; i++) {
        wire_qp_touch t = wire_qp_touch_get(qp->data, i);
        if (sess_touch(s->sessions, t.session_id, now) != 0)
            srv_log(SRV_LOG_DEBUG,
                    "PING from server %" PRId64 " touches unknown session 0x%016" PRIx64, from,
                    (uint64_t)t.session_id);
    }
}

static int emit_wr(void *arg, const void *p, size_t n)
{
    wire_wr *w = arg;
    wire_wr_raw(w, p, n);
    return w->err;
}

/* SNAP to learner sid: the packet, the DataTree stream of my tree and the
 * signature, as ZooKeeper's LearnerHandler writes them, then zab sends
 * what follows and NEWLEADER. My tree is exactly my last zxid (try_snaps
 * waited for every proposal to commit). */
static void send_snapshot(srv_ens *e, int64_t sid)
{
    srv *s = e->s;
    int64_t t0 = srv_now_ms();
    wire_wr w;
    wire_wr_init(&w);
    wire_qp qp = {WIRE_QP_SNAP, s->last_zxid, {NULL, -1}, NULL, 0};
    wire_qp_encode(&w, &qp);
    int rc = w.err != 0 ? w.err : srv_snapshot_stream(s, emit_wr, &w);
    wire_wr_cstr(&w, "BenWasHere");
    if (rc != 0 || w.err != 0) {
        srv_log(SRV_LOG_ERROR, "cannot serialise a snapshot for server %" PRId64 ": %s", sid,
                wire_err_name(rc != 0 ? rc : w.err));
        srv_qport_close(e->qport, sid, NULL);
        zab_peer_down(e->z, sid);
    } else {
        srv_qport_send_big(e->qport, sid, w.p, w.len);
        rc = zab_snap_sent(e->z, sid, s->last_zxid);
        srv_log(SRV_LOG_INFO,
                "SNAP to server %" PRId64 ": %zu znodes, %zu bytes at 0x%" PRIx64
                " serialised in %" PRId64 " ms%s",
                sid, zt_node_count(s->tree), w.len, (uint64_t)s->last_zxid, srv_now_ms() - t0,
                rc != 0 ? " (zab no longer wanted it)" : "");
    }
    wire_wr_fini(&w);
}

static void set_paused(srv_ens *e, bool on)
{
    srv *s = e->s;
    if (s->is_paused == on)
        return;
    s->is_paused = on;
    for (conn *c = s->conns; c != NULL; c = c->next)
        srv_conn_update_read(c);
    if (on)
        srv_log(SRV_LOG_INFO,
                "SNAP waits for proposals up to 0x%" PRIx64 " to commit: not reading clients",
                (uint64_t)s->last_zxid);
}

static void run_request(srv_ens *e, int64_t from, const wire_qp *qp);
static void on_q_packet(void *arg, int64_t from, const wire_qp *qp);

static void replay_held(srv_ens *e)
{
    wire_wr held = e->held_reqs;
    wire_wr_init(&e->held_reqs);
    wire_rd r;
    wire_rd_init(&r, held.p, held.len, INT32_MAX);
    while (wire_rd_left(&r) > 0) {
        int64_t from = wire_rd_i64(&r);
        int32_t len = wire_rd_i32(&r);
        if (r.err != 0 || len < 0 || (size_t)len > wire_rd_left(&r))
            break;
        wire_rd pr;
        wire_qp qp;
        wire_rd_init(&pr, held.p + r.off, (size_t)len, INT32_MAX);
        r.off += (size_t)len;
        if (wire_qp_decode(&pr, &qp) == 0) {
            run_request(e, from, &qp);
            wire_qp_fini(&qp);
        }
    }
    wire_wr_fini(&held);
}

/* Sends the SNAPs zab asked for once my tree holds nothing uncommitted;
 * until then, nothing new is proposed. */
static void try_snaps(srv_ens *e)
{
    srv *s = e->s;
    if (e->n_snap_wait == 0)
        return;
    if (e->role != ZAB_ROLE_LEADING) {
        e->n_snap_wait = 0;
    } else if (zab_last_committed(e->z) < s->last_zxid) {
        set_paused(e, true);
        return;
    } else {
        for (size_t i = 0; i < e->n_snap_wait; i++)
            send_snapshot(e, e->snap_wait[i]);
        e->n_snap_wait = 0;
    }
    set_paused(e, false);
    replay_held(e);
}

static void want_snaps(srv_ens *e, const zab_batch *b)
{
    for (size_t i = 0; i < b->n_snaps; i++) {
        if (wire_reserve((void **)&e->snap_wait, &e->cap_snap_wait, e->n_snap_wait,
                         sizeof *e->snap_wait) != 0) {
            srv_log(SRV_LOG_ERROR, "out of memory queueing a SNAP for server %" PRId64,
                    b->snaps[i]);
            continue;
        }
        e->snap_wait[e->n_snap_wait++] = b->snaps[i];
    }
}

/* A learner's SNAP: the snapshot becomes my state, durably, before zab
 * hears of the packet (zab.h); a failure stops the server, as TRUNC's. */
static void on_q_snap(void *arg, int64_t from, const wire_qp *snap, const uint8_t *stream,
                      size_t len)
{
    srv_ens *e = arg;
    srv *s = e->s;
    char err[512] = "";
    if (e->role == ZAB_ROLE_LEADING || from != e->leader) {
        srv_log(SRV_LOG_WARN, "SNAP from server %" PRId64 ", not my leader: closing", from);
        srv_qport_close(e->qport, from, NULL);
        zab_peer_down(e->z, from);
        drain(e);
        return;
    }
    int64_t t0 = srv_now_ms();
    int64_t was = s->last_zxid;
    int rc = srv_install_snapshot(s, snap->zxid, stream, len, err, sizeof err);
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "SNAP from leader %" PRId64 " at 0x%" PRIx64 ": %s", from,
                (uint64_t)snap->zxid, err);
        fatal(e, "cannot load the leader's snapshot", rc);
        return;
    }
    pthread_mutex_lock(&s->durable_mu);
    s->durable_posted = snap->zxid;
    pthread_mutex_unlock(&s->durable_mu);
    e->last_logged = snap->zxid;
    srv_ens_config_node_set(s);
    srv_log(SRV_LOG_INFO,
            "SNAP from leader %" PRId64 ": tree at 0x%" PRIx64 " (was 0x%" PRIx64
            "), %zu znodes, %zu sessions, %zu bytes, loaded and synced in %" PRId64 " ms",
            from, (uint64_t)snap->zxid, (uint64_t)was, zt_node_count(s->tree),
            sess_count(s->sessions), len, srv_now_ms() - t0);
    on_q_packet(e, from, snap);
}

/* Packets zab leaves to the host (zab.h): REQUEST and REVALIDATE on a
 * leader, SYNC and REVALIDATE answers on a learner, and the touches a
 * learner's PING carries. true: handled here, not for zab. */
static bool host_packet(srv_ens *e, int64_t from, const wire_qp *qp)
{
    bool leading = e->role == ZAB_ROLE_LEADING;
    switch (qp->type) {
    case WIRE_QP_REQUEST:
        if (!leading)
            return false;
        run_request(e, from, qp);
        return true;
    case WIRE_QP_REVALIDATE:
        if (leading)
            revalidate(e, from, qp);
        else
            srv_fwd_revalidated(e->s, qp);
        return true;
    case WIRE_QP_SYNC:
        if (leading)
            return false;
        srv_fwd_sync_done(e->s);
        return true;
    case WIRE_QP_PING:
        if (leading) {
            take_touches(e, from, qp);
        } else {
            wire_wr_reset(&e->qbuf);
            srv_fwd_touches(e->s, &e->qbuf);
            if (e->qbuf.err == 0)
                zab_set_ping_data(e->z, e->qbuf.p, e->qbuf.len);
        }
        return false; /* zab keeps the liveness (and answers a learner's) */
    }
    return false;
}

static void on_q_packet(void *arg, int64_t from, const wire_qp *qp)
{
    srv_ens *e = arg;
    if (host_packet(e, from, qp)) {
        drain(e);
        return;
    }
    zab_msg m;
    memset(&m, 0, sizeof m);
    m.from = from;
    m.type = ZAB_MSG_QUORUM;
    m.qp = *qp;
    int rc = zab_step(e->z, &m);
    if (rc == ZERR_BADARGUMENTS || rc == ZERR_MARSHALLINGERROR) {
        /* zab.h: a refused packet closes its connection. */
        srv_log(SRV_LOG_WARN,
                "quorum packet type %d from server %" PRId64 " refused (%s, %s): closing", qp->type,
                from, wire_err_name(rc), role_name(e->role));
        srv_qport_close(e->qport, from, NULL);
        zab_peer_down(e->z, from);
    } else if (rc != 0 && rc != ZERR_UNIMPLEMENTED) {
        srv_log(SRV_LOG_WARN, "quorum packet type %d from server %" PRId64 " not taken: %s",
                qp->type, from, wire_err_name(rc));
    }
    drain(e);
}

static void on_q_down(void *arg, int64_t sid)
{
    srv_ens *e = arg;
    if (e->is_draining) {
        /* A write inside a batch closed it: zab hears of it after that
         * batch's zab_advance (its pointers are borrowed until then). */
        for (size_t i = 0; i < e->n_downs; i++)
            if (e->downs[i] == sid)
                return;
        if (e->n_downs < (size_t)e->s->cfg.quorum.n_servers)
            e->downs[e->n_downs++] = sid;
        return;
    }
    zab_peer_down(e->z, sid);
    drain(e);
}

void srv_ens_durable(srv *s, int64_t upto_zxid)
{
    srv_ens *e = s->ens;
    if (e == NULL || e->z == NULL)
        return;
    zab_persisted(e->z, upto_zxid);
    drain(e);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    drain(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    srv_ens *e = arg;
    int64_t now = srv_now_ms();
    zab_tick(e->z, now);
    drain(e);
    srv_peers_tick(e->peers, now);
    srv_qport_tick(e->qport, now);
}

/* The committed-log window DIFF serves from: the last WINDOW_MAX txns of
 * the log (zab_config.log). */
typedef struct window {
    zab_txn *v; /* ring of WINDOW_MAX, bytes malloc'd */
    size_t head, n;
    int64_t base;       /* the zxid the window follows */
    int64_t first_seen; /* -1 until a txn is seen */
    bool is_failed;
} window;

static int collect(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    window *w = arg;
    if (w->first_seen < 0) {
        w->first_seen = (int64_t)zxid;
        /* The txn before a log's first one is known only at zxid 1: the
         * first of epoch 0 follows the empty tree. Otherwise the first one
         * only marks the base (DIFF from there on). */
        if (zxid != 1) {
            w->base = (int64_t)zxid;
            return 0;
        }
        w->base = 0;
    }
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        w->is_failed = true;
        return ZERR_NOMEM;
    }
    memcpy(copy, txn, len);
    size_t slot;
    if (w->n == WINDOW_MAX) {
        slot = w->head;
        w->base = w->v[slot].zxid;
        free((void *)w->v[slot].p);
        w->head = (w->head + 1) % WINDOW_MAX;
    } else {
        slot = (w->head + w->n++) % WINDOW_MAX;
    }
    w->v[slot] = (zab_txn){(int64_t)zxid, copy, len};
    return 0;
}

/* Fills *w from the log; on any failure the window is empty and based at
 * last_zxid (a learner behind it then needs SNAP, which zab refuses). */
static void load_window(srv *s, window *w, zab_txn **ordered, size_t *n)
{
    char err[256] = "";
    w->v = calloc(WINDOW_MAX, sizeof *w->v);
    w->first_seen = -1;
    w->base = s->last_zxid;
    *ordered = NULL;
    *n = 0;
    int rc = w->v != NULL ? stor_replay(s->st, 0, collect, w, err, sizeof err) : ZERR_NOMEM;
    zab_txn *o = w->n > 0 ? malloc(w->n * sizeof *o) : NULL;
    for (size_t i = 0; o != NULL && i < w->n; i++)
        o[i] = w->v[(w->head + i) % WINDOW_MAX];
    bool ok = rc == 0 && (w->n == 0 || o != NULL) &&
              (w->n == 0 ? w->base <= s->last_zxid : o[w->n - 1].zxid == s->last_zxid);
    if (!ok) {
        srv_log(SRV_LOG_WARN,
                "the log window for DIFF could not be read or does not end at 0x%" PRIx64
                " (%s): serving none",
                (uint64_t)s->last_zxid, rc != 0 ? wire_err_name(rc) : "ends elsewhere");
        free(o);
        o = NULL;
        w->base = s->last_zxid;
        return;
    }
    if (w->n == 0)
        w->base = s->last_zxid;
    *ordered = o;
    *n = w->n;
}

static void free_window(window *w, zab_txn *ordered)
{
    for (size_t i = 0; w->v != NULL && i < w->n; i++)
        free((void *)w->v[(w->head + i) % WINDOW_MAX].p);
    free(w->v);
    free(ordered);
}

static int64_t epoch_of(srv *s, const char *name)
{
    uint64_t v = 0;
    int rc = stor_meta_get(s->st, name, &v);
    if (rc == 0)
        return (int64_t)v;
    if (rc != ZERR_NONODE)
        srv_log(SRV_LOG_WARN, "%s cannot be read (%s): using the last zxid's epoch", name,
                wire_err_name(rc));
    return (int64_t)((uint64_t)s->last_zxid >> 32);
}

/* QuorumMaj.toString: "server.N=host:qport:eport:type[;chost:cport]\n" per
 * member (HashMap order of small Long keys: ascending id), then "version=0"
 * (hex; a static configuration has version 0). */
static void build_config(const srv_quorum *q, wire_wr *w)
{
    int32_t *order = malloc((size_t)q->n_servers * sizeof *order);
    if (order == NULL) {
        w->err = ZERR_NOMEM;
        return;
    }
    for (int32_t i = 0; i < q->n_servers; i++)
        order[i] = i;
    for (int32_t i = 1; i < q->n_servers; i++) /* a few lines: insertion sort */
        for (int32_t j = i; j > 0 && q->servers[order[j]].id < q->servers[order[j - 1]].id; j--) {
            int32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int32_t i = 0; i < q->n_servers; i++) {
        const srv_quorum_server *qs = &q->servers[order[i]];
        bool v6 = strchr(qs->host, ':') != NULL;
        srv_out(w, "server.%" PRId64 "=%s%s%s:%d:%d:%s", qs->id, v6 ? "[" : "", qs->host,
                v6 ? "]" : "", qs->quorum_port, qs->election_port,
                qs->is_observer ? "observer" : "participant");
        if (qs->client_host != NULL) {
            bool c6 = strchr(qs->client_host, ':') != NULL;
            srv_out(w, ";%s%s%s:%d", c6 ? "[" : "", qs->client_host, c6 ? "]" : "",
                    qs->client_port);
        }
        srv_out(w, "\n");
    }
    srv_out(w, "version=0");
    free(order);
}

int srv_ens_start(srv *s, char *err, size_t err_len)
{
    const srv_quorum *q = &s->cfg.quorum;
    srv_ens *e = calloc(1, sizeof *e);
    zab_server *servers = calloc((size_t)q->n_servers, sizeof *servers);
    int64_t *downs = calloc((size_t)q->n_servers, sizeof *downs);
    wire_wr cfgb;
    wire_wr_init(&cfgb);
    window w = {0};
    zab_txn *log = NULL;
    size_t n_log = 0;
    int rc = -1;
    if (e == NULL || servers == NULL || downs == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    e->s = s;
    e->downs = downs;
    downs = NULL;
    wire_wr_init(&e->frame);
    wire_wr_init(&e->qbuf);
    wire_wr_init(&e->held_reqs);
    e->role = ZAB_ROLE_LOOKING;
    e->looking_since_ms = srv_now_ms();
    e->last_logged = s->last_zxid;
    for (int32_t i = 0; i < q->n_servers; i++) {
        servers[i].id = q->servers[i].id;
        servers[i].is_observer = q->servers[i].is_observer;
        if (!servers[i].is_observer)
            e->n_voters++;
    }
    build_config(q, &cfgb);
    if (cfgb.err != 0) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    s->ens = e; /* the callbacks below reach it through s */
    srv_ens_config_node_set(s);
    srv_peers_cb cb = {e, on_notif, NULL};
    if (srv_peers_open(s->base, q, &cb, &e->peers, err, err_len) != 0)
        goto out;
    srv_qport_cb qcb = {e, on_q_up, on_q_packet, on_q_down, on_q_snap};
    if (srv_qport_open(s->base, q, 2 * s->cfg.jute_maxbuffer, &qcb, &e->qport, err, err_len) != 0)
        goto out;
    load_window(s, &w, &log, &n_log);
    zab_config zc = {
        .my_id = q->my_id,
        .servers = servers,
        .n_servers = (size_t)q->n_servers,
        .is_observer = q->me->is_observer,
        .config = cfgb.p,
        .config_len = cfgb.len,
        .last_logged_zxid = s->last_zxid,
        .current_epoch = epoch_of(s, META_CURRENT),
        .accepted_epoch = epoch_of(s, META_ACCEPTED),
        .seed = (uint64_t)s->rng << 32 | (uint64_t)srv_wall_ms(),
        .now_ms = srv_now_ms(),
        .tick_ms = s->cfg.tick_time_ms,
        .init_limit = q->init_limit,
        .sync_limit = q->sync_limit,
        .log = log,
        .n_log = n_log,
        .log_base_zxid = w.base,
        .window_max = WINDOW_MAX,
    };
    srv_log(SRV_LOG_INFO,
            "ensemble mode: %d servers (%d voters), myid %" PRId64 " (%s), last zxid 0x%" PRIx64
            ", current epoch 0x%" PRIx64 ", accepted epoch 0x%" PRIx64
            ", DIFF window %zu txns after 0x%" PRIx64 ", tickTime %d ms, initLimit %d, "
            "syncLimit %d",
            q->n_servers, e->n_voters, q->my_id, zc.is_observer ? "observer" : "participant",
            (uint64_t)s->last_zxid, (uint64_t)zc.current_epoch, (uint64_t)zc.accepted_epoch, n_log,
            (uint64_t)w.base, s->cfg.tick_time_ms, q->init_limit, q->sync_limit);
    e->z = zab_new(&zc);
    if (e->z == NULL) {
        snprintf(err, err_len, "cannot set up zab (bad configuration or out of memory)");
        goto out;
    }
    e->tick_ev = event_new(s->base, -1, EV_PERSIST, on_tick, e);
    e->drain_ev = event_new(s->base, -1, 0, on_drain, e);
    struct timeval tv = {0, ZAB_TICK_MS * 1000};
    if (e->tick_ev == NULL || e->drain_ev == NULL || event_add(e->tick_ev, &tv) != 0) {
        snprintf(err, err_len, "out of memory setting up the event loop");
        goto out;
    }
    drain(e); /* the first election's notifications and its LOOKING */
    rc = 0;
out:
    free(servers);
    free(downs);
    free_window(&w, log);
    wire_wr_fini(&cfgb);
    if (rc != 0 && e != NULL && s->ens != e) {
        wire_wr_fini(&e->frame);
        wire_wr_fini(&e->qbuf);
        free(e->downs);
        free(e);
    }
    return rc;
}

void srv_ens_stop(srv *s)
{
    srv_ens *e = s->ens;
    if (e == NULL)
        return;
    if (e->tick_ev != NULL)
        event_free(e->tick_ev);
    if (e->drain_ev != NULL)
        event_free(e->drain_ev);
    srv_qport_free(e->qport);
    srv_peers_free(e->peers);
    zab_free(e->z);
    wire_wr_fini(&e->frame);
    wire_wr_fini(&e->qbuf);
    wire_wr_fini(&e->held_reqs);
    free(e->snap_wait);
    free(e->syncs);
    free(e->downs);
    free(e);
    s->ens = NULL;
}

zab *srv_ens_zab(const srv *s)
{
    return s->ens != NULL ? s->ens->z : NULL;
}

void srv_ens_config_string(const srv *s, wire_wr *w)
{
    build_config(&s->cfg.quorum, w);
}
