/*
 * The session table and its expiry buckets (ZooKeeper's SessionTrackerImpl
 * plus ExpiryQueue, without the thread and the clock).
 *
 * Each live session sits in exactly one bucket, a doubly linked list keyed
 * by its rounded deadline; closing sessions sit in none. Buckets are found
 * by time through a hash map and ordered by a min-heap, so:
 *   add/touch/remove/set_closing   O(1) expected (+ O(log B) for a new bucket)
 *   expire                         O(due buckets * log B + ids returned)
 * where B is the number of distinct pending deadlines (about
 * maxSessionTimeout / tickTime). Unlike ExpiryQueue.poll, which advances one
 * interval per call from a cursor, the heap jumps straight to the next
 * bucket, so a long pause between calls costs nothing extra.
 *
 * Not here: deciding what expiry means (the server submits closeSession),
 * local vs global sessions, and the learner's session tracking.
 */
#include <stdlib.h>
#include <string.h>

#include "session/sess_int.h"

/* ---- Slabs --------------------------------------------------------------------- */

static int grow_array(void **arr, uint32_t *cap, size_t elem)
{
    uint32_t ncap = *cap ? *cap * 2 : 64;
    if (ncap <= *cap || ncap >= SESS_NIL || (size_t)ncap > SIZE_MAX / elem)
        return ZERR_NOMEM;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return ZERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint32_t ent_alloc(sess_table *s)
{
    if (s->free_ent != SESS_NIL) {
        uint32_t i = s->free_ent;
        s->free_ent = s->ents[i].next;
        return i;
    }
    if (s->n_ents == s->cap_ents &&
        grow_array((void **)&s->ents, &s->cap_ents, sizeof(sess_ent)) != 0)
        return SESS_NIL;
    return s->n_ents++;
}

static void ent_release(sess_table *s, uint32_t i)
{
    s->ents[i].is_used = false;
    s->ents[i].next = s->free_ent;
    s->free_ent = i;
}

/* ---- Heap of buckets by time ------------------------------------------------- */

static inline int64_t heap_time(const sess_table *s, uint32_t pos)
{
    return s->buckets[s->heap[pos]].time_ms;
}

static void heap_swap(sess_table *s, uint32_t a, uint32_t b)
{
    uint32_t t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
}

static void heap_push(sess_table *s, uint32_t bucket)
{
    uint32_t i = s->n_heap++;
    s->heap[i] = bucket;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (heap_time(s, parent) <= heap_time(s, i))
            break;
        heap_swap(s, parent, i);
        i = parent;
    }
}

static void heap_pop(sess_table *s)
{
    s->heap[0] = s->heap[--s->n_heap];
    uint32_t i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < s->n_heap && heap_time(s, l) < heap_time(s, min))
            min = l;
        if (r < s->n_heap && heap_time(s, r) < heap_time(s, min))
            min = r;
        if (min == i)
            break;
        heap_swap(s, i, min);
        i = min;
    }
}

/* ---- Buckets ------------------------------------------------------------------------ */

/* The bucket for time_ms, created (in slab, map and heap) if missing.
 * SESS_NIL on allocation failure, with nothing changed. */
static uint32_t bucket_get(sess_table *s, int64_t time_ms)
{
    uint32_t b = sess_map_get(&s->by_time, time_ms);
    if (b != SESS_NIL)
        return b;
    /* Reserve every resource first so that failure changes nothing. */
    if (s->n_heap == s->cap_heap &&
        grow_array((void **)&s->heap, &s->cap_heap, sizeof(uint32_t)) != 0)
        return SESS_NIL;
    if (s->free_bucket != SESS_NIL) {
        b = s->free_bucket;
    } else {
        if (s->n_buckets == s->cap_buckets &&
            grow_array((void **)&s->buckets, &s->cap_buckets, sizeof(sess_bucket)) != 0)
            return SESS_NIL;
        b = s->n_buckets;
    }
    if (sess_map_put(&s->by_time, time_ms, b) != 0)
        return SESS_NIL;
    if (b == s->free_bucket)
        s->free_bucket = s->buckets[b].next_free;
    else
        s->n_buckets++;
    s->buckets[b].time_ms = time_ms;
    s->buckets[b].head = SESS_NIL;
    heap_push(s, b);
    return b;
}

static void bucket_link(sess_table *s, uint32_t e, uint32_t b)
{
    sess_ent *x = &s->ents[e];
    x->bucket = b;
    x->expire_at = s->buckets[b].time_ms;
    x->prev = SESS_NIL;
    x->next = s->buckets[b].head;
    if (x->next != SESS_NIL)
        s->ents[x->next].prev = e;
    s->buckets[b].head = e;
}

static void bucket_unlink(sess_table *s, uint32_t e)
{
    sess_ent *x = &s->ents[e];
    if (x->bucket == SESS_NIL)
        return;
    if (x->prev != SESS_NIL)
        s->ents[x->prev].next = x->next;
    else
        s->buckets[x->bucket].head = x->next;
    if (x->next != SESS_NIL)
        s->ents[x->next].prev = x->prev;
    x->bucket = SESS_NIL;
    x->prev = x->next = SESS_NIL;
}

/* ---- Lifetime ------------------------------------------------------------------------- */

sess_table *sess_new(int64_t expiry_interval_ms, int64_t server_id)
{
    if (expiry_interval_ms <= 0)
        return NULL;
    sess_table *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->interval_ms = expiry_interval_ms;
    s->server_id = server_id;
    s->free_ent = SESS_NIL;
    s->free_bucket = SESS_NIL;
    if (sess_map_init(&s->by_id, 64) != 0 || sess_map_init(&s->by_time, 16) != 0) {
        sess_free(s);
        return NULL;
    }
    return s;
}

void sess_free(sess_table *s)
{
    if (s == NULL)
        return;
    sess_map_fini(&s->by_id);
    sess_map_fini(&s->by_time);
    free(s->ents);
    free(s->buckets);
    free(s->heap);
    free(s);
}

/* ---- The table ---------------------------------------------------------------------- */

static uint32_t find(const sess_table *s, int64_t id)
{
    return sess_map_get(&s->by_id, id);
}

static int64_t deadline(const sess_table *s, int64_t now_ms, int32_t timeout_ms)
{
    int64_t t;
    if (__builtin_add_overflow(now_ms, (int64_t)timeout_ms, &t))
        t = INT64_MAX - s->interval_ms;
    return sess_round_to_interval(t, s->interval_ms);
}

int sess_add(sess_table *s, int64_t id, int32_t timeout_ms, int64_t now_ms)
{
    if (find(s, id) != SESS_NIL)
        return ZERR_NODEEXISTS;
    uint32_t b = bucket_get(s, deadline(s, now_ms, timeout_ms));
    if (b == SESS_NIL)
        return ZERR_NOMEM;
    uint32_t e = ent_alloc(s);
    if (e == SESS_NIL)
        return ZERR_NOMEM; /* an empty bucket is harmless: popped when due */
    if (sess_map_put(&s->by_id, id, e) != 0) {
        ent_release(s, e);
        return ZERR_NOMEM;
    }
    sess_ent *x = &s->ents[e];
    memset(x, 0, sizeof(*x));
    x->id = id;
    x->timeout_ms = timeout_ms;
    x->is_used = true;
    x->bucket = SESS_NIL;
    bucket_link(s, e, b);
    s->n_live++;
    return 0;
}

/* ExpiryQueue.update for entry e. */
static int touch_entry(sess_table *s, uint32_t e, int64_t now_ms, int32_t timeout_ms)
{
    if (e == SESS_NIL || s->ents[e].is_closing)
        return ZERR_SESSIONEXPIRED;
    /* Same rounded deadline, nothing to do: the common case for a busy
     * session, hence the rounding. A deadline rounds up to expire_at when it
     * lies in [expire_at - interval, expire_at), which is checked first: it
     * spares the division of a touch on every request. */
    int64_t t_raw;
    int64_t at = s->ents[e].expire_at;
    if (s->ents[e].bucket != SESS_NIL &&
        !__builtin_add_overflow(now_ms, (int64_t)timeout_ms, &t_raw) && t_raw >= 0 &&
        t_raw < at && t_raw >= at - s->interval_ms)
        return 0;
    int64_t t = deadline(s, now_ms, timeout_ms);
    if (s->ents[e].bucket != SESS_NIL && s->ents[e].expire_at == t)
        return 0;
    uint32_t b = bucket_get(s, t);
    if (b == SESS_NIL)
        return ZERR_NOMEM;
    bucket_unlink(s, e);
    bucket_link(s, e, b);
    return 0;
}

int sess_touch(sess_table *s, int64_t id, int64_t now_ms)
{
    uint32_t e = find(s, id);
    return touch_entry(s, e, now_ms, e == SESS_NIL ? 0 : s->ents[e].timeout_ms);
}

int sess_touch_for(sess_table *s, int64_t id, int64_t now_ms, int32_t timeout_ms)
{
    return touch_entry(s, find(s, id), now_ms, timeout_ms);
}

int sess_remove(sess_table *s, int64_t id)
{
    uint32_t e = find(s, id);
    if (e == SESS_NIL)
        return ZERR_NONODE;
    bucket_unlink(s, e);
    sess_map_del(&s->by_id, id);
    ent_release(s, e);
    s->n_live--;
    return 0;
}

bool sess_exists(const sess_table *s, int64_t id)
{
    return find(s, id) != SESS_NIL;
}

int32_t sess_timeout_ms(const sess_table *s, int64_t id)
{
    uint32_t e = find(s, id);
    return e == SESS_NIL ? 0 : s->ents[e].timeout_ms;
}

int64_t sess_expire_at(const sess_table *s, int64_t id)
{
    uint32_t e = find(s, id);
    if (e == SESS_NIL || s->ents[e].bucket == SESS_NIL)
        return 0;
    return s->ents[e].expire_at;
}

void sess_set_closing(sess_table *s, int64_t id)
{
    uint32_t e = find(s, id);
    if (e == SESS_NIL)
        return;
    s->ents[e].is_closing = true;
    bucket_unlink(s, e);
}

int sess_set_owner(sess_table *s, int64_t id, int64_t owner)
{
    uint32_t e = find(s, id);
    if (e == SESS_NIL || s->ents[e].is_closing)
        return ZERR_SESSIONEXPIRED;
    s->ents[e].owner = owner;
    return 0;
}

int sess_check_owner(sess_table *s, int64_t id, int64_t owner)
{
    uint32_t e = find(s, id);
    if (e == SESS_NIL)
        return ZERR_UNKNOWNSESSION;
    sess_ent *x = &s->ents[e];
    if (x->is_closing)
        return ZERR_SESSIONEXPIRED;
    if (x->owner == 0)
        x->owner = owner;
    else if (x->owner != owner)
        return ZERR_SESSIONMOVED;
    return 0;
}

bool sess_is_closing(const sess_table *s, int64_t id)
{
    uint32_t e = find(s, id);
    return e != SESS_NIL && s->ents[e].is_closing;
}

size_t sess_expire(sess_table *s, int64_t now_ms, int64_t *ids_out, size_t cap)
{
    size_t n = 0;
    while (s->n_heap > 0 && n < cap) {
        uint32_t b = s->heap[0];
        if (s->buckets[b].time_ms > now_ms)
            break;
        while (s->buckets[b].head != SESS_NIL && n < cap) {
            uint32_t e = s->buckets[b].head;
            bucket_unlink(s, e);
            s->ents[e].is_closing = true;
            ids_out[n++] = s->ents[e].id;
        }
        if (s->buckets[b].head != SESS_NIL)
            break; /* out of room: the rest stay queued for the next call */
        heap_pop(s);
        sess_map_del(&s->by_time, s->buckets[b].time_ms);
        s->buckets[b].next_free = s->free_bucket;
        s->free_bucket = b;
    }
    return n;
}

int64_t sess_next_expiry(const sess_table *s)
{
    return s->n_heap > 0 ? s->buckets[s->heap[0]].time_ms : INT64_MAX;
}

size_t sess_count(const sess_table *s)
{
    return s->n_live;
}

int sess_foreach(const sess_table *s, int (*fn)(void *arg, int64_t id, int32_t timeout_ms),
                 void *arg)
{
    for (uint32_t i = 0; i < s->n_ents; i++) {
        if (!s->ents[i].is_used)
            continue;
        int rc = fn(arg, s->ents[i].id, s->ents[i].timeout_ms);
        if (rc != 0)
            return rc;
    }
    return 0;
}
