/*
 * commit.c: the write path. prep (znode-tree) -> log (storage, queued to the
 * log thread; in an ensemble the leader proposes it through zab instead) ->
 * apply (znode-tree) -> watch events and the reply, queued behind the txn's
 * durability, or its commit in an ensemble (srv_int.h explains the
 * ordering).
 *
 * Recovery replays logged txns through the same apply step, so a txn means
 * the same thing live and after a restart; a learner applies the leader's
 * commits through it too (srv_apply_commit) and answers its own clients
 * from the result with the same reply code as here.
 */
#include "server/srv_int.h"

#include <string.h>

static void fatal_log(srv *s, int rc, int64_t zxid)
{
    /* Losing the log means losing acknowledged writes: stop serving, as
     * ZooKeeper does when its txn log cannot be written. */
    srv_log(SRV_LOG_ERROR, "cannot log txn 0x%" PRIx64 ": %s; shutting down", (uint64_t)zxid,
            wire_err_name(rc));
    s->log_failed = true;
    srv_stop(s);
}

static void fire_events(srv *s, int64_t zxid)
{
    const zt_out *o = &s->out;
    for (size_t i = 0; i < o->n_ev; i++) {
        const zt_event *e = &o->ev[i];
        wire_str path = zt_out_str(o, e->path_off, e->path_len);
        s->n_dl = 0;
        if (watch_fire(s->watches, e->type, path.p, (size_t)path.len, &s->dl, &s->n_dl,
                       &s->cap_dl) != 0) {
            srv_log(SRV_LOG_ERROR, "out of memory firing watches on %.*s", path.len, path.p);
            continue;
        }
        for (size_t k = 0; k < s->n_dl; k++) {
            conn *c = srv_conn_by_id(s, s->dl[k].watcher);
            if (c == NULL)
                continue;
            /* CVE-2024-23944: only a watcher that may READ the node the
             * event is about hears of it (one-shot watches are spent all
             * the same, as in ZooKeeper's WatchManager). */
            zt_auth a;
            srv_auth_view(c, &a);
            if (zt_event_check_acl(o, e, WIRE_PERM_READ, &a) != 0) {
                srv_log(SRV_LOG_DEBUG,
                        "not delivering event %d on %.*s to session 0x%016" PRIx64
                        " (filtered by ACL)",
                        s->dl[k].event_type, path.len, path.p, (uint64_t)c->session_id);
                continue;
            }
            srv_reply_begin(&s->reply, WIRE_XID_NOTIFICATION, -1, 0);
            wire_wr_i32(&s->reply, s->dl[k].event_type);
            wire_wr_i32(&s->reply, WIRE_STATE_SYNC_CONNECTED);
            wire_wr_str(&s->reply, path);
            srv_reply_end(&s->reply);
            srv_send(s, c, zxid, &s->reply, false);
        }
    }
}

/* Session bookkeeping that follows a txn, live or replayed. A live
 * createSession added its session at prep; replayed and committed ones
 * (`replay`) add it here. */
static void session_effects(srv *s, const wire_txn_hdr *h, const wire_txn *t, bool replay)
{
    if (h->type == WIRE_OP_CREATESESSION && replay) {
        if (!sess_exists(s->sessions, h->client_id))
            sess_add(s->sessions, h->client_id, t->timeout_ms, srv_now_ms());
    } else if (h->type == WIRE_OP_CLOSESESSION) {
        sess_remove(s->sessions, h->client_id);
    }
}

/* Decodes the txn in p and applies it; results and events land in s->out,
 * the header in *h, and the TxnDigest that follows the body (exactly one, as
 * ZooKeeper logs it) in *dg when dg is not NULL. Returns 0 or a negative
 * zerr (the txn is then unusable). */
static int apply_txn(srv *s, const uint8_t *p, size_t len, bool replay, wire_txn_hdr *h,
                     srv_txn_digest *dg)
{
    wire_rd r;
    wire_txn t;
    wire_rd_init(&r, p, len, INT32_MAX);
    wire_txn_hdr_decode(&r, h);
    if (wire_rd_err(&r) != 0)
        return ZERR_CORRUPT;
    int rc = wire_txn_body_decode(&r, h->type, &t);
    if (rc != 0)
        return rc;
    if (dg != NULL) {
        dg->has = wire_rd_left(&r) == 12;
        dg->version = dg->has ? wire_rd_i32(&r) : 0;
        dg->digest = dg->has ? wire_rd_i64(&r) : 0;
    }
    zt_out_reset(&s->out);
    rc = zt_apply(s->tree, h, &t, &s->out);
    if (rc == 0)
        session_effects(s, h, &t, replay);
    wire_txn_fini(&t);
    if (h->zxid > s->last_zxid)
        s->last_zxid = h->zxid;
    return rc;
}

/* Logs and applies the txn prepped into s->txn at zxid; fires its events.
 * In an ensemble the leader proposes it: zab appends it to the log and
 * commits it once a quorum has it, and what this write releases waits for
 * that commit (srv_int.h). */
static int log_and_apply(srv *s, int64_t zxid)
{
    s->zxids_burned = 0;
    int rc;
    wire_txn_hdr h;
    bool is_leader = s->ens != NULL; /* in an ensemble only the leader writes */
    if (is_leader) {
        /* ZooKeeper's leader proposes each txn with the digest the tree has
         * after it (TxnDigest, version 2), which learners check: so the
         * leader applies first. A proposal zab would refuse is tried bare
         * and not applied (zab steps down at an epoch's last zxid). */
        if (srv_ens_next_zxid(s) != zxid || (zxid & 0xffffffff) == 0xffffffff)
            return srv_ens_propose(s, s->txn.p, s->txn.len, zxid);
    } else if ((rc = stor_append(s->st, (uint64_t)zxid, s->txn.p, s->txn.len)) != 0) {
        fatal_log(s, rc, zxid);
        return rc;
    } else if (!s->is_submit_pending) {
        /* Every txn of this loop iteration goes to the log thread together,
         * from an event that runs after the callbacks now active (loop.c). */
        s->is_submit_pending = true;
        event_active(s->submit_ev, EV_READ, 0);
    }
    rc = apply_txn(s, s->txn.p, s->txn.len, false, &h, NULL);
    ZK_ASSERT(rc == 0, "applying txn 0x%" PRIx64 " that prep produced: %s", (uint64_t)zxid,
              wire_err_name(rc));
    if (is_leader) {
        wire_wr_i32(&s->txn, ZT_DIGEST_VERSION);
        wire_wr_i64(&s->txn, zt_digest(s->tree));
        rc = srv_ens_propose(s, s->txn.p, s->txn.len, zxid);
        ZK_ASSERT(rc == 0, "zab refused txn 0x%" PRIx64 " it numbered: %s", (uint64_t)zxid,
                  wire_err_name(rc));
    }
    fire_events(s, zxid);
    s->txns_since_snap++;
    srv_maybe_snapshot(s);
    return 0;
}

static zt_prep_ctx ctx_for(srv *s, conn *c, int64_t session, int32_t xid, zt_auth *a)
{
    if (c != NULL)
        c->req_is_update = true; /* its reply answers a request with a txn */
    /* A client's request takes its batch's time (conn.c); expiry and
     * container cleanup read the clock now. */
    zt_prep_ctx ctx = {session,
                       xid,
                       s->ens != NULL ? srv_ens_next_zxid(s) : s->last_zxid + 1 + s->zxids_burned,
                       c != NULL ? srv_batch_wall_ms(s) : srv_wall_ms(),
                       a,
                       s->cfg.extended_types_enabled,
                       s->cfg.enforce_quota,
                       NULL};
    if (c != NULL)
        srv_auth_view(c, a);
    else
        *a = (zt_auth){.is_super = true};
    return ctx;
}

/* ZooKeeperServer.checkQuota's warnings, which prep hands back as notes:
 * "Quota exceeded: /a [current count=6, softCountLimit=5]", then who and
 * where. Logged before the apply that may free the roots they name. */
static void log_quota_notes(const srv *s, int64_t session, const zt_quota_notes *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        const zt_quota_note *x = &ns->v[i];
        bool count = x->kind == ZT_QUOTA_COUNT;
        if (x->kind == ZT_QUOTA_UNREADABLE)
            srv_log(SRV_LOG_WARN,
                    "quota of %.*s: its zookeeper_limits or zookeeper_stats is not a "
                    "StatsTrack string (session 0x%016" PRIx64 ", path %.*s)",
                    x->root.len, x->root.p, (uint64_t)session, x->path.len, x->path.p);
        else
            srv_log(SRV_LOG_WARN,
                    "Quota exceeded: %.*s [current %s=%" PRId64 ", %s%sLimit=%" PRId64
                    "] (session 0x%016" PRIx64 ", path %.*s)%s",
                    x->root.len, x->root.p, count ? "count" : "bytes", x->value,
                    x->is_hard ? "hard" : "soft", count ? "Count" : "Byte", x->limit,
                    (uint64_t)session, x->path.len, x->path.p,
                    x->is_hard && !s->cfg.enforce_quota ? " not enforced: enforceQuota=false" : "");
    }
    if (ns->dropped > 0)
        srv_log(SRV_LOG_WARN, "and %zu more quota warnings for session 0x%016" PRIx64, ns->dropped,
                (uint64_t)session);
}

static void write_result_body(wire_wr *w, const zt_out *o, const zt_result *r)
{
    switch (r->type) {
    case WIRE_OP_CREATE:
        wire_wr_str(w, zt_out_str(o, r->path_off, r->path_len));
        break;
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        wire_wr_str(w, zt_out_str(o, r->path_off, r->path_len));
        wire_wr_stat(w, &r->stat);
        break;
    case WIRE_OP_SETDATA:
    case WIRE_OP_SETACL:
        wire_wr_stat(w, &r->stat);
        break;
    default:
        break;
    }
}

/* The reply to a single write, from its applied result (s->out.res[0]:
 * the op's, or an ErrorTxn's error). Live and on a learner answering from
 * a commit alike. */
static void reply_single(srv *s, conn *c, int32_t xid, int32_t type, int64_t zxid)
{
    zt_result r = s->out.res[0];
    if (r.err == 0 && type == WIRE_OP_CHECK) {
        /* ZooKeeper 3.8 answers a successful check outside a multi with a
         * SetDataResponse whose stat is null; serialising it throws and the
         * reply is dropped (the zxid stays spent). Clients only send check
         * inside multi. */
        srv_log(SRV_LOG_DEBUG,
                "session 0x%016" PRIx64 " check outside multi: no reply, as ZooKeeper",
                (uint64_t)c->session_id);
        return;
    }
    srv_reply_begin(&s->reply, xid, zxid, r.err);
    if (r.err == 0) {
        /* createContainer/createTTL answer with Create2Response */
        r.type = type == WIRE_OP_CREATE ? WIRE_OP_CREATE : r.type;
        write_result_body(&s->reply, &s->out, &r);
    }
    srv_reply_end(&s->reply);
    srv_send(s, c, zxid, &s->reply, false);
}

/* MultiResponse: { MultiHeader{type, done=false, err}, body }* then
 * {-1, true, -1}. The reply header's err stays 0: clients read the per-op
 * results. A multi that became one ErrorTxn is answered with its error
 * alone. */
static void reply_multi(srv *s, conn *c, int32_t xid, int64_t zxid)
{
    wire_wr *w = &s->reply;
    if (s->out.res[0].type == WIRE_OP_ERROR) {
        srv_log(SRV_LOG_INFO, "session 0x%016" PRIx64 " multi answered %s", (uint64_t)c->session_id,
                wire_err_name(s->out.res[0].err));
        srv_reply_begin(w, xid, zxid, s->out.res[0].err);
        srv_reply_end(w);
        srv_send(s, c, zxid, w, false);
        return;
    }
    srv_reply_begin(w, xid, zxid, 0);
    for (size_t i = 1; i < s->out.n_res; i++) {
        zt_result r = s->out.res[i];
        if (r.type == WIRE_OP_ERROR) {
            wire_wr_i32(w, WIRE_OP_ERROR);
            wire_wr_bool(w, false);
            wire_wr_i32(w, r.err);
            wire_wr_i32(w, r.err);
            continue;
        }
        /* CreateResult(path, stat) reports itself as create2 */
        if (r.type == WIRE_OP_CREATECONTAINER || r.type == WIRE_OP_CREATETTL)
            r.type = WIRE_OP_CREATE2;
        wire_wr_i32(w, r.type);
        wire_wr_bool(w, false);
        wire_wr_i32(w, 0);
        write_result_body(w, &s->out, &r);
    }
    wire_wr_i32(w, -1);
    wire_wr_bool(w, true);
    wire_wr_i32(w, -1);
    srv_reply_end(w);
    srv_send(s, c, zxid, w, false);
}

void srv_commit_write(conn *c, int32_t xid, int32_t type, const wire_write_req *q)
{
    srv *s = c->s;
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, c->session_id, xid, &a);
    zt_quota_notes notes = {0};
    ctx.quota_notes = &notes;
    wire_wr_reset(&s->txn);
    int err = zt_prep(s->tree, &ctx, q, &s->txn);
    log_quota_notes(s, c->session_id, &notes);
    if (err == ZERR_NOMEM) {
        srv_log(SRV_LOG_ERROR, "out of memory preparing a write of session 0x%016" PRIx64,
                (uint64_t)c->session_id);
        srv_conn_close(c, "out of memory");
        return;
    }
    if (log_and_apply(s, ctx.zxid) != 0)
        return;
    if (err == ZERR_BADARGUMENTS)
        srv_log(SRV_LOG_INFO, "invalid path %.*s with session 0x%016" PRIx64 " (%s:%d)",
                q->path.len > 0 ? q->path.len : 0, q->path.p, (uint64_t)c->session_id, c->addr,
                c->port);
    reply_single(s, c, xid, type, ctx.zxid);
}

/* A multi with a null path: ZooKeeper's prep takes a zxid, then throws
 * (getPendingChanges walks every op's path) before the request has a txn
 * header. Nothing is logged, the zxid is lost (the next txn skips it), and
 * the reply is MARSHALLINGERROR with an empty MultiResponse. */
static bool multi_null_path(srv *s, conn *c, int32_t xid, const wire_multi_req *m)
{
    int32_t i = 0;
    while (i < m->n_ops && m->ops[i].path.len >= 0)
        i++;
    if (i == m->n_ops)
        return false;
    if (s->ens != NULL) {
        /* A leader cannot skip a zxid (zab numbers its proposals), and a
         * learner's client needs a txn to be answered from: an ErrorTxn. */
        srv_commit_error(c, xid, WIRE_OP_MULTI, ZERR_MARSHALLINGERROR);
        return true;
    }
    s->zxids_burned++;
    srv_log(SRV_LOG_INFO, "session 0x%016" PRIx64 " multi op %d has a null path: MARSHALLINGERROR",
            (uint64_t)c->session_id, i);
    srv_reply_begin(&s->reply, xid, s->last_zxid, ZERR_MARSHALLINGERROR);
    wire_wr_i32(&s->reply, -1);
    wire_wr_bool(&s->reply, true);
    wire_wr_i32(&s->reply, -1);
    srv_reply_end(&s->reply);
    srv_send(s, c, s->last_zxid, &s->reply, false);
    return true;
}

void srv_commit_multi(conn *c, int32_t xid, const wire_multi_req *m)
{
    srv *s = c->s;
    if (multi_null_path(s, c, xid, m))
        return;
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, c->session_id, xid, &a);
    zt_quota_notes notes = {0};
    ctx.quota_notes = &notes;
    wire_wr_reset(&s->txn);
    int err = zt_prep_multi(s->tree, &ctx, m, &s->txn);
    log_quota_notes(s, c->session_id, &notes);
    if (err == ZERR_NOMEM) {
        srv_conn_close(c, "out of memory");
        return;
    }
    if (log_and_apply(s, ctx.zxid) != 0)
        return;
    reply_multi(s, c, xid, ctx.zxid);
}

void srv_commit_error(conn *c, int32_t xid, int32_t type, int err)
{
    srv *s = c->s;
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, c->session_id, xid, &a);
    wire_txn_hdr h = {ctx.session_id, xid, ctx.zxid, ctx.time_ms, WIRE_OP_ERROR};
    wire_txn body = {.type = WIRE_OP_ERROR, .err = err};
    wire_wr_reset(&s->txn);
    wire_txn_hdr_encode(&s->txn, &h);
    wire_txn_body_encode(&s->txn, &body);
    if (log_and_apply(s, ctx.zxid) != 0)
        return;
    srv_log(SRV_LOG_INFO, "session 0x%016" PRIx64 " opcode %d answered %s", (uint64_t)c->session_id,
            type, wire_err_name(err));
    reply_single(s, c, xid, type, ctx.zxid);
}

int srv_commit_create_session(srv *s, conn *c, int64_t session_id, int32_t timeout_ms)
{
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, session_id, 0, &a);
    wire_wr_reset(&s->txn);
    int rc = zt_prep_create_session(&ctx, timeout_ms, &s->txn);
    if (rc == 0)
        rc = sess_add(s->sessions, session_id, timeout_ms, srv_now_ms());
    if (rc != 0)
        return rc;
    srv_ens_set_owner(s, c, session_id);
    if ((rc = log_and_apply(s, ctx.zxid)) != 0)
        return rc;
    if (c->is_remote)
        return 0; /* a learner's client: the learner answers it on commit */
    c->session_id = session_id;
    c->timeout_ms = timeout_ms;
    c->handshaken = true;
    c->req_op = WIRE_OP_CREATESESSION;
    srv_idmap_put(&s->conn_by_session, (uint64_t)session_id, c);
    srv_log(SRV_LOG_INFO, "established session 0x%016" PRIx64 " with timeout %d ms for %s:%d",
            (uint64_t)session_id, timeout_ms, c->addr, c->port);
    srv_send_connect_resp(s, c, ctx.zxid, timeout_ms, session_id, true);
    return 0;
}

void srv_commit_session_again(conn *c, int32_t xid, int32_t timeout_ms)
{
    srv *s = c->s;
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, c->session_id, xid, &a);
    wire_wr_reset(&s->txn);
    if (zt_prep_create_session(&ctx, timeout_ms, &s->txn) != 0) {
        srv_conn_close(c, "out of memory");
        return;
    }
    if (log_and_apply(s, ctx.zxid) != 0)
        return;
    /* ZooKeeper's prep tracks the session again with that timeout: it is
     * due then, unless the client is heard from before. */
    sess_touch_for(s->sessions, c->session_id, srv_now_ms(), timeout_ms);
    srv_log(SRV_LOG_INFO,
            "session 0x%016" PRIx64 " sent createSession again: answered as a connect",
            (uint64_t)c->session_id);
    srv_send_connect_resp(s, c, ctx.zxid, c->timeout_ms, c->session_id, true);
}

void srv_commit_close_session(srv *s, conn *c, int32_t xid, int64_t session_id)
{
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, c, session_id, xid, &a);
    wire_wr_reset(&s->txn);
    if (zt_prep_close_session(s->tree, &ctx, &s->txn) != 0) {
        srv_log(SRV_LOG_ERROR, "out of memory closing session 0x%016" PRIx64, (uint64_t)session_id);
        return;
    }
    sess_set_closing(s->sessions, session_id);
    s->touch_epoch++; /* its later requests must find it closing (ops.c) */
    if (log_and_apply(s, ctx.zxid) != 0)
        return;
    conn *owner = c != NULL ? c : srv_conn_by_session(s, session_id);
    if (owner == NULL)
        return;
    if (c != NULL) {
        srv_reply_begin(&s->reply, xid, ctx.zxid, 0);
        srv_reply_end(&s->reply);
    } else {
        wire_wr_reset(&s->reply); /* expiry: nothing to say, just close */
    }
    srv_send(s, owner, ctx.zxid, &s->reply, true);
}

void srv_commit_delete_container(srv *s, const char *path)
{
    zt_auth a;
    zt_prep_ctx ctx = ctx_for(s, NULL, 0, 0, &a);
    wire_wr_reset(&s->txn);
    int err = zt_prep_delete_container(s->tree, &ctx, wire_str_c(path), &s->txn);
    if (err == ZERR_NOMEM)
        return;
    if (log_and_apply(s, ctx.zxid) == 0)
        srv_log(SRV_LOG_INFO, "removed container %s: %s", path, wire_err_name(err));
}

int srv_apply_commit(srv *s, const uint8_t *p, size_t len, wire_txn_hdr *h, srv_txn_digest *dg)
{
    int rc = apply_txn(s, p, len, true, h, dg);
    if (rc == 0)
        fire_events(s, h->zxid);
    return rc;
}

void srv_reply_txn(srv *s, conn *c, int32_t xid, int32_t type, int64_t zxid)
{
    if (type == WIRE_OP_MULTI)
        reply_multi(s, c, xid, zxid);
    else
        reply_single(s, c, xid, type, zxid);
}

int srv_replay_txn(srv *s, const uint8_t *p, size_t len, srv_txn_digest *dg)
{
    wire_txn_hdr h;
    return apply_txn(s, p, len, true, &h, dg);
}
