/*
 * statstrack.c: the strings ZooKeeper's quota nodes hold
 * (org.apache.zookeeper.StatsTrack), read and written as Java does.
 *
 * Written form:
 *   "count=<long>,bytes=<long>"                          no other key
 *   "count=<long>,bytes=<long>=;<k>=<long>;<k>=<long>"   other keys, sorted
 * e.g. "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1" (zkCli's
 * "setquota -n 5"). -1 means "not set". Keys: count and bytes (soft limits
 * in zookeeper_limits, the usage in zookeeper_stats), countHardLimit and
 * byteHardLimit. The "=" after bytes is there so that 3.4's parser, which
 * split on "," and then "=", ignores the newer keys.
 *
 * Reading: split on runs of ',' and ';' (a separator at the start gives an
 * empty first part, trailing ones are dropped, as String.split does); each
 * part split on '=' (trailing empty pieces dropped); key = piece 0, value =
 * Long.parseLong(piece 1), an empty piece 1 reads as -1, no piece 1 is an
 * error; a repeated key keeps its last value; a key never written reads as
 * -1. Bytes are compared as bytes: invalid UTF-8 is not replaced by U+FFFD
 * as Java's decoder would, and only ASCII digits are digits.
 */
#include "znode-tree/zt_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct qpair {
    const uint8_t *k;
    uint32_t klen;
    uint32_t pos; /* order of appearance, so the last one of a key wins */
    int64_t v;
} qpair;

/* Long.parseLong over ASCII: optional sign, at least one digit, in range. */
static bool parse_long(const uint8_t *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return true;
}

static bool is_pair_sep(uint8_t c)
{
    return c == ',' || c == ';';
}

/* Calls fn for each key=value of a StatsTrack string, as the Java
 * constructor reads it. Returns 0, ZERR_MARSHALLINGERROR where Java throws
 * (a part without '=' and value, a value that is not a long), or what fn
 * returned. */
static int stats_scan(const uint8_t *p, size_t n,
                      int (*fn)(void *arg, const uint8_t *k, size_t klen, int64_t v), void *arg)
{
    /* String.split drops trailing empty parts, so separators at the end
     * are ignored, but a separator at the start yields an empty first part
     * (which then has no value: an error). */
    while (n > 0 && is_pair_sep(p[n - 1]))
        n--;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && !is_pair_sep(p[i]))
            i++;
        const uint8_t *part = p + start;
        size_t plen = i - start;
        while (i < n && is_pair_sep(p[i]))
            i++;
        /* part.split("="): trailing empty pieces dropped, so "k=" has no
         * value and "k==5" has an empty one. */
        size_t end = plen;
        while (end > 0 && part[end - 1] == '=')
            end--;
        const uint8_t *eq = end > 0 ? memchr(part, '=', end) : NULL;
        if (eq == NULL)
            return ZERR_MARSHALLINGERROR;
        size_t klen = (size_t)(eq - part);
        const uint8_t *val = eq + 1;
        const uint8_t *vend = memchr(val, '=', end - klen - 1);
        size_t vlen = vend != NULL ? (size_t)(vend - val) : end - klen - 1;
        int64_t v = -1;
        if (vlen > 0 && !parse_long(val, vlen, &v))
            return ZERR_MARSHALLINGERROR;
        int rc = fn(arg, part, klen, v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool key_is(const uint8_t *k, size_t klen, const char *name)
{
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

static int take_known(void *arg, const uint8_t *k, size_t klen, int64_t v)
{
    zt_stats_track *st = arg;
    if (key_is(k, klen, "count"))
        st->count = v;
    else if (key_is(k, klen, "bytes"))
        st->bytes = v;
    else if (key_is(k, klen, "countHardLimit"))
        st->count_hard = v;
    else if (key_is(k, klen, "byteHardLimit"))
        st->bytes_hard = v;
    return 0;
}

int zt_stats_read(const uint8_t *p, size_t n, zt_stats_track *out)
{
    zt_stats_track st = {-1, -1, -1, -1};
    int rc = stats_scan(p, n, take_known, &st);
    if (rc == 0)
        *out = st;
    return rc;
}

typedef struct qpairs {
    qpair *v;
    size_t n, cap;
} qpairs;

static int take_pair(void *arg, const uint8_t *k, size_t klen, int64_t v)
{
    qpairs *ps = arg;
    if (wire_reserve((void **)&ps->v, &ps->cap, ps->n, sizeof *ps->v) != 0)
        return ZERR_NOMEM;
    ps->v[ps->n] = (qpair){k, (uint32_t)klen, (uint32_t)ps->n, v};
    ps->n++;
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n > 0 ? memcmp(x->k, y->k, n) : 0;
    if (c == 0)
        c = x->klen < y->klen ? -1 : x->klen > y->klen;
    if (c == 0)
        c = x->pos < y->pos ? -1 : x->pos > y->pos;
    return c;
}

int64_t zt_add64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b); /* Java long arithmetic wraps */
}

/* StatsTrack.toString after adding the diffs to count and bytes: count and
 * bytes first, then "=" and the other keys sorted, each ";k=v". */
static void stats_format(wire_wr *w, qpairs *ps, int64_t count_diff, int64_t bytes_diff)
{
    int64_t count = -1, bytes = -1;
    size_t n_other = 0;
    if (ps->n > 1)
        qsort(ps->v, ps->n, sizeof *ps->v, pair_cmp);
    for (size_t i = 0; i < ps->n; i++) {
        const qpair *q = &ps->v[i];
        if (key_is(q->k, q->klen, "count"))
            count = q->v;
        else if (key_is(q->k, q->klen, "bytes"))
            bytes = q->v;
        else
            n_other++;
    }
    char num[64];
    int len = snprintf(num, sizeof num, "count=%" PRId64 ",bytes=%" PRId64,
                       zt_add64(count, count_diff), zt_add64(bytes, bytes_diff));
    wire_wr_raw(w, num, (size_t)len);
    if (n_other > 0)
        wire_wr_raw(w, "=", 1);
    for (size_t i = 0; i < ps->n; i++) {
        const qpair *q = &ps->v[i];
        bool last_of_key = i + 1 == ps->n || ps->v[i + 1].klen != q->klen ||
                           (q->klen > 0 && memcmp(ps->v[i + 1].k, q->k, q->klen) != 0);
        if (!last_of_key || key_is(q->k, q->klen, "count") || key_is(q->k, q->klen, "bytes"))
            continue;
        wire_wr_raw(w, ";", 1);
        wire_wr_raw(w, q->k, q->klen);
        len = snprintf(num, sizeof num, "=%" PRId64, q->v);
        wire_wr_raw(w, num, (size_t)len);
    }
}

int zt_stats_rewrite(const uint8_t *p, size_t n, int64_t count_diff, int64_t bytes_diff,
                     wire_wr *out)
{
    qpairs ps = {0};
    int rc = stats_scan(p, n, take_pair, &ps);
    if (rc == 0) {
        stats_format(out, &ps, count_diff, bytes_diff);
        rc = wire_wr_err(out);
    }
    free(ps.v);
    return rc;
}

void zt_stats_write(wire_wr *out, int64_t count, int64_t bytes)
{
    char num[64];
    int len = snprintf(num, sizeof num, "count=%" PRId64 ",bytes=%" PRId64, count, bytes);
    wire_wr_raw(out, num, (size_t)len);
}
