// Drives the tree the way the server does: prep a request into a txn, decode
// the txn, apply it. Results and events of the last apply stay in `out`.
#ifndef ZT_TEST_UTIL_H
#define ZT_TEST_UTIL_H

#include "znode-tree/zt.h"

#include <CppUTest/TestHarness.h>
#include <string.h>
#include <string>

struct ZtDriver {
    zt_tree *t = zt_new();
    zt_out out;
    int64_t zxid = 0;
    int64_t session = 0x100;
    int64_t now = 1000;
    bool extended = true;
    bool enforce_quota = false;
    zt_quota_notes *quota_notes = nullptr;
    wire_acl ids[4] = {{0, {"ip", 2}, {"127.0.0.1", 9}}};
    int32_t n_ids = 1;
    bool is_super = false;
    bool has_sasl = false; // SASLAuthenticationProvider configured

    ZtDriver()
    {
        zt_out_init(&out);
    }
    ~ZtDriver()
    {
        zt_out_fini(&out);
        zt_free(t);
    }

    zt_prep_ctx ctx(zt_auth *a)
    {
        *a = {ids, n_ids, is_super, has_sasl, NULL};
        return {session, 1, zxid + 1, now, a, extended, enforce_quota, quota_notes};
    }

    // Applies the txn in w; returns the prep error (0 or the ErrorTxn code).
    int commit(wire_wr *w, int prep_rc)
    {
        wire_rd r;
        wire_rd_init(&r, w->p, w->len, INT32_MAX);
        wire_txn_hdr h;
        wire_txn_hdr_decode(&r, &h);
        wire_txn txn;
        LONGS_EQUAL(0, wire_txn_body_decode(&r, h.type, &txn));
        zt_out_reset(&out);
        LONGS_EQUAL(0, zt_apply(t, &h, &txn, &out));
        wire_txn_fini(&txn);
        zxid = h.zxid;
        return prep_rc;
    }

    int write(const wire_write_req &q)
    {
        zt_auth a;
        zt_prep_ctx c = ctx(&a);
        wire_wr w;
        wire_wr_init(&w);
        int rc = zt_prep(t, &c, &q, &w);
        rc = commit(&w, rc);
        wire_wr_fini(&w);
        return rc;
    }

    int create(const char *path, int32_t flags = 0, const char *data = "", int64_t ttl = -1)
    {
        static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
        wire_write_req q;
        memset(&q, 0, sizeof q);
        q.type = flags == WIRE_MODE_CONTAINER ? WIRE_OP_CREATECONTAINER
                 : ttl >= 0                   ? WIRE_OP_CREATETTL
                                              : WIRE_OP_CREATE2;
        q.path = wire_str_c(path);
        q.data = {(const uint8_t *)data, (int32_t)strlen(data)};
        q.acl = (wire_acl *)open_acl;
        q.n_acl = 1;
        q.flags = flags;
        q.ttl = ttl;
        return write(q);
    }

    int create_acl(const char *path, const wire_acl *acl, int32_t n, int32_t flags = 0)
    {
        wire_write_req q;
        memset(&q, 0, sizeof q);
        q.type = WIRE_OP_CREATE;
        q.path = wire_str_c(path);
        q.acl = (wire_acl *)acl;
        q.n_acl = n;
        q.flags = flags;
        return write(q);
    }

    int simple(int32_t type, const char *path, int32_t version = -1, const char *data = "")
    {
        wire_write_req q;
        memset(&q, 0, sizeof q);
        q.type = type;
        q.path = wire_str_c(path);
        q.version = version;
        q.data = {(const uint8_t *)data, (int32_t)strlen(data)};
        return write(q);
    }

    wire_stat stat(const char *path)
    {
        const zt_node *n = zt_lookup(t, wire_str_c(path));
        CHECK_TEXT(n != NULL, path);
        wire_stat st;
        zt_node_stat(n, &st);
        return st;
    }

    bool exists(const char *path)
    {
        return zt_lookup(t, wire_str_c(path)) != NULL;
    }

    // Applies a hand-made txn (a replayed log entry) at the given zxid, through
    // the same encode/decode path the server's log takes.
    int apply_raw(int64_t at_zxid, const wire_txn &x, int64_t client = -1)
    {
        wire_wr w;
        wire_wr_init(&w);
        wire_txn_hdr h = {client == -1 ? session : client, 1, at_zxid, now, x.type};
        wire_txn_hdr_encode(&w, &h);
        wire_txn_body_encode(&w, &x);
        int rc = commit(&w, 0);
        wire_wr_fini(&w);
        return rc;
    }

    int multi(wire_write_req *ops, int32_t n)
    {
        wire_multi_req m = {ops, n};
        zt_auth a;
        zt_prep_ctx c = ctx(&a);
        wire_wr w;
        wire_wr_init(&w);
        int rc = commit(&w, zt_prep_multi(t, &c, &m, &w));
        wire_wr_fini(&w);
        return rc;
    }

    int close_session(int64_t id)
    {
        int64_t saved = session;
        session = id;
        zt_auth a;
        zt_prep_ctx c = ctx(&a);
        wire_wr w;
        wire_wr_init(&w);
        int rc = commit(&w, zt_prep_close_session(t, &c, &w));
        wire_wr_fini(&w);
        session = saved;
        return rc;
    }

    int delete_container(const char *path)
    {
        zt_auth a;
        zt_prep_ctx c = ctx(&a);
        wire_wr w;
        wire_wr_init(&w);
        int rc = commit(&w, zt_prep_delete_container(t, &c, wire_str_c(path), &w));
        wire_wr_fini(&w);
        return rc;
    }

    int set_acl(const char *path, const wire_acl *acl, int32_t n, int32_t version = -1)
    {
        wire_write_req q;
        memset(&q, 0, sizeof q);
        q.type = WIRE_OP_SETACL;
        q.path = wire_str_c(path);
        q.acl = (wire_acl *)acl;
        q.n_acl = n;
        q.version = version;
        return write(q);
    }

    std::string acl_text(const char *path)
    {
        const zt_node *n = zt_lookup(t, wire_str_c(path));
        CHECK_TEXT(n != NULL, path);
        const wire_acl *acl;
        int32_t k;
        zt_node_acl(t, n, &acl, &k);
        std::string s;
        for (int32_t i = 0; i < k; i++)
            s += std::to_string(acl[i].perms) + ":" +
                 std::string(acl[i].scheme.p, (size_t)acl[i].scheme.len) + ":" +
                 std::string(acl[i].id.p, (size_t)acl[i].id.len) + " ";
        return s;
    }

    std::string created_path(size_t i = 0)
    {
        wire_str s = zt_out_str(&out, out.res[i].path_off, out.res[i].path_len);
        return std::string(s.p, (size_t)s.len);
    }

    std::string events()
    {
        std::string s;
        for (size_t i = 0; i < out.n_ev; i++) {
            wire_str p = zt_out_str(&out, out.ev[i].path_off, out.ev[i].path_len);
            s += std::to_string(out.ev[i].type) + ":" + std::string(p.p, (size_t)p.len) + " ";
        }
        return s;
    }
};

// One op of a multi (world:anyone ACL, so creates need no ACL of their own).
static inline wire_write_req zt_op(int32_t type, const char *path, int32_t version = -1,
                                   int32_t flags = 0)
{
    static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    wire_write_req q;
    memset(&q, 0, sizeof q);
    q.type = type;
    q.path = wire_str_c(path);
    q.version = version;
    q.flags = flags;
    q.ttl = -1;
    q.acl = (wire_acl *)open_acl;
    q.n_acl = 1;
    return q;
}

// Hand-made txns, as a replayed log would carry them.
static inline wire_txn create_txn(const char *path, int32_t parent_cversion)
{
    wire_txn x;
    memset(&x, 0, sizeof x);
    x.type = WIRE_OP_CREATE;
    x.path = wire_str_c(path);
    static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    x.acl = (wire_acl *)open_acl;
    x.n_acl = 1;
    x.parent_cversion = parent_cversion;
    return x;
}

static inline wire_txn path_txn(int32_t type, const char *path)
{
    wire_txn x;
    memset(&x, 0, sizeof x);
    x.type = type;
    x.path = wire_str_c(path);
    return x;
}

#endif
