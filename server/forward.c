/*
 * forward.c: a learner's side of the client path, ZooKeeper's
 * FollowerRequestProcessor and the matching half of its CommitProcessor.
 *
 * A learner applies only what the leader commits. A client's write, its
 * createSession and closeSession, and sync go to the leader as a REQUEST
 * (wire_qp_request: session, cxid, opcode, the request record; the
 * session's auth ids in the packet's authinfo). The leader preps it into a
 * txn carrying that session id and cxid, and when the txn commits and is
 * applied here (ensemble.c), srv_fwd_committed finds the connection of the
 * session and answers the request at the head of its queue from the
 * applied result, with the same reply code as the standalone write path.
 * A forwarded sync is answered when the leader's SYNC arrives: the leader
 * sends it after the commits of everything proposed before the sync, on
 * the same connection, so the reply follows every commit it must reflect.
 *
 * Order. Each connection keeps a FIFO of what waits on the leader (FWD_WAIT)
 * and of the frames that arrived behind it and must not overtake it
 * (FWD_FRAME). A read behind a pending write waits for it, so a session
 * reads its own writes and its replies leave in request order; a write
 * behind a pending one goes to the leader at once (the leader keeps the
 * order of one learner's REQUESTs), so writes stay pipelined. While a new
 * session's createSession is out, every frame waits (the session does not
 * exist here until it commits). When a request is answered, the frames
 * behind it are dispatched until the next FWD_WAIT; a frame dispatched from
 * the queue that is forwarded takes the head's place, so later frames keep
 * waiting behind it.
 *
 * Forwarded syncs are also kept in a server-wide FIFO of connection ids
 * (the leader answers them in the order they were sent); a SYNC whose
 * connection has gone is dropped.
 */
#include "server/srv_int.h"

#include <stdlib.h>
#include <string.h>

enum { FWD_WAIT = 1, FWD_FRAME = 2 };

/* The opcode slot of an entry that waits on a REVALIDATE answer (no
 * client opcode is this negative). */
enum { FWD_REVALIDATE = -1000 };

typedef struct fwd_entry {
    struct fwd_entry *next;
    int32_t kind; /* FWD_* */
    int32_t xid, type;
    bool is_connect; /* a new session's createSession */
    size_t len;      /* FWD_FRAME: the frame; a sync: its record */
    uint8_t bytes[];
} fwd_entry;

static fwd_entry *entry_new(int32_t kind, int32_t xid, int32_t type, const uint8_t *p, size_t len)
{
    fwd_entry *e = malloc(sizeof *e + len);
    if (e == NULL)
        return NULL;
    *e = (fwd_entry){NULL, kind, xid, type, false, len};
    if (len > 0)
        memcpy(e->bytes, p, len);
    return e;
}

/* A frame re-dispatched from the head keeps its place: what it forwards
 * goes to the front. */
static void push(conn *c, fwd_entry *e)
{
    if (c->is_fwd_replay) {
        e->next = c->fwd_head;
        c->fwd_head = e;
        if (c->fwd_tail == NULL)
            c->fwd_tail = e;
    } else {
        if (c->fwd_tail != NULL)
            c->fwd_tail->next = e;
        else
            c->fwd_head = e;
        c->fwd_tail = e;
    }
    c->n_fwd++;
}

static fwd_entry *pop(conn *c)
{
    fwd_entry *e = c->fwd_head;
    c->fwd_head = e->next;
    if (c->fwd_head == NULL)
        c->fwd_tail = NULL;
    c->n_fwd--;
    return e;
}

/* The session's auth ids as the packet's authinfo: each (scheme, id) the
 * connection holds, and ("super", "") for a super user, as ZooKeeper's
 * auth providers add it. *ids is malloc'd. */
static int auth_ids(const conn *c, wire_id **ids, int32_t *n)
{
    *n = 0;
    *ids = malloc(((size_t)c->n_auth + 1) * sizeof **ids);
    if (*ids == NULL)
        return ZERR_NOMEM;
    for (int32_t i = 0; i < c->n_auth; i++)
        (*ids)[(*n)++] = (wire_id){c->auth[i].scheme, c->auth[i].id};
    if (c->is_super)
        (*ids)[(*n)++] = (wire_id){wire_str_c("super"), wire_str_c("")};
    return 0;
}

/* REQUEST to the leader. false: out of memory (c is closed). */
static bool send_request(conn *c, int32_t xid, int32_t type, const uint8_t *rec, size_t len)
{
    srv *s = c->s;
    wire_wr data, pkt;
    wire_wr_init(&data);
    wire_wr_init(&pkt);
    wire_qp_request rq = {c->session_id, xid, type, {rec, (int32_t)len}};
    wire_qp_request_encode(&data, &rq);
    wire_qp qp = {WIRE_QP_REQUEST, -1, {data.p, (int32_t)data.len}, NULL, 0};
    int rc = data.err;
    if (rc == 0)
        rc = auth_ids(c, &qp.auth, &qp.n_auth);
    if (rc == 0) {
        wire_qp_encode(&pkt, &qp);
        rc = pkt.err;
    }
    if (rc == 0)
        srv_ens_send_leader(s, pkt.p, pkt.len);
    free(qp.auth);
    wire_wr_fini(&data);
    wire_wr_fini(&pkt);
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "out of memory forwarding a request of session 0x%016" PRIx64,
                (uint64_t)c->session_id);
        srv_conn_close(c, "out of memory");
        return false;
    }
    return true;
}

static void run_queue(conn *c);

static bool sync_push(srv *s, uint64_t conn_id)
{
    if (s->n_fwd_syncs == s->cap_fwd_syncs) {
        size_t cap = s->cap_fwd_syncs ? 2 * s->cap_fwd_syncs : 16;
        uint64_t *v = malloc(cap * sizeof *v);
        if (v == NULL)
            return false;
        for (size_t i = 0; i < s->n_fwd_syncs; i++)
            v[i] = s->fwd_syncs[(s->fwd_sync_head + i) % s->cap_fwd_syncs];
        free(s->fwd_syncs);
        s->fwd_syncs = v;
        s->cap_fwd_syncs = cap;
        s->fwd_sync_head = 0;
    }
    s->fwd_syncs[(s->fwd_sync_head + s->n_fwd_syncs++) % s->cap_fwd_syncs] = conn_id;
    return true;
}

void srv_fwd_request(conn *c, int32_t xid, int32_t type, const uint8_t *rec, size_t len)
{
    srv *s = c->s;
    /* A sync keeps its record: the reply names the path. */
    fwd_entry *e = entry_new(FWD_WAIT, xid, type, rec, type == WIRE_OP_SYNC ? len : 0);
    if (e == NULL || (type == WIRE_OP_SYNC && !sync_push(s, c->id))) {
        free(e);
        srv_log(SRV_LOG_ERROR, "out of memory forwarding a request of session 0x%016" PRIx64,
                (uint64_t)c->session_id);
        srv_conn_close(c, "out of memory");
        return;
    }
    if (!send_request(c, xid, type, rec, len)) {
        free(e);
        return;
    }
    push(c, e);
}

/* c's session as the leader is asked about it (e: the connect waiting for
 * the answer). Frames that follow the connect request reach dispatch,
 * which queues them behind e until the session is known here. */
static void begin_session(conn *c, fwd_entry *e, int64_t session_id, int32_t timeout_ms)
{
    e->is_connect = true;
    c->session_id = session_id;
    c->timeout_ms = timeout_ms;
    c->handshaken = true;
    c->req_op = WIRE_OP_CREATESESSION;
    srv_idmap_put(&c->s->conn_by_session, (uint64_t)session_id, c);
}

void srv_fwd_connect(conn *c, int64_t session_id, int32_t timeout_ms)
{
    uint8_t body[4];
    wire_put_be32(body, (uint32_t)timeout_ms);
    fwd_entry *e = entry_new(FWD_WAIT, 0, WIRE_OP_CREATESESSION, NULL, 0);
    if (e == NULL) {
        srv_conn_close(c, "out of memory");
        return;
    }
    begin_session(c, e, session_id, timeout_ms);
    if (!send_request(c, 0, WIRE_OP_CREATESESSION, body, sizeof body)) {
        free(e);
        return;
    }
    push(c, e);
    srv_log(SRV_LOG_DEBUG, "session 0x%016" PRIx64 " for %s:%d: createSession sent to the leader",
            (uint64_t)session_id, c->addr, c->port);
}

void srv_fwd_revalidate(conn *c, int64_t session_id, int32_t timeout_ms)
{
    srv *s = c->s;
    fwd_entry *e = entry_new(FWD_WAIT, 0, FWD_REVALIDATE, NULL, 0);
    wire_wr data, pkt;
    wire_wr_init(&data);
    wire_wr_init(&pkt);
    wire_qp_revalidate_req_encode(&data, session_id, timeout_ms);
    wire_qp qp = {WIRE_QP_REVALIDATE, -1, {data.p, (int32_t)data.len}, NULL, 0};
    wire_qp_encode(&pkt, &qp);
    if (e == NULL || data.err != 0 || pkt.err != 0) {
        free(e);
        srv_conn_close(c, "out of memory");
    } else {
        begin_session(c, e, session_id, timeout_ms);
        srv_ens_send_leader(s, pkt.p, pkt.len);
        push(c, e);
    }
    wire_wr_fini(&data);
    wire_wr_fini(&pkt);
}

void srv_fwd_revalidated(srv *s, const wire_qp *qp)
{
    int64_t sid;
    bool valid;
    if (wire_qp_revalidate_resp_decode(qp->data, &sid, &valid) != 0) {
        srv_log(SRV_LOG_WARN, "malformed REVALIDATE answer from the leader: ignored");
        return;
    }
    conn *c = srv_conn_by_session(s, sid);
    fwd_entry *e = c != NULL ? c->fwd_head : NULL;
    if (e == NULL || c->dead || e->kind != FWD_WAIT || e->type != FWD_REVALIDATE) {
        srv_log(SRV_LOG_DEBUG, "REVALIDATE answer for session 0x%016" PRIx64 ": nobody waits",
                (uint64_t)sid);
        return;
    }
    free(pop(c));
    if (!valid) {
        srv_log(SRV_LOG_INFO, "invalid session 0x%016" PRIx64 " for client %s:%d, probably expired",
                (uint64_t)sid, c->addr, c->port);
        srv_send_connect_resp(s, c, s->last_zxid, 0, 0, false);
        return;
    }
    srv_log(SRV_LOG_INFO,
            "reconnected session 0x%016" PRIx64 " from %s:%d (revalidated by the leader)",
            (uint64_t)sid, c->addr, c->port);
    srv_send_connect_resp(s, c, s->last_zxid, c->timeout_ms, sid, true);
    run_queue(c);
}

bool srv_fwd_queue_frame(conn *c, bool is_forwarded, const uint8_t *frame, size_t len)
{
    if (c->is_fwd_replay || c->n_fwd == 0)
        return false;
    if (is_forwarded && !c->fwd_head->is_connect)
        return false; /* writes stay pipelined: the leader keeps their order */
    fwd_entry *e = entry_new(FWD_FRAME, 0, 0, frame, len);
    if (e == NULL) {
        srv_conn_close(c, "out of memory");
        return true;
    }
    push(c, e);
    return true;
}

/* Dispatches the frames at the head of c's queue, up to the next request
 * that waits on the leader. */
static void run_queue(conn *c)
{
    while (!c->dead && c->fwd_head != NULL && c->fwd_head->kind == FWD_FRAME) {
        fwd_entry *e = pop(c);
        c->is_fwd_replay = true;
        srv_dispatch(c, e->bytes, e->len);
        c->is_fwd_replay = false;
        free(e);
    }
}

/* The answer to the request e stood for, from the txn just applied. */
static void answer(srv *s, conn *c, const fwd_entry *e, const wire_txn_hdr *h)
{
    c->req_op = e->type;
    c->req_xid = e->xid;
    c->req_is_update = true;
    switch (e->type) {
    case WIRE_OP_CREATESESSION:
        if (h->type == WIRE_OP_ERROR) {
            srv_log(SRV_LOG_WARN, "leader refused session 0x%016" PRIx64 " for %s:%d",
                    (uint64_t)c->session_id, c->addr, c->port);
            srv_send_connect_resp(s, c, h->zxid, 0, 0, false);
            return;
        }
        if (e->is_connect)
            srv_log(SRV_LOG_INFO,
                    "established session 0x%016" PRIx64 " with timeout %d ms for %s:%d",
                    (uint64_t)c->session_id, c->timeout_ms, c->addr, c->port);
        srv_send_connect_resp(s, c, h->zxid, c->timeout_ms, c->session_id, true);
        return;
    case WIRE_OP_CLOSESESSION:
        srv_reply_begin(&s->reply, e->xid, h->zxid,
                        h->type == WIRE_OP_ERROR ? s->out.res[0].err : 0);
        srv_reply_end(&s->reply);
        srv_send(s, c, h->zxid, &s->reply, true);
        return;
    default:
        srv_reply_txn(s, c, e->xid, e->type, h->zxid);
    }
}

void srv_fwd_committed(srv *s, const wire_txn_hdr *h)
{
    conn *c = h->client_id != 0 ? srv_conn_by_session(s, h->client_id) : NULL;
    if (c == NULL || c->dead)
        return;
    fwd_entry *e = c->fwd_head;
    bool mine = e != NULL && e->kind == FWD_WAIT && e->type != WIRE_OP_SYNC && e->xid == h->cxid;
    bool asked_close = mine && e->type == WIRE_OP_CLOSESESSION;
    if (mine) {
        pop(c);
        answer(s, c, e, h);
        free(e);
    }
    if (h->type == WIRE_OP_CLOSESESSION && !asked_close) {
        /* Expired by the leader, or closed from another server: every
         * server drops the session's connection (FinalRequestProcessor). */
        srv_conn_close(c, "session closed by the leader");
        return;
    }
    if (mine)
        run_queue(c);
}

void srv_fwd_sync_done(srv *s)
{
    if (s->n_fwd_syncs == 0) {
        srv_log(SRV_LOG_WARN, "SYNC from the leader with no sync outstanding: ignored");
        return;
    }
    uint64_t id = s->fwd_syncs[s->fwd_sync_head];
    s->fwd_sync_head = (s->fwd_sync_head + 1) % s->cap_fwd_syncs;
    s->n_fwd_syncs--;
    conn *c = srv_conn_by_id(s, id);
    if (c == NULL || c->dead)
        return;
    fwd_entry *e = c->fwd_head;
    if (e == NULL || e->kind != FWD_WAIT || e->type != WIRE_OP_SYNC) {
        srv_log(SRV_LOG_WARN,
                "SYNC for session 0x%016" PRIx64 " whose oldest request is not a sync",
                (uint64_t)c->session_id);
        return;
    }
    pop(c);
    c->req_op = WIRE_OP_SYNC;
    c->req_xid = e->xid;
    srv_reply_sync(c, e->xid, e->bytes, e->len);
    free(e);
    run_queue(c);
}

void srv_fwd_drop(conn *c)
{
    while (c->fwd_head != NULL)
        free(pop(c));
}

void srv_fwd_reset(srv *s)
{
    s->n_fwd_syncs = 0;
    s->fwd_sync_head = 0;
}

void srv_fwd_touches(srv *s, wire_wr *w)
{
    /* Only the sessions heard from since the last PING (Learner's
     * touchTable): a client that went silent with its socket open must
     * still expire. */
    for (conn *c = s->conns; c != NULL; c = c->next)
        if (c->is_touched && c->handshaken && c->session_id != 0) {
            wire_qp_touch_encode(w, c->session_id, c->timeout_ms);
            c->is_touched = false;
        }
}
