/*
 * ensemble.c: an ensemble member, driven from the loop: builds zab from the
 * configuration, the persisted epochs and the recovered log, feeds it the
 * notifications server/peer.c reads, the quorum packets server/quorum.c
 * reads, the log's durability and a 50 ms tick, and carries out each batch
 * in the order zab.h gives (truncate, epochs synced, appends to the log
 * thread, drops, connect, packets, commits applied, role and serving).
 * What the member serves on the quorum side (learners' REQUESTs, syncs,
 * touches, REVALIDATE, SNAP) is server/ens_serve.c; both share
 * server/ens_int.h.
 *
 * Epochs. ZooKeeper's currentEpoch and acceptedEpoch files are storage
 * meta values of those names ("currentEpoch", "acceptedEpoch"), written
 * with a synced put before any packet of the batch that changed them
 * leaves. Absent (a fresh or a standalone data dir), both start as the
 * last logged zxid's epoch, as QuorumPeer.loadDataBase does.
 *
 * Commits are applied with srv_apply_commit, the apply step srv_replay_txn
 * replays the log with, so the tree means the same after sync as after a
 * restart.
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
#include "server/ens_int.h"

#include <stdlib.h>
#include <string.h>

enum { ZAB_TICK_MS = 50, WINDOW_MAX = 500 };

static const char META_CURRENT[] = "currentEpoch", META_ACCEPTED[] = "acceptedEpoch";

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
            ens_close_clients(e, "the role ended");
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
        ens_close_clients(e, "no longer synced with a leader");
        e->s->release_zxid = e->s->last_zxid;
        return;
    }
    if (e->role == ZAB_ROLE_LEADING) {
        e->s->release_zxid = zab_last_committed(e->z);
        ens_touch_all_sessions(e);
    } else {
        srv_qport_synced(e->qport);
    }
    ens_update_release(e);
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

void ens_fatal(srv_ens *e, const char *what, int rc)
{
    srv_log(SRV_LOG_ERROR, "%s: %s; shutting down", what, wire_err_name(rc));
    e->s->log_failed = true;
    srv_stop(e->s);
}

/* zab.h's step 1, a TRUNC: the log loses its txns above zxid, then the
 * tree is rebuilt from snapshot + log as at a restart (ZooKeeper's Learner:
 * ZKDatabase.truncateLog, which reloads the database). Snapshots newer than
 * zxid are set aside by storage first, or recovery would load one. The
 * session table is rebuilt too, and no watch or client is touched: a
 * learner being synced serves no client (its connections closed when it
 * stopped serving), so the tree and the sessions recovery restores are all
 * its state. false: the server stops, as
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
        ens_fatal(e, "cannot truncate the txn log", rc);
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
        ens_fatal(e, "cannot rebuild the tree after TRUNC", rc);
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
        ens_fatal(e, "cannot truncate ZooKeeper's log files", ZERR_UNIMPLEMENTED);
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
        ens_fatal(e, "cannot persist acceptedEpoch", rc);
        return false;
    }
    if (b->has_current_epoch &&
        (rc = stor_meta_put(s->st, META_CURRENT, (uint64_t)b->current_epoch)) != 0) {
        ens_fatal(e, "cannot persist currentEpoch", rc);
        return false;
    }
    if (b->has_accepted_epoch || b->has_current_epoch)
        srv_log(SRV_LOG_INFO, "epochs persisted: accepted 0x%" PRIx64 ", current 0x%" PRIx64,
                (uint64_t)zab_accepted_epoch(e->z), (uint64_t)zab_current_epoch(e->z));
    for (size_t i = 0; i < b->n_appends; i++) {
        const zab_txn *t = &b->appends[i];
        if ((rc = stor_append(s->st, (uint64_t)t->zxid, t->p, t->len)) != 0) {
            ens_fatal(e, "cannot log a txn from the leader", rc);
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
        ens_fatal(e, "cannot flush the txn log as the role ends", rc);
        return false;
    }
    return true;
}

/* The leader's TxnDigest (the tree digest after the txn) against mine:
 * equal trees outside /zookeeper/ have equal digests, so a mismatch means
 * the trees went apart. Logged, as ZooKeeper's DataTree.compareDigest
 * does, and counted. */
static void check_digest(srv_ens *e, const zab_txn *t, const srv_txn_digest *dg)
{
    if (!dg->has || dg->version != ZT_DIGEST_VERSION)
        return;
    int64_t digest = dg->digest, mine = zt_digest(e->s->tree);
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
        srv_txn_digest dg;
        int rc = srv_apply_commit(s, t->p, t->len, &h, &dg);
        if (rc != 0) {
            srv_log(SRV_LOG_ERROR, "committed txn 0x%" PRIx64 " does not apply: %s",
                    (uint64_t)t->zxid, wire_err_name(rc));
            continue;
        }
        applied++;
        check_digest(e, t, &dg);
        if (e->is_synced)
            srv_fwd_committed(s, &h);
        s->txns_since_snap++;
        srv_maybe_snapshot(s);
    }
    if (applied > 0 && !e->is_synced)
        srv_log(SRV_LOG_INFO, "applied %zu committed txns, tree at 0x%" PRIx64, applied,
                (uint64_t)s->last_zxid);
    if (b->n_commits > 0 && e->role == ZAB_ROLE_LEADING) {
        ens_update_release(e);
        ens_flush_syncs(e);
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

void ens_drain(srv_ens *e)
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
        if (ok) {
            ens_want_snaps(e, &b);
            ens_want_disk_diffs(e, &b);
        }
        zab_advance(e->z, &b);
        for (size_t i = 0; i < e->n_downs; i++)
            zab_peer_down(e->z, e->downs[i]);
        e->n_downs = 0;
        ens_do_disk_diffs(e); /* a refused one asks for SNAP in the next batch */
        ens_try_snaps(e);     /* may give zab more to send: the loop goes on */
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
    ens_drain(e);
}

static void on_q_up(void *arg, int64_t sid)
{
    srv_ens *e = arg;
    zab_peer_up(e->z, sid);
    ens_drain(e);
}

void ens_on_packet(void *arg, int64_t from, const wire_qp *qp)
{
    srv_ens *e = arg;
    if (ens_host_packet(e, from, qp)) {
        ens_drain(e);
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
    ens_drain(e);
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
    ens_drain(e);
}

void srv_ens_durable(srv *s, int64_t upto_zxid)
{
    srv_ens *e = s->ens;
    if (e == NULL || e->z == NULL)
        return;
    zab_persisted(e->z, upto_zxid);
    ens_drain(e);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    ens_drain(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    srv_ens *e = arg;
    int64_t now = srv_now_ms();
    zab_tick(e->z, now);
    ens_drain(e);
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
    uint64_t snap;     /* the newest snapshot's zxid */
    bool has_snap_txn; /* the log holds that zxid */
} window;

static int collect(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    window *w = arg;
    if (zxid == w->snap)
        w->has_snap_txn = true;
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
 * last_zxid (a learner behind it then gets a DIFF from disk or SNAP). */
static void load_window(srv *s, window *w, zab_txn **ordered, size_t *n)
{
    char err[256] = "";
    w->v = calloc(WINDOW_MAX, sizeof *w->v);
    w->first_seen = -1;
    w->base = s->last_zxid;
    w->snap = stor_snapshot_newest(s->st);
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
    /* DIFF sends everything after the learner's zxid, so the window must
     * have no hole: only the run that ends at my last txn counts, each txn
     * the next of its epoch or the first of a later one (zxids are unique:
     * a txn I hold at the zxid before the run's first is the one the
     * learner would hold). A hole is what a SNAP leaves: the log kept
     * what it had below the snapshot and goes on above it. A log that
     * lacks the newest snapshot's own txn keeps nothing below it either
     * (that log was another history, if the epochs make it look whole). */
    size_t k = w->n; /* the run is o[k..n) once o[k] follows base or o[k-1] */
    while (k > 0 && ens_follows(k > 1 ? o[k - 2].zxid : w->base, o[k - 1].zxid))
        k--;
    size_t skip = 0;
    if (k > 0) {
        /* o[k-1] starts the run; the txn before it is not mine: known only
         * as its zxid minus one, inside its epoch. */
        int64_t first = o[k - 1].zxid;
        bool mid_epoch = (first & 0xffffffff) > 1;
        w->base = mid_epoch ? first - 1 : first;
        skip = mid_epoch ? k - 1 : k;
    }
    if (w->snap > 0 && !w->has_snap_txn) {
        while (skip < w->n && o[skip].zxid <= (int64_t)w->snap)
            skip++;
        if (w->base < (int64_t)w->snap)
            w->base = (int64_t)w->snap;
    }
    if (skip > 0)
        memmove(o, o + skip, (w->n - skip) * sizeof *o);
    if (w->n - skip == 0)
        w->base = s->last_zxid;
    *ordered = o;
    *n = w->n - skip;
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
    srv_qport_cb qcb = {e, on_q_up, ens_on_packet, on_q_down, ens_on_snap};
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
        .has_disk_log = true,
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
    ens_drain(e); /* the first election's notifications and its LOOKING */
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
    free(e->dd_wait);
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
