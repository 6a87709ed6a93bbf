/*
 * apply.c: txn -> tree, ZooKeeper's DataTree.processTxn.
 *
 * Deterministic: the same txns in the same order give the same tree, which
 * is what recovery (snapshot + replay) relies on. Results and watch events
 * are appended to a zt_out the caller reuses.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

void zt_out_init(zt_out *o)
{
    memset(o, 0, sizeof *o);
    wire_wr_init(&o->strs);
}

void zt_out_reset(zt_out *o)
{
    o->n_res = 0;
    o->n_ev = 0;
    o->n_acls = 0;
    wire_wr_reset(&o->strs);
}

void zt_out_fini(zt_out *o)
{
    free(o->res);
    free(o->ev);
    free(o->acls);
    wire_wr_fini(&o->strs);
    memset(o, 0, sizeof *o);
}

static zt_result *add_result(zt_out *o, int32_t type)
{
    if (wire_reserve((void **)&o->res, &o->cap_res, o->n_res, sizeof *o->res) != 0)
        return NULL;
    zt_result *r = &o->res[o->n_res++];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static uint32_t add_str(zt_out *o, const char *p, size_t n)
{
    uint32_t off = (uint32_t)o->strs.len;
    wire_wr_raw(&o->strs, p, n);
    return off;
}

/* Whether the copied list at [off, off+n) holds exactly acl[0..n). */
static bool acl_copy_equals(const zt_out *o, uint32_t off, const wire_acl *acl, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const zt_out_acl *c = &o->acls[off + (uint32_t)i];
        if (c->perms != acl[i].perms ||
            !wire_str_eq(zt_out_str(o, c->scheme_off, c->scheme_len), acl[i].scheme) ||
            !wire_str_eq(zt_out_str(o, c->id_off, c->id_len), acl[i].id))
            return false;
    }
    return true;
}

/* Records an event about node n (whose ACL the event carries); the path
 * is given apart because a created node's event names its own. Events of
 * one apply mostly share an ACL: a list equal to the previous event's is
 * not copied again. */
static int add_event(const zt_tree *t, zt_out *o, int32_t type, const zt_node *n)
{
    const wire_acl *acl;
    int32_t n_acl;
    zt_node_acl(t, n, &acl, &n_acl);
    if (wire_reserve((void **)&o->ev, &o->cap_ev, o->n_ev, sizeof *o->ev) != 0)
        return ZERR_NOMEM;
    zt_event *e = &o->ev[o->n_ev];
    e->type = type;
    e->path_len = n->path_len;
    e->path_off = add_str(o, n->path, n->path_len);
    e->n_acl = (uint32_t)n_acl;
    const zt_event *prev = o->n_ev > 0 ? &o->ev[o->n_ev - 1] : NULL;
    if (prev != NULL && prev->n_acl == (uint32_t)n_acl &&
        acl_copy_equals(o, prev->acl_off, acl, n_acl)) {
        e->acl_off = prev->acl_off;
    } else {
        e->acl_off = (uint32_t)o->n_acls;
        for (int32_t i = 0; i < n_acl; i++) {
            if (wire_reserve((void **)&o->acls, &o->cap_acls, o->n_acls, sizeof *o->acls) != 0)
                return ZERR_NOMEM;
            zt_out_acl *c = &o->acls[o->n_acls++];
            c->perms = acl[i].perms;
            c->scheme_len = (uint32_t)acl[i].scheme.len;
            c->scheme_off = add_str(o, acl[i].scheme.p, (size_t)acl[i].scheme.len);
            c->id_len = (uint32_t)acl[i].id.len;
            c->id_off = add_str(o, acl[i].id.p, (size_t)acl[i].id.len);
        }
    }
    o->n_ev++;
    return wire_wr_err(&o->strs);
}

int zt_event_check_acl(const zt_out *o, const zt_event *e, int32_t perm, const zt_auth *a)
{
    /* ZooKeeperServer.checkACL: an empty list and the super user pass. */
    if (e->n_acl == 0 || a->is_super)
        return 0;
    for (uint32_t i = 0; i < e->n_acl; i++) {
        const zt_out_acl *c = &o->acls[e->acl_off + i];
        wire_acl entry = {c->perms, zt_out_str(o, c->scheme_off, c->scheme_len),
                          zt_out_str(o, c->id_off, c->id_len)};
        if (zt_acl_entry_grants(&entry, perm, a))
            return 0;
    }
    return ZERR_NOAUTH;
}

static int64_t owner_of(const wire_txn_hdr *h, const wire_txn *t)
{
    switch (t->type) {
    case WIRE_OP_CREATECONTAINER:
        return ZT_OWNER_CONTAINER;
    case WIRE_OP_CREATETTL:
        return ZT_OWNER_EXTENDED_MASK | (t->ttl & ZT_TTL_MAX);
    default:
        return t->ephemeral ? h->client_id : 0;
    }
}

static int apply_create(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o,
                        zt_result *r)
{
    size_t len = (size_t)(x->path.len > 0 ? x->path.len : 0);
    if (len == 0 || x->path.p[0] != '/') {
        r->err = ZERR_BADARGUMENTS;
        return 0;
    }
    size_t plen = zt_parent_len(x->path.p, len);
    zt_node *parent = zt_find(t, x->path.p, plen);
    if (parent == NULL || len == 1) {
        r->err = ZERR_NONODE;
        return 0;
    }
    if (zt_find(t, x->path.p, len) != NULL) {
        r->err = ZERR_NODEEXISTS;
        return 0;
    }
    uint32_t acl;
    if (zt_acl_intern(t, x->acl, x->n_acl, &acl) != 0)
        return ZERR_NOMEM;
    zt_node *n = zt_node_insert(t, parent, x->path.p, len, x->data.p, x->data.len);
    if (n == NULL) {
        zt_acl_release(t, acl);
        return ZERR_NOMEM;
    }
    n->acl = acl;
    n->czxid = n->mzxid = n->pzxid = h->zxid;
    n->ctime = n->mtime = h->time_ms;
    n->owner = owner_of(h, x);
    zt_digest_add(t, n);
    if (zt_index_add(t, n) != 0)
        return ZERR_NOMEM;
    /* DataTree.createNode: a replayed create may carry an older cversion
     * than the parent already has (fuzzy snapshots); only move forward. */
    int32_t pcv = x->parent_cversion == -1 ? zt_inc32(parent->cversion) : x->parent_cversion;
    if (pcv > parent->cversion) {
        zt_digest_sub(t, parent);
        parent->cversion = pcv;
        parent->pzxid = h->zxid;
        zt_digest_add(t, parent);
    }
    r->path_len = (uint32_t)len;
    r->path_off = add_str(o, x->path.p, len);
    zt_node_stat(n, &r->stat);
    /* Quota upkeep after the reply's stat, as DataTree.createNode. */
    int rc = zt_quota_on_create(t, n);
    if (rc != 0)
        return rc;
    rc = add_event(t, o, WIRE_EVENT_CREATED, n);
    if (rc == 0)
        rc = add_event(t, o, WIRE_EVENT_CHILDREN_CHANGED, parent);
    return rc;
}

static int delete_node(zt_tree *t, zt_node *n, int64_t zxid, zt_out *o)
{
    zt_node *parent = n->parent;
    if (parent == NULL || n->child != NULL)
        return ZERR_NOTEMPTY;
    /* The events name a path and an ACL that are about to be freed:
     * record them first. */
    int rc = add_event(t, o, WIRE_EVENT_DELETED, n);
    if (rc == 0)
        rc = add_event(t, o, WIRE_EVENT_CHILDREN_CHANGED, parent);
    if (rc == 0)
        rc = zt_quota_on_delete(t, n); /* quota upkeep, while n is still linked */
    if (rc != 0)
        return rc;
    zt_index_remove(t, n);
    zt_acl_release(t, n->acl);
    zt_digest_sub(t, n);
    zt_node_unlink(t, n);
    /* DataTree.deleteNode leaves the stored cversion alone (it counts
     * creations, see zt_node_stat) and moves pzxid only forward. */
    if (zxid > parent->pzxid) {
        zt_digest_sub(t, parent);
        parent->pzxid = zxid;
        zt_digest_add(t, parent);
    }
    return 0;
}

static int apply_delete(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o,
                        zt_result *r)
{
    zt_node *n = x->path.len > 0 ? zt_find(t, x->path.p, (size_t)x->path.len) : NULL;
    if (n == NULL) {
        /* DataTree.deleteNode moves the parent's pzxid even when the child
         * is already gone: replaying a fuzzy snapshot's log meets that. */
        zt_node *parent = x->path.len > 1 && x->path.p[0] == '/'
                              ? zt_find(t, x->path.p, zt_parent_len(x->path.p, (size_t)x->path.len))
                              : NULL;
        if (parent != NULL && h->zxid > parent->pzxid) {
            zt_digest_sub(t, parent);
            parent->pzxid = h->zxid;
            zt_digest_add(t, parent);
        }
        r->err = ZERR_NONODE;
        return 0;
    }
    int rc = delete_node(t, n, h->zxid, o);
    if (rc == ZERR_NOTEMPTY) {
        r->err = rc;
        rc = 0;
    }
    return rc;
}

static int apply_set_data(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o,
                          zt_result *r)
{
    zt_node *n = x->path.len > 0 ? zt_find(t, x->path.p, (size_t)x->path.len) : NULL;
    if (n == NULL) {
        r->err = ZERR_NONODE;
        return 0;
    }
    int32_t old_len = n->data_len;
    zt_digest_sub(t, n);
    int rc = zt_node_set_data(t, n, x->data.p, x->data.len);
    if (rc == 0) {
        n->version = x->version;
        n->mzxid = h->zxid;
        n->mtime = h->time_ms;
    }
    zt_digest_add(t, n);
    if (rc != 0)
        return rc;
    zt_node_stat(n, &r->stat);
    rc = zt_quota_on_set_data(t, n, old_len); /* quota upkeep */
    return rc != 0 ? rc : add_event(t, o, WIRE_EVENT_DATA_CHANGED, n);
}

static int apply_set_acl(zt_tree *t, const wire_txn *x, zt_result *r)
{
    zt_node *n = x->path.len > 0 ? zt_find(t, x->path.p, (size_t)x->path.len) : NULL;
    if (n == NULL) {
        r->err = ZERR_NONODE;
        return 0;
    }
    uint32_t acl;
    if (zt_acl_intern(t, x->acl, x->n_acl, &acl) != 0)
        return ZERR_NOMEM;
    zt_acl_release(t, n->acl);
    n->acl = acl;
    zt_digest_sub(t, n);
    n->aversion = x->version;
    zt_digest_add(t, n);
    zt_node_stat(n, &r->stat);
    return 0;
}

static int apply_close_session(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o)
{
    if (x->n_paths > 0) {
        for (int32_t i = 0; i < x->n_paths; i++) {
            zt_node *n =
                x->paths[i].len > 0 ? zt_find(t, x->paths[i].p, (size_t)x->paths[i].len) : NULL;
            /* Only this session's ephemerals, whatever the txn lists. */
            if (n != NULL && n->owner == h->client_id) {
                int rc = delete_node(t, n, h->zxid, o);
                if (rc != 0 && rc != ZERR_NOTEMPTY)
                    return rc;
            }
        }
        return 0;
    }
    /* Logs written before CloseSessionTxn existed: the session's own list. */
    for (;;) {
        size_t i = 0;
        zt_node *victim = NULL;
        for (; i < t->eph_cap && victim == NULL; i++)
            if (t->eph[i].owner == h->client_id && t->eph[i].nodes.n > 0)
                victim = t->eph[i].nodes.v[t->eph[i].nodes.n - 1];
        if (victim == NULL)
            return 0;
        int rc = delete_node(t, victim, h->zxid, o);
        if (rc != 0)
            return rc;
    }
}

static int apply_one(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o, zt_result *r)
{
    switch (x->type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        return apply_create(t, h, x, o, r);
    case WIRE_OP_DELETE:
    case WIRE_OP_DELETECONTAINER:
        return apply_delete(t, h, x, o, r);
    case WIRE_OP_SETDATA:
        return apply_set_data(t, h, x, o, r);
    case WIRE_OP_SETACL:
        return apply_set_acl(t, x, r);
    case WIRE_OP_CHECK:
    case WIRE_OP_CREATESESSION:
        return 0;
    case WIRE_OP_CLOSESESSION:
        return apply_close_session(t, h, x, o);
    case WIRE_OP_ERROR:
        r->err = x->err;
        return 0;
    default:
        return ZERR_CORRUPT;
    }
}

static int apply_multi(zt_tree *t, const wire_txn_hdr *h, const wire_txn *x, zt_out *o, size_t top)
{
    bool failed = false;
    for (int32_t i = 0; i < x->n_sub; i++)
        failed |= x->sub[i].type == WIRE_OP_ERROR;
    /* DataTree: in a failed multi nothing is applied; ops before the failing
     * one report OK, the failing one its error, later ones
     * RUNTIMEINCONSISTENCY (prep already wrote those as ErrorTxns). */
    bool post_failed = false;
    for (int32_t i = 0; i < x->n_sub; i++) {
        const wire_txn *s = &x->sub[i];
        zt_result *r = add_result(o, s->type);
        if (r == NULL)
            return ZERR_NOMEM;
        if (failed) {
            r->type = WIRE_OP_ERROR;
            if (s->type == WIRE_OP_ERROR) {
                post_failed = true;
                r->err = s->err;
            } else {
                r->err = post_failed ? ZERR_RUNTIMEINCONSISTENCY : 0;
            }
        } else {
            if (s->type == WIRE_OP_MULTI)
                return ZERR_CORRUPT;
            int rc = apply_one(t, h, s, o, r);
            if (rc != 0)
                return rc;
        }
        if (r->err != 0 && o->res[top].err == 0)
            o->res[top].err = r->err;
    }
    return 0;
}

int zt_apply(zt_tree *t, const wire_txn_hdr *h, const wire_txn *txn, zt_out *out)
{
    size_t top = out->n_res;
    zt_result *r = add_result(out, txn->type);
    if (r == NULL)
        return ZERR_NOMEM;
    if (h->zxid > t->last_zxid)
        t->last_zxid = h->zxid;
    int rc = txn->type == WIRE_OP_MULTI ? apply_multi(t, h, txn, out, top)
                                        : apply_one(t, h, txn, out, r);
    if (rc == 0)
        zt_digest_log_txn(t, h->zxid);
    return rc;
}
