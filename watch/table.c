/*
 * The storage under the watch registry: slabs of paths, watchers and
 * registrations, their chained hash indexes, and the doubly linked lists
 * that tie a registration to its path and to its watcher.
 *
 * Everything here keeps the counters in struct watch_reg exact, so the
 * stats functions are O(1). Nothing here knows what an event is.
 */
#include <stdlib.h>
#include <string.h>

#include "watch/watch_int.h"

/* ---- Hashing ------------------------------------------------------------------- */

static inline uint32_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* FNV-1a: paths are short and share prefixes, which FNV spreads well. */
static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static inline uint32_t ent_hash(uint32_t p, uint32_t wi, int table)
{
    return mix64(((uint64_t)p << 32 | wi) ^ ((uint64_t)table << 63));
}

static int hash_init(watch_hash *h, uint32_t cap)
{
    h->b = malloc((size_t)cap * sizeof(uint32_t));
    if (h->b == NULL)
        return ZERR_NOMEM;
    memset(h->b, 0xff, (size_t)cap * sizeof(uint32_t));
    h->mask = cap - 1;
    return 0;
}

/* ---- Slabs ----------------------------------------------------------------------- */

static int grow_array(void **arr, uint32_t *cap, size_t elem)
{
    uint32_t ncap = *cap ? *cap * 2 : 16;
    if (ncap <= *cap || ncap >= WATCH_NIL || (size_t)ncap > SIZE_MAX / elem)
        return ZERR_NOMEM;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return ZERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Doubles a hash's buckets once its slab outgrows them; on failure the old
 * buckets stay (longer chains, still correct). Each kind rehashes from its
 * own slab, so the chains need no stored hash except for paths. */
static void paths_rehash(watch_reg *w)
{
    watch_hash nh;
    if (w->live_paths <= (size_t)w->path_h.mask + 1 ||
        hash_init(&nh, (w->path_h.mask + 1) * 2) != 0)
        return;
    for (uint32_t i = 0; i < w->n_paths; i++) {
        watch_path *p = &w->paths[i];
        if (p->s == NULL)
            continue;
        uint32_t *head = &nh.b[p->hash & nh.mask];
        p->hnext = *head;
        *head = i;
    }
    free(w->path_h.b);
    w->path_h = nh;
}

static void ws_rehash(watch_reg *w)
{
    watch_hash nh;
    if (w->live_ws <= (size_t)w->w_h.mask + 1 || hash_init(&nh, (w->w_h.mask + 1) * 2) != 0)
        return;
    for (uint32_t i = 0; i < w->n_ws; i++) {
        watch_watcher *x = &w->ws[i];
        if (!x->is_used)
            continue;
        uint32_t *head = &nh.b[mix64(x->id) & nh.mask];
        x->hnext = *head;
        *head = i;
    }
    free(w->w_h.b);
    w->w_h = nh;
}

static void ents_rehash(watch_reg *w)
{
    watch_hash nh;
    if (w->live_ents <= (size_t)w->e_h.mask + 1 || hash_init(&nh, (w->e_h.mask + 1) * 2) != 0)
        return;
    for (uint32_t i = 0; i < w->n_ents; i++) {
        watch_ent *e = &w->ents[i];
        if (e->modes == 0)
            continue;
        uint32_t *head = &nh.b[ent_hash(e->path, e->watcher, e->table) & nh.mask];
        e->hnext = *head;
        *head = i;
    }
    free(w->e_h.b);
    w->e_h = nh;
}

int wt_init(watch_reg *w)
{
    memset(w, 0, sizeof(*w));
    w->free_path = w->free_w = w->free_ent = WATCH_NIL;
    if (hash_init(&w->path_h, 64) != 0 || hash_init(&w->w_h, 16) != 0 ||
        hash_init(&w->e_h, 64) != 0) {
        wt_fini(w);
        return ZERR_NOMEM;
    }
    return 0;
}

void wt_fini(watch_reg *w)
{
    for (uint32_t i = 0; i < w->n_paths; i++)
        free(w->paths[i].s);
    free(w->paths);
    free(w->ws);
    free(w->ents);
    free(w->path_h.b);
    free(w->w_h.b);
    free(w->e_h.b);
    memset(w, 0, sizeof(*w));
}

/* ---- Paths --------------------------------------------------------------------------- */

static uint32_t path_find_h(const watch_reg *w, const char *s, size_t len, uint32_t h)
{
    for (uint32_t i = w->path_h.b[h & w->path_h.mask]; i != WATCH_NIL; i = w->paths[i].hnext) {
        const watch_path *p = &w->paths[i];
        if (p->hash == h && p->len == len && memcmp(p->s, s, len) == 0)
            return i;
    }
    return WATCH_NIL;
}

uint32_t wt_path_find(const watch_reg *w, const char *s, size_t len)
{
    return path_find_h(w, s, len, hash_bytes(s, len));
}

uint32_t wt_path_get(watch_reg *w, const char *s, size_t len)
{
    uint32_t h = hash_bytes(s, len);
    uint32_t i = path_find_h(w, s, len, h);
    if (i != WATCH_NIL)
        return i;
    if (len >= UINT32_MAX)
        return WATCH_NIL;
    if (w->free_path == WATCH_NIL && w->n_paths == w->cap_paths &&
        grow_array((void **)&w->paths, &w->cap_paths, sizeof(watch_path)) != 0)
        return WATCH_NIL;
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return WATCH_NIL;
    memcpy(copy, s, len);
    if (w->free_path != WATCH_NIL) {
        i = w->free_path;
        w->free_path = w->paths[i].hnext;
    } else {
        i = w->n_paths++;
    }
    watch_path *p = &w->paths[i];
    p->s = copy;
    p->len = (uint32_t)len;
    p->hash = h;
    for (int l = 0; l < WL_N; l++) {
        p->head[l] = WATCH_NIL;
        p->n[l] = 0;
    }
    uint32_t *head = &w->path_h.b[h & w->path_h.mask];
    p->hnext = *head;
    *head = i;
    w->live_paths++;
    paths_rehash(w);
    return i;
}

void wt_path_gc(watch_reg *w, uint32_t i)
{
    watch_path *p = &w->paths[i];
    if (p->s == NULL || p->n[WL_DATA] || p->n[WL_CHILD] || p->n[WL_REC])
        return;
    uint32_t *link = &w->path_h.b[p->hash & w->path_h.mask];
    while (*link != i)
        link = &w->paths[*link].hnext;
    *link = p->hnext;
    free(p->s);
    p->s = NULL;
    p->hnext = w->free_path;
    w->free_path = i;
    w->live_paths--;
}

/* ---- Watchers ---------------------------------------------------------------------- */

uint32_t wt_watcher_find(const watch_reg *w, uint64_t id)
{
    for (uint32_t i = w->w_h.b[mix64(id) & w->w_h.mask]; i != WATCH_NIL; i = w->ws[i].hnext)
        if (w->ws[i].id == id)
            return i;
    return WATCH_NIL;
}

uint32_t wt_watcher_get(watch_reg *w, uint64_t id)
{
    uint32_t i = wt_watcher_find(w, id);
    if (i != WATCH_NIL)
        return i;
    if (w->free_w != WATCH_NIL) {
        i = w->free_w;
        w->free_w = w->ws[i].hnext;
    } else {
        if (w->n_ws == w->cap_ws &&
            grow_array((void **)&w->ws, &w->cap_ws, sizeof(watch_watcher)) != 0)
            return WATCH_NIL;
        i = w->n_ws++;
    }
    watch_watcher *x = &w->ws[i];
    memset(x, 0, sizeof(*x));
    x->id = id;
    x->head = WATCH_NIL;
    x->is_used = true;
    uint32_t *head = &w->w_h.b[mix64(id) & w->w_h.mask];
    x->hnext = *head;
    *head = i;
    w->live_ws++;
    ws_rehash(w);
    return i;
}

void wt_watcher_gc(watch_reg *w, uint32_t i)
{
    watch_watcher *x = &w->ws[i];
    if (!x->is_used || x->head != WATCH_NIL)
        return;
    uint32_t *link = &w->w_h.b[mix64(x->id) & w->w_h.mask];
    while (*link != i)
        link = &w->ws[*link].hnext;
    *link = x->hnext;
    x->is_used = false;
    x->hnext = w->free_w;
    w->free_w = i;
    w->live_ws--;
}

/* ---- Registrations ---------------------------------------------------------------- */

static inline int list_of(int table, unsigned modes)
{
    if (table == WATCH_CHILD)
        return WL_CHILD;
    return (modes & WM_RECURSIVE) ? WL_REC : WL_DATA;
}

static inline size_t table_size(const watch_path *p, int table)
{
    return table == WATCH_CHILD ? p->n[WL_CHILD] : (size_t)p->n[WL_DATA] + p->n[WL_REC];
}

static void path_link(watch_reg *w, uint32_t e)
{
    watch_ent *x = &w->ents[e];
    watch_path *p = &w->paths[x->path];
    int l = list_of(x->table, x->modes);
    if (table_size(p, x->table) == 0)
        w->n_path[x->table]++;
    x->pprev = WATCH_NIL;
    x->pnext = p->head[l];
    if (x->pnext != WATCH_NIL)
        w->ents[x->pnext].pprev = e;
    p->head[l] = e;
    p->n[l]++;
}

static void path_unlink(watch_reg *w, uint32_t e)
{
    watch_ent *x = &w->ents[e];
    watch_path *p = &w->paths[x->path];
    int l = list_of(x->table, x->modes);
    if (x->pprev != WATCH_NIL)
        w->ents[x->pprev].pnext = x->pnext;
    else
        p->head[l] = x->pnext;
    if (x->pnext != WATCH_NIL)
        w->ents[x->pnext].pprev = x->pprev;
    p->n[l]--;
    if (table_size(p, x->table) == 0)
        w->n_path[x->table]--;
}

uint32_t wt_ent_find(const watch_reg *w, uint32_t p, uint32_t wi, int table)
{
    uint32_t i = w->e_h.b[ent_hash(p, wi, table) & w->e_h.mask];
    for (; i != WATCH_NIL; i = w->ents[i].hnext) {
        const watch_ent *x = &w->ents[i];
        if (x->path == p && x->watcher == wi && x->table == table)
            return i;
    }
    return WATCH_NIL;
}

uint32_t wt_ent_new(watch_reg *w, uint32_t p, uint32_t wi, int table, unsigned modes)
{
    uint32_t e;
    if (w->free_ent != WATCH_NIL) {
        e = w->free_ent;
        w->free_ent = w->ents[e].hnext;
    } else {
        if (w->n_ents == w->cap_ents &&
            grow_array((void **)&w->ents, &w->cap_ents, sizeof(watch_ent)) != 0)
            return WATCH_NIL;
        e = w->n_ents++;
    }
    watch_ent *x = &w->ents[e];
    x->path = p;
    x->watcher = wi;
    x->table = (uint8_t)table;
    x->modes = (uint8_t)modes;
    uint32_t *head = &w->e_h.b[ent_hash(p, wi, table) & w->e_h.mask];
    x->hnext = *head;
    *head = e;

    path_link(w, e);
    watch_watcher *ww = &w->ws[wi];
    x->wprev = WATCH_NIL;
    x->wnext = ww->head;
    if (x->wnext != WATCH_NIL)
        w->ents[x->wnext].wprev = e;
    ww->head = e;
    if (ww->n[table]++ == 0)
        w->n_watcher[table]++;

    w->n_reg[table]++;
    if (modes & WM_RECURSIVE)
        w->n_recursive++;
    w->live_ents++;
    ents_rehash(w);
    return e;
}

static void ent_delete(watch_reg *w, uint32_t e)
{
    watch_ent *x = &w->ents[e];
    uint32_t *link = &w->e_h.b[ent_hash(x->path, x->watcher, x->table) & w->e_h.mask];
    while (*link != e)
        link = &w->ents[*link].hnext;
    *link = x->hnext;

    path_unlink(w, e);
    watch_watcher *ww = &w->ws[x->watcher];
    if (x->wprev != WATCH_NIL)
        w->ents[x->wprev].wnext = x->wnext;
    else
        ww->head = x->wnext;
    if (x->wnext != WATCH_NIL)
        w->ents[x->wnext].wprev = x->wprev;
    if (--ww->n[x->table] == 0)
        w->n_watcher[x->table]--;

    w->n_reg[x->table]--;
    if (x->modes & WM_RECURSIVE)
        w->n_recursive--;
    w->live_ents--;
    uint32_t wi = x->watcher;
    x->modes = 0;
    x->hnext = w->free_ent;
    w->free_ent = e;
    wt_watcher_gc(w, wi);
}

void wt_ent_set_modes(watch_reg *w, uint32_t e, unsigned modes)
{
    watch_ent *x = &w->ents[e];
    if (modes == x->modes)
        return;
    if (modes == 0) {
        ent_delete(w, e);
        return;
    }
    bool had_rec = (x->modes & WM_RECURSIVE) != 0;
    bool has_rec = (modes & WM_RECURSIVE) != 0;
    if (had_rec == has_rec) {
        x->modes = (uint8_t)modes;
        return;
    }
    path_unlink(w, e);
    x->modes = (uint8_t)modes;
    path_link(w, e);
    if (has_rec)
        w->n_recursive++;
    else
        w->n_recursive--;
}
