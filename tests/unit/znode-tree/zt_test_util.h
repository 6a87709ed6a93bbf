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
    wire_acl ids[4] = {{0, {"ip", 2}, {"127.0.0.1", 9}}};
    int32_t n_ids = 1;
    bool is_super = false;

    ZtDriver() { zt_out_init(&out); }
    ~ZtDriver()
    {
        zt_out_fini(&out);
        zt_free(t);
    }

    zt_prep_ctx ctx(zt_auth *a)
    {
        *a = {ids, n_ids, is_super};
        return {session, 1, zxid + 1, now, a, extended};
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

    int create(const char *path, int32_t flags = 0, const char *data = "",
               int64_t ttl = -1)
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

    int create_acl(const char *path, const wire_acl *acl, int32_t n)
    {
        wire_write_req q;
        memset(&q, 0, sizeof q);
        q.type = WIRE_OP_CREATE;
        q.path = wire_str_c(path);
        q.acl = (wire_acl *)acl;
        q.n_acl = n;
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

    bool exists(const char *path) { return zt_lookup(t, wire_str_c(path)) != NULL; }

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

#endif
