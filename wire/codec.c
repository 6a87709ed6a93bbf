/*
 * codec.c: jute primitives (int, long, boolean, buffer, ustring, vector
 * counts, Stat, ACL lists) on a bounds-checked reader and a growable writer,
 * plus the frame length check.
 *
 * Every length read is checked against both the bytes present and the
 * reader's max_len (jute.maxbuffer) before it is used, so a hostile length
 * can neither read past the frame nor drive an allocation.
 */
#include "wire/wire.h"

#include <string.h>

/* ---- error names --------------------------------------------------------- */

const char *wire_err_name(int err)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {ZERR_OK, "OK"},
        {ZERR_SYSTEMERROR, "SYSTEMERROR"},
        {ZERR_RUNTIMEINCONSISTENCY, "RUNTIMEINCONSISTENCY"},
        {ZERR_DATAINCONSISTENCY, "DATAINCONSISTENCY"},
        {ZERR_CONNECTIONLOSS, "CONNECTIONLOSS"},
        {ZERR_MARSHALLINGERROR, "MARSHALLINGERROR"},
        {ZERR_UNIMPLEMENTED, "UNIMPLEMENTED"},
        {ZERR_OPERATIONTIMEOUT, "OPERATIONTIMEOUT"},
        {ZERR_BADARGUMENTS, "BADARGUMENTS"},
        {ZERR_UNKNOWNSESSION, "UNKNOWNSESSION"},
        {ZERR_APIERROR, "APIERROR"},
        {ZERR_NONODE, "NONODE"},
        {ZERR_NOAUTH, "NOAUTH"},
        {ZERR_BADVERSION, "BADVERSION"},
        {ZERR_NOCHILDRENFOREPHEMERALS, "NOCHILDRENFOREPHEMERALS"},
        {ZERR_NODEEXISTS, "NODEEXISTS"},
        {ZERR_NOTEMPTY, "NOTEMPTY"},
        {ZERR_SESSIONEXPIRED, "SESSIONEXPIRED"},
        {ZERR_INVALIDACL, "INVALIDACL"},
        {ZERR_AUTHFAILED, "AUTHFAILED"},
        {ZERR_SESSIONMOVED, "SESSIONMOVED"},
        {ZERR_NOWATCHER, "NOWATCHER"},
        {ZERR_RECONFIGDISABLED, "RECONFIGDISABLED"},
        {ZERR_QUOTAEXCEEDED, "QUOTAEXCEEDED"},
        {ZERR_IO, "IO"},
        {ZERR_CORRUPT, "CORRUPT"},
        {ZERR_NOMEM, "NOMEM"},
        {ZERR_TOOBIG, "TOOBIG"},
        {ZERR_SHORT, "SHORT"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == err)
            return names[i].name;
    return "UNKNOWN";
}

bool wire_str_eq(wire_str a, wire_str b)
{
    if (a.len != b.len)
        return false;
    return a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0;
}

bool wire_str_eqc(wire_str a, const char *c)
{
    return wire_str_eq(a, wire_str_c(c));
}

/* ---- reader ---------------------------------------------------------------- */

void wire_rd_init(wire_rd *r, const void *p, size_t len, int32_t max_len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->max_len = max_len;
    r->err = 0;
}

static const uint8_t *take(wire_rd *r, size_t n)
{
    if (r->err != 0)
        return NULL;
    if (n > r->len - r->off) {
        r->err = ZERR_SHORT;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

int32_t wire_rd_i32(wire_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (int32_t)wire_get_be32(p) : 0;
}

int64_t wire_rd_i64(wire_rd *r)
{
    const uint8_t *p = take(r, 8);
    return p ? (int64_t)wire_get_be64(p) : 0;
}

bool wire_rd_bool(wire_rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p != 0 : false;
}

/* A length-prefixed run: -1 is null; other negatives and lengths past
 * max_len are ZERR_TOOBIG, as jute's checkLength rejects them. */
static const uint8_t *rd_run(wire_rd *r, int32_t *len_out)
{
    int32_t len = wire_rd_i32(r);
    *len_out = -1;
    if (r->err != 0 || len == -1)
        return NULL;
    if (len < -1 || len > r->max_len) {
        r->err = ZERR_TOOBIG;
        return NULL;
    }
    const uint8_t *p = take(r, (size_t)len);
    if (p != NULL)
        *len_out = len;
    return p;
}

wire_buf wire_rd_buf(wire_rd *r)
{
    wire_buf b;
    b.p = rd_run(r, &b.len);
    return b;
}

wire_str wire_rd_str(wire_rd *r)
{
    wire_str s;
    s.p = (const char *)rd_run(r, &s.len);
    return s;
}

int32_t wire_rd_count(wire_rd *r, size_t min_elem_size)
{
    int32_t n = wire_rd_i32(r);
    if (r->err != 0 || n == -1)
        return 0;
    if (n < -1 || n > r->max_len) {
        r->err = ZERR_TOOBIG;
        return 0;
    }
    if (min_elem_size > 0 && (size_t)n > wire_rd_left(r) / min_elem_size) {
        r->err = ZERR_SHORT;
        return 0;
    }
    return n;
}

void wire_rd_stat(wire_rd *r, wire_stat *st)
{
    st->czxid = wire_rd_i64(r);
    st->mzxid = wire_rd_i64(r);
    st->ctime = wire_rd_i64(r);
    st->mtime = wire_rd_i64(r);
    st->version = wire_rd_i32(r);
    st->cversion = wire_rd_i32(r);
    st->aversion = wire_rd_i32(r);
    st->ephemeral_owner = wire_rd_i64(r);
    st->data_length = wire_rd_i32(r);
    st->num_children = wire_rd_i32(r);
    st->pzxid = wire_rd_i64(r);
}

/* ---- writer ---------------------------------------------------------------- */

void wire_wr_init(wire_wr *w)
{
    memset(w, 0, sizeof *w);
}

void wire_wr_fini(wire_wr *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}

void wire_wr_reset(wire_wr *w)
{
    w->len = 0;
    w->err = 0;
}

uint8_t *wire_wr_grow(wire_wr *w, size_t n)
{
    if (w->err != 0)
        return NULL;
    if (n > SIZE_MAX / 2 - w->len) {
        w->err = ZERR_NOMEM;
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (p == NULL) {
            w->err = ZERR_NOMEM;
            return NULL;
        }
        w->p = p;
        w->cap = cap;
    }
    uint8_t *at = w->p + w->len;
    w->len += n;
    return at;
}

void wire_wr_raw(wire_wr *w, const void *p, size_t n)
{
    if (n == 0)
        return; /* an empty writer has no buffer: NULL + 0 is undefined */
    uint8_t *at = wire_wr_room(w, n);
    if (at != NULL)
        memcpy(at, p, n);
}

void wire_wr_bool(wire_wr *w, bool v)
{
    uint8_t b = v ? 1 : 0;
    wire_wr_raw(w, &b, 1);
}

void wire_wr_buf(wire_wr *w, wire_buf b)
{
    wire_wr_i32(w, b.len < 0 ? -1 : b.len);
    if (b.len > 0)
        wire_wr_raw(w, b.p, (size_t)b.len);
}

void wire_wr_str(wire_wr *w, wire_str s)
{
    wire_wr_i32(w, s.len < 0 ? -1 : s.len);
    if (s.len > 0)
        wire_wr_raw(w, s.p, (size_t)s.len);
}

void wire_wr_cstr(wire_wr *w, const char *s)
{
    wire_wr_str(w, wire_str_c(s));
}

void wire_wr_stat(wire_wr *w, const wire_stat *st)
{
    uint8_t *p = wire_wr_room(w, WIRE_STAT_LEN); /* one check for the 11 fields */
    if (p == NULL)
        return;
    wire_put_be64(p, (uint64_t)st->czxid);
    wire_put_be64(p + 8, (uint64_t)st->mzxid);
    wire_put_be64(p + 16, (uint64_t)st->ctime);
    wire_put_be64(p + 24, (uint64_t)st->mtime);
    wire_put_be32(p + 32, (uint32_t)st->version);
    wire_put_be32(p + 36, (uint32_t)st->cversion);
    wire_put_be32(p + 40, (uint32_t)st->aversion);
    wire_put_be64(p + 44, (uint64_t)st->ephemeral_owner);
    wire_put_be32(p + 52, (uint32_t)st->data_length);
    wire_put_be32(p + 56, (uint32_t)st->num_children);
    wire_put_be64(p + 60, (uint64_t)st->pzxid);
}

void wire_wr_acls(wire_wr *w, const wire_acl *acl, int32_t n)
{
    wire_wr_i32(w, n);
    for (int32_t i = 0; i < n; i++) {
        wire_wr_i32(w, acl[i].perms);
        wire_wr_str(w, acl[i].scheme);
        wire_wr_str(w, acl[i].id);
    }
}

void wire_wr_patch_i32(wire_wr *w, size_t off, int32_t v)
{
    if (w->err != 0 || off + 4 > w->len)
        return;
    wire_put_be32(w->p + off, (uint32_t)v);
}

/* ---- growable arrays --------------------------------------------------------- */

int wire_reserve(void **arr, size_t *cap, size_t n, size_t elem_size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap <= n) {
        if (ncap > SIZE_MAX / 2)
            return ZERR_NOMEM;
        ncap *= 2;
    }
    if (elem_size != 0 && ncap > SIZE_MAX / elem_size)
        return ZERR_NOMEM;
    void *p = realloc(*arr, ncap * elem_size);
    if (p == NULL)
        return ZERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- frames ---------------------------------------------------------------- */

int wire_frame_peek(const uint8_t *p, size_t avail, int32_t max_len, int32_t *body_len)
{
    if (avail < 4)
        return 0;
    int32_t len = (int32_t)wire_get_be32(p);
    if (len < 0 || len > max_len)
        return ZERR_TOOBIG;
    if (avail - 4 < (size_t)len)
        return 0;
    *body_len = len;
    return 1;
}
