/*
 * snapshot.c: the tree (and the session list handed in) to bytes and back.
 * The layout is documented in zt.h above zt_snapshot_encode; it follows
 * ZooKeeper's serialised DataTree (sessions, ACL cache, nodes in pre-order
 * ending with "/"). Decoding treats the bytes as untrusted.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

enum { FLUSH_AT = 64 * 1024 };

typedef struct enc {
    wire_wr w;
    int (*emit)(void *arg, const void *p, size_t n);
    void *arg;
    int rc;
} enc;

static void enc_flush(enc *e, bool force)
{
    if (e->rc == 0 && wire_wr_err(&e->w) != 0)
        e->rc = ZERR_NOMEM;
    if (e->rc != 0 || (!force && e->w.len < FLUSH_AT) || e->w.len == 0)
        return;
    e->rc = e->emit(e->arg, e->w.p, e->w.len);
    wire_wr_reset(&e->w);
}

static void enc_node(enc *e, const zt_node *n)
{
    wire_str path = {n->path, (int32_t)n->path_len};
    wire_buf data = {n->data, n->data_len};
    wire_wr_str(&e->w, path);
    wire_wr_buf(&e->w, data);
    wire_wr_i64(&e->w, (int64_t)n->acl);
    wire_wr_i64(&e->w, n->czxid);
    wire_wr_i64(&e->w, n->mzxid);
    wire_wr_i64(&e->w, n->ctime);
    wire_wr_i64(&e->w, n->mtime);
    wire_wr_i32(&e->w, n->version);
    wire_wr_i32(&e->w, n->cversion);
    wire_wr_i32(&e->w, n->aversion);
    wire_wr_i64(&e->w, n->owner);
    wire_wr_i64(&e->w, n->pzxid);
    enc_flush(e, false);
}

int zt_snapshot_encode(const zt_tree *t, const zt_session_rec *sessions, size_t n_sessions,
                       int (*emit)(void *arg, const void *p, size_t n), void *arg)
{
    enc e = {.emit = emit, .arg = arg};
    wire_wr_init(&e.w);
    wire_wr_i32(&e.w, (int32_t)n_sessions);
    for (size_t i = 0; i < n_sessions; i++) {
        wire_wr_i64(&e.w, sessions[i].id);
        wire_wr_i32(&e.w, sessions[i].timeout_ms);
        enc_flush(&e, false);
    }
    int32_t n_acls = 0;
    for (size_t i = 0; i < t->n_acls; i++)
        n_acls += t->acls[i].refs > 0;
    wire_wr_i32(&e.w, n_acls);
    for (size_t i = 0; i < t->n_acls; i++)
        if (t->acls[i].refs > 0) {
            wire_wr_i64(&e.w, (int64_t)i);
            wire_wr_acls(&e.w, t->acls[i].acl, t->acls[i].n);
        }
    /* Pre-order walk: a parent is always written before its children. */
    const zt_node *n = t->root;
    enc_node(&e, n);
    const zt_node *c = n->child;
    while (c != NULL && e.rc == 0) {
        enc_node(&e, c);
        if (c->child != NULL) {
            c = c->child;
            continue;
        }
        while (c != n && c->next == NULL)
            c = c->parent;
        if (c == n)
            break;
        c = c->next;
    }
    wire_wr_cstr(&e.w, "/");
    wire_wr_i64(&e.w, t->last_zxid);
    enc_flush(&e, true);
    wire_wr_fini(&e.w);
    return e.rc;
}

typedef struct acl_map {
    int64_t *from;
    uint32_t *to;
    int32_t n;
} acl_map;

static int read_acls(wire_rd *r, zt_tree *t, acl_map *m)
{
    int32_t n = wire_rd_count(r, 12);
    if (r->err != 0)
        return ZERR_CORRUPT;
    m->from = calloc((size_t)(n ? n : 1), sizeof *m->from);
    m->to = calloc((size_t)(n ? n : 1), sizeof *m->to);
    if (m->from == NULL || m->to == NULL)
        return ZERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        m->from[i] = wire_rd_i64(r);
        int32_t k = wire_rd_count(r, 12);
        wire_acl *acl = calloc((size_t)(k ? k : 1), sizeof *acl);
        if (acl == NULL)
            return ZERR_NOMEM;
        for (int32_t j = 0; j < k; j++) {
            acl[j].perms = wire_rd_i32(r);
            acl[j].scheme = wire_rd_str(r);
            acl[j].id = wire_rd_str(r);
        }
        int rc = r->err != 0 ? ZERR_CORRUPT : zt_acl_intern(t, acl, k, &m->to[i]);
        free(acl);
        if (rc != 0)
            return rc;
        m->n = i + 1;
    }
    return 0;
}

static int read_node(wire_rd *r, zt_tree *t, const acl_map *m, wire_str path)
{
    wire_buf data = wire_rd_buf(r);
    int64_t acl_index = wire_rd_i64(r);
    zt_node tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.czxid = wire_rd_i64(r);
    tmp.mzxid = wire_rd_i64(r);
    tmp.ctime = wire_rd_i64(r);
    tmp.mtime = wire_rd_i64(r);
    tmp.version = wire_rd_i32(r);
    tmp.cversion = wire_rd_i32(r);
    tmp.aversion = wire_rd_i32(r);
    tmp.owner = wire_rd_i64(r);
    tmp.pzxid = wire_rd_i64(r);
    if (r->err != 0 || path.len <= 0 || path.p[0] != '/')
        return ZERR_CORRUPT;
    int32_t k = 0;
    while (k < m->n && m->from[k] != acl_index)
        k++;
    if (k == m->n)
        return ZERR_CORRUPT;
    zt_node *n = zt_find(t, path.p, (size_t)path.len);
    if (n != NULL) {
        /* One of the nodes zt_new made: take the snapshot's state. */
        if (zt_node_set_data(t, n, data.p, data.len) != 0)
            return ZERR_NOMEM;
        zt_acl_release(t, n->acl);
    } else {
        if (path.len == 1)
            return ZERR_CORRUPT;
        size_t plen = zt_parent_len(path.p, (size_t)path.len);
        zt_node *parent = zt_find(t, path.p, plen);
        if (parent == NULL)
            return ZERR_CORRUPT;
        n = zt_node_insert(t, parent, path.p, (size_t)path.len, data.p, data.len);
        if (n == NULL)
            return ZERR_NOMEM;
    }
    n->acl = m->to[k];
    zt_acl_retain(t, n->acl);
    n->czxid = tmp.czxid;
    n->mzxid = tmp.mzxid;
    n->ctime = tmp.ctime;
    n->mtime = tmp.mtime;
    n->version = tmp.version;
    n->cversion = tmp.cversion;
    n->aversion = tmp.aversion;
    n->pzxid = tmp.pzxid;
    if (n->owner == 0 && tmp.owner != 0) {
        n->owner = tmp.owner;
        return zt_index_add(t, n);
    }
    return 0;
}

int zt_snapshot_decode(const uint8_t *p, size_t len, int32_t max_len,
                       int (*fn)(void *arg, int64_t id, int32_t timeout_ms), void *arg,
                       zt_tree **out)
{
    int rc = ZERR_CORRUPT;
    acl_map m = {0};
    wire_rd r;
    wire_rd_init(&r, p, len, max_len);
    zt_tree *t = zt_new();
    if (t == NULL)
        return ZERR_NOMEM;
    int32_t n_sessions = wire_rd_count(&r, 12);
    for (int32_t i = 0; i < n_sessions && r.err == 0; i++) {
        int64_t id = wire_rd_i64(&r);
        int32_t timeout = wire_rd_i32(&r);
        if (r.err == 0 && (rc = fn(arg, id, timeout)) != 0)
            goto out;
    }
    rc = ZERR_CORRUPT;
    if (r.err != 0)
        goto out;
    if ((rc = read_acls(&r, t, &m)) != 0)
        goto out;
    bool first = true;
    for (;;) {
        wire_str path = wire_rd_str(&r);
        if (r.err != 0) {
            rc = ZERR_CORRUPT;
            goto out;
        }
        if (!first && wire_str_eqc(path, "/"))
            break;
        if (first != wire_str_eqc(path, "/")) {
            rc = ZERR_CORRUPT;
            goto out;
        }
        first = false;
        if ((rc = read_node(&r, t, &m, path)) != 0)
            goto out;
    }
    t->last_zxid = wire_rd_i64(&r);
    rc = r.err != 0 || wire_rd_left(&r) != 0 ? ZERR_CORRUPT : 0;
    /* ACL entries referenced by no node were only kept alive by the map. */
out:
    if (m.to != NULL)
        for (int32_t i = 0; i < m.n; i++)
            zt_acl_release(t, m.to[i]);
    free(m.from);
    free(m.to);
    if (rc != 0) {
        zt_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
