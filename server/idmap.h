/*
 * idmap: a map from non-zero 64-bit ids to pointers (connection by watcher
 * id, connection by session id). Linear probing with backward-shift
 * deletion, so there are no tombstones to clean up. Server-internal.
 */
#ifndef ZABD_SRV_IDMAP_H
#define ZABD_SRV_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_idmap {
    uint64_t *keys; /* 0 = empty */
    void **vals;
    size_t cap, n;
} srv_idmap;

void srv_idmap_fini(srv_idmap *m);
int srv_idmap_put(srv_idmap *m, uint64_t key, void *val); /* 0 or ZERR_NOMEM; replaces */
void *srv_idmap_get(const srv_idmap *m, uint64_t key);
void srv_idmap_del(srv_idmap *m, uint64_t key);

#endif
