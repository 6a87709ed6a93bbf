/*
 * acl.c: the interned ACL table and permission checks.
 *
 * Each distinct ACL list is stored once with a reference count, as
 * ZooKeeper's ReferenceCountedACLCache does; nodes hold a table index. Lookup
 * is a scan of the (few) distinct lists by hash: deployments use a handful of
 * ACLs for millions of nodes.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

static uint32_t acl_hash(const wire_acl *acl, int32_t n)
{
    uint32_t h = (uint32_t)n;
    for (int32_t i = 0; i < n; i++) {
        h = h * 31u + (uint32_t)acl[i].perms;
        h = h * 31u +
            zt_hash(acl[i].scheme.p, (size_t)(acl[i].scheme.len > 0 ? acl[i].scheme.len : 0));
        h = h * 31u + zt_hash(acl[i].id.p, (size_t)(acl[i].id.len > 0 ? acl[i].id.len : 0));
    }
    return h;
}

static bool acl_equal(const zt_acl_entry *e, const wire_acl *acl, int32_t n)
{
    if (e->n != n)
        return false;
    for (int32_t i = 0; i < n; i++)
        if (e->acl[i].perms != acl[i].perms || !wire_str_eq(e->acl[i].scheme, acl[i].scheme) ||
            !wire_str_eq(e->acl[i].id, acl[i].id))
            return false;
    return true;
}

static int entry_fill(zt_acl_entry *e, const wire_acl *acl, int32_t n, uint32_t h)
{
    size_t bytes = 0;
    for (int32_t i = 0; i < n; i++)
        bytes += (size_t)(acl[i].scheme.len > 0 ? acl[i].scheme.len : 0) +
                 (size_t)(acl[i].id.len > 0 ? acl[i].id.len : 0);
    e->acl = calloc((size_t)(n > 0 ? n : 1), sizeof *e->acl);
    e->blob = malloc(bytes + 1);
    if (e->acl == NULL || e->blob == NULL) {
        free(e->acl);
        free(e->blob);
        e->acl = NULL;
        e->blob = NULL;
        return ZERR_NOMEM;
    }
    char *p = e->blob;
    e->open_perms = n == 0 ? -1 : 0;
    for (int32_t i = 0; i < n; i++) {
        e->acl[i].perms = acl[i].perms;
        if (wire_str_eqc(acl[i].scheme, "world") && wire_str_eqc(acl[i].id, "anyone"))
            e->open_perms |= acl[i].perms;
        wire_str parts[2] = {acl[i].scheme, acl[i].id};
        wire_str *dst[2] = {&e->acl[i].scheme, &e->acl[i].id};
        for (int k = 0; k < 2; k++) {
            int32_t len = parts[k].len > 0 ? parts[k].len : 0;
            if (len > 0)
                memcpy(p, parts[k].p, (size_t)len);
            dst[k]->p = p;
            dst[k]->len = len;
            p += len;
        }
    }
    e->n = n;
    e->hash = h;
    e->refs = 1;
    return 0;
}

int zt_acl_intern(zt_tree *t, const wire_acl *acl, int32_t n, uint32_t *idx_out)
{
    uint32_t h = acl_hash(acl, n);
    size_t free_slot = t->n_acls;
    for (size_t i = 0; i < t->n_acls; i++) {
        zt_acl_entry *e = &t->acls[i];
        if (e->refs == 0) {
            if (free_slot == t->n_acls)
                free_slot = i;
            continue;
        }
        if (e->hash == h && acl_equal(e, acl, n)) {
            e->refs++;
            *idx_out = (uint32_t)i;
            return 0;
        }
    }
    if (free_slot == t->n_acls) {
        if (wire_reserve((void **)&t->acls, &t->cap_acls, t->n_acls, sizeof *t->acls) != 0)
            return ZERR_NOMEM;
        memset(&t->acls[t->n_acls], 0, sizeof t->acls[0]);
        t->n_acls++;
    }
    int rc = entry_fill(&t->acls[free_slot], acl, n, h);
    if (rc != 0)
        return rc;
    *idx_out = (uint32_t)free_slot;
    return 0;
}

void zt_acl_retain(zt_tree *t, uint32_t idx)
{
    t->acls[idx].refs++;
}

void zt_acl_release(zt_tree *t, uint32_t idx)
{
    zt_acl_entry *e = &t->acls[idx];
    ZK_ASSERT(e->refs > 0, "ACL %u released too often", idx);
    if (--e->refs == 0) {
        free(e->acl);
        free(e->blob);
        e->acl = NULL;
        e->blob = NULL;
        e->n = 0;
    }
}

/* ---- matching ------------------------------------------------------------------ */

/* Java's Integer.parseInt on s[0..n): an optional sign, then one or more
 * ASCII digits, within int range. False when it would throw. */
static bool java_parse_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return false;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > (int64_t)INT32_MAX + (neg ? 1 : 0))
            return false;
    }
    *out = neg ? -v : v;
    return true;
}

/* IPAuthenticationProvider.v4addr2Bytes: exactly four dot-separated parts
 * (empty ones count), each parseInt'd into 0..255. ZooKeeper 3.8 parses
 * nothing else: IPv6 ids are invalid and IPv6 clients match no ACL. */
static bool parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t start = 0;
    int part = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        int64_t v;
        if (part == 4 || !java_parse_int(s + start, i - start, &v) || v < 0 || v > 255)
            return false;
        out[part++] = (uint8_t)v;
        start = i + 1;
    }
    return part == 4;
}

/* An ACL expression "addr[/bits]" (split("/", 2), so "a/b/c" has bits
 * "b/c"): the address and the prefix length. False if invalid. */
static bool parse_ip_expr(wire_str expr, uint8_t addr[4], int *bits)
{
    if (expr.len < 0)
        return false;
    const char *slash = memchr(expr.p, '/', (size_t)expr.len);
    size_t alen = slash != NULL ? (size_t)(slash - expr.p) : (size_t)expr.len;
    if (!parse_v4(expr.p, alen, addr))
        return false;
    *bits = 32;
    if (slash != NULL) {
        int64_t b;
        if (!java_parse_int(slash + 1, (size_t)expr.len - alen - 1, &b) || b < 0 || b > 32)
            return false;
        *bits = (int)b;
    }
    return true;
}

bool zt_ip_valid(wire_str acl_id)
{
    uint8_t a[4];
    int bits;
    return parse_ip_expr(acl_id, a, &bits);
}

bool zt_ip_matches(wire_str acl_id, wire_str addr)
{
    uint8_t want[4], have[4];
    int bits;
    if (!parse_ip_expr(acl_id, want, &bits) || addr.len < 0 ||
        !parse_v4(addr.p, (size_t)addr.len, have))
        return false;
    for (int i = 0; i < bits; i++) {
        uint8_t m = (uint8_t)(0x80 >> (i % 8));
        if ((want[i / 8] & m) != (have[i / 8] & m))
            return false;
    }
    return true;
}

static bool id_matches(const zt_auth *a, wire_str scheme, wire_str auth_id, wire_str acl_id)
{
    if (wire_str_eqc(scheme, "ip"))
        return zt_ip_matches(acl_id, auth_id);
    /* SASLAuthenticationProvider.matches; without the provider a sasl ACL
     * matches nobody (checkACL finds no provider for the scheme). */
    if (wire_str_eqc(scheme, "sasl"))
        return a->has_sasl && (wire_str_eqc(auth_id, "super") || wire_str_eq(auth_id, acl_id) ||
                               (a->sasl_any_id != NULL && wire_str_eqc(acl_id, a->sasl_any_id)));
    /* digest (and any other exact-match scheme) */
    return wire_str_eq(auth_id, acl_id);
}

bool zt_acl_entry_grants(const wire_acl *e, int32_t perm, const zt_auth *a)
{
    if ((e->perms & perm) == 0)
        return false;
    if (wire_str_eqc(e->scheme, "world") && wire_str_eqc(e->id, "anyone"))
        return true;
    for (int32_t j = 0; j < a->n_ids; j++)
        if (wire_str_eq(a->ids[j].scheme, e->scheme) &&
            id_matches(a, e->scheme, a->ids[j].id, e->id))
            return true;
    return false;
}

bool zt_acl_check(const wire_acl *acl, int32_t n, int32_t perm, const zt_auth *a)
{
    if (n == 0 || a->is_super)
        return true;
    for (int32_t i = 0; i < n; i++)
        if (zt_acl_entry_grants(&acl[i], perm, a))
            return true;
    return false;
}

int zt_check_acl(const zt_tree *t, const zt_node *n, int32_t perm, const zt_auth *a)
{
    const zt_acl_entry *e = &t->acls[n->acl];
    /* Most nodes are open to anyone: no need to compare identities. */
    if ((e->open_perms & perm) != 0)
        return 0;
    return zt_acl_check(e->acl, e->n, perm, a) ? 0 : ZERR_NOAUTH;
}
