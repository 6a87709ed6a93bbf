/*
 * watch internals: never included from outside watch/.
 *
 * Three slabs (arrays addressed by uint32 index, each with a free list and a
 * chained hash index over it):
 *   paths     each distinct watched path, interned once, with its
 *             registrations in three lists: DATA without the recursive mode,
 *             CHILD, and DATA with the recursive mode (so an ancestor walk
 *             touches only recursive watches);
 *   watchers  each watcher id, with the list of all its registrations (for
 *             O(own watches) cleanup when a connection closes);
 *   ents      one per (table, path, watcher): a mode bitmask and the links
 *             of both lists. 32 bytes, plus 4 for its hash bucket.
 * Indices instead of pointers halve the links and survive realloc.
 */
#ifndef ZABD_WATCH_INT_H
#define ZABD_WATCH_INT_H

#include "watch/watch.h"

#define WATCH_NIL UINT32_MAX

enum { WL_DATA = 0, WL_CHILD = 1, WL_REC = 2, WL_N = 3 };
#define WM_STANDARD   (1u << WATCH_STANDARD)
#define WM_PERSISTENT (1u << WATCH_PERSISTENT)
#define WM_RECURSIVE  (1u << WATCH_RECURSIVE)

typedef struct watch_path {
    char *s; /* NULL while the slot is free */
    uint32_t len;
    uint32_t hash;
    uint32_t hnext; /* hash chain, or free-list link */
    uint32_t head[WL_N];
    uint32_t n[WL_N];
} watch_path;

typedef struct watch_watcher {
    uint64_t id;
    uint64_t stamp; /* the watch_fire call that last delivered to it */
    uint32_t hnext; /* hash chain, or free-list link */
    uint32_t head;  /* its registrations */
    uint32_t n[2];  /* registrations per table */
    bool is_used;
} watch_watcher;

typedef struct watch_ent {
    uint32_t path, watcher;
    uint32_t pprev, pnext; /* in the path's list for (table, has recursive) */
    uint32_t wprev, wnext; /* in the watcher's list */
    uint32_t hnext;        /* hash chain, or free-list link */
    uint8_t table;
    uint8_t modes; /* WM_*; 0 while the slot is free */
} watch_ent;

/* Chain heads, power-of-two sized, grown when the load passes 1. */
typedef struct watch_hash {
    uint32_t *b;
    uint32_t mask;
} watch_hash;

struct watch_reg {
    watch_path *paths;
    uint32_t n_paths, cap_paths, free_path;
    watch_hash path_h;
    size_t live_paths;

    watch_watcher *ws;
    uint32_t n_ws, cap_ws, free_w;
    watch_hash w_h;
    size_t live_ws;

    watch_ent *ents;
    uint32_t n_ents, cap_ents, free_ent;
    watch_hash e_h;
    size_t live_ents;

    size_t n_reg[2];     /* registrations per table */
    size_t n_path[2];    /* paths with a registration per table */
    size_t n_watcher[2]; /* watchers with a registration per table */
    size_t n_recursive;  /* ents holding WM_RECURSIVE */
    uint64_t stamp;
};

/* table.c: the slabs, their hash indexes and list links. */
int wt_init(watch_reg *w);
void wt_fini(watch_reg *w);
uint32_t wt_path_find(const watch_reg *w, const char *s, size_t len);
uint32_t wt_path_get(watch_reg *w, const char *s, size_t len); /* WATCH_NIL: no memory */
void wt_path_gc(watch_reg *w, uint32_t p);                     /* frees p if it holds nothing */
uint32_t wt_watcher_find(const watch_reg *w, uint64_t id);
uint32_t wt_watcher_get(watch_reg *w, uint64_t id); /* WATCH_NIL: no memory */
void wt_watcher_gc(watch_reg *w, uint32_t wi);      /* frees wi if it holds nothing */
uint32_t wt_ent_find(const watch_reg *w, uint32_t p, uint32_t wi, int table);
/* A new registration with modes != 0; WATCH_NIL (nothing changed) on no memory. */
uint32_t wt_ent_new(watch_reg *w, uint32_t p, uint32_t wi, int table, unsigned modes);
/* Sets e's modes, moving it between lists as needed; modes == 0 deletes it
 * (its watcher is collected, its path is left for the caller's wt_path_gc,
 * so a path being walked stays valid). */
void wt_ent_set_modes(watch_reg *w, uint32_t e, unsigned modes);

#endif
