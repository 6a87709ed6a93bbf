/*
 * ens_serve.c: what an ensemble member serves, on the quorum side of the
 * client path (server/ensemble.c's top comment has the whole picture):
 * whether it serves, a leader's proposals and release watermark, a
 * learner's packets to its leader; on a leader, learners' REQUESTs (run for
 * a socketless conn stand-in), their syncs (SYNC once everything proposed
 * before is committed), the session touches in their PINGs, REVALIDATE,
 * and SNAP (the tree streamed once nothing in it is uncommitted); on a
 * learner, the SNAP it loads.
 */
#include "server/ens_int.h"

#include <stdlib.h>
#include <string.h>

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

static int64_t origin_of(const srv *s, const conn *c)
{
    return c->is_remote ? c->origin : s->cfg.quorum.my_id;
}

int srv_ens_check_owner(srv *s, const conn *c)
{
    return sess_check_owner(s->sessions, c->session_id, origin_of(s, c));
}

void srv_ens_set_owner(srv *s, const conn *c, int64_t session_id)
{
    if (s->ens != NULL)
        (void)sess_set_owner(s->sessions, session_id, origin_of(s, c));
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
void ens_close_clients(srv_ens *e, const char *why)
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
void ens_touch_all_sessions(srv_ens *e)
{
    srv *s = e->s;
    wire_wr ids;
    wire_wr_init(&ids);
    sess_foreach(s->sessions, collect_session, &ids);
    int64_t now = srv_now_ms();
    size_t n = ids.err == 0 ? ids.len / 8 : 0;
    for (size_t i = 0; i < n; i++) {
        int64_t id = (int64_t)wire_get_be64(ids.p + 8 * i);
        sess_touch(s->sessions, id, now);
        (void)sess_set_owner(s->sessions, id, 0); /* its next request names it */
    }
    wire_wr_fini(&ids);
    srv_log(SRV_LOG_INFO, "leader: tracking %zu sessions, each due a full timeout from now", n);
}

/* What held output may leave: the leader's last commit; a learner holds
 * nothing back (it applies only commits). */
void ens_update_release(srv_ens *e)
{
    srv *s = e->s;
    int64_t r = e->role == ZAB_ROLE_LEADING ? zab_last_committed(e->z) : INT64_MAX;
    if (r > s->release_zxid || e->role != ZAB_ROLE_LEADING) {
        s->release_zxid = r;
        srv_outq_drain(s);
    }
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
void ens_flush_syncs(srv_ens *e)
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
    rc.origin = from;
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
    if (valid) /* ZooKeeperServer.revalidateSession: it moved there */
        (void)sess_set_owner(s->sessions, sid, from);
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
        size_t bytes = w.len;
        srv_qport_send_owned(e->qport, sid, &w);
        rc = zab_snap_sent(e->z, sid, s->last_zxid);
        srv_log(SRV_LOG_INFO,
                "SNAP to server %" PRId64 ": %zu znodes, %zu bytes at 0x%" PRIx64
                " serialised in %" PRId64 " ms%s",
                sid, zt_node_count(s->tree), bytes, (uint64_t)s->last_zxid, srv_now_ms() - t0,
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
void ens_try_snaps(srv_ens *e)
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

void ens_want_snaps(srv_ens *e, const zab_batch *b)
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

/* ---- DIFF from the log on disk ------------------------------------------- */

/* LearnerHandler's "use txnlog and committedLog": txns after the
 * learner's zxid as far as the window's base, read back from the log,
 * if they weigh at most ZooKeeper's snapshotSizeFactor (0.33) of the
 * newest snapshot; a snapshot is cheaper to send otherwise. */
enum { DISK_DIFF_FACTOR_PCT = 33 };

typedef struct disk_read {
    int64_t peer, base, prev;
    int64_t limit, bytes;
    bool has_peer;
    wire_wr *out;
} disk_read;

enum { READ_DONE = 1, READ_CANNOT = 2 };

static int read_txn(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    disk_read *d = arg;
    int64_t z = (int64_t)zxid;
    if (!d->has_peer) {
        if (z != d->peer)
            return READ_CANNOT; /* the log does not hold the learner's last txn */
        d->has_peer = true;
        d->prev = z;
        return 0;
    }
    if (z > d->base)
        return READ_DONE;
    d->bytes += (int64_t)len;
    if (!ens_follows(d->prev, z) || d->bytes > d->limit)
        return READ_CANNOT;
    wire_qp p = {WIRE_QP_PROPOSAL, z, {txn, (int32_t)len}, NULL, 0};
    wire_qp c = {WIRE_QP_COMMIT, z, {NULL, -1}, NULL, 0};
    wire_qp_encode(d->out, &p);
    wire_qp_encode(d->out, &c);
    d->prev = z;
    return d->out->err;
}

/* true once DIFF and the txns up to the window's base are sent. */
static bool disk_diff(srv_ens *e, const zab_disk_diff *dd)
{
    srv *s = e->s;
    int64_t snap = stor_snapshot_bytes(s->st);
    if (dd->peer_zxid <= 0 || snap <= 0)
        return false;
    wire_wr w;
    wire_wr_init(&w);
    wire_qp diff = {WIRE_QP_DIFF, zab_last_zxid(e->z), {NULL, -1}, NULL, 0};
    wire_qp_encode(&w, &diff);
    disk_read d = {
        dd->peer_zxid, zab_window_base(e->z), 0, snap * DISK_DIFF_FACTOR_PCT / 100, 0, false, &w};
    char err[256] = "";
    int64_t t0 = srv_now_ms();
    int rc = stor_replay(s->st, (uint64_t)dd->peer_zxid - 1, read_txn, &d, err, sizeof err);
    bool ok = (rc == 0 || rc == READ_DONE) && d.has_peer && d.prev == d.base && w.err == 0;
    const char *why = ok                  ? ""
                      : rc < 0            ? err
                      : d.bytes > d.limit ? "the txns weigh more than a third of the snapshot"
                      : !d.has_peer       ? "the log does not hold the learner's last txn"
                      : w.err != 0        ? "out of memory"
                                          : "the log has a hole before the window";
    if (ok)
        srv_qport_send_owned(e->qport, dd->sid, &w);
    srv_log(SRV_LOG_INFO,
            "server %" PRId64 " at 0x%" PRIx64 " is behind the window (0x%" PRIx64 "): %s%s%s"
            " (%" PRId64 " bytes read in %" PRId64 " ms)",
            dd->sid, (uint64_t)dd->peer_zxid, (uint64_t)d.base,
            ok ? "DIFF from the log on disk" : "no DIFF from the log on disk: ", why,
            ok ? "" : ", SNAP instead", d.bytes, srv_now_ms() - t0);
    wire_wr_fini(&w);
    return ok;
}

void ens_want_disk_diffs(srv_ens *e, const zab_batch *b)
{
    for (size_t i = 0; i < b->n_disk_diffs; i++) {
        if (wire_reserve((void **)&e->dd_wait, &e->cap_dd_wait, e->n_dd_wait, sizeof *e->dd_wait) !=
            0) {
            srv_log(SRV_LOG_ERROR, "out of memory queueing a DIFF for server %" PRId64,
                    b->disk_diffs[i].sid);
            continue;
        }
        e->dd_wait[e->n_dd_wait++] = b->disk_diffs[i];
    }
}

void ens_do_disk_diffs(srv_ens *e)
{
    for (size_t i = 0; i < e->n_dd_wait; i++)
        (void)zab_disk_diff_done(e->z, e->dd_wait[i].sid, disk_diff(e, &e->dd_wait[i]));
    e->n_dd_wait = 0;
}

/* A learner's SNAP: the snapshot becomes my state, durably, before zab
 * hears of the packet (zab.h); a failure stops the server, as TRUNC's. */
void ens_on_snap(void *arg, int64_t from, const wire_qp *snap, const uint8_t *stream, size_t len)
{
    srv_ens *e = arg;
    srv *s = e->s;
    char err[512] = "";
    if (e->role == ZAB_ROLE_LEADING || from != e->leader) {
        srv_log(SRV_LOG_WARN, "SNAP from server %" PRId64 ", not my leader: closing", from);
        srv_qport_close(e->qport, from, NULL);
        zab_peer_down(e->z, from);
        ens_drain(e);
        return;
    }
    int64_t t0 = srv_now_ms();
    int64_t was = s->last_zxid;
    int rc = srv_install_snapshot(s, snap->zxid, stream, len, err, sizeof err);
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "SNAP from leader %" PRId64 " at 0x%" PRIx64 ": %s", from,
                (uint64_t)snap->zxid, err);
        ens_fatal(e, "cannot load the leader's snapshot", rc);
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
    ens_on_packet(e, from, snap);
}

/* Packets zab leaves to the host (zab.h): REQUEST and REVALIDATE on a
 * leader, SYNC and REVALIDATE answers on a learner, and the touches a
 * learner's PING carries. true: handled here, not for zab. */
bool ens_host_packet(srv_ens *e, int64_t from, const wire_qp *qp)
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
