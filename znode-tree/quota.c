/*
 * quota.c: ZooKeeper 3.8's namespace quotas, kept the way its DataTree keeps
 * them, and the check its PrepRequestProcessor makes before a write.
 *
 * Clients (zkCli's setquota, Curator, ...) write the limits; the server
 * keeps the usage. For a quota on path P:
 *
 *   /zookeeper/quota<P>/zookeeper_limits   written by clients
 *   /zookeeper/quota<P>/zookeeper_stats    created by clients, then kept by
 *                                          the server on every apply
 *
 * Both hold a StatsTrack string (statstrack.c): "count=5,bytes=-1=;
 * byteHardLimit=-1;countHardLimit=-1" for zkCli's "setquota -n 5", where -1
 * means "not set"; the server writes "count=<nodes>,bytes=<data bytes>".
 *
 * Usage, as DataTree counts it: the quota root P itself and every node below
 * it, and the sum of their data lengths (paths are not counted). Only the
 * deepest quota root above a node is charged (PathTrie.findMaxPrefix), so a
 * nested root's nodes are not charged to the outer one. The stats node's
 * own stat (mzxid, version, ...) never moves when the server rewrites it, no
 * watch fires, and ZooKeeper's approximate data size does not follow those
 * rewrites either; we copy all three.
 *
 * Quota roots are kept in a hash set of their paths and of every prefix of
 * them (ZooKeeper's PathTrie, flattened), so finding the deepest root above
 * a path costs one lookup per path component until the first component no
 * root lies under. A tree with no limits node has no set at all and pays a
 * pointer test per write.
 *
 * Not done here: logging (prep hands notes to the server), and ZooKeeper's
 * crashes. ZooKeeper 3.8 dies (the server process exits) when a stats node
 * holds something StatsTrack cannot parse and a write under its root is
 * applied, when a node named /zookeeper/quota/zookeeper_limits is created,
 * and when a node named zookeeper_limits is deleted under a /zookeeper*
 * parent of at most 16 characters ("/zookeeper", "/zookeeperfoo"); and it
 * then fails to restart on that log. Here the first leaves the stats node as it is and the others
 * simply make no quota root.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

#define QUOTA_DIR    "/zookeeper/quota"
#define QUOTA_DIR_N  (sizeof QUOTA_DIR - 1)
#define LIMITS_NAME  "zookeeper_limits"
#define STATS_NAME   "zookeeper_stats"
#define ZK_DIR       "/zookeeper"
#define ZK_DIR_N     (sizeof ZK_DIR - 1)
#define INITIAL_SETS 16

/* One path in the set: a quota root, or a prefix of one. */
typedef struct qent {
    struct qent *next;
    uint32_t hash, len;
    uint32_t refs; /* roots at or below this path */
    bool is_root;
    char *stats_path; /* QUOTA_DIR + path + "/" STATS_NAME, roots only */
    char *limits_path;
    uint32_t stats_len, limits_len;
    char path[]; /* normalised, NUL-terminated */
} qent;

struct zt_quota {
    qent **buckets;
    size_t n_buckets; /* power of two */
    size_t n_entries;
    size_t n_roots;
};

/* ---- the set of quota roots ------------------------------------------------- */

static uint32_t fnv_step(uint32_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t fnv_final(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

#define FNV_SEED 2166136261u

static qent *set_find(const zt_quota *q, const char *path, size_t len, uint32_t h)
{
    for (qent *e = q->buckets[h & (q->n_buckets - 1)]; e != NULL; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->path, path, len) == 0)
            return e;
    return NULL;
}

static int set_grow(zt_quota *q)
{
    size_t nb = q->n_buckets * 2;
    qent **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return ZERR_NOMEM;
    for (size_t i = 0; i < q->n_buckets; i++)
        for (qent *e = q->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(q->buckets);
    q->buckets = b;
    q->n_buckets = nb;
    return 0;
}

static void ent_free(qent *e)
{
    if (e != NULL) {
        free(e->stats_path);
        free(e->limits_path);
        free(e);
    }
}

void zt_quota_free(zt_quota *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n_buckets; i++)
        for (qent *e = q->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            ent_free(e);
        }
    free(q->buckets);
    free(q);
}

static char *join3(const char *a, const char *b, size_t blen, const char *c, uint32_t *len_out)
{
    size_t an = strlen(a), cn = strlen(c);
    char *s = malloc(an + blen + cn + 1);
    if (s != NULL) {
        memcpy(s, a, an);
        memcpy(s + an, b, blen);
        memcpy(s + an + blen, c, cn + 1);
        *len_out = (uint32_t)(an + blen + cn);
    }
    return s;
}

/* A component the way PathTrie.split keeps it: Java's trim() would leave
 * something (a character above U+0020). */
static bool component_counts(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)p[i] > ' ')
            return true;
    return false;
}

/* The path PathTrie uses for s: its kept components, each after a '/'.
 * Returns the length ("" for none), writing into *buf (malloc'd) only when
 * s is not already in that form; *out points at s or *buf. */
static int normalise(const char *s, size_t n, const char **out, size_t *len_out, char **buf)
{
    bool plain = n > 0 && s[0] == '/';
    for (size_t i = 0; i < n && plain;) {
        size_t j = i + 1;
        while (j < n && s[j] != '/')
            j++;
        plain = j > i + 1 && component_counts(s + i + 1, j - i - 1);
        i = j;
    }
    *buf = NULL;
    if (plain) {
        *out = s;
        *len_out = n;
        return 0;
    }
    char *b = malloc(n + 2);
    if (b == NULL)
        return ZERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && s[i] == '/')
            i++;
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        if (j > i && component_counts(s + i, j - i)) {
            b[k++] = '/';
            memcpy(b + k, s + i, j - i);
            k += j - i;
        }
        i = j;
    }
    b[k] = '\0';
    *buf = b;
    *out = b;
    *len_out = k;
    return 0;
}

/* The end of the component of normalised path p that starts at from (a '/'). */
static size_t next_end(const char *p, size_t n, size_t from)
{
    size_t j = from + 1;
    while (j < n && p[j] != '/')
        j++;
    return j;
}

static int root_add(zt_tree *t, const char *raw, size_t raw_len)
{
    const char *p;
    size_t n;
    char *buf;
    int rc = normalise(raw, raw_len, &p, &n, &buf);
    if (rc != 0)
        return rc;
    /* No component left: PathTrie marks its own root, which findMaxPrefix
     * never reports. */
    if (n == 0)
        goto out;
    if (t->quota == NULL) {
        rc = ZERR_NOMEM;
        zt_quota *q = calloc(1, sizeof *q);
        if (q == NULL)
            goto out;
        q->n_buckets = INITIAL_SETS;
        q->buckets = calloc(q->n_buckets, sizeof *q->buckets);
        if (q->buckets == NULL) {
            free(q);
            goto out;
        }
        t->quota = q;
    }
    zt_quota *q = t->quota;
    qent *full = set_find(q, p, n, fnv_final(fnv_step(FNV_SEED, p, n)));
    rc = 0;
    if (full != NULL && full->is_root)
        goto out;
    rc = ZERR_NOMEM;
    /* Make every entry first, so a failure leaves the counts as they were. */
    uint32_t h = FNV_SEED;
    for (size_t i = 0; i < n;) {
        size_t j = next_end(p, n, i);
        h = fnv_step(h, p + i, j - i);
        uint32_t fh = fnv_final(h);
        if (set_find(q, p, j, fh) == NULL) {
            if (q->n_entries >= q->n_buckets && set_grow(q) != 0)
                goto out;
            qent *e = calloc(1, sizeof *e + j + 1);
            if (e == NULL)
                goto out;
            memcpy(e->path, p, j);
            e->len = (uint32_t)j;
            e->hash = fh;
            e->next = q->buckets[fh & (q->n_buckets - 1)];
            q->buckets[fh & (q->n_buckets - 1)] = e;
            q->n_entries++;
        }
        i = j;
    }
    full = set_find(q, p, n, fnv_final(fnv_step(FNV_SEED, p, n)));
    char *sp = join3(QUOTA_DIR, p, n, "/" STATS_NAME, &full->stats_len);
    char *lp = join3(QUOTA_DIR, p, n, "/" LIMITS_NAME, &full->limits_len);
    if (sp == NULL || lp == NULL) {
        free(sp);
        free(lp);
        goto out;
    }
    full->stats_path = sp;
    full->limits_path = lp;
    full->is_root = true;
    q->n_roots++;
    h = FNV_SEED;
    for (size_t i = 0; i < n;) {
        size_t j = next_end(p, n, i);
        h = fnv_step(h, p + i, j - i);
        set_find(q, p, j, fnv_final(h))->refs++;
        i = j;
    }
    rc = 0;
out:
    /* Entries made before a failure keep refs 0; root_remove and lookups
     * treat those as absent prefixes, and zt_quota_free frees them. */
    free(buf);
    return rc;
}

static void set_unlink(zt_quota *q, qent *e)
{
    qent **pp = &q->buckets[e->hash & (q->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    q->n_entries--;
    ent_free(e);
}

static int root_remove(zt_tree *t, const char *raw, size_t raw_len)
{
    zt_quota *q = t->quota;
    if (q == NULL || q->n_roots == 0)
        return 0;
    const char *p;
    size_t n;
    char *buf;
    int rc = normalise(raw, raw_len, &p, &n, &buf);
    if (rc != 0)
        return rc;
    qent *full = n > 0 ? set_find(q, p, n, fnv_final(fnv_step(FNV_SEED, p, n))) : NULL;
    if (full != NULL && full->is_root) {
        full->is_root = false;
        free(full->stats_path);
        free(full->limits_path);
        full->stats_path = full->limits_path = NULL;
        q->n_roots--;
        uint32_t h = FNV_SEED;
        for (size_t i = 0; i < n;) {
            size_t j = next_end(p, n, i);
            h = fnv_step(h, p + i, j - i);
            qent *e = set_find(q, p, j, fnv_final(h));
            i = j;
            if (--e->refs == 0)
                set_unlink(q, e);
        }
    }
    free(buf);
    return 0;
}

/* DataTree.getMaxPrefixWithQuota: the deepest quota root at or above path,
 * or NULL. Stops at the first prefix no root lies under. */
static const qent *max_prefix(const zt_tree *t, const char *raw, size_t raw_len, int *err)
{
    const zt_quota *q = t->quota;
    *err = 0;
    if (q == NULL || q->n_roots == 0)
        return NULL;
    const char *p;
    size_t n;
    char *buf;
    if ((*err = normalise(raw, raw_len, &p, &n, &buf)) != 0)
        return NULL;
    const qent *best = NULL;
    uint32_t h = FNV_SEED;
    for (size_t i = 0; i < n;) {
        size_t j = next_end(p, n, i);
        h = fnv_step(h, p + i, j - i);
        const qent *e = set_find(q, p, j, fnv_final(h));
        if (e == NULL || e->refs == 0)
            break;
        if (e->is_root)
            best = e;
        i = j;
    }
    free(buf);
    return best;
}

/* ---- keeping zookeeper_stats ------------------------------------------------ */

/* Every rewrite of a stats node goes through here. ZooKeeper's
 * nodeDataSize (approximate data size) does not see these rewrites, so the
 * tree's data_size is put back. The tree digest leaves every node below
 * "/zookeeper/" out (DigestCalculator: "quota nodes are updated locally"),
 * stats nodes included; sub and add still bracket the change so that the
 * node's cached term stays right whatever that rule becomes. */
static int put_stats(zt_tree *t, zt_node *n, const wire_wr *w)
{
    if (wire_wr_err(w) != 0)
        return ZERR_NOMEM;
    int64_t size = t->data_size;
    zt_digest_sub(t, n);
    int rc = zt_node_set_data(t, n, w->p, (int32_t)w->len);
    zt_digest_add(t, n);
    t->data_size = size;
    return rc;
}

/* DataTree.updateQuotaStat: add the diffs to the stats node of root. A
 * missing stats node is skipped (ZooKeeper logs "Missing node for stat");
 * one StatsTrack cannot parse is left as it is (ZooKeeper's apply thread
 * dies there). */
static int update_stats(zt_tree *t, const qent *root, const zt_node *skip, int64_t bytes_diff,
                        int64_t count_diff)
{
    zt_node *n = zt_find(t, root->stats_path, root->stats_len);
    if (n == NULL || n == skip)
        return 0;
    wire_wr w;
    wire_wr_init(&w);
    int rc = zt_stats_rewrite(n->data, n->data_len > 0 ? (size_t)n->data_len : 0, count_diff,
                              bytes_diff, &w);
    if (rc == 0)
        rc = put_stats(t, n, &w);
    else if (rc == ZERR_MARSHALLINGERROR)
        rc = 0;
    wire_wr_fini(&w);
    return rc;
}

/* DataTree.getCounts: the node at path (the raw string; "" is the root, as
 * in ZooKeeper's node map) and all below it; 0 and 0 when it is missing. */
static void subtree_usage(const zt_tree *t, const char *path, size_t len, int64_t *count,
                          int64_t *bytes)
{
    *count = *bytes = 0;
    const zt_node *top = len == 0 ? t->root : zt_find(t, path, len);
    if (top == NULL)
        return;
    const zt_node *c = top;
    for (;;) {
        *count += 1;
        *bytes += c->data_len > 0 ? c->data_len : 0;
        if (c->child != NULL) {
            c = c->child;
            continue;
        }
        while (c != top && c->next == NULL)
            c = c->parent;
        if (c == top)
            break;
        c = c->next;
    }
}

/* DataTree.updateQuotaForPath: the stats node of raw path gets
 * "count=N,bytes=M" for the subtree, whatever it held. */
static int recompute(zt_tree *t, const char *path, size_t len)
{
    uint32_t slen;
    char *sp = join3(QUOTA_DIR, path, len, "/" STATS_NAME, &slen);
    if (sp == NULL)
        return ZERR_NOMEM;
    zt_node *n = zt_find(t, sp, slen);
    free(sp);
    if (n == NULL)
        return 0;
    int64_t count, bytes;
    subtree_usage(t, path, len, &count, &bytes);
    wire_wr w;
    wire_wr_init(&w);
    zt_stats_write(&w, count, bytes);
    int rc = put_stats(t, n, &w);
    wire_wr_fini(&w);
    return rc;
}

static bool name_is(const zt_node *n, const char *name)
{
    size_t len = n->path_len - n->name_off;
    return len == strlen(name) && memcmp(n->path + n->name_off, name, len) == 0;
}

static bool starts_with(const char *p, size_t n, const char *prefix, size_t pn)
{
    return n >= pn && memcmp(p, prefix, pn) == 0;
}

/* The parent's path of n and its length. */
static size_t parent_len(const zt_node *n)
{
    return n->name_off > 1 ? n->name_off - 1 : 1;
}

static int charge(zt_tree *t, const zt_node *n, const zt_node *skip, int64_t bytes_diff,
                  int64_t count_diff)
{
    int rc;
    const qent *root = max_prefix(t, n->path, n->path_len, &rc);
    if (root != NULL)
        rc = update_stats(t, root, skip, bytes_diff, count_diff);
    return rc;
}

int zt_quota_on_create(zt_tree *t, zt_node *n)
{
    int rc = 0;
    /* The created data, before a stats node's own is recomputed below. */
    int64_t bytes = n->data_len > 0 ? n->data_len : 0;
    size_t plen = parent_len(n);
    /* DataTree.createNode: parentName.startsWith("/zookeeper/quota"), and
     * the quota path is whatever follows those 16 characters. */
    if (starts_with(n->path, plen, QUOTA_DIR, QUOTA_DIR_N)) {
        const char *qp = n->path + QUOTA_DIR_N;
        size_t qlen = plen - QUOTA_DIR_N;
        if (name_is(n, LIMITS_NAME) && qlen > 0)
            rc = root_add(t, qp, qlen);
        else if (name_is(n, STATS_NAME))
            rc = recompute(t, qp, qlen);
        if (rc != 0)
            return rc;
    }
    if (t->quota == NULL)
        return 0;
    return charge(t, n, NULL, bytes, 1);
}

int zt_quota_on_delete(zt_tree *t, zt_node *n)
{
    int rc = 0;
    size_t plen = parent_len(n);
    /* DataTree.deleteNode tests parentName.startsWith("/zookeeper") but
     * still cuts 16 characters; shorter parents, and the empty quota path,
     * make ZooKeeper throw. */
    if (starts_with(n->path, plen, ZK_DIR, ZK_DIR_N) && name_is(n, LIMITS_NAME) &&
        plen > QUOTA_DIR_N)
        rc = root_remove(t, n->path + QUOTA_DIR_N, plen - QUOTA_DIR_N);
    if (rc != 0 || t->quota == NULL)
        return rc;
    /* The node is still linked; its own stats node is not rewritten. */
    return charge(t, n, n, -(int64_t)(n->data_len > 0 ? n->data_len : 0), -1);
}

int zt_quota_on_set_data(zt_tree *t, zt_node *n, int32_t old_len)
{
    if (t->quota == NULL)
        return 0;
    int64_t diff = (int64_t)(n->data_len > 0 ? n->data_len : 0) - (old_len > 0 ? old_len : 0);
    return charge(t, n, NULL, diff, 0);
}

/* DataTree.setupQuota / traverseNode: every leaf below /zookeeper/quota
 * whose path ends in "/zookeeper_limits" names a quota root (the text
 * between "/zookeeper/quota" and the first "/zookeeper_limits"); its stats
 * are recomputed, then it joins the set. */
int zt_quota_setup(zt_tree *t)
{
    static const char tail[] = "/" LIMITS_NAME;
    const size_t tail_n = sizeof tail - 1;
    const zt_node *top = zt_find(t, QUOTA_DIR, QUOTA_DIR_N);
    if (top == NULL)
        return 0;
    int64_t size = t->data_size;
    int rc = 0;
    const zt_node *c = top;
    while (rc == 0) {
        if (c->child != NULL) {
            c = c->child;
            continue;
        }
        if (c->path_len >= tail_n && memcmp(c->path + c->path_len - tail_n, tail, tail_n) == 0) {
            const char *at = NULL;
            for (size_t i = QUOTA_DIR_N; at == NULL && i + tail_n <= c->path_len; i++)
                if (memcmp(c->path + i, tail, tail_n) == 0)
                    at = c->path + i;
            size_t qlen = (size_t)(at - (c->path + QUOTA_DIR_N));
            /* An empty quota path makes ZooKeeper's PathTrie throw. */
            if (qlen > 0 && (rc = recompute(t, c->path + QUOTA_DIR_N, qlen)) == 0)
                rc = root_add(t, c->path + QUOTA_DIR_N, qlen);
        }
        while (c != top && c->next == NULL)
            c = c->parent;
        if (c == top)
            break;
        c = c->next;
    }
    t->data_size = size;
    return rc;
}

/* ---- the check before a write ----------------------------------------------- */

static void note(const zt_prep_ctx *c, const qent *root, wire_str path, int32_t kind, bool is_hard,
                 int64_t value, int64_t limit)
{
    zt_quota_notes *ns = c->quota_notes;
    if (ns == NULL)
        return;
    if (ns->n == sizeof ns->v / sizeof ns->v[0]) {
        ns->dropped++;
        return;
    }
    zt_quota_note *x = &ns->v[ns->n++];
    x->kind = kind;
    x->is_hard = is_hard;
    x->value = value;
    x->limit = limit;
    x->root.p = root->path;
    x->root.len = (int32_t)root->len;
    x->path = path;
}

int zt_quota_check(const zt_tree *t, const zt_prep_ctx *c, wire_str path, wire_str req_path,
                   int64_t bytes_diff, int64_t count_diff)
{
    int rc;
    if (t->quota == NULL || t->quota->n_roots == 0 || path.len <= 0)
        return 0;
    const qent *root = max_prefix(t, path.p, (size_t)path.len, &rc);
    if (root == NULL)
        return rc;
    /* ZooKeeperServer.checkQuota: the limits node, then (only when a limit
     * applies to what changes) the stats node, both as the tree has them:
     * within a multi, earlier ops are not counted yet. */
    const zt_node *ln = zt_find(t, root->limits_path, root->limits_len);
    if (ln == NULL)
        return 0;
    zt_stats_track l;
    if (zt_stats_read(ln->data, ln->data_len > 0 ? (size_t)ln->data_len : 0, &l) != 0) {
        note(c, root, req_path, ZT_QUOTA_UNREADABLE, false, 0, 0);
        return c->enforce_quota ? ZERR_MARSHALLINGERROR : 0;
    }
    bool check_count = count_diff != 0 && (l.count > -1 || l.count_hard > -1);
    bool check_bytes = bytes_diff != 0 && (l.bytes > -1 || l.bytes_hard > -1);
    if (!check_count && !check_bytes)
        return 0;
    const zt_node *sn = zt_find(t, root->stats_path, root->stats_len);
    if (sn == NULL)
        return 0;
    zt_stats_track usage;
    if (zt_stats_read(sn->data, sn->data_len > 0 ? (size_t)sn->data_len : 0, &usage) != 0) {
        note(c, root, req_path, ZT_QUOTA_UNREADABLE, false, 0, 0);
        return c->enforce_quota ? ZERR_MARSHALLINGERROR : 0;
    }
    /* A hard limit, when set, replaces the soft one; the count is checked
     * before the bytes, and only the first hard failure answers. */
    if (check_count) {
        int64_t now = zt_add64(usage.count, count_diff);
        bool hard = l.count_hard > -1;
        int64_t limit = hard ? l.count_hard : l.count;
        if (now > limit) {
            note(c, root, req_path, ZT_QUOTA_COUNT, hard, now, limit);
            if (hard && c->enforce_quota)
                return ZERR_QUOTAEXCEEDED;
        }
    }
    if (check_bytes) {
        int64_t now = zt_add64(usage.bytes, bytes_diff);
        bool hard = l.bytes_hard > -1;
        int64_t limit = hard ? l.bytes_hard : l.bytes;
        if (now > limit) {
            note(c, root, req_path, ZT_QUOTA_BYTES, hard, now, limit);
            if (hard && c->enforce_quota)
                return ZERR_QUOTAEXCEEDED;
        }
    }
    return 0;
}
