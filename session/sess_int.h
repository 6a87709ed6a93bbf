/*
 * session internals: never included from outside session/.
 *
 * Sessions and buckets live in slabs (arrays addressed by uint32 index, with
 * a free list), so links are 4 bytes and survive the slab's realloc. An
 * open-addressing map (sess_map) finds the slab index of an int64 key: the
 * session id, or a bucket's time.
 */
#ifndef ZABD_SESS_INT_H
#define ZABD_SESS_INT_H

#include "session/sess.h"

#define SESS_NIL UINT32_MAX

/* int64 key -> uint32 value, linear probing, backward-shift deletion (no
 * tombstones, so long-running churn never degrades lookups). */
typedef struct sess_map_slot {
    int64_t key;
    uint32_t val; /* SESS_NIL when the slot is empty */
} sess_map_slot;

typedef struct sess_map {
    sess_map_slot *slots;
    size_t mask; /* capacity - 1, capacity a power of two */
    size_t n;
} sess_map;

int sess_map_init(sess_map *m, size_t cap_hint); /* ZERR_NOMEM */
void sess_map_fini(sess_map *m);
uint32_t sess_map_get(const sess_map *m, int64_t key); /* SESS_NIL if absent */
/* key must be absent. May grow the map: ZERR_NOMEM leaves it unchanged. */
int sess_map_put(sess_map *m, int64_t key, uint32_t val);
bool sess_map_del(sess_map *m, int64_t key);

typedef struct sess_ent {
    int64_t id;
    int64_t expire_at; /* bucket time, valid while bucket != SESS_NIL */
    int32_t timeout_ms;
    int64_t owner;       /* sess_set_owner's; 0 for none */
    uint32_t bucket;     /* bucket slab index, SESS_NIL if not queued */
    uint32_t prev, next; /* bucket list; next links the free list */
    bool is_used;
    bool is_closing;
} sess_ent;

typedef struct sess_bucket {
    int64_t time_ms;
    uint32_t head; /* first session, SESS_NIL if empty */
    uint32_t next_free;
} sess_bucket;

struct sess_table {
    int64_t interval_ms;
    int64_t server_id;
    int64_t next_id;

    sess_ent *ents;
    uint32_t n_ents, cap_ents, free_ent;
    size_t n_live; /* used entries */
    sess_map by_id;

    sess_bucket *buckets;
    uint32_t n_buckets, cap_buckets, free_bucket;
    sess_map by_time;
    /* Min-heap of bucket indices by time. A bucket leaves the heap (and the
     * map) only when it is due, even if touches emptied it earlier: that
     * keeps touch O(1) and costs at most one empty pop per interval. */
    uint32_t *heap;
    uint32_t n_heap, cap_heap;
};

#endif
