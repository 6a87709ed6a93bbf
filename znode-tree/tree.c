/*
 * tree.c: node storage (the path index, parent/sibling links), the
 * ephemeral / container / TTL indexes, and the read API.
 *
 * The path index (zt_int.h): linear probing over (hash, node) slots at a
 * load of at most one half, deletion by backward shift (no tombstones).
 *
 * It does not validate anything: prep.c decides what may happen and apply.c
 * makes it happen through the helpers here.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

uint32_t zt_hash(const char *p, size_t n)
{
    /* Eight bytes a step (a path hashed a byte at a time was a third of a
     * lookup), then murmur3's finaliser so that power-of-two masks see
     * every bit. In memory only: its values are never stored. */
    const uint64_t k = 0xff51afd7ed558ccdull;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    if (n > 0) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++)
            w |= (uint64_t)(uint8_t)p[i] << (8 * i);
        h = (h ^ w) * k;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

zt_node *zt_find(const zt_tree *t, const char *path, size_t len)
{
    uint32_t h = zt_hash(path, len);
    size_t mask = t->n_slots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const zt_slot *s = &t->slots[i];
        if (s->n == NULL)
            return NULL;
        if (s->hash == h && s->n->path_len == len && memcmp(s->n->path, path, len) == 0)
            return s->n;
    }
}

static void slot_put(zt_slot *slots, size_t n_slots, zt_node *n, uint32_t h)
{
    size_t mask = n_slots - 1, i = h & mask;
    while (slots[i].n != NULL)
        i = (i + 1) & mask;
    slots[i] = (zt_slot){n, h};
}

static zt_slot *slots_alloc(const zt_index_mem *mem, size_t n)
{
    return mem != NULL ? mem->zalloc(n * sizeof(zt_slot)) : calloc(n, sizeof(zt_slot));
}

static void slots_free(const zt_index_mem *mem, zt_slot *slots, size_t n)
{
    if (mem != NULL && slots != NULL)
        mem->free(slots, n * sizeof(zt_slot));
    else
        free(slots);
}

/* Rehashes into ns slots from mem: only the table is written, no node. */
static int rehash(zt_tree *t, const zt_index_mem *mem, size_t ns)
{
    zt_slot *slots = slots_alloc(mem, ns);
    if (slots == NULL)
        return ZERR_NOMEM;
    for (size_t i = 0; i < t->n_slots; i++)
        if (t->slots[i].n != NULL)
            slot_put(slots, ns, t->slots[i].n, t->slots[i].hash);
    slots_free(t->index_mem, t->slots, t->n_slots);
    t->slots = slots;
    t->n_slots = ns;
    t->index_mem = mem;
    return 0;
}

static int grow_slots(zt_tree *t)
{
    if (t->n_slots > SIZE_MAX / 2 / sizeof(zt_slot))
        return ZERR_NOMEM;
    return rehash(t, t->index_mem, t->n_slots * 2);
}

int zt_index_use(zt_tree *t, const zt_index_mem *mem)
{
    return rehash(t, mem, t->n_slots);
}

/* Removes n's slot, shifting back the run after it so that no lookup stops
 * early at the hole. */
static void slot_del(zt_tree *t, const zt_node *n)
{
    size_t mask = t->n_slots - 1, i = n->hash & mask;
    while (t->slots[i].n != n)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; t->slots[j].n != NULL; j = (j + 1) & mask) {
        size_t home = t->slots[j].hash & mask;
        /* j's entry may move into the hole i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].n = NULL;
}

size_t zt_parent_len(const char *path, size_t len)
{
    size_t i = len;
    while (i > 0 && path[i - 1] != '/')
        i--;
    /* i is one past the last slash; the parent of "/a" is "/". */
    return i <= 1 ? 1 : i - 1;
}

/* The data room allocated behind a node's path. */
static uint8_t *inline_data(zt_node *n, size_t path_len)
{
    return (uint8_t *)n->path + path_len + 1;
}

static void data_free(zt_node *n)
{
    if (n->data != inline_data(n, n->path_len))
        free(n->data);
}

zt_node *zt_node_insert(zt_tree *t, zt_node *parent, const char *path, size_t len,
                        const uint8_t *data, int32_t data_len)
{
    if ((t->n_nodes + 1) * 2 > t->n_slots && grow_slots(t) != 0)
        return NULL;
    size_t room = data_len > 0 ? (size_t)data_len : 0;
    zt_node *n = calloc(1, sizeof *n + len + 1 + room);
    if (n == NULL)
        return NULL;
    n->inline_cap = (uint32_t)room;
    if (data_len > 0) {
        n->data = inline_data(n, len);
        memcpy(n->data, data, (size_t)data_len);
    }
    /* -1 keeps a null buffer null: ZooKeeper hands it back as length -1. */
    n->data_len = data_len < 0 ? -1 : data_len;
    memcpy(n->path, path, len);
    n->path[len] = '\0';
    n->path_len = (uint32_t)len;
    size_t name = len;
    while (name > 0 && path[name - 1] != '/')
        name--;
    n->name_off = (uint32_t)name;
    n->hash = zt_hash(path, len);
    slot_put(t->slots, t->n_slots, n, n->hash);
    t->n_nodes++;
    t->data_size += (int64_t)len + (data_len > 0 ? data_len : 0);
    if (parent != NULL) {
        n->parent = parent;
        n->next = parent->child;
        if (parent->child != NULL)
            parent->child->prev = n;
        parent->child = n;
        parent->num_children++;
        if (parent->num_children > parent->peak_children)
            parent->peak_children = parent->num_children;
    }
    return n;
}

void zt_node_unlink(zt_tree *t, zt_node *n)
{
    ZK_ASSERT(n->child == NULL, "unlinking %s with children", n->path);
    slot_del(t, n);
    if (n->parent != NULL) {
        if (n->prev != NULL)
            n->prev->next = n->next;
        else
            n->parent->child = n->next;
        if (n->next != NULL)
            n->next->prev = n->prev;
        n->parent->num_children--;
    }
    t->n_nodes--;
    t->data_size -= (int64_t)n->path_len + (n->data_len > 0 ? n->data_len : 0);
    data_free(n);
    free(n);
}

int zt_node_set_data(zt_tree *t, zt_node *n, const uint8_t *data, int32_t len)
{
    uint8_t *p = NULL;
    if (len > 0 && (uint32_t)len <= n->inline_cap) {
        /* In place: data may alias the current bytes (memmove), and a heap
         * copy, if one was in use, goes. */
        p = inline_data(n, n->path_len);
        memmove(p, data, (size_t)len);
    } else if (len > 0) {
        p = malloc((size_t)len);
        if (p == NULL)
            return ZERR_NOMEM;
        memcpy(p, data, (size_t)len);
    }
    t->data_size += (int64_t)(len > 0 ? len : 0) - (n->data_len > 0 ? n->data_len : 0);
    if (n->data != p)
        data_free(n);
    n->data = p;
    n->data_len = len < 0 ? -1 : len;
    n->has_digest_prefix = false;
    return 0;
}

/* ---- ownership indexes ------------------------------------------------------- */

bool zt_owner_is_ttl(int64_t owner)
{
    return owner != ZT_OWNER_CONTAINER &&
           (owner & ZT_OWNER_EXTENDED_MASK) == ZT_OWNER_EXTENDED_MASK;
}

bool zt_owner_is_session(int64_t owner)
{
    return owner != 0 && owner != ZT_OWNER_CONTAINER && !zt_owner_is_ttl(owner);
}

static int vec_push(zt_nodevec *v, zt_node *n)
{
    if (wire_reserve((void **)&v->v, &v->cap, v->n, sizeof *v->v) != 0)
        return ZERR_NOMEM;
    v->v[v->n++] = n;
    return 0;
}

static void vec_remove(zt_nodevec *v, zt_node *n)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == n) {
            v->v[i] = v->v[--v->n];
            return;
        }
}

/* Removes n keeping the order of the rest (a session's ephemerals). */
static void vec_remove_ordered(zt_nodevec *v, zt_node *n)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == n) {
            memmove(&v->v[i], &v->v[i + 1], (v->n - i - 1) * sizeof *v->v);
            v->n--;
            return;
        }
}

static size_t eph_slot(const zt_tree *t, int64_t owner)
{
    uint64_t h = (uint64_t)owner * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h >> 32) & (t->eph_cap - 1);
    while (t->eph[i].owner != 0 && t->eph[i].owner != owner)
        i = (i + 1) & (t->eph_cap - 1);
    return i;
}

static int eph_grow(zt_tree *t)
{
    zt_eph *old = t->eph;
    size_t old_cap = t->eph_cap;
    size_t cap = old_cap ? old_cap * 2 : 64;
    zt_eph *e = calloc(cap, sizeof *e);
    if (e == NULL)
        return ZERR_NOMEM;
    t->eph = e;
    t->eph_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].owner != 0)
            t->eph[eph_slot(t, old[i].owner)] = old[i];
    free(old);
    return 0;
}

static zt_eph *eph_get(const zt_tree *t, int64_t owner)
{
    if (t->eph_cap == 0)
        return NULL;
    zt_eph *e = &t->eph[eph_slot(t, owner)];
    return e->owner == owner ? e : NULL;
}

int zt_index_add(zt_tree *t, zt_node *n)
{
    if (n->owner == ZT_OWNER_CONTAINER)
        return vec_push(&t->containers, n);
    if (zt_owner_is_ttl(n->owner))
        return vec_push(&t->ttls, n);
    if (n->owner == 0)
        return 0;
    if ((t->eph_used + 1) * 2 > t->eph_cap && eph_grow(t) != 0)
        return ZERR_NOMEM;
    zt_eph *e = &t->eph[eph_slot(t, n->owner)];
    if (e->owner == 0) {
        e->owner = n->owner;
        t->eph_used++;
    }
    if (vec_push(&e->nodes, n) != 0)
        return ZERR_NOMEM;
    if (e->nodes.n > e->peak)
        e->peak = e->nodes.n;
    t->n_ephemeral++;
    return 0;
}

void zt_index_remove(zt_tree *t, zt_node *n)
{
    if (n->owner == ZT_OWNER_CONTAINER) {
        vec_remove(&t->containers, n);
    } else if (zt_owner_is_ttl(n->owner)) {
        vec_remove(&t->ttls, n);
    } else if (n->owner != 0) {
        zt_eph *e = eph_get(t, n->owner);
        if (e == NULL)
            return;
        vec_remove_ordered(&e->nodes, n);
        t->n_ephemeral--;
        /* Empty lists stay until the table is rebuilt: removing from linear
         * probing needs tombstones, and sessions are few next to nodes. */
    }
}

/* ---- lifetime ------------------------------------------------------------------ */

static zt_node *add_special(zt_tree *t, zt_node *parent, const char *path, const wire_acl *acl,
                            int32_t n_acl)
{
    zt_node *n = zt_node_insert(t, parent, path, strlen(path), NULL, 0);
    if (n == NULL || zt_acl_intern(t, acl, n_acl, &n->acl) != 0)
        return NULL;
    return n;
}

zt_tree *zt_new(void)
{
    static const wire_acl all[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    static const wire_acl read[] = {{WIRE_PERM_READ, {"world", 5}, {"anyone", 6}}};
    zt_tree *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->n_slots = 2048;
    t->slots = calloc(t->n_slots, sizeof *t->slots);
    if (t->slots == NULL)
        goto fail;
    zt_node *root = add_special(t, NULL, "/", all, 1);
    zt_node *zk = root ? add_special(t, root, "/zookeeper", all, 1) : NULL;
    zt_node *quota = zk ? add_special(t, zk, "/zookeeper/quota", all, 1) : NULL;
    zt_node *config = quota ? add_special(t, zk, "/zookeeper/config", read, 1) : NULL;
    if (config == NULL)
        goto fail;
    root->name_off = 1;
    /* ZooKeeper's DataTree.addConfigNode leaves the config node at aversion -1. */
    config->aversion = -1;
    t->root = root;
    zt_digest_add(t, root);
    zt_digest_add(t, zk);
    zt_digest_add(t, quota);
    zt_digest_add(t, config);
    return t;
fail:
    zt_free(t);
    return NULL;
}

void zt_free(zt_tree *t)
{
    if (t == NULL)
        return;
    free(t->digest_log);
    for (size_t i = 0; t->slots != NULL && i < t->n_slots; i++) {
        zt_node *n = t->slots[i].n;
        if (n != NULL) {
            data_free(n);
            free(n);
        }
    }
    slots_free(t->index_mem, t->slots, t->n_slots);
    for (size_t i = 0; i < t->n_acls; i++) {
        free(t->acls[i].acl);
        free(t->acls[i].blob);
    }
    free(t->acls);
    for (size_t i = 0; i < t->eph_cap; i++)
        free(t->eph[i].nodes.v);
    free(t->eph);
    free(t->containers.v);
    free(t->ttls.v);
    zt_quota_free(t->quota);
    free(t);
}

/* ---- reads --------------------------------------------------------------------- */

const zt_node *zt_lookup(const zt_tree *t, wire_str path)
{
    if (path.len < 0)
        return NULL;
    /* ZooKeeper's DataTree also files the root under "": reads of the
     * empty path answer as "/". */
    if (path.len == 0)
        return t->root;
    return zt_find(t, path.p, (size_t)path.len);
}

void zt_node_stat(const zt_node *n, wire_stat *st)
{
    st->czxid = n->czxid;
    st->mzxid = n->mzxid;
    st->ctime = n->ctime;
    st->mtime = n->mtime;
    st->version = n->version;
    /* The stored cversion counts child creations, which is what sequential
     * suffixes use; clients see the number of child changes, ZooKeeper's
     * "v3 semantics" (DataNode.copyStat): every create but those still
     * present was followed by a delete. */
    st->cversion = (int32_t)((uint32_t)n->cversion * 2u - (uint32_t)n->num_children);
    st->aversion = n->aversion;
    /* Container and TTL markers stay inside the server (getClientEphemeralOwner). */
    st->ephemeral_owner = zt_owner_is_session(n->owner) ? n->owner : 0;
    st->data_length = n->data_len > 0 ? n->data_len : 0;
    st->num_children = n->num_children;
    st->pzxid = n->pzxid;
}

wire_buf zt_node_data(const zt_node *n)
{
    wire_buf b = {n->data, n->data_len};
    return b;
}

wire_str zt_node_path(const zt_node *n)
{
    wire_str s = {n->path, (int32_t)n->path_len};
    return s;
}

wire_str zt_node_name(const zt_node *n)
{
    wire_str s = {n->path + n->name_off, (int32_t)(n->path_len - n->name_off)};
    return s;
}

int64_t zt_node_owner(const zt_node *n)
{
    return n->owner;
}
/* A node's children as ZooKeeper lists them: DataNode keeps the names in
 * a HashSet<String>(8), whose HashMap files each under hash(name) & (cap -
 * 1) (hash: String.hashCode with its high half folded in), cap 8 doubling
 * whenever the set passed 3/4 of it and never shrinking, each bin in
 * insertion order (a resize keeps it). The sibling list is newest first,
 * so insertion order is its reverse.
 *
 * Sorting by bin is a stable radix sort, 11 bits a pass: a snapshot lists
 * every node's children this way, and for a node with millions of them a
 * comparison sort was most of the snapshot's time. */
typedef struct child_key {
    uint32_t bin;
    const zt_node *n;
} child_key;

enum { RADIX_BITS = 11, RADIX = 1 << RADIX_BITS };

/* Stable sort of k keys by bin < cap, a power of two; tmp holds k keys. */
static child_key *sort_by_bin(child_key *keys, child_key *tmp, int32_t k, uint32_t cap)
{
    for (unsigned shift = 0; shift == 0 || (uint64_t)(cap - 1) >> shift != 0; shift += RADIX_BITS) {
        size_t count[RADIX + 1] = {0};
        for (int32_t i = 0; i < k; i++)
            count[((keys[i].bin >> shift) & (RADIX - 1)) + 1]++;
        for (size_t d = 1; d <= RADIX; d++)
            count[d] += count[d - 1];
        for (int32_t i = 0; i < k; i++)
            tmp[count[(keys[i].bin >> shift) & (RADIX - 1)]++] = keys[i];
        child_key *t = keys;
        keys = tmp;
        tmp = t;
    }
    return keys;
}

int zt_node_children(const zt_node *n, const zt_node ***out, int32_t *n_out)
{
    int32_t k = n->num_children;
    *out = NULL;
    *n_out = 0;
    if (k == 0)
        return 0;
    child_key *keys = malloc(2 * (size_t)k * sizeof *keys);
    const zt_node **v = malloc((size_t)k * sizeof *v);
    if (keys == NULL || v == NULL) {
        free(keys);
        free(v);
        return ZERR_NOMEM;
    }
    uint32_t cap = 8;
    while ((int64_t)n->peak_children > (int64_t)cap / 4 * 3)
        cap <<= 1;
    /* keys in insertion order: the list is newest first */
    int32_t i = k;
    for (const zt_node *c = n->child; c != NULL && i > 0; c = c->next) {
        uint32_t h = wire_java_hash(c->path + c->name_off, c->path_len - c->name_off);
        keys[--i] = (child_key){(h ^ (h >> 16)) & (cap - 1), c};
    }
    const child_key *sorted = sort_by_bin(keys, keys + k, k, cap);
    for (i = 0; i < k; i++)
        v[i] = sorted[i].n;
    free(keys);
    *out = v;
    *n_out = k;
    return 0;
}

const zt_node *zt_node_first_child(const zt_node *n)
{
    return n->child;
}
const zt_node *zt_node_next_sibling(const zt_node *n)
{
    return n->next;
}

void zt_node_acl(const zt_tree *t, const zt_node *n, const wire_acl **acl, int32_t *n_acl)
{
    *acl = t->acls[n->acl].acl;
    *n_acl = t->acls[n->acl].n;
}

int64_t zt_count_descendants(const zt_node *n)
{
    /* Iterative pre-order walk over the sibling links: no recursion depth
     * limit, no allocation. */
    int64_t count = 0;
    const zt_node *c = n->child;
    while (c != NULL) {
        count++;
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
    return count;
}

size_t zt_node_count(const zt_tree *t)
{
    return t->n_nodes;
}
int64_t zt_last_zxid(const zt_tree *t)
{
    return t->last_zxid;
}
int64_t zt_data_size(const zt_tree *t)
{
    return t->data_size;
}
size_t zt_ephemeral_count(const zt_tree *t)
{
    return t->n_ephemeral;
}

/* ZooKeeper iterates a session's ephemerals (getEphemerals, and the paths a
 * closeSession deletes, in that order) over a clone of its HashSet<String>.
 * The set's HashMap files each path under hash(path) & (cap - 1), cap 16
 * doubling whenever it passed 3/4 full (it never shrinks), each bin in
 * insertion order (a resize keeps it); clone() re-inserts that order into a
 * table of tableSizeFor(size / 0.75 + 1). So the clone iterates by its own
 * bin, then the original's bin, then creation order. Bins that Java would
 * turn into trees (8 or more colliding paths) are not modelled. */
typedef struct eph_key {
    uint32_t bin2, bin1;
    size_t pos;
    const zt_node *n;
} eph_key;

static int eph_key_cmp(const void *a, const void *b)
{
    const eph_key *x = a, *y = b;
    if (x->bin2 != y->bin2)
        return x->bin2 < y->bin2 ? -1 : 1;
    if (x->bin1 != y->bin1)
        return x->bin1 < y->bin1 ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static uint32_t table_size_for(uint32_t c)
{
    uint32_t n = 1;
    while (n < c)
        n <<= 1;
    return n;
}

static int eph_in_java_order(const zt_eph *e, int (*fn)(void *, int64_t, const zt_node *),
                             void *arg)
{
    size_t n = e->nodes.n;
    if (n == 0)
        return 0;
    eph_key *k = malloc(n * sizeof *k);
    if (k == NULL)
        return ZERR_NOMEM;
    uint32_t cap1 = 16;
    while (e->peak > (size_t)cap1 / 4 * 3)
        cap1 <<= 1;
    uint32_t cap2 = table_size_for((uint32_t)((float)n / 0.75f + 1.0f));
    for (size_t i = 0; i < n; i++) {
        const zt_node *x = e->nodes.v[i];
        uint32_t h = wire_java_hash(x->path, x->path_len);
        h ^= h >> 16;
        k[i] = (eph_key){h & (cap2 - 1), h & (cap1 - 1), i, x};
    }
    qsort(k, n, sizeof *k, eph_key_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(arg, e->owner, k[i].n);
    free(k);
    return rc;
}

int zt_ephemerals(const zt_tree *t, int64_t session,
                  int (*fn)(void *arg, int64_t owner, const zt_node *n), void *arg)
{
    for (size_t i = 0; i < t->eph_cap; i++) {
        const zt_eph *e = &t->eph[i];
        if (e->owner == 0 || (session != 0 && e->owner != session))
            continue;
        if (session != 0)
            return eph_in_java_order(e, fn, arg);
        for (size_t j = 0; j < e->nodes.n; j++) {
            int rc = fn(arg, e->owner, e->nodes.v[j]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

size_t zt_containers_due(const zt_tree *t, int64_t now_ms, size_t max, wire_wr *out)
{
    size_t n = 0;
    /* ContainerManager.getCandidates: a container that has had a child
     * (cversion > 0) and has none now; a childless TTL node untouched for
     * longer than its TTL. */
    for (size_t i = 0; i < t->containers.n && n < max; i++) {
        const zt_node *c = t->containers.v[i];
        if (c->cversion > 0 && c->num_children == 0) {
            wire_wr_raw(out, c->path, c->path_len + 1);
            n++;
        }
    }
    for (size_t i = 0; i < t->ttls.n && n < max; i++) {
        const zt_node *c = t->ttls.v[i];
        int64_t ttl = c->owner & ZT_TTL_MAX;
        if (c->num_children == 0 && ttl != 0 && now_ms - c->mtime > ttl) {
            wire_wr_raw(out, c->path, c->path_len + 1);
            n++;
        }
    }
    return n;
}

/* ZKDatabase.initConfigInZKDatabase: DataTree.setData(CONFIG_NODE, bytes,
 * -1, qv.getVersion(), now), which sets the stat's version to that -1. */
int zt_config_node_set(zt_tree *t, const uint8_t *data, int32_t len, int64_t zxid, int64_t mtime_ms)
{
    static const char path[] = "/zookeeper/config";
    zt_node *n = zt_find(t, path, sizeof path - 1);
    if (n == NULL)
        return ZERR_NONODE;
    int rc = zt_node_set_data(t, n, data, len);
    if (rc != 0)
        return rc;
    n->mtime = mtime_ms;
    n->mzxid = zxid;
    n->version = -1;
    return 0;
}
