/*
 * snapshot.c: the tree (and the session list handed in) to the DataTree
 * stream of an Apache ZooKeeper 3.8 snapshot file, and back.
 *
 * This is the part of the file between ZooKeeper's FileHeader and its first
 * checksum (storage/snapfile.c writes those), the bytes of
 * SerializeUtils.serializeSnapshot. All integers big-endian, strings and
 * buffers as jute writes them (int length, then the bytes; -1 for null):
 *
 *   int    n_sessions                       SerializeUtils: the session map
 *   { long id; int timeout_ms } * n_sessions
 *   int    n_acl_lists                      ReferenceCountedACLCache.serialize
 *   { long index;
 *     int n; { int perms; ustring scheme; ustring id } * n } * n_acl_lists
 *   { ustring path;                         DataTree.serializeNode: pre-order,
 *     buffer  data;                         a parent before its children,
 *     long    acl;                          the root as "" (then "/zookeeper",
 *     StatPersisted { long czxid, mzxid,    "/zookeeper/quota", ... as full
 *       ctime, mtime; int version,          paths); acl is an index of the
 *       cversion, aversion;                 ACL cache, or -1 for
 *       long ephemeralOwner, pzxid } } *    OPEN_ACL_UNSAFE
 *   ustring "/"                             the end marker
 *
 * We write every node, /zookeeper, /zookeeper/quota and /zookeeper/config
 * included, as ZooKeeper does (it rebuilds its tree from the snapshot alone,
 * so leaving them out would lose the config node's ACL). ACL indexes are our
 * table slots plus one, so -1 and 0 never appear; sessions come in no
 * particular order, children in ZooKeeper's (zt_node_children).
 *
 * Decoding treats the bytes as untrusted: every length is bounded, a node
 * whose parent has not been seen, an unknown ACL index or trailing bytes
 * give ZERR_CORRUPT and no tree. Nodes zt_new() creates that the snapshot
 * also holds take the snapshot's state.
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
    /* DataTree files the root under "" and serialises it by that name. */
    wire_str path = {n->path, n->parent == NULL ? 0 : (int32_t)n->path_len};
    wire_buf data = {n->data, n->data_len};
    wire_wr_str(&e->w, path);
    wire_wr_buf(&e->w, data);
    wire_wr_i64(&e->w, (int64_t)n->acl + 1);
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

typedef struct walk_frame {
    const zt_node **v; /* the children, in ZooKeeper's order */
    int32_t n, i;
} walk_frame;

static int push_children(walk_frame **stack, size_t *cap, size_t *depth, const zt_node *n)
{
    if (n->num_children == 0)
        return 0;
    if (wire_reserve((void **)stack, cap, *depth, sizeof **stack) != 0)
        return ZERR_NOMEM;
    walk_frame *f = &(*stack)[*depth];
    if (zt_node_children(n, &f->v, &f->n) != 0)
        return ZERR_NOMEM;
    f->i = 0;
    (*depth)++;
    return 0;
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
            wire_wr_i64(&e.w, (int64_t)i + 1);
            wire_wr_acls(&e.w, t->acls[i].acl, t->acls[i].n);
            enc_flush(&e, false);
        }
    /* Pre-order walk, a parent before its children and the children in
     * ZooKeeper's order (DataTree.serializeNode walks its HashSet), so a
     * tree rebuilt from the file lists them as ZooKeeper's rebuilt one
     * would. One frame per level on the way down. */
    walk_frame *stack = NULL;
    size_t depth = 0, cap = 0;
    enc_node(&e, t->root);
    if (push_children(&stack, &cap, &depth, t->root) != 0)
        e.rc = ZERR_NOMEM;
    while (depth > 0 && e.rc == 0) {
        walk_frame *f = &stack[depth - 1];
        if (f->i == f->n) {
            free(f->v);
            depth--;
            continue;
        }
        const zt_node *c = f->v[f->i++];
        enc_node(&e, c);
        if (push_children(&stack, &cap, &depth, c) != 0)
            e.rc = ZERR_NOMEM;
    }
    while (depth > 0)
        free(stack[--depth].v);
    free(stack);
    wire_wr_cstr(&e.w, "/");
    enc_flush(&e, true);
    wire_wr_fini(&e.w);
    return e.rc;
}

/* The snapshot's ACL indexes, sorted, mapped to our table slots. */
typedef struct acl_pair {
    int64_t from;
    uint32_t to;
} acl_pair;

typedef struct acl_map {
    acl_pair *v;
    int32_t n;
    bool has_open; /* slot `open` holds OPEN_ACL_UNSAFE for index -1 */
    uint32_t open;
} acl_map;

static int pair_cmp(const void *a, const void *b)
{
    int64_t x = ((const acl_pair *)a)->from, y = ((const acl_pair *)b)->from;
    return x < y ? -1 : x > y;
}

static int read_acls(wire_rd *r, zt_tree *t, acl_map *m)
{
    int32_t n = wire_rd_count(r, 12);
    if (r->err != 0)
        return ZERR_CORRUPT;
    m->v = calloc((size_t)(n ? n : 1), sizeof *m->v);
    if (m->v == NULL)
        return ZERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        m->v[i].from = wire_rd_i64(r);
        int32_t k = wire_rd_count(r, 12);
        wire_acl *acl = calloc((size_t)(k ? k : 1), sizeof *acl);
        if (acl == NULL)
            return ZERR_NOMEM;
        for (int32_t j = 0; j < k; j++) {
            acl[j].perms = wire_rd_i32(r);
            acl[j].scheme = wire_rd_str(r);
            acl[j].id = wire_rd_str(r);
            if (acl[j].scheme.len < 0 || acl[j].id.len < 0)
                r->err = ZERR_CORRUPT;
        }
        int rc = r->err != 0 ? ZERR_CORRUPT : zt_acl_intern(t, acl, k, &m->v[i].to);
        free(acl);
        if (rc != 0)
            return rc;
        m->n = i + 1;
    }
    qsort(m->v, (size_t)m->n, sizeof *m->v, pair_cmp);
    for (int32_t i = 1; i < m->n; i++)
        if (m->v[i].from == m->v[i - 1].from)
            return ZERR_CORRUPT;
    return 0;
}

static int acl_lookup(zt_tree *t, acl_map *m, int64_t index, uint32_t *slot)
{
    if (index == -1) {
        /* ReferenceCountedACLCache: -1 is OPEN_ACL_UNSAFE without an entry. */
        static const wire_acl open[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
        if (!m->has_open) {
            int rc = zt_acl_intern(t, open, 1, &m->open);
            if (rc != 0)
                return rc;
            m->has_open = true;
        }
        *slot = m->open;
        return 0;
    }
    acl_pair key = {index, 0};
    const acl_pair *p = bsearch(&key, m->v, (size_t)m->n, sizeof *m->v, pair_cmp);
    if (p == NULL)
        return ZERR_CORRUPT;
    *slot = p->to;
    return 0;
}

static int read_node(wire_rd *r, zt_tree *t, acl_map *m, wire_str path)
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
    if (r->err != 0)
        return ZERR_CORRUPT;
    if (path.len == 0)
        path = (wire_str){"/", 1};
    else if (zt_path_validate(path) != 0)
        return ZERR_CORRUPT;
    uint32_t slot;
    int rc = acl_lookup(t, m, acl_index, &slot);
    if (rc != 0)
        return rc;
    zt_node *n = zt_find(t, path.p, (size_t)path.len);
    if (n != NULL) {
        /* One of the nodes zt_new made, or a repeated path: the
         * snapshot's state wins, as ZooKeeper's nodes.put does. */
        zt_digest_sub(t, n);
        rc = zt_node_set_data(t, n, data.p, data.len);
        zt_acl_release(t, n->acl);
        n->acl = slot;
        zt_acl_retain(t, n->acl);
        if (rc != 0) {
            zt_digest_add(t, n);
            return ZERR_NOMEM;
        }
    } else {
        size_t plen = zt_parent_len(path.p, (size_t)path.len);
        zt_node *parent = zt_find(t, path.p, plen);
        if (parent == NULL)
            return ZERR_CORRUPT;
        n = zt_node_insert(t, parent, path.p, (size_t)path.len, data.p, data.len);
        if (n == NULL)
            return ZERR_NOMEM;
        n->acl = slot;
        zt_acl_retain(t, n->acl);
    }
    n->czxid = tmp.czxid;
    n->mzxid = tmp.mzxid;
    n->ctime = tmp.ctime;
    n->mtime = tmp.mtime;
    n->version = tmp.version;
    n->cversion = tmp.cversion;
    n->aversion = tmp.aversion;
    n->pzxid = tmp.pzxid;
    bool index = n->owner == 0 && tmp.owner != 0;
    if (index)
        n->owner = tmp.owner;
    zt_digest_add(t, n);
    return index ? zt_index_add(t, n) : 0;
}

int zt_snapshot_decode(const uint8_t *p, size_t len, int32_t max_len, int64_t zxid,
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
        if (r.err == 0 && fn != NULL && (rc = fn(arg, id, timeout)) != 0)
            goto out;
    }
    rc = ZERR_CORRUPT;
    if (r.err != 0)
        goto out;
    if ((rc = read_acls(&r, t, &m)) != 0)
        goto out;
    /* ZooKeeper's reader stops at the first "/", so the root ("") must
     * come first and "/" can only be the end marker. */
    for (bool first = true;; first = false) {
        wire_str path = wire_rd_str(&r);
        rc = ZERR_CORRUPT;
        if (r.err != 0 || path.len < 0 || first != (path.len == 0))
            goto out;
        if (wire_str_eqc(path, "/"))
            break;
        if ((rc = read_node(&r, t, &m, path)) != 0)
            goto out;
    }
    t->last_zxid = zxid;
    rc = wire_rd_left(&r) != 0 ? ZERR_CORRUPT : 0;
    if (rc == 0)
        rc = zt_quota_setup(t); /* DataTree.deserialize ends with setupQuota */
out:
    /* ACL entries referenced by no node were only kept alive by the map
     * (ReferenceCountedACLCache.purgeUnused). */
    for (int32_t i = 0; i < m.n; i++)
        zt_acl_release(t, m.v[i].to);
    if (m.has_open)
        zt_acl_release(t, m.open);
    free(m.v);
    if (rc != 0) {
        zt_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ---- the end of a stream (zt_snapshot_scan) -------------------------------------- */

enum { SCAN_COUNT = 0, SCAN_SESSIONS, SCAN_ACL_COUNT, SCAN_ACLS, SCAN_NODES };

/* Passes one whole item at r (its phase's), or leaves r short. */
static void scan_acl_list(wire_rd *r)
{
    (void)wire_rd_i64(r);
    int32_t n = wire_rd_count(r, 12);
    for (int32_t i = 0; i < n && r->err == 0; i++) {
        (void)wire_rd_i32(r);
        (void)wire_rd_str(r);
        (void)wire_rd_str(r);
    }
}

int zt_snapshot_scan(zt_snapshot_scanner *sc, const uint8_t *p, size_t avail, int32_t max_len,
                     size_t *len)
{
    for (;;) {
        wire_rd r;
        if (sc->off > avail)
            return ZERR_CORRUPT;
        wire_rd_init(&r, p + sc->off, avail - sc->off, max_len);
        bool is_end = false;
        switch (sc->phase) {
        case SCAN_COUNT:
        case SCAN_ACL_COUNT:
            sc->left = wire_rd_i32(&r);
            break;
        case SCAN_SESSIONS:
            (void)wire_rd_i64(&r);
            (void)wire_rd_i32(&r);
            break;
        case SCAN_ACLS:
            scan_acl_list(&r);
            break;
        default: {
            wire_str path = wire_rd_str(&r);
            if (r.err == 0 && wire_str_eqc(path, "/")) {
                is_end = true;
                break;
            }
            (void)wire_rd_buf(&r);
            (void)wire_rd_i64(&r);
            for (int i = 0; i < 4; i++) /* StatPersisted: czxid, mzxid, ctime, mtime, */
                (void)wire_rd_i64(&r);
            for (int i = 0; i < 3; i++) /* version, cversion, aversion, */
                (void)wire_rd_i32(&r);
            for (int i = 0; i < 2; i++) /* ephemeralOwner, pzxid */
                (void)wire_rd_i64(&r);
        }
        }
        if (r.err == ZERR_SHORT)
            return 0; /* the item is not all here yet */
        if (r.err != 0 || sc->left < 0)
            return ZERR_CORRUPT;
        sc->off += r.off;
        if (is_end) {
            *len = sc->off;
            return 1;
        }
        switch (sc->phase) {
        case SCAN_COUNT:
        case SCAN_ACL_COUNT:
            sc->phase++;
            break;
        case SCAN_SESSIONS:
        case SCAN_ACLS:
            sc->left--;
            break;
        }
        if ((sc->phase == SCAN_SESSIONS || sc->phase == SCAN_ACLS) && sc->left == 0)
            sc->phase++;
    }
}
