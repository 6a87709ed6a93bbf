/*
 * ops.c: the connect handshake and every client request, dispatched by a
 * table indexed by opcode. Reads are answered here from the tree (through
 * the ordered output queue); writes are decoded and handed to commit.c.
 *
 * A request that cannot be decoded closes the connection, as ZooKeeper does
 * when jute deserialisation throws; an opcode zabd does not know answers
 * UNIMPLEMENTED.
 */
#include "server/srv_int.h"

#include <string.h>

typedef struct req {
    conn *c;
    int32_t xid;
    int32_t type;
    wire_rd r;
    wire_wr *w;      /* the reply begun (begin) */
    size_t reply_at; /* where in *w its frame starts */
} req;

static void log_malformed(req *q, const char *what)
{
    srv_log(SRV_LOG_WARN,
            "session 0x%016" PRIx64 " (%s:%d) sent a malformed %s request (xid %d): %s",
            (uint64_t)q->c->session_id, q->c->addr, q->c->port, what, q->xid,
            wire_err_name(wire_rd_err(&q->r)));
}

/* A request whose header could not be read, or an auth packet: the
 * connection is closed, as ZooKeeper does when processPacket throws. */
static void bad_request(req *q, const char *what)
{
    log_malformed(q, what);
    srv_conn_close(q->c, "malformed request");
}

static void reply_err(req *q, int32_t err);

/* A read whose record does not decode: ZooKeeper's FinalRequestProcessor
 * answers MARSHALLINGERROR and keeps the connection. */
static void bad_read(req *q, const char *what)
{
    log_malformed(q, what);
    reply_err(q, ZERR_MARSHALLINGERROR);
}

/* A write whose record does not decode: PrepRequestProcessor has already
 * given it a zxid, so it becomes an ErrorTxn(MARSHALLINGERROR). */
static void bad_write(req *q, const char *what)
{
    log_malformed(q, what);
    srv_commit_error(q->c, q->xid, q->type, ZERR_MARSHALLINGERROR);
}

/* Begins the reply to q, at the last zxid: written straight into the
 * connection's output buffer when it may leave at once, as a read's
 * usually may (outq.c), else into the scratch writer srv_send copies. */
static wire_wr *begin(req *q, int32_t err)
{
    srv *s = q->c->s;
    q->w = srv_out_in_place(s, q->c, s->last_zxid);
    if (q->w == NULL) {
        q->w = &s->reply;
        wire_wr_reset(q->w);
    }
    q->reply_at = q->w->len;
    srv_reply_header(q->w, q->xid, s->last_zxid, err);
    return q->w;
}

/* Overwrites the error code in the header of the reply begun. */
static void set_reply_err(req *q, int32_t err)
{
    wire_wr_patch_i32(q->w, q->reply_at + 16, err);
}

/* Sends the reply begun with begin(): header plus whatever body was
 * written; with close_after, the connection closes once it has left. */
static void finish_then(req *q, bool close_after)
{
    srv *s = q->c->s;
    if (q->w != &s->reply)
        return srv_send_in_place(s, q->c, s->last_zxid, close_after);
    srv_reply_end(&s->reply);
    srv_send(s, q->c, s->last_zxid, &s->reply, close_after);
}

static void finish(req *q)
{
    finish_then(q, false);
}

static void reply_err(req *q, int32_t err)
{
    begin(q, err);
    finish(q);
}

static zt_auth auth_of(const conn *c)
{
    zt_auth a;
    srv_auth_view(c, &a);
    return a;
}

/* ---- reads --------------------------------------------------------------- */

static const zt_node *lookup_readable(req *q, wire_str path, int32_t perm, int *err)
{
    srv *s = q->c->s;
    const zt_node *n = zt_lookup(s->tree, path);
    if (n == NULL) {
        *err = ZERR_NONODE;
        return NULL;
    }
    zt_auth a = auth_of(q->c);
    *err = zt_check_acl(s->tree, n, perm, &a);
    return *err == 0 ? n : NULL;
}

/* A string as ZooKeeper holds it once Java decoded it, and sends it back
 * (wire_java_str): bytes that are not UTF-8 become U+FFFD. Most strings
 * are ASCII and come back as they are; otherwise *buf is a malloc'd copy
 * the caller frees (NULL, and the input returned, when out of memory). */
static wire_str java_form(wire_str in, char **buf)
{
    *buf = NULL;
    int32_t i = 0;
    while (i < in.len && (uint8_t)in.p[i] < 0x80)
        i++;
    if (i >= in.len)
        return in;
    if ((*buf = malloc((size_t)in.len * 3)) == NULL)
        return in;
    size_t n = wire_java_str(in.p, (size_t)in.len, *buf, true);
    return (wire_str){*buf, (int32_t)n};
}

static void add_watch(req *q, enum watch_table t, wire_str path, enum watch_mode m)
{
    char *buf;
    path = java_form(path, &buf);
    if (watch_add(q->c->s->watches, t, path.p, (size_t)path.len, q->c->id, m) != 0)
        srv_log(SRV_LOG_ERROR, "out of memory adding a watch on %.*s", path.len, path.p);
    free(buf);
}

static void op_exists(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    bool watch = wire_rd_bool(&q->r);
    if (wire_rd_err(&q->r) != 0 || path.len < 0)
        return bad_read(q, "exists");
    if (memchr(path.p, '\0', (size_t)path.len) != NULL)
        return reply_err(q, ZERR_BADARGUMENTS);
    const zt_node *n = zt_lookup(q->c->s->tree, path);
    /* An exists watch is set whether or not the node exists. */
    if (watch)
        add_watch(q, WATCH_DATA, path, WATCH_STANDARD);
    if (n == NULL)
        return reply_err(q, ZERR_NONODE);
    wire_stat st;
    zt_node_stat(n, &st);
    wire_wr_stat(begin(q, 0), &st);
    finish(q);
}

static void op_get_data(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    bool watch = wire_rd_bool(&q->r);
    if (wire_rd_err(&q->r) != 0 || path.len < 0)
        return bad_read(q, "getData");
    int err;
    const zt_node *n = lookup_readable(q, path, WIRE_PERM_READ, &err);
    if (n == NULL)
        return reply_err(q, err);
    if (watch)
        add_watch(q, WATCH_DATA, path, WATCH_STANDARD);
    wire_stat st;
    zt_node_stat(n, &st);
    wire_wr *w = begin(q, 0);
    wire_wr_buf(w, zt_node_data(n));
    wire_wr_stat(w, &st);
    finish(q);
}

static void write_children(wire_wr *w, const zt_node *n)
{
    size_t at = w->len;
    int32_t count = 0;
    wire_wr_i32(w, 0);
    /* In ZooKeeper's order; out of memory, in any order. */
    const zt_node **v;
    int32_t k;
    if (zt_node_children(n, &v, &k) == 0) {
        for (count = 0; count < k; count++)
            wire_wr_str(w, zt_node_name(v[count]));
        free(v);
    } else {
        for (const zt_node *c = zt_node_first_child(n); c != NULL; c = zt_node_next_sibling(c)) {
            wire_wr_str(w, zt_node_name(c));
            count++;
        }
    }
    wire_wr_patch_i32(w, at, count);
}

static void op_get_children(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    bool watch = wire_rd_bool(&q->r);
    if (wire_rd_err(&q->r) != 0 || path.len < 0)
        return bad_read(q, "getChildren");
    int err;
    const zt_node *n = lookup_readable(q, path, WIRE_PERM_READ, &err);
    if (n == NULL)
        return reply_err(q, err);
    if (watch)
        add_watch(q, WATCH_CHILD, path, WATCH_STANDARD);
    wire_wr *w = begin(q, 0);
    write_children(w, n);
    if (q->type == WIRE_OP_GETCHILDREN2) {
        wire_stat st;
        zt_node_stat(n, &st);
        wire_wr_stat(w, &st);
    }
    finish(q);
}

static void op_get_acl(req *q)
{
    srv *s = q->c->s;
    wire_str path = wire_rd_str(&q->r);
    if (wire_rd_err(&q->r) != 0 || path.len < 0)
        return bad_read(q, "getACL");
    int err;
    const zt_node *n = lookup_readable(q, path, WIRE_PERM_READ | WIRE_PERM_ADMIN, &err);
    if (n == NULL)
        return reply_err(q, err);
    zt_auth a = auth_of(q->c);
    /* Without ADMIN, ZooKeeper hides digest hashes: "user:x". */
    bool redact = zt_check_acl(s->tree, n, WIRE_PERM_ADMIN, &a) != 0;
    const wire_acl *acl;
    int32_t n_acl;
    zt_node_acl(s->tree, n, &acl, &n_acl);
    wire_wr *w = begin(q, 0);
    wire_wr_i32(w, n_acl);
    for (int32_t i = 0; i < n_acl; i++) {
        wire_wr_i32(w, acl[i].perms);
        wire_wr_str(w, acl[i].scheme);
        wire_str id = acl[i].id;
        if (redact && wire_str_eqc(acl[i].scheme, "digest")) {
            const char *colon = memchr(id.p, ':', (size_t)(id.len > 0 ? id.len : 0));
            if (colon != NULL) {
                wire_wr_i32(w, (int32_t)(colon - id.p) + 2);
                wire_wr_raw(w, id.p, (size_t)(colon - id.p));
                wire_wr_raw(w, ":x", 2);
                continue;
            }
        }
        wire_wr_str(w, id);
    }
    wire_stat st;
    zt_node_stat(n, &st);
    wire_wr_stat(w, &st);
    finish(q);
}

static void op_all_children_number(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    if (wire_rd_err(&q->r) != 0 || path.len < 0)
        return bad_read(q, "getAllChildrenNumber");
    int err;
    const zt_node *n = lookup_readable(q, path, WIRE_PERM_READ, &err);
    if (n == NULL)
        return reply_err(q, err);
    /* DataTree.getAllChildrenNumber counts the tree's keys that start with
     * path + "/". The root is keyed both "" and "/", so "" also counts the
     * "/" key: one more than "/" gives. */
    int64_t count = zt_count_descendants(n) + (path.len == 0 ? 1 : 0);
    wire_wr_i32(begin(q, 0), (int32_t)count);
    finish(q);
}

typedef struct eph_ctx {
    wire_wr *w;
    wire_str prefix;
    int32_t count;
} eph_ctx;

static int add_ephemeral(void *arg, int64_t owner, const zt_node *n)
{
    eph_ctx *e = arg;
    wire_str p = zt_node_path(n);
    /* a null or "/" prefix matches everything (and has no bytes to compare) */
    if (e->prefix.len == 0 ||
        (p.len >= e->prefix.len && memcmp(p.p, e->prefix.p, (size_t)e->prefix.len) == 0)) {
        wire_wr_str(e->w, p);
        e->count++;
    }
    return 0;
}

static void op_get_ephemerals(req *q)
{
    wire_str prefix = wire_rd_str(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_read(q, "getEphemerals");
    /* null, blank or "/" once trimmed means every ephemeral of the
     * session; anything else is matched untrimmed (Java's trim() drops
     * chars up to ' ' at both ends). */
    wire_str t = prefix;
    while (t.len > 0 && (uint8_t)t.p[0] <= ' ') {
        t.p++;
        t.len--;
    }
    while (t.len > 0 && (uint8_t)t.p[t.len - 1] <= ' ')
        t.len--;
    char *buf = NULL;
    if (prefix.len < 0 || t.len == 0 || wire_str_eqc(t, "/"))
        prefix.len = 0;
    else
        prefix = java_form(prefix, &buf);
    wire_wr *w = begin(q, 0);
    size_t at = w->len;
    wire_wr_i32(w, 0);
    eph_ctx e = {w, prefix, 0};
    zt_ephemerals(q->c->s->tree, q->c->session_id, add_ephemeral, &e);
    free(buf);
    wire_wr_patch_i32(w, at, e.count);
    finish(q);
}

static void op_sync(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_read(q, "sync");
    char *buf;
    wire_wr_str(begin(q, 0), java_form(path, &buf));
    free(buf);
    finish(q);
}

void srv_reply_sync(conn *c, int32_t xid, const uint8_t *rec, size_t len)
{
    req q = {.c = c, .xid = xid, .type = WIRE_OP_SYNC};
    wire_rd_init(&q.r, rec, len, c->s->cfg.jute_maxbuffer);
    op_sync(&q);
}

static void op_ping(req *q)
{
    /* FinalRequestProcessor answers every ping with xid -2, whatever xid
     * the request carried. */
    q->xid = WIRE_XID_PING;
    reply_err(q, 0);
}

/* ZooKeeper's watch tables take a null path as a key like any other (no
 * event ever names it); zabd files it under "", which no event names
 * either. */
static wire_str null_path_key(wire_str path)
{
    return path.len < 0 ? (wire_str){"", 0} : path;
}

static void op_watches(req *q)
{
    srv *s = q->c->s;
    wire_str path = wire_rd_str(&q->r);
    int32_t wtype = wire_rd_i32(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_read(q, "removeWatches");
    bool null_path = path.len < 0;
    char *buf;
    path = java_form(null_path_key(path), &buf);
    int rc;
    if (q->type == WIRE_OP_CHECKWATCHES && wtype >= WATCH_TYPE_CHILDREN && wtype <= WATCH_TYPE_ANY)
        rc = watch_check_any(s->watches, path.p, (size_t)path.len, wtype);
    else if (null_path)
        rc = watch_remove(s->watches, path.p, 0, q->c->id, wtype, true);
    else
        rc = watch_remove(s->watches, path.p, (size_t)path.len, q->c->id, wtype,
                          q->type == WIRE_OP_CHECKWATCHES);
    /* WatcherType.fromInt throws on an unknown type. A null path that
     * finds a watch throws too, in ZooKeeper's watch-mode map. */
    free(buf);
    if (rc == ZERR_BADARGUMENTS || (null_path && rc == 0))
        rc = ZERR_MARSHALLINGERROR;
    reply_err(q, rc);
}

static void op_add_watch(req *q)
{
    wire_str path = wire_rd_str(&q->r);
    int32_t mode = wire_rd_i32(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_read(q, "addWatch");
    path = null_path_key(path);
    /* AddWatchMode.fromZooKeeperMode throws on anything else. */
    if (mode != 0 && mode != 1)
        return reply_err(q, ZERR_MARSHALLINGERROR);
    add_watch(q, WATCH_DATA, path, mode == 0 ? WATCH_PERSISTENT : WATCH_RECURSIVE);
    /* ZooKeeper answers addWatch with an ErrorResponse(0) body. */
    wire_wr_i32(begin(q, 0), 0);
    finish(q);
}

static void op_whoami(req *q)
{
    const conn *c = q->c;
    wire_wr *w = begin(q, 0);
    wire_wr_i32(w, c->n_auth);
    for (int32_t i = 0; i < c->n_auth; i++) {
        wire_str user = c->auth[i].id;
        /* AuthUtil.getUser: no user name for a scheme without a provider
         * ("super", or "sasl" without SASLAuthenticationProvider). */
        if (wire_str_eqc(c->auth[i].scheme, "super") ||
            (wire_str_eqc(c->auth[i].scheme, "sasl") && !c->s->cfg.sasl_provider))
            user.len = 0;
        /* ClientInfo carries the provider's user name: for digest, the part
         * before the colon (DigestAuthenticationProvider.getUserName). */
        if (wire_str_eqc(c->auth[i].scheme, "digest")) {
            const char *colon = memchr(user.p, ':', (size_t)user.len);
            if (colon != NULL)
                user.len = (int32_t)(colon - user.p);
        }
        wire_wr_str(w, c->auth[i].scheme);
        wire_wr_str(w, user);
    }
    finish(q);
}

/* setWatches / setWatches2 after a reconnect: fire what the client missed
 * since relativeZxid, register the rest (DataTree.setWatches). */
static void notify(srv *s, conn *c, int32_t type, wire_str path)
{
    srv_reply_begin(&s->reply, WIRE_XID_NOTIFICATION, -1, 0);
    wire_wr_i32(&s->reply, type);
    wire_wr_i32(&s->reply, WIRE_STATE_SYNC_CONNECTED);
    wire_wr_str(&s->reply, path);
    srv_reply_end(&s->reply);
    srv_send(s, c, s->last_zxid, &s->reply, false);
}

static void op_set_watches(req *q)
{
    srv *s = q->c->s;
    int64_t rel = wire_rd_i64(&q->r);
    int n_lists = q->type == WIRE_OP_SETWATCHES2 ? 5 : 3;
    /* Validate the whole record before acting on any of it. */
    wire_rd probe = q->r;
    for (int l = 0; l < n_lists; l++) {
        int32_t n = wire_rd_count(&probe, 4);
        for (int32_t i = 0; i < n; i++)
            (void)wire_rd_str(&probe);
    }
    if (wire_rd_err(&probe) != 0)
        return bad_read(q, "setWatches");
    for (int l = 0; l < n_lists; l++) {
        int32_t n = wire_rd_count(&q->r, 4);
        for (int32_t i = 0; i < n; i++) {
            char *buf;
            wire_str path = java_form(wire_rd_str(&q->r), &buf);
            if (path.len < 0)
                continue;
            const zt_node *node = zt_lookup(s->tree, path);
            wire_stat st;
            if (node != NULL)
                zt_node_stat(node, &st);
            switch (l) {
            case 0: /* data */
                if (node == NULL)
                    notify(s, q->c, WIRE_EVENT_DELETED, path);
                else if (st.mzxid > rel)
                    notify(s, q->c, WIRE_EVENT_DATA_CHANGED, path);
                else
                    add_watch(q, WATCH_DATA, path, WATCH_STANDARD);
                break;
            case 1: /* exist */
                if (node != NULL)
                    notify(s, q->c, WIRE_EVENT_CREATED, path);
                else
                    add_watch(q, WATCH_DATA, path, WATCH_STANDARD);
                break;
            case 2: /* child */
                if (node == NULL)
                    notify(s, q->c, WIRE_EVENT_DELETED, path);
                else if (st.pzxid > rel)
                    notify(s, q->c, WIRE_EVENT_CHILDREN_CHANGED, path);
                else
                    add_watch(q, WATCH_CHILD, path, WATCH_STANDARD);
                break;
            case 3:
                add_watch(q, WATCH_DATA, path, WATCH_PERSISTENT);
                break;
            default:
                add_watch(q, WATCH_DATA, path, WATCH_RECURSIVE);
            }
            free(buf);
        }
    }
    reply_err(q, 0);
}

static void op_auth(req *q)
{
    (void)wire_rd_i32(&q->r);
    wire_str scheme = wire_rd_str(&q->r);
    wire_buf auth = wire_rd_buf(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_request(q, "auth");
    int rc = srv_auth_packet(q->c, scheme, auth);
    srv *s = q->c->s;
    if (rc != 0)
        s->stats.auth_failures++;
    /* The auth reply carries zxid 0 (ZooKeeperServer.processPacket); a
     * failure closes the connection after the reply. */
    srv_reply_begin(&s->reply, q->xid, 0, rc);
    srv_reply_end(&s->reply);
    srv_send(s, q->c, s->last_zxid, &s->reply, rc != 0);
}

/* GetSASLRequest {buffer token}; an undecodable one closes the connection
 * without a reply, as processSasl's deserialisation throws. */
static void op_sasl(req *q)
{
    wire_buf token = wire_rd_buf(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_request(q, "SASL");
    srv_auth_sasl(q->c, q->xid, token);
}

/* ---- writes ---------------------------------------------------------------- */

static void op_write(req *q)
{
    wire_write_req w;
    int rc = wire_write_req_decode(&q->r, q->type, &w);
    if (rc != 0)
        return bad_write(q, "write");
    /* A null path decodes; prep answers it as ZooKeeper's does (its
     * checks throw MARSHALLINGERROR or BADARGUMENTS, with a zxid spent). */
    srv_commit_write(q->c, q->xid, q->type, &w);
    wire_write_req_fini(&w);
}

static bool has_null_path(const wire_multi_req *m)
{
    for (int32_t i = 0; i < m->n_ops; i++)
        if (m->ops[i].path.len < 0)
            return true;
    return false;
}

static void op_multi(req *q)
{
    wire_multi_req m;
    wire_rd again = q->r;
    if (wire_multi_req_decode(&q->r, false, &m) != 0) {
        /* Read ops alone make a valid MultiOperationRecord too; prep then
         * fails on them (MARSHALLINGERROR, a zxid spent), unless a null
         * path makes it throw earlier (srv_commit_multi: a lost zxid). */
        if (wire_multi_req_decode(&again, true, &m) != 0)
            return bad_write(q, "multi");
        if (!has_null_path(&m)) {
            wire_multi_req_fini(&m);
            return bad_write(q, "multi");
        }
    }
    srv_commit_multi(q->c, q->xid, &m);
    wire_multi_req_fini(&m);
}

static void op_multi_read(req *q)
{
    wire_multi_req m;
    wire_rd again = q->r;
    if (wire_multi_req_decode(&q->r, true, &m) != 0) {
        /* A record of write ops only decodes as a MultiOperationRecord
         * (mixing kinds would throw); FinalRequestProcessor then fails on
         * the first op with the MultiResponse already made: an empty one
         * goes out with MARSHALLINGERROR. */
        if (wire_multi_req_decode(&again, false, &m) != 0 || m.n_ops == 0)
            return bad_read(q, "multiRead");
        wire_multi_req_fini(&m);
        log_malformed(q, "multiRead");
        wire_wr *w = begin(q, ZERR_MARSHALLINGERROR);
        wire_wr_i32(w, -1);
        wire_wr_bool(w, true);
        wire_wr_i32(w, -1);
        return finish(q);
    }
    wire_wr *w = begin(q, 0);
    for (int32_t i = 0; i < m.n_ops; i++) {
        const wire_write_req *op = &m.ops[i];
        if (op->path.len < 0) {
            /* The node lookup throws on a null path, outside the per-op
             * catch: MARSHALLINGERROR, with the results gathered so far
             * still in the body (FinalRequestProcessor). */
            set_reply_err(q, ZERR_MARSHALLINGERROR);
            break;
        }
        int err;
        const zt_node *n = lookup_readable(q, op->path, WIRE_PERM_READ, &err);
        if (n == NULL) {
            wire_wr_i32(w, WIRE_OP_ERROR);
            wire_wr_bool(w, false);
            wire_wr_i32(w, err);
            wire_wr_i32(w, err);
            continue;
        }
        wire_wr_i32(w, op->type);
        wire_wr_bool(w, false);
        wire_wr_i32(w, 0);
        if (op->type == WIRE_OP_GETDATA) {
            wire_stat st;
            zt_node_stat(n, &st);
            wire_wr_buf(w, zt_node_data(n));
            wire_wr_stat(w, &st);
        } else {
            write_children(w, n);
        }
    }
    wire_wr_i32(w, -1);
    wire_wr_bool(w, true);
    wire_wr_i32(w, -1);
    wire_multi_req_fini(&m);
    finish(q);
}

static void op_reconfig(req *q)
{
    /* ReconfigRequest {ustring joiningServers, leavingServers, newMembers;
     * long curConfigId}: ZooKeeper reads it before prep takes a zxid, so a
     * record that does not parse is MARSHALLINGERROR with none spent. */
    (void)wire_rd_str(&q->r);
    (void)wire_rd_str(&q->r);
    (void)wire_rd_str(&q->r);
    (void)wire_rd_i64(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_read(q, "reconfig");
    /* A standalone ZooKeeper preps reconfig into an ErrorTxn: disabled by
     * default (reconfigEnabled=false), unimplemented when enabled. */
    srv_commit_error(q->c, q->xid, q->type,
                     q->c->s->cfg.reconfig_enabled ? ZERR_UNIMPLEMENTED : ZERR_RECONFIGDISABLED);
}

static void op_delete_container(req *q)
{
    /* ZooKeeper's prep reads a client's deleteContainer path from the whole
     * request buffer, header included, so it always holds NULs: the
     * request becomes an ErrorTxn(BADARGUMENTS) and the connection stays. */
    srv_commit_error(q->c, q->xid, q->type, ZERR_BADARGUMENTS);
}

static void op_create_session(req *q)
{
    /* ZooKeeper lists createSession as a valid request type; its prep
     * reads an int timeout from the body (a shorter body throws:
     * MARSHALLINGERROR), logs a CreateSessionTxn for the connection's
     * session and answers with a ConnectResponse. The connection stays. */
    int32_t timeout = wire_rd_i32(&q->r);
    if (wire_rd_err(&q->r) != 0)
        return bad_write(q, "createSession");
    srv_commit_session_again(q->c, q->xid, timeout);
}

static void op_close(req *q)
{
    srv_commit_close_session(q->c->s, q->c, q->xid, q->c->session_id);
}

/* ---- dispatch ------------------------------------------------------------- */

typedef struct op_entry {
    const char *name;
    void (*fn)(req *q);
} op_entry;

static const op_entry ops[] = {
    [WIRE_OP_CREATE] = {"create", op_write},
    [WIRE_OP_DELETE] = {"delete", op_write},
    [WIRE_OP_EXISTS] = {"exists", op_exists},
    [WIRE_OP_GETDATA] = {"getData", op_get_data},
    [WIRE_OP_SETDATA] = {"setData", op_write},
    [WIRE_OP_GETACL] = {"getACL", op_get_acl},
    [WIRE_OP_SETACL] = {"setACL", op_write},
    [WIRE_OP_GETCHILDREN] = {"getChildren", op_get_children},
    [WIRE_OP_SYNC] = {"sync", op_sync},
    [WIRE_OP_PING] = {"ping", op_ping},
    [WIRE_OP_GETCHILDREN2] = {"getChildren2", op_get_children},
    [WIRE_OP_CHECK] = {"check", op_write},
    [WIRE_OP_MULTI] = {"multi", op_multi},
    [WIRE_OP_CREATE2] = {"create2", op_write},
    [WIRE_OP_RECONFIG] = {"reconfig", op_reconfig},
    [WIRE_OP_CHECKWATCHES] = {"checkWatches", op_watches},
    [WIRE_OP_REMOVEWATCHES] = {"removeWatches", op_watches},
    [WIRE_OP_CREATECONTAINER] = {"createContainer", op_write},
    [WIRE_OP_DELETECONTAINER] = {"deleteContainer", op_delete_container},
    [WIRE_OP_CREATETTL] = {"createTTL", op_write},
    [WIRE_OP_MULTIREAD] = {"multiRead", op_multi_read},
    [WIRE_OP_AUTH] = {"auth", op_auth},
    [WIRE_OP_SASL] = {"sasl", op_sasl},
    [WIRE_OP_SETWATCHES] = {"setWatches", op_set_watches},
    [WIRE_OP_GETEPHEMERALS] = {"getEphemerals", op_get_ephemerals},
    [WIRE_OP_GETALLCHILDRENNUMBER] = {"getAllChildrenNumber", op_all_children_number},
    [WIRE_OP_SETWATCHES2] = {"setWatches2", op_set_watches},
    [WIRE_OP_ADDWATCH] = {"addWatch", op_add_watch},
    [WIRE_OP_WHOAMI] = {"whoAmI", op_whoami},
};

/* The requests a learner hands to its leader (FollowerRequestProcessor's
 * list): every write, the session txns and sync. */
static bool is_forwarded(int32_t type)
{
    switch (type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_DELETE:
    case WIRE_OP_SETDATA:
    case WIRE_OP_SETACL:
    case WIRE_OP_SYNC:
    case WIRE_OP_CHECK:
    case WIRE_OP_MULTI:
    case WIRE_OP_CREATE2:
    case WIRE_OP_RECONFIG:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_DELETECONTAINER:
    case WIRE_OP_CREATETTL:
    case WIRE_OP_CREATESESSION:
    case WIRE_OP_CLOSESESSION:
        return true;
    }
    return false;
}

/* Runs q once its header is read and the session checked. */
static void run_op(req *q)
{
    srv *s = q->c->s;
    if (q->type == WIRE_OP_CLOSESESSION)
        return op_close(q);
    if (q->type == WIRE_OP_CREATESESSION)
        return op_create_session(q);
    const op_entry *op =
        q->type >= 0 && (size_t)q->type < sizeof ops / sizeof ops[0] ? &ops[q->type] : NULL;
    if (op == NULL || op->fn == NULL) {
        /* UnimplementedRequestProcessor: the error with the zxid of a
         * request that never got one (-1), then the connection is closed. */
        srv_log(SRV_LOG_WARN, "session 0x%016" PRIx64 " sent unknown opcode %d (xid %d)",
                (uint64_t)q->c->session_id, q->type, q->xid);
        srv_reply_begin(&s->reply, q->xid, -1, ZERR_UNIMPLEMENTED);
        srv_reply_end(&s->reply);
        srv_send(s, q->c, s->last_zxid, &s->reply, true);
        return;
    }
    op->fn(q);
}

/* A leader's PrepRequestProcessor.checkSession for a write (local, or a
 * learner's REQUEST; the session txns are not checked): an unknown,
 * closing or moved session gets an ErrorTxn, which is how a learner learns
 * of it too. true: refused and answered. */
static bool session_refused(req *q)
{
    if (q->type == WIRE_OP_CLOSESESSION || q->type == WIRE_OP_CREATESESSION)
        return false;
    int rc = srv_ens_check_owner(q->c->s, q->c);
    if (rc == 0)
        return false;
    srv_log(SRV_LOG_INFO, "session 0x%016" PRIx64 " via %s, opcode %d: %s",
            (uint64_t)q->c->session_id, q->c->is_remote ? q->c->addr : "me", q->type,
            wire_err_name(rc));
    srv_commit_error(q->c, q->xid, q->type, rc);
    return true;
}

void srv_dispatch(conn *c, const uint8_t *p, size_t len)
{
    srv *s = c->s;
    req q = {.c = c};
    if (len < 8) {
        wire_rd_init(&q.r, p, len, s->cfg.jute_maxbuffer);
        (void)wire_rd_i32(&q.r);
        (void)wire_rd_i32(&q.r);
        return bad_request(&q, "header of a");
    }
    /* The header straight from the frame: two fields read through the
     * reader and copied out as one was a store-forwarding stall per
     * request. */
    q.xid = (int32_t)wire_get_be32(p);
    q.type = (int32_t)wire_get_be32(p + 4);
    wire_rd_init(&q.r, p + 8, len - 8, s->cfg.jute_maxbuffer);
    bool learner = srv_ens_is_learner(s);
    /* A learner answers a session's requests in order: a read waits for the
     * writes before it to come back from the leader (forward.c). */
    if (learner && srv_fwd_queue_frame(c, is_forwarded(q.type), p, len))
        return;
    c->req_op = q.type;
    c->req_xid = q.xid;
    /* ZooTrace.CLIENT_REQUEST_TRACE_MASK: like ZooKeeper's TRACE lines,
     * printed only when the log level admits them (asked first: this is
     * every request). */
    if ((s->trace_mask & 2) && srv_log_on(SRV_LOG_DEBUG))
        srv_log(SRV_LOG_DEBUG, "request session 0x%016" PRIx64 " xid %d opcode %d",
                (uint64_t)c->session_id, q.xid, q.type);
    c->is_touched = true; /* a learner reports it in its next PING */
    /* Once per batch: its frames arrived together, so a second touch would
     * find the deadline the first set (touch_epoch, srv_int.h). */
    if (c->touch_epoch != s->touch_epoch) {
        if (sess_touch(s->sessions, c->session_id, s->batch_us / 1000) != 0) {
            if (q.type != WIRE_OP_CLOSESESSION) {
                /* The session expired or is closing under this connection:
                 * nothing is done for the request, and the connection
                 * closes once what was answered before it has left (the
                 * reply to a pipelined closeSession among it, as
                 * ZooKeeper sends it). */
                srv_log(SRV_LOG_INFO,
                        "session 0x%016" PRIx64 " (%s:%d) is expired or closing: "
                        "request xid %d answered SESSIONEXPIRED",
                        (uint64_t)c->session_id, c->addr, c->port, q.xid);
                begin(&q, ZERR_SESSIONEXPIRED);
                return finish_then(&q, true);
            }
        } else {
            c->touch_epoch = s->touch_epoch;
        }
    }
    if (q.type != WIRE_OP_AUTH && q.type != WIRE_OP_SASL && !srv_auth_enforced_ok(c)) {
        /* AuthenticationHelper.enforceAuthentication */
        srv_log(SRV_LOG_ERROR,
                "session 0x%016" PRIx64 " (%s:%d) is not authenticated with a scheme "
                "enforce.auth.schemes requires; closing it",
                (uint64_t)c->session_id, c->addr, c->port);
        srv_reply_begin(&s->reply, q.xid, 0, ZERR_SESSIONCLOSEDREQUIRESASLAUTH);
        srv_reply_end(&s->reply);
        srv_send(s, c, s->last_zxid, &s->reply, true);
        return;
    }
    if (learner && is_forwarded(q.type)) {
        c->req_is_update = true;
        srv_fwd_request(c, q.xid, q.type, p + 8, len - 8);
        return;
    }
    /* A leader checks its own clients' sessions as a learner's. */
    if (s->ens != NULL && is_forwarded(q.type) && session_refused(&q))
        return;
    run_op(&q);
}

void srv_dispatch_remote(conn *c, int32_t xid, int32_t type, const uint8_t *rec, size_t len)
{
    srv *s = c->s;
    req q = {.c = c, .xid = xid, .type = type};
    wire_rd_init(&q.r, rec, len, s->cfg.jute_maxbuffer);
    if (!is_forwarded(type) || type == WIRE_OP_SYNC) {
        /* A learner forwards only these (sync is ensemble.c's). Nothing
         * comes back to it for this request. */
        srv_log(SRV_LOG_WARN,
                "%s sent REQUEST opcode %d (session 0x%016" PRIx64 ", xid %d): "
                "not a forwarded request, ignored",
                c->addr, type, (uint64_t)c->session_id, xid);
        return;
    }
    if (type == WIRE_OP_CREATESESSION && !sess_exists(s->sessions, c->session_id)) {
        /* The learner minted the id; the body is the negotiated timeout. */
        int32_t timeout = wire_rd_i32(&q.r);
        if (wire_rd_err(&q.r) != 0 || timeout <= 0) {
            srv_log(SRV_LOG_WARN, "%s sent a malformed createSession for 0x%016" PRIx64, c->addr,
                    (uint64_t)c->session_id);
            return srv_commit_error(c, xid, type, ZERR_MARSHALLINGERROR);
        }
        if (srv_commit_create_session(s, c, c->session_id, timeout) != 0)
            srv_log(SRV_LOG_ERROR, "cannot create session 0x%016" PRIx64 " for %s",
                    (uint64_t)c->session_id, c->addr);
        return;
    }
    if (!session_refused(&q))
        run_op(&q);
}

/* ---- handshake ---------------------------------------------------------------- */

void srv_send_connect_resp(srv *s, conn *c, int64_t zxid, int32_t timeout_ms, int64_t session_id,
                           bool valid)
{
    uint8_t pw[SESS_PASSWORD_LEN] = {0};
    if (valid)
        sess_password(session_id, pw);
    wire_wr_reset(&s->reply);
    wire_wr_i32(&s->reply, 0);
    wire_connect_resp_encode(&s->reply, valid ? timeout_ms : 0, valid ? session_id : 0, pw,
                             SESS_PASSWORD_LEN, !c->old_client);
    srv_reply_end(&s->reply);
    srv_send(s, c, zxid, &s->reply, !valid);
}

void srv_handshake(conn *c, const uint8_t *p, size_t len)
{
    srv *s = c->s;
    wire_rd r;
    wire_connect_req q;
    if (!srv_is_serving(s)) {
        /* ZooKeeper closes a client of a server that is not running
         * (NIOServerCnxn.readConnectRequest: "ZooKeeperServer not running"). */
        srv_log(SRV_LOG_INFO, "closing client %s:%d: ZooKeeperServer not running (state %s: %s)",
                c->addr, c->port, srv_ens_state(s), srv_ens_not_serving_why(s));
        srv_conn_close(c, "ZooKeeperServer not running");
        return;
    }
    wire_rd_init(&r, p, len, s->cfg.jute_maxbuffer);
    if (wire_connect_req_decode(&r, &q) != 0) {
        srv_log(SRV_LOG_WARN, "client %s:%d sent a malformed connect request", c->addr, c->port);
        srv_conn_close(c, "malformed connect request");
        return;
    }
    c->old_client = !q.has_read_only;
    if (q.last_zxid_seen > s->last_zxid) {
        srv_log(SRV_LOG_WARN,
                "refusing session request for client %s:%d as it has seen zxid 0x%" PRIx64
                " our last zxid is 0x%" PRIx64,
                c->addr, c->port, (uint64_t)q.last_zxid_seen, (uint64_t)s->last_zxid);
        srv_conn_close(c, "client is ahead of the server");
        return;
    }
    int32_t timeout = sess_negotiate_timeout(q.timeout_ms, s->cfg.min_session_timeout_ms,
                                             s->cfg.max_session_timeout_ms);
    if (q.session_id == 0) {
        if (srv_ens_is_learner(s))
            srv_fwd_connect(c, sess_id_next(s->sessions), timeout);
        else if (srv_commit_create_session(s, c, sess_id_next(s->sessions), timeout) != 0)
            srv_conn_close(c, "cannot create a session");
        return;
    }
    /* ZooKeeper drops the session's current connection first, before it
     * checks the password (processConnectRequest: closeSession, then
     * reopenSession). The session itself lives on. */
    conn *old = srv_conn_by_session(s, q.session_id);
    if (old != NULL && old != c)
        srv_conn_close(old, "client reconnected elsewhere");
    bool pw_ok =
        q.passwd.len >= 0 && sess_password_ok(q.session_id, q.passwd.p, (size_t)q.passwd.len);
    if (pw_ok && srv_ens_is_learner(s)) {
        /* The leader knows whether the session lives (Learner.validateSession). */
        srv_fwd_revalidate(c, q.session_id, timeout);
        return;
    }
    bool ok = sess_exists(s->sessions, q.session_id) &&
              !sess_is_closing(s->sessions, q.session_id) && pw_ok;
    if (!ok) {
        srv_log(SRV_LOG_INFO, "invalid session 0x%016" PRIx64 " for client %s:%d, probably expired",
                (uint64_t)q.session_id, c->addr, c->port);
        srv_send_connect_resp(s, c, s->last_zxid, 0, 0, false);
        return;
    }
    sess_touch(s->sessions, q.session_id, srv_now_ms());
    srv_ens_set_owner(s, c, q.session_id); /* a leader: it is mine now */
    c->session_id = q.session_id;
    c->timeout_ms = timeout;
    c->handshaken = true;
    srv_idmap_put(&s->conn_by_session, (uint64_t)q.session_id, c);
    srv_log(SRV_LOG_INFO, "reconnected session 0x%016" PRIx64 " from %s:%d", (uint64_t)q.session_id,
            c->addr, c->port);
    srv_send_connect_resp(s, c, s->last_zxid, timeout, q.session_id, true);
}
