/*
 * sess_map: an int64 -> uint32 open-addressing hash for the session table.
 *
 * Linear probing at load <= 1/2 with backward-shift deletion, so there are
 * no tombstones and a table that sees millions of adds and removes keeps
 * short probe sequences. Keys are mixed with a 64-bit finaliser because
 * session ids share their high bits (server id, start time) and bucket times
 * are multiples of tickTime.
 */
#include <stdlib.h>
#include <string.h>

#include "session/sess_int.h"

static inline size_t mix(int64_t key)
{
    uint64_t x = (uint64_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

static sess_map_slot *slots_alloc(size_t cap)
{
    sess_map_slot *s = malloc(cap * sizeof(*s));
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < cap; i++)
        s[i].val = SESS_NIL;
    return s;
}

int sess_map_init(sess_map *m, size_t cap_hint)
{
    size_t cap = 16;
    while (cap < cap_hint * 2)
        cap *= 2;
    m->slots = slots_alloc(cap);
    if (m->slots == NULL)
        return ZERR_NOMEM;
    m->mask = cap - 1;
    m->n = 0;
    return 0;
}

void sess_map_fini(sess_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->n = 0;
}

uint32_t sess_map_get(const sess_map *m, int64_t key)
{
    for (size_t i = mix(key) & m->mask;; i = (i + 1) & m->mask) {
        const sess_map_slot *s = &m->slots[i];
        if (s->val == SESS_NIL)
            return SESS_NIL;
        if (s->key == key)
            return s->val;
    }
}

static void insert_fresh(sess_map_slot *slots, size_t mask, int64_t key, uint32_t val)
{
    size_t i = mix(key) & mask;
    while (slots[i].val != SESS_NIL)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].val = val;
}

static int grow(sess_map *m)
{
    size_t old_cap = m->mask + 1;
    if (old_cap > SIZE_MAX / 2 / sizeof(sess_map_slot))
        return ZERR_NOMEM;
    size_t cap = old_cap * 2;
    sess_map_slot *slots = slots_alloc(cap);
    if (slots == NULL)
        return ZERR_NOMEM;
    for (size_t i = 0; i < old_cap; i++)
        if (m->slots[i].val != SESS_NIL)
            insert_fresh(slots, cap - 1, m->slots[i].key, m->slots[i].val);
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return 0;
}

int sess_map_put(sess_map *m, int64_t key, uint32_t val)
{
    int rc;
    if ((m->n + 1) * 2 > m->mask + 1 && (rc = grow(m)) != 0)
        return rc;
    insert_fresh(m->slots, m->mask, key, val);
    m->n++;
    return 0;
}

bool sess_map_del(sess_map *m, int64_t key)
{
    size_t i = mix(key) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        if (m->slots[i].val == SESS_NIL)
            return false;
        if (m->slots[i].key == key)
            break;
    }
    /* Backward shift: pull later entries of the run into the hole unless
     * their home slot lies cyclically after the hole (they would become
     * unreachable). */
    size_t hole = i;
    for (size_t j = (i + 1) & m->mask; m->slots[j].val != SESS_NIL; j = (j + 1) & m->mask) {
        size_t home = mix(m->slots[j].key) & m->mask;
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].val = SESS_NIL;
    m->n--;
    return true;
}
