/*
 * prep.c: write request -> txn, ZooKeeper's PrepRequestProcessor rules.
 *
 * The checks run in ZooKeeper's order, because the order decides which error
 * a client sees when several apply (a delete of a missing child under a node
 * the caller may not delete from is NOAUTH, not NONODE).
 *
 * Inside a multi each op must see the tree as changed by the ops before it;
 * the view below layers those changes ("change records", as ZooKeeper calls
 * them) over the tree without touching it.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

/* A node as prep sees it. */
typedef struct prec {
    bool exists;
    int32_t version, cversion, aversion, num_children;
    int64_t owner;
    const wire_acl *acl;
    int32_t n_acl;
    wire_buf data; /* quota checks: the bytes a setData replaces */
} prec;

typedef struct pchange {
    const char *path;
    size_t len;
    prec r;
} pchange;

/* A single op's change records and scratch fit in the view itself, so the
 * common write allocates nothing here; a long multi spills to the heap. */
enum { VIEW_LOCAL_CH = 4, VIEW_ARENA = 512 };

typedef struct pview {
    const zt_tree *t;
    const zt_prep_ctx *c;
    pchange *ch; /* ch_local until it is outgrown */
    size_t n_ch, cap_ch;
    void **scratch; /* heap allocations freed when the view ends */
    size_t n_scratch, cap_scratch;
    size_t arena_used;
    pchange ch_local[VIEW_LOCAL_CH];
    _Alignas(16) uint8_t arena[VIEW_ARENA];
} pview;

/* Not an initializer: it would clear the arena on every prep. */
static void view_init(pview *v, const zt_tree *t, const zt_prep_ctx *c)
{
    v->t = t;
    v->c = c;
    v->ch = v->ch_local;
    v->n_ch = 0;
    v->cap_ch = VIEW_LOCAL_CH;
    v->scratch = NULL;
    v->n_scratch = v->cap_scratch = 0;
    v->arena_used = 0;
}

static void view_fini(pview *v)
{
    for (size_t i = 0; i < v->n_scratch; i++)
        free(v->scratch[i]);
    free(v->scratch);
    if (v->ch != v->ch_local)
        free(v->ch);
}

/* Zeroed scratch that lives as long as the view. */
static void *view_alloc(pview *v, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (n <= VIEW_ARENA && need <= VIEW_ARENA - v->arena_used) {
        void *p = v->arena + v->arena_used;
        v->arena_used += need ? need : 16;
        memset(p, 0, n);
        return p;
    }
    if (wire_reserve((void **)&v->scratch, &v->cap_scratch, v->n_scratch, sizeof *v->scratch) != 0)
        return NULL;
    void *p = calloc(1, n ? n : 1);
    if (p != NULL)
        v->scratch[v->n_scratch++] = p;
    return p;
}

static int view_get(const pview *v, const char *path, size_t len, prec *out)
{
    for (size_t i = v->n_ch; i-- > 0;)
        if (v->ch[i].len == len && memcmp(v->ch[i].path, path, len) == 0) {
            *out = v->ch[i].r;
            return out->exists ? 0 : ZERR_NONODE;
        }
    const zt_node *n = zt_find(v->t, path, len);
    if (n == NULL)
        return ZERR_NONODE;
    out->exists = true;
    out->version = n->version;
    out->cversion = n->cversion;
    out->aversion = n->aversion;
    out->num_children = n->num_children;
    out->owner = n->owner;
    zt_node_acl(v->t, n, &out->acl, &out->n_acl);
    out->data = zt_node_data(n);
    return 0;
}

static int view_put(pview *v, const char *path, size_t len, const prec *r)
{
    if (v->n_ch == v->cap_ch) {
        if (v->cap_ch > SIZE_MAX / 2 / sizeof *v->ch)
            return ZERR_NOMEM;
        pchange *ch = v->ch == v->ch_local ? malloc(2 * v->cap_ch * sizeof *ch)
                                           : realloc(v->ch, 2 * v->cap_ch * sizeof *ch);
        if (ch == NULL)
            return ZERR_NOMEM;
        if (v->ch == v->ch_local)
            memcpy(ch, v->ch_local, sizeof v->ch_local);
        v->ch = ch;
        v->cap_ch *= 2;
    }
    v->ch[v->n_ch++] = (pchange){path, len, *r};
    return 0;
}

static bool has_nul(wire_str s)
{
    return s.len > 0 && memchr(s.p, '\0', (size_t)s.len) != NULL;
}

static bool last_slash(wire_str s, size_t *at)
{
    for (int32_t i = s.len; i-- > 0;)
        if (s.p[i] == '/') {
            *at = (size_t)i;
            return true;
        }
    return false;
}

static bool is_special(wire_str p)
{
    return wire_str_eqc(p, "/") || wire_str_eqc(p, "/zookeeper") ||
           wire_str_eqc(p, "/zookeeper/quota") || wire_str_eqc(p, "/zookeeper/config");
}

/* SASLAuthenticationProvider.isValid: new KerberosName(id) must not throw,
 * so an id with '@' must read "service[/host]@realm" with no other '/' or
 * '@'; an id without '@' is always valid. */
static bool sasl_id_valid(wire_str id)
{
    const char *at = memchr(id.p, '@', (size_t)id.len);
    if (at == NULL)
        return true;
    size_t before = (size_t)(at - id.p), after = (size_t)id.len - before - 1;
    const char *slash = memchr(id.p, '/', before);
    return memchr(at + 1, '@', after) == NULL && memchr(at + 1, '/', after) == NULL &&
           (slash == NULL || memchr(slash + 1, '/', (size_t)(at - slash - 1)) == NULL);
}

/* "digest" ids are user:hash; "ip" ids are an address with an optional
 * prefix length (the providers' isValid, which throw on a null id:
 * MARSHALLINGERROR). Schemes without a provider are INVALIDACL. */
static int acl_id_check(const wire_acl *a)
{
    if (wire_str_eqc(a->scheme, "digest")) {
        if (a->id.len < 0)
            return ZERR_MARSHALLINGERROR;
        /* Java's id.split(":").length == 2: trailing empty parts are
         * dropped, so "user:hash::" is valid and "user:" is not. */
        int32_t len = a->id.len;
        while (len > 0 && a->id.p[len - 1] == ':')
            len--;
        int colons = 0;
        for (int32_t i = 0; i < len; i++)
            colons += a->id.p[i] == ':';
        return colons == 1 ? 0 : ZERR_INVALIDACL;
    }
    if (wire_str_eqc(a->scheme, "ip")) {
        if (a->id.len < 0)
            return ZERR_MARSHALLINGERROR;
        return zt_ip_valid(a->id) ? 0 : ZERR_INVALIDACL;
    }
    return ZERR_INVALIDACL;
}

/* s as ZooKeeper holds it once Java decoded it (wire_java_str); ASCII and
 * null come back as they are. */
static int java_form(pview *v, wire_str s, wire_str *out)
{
    *out = s;
    int32_t i = 0;
    while (i < s.len && (uint8_t)s.p[i] < 0x80)
        i++;
    if (i >= s.len)
        return 0;
    char *p = view_alloc(v, (size_t)s.len * 3);
    if (p == NULL)
        return ZERR_NOMEM;
    *out = (wire_str){p, (int32_t)wire_java_str(s.p, (size_t)s.len, p, true)};
    return 0;
}

/* ArrayList.contains in PrepRequestProcessor.removeDuplicates: later.equals
 * (earlier), the jute ACL and Id equals, which throw on the later entry's
 * null scheme or (schemes equal) null id once the perms match. */
static int acl_same(const wire_acl *later, const wire_acl *earlier, bool *same)
{
    *same = false;
    if (later->perms != earlier->perms)
        return 0;
    if (later->scheme.len < 0)
        return ZERR_MARSHALLINGERROR;
    if (earlier->scheme.len < 0 || !wire_str_eq(later->scheme, earlier->scheme))
        return 0;
    if (later->id.len < 0)
        return ZERR_MARSHALLINGERROR;
    *same = earlier->id.len >= 0 && wire_str_eq(later->id, earlier->id);
    return 0;
}

/* PrepRequestProcessor.fixupACL: drops duplicates, expands "auth" into the
 * caller's authenticated ids, rejects unknown schemes and malformed ids. */
static int fixup_acl(pview *v, const wire_acl *in, int32_t n, wire_acl **out, int32_t *n_out)
{
    int rc;
    const zt_auth *a = v->c->auth;
    if (n <= 0)
        return ZERR_INVALIDACL;
    size_t cap = (size_t)n * (size_t)(a->n_ids + 1);
    wire_acl *res = view_alloc(v, cap * sizeof *res);
    if (res == NULL)
        return ZERR_NOMEM;
    /* ZooKeeper drops duplicates from the list the client sent, before
     * "auth" is expanded: duplicates the expansion creates are kept. It
     * compares (and keeps) the strings as Java decoded them. */
    wire_acl *uniq = view_alloc(v, (size_t)n * sizeof *uniq);
    if (uniq == NULL)
        return ZERR_NOMEM;
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        wire_acl x = {in[i].perms, in[i].scheme, in[i].id};
        if ((rc = java_form(v, in[i].scheme, &x.scheme)) != 0 ||
            (rc = java_form(v, in[i].id, &x.id)) != 0)
            return rc;
        bool dup = false;
        for (int32_t j = 0; j < m && !dup; j++)
            if ((rc = acl_same(&x, &uniq[j], &dup)) != 0)
                return rc;
        if (!dup)
            uniq[m++] = x;
    }
    int32_t k = 0;
    for (int32_t i = 0; i < m; i++) {
        const wire_acl *x = &uniq[i];
        if (x->scheme.len < 0)
            return ZERR_INVALIDACL;
        if (wire_str_eqc(x->scheme, "world") && x->id.len < 0)
            return ZERR_MARSHALLINGERROR; /* id.getId().equals("anyone") */
        if (wire_str_eqc(x->scheme, "world") && wire_str_eqc(x->id, "anyone")) {
            res[k++] = *x;
        } else if (wire_str_eqc(x->scheme, "auth")) {
            bool added = false;
            for (int32_t j = 0; j < a->n_ids; j++) {
                /* only providers that authenticate (not ip) count; "super"
                 * has no provider at all */
                if (wire_str_eqc(a->ids[j].scheme, "ip") ||
                    wire_str_eqc(a->ids[j].scheme, "super") ||
                    (wire_str_eqc(a->ids[j].scheme, "sasl") && !a->has_sasl))
                    continue;
                res[k].perms = x->perms;
                res[k].scheme = a->ids[j].scheme;
                res[k].id = a->ids[j].id;
                k++;
                added = true;
            }
            if (!added)
                return ZERR_INVALIDACL;
        } else if (wire_str_eqc(x->scheme, "sasl") && a->has_sasl) {
            /* KerberosName(null) throws NullPointerException: prep turns
             * that into MARSHALLINGERROR. */
            if (x->id.len < 0)
                return ZERR_MARSHALLINGERROR;
            if (!sasl_id_valid(x->id))
                return ZERR_INVALIDACL;
            res[k++] = *x;
        } else if ((rc = acl_id_check(x)) == 0) {
            res[k++] = *x;
        } else {
            return rc;
        }
    }
    *out = res;
    *n_out = k;
    return 0;
}

static int check_acl(const pview *v, const prec *r, int32_t perm)
{
    return zt_acl_check(r->acl, r->n_acl, perm, v->c->auth) ? 0 : ZERR_NOAUTH;
}

static int check_version(int32_t current, int32_t expected)
{
    return expected != -1 && expected != current ? ZERR_BADVERSION : 0;
}

static int parent_of(const pview *v, wire_str path, size_t slash, prec *parent, size_t *plen)
{
    *plen = slash == 0 ? 1 : slash;
    return view_get(v, path.p, *plen, parent);
}

/* PrepRequestProcessor.pRequest2TxnCreate. The flags give the mode (and
 * so the checks, the sequential suffix and the ephemeral flag of a plain
 * CreateTxn); the opcode alone picks the txn: createContainer always makes
 * a container and createTTL a TTL node, while create/create2 with the
 * container flag make a plain persistent node. */
static int prep_create(pview *v, const wire_write_req *q, wire_txn *txn)
{
    int rc;
    int32_t mode = q->flags;
    if (mode < WIRE_MODE_PERSISTENT || mode > WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
        return ZERR_BADARGUMENTS; /* CreateMode.fromFlag */
    bool is_ttl =
        mode == WIRE_MODE_PERSISTENT_WITH_TTL || mode == WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    bool ephemeral = mode == WIRE_MODE_EPHEMERAL || mode == WIRE_MODE_EPHEMERAL_SEQUENTIAL;
    bool sequential = mode == WIRE_MODE_PERSISTENT_SEQUENTIAL ||
                      mode == WIRE_MODE_EPHEMERAL_SEQUENTIAL ||
                      mode == WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    int64_t ttl = q->type == WIRE_OP_CREATETTL ? q->ttl : -1;
    /* validateCreateRequest */
    if (is_ttl && !v->c->extended_types)
        return ZERR_UNIMPLEMENTED;
    if (is_ttl ? (ttl <= 0 || ttl > ZT_TTL_MAX) : ttl >= 0)
        return ZERR_BADARGUMENTS;
    /* createTTL with another mode and a negative TTL passes ZooKeeper's
     * checks, and its apply step then throws and stops the server. */
    if (q->type == WIRE_OP_CREATETTL && !is_ttl)
        return ZERR_BADARGUMENTS;
    /* validatePathForCreate: a null path throws (MARSHALLINGERROR). */
    if (q->path.len < 0)
        return ZERR_MARSHALLINGERROR;
    size_t slash;
    if (!last_slash(q->path, &slash) || has_nul(q->path))
        return ZERR_BADARGUMENTS;
    wire_acl *acl;
    int32_t n_acl;
    if ((rc = fixup_acl(v, q->acl, q->n_acl, &acl, &n_acl)) != 0)
        return rc;
    prec parent;
    size_t plen;
    if ((rc = parent_of(v, q->path, slash, &parent, &plen)) != 0)
        return rc;
    if ((rc = check_acl(v, &parent, WIRE_PERM_CREATE)) != 0)
        return rc;
    wire_str path = q->path;
    if (sequential) {
        /* The suffix is the parent's cversion, "%010d" as Java formats it. */
        char *p = view_alloc(v, (size_t)path.len + 12);
        if (p == NULL)
            return ZERR_NOMEM;
        memcpy(p, path.p, (size_t)path.len);
        int n = snprintf(p + path.len, 12, "%010d", parent.cversion);
        path.p = p;
        path.len += n;
    }
    if ((rc = zt_path_validate(path)) != 0)
        return rc;
    prec existing;
    if (view_get(v, path.p, (size_t)path.len, &existing) == 0)
        return ZERR_NODEEXISTS;
    if (zt_owner_is_session(parent.owner))
        return ZERR_NOCHILDRENFOREPHEMERALS;
    if ((rc = zt_quota_check(v->t, v->c, path, q->path, q->data.len > 0 ? q->data.len : 0, 1)) != 0)
        return rc;

    txn->type = q->type;
    txn->path = path;
    txn->data = q->data;
    txn->acl = acl;
    txn->n_acl = n_acl;
    txn->ephemeral = ephemeral;
    txn->parent_cversion = zt_inc32(parent.cversion);
    txn->ttl = ttl;

    parent.cversion = zt_inc32(parent.cversion);
    parent.num_children++;
    prec node = {true, 0, 0, 0, 0, 0, acl, n_acl, q->data};
    /* What apply will make of the txn (ZooKeeper's change record takes the
     * mode instead; they differ only where its tree differs from it too). */
    node.owner = q->type == WIRE_OP_CREATECONTAINER ? ZT_OWNER_CONTAINER
                 : q->type == WIRE_OP_CREATETTL     ? (ZT_OWNER_EXTENDED_MASK | ttl)
                 : ephemeral                        ? v->c->session_id
                                                    : 0;
    if ((rc = view_put(v, q->path.p, plen, &parent)) != 0)
        return rc;
    return view_put(v, path.p, (size_t)path.len, &node);
}

static int prep_delete(pview *v, const wire_write_req *q, wire_txn *txn, bool container)
{
    int rc;
    size_t slash, plen;
    if (q->path.len < 0)
        return ZERR_MARSHALLINGERROR; /* getParentPathAndValidate throws */
    if (!last_slash(q->path, &slash) || has_nul(q->path) || is_special(q->path))
        return ZERR_BADARGUMENTS;
    prec parent, node;
    if ((rc = parent_of(v, q->path, slash, &parent, &plen)) != 0)
        return rc;
    if (!container && (rc = check_acl(v, &parent, WIRE_PERM_DELETE)) != 0)
        return rc;
    if ((rc = view_get(v, q->path.p, (size_t)q->path.len, &node)) != 0)
        return rc;
    if (!container && (rc = check_version(node.version, q->version)) != 0)
        return rc;
    if (node.num_children > 0)
        return ZERR_NOTEMPTY;
    if (container && node.owner != ZT_OWNER_CONTAINER && !zt_owner_is_ttl(node.owner))
        return ZERR_BADARGUMENTS;
    txn->type = container ? WIRE_OP_DELETECONTAINER : WIRE_OP_DELETE;
    txn->path = q->path;
    parent.num_children--;
    node.exists = false;
    if ((rc = view_put(v, q->path.p, plen, &parent)) != 0)
        return rc;
    return view_put(v, q->path.p, (size_t)q->path.len, &node);
}

/* validatePath, the node, then its ACL: setData and check share this order. */
static int prep_existing(pview *v, wire_str path, int32_t perm, prec *node)
{
    int rc;
    if ((rc = zt_path_validate(path)) != 0)
        return rc;
    if ((rc = view_get(v, path.p, (size_t)path.len, node)) != 0)
        return rc;
    return check_acl(v, node, perm);
}

static int prep_set_data(pview *v, const wire_write_req *q, wire_txn *txn)
{
    int rc;
    prec node;
    if ((rc = prep_existing(v, q->path, WIRE_PERM_WRITE, &node)) != 0)
        return rc;
    /* ZooKeeper checks the quota before the version; the replaced bytes
     * are those of an earlier op of the same multi, if any. */
    int64_t diff =
        (int64_t)(q->data.len > 0 ? q->data.len : 0) - (node.data.len > 0 ? node.data.len : 0);
    if ((rc = zt_quota_check(v->t, v->c, q->path, q->path, diff, 0)) != 0)
        return rc;
    if ((rc = check_version(node.version, q->version)) != 0)
        return rc;
    txn->type = WIRE_OP_SETDATA;
    txn->path = q->path;
    txn->data = q->data;
    node.data = q->data;
    txn->version = node.version = zt_inc32(node.version);
    return view_put(v, q->path.p, (size_t)q->path.len, &node);
}

static int prep_set_acl(pview *v, const wire_write_req *q, wire_txn *txn)
{
    int rc;
    prec node;
    wire_acl *acl;
    int32_t n_acl;
    if ((rc = zt_path_validate(q->path)) != 0)
        return rc;
    if ((rc = fixup_acl(v, q->acl, q->n_acl, &acl, &n_acl)) != 0)
        return rc;
    if ((rc = view_get(v, q->path.p, (size_t)q->path.len, &node)) != 0)
        return rc;
    if ((rc = check_acl(v, &node, WIRE_PERM_ADMIN)) != 0)
        return rc;
    if ((rc = check_version(node.aversion, q->version)) != 0)
        return rc;
    txn->type = WIRE_OP_SETACL;
    txn->path = q->path;
    txn->acl = acl;
    txn->n_acl = n_acl;
    txn->version = node.aversion = zt_inc32(node.aversion);
    node.acl = acl;
    node.n_acl = n_acl;
    return view_put(v, q->path.p, (size_t)q->path.len, &node);
}

static int prep_check(pview *v, const wire_write_req *q, wire_txn *txn)
{
    int rc;
    prec node;
    if ((rc = prep_existing(v, q->path, WIRE_PERM_READ, &node)) != 0)
        return rc;
    if ((rc = check_version(node.version, q->version)) != 0)
        return rc;
    txn->type = WIRE_OP_CHECK;
    txn->path = q->path;
    txn->version = zt_inc32(node.version);
    return 0;
}

static int prep_op(pview *v, const wire_write_req *q, wire_txn *txn)
{
    memset(txn, 0, sizeof *txn);
    switch (q->type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        return prep_create(v, q, txn);
    case WIRE_OP_DELETE:
        return prep_delete(v, q, txn, false);
    case WIRE_OP_SETDATA:
        return prep_set_data(v, q, txn);
    case WIRE_OP_SETACL:
        return prep_set_acl(v, q, txn);
    case WIRE_OP_CHECK:
        return prep_check(v, q, txn);
    default:
        return ZERR_UNIMPLEMENTED;
    }
}

static void encode(const zt_prep_ctx *c, int32_t type, const wire_txn *body, wire_wr *out)
{
    wire_txn_hdr h = {c->session_id, c->cxid, c->zxid, c->time_ms, type};
    wire_txn_hdr_encode(out, &h);
    wire_txn_body_encode(out, body);
}

/* Turns a failed prep into ZooKeeper's ErrorTxn. ZERR_NOMEM is not a client
 * answer; the caller sees it as is. */
static int finish(const zt_prep_ctx *c, int rc, int32_t type, const wire_txn *txn, wire_wr *out)
{
    if (rc == ZERR_NOMEM)
        return rc;
    if (rc != 0) {
        wire_txn err = {.type = WIRE_OP_ERROR, .err = rc};
        encode(c, WIRE_OP_ERROR, &err, out);
    } else {
        encode(c, type, txn, out);
    }
    return wire_wr_err(out) != 0 ? ZERR_NOMEM : rc;
}

int zt_prep(const zt_tree *t, const zt_prep_ctx *c, const wire_write_req *req, wire_wr *out)
{
    pview v;
    view_init(&v, t, c);
    wire_txn txn;
    int rc = prep_op(&v, req, &txn);
    /* The header carries the request's opcode (create2 stays create2 in
     * ZooKeeper's log); the body is the txn prep chose. */
    int32_t type = txn.type == WIRE_OP_CREATE2 ? WIRE_OP_CREATE2 : txn.type;
    rc = finish(c, rc, type, &txn, out);
    view_fini(&v);
    return rc;
}

/* MultiOperationRecord rebuilds each create sub-op with Op.create, which
 * takes the opcode from the flags: a TTL mode makes createTTL, the
 * container flag createContainer, anything else (invalid flags included)
 * create; a createTTL sub-op of another mode loses its TTL. A create,
 * create2 or createContainer record with a TTL mode thus reaches prep as
 * createTTL over a CreateRequest, and the cast throws: *throws is set. */
static wire_write_req multi_create(const wire_write_req *q, bool *throws)
{
    wire_write_req op = *q;
    bool ttl_mode = q->flags == WIRE_MODE_PERSISTENT_WITH_TTL ||
                    q->flags == WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL;
    *throws = ttl_mode && q->type != WIRE_OP_CREATETTL;
    op.type = ttl_mode                          ? WIRE_OP_CREATETTL
              : q->flags == WIRE_MODE_CONTAINER ? WIRE_OP_CREATECONTAINER
                                                : WIRE_OP_CREATE;
    return op;
}

/* DataTree applies a multi's sub-txns as it reads them back from their
 * bytes, so Java decodes once more what jute encoded: a supplementary
 * character, which jute writes as two encoded surrogates, comes back as two
 * U+FFFD. Only a create's ACL can hold one (a path with it is invalid). The
 * view keeps the ACL as prepped, as ZooKeeper's change records do, so later
 * ops of the same multi are checked against that. */
static int multi_reread_acl(pview *v, wire_txn *sub)
{
    wire_acl *acl = view_alloc(v, (size_t)sub->n_acl * sizeof *acl);
    if (sub->n_acl > 0 && acl == NULL)
        return ZERR_NOMEM;
    for (int32_t i = 0; i < sub->n_acl; i++) {
        acl[i] = sub->acl[i];
        int rc = java_form(v, sub->acl[i].scheme, &acl[i].scheme);
        if (rc == 0)
            rc = java_form(v, sub->acl[i].id, &acl[i].id);
        if (rc != 0)
            return rc;
    }
    sub->acl = acl;
    return 0;
}

int zt_prep_multi(const zt_tree *t, const zt_prep_ctx *c, const wire_multi_req *m, wire_wr *out)
{
    pview v;
    view_init(&v, t, c);
    int first_err = 0;
    wire_txn multi = {.type = WIRE_OP_MULTI, .n_sub = m->n_ops};
    multi.sub = calloc((size_t)(m->n_ops > 0 ? m->n_ops : 1), sizeof *multi.sub);
    if (multi.sub == NULL)
        return ZERR_NOMEM;
    /* After the first failure ZooKeeper stops prepping: that op carries its
     * error, later ones RUNTIMEINCONSISTENCY, earlier ones keep their txns
     * (apply turns them into OK results without applying them). An op whose
     * prep throws something other than a KeeperException (a null path to
     * create or delete, a cast) fails the whole request instead: one
     * ErrorTxn(MARSHALLINGERROR) with the zxid spent. */
    for (int32_t i = 0; i < m->n_ops; i++) {
        wire_txn *sub = &multi.sub[i];
        if (first_err != 0) {
            *sub = (wire_txn){.type = WIRE_OP_ERROR, .err = ZERR_RUNTIMEINCONSISTENCY};
            continue;
        }
        wire_write_req op = m->ops[i];
        bool throws = false;
        switch (op.type) {
        case WIRE_OP_CREATE:
        case WIRE_OP_CREATE2:
        case WIRE_OP_CREATECONTAINER:
        case WIRE_OP_CREATETTL:
            op = multi_create(&m->ops[i], &throws);
            break;
        default:
            break;
        }
        int rc = throws ? ZERR_MARSHALLINGERROR : prep_op(&v, &op, sub);
        if (rc == 0 && sub->n_acl > 0)
            rc = multi_reread_acl(&v, sub);
        if (rc == ZERR_NOMEM || rc == ZERR_MARSHALLINGERROR) {
            first_err = rc;
            break;
        }
        if (rc != 0) {
            first_err = rc;
            *sub = (wire_txn){.type = WIRE_OP_ERROR, .err = rc};
        }
    }
    int rc = first_err;
    if (rc == ZERR_MARSHALLINGERROR) {
        rc = finish(c, rc, WIRE_OP_ERROR, NULL, out);
    } else if (rc != ZERR_NOMEM) {
        encode(c, WIRE_OP_MULTI, &multi, out);
        if (wire_wr_err(out) != 0)
            rc = ZERR_NOMEM;
    }
    free(multi.sub);
    view_fini(&v);
    return rc;
}

int zt_prep_create_session(const zt_prep_ctx *c, int32_t timeout_ms, wire_wr *out)
{
    wire_txn txn = {.type = WIRE_OP_CREATESESSION, .timeout_ms = timeout_ms};
    encode(c, WIRE_OP_CREATESESSION, &txn, out);
    return wire_wr_err(out) != 0 ? ZERR_NOMEM : 0;
}

typedef struct eph_list {
    wire_str *paths;
    size_t n, cap;
} eph_list;

static int collect_eph(void *arg, int64_t owner, const zt_node *n)
{
    eph_list *l = arg;
    if (wire_reserve((void **)&l->paths, &l->cap, l->n, sizeof *l->paths) != 0)
        return ZERR_NOMEM;
    l->paths[l->n++] = zt_node_path(n);
    return 0;
}

int zt_prep_close_session(const zt_tree *t, const zt_prep_ctx *c, wire_wr *out)
{
    eph_list l = {0};
    int rc = zt_ephemerals(t, c->session_id, collect_eph, &l);
    if (rc == 0) {
        wire_txn txn = {.type = WIRE_OP_CLOSESESSION, .paths = l.paths, .n_paths = (int32_t)l.n};
        encode(c, WIRE_OP_CLOSESESSION, &txn, out);
        rc = wire_wr_err(out) != 0 ? ZERR_NOMEM : 0;
    }
    free(l.paths);
    return rc;
}

int zt_prep_delete_container(const zt_tree *t, const zt_prep_ctx *c, wire_str path, wire_wr *out)
{
    pview v;
    view_init(&v, t, c);
    wire_write_req q = {.type = WIRE_OP_DELETECONTAINER, .path = path, .version = -1};
    wire_txn txn;
    memset(&txn, 0, sizeof txn);
    int rc = prep_delete(&v, &q, &txn, true);
    rc = finish(c, rc, WIRE_OP_DELETECONTAINER, &txn, out);
    view_fini(&v);
    return rc;
}
