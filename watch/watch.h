/*
 * watch: the server's watch registry, ZooKeeper's model (WatchManager and
 * the watch parts of DataTree, 3.9 semantics).
 *
 * There are two tables, DATA and CHILD. getData/exists register a one-shot
 * (STANDARD) watch in DATA (an exists watch may name a path that does not
 * exist yet); getChildren registers one in CHILD. addWatch (opcode 106)
 * registers PERSISTENT watches in both tables and PERSISTENT_RECURSIVE ones
 * in DATA only. One watcher may hold several modes on one path at once
 * (say a one-shot getData watch beside a persistent one); each mode is
 * removed on its own.
 *
 * Watchers are uint64 ids (the server maps them to connections). The server
 * calls watch_fire for every event an applied txn produces, in this order
 * (DataTree): create -> CREATED(path), CHILDREN_CHANGED(parent);
 * delete -> DELETED(path), CHILDREN_CHANGED(parent); setData ->
 * DATA_CHANGED(path). It delivers each watch_delivery as a
 * WatcherEvent {type, SyncConnected, path}.
 *
 * Counting: a registration is (table, path, watcher). A PERSISTENT watch is
 * two registrations, as in ZooKeeper's getWatchCount (mntr zk_watch_count).
 *
 * Pure module: no I/O, no clock, no globals, no threads. Paths are copied
 * in, as (ptr, len) byte strings; they are not validated here.
 */
#ifndef ZABD_WATCH_H
#define ZABD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct watch_reg watch_reg; /* layout in watch/watch_int.h */

enum watch_table { WATCH_DATA = 0, WATCH_CHILD = 1 };
enum watch_mode { WATCH_STANDARD = 0, WATCH_PERSISTENT = 1, WATCH_RECURSIVE = 2 };

/* The client's WatcherType in removeWatches/checkWatches requests. */
enum {
    WATCH_TYPE_CHILDREN = 1,
    WATCH_TYPE_DATA = 2,
    WATCH_TYPE_ANY = 3,
    WATCH_TYPE_PERSISTENT = 4,
    WATCH_TYPE_RECURSIVE = 5,
};

/* Visible value type: the caller owns arrays of them. */
typedef struct watch_delivery {
    uint64_t watcher;
    int32_t event_type; /* WIRE_EVENT_* */
} watch_delivery;

/* ---- Lifetime ------------------------------------------------------------------ */

watch_reg *watch_new(void);    /* NULL when out of memory */
void watch_free(watch_reg *w); /* NULL is a no-op */

/* ---- Registering -------------------------------------------------------------- */

/* m == WATCH_STANDARD: a one-shot watch in table t (getData/exists: DATA,
 * getChildren: CHILD).
 * m == WATCH_PERSISTENT: DATA and CHILD, whatever t says (DataTree.addWatch).
 * m == WATCH_RECURSIVE: DATA only, whatever t says.
 * Adding a mode the watcher already has on that path is a no-op.
 * Returns 0, ZERR_BADARGUMENTS (bad t or m), ZERR_NOMEM (nothing added). */
int watch_add(watch_reg *w, enum watch_table t, const char *path, size_t path_len, uint64_t watcher,
              enum watch_mode m);

/* ---- Firing --------------------------------------------------------------------- */

/* Which watchers an event on `path` reaches, ZooKeeper's rules
 * (WatchManager.triggerWatch, DataTree.createNode/deleteNode/setData):
 *   WIRE_EVENT_CREATED, WIRE_EVENT_DATA_CHANGED: DATA;
 *   WIRE_EVENT_DELETED: DATA, then CHILD (a watcher hit through both, or
 *     through several recursive ancestors, gets ONE delivery);
 *   WIRE_EVENT_CHILDREN_CHANGED: CHILD (path is the parent);
 *   other types: nothing.
 * Every watch at exactly `path` in those tables fires; one-shot ones are
 * then removed (also when their delivery was merged into another).
 * Recursive watches on a proper ancestor of `path` fire and stay.
 * Appends one delivery per watcher to *out, a malloc'd array of *cap
 * entries holding *n (all may start as NULL/0/0; caller frees). Returns 0,
 * or ZERR_NOMEM with nothing changed (registry and *out untouched).
 * Cost: O(1) lookups plus the watches hit; O(depth) lookups more while any
 * recursive watch exists. */
int watch_fire(watch_reg *w, int32_t event_type, const char *path, size_t path_len,
               watch_delivery **out, size_t *n, size_t *cap);

/* ---- Removing and checking ------------------------------------------------ */

/* removeWatches (opcode 18) and, with dry_run, checkWatches (opcode 17), on
 * `path` exactly, for one watcher. wtype (DataTree.removeWatch/containsWatcher
 * in ZooKeeper 3.9):
 *   1 Children            the one-shot CHILD watch
 *   2 Data                the one-shot DATA watch (exists or getData)
 *   3 Any                 every mode in both tables
 *   4 Persistent          the PERSISTENT mode in both tables
 *   5 PersistentRecursive the RECURSIVE mode
 * Other modes the watcher holds on the path stay. Returns 0 if something
 * matched (removed unless dry_run), ZERR_NOWATCHER if nothing did,
 * ZERR_BADARGUMENTS for another wtype (ZooKeeper answers MARSHALLINGERROR:
 * WatcherType.fromInt throws). */
int watch_remove(watch_reg *w, const char *path, size_t path_len, uint64_t watcher, int32_t wtype,
                 bool dry_run);

/* checkWatches (opcode 17) as ZooKeeper 3.8 answers types 1..3: its
 * WatchManager.containsWatcher asks only whether the path has a watch in
 * the table, whoever holds it, and 3.8 files persistent and recursive
 * watches in both tables (so a recursive one counts for Children too).
 *   1 Children: CHILD, or a RECURSIVE one in DATA;  2 Data: DATA;
 *   3 Any: either.
 * Returns 0 if there is one, ZERR_NOWATCHER if not, ZERR_BADARGUMENTS for
 * another wtype. O(1). */
int watch_check_any(const watch_reg *w, const char *path, size_t path_len, int32_t wtype);

/* Connection closed: drops all its watches. Cost: O(its registrations). */
void watch_remove_watcher(watch_reg *w, uint64_t watcher);

/* ---- Queries, stats and dumps (wchs, wchc, wchp, mntr) ------------------- */

/* Whether watcher has any watch in table t at exactly path. */
bool watch_has(const watch_reg *w, enum watch_table t, const char *path, size_t path_len,
               uint64_t watcher);
/* The modes watcher holds in table t at path: a bitmask of 1u << watch_mode. */
unsigned watch_modes(const watch_reg *w, enum watch_table t, const char *path, size_t path_len,
                     uint64_t watcher);

size_t watch_count(const watch_reg *w); /* registrations, both tables */
/* ZooKeeper's wchs/wchc/wchp and their admin commands report the DATA
 * table only (DataTree.getWatchesSummary); these give that view. */
size_t watch_path_count(const watch_reg *w); /* paths with a DATA watch */
size_t watch_table_count(const watch_reg *w, enum watch_table t);
size_t watch_table_path_count(const watch_reg *w, enum watch_table t);
size_t watch_table_watcher_count(const watch_reg *w, enum watch_table t);

/* Visits every (path, watcher, table, mode), once per mode held, in no
 * particular order; stops and returns fn's value if it is non-zero. path is
 * not NUL-terminated and is valid only during the call. fn must not modify
 * the registry. */
int watch_foreach(const watch_reg *w,
                  int (*fn)(void *arg, const char *path, size_t len, uint64_t watcher,
                            enum watch_table t, enum watch_mode m),
                  void *arg);

#ifdef __cplusplus
}
#endif
#endif
