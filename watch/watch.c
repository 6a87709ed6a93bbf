/*
 * The watch registry's public operations: add, fire, remove, check, stats.
 *
 * Semantics follow ZooKeeper 3.9's WatchManager, where a (watcher, path)
 * pair carries a set of modes (WatchStats) rather than 3.8's single mode,
 * which silently turned a persistent watch into a one-shot one when the same
 * client also called getData with watch=true.
 *
 * Not here: which events a txn produces (znode-tree), ACL checks on
 * delivery, and mapping watcher ids to connections (server).
 */
#include <stdlib.h>
#include <string.h>

#include "watch/watch_int.h"

watch_reg *watch_new(void)
{
    watch_reg *w = malloc(sizeof(*w));
    if (w == NULL)
        return NULL;
    if (wt_init(w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

void watch_free(watch_reg *w)
{
    if (w == NULL)
        return;
    wt_fini(w);
    free(w);
}

/* ---- Registering ----------------------------------------------------------------- */

/* Adds one mode bit to (table, p, wi). *added tells whether it was new, so
 * a failed second half of a PERSISTENT add can be undone. */
static int add_mode(watch_reg *w, uint32_t p, uint32_t wi, int table, unsigned bit, bool *added)
{
    *added = false;
    uint32_t e = wt_ent_find(w, p, wi, table);
    if (e == WATCH_NIL) {
        if (wt_ent_new(w, p, wi, table, bit) == WATCH_NIL)
            return ZERR_NOMEM;
        *added = true;
    } else if ((w->ents[e].modes & bit) == 0) {
        wt_ent_set_modes(w, e, w->ents[e].modes | bit);
        *added = true;
    }
    return 0;
}

static void clear_mode(watch_reg *w, uint32_t p, uint32_t wi, int table, unsigned bit)
{
    uint32_t e = wt_ent_find(w, p, wi, table);
    if (e != WATCH_NIL)
        wt_ent_set_modes(w, e, w->ents[e].modes & ~bit);
}

int watch_add(watch_reg *w, enum watch_table t, const char *path, size_t path_len, uint64_t watcher,
              enum watch_mode m)
{
    if ((t != WATCH_DATA && t != WATCH_CHILD) ||
        (m != WATCH_STANDARD && m != WATCH_PERSISTENT && m != WATCH_RECURSIVE))
        return ZERR_BADARGUMENTS;
    int rc = ZERR_NOMEM;
    bool added = false;
    uint32_t wi = WATCH_NIL;
    uint32_t p = wt_path_get(w, path, path_len);
    if (p == WATCH_NIL)
        goto out;
    if ((wi = wt_watcher_get(w, watcher)) == WATCH_NIL)
        goto out;
    switch (m) {
    case WATCH_STANDARD:
        rc = add_mode(w, p, wi, t, WM_STANDARD, &added);
        break;
    case WATCH_PERSISTENT:
        if ((rc = add_mode(w, p, wi, WATCH_DATA, WM_PERSISTENT, &added)) != 0)
            break;
        bool added_child;
        if ((rc = add_mode(w, p, wi, WATCH_CHILD, WM_PERSISTENT, &added_child)) != 0 && added)
            clear_mode(w, p, wi, WATCH_DATA, WM_PERSISTENT);
        break;
    case WATCH_RECURSIVE:
        /* DataTree.addWatch: recursive watches live in the data table only,
         * so they never see NodeChildrenChanged. */
        rc = add_mode(w, p, wi, WATCH_DATA, WM_RECURSIVE, &added);
        break;
    }
out:
    /* Undo a fresh path or watcher that ended up holding nothing. */
    if (wi != WATCH_NIL)
        wt_watcher_gc(w, wi);
    if (p != WATCH_NIL)
        wt_path_gc(w, p);
    return rc;
}

/* ---- Firing --------------------------------------------------------------------------- */

/* Steps *len back to the parent of path[0..*len): "/a/b" -> "/a" -> "/".
 * False when there is none (the root, or a path without '/'). */
static bool parent_of(const char *path, size_t *len)
{
    size_t n = *len;
    if (n <= 1)
        return false;
    size_t i = n - 1;
    while (i > 0 && path[i] != '/')
        i--;
    if (path[i] != '/')
        return false;
    *len = i == 0 ? 1 : i;
    return true;
}

typedef struct fire_ctx {
    watch_reg *w;
    int32_t type;
    watch_delivery *out;
    size_t n;
} fire_ctx;

static void deliver(fire_ctx *c, uint32_t wi)
{
    watch_watcher *x = &c->w->ws[wi];
    if (x->stamp == c->w->stamp)
        return; /* already told in this call (through another table or ancestor) */
    x->stamp = c->w->stamp;
    c->out[c->n].watcher = x->id;
    c->out[c->n].event_type = c->type;
    c->n++;
}

/* Every watch in list l of path p fires; one-shot modes are consumed
 * (WatchManager.triggerWatch removes STANDARD at the exact path even when
 * the delivery is suppressed as a duplicate). */
static void fire_exact(fire_ctx *c, uint32_t p, int l)
{
    watch_reg *w = c->w;
    uint32_t e = w->paths[p].head[l];
    while (e != WATCH_NIL) {
        uint32_t next = w->ents[e].pnext;
        deliver(c, w->ents[e].watcher);
        if (w->ents[e].modes & WM_STANDARD)
            wt_ent_set_modes(w, e, w->ents[e].modes & ~WM_STANDARD);
        e = next;
    }
}

static void fire_recursive(fire_ctx *c, uint32_t p)
{
    watch_reg *w = c->w;
    for (uint32_t e = w->paths[p].head[WL_REC]; e != WATCH_NIL; e = w->ents[e].pnext)
        deliver(c, w->ents[e].watcher);
}

/* Upper bound of the deliveries an event can make, from list sizes only. */
static size_t fire_bound(const watch_reg *w, uint32_t p, bool data, bool child, const char *path,
                         size_t path_len)
{
    size_t bound = 0;
    if (p != WATCH_NIL) {
        const watch_path *x = &w->paths[p];
        if (data)
            bound += (size_t)x->n[WL_DATA] + x->n[WL_REC];
        if (child)
            bound += x->n[WL_CHILD];
    }
    if (data && w->n_recursive > 0) {
        size_t len = path_len;
        while (parent_of(path, &len)) {
            uint32_t q = wt_path_find(w, path, len);
            if (q != WATCH_NIL)
                bound += w->paths[q].n[WL_REC];
        }
    }
    return bound;
}

int watch_fire(watch_reg *w, int32_t event_type, const char *path, size_t path_len,
               watch_delivery **out, size_t *n, size_t *cap)
{
    bool data = event_type == WIRE_EVENT_CREATED || event_type == WIRE_EVENT_DATA_CHANGED ||
                event_type == WIRE_EVENT_DELETED;
    bool child = event_type == WIRE_EVENT_DELETED || event_type == WIRE_EVENT_CHILDREN_CHANGED;
    if (!data && !child)
        return 0;
    uint32_t p = wt_path_find(w, path, path_len);
    size_t bound = fire_bound(w, p, data, child, path, path_len);
    if (bound == 0)
        return 0;
    /* Reserve first: consuming one-shot watches and then failing to report
     * them would lose events. */
    if (*n + bound > *cap) {
        size_t ncap = *cap ? *cap : 16;
        while (ncap < *n + bound) {
            if (ncap > SIZE_MAX / 2 / sizeof(watch_delivery))
                return ZERR_NOMEM;
            ncap *= 2;
        }
        watch_delivery *grown = realloc(*out, ncap * sizeof(watch_delivery));
        if (grown == NULL)
            return ZERR_NOMEM;
        *out = grown;
        *cap = ncap;
    }

    fire_ctx c = {w, event_type, *out, *n};
    w->stamp++;
    if (data && p != WATCH_NIL) {
        fire_exact(&c, p, WL_DATA);
        fire_exact(&c, p, WL_REC);
    }
    if (data && w->n_recursive > 0) {
        size_t len = path_len;
        while (parent_of(path, &len)) {
            uint32_t q = wt_path_find(w, path, len);
            if (q != WATCH_NIL)
                fire_recursive(&c, q);
        }
    }
    if (child && p != WATCH_NIL)
        fire_exact(&c, p, WL_CHILD);
    if (p != WATCH_NIL)
        wt_path_gc(w, p);
    *n = c.n;
    return 0;
}

/* ---- Removing and checking ------------------------------------------------------ */

static unsigned ent_modes(const watch_reg *w, uint32_t p, uint32_t wi, int table)
{
    uint32_t e = wt_ent_find(w, p, wi, table);
    return e == WATCH_NIL ? 0 : w->ents[e].modes;
}

int watch_remove(watch_reg *w, const char *path, size_t path_len, uint64_t watcher, int32_t wtype,
                 bool dry_run)
{
    /* The mode bits wtype names in each table (DataTree.removeWatch). */
    unsigned data_mask, child_mask;
    switch (wtype) {
    case WATCH_TYPE_CHILDREN:
        data_mask = 0, child_mask = WM_STANDARD;
        break;
    case WATCH_TYPE_DATA:
        data_mask = WM_STANDARD, child_mask = 0;
        break;
    case WATCH_TYPE_ANY:
        data_mask = child_mask = WM_STANDARD | WM_PERSISTENT | WM_RECURSIVE;
        break;
    case WATCH_TYPE_PERSISTENT:
        /* containsWatcher(Persistent) looks at the data table only; a
         * persistent watch is always in both, so only removal differs. */
        data_mask = WM_PERSISTENT, child_mask = dry_run ? 0 : WM_PERSISTENT;
        break;
    case WATCH_TYPE_RECURSIVE:
        data_mask = WM_RECURSIVE, child_mask = 0;
        break;
    default:
        return ZERR_BADARGUMENTS;
    }
    uint32_t p = wt_path_find(w, path, path_len);
    uint32_t wi = wt_watcher_find(w, watcher);
    if (p == WATCH_NIL || wi == WATCH_NIL)
        return ZERR_NOWATCHER;
    unsigned dm = ent_modes(w, p, wi, WATCH_DATA) & data_mask;
    unsigned cm = ent_modes(w, p, wi, WATCH_CHILD) & child_mask;
    if (dm == 0 && cm == 0)
        return ZERR_NOWATCHER;
    if (!dry_run) {
        if (dm)
            clear_mode(w, p, wi, WATCH_DATA, dm);
        if (cm)
            clear_mode(w, p, wi, WATCH_CHILD, cm);
        wt_path_gc(w, p);
    }
    return 0;
}

int watch_check_any(const watch_reg *w, const char *path, size_t path_len, int32_t wtype)
{
    if (wtype != WATCH_TYPE_CHILDREN && wtype != WATCH_TYPE_DATA && wtype != WATCH_TYPE_ANY)
        return ZERR_BADARGUMENTS;
    uint32_t p = wt_path_find(w, path, path_len);
    if (p == WATCH_NIL)
        return ZERR_NOWATCHER;
    const uint32_t *n = w->paths[p].n;
    bool data = n[WL_DATA] + n[WL_REC] > 0;
    bool child = n[WL_CHILD] + n[WL_REC] > 0;
    bool hit = wtype == WATCH_TYPE_CHILDREN ? child
               : wtype == WATCH_TYPE_DATA   ? data
                                            : data || child;
    return hit ? 0 : ZERR_NOWATCHER;
}

void watch_remove_watcher(watch_reg *w, uint64_t watcher)
{
    uint32_t wi = wt_watcher_find(w, watcher);
    if (wi == WATCH_NIL)
        return;
    /* Each delete unlinks the head; the last one frees the watcher, and the
     * loop checks the count it saw before, never a freed slot. */
    size_t left = (size_t)w->ws[wi].n[0] + w->ws[wi].n[1];
    while (left-- > 0) {
        uint32_t e = w->ws[wi].head;
        uint32_t p = w->ents[e].path;
        wt_ent_set_modes(w, e, 0);
        wt_path_gc(w, p);
    }
}

/* ---- Queries ----------------------------------------------------------------------------- */

unsigned watch_modes(const watch_reg *w, enum watch_table t, const char *path, size_t path_len,
                     uint64_t watcher)
{
    if (t != WATCH_DATA && t != WATCH_CHILD)
        return 0;
    uint32_t p = wt_path_find(w, path, path_len);
    uint32_t wi = wt_watcher_find(w, watcher);
    if (p == WATCH_NIL || wi == WATCH_NIL)
        return 0;
    return ent_modes(w, p, wi, t);
}

bool watch_has(const watch_reg *w, enum watch_table t, const char *path, size_t path_len,
               uint64_t watcher)
{
    return watch_modes(w, t, path, path_len, watcher) != 0;
}

size_t watch_count(const watch_reg *w)
{
    return w->n_reg[WATCH_DATA] + w->n_reg[WATCH_CHILD];
}

size_t watch_path_count(const watch_reg *w)
{
    return w->n_path[WATCH_DATA];
}

size_t watch_table_count(const watch_reg *w, enum watch_table t)
{
    return (t == WATCH_DATA || t == WATCH_CHILD) ? w->n_reg[t] : 0;
}

size_t watch_table_path_count(const watch_reg *w, enum watch_table t)
{
    return (t == WATCH_DATA || t == WATCH_CHILD) ? w->n_path[t] : 0;
}

size_t watch_table_watcher_count(const watch_reg *w, enum watch_table t)
{
    return (t == WATCH_DATA || t == WATCH_CHILD) ? w->n_watcher[t] : 0;
}

int watch_foreach(const watch_reg *w,
                  int (*fn)(void *arg, const char *path, size_t len, uint64_t watcher,
                            enum watch_table t, enum watch_mode m),
                  void *arg)
{
    for (uint32_t i = 0; i < w->n_ents; i++) {
        const watch_ent *e = &w->ents[i];
        if (e->modes == 0)
            continue;
        const watch_path *p = &w->paths[e->path];
        for (int m = WATCH_STANDARD; m <= WATCH_RECURSIVE; m++) {
            if ((e->modes & (1u << m)) == 0)
                continue;
            int rc = fn(arg, p->s, p->len, w->ws[e->watcher].id, (enum watch_table)e->table,
                        (enum watch_mode)m);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
