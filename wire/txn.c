/*
 * txn.c: the transaction records that go into the log, byte for byte as
 * ZooKeeper logs them (the layouts are listed in wire.h above wire_txn).
 * Decoding borrows strings from the reader's bytes; arrays are allocated and
 * released by wire_txn_fini.
 */
#include "wire/wire.h"

#include <string.h>

void wire_txn_hdr_encode(wire_wr *w, const wire_txn_hdr *h)
{
    wire_wr_i64(w, h->client_id);
    wire_wr_i32(w, h->cxid);
    wire_wr_i64(w, h->zxid);
    wire_wr_i64(w, h->time_ms);
    wire_wr_i32(w, h->type);
}

void wire_txn_hdr_decode(wire_rd *r, wire_txn_hdr *h)
{
    h->client_id = wire_rd_i64(r);
    h->cxid = wire_rd_i32(r);
    h->zxid = wire_rd_i64(r);
    h->time_ms = wire_rd_i64(r);
    h->type = wire_rd_i32(r);
}

void wire_txn_body_encode(wire_wr *w, const wire_txn *t)
{
    switch (t->type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        wire_wr_str(w, t->path);
        wire_wr_buf(w, t->data);
        wire_wr_acls(w, t->acl, t->n_acl);
        if (t->type == WIRE_OP_CREATE || t->type == WIRE_OP_CREATE2)
            wire_wr_bool(w, t->ephemeral);
        wire_wr_i32(w, t->parent_cversion);
        if (t->type == WIRE_OP_CREATETTL)
            wire_wr_i64(w, t->ttl);
        break;
    case WIRE_OP_DELETE:
    case WIRE_OP_DELETECONTAINER:
        wire_wr_str(w, t->path);
        break;
    case WIRE_OP_SETDATA:
        wire_wr_str(w, t->path);
        wire_wr_buf(w, t->data);
        wire_wr_i32(w, t->version);
        break;
    case WIRE_OP_SETACL:
        wire_wr_str(w, t->path);
        wire_wr_acls(w, t->acl, t->n_acl);
        wire_wr_i32(w, t->version);
        break;
    case WIRE_OP_CHECK:
        wire_wr_str(w, t->path);
        wire_wr_i32(w, t->version);
        break;
    case WIRE_OP_CREATESESSION:
        wire_wr_i32(w, t->timeout_ms);
        break;
    case WIRE_OP_CLOSESESSION:
        wire_wr_i32(w, t->n_paths);
        for (int32_t i = 0; i < t->n_paths; i++)
            wire_wr_str(w, t->paths[i]);
        break;
    case WIRE_OP_ERROR:
        wire_wr_i32(w, t->err);
        break;
    case WIRE_OP_MULTI: {
        /* Each sub-txn is a { int type; buffer data } whose data is the
         * encoded body; encode it in place behind a patched length. */
        wire_wr_i32(w, t->n_sub);
        for (int32_t i = 0; i < t->n_sub; i++) {
            wire_wr_i32(w, t->sub[i].type);
            size_t at = w->len;
            wire_wr_i32(w, 0);
            wire_txn_body_encode(w, &t->sub[i]);
            wire_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
        }
        break;
    }
    default:
        ZK_ASSERT(0, "encoding a txn of unknown type %d", t->type);
    }
}

static int rd_acls_into(wire_rd *r, wire_txn *t)
{
    int32_t n = wire_rd_count(r, 12);
    if (r->err != 0)
        return r->err;
    if (n == 0)
        return 0;
    t->acl = calloc((size_t)n, sizeof *t->acl);
    if (t->acl == NULL)
        return ZERR_NOMEM;
    t->n_acl = n;
    for (int32_t i = 0; i < n; i++) {
        t->acl[i].perms = wire_rd_i32(r);
        t->acl[i].scheme = wire_rd_str(r);
        t->acl[i].id = wire_rd_str(r);
    }
    return r->err;
}

static int rd_multi(wire_rd *r, wire_txn *t)
{
    int32_t n = wire_rd_count(r, 8);
    if (r->err != 0)
        return r->err;
    if (n == 0)
        return 0;
    t->sub = calloc((size_t)n, sizeof *t->sub);
    if (t->sub == NULL)
        return ZERR_NOMEM;
    t->n_sub = n;
    for (int32_t i = 0; i < n; i++) {
        int32_t type = wire_rd_i32(r);
        wire_buf body = wire_rd_buf(r);
        if (r->err != 0)
            return r->err;
        if (type == WIRE_OP_MULTI || body.len < 0)
            return ZERR_CORRUPT;
        wire_rd sr;
        wire_rd_init(&sr, body.p, (size_t)body.len, r->max_len);
        int rc = wire_txn_body_decode(&sr, type, &t->sub[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int wire_txn_body_decode(wire_rd *r, int32_t type, wire_txn *t)
{
    int rc = 0;
    memset(t, 0, sizeof *t);
    t->type = type;
    switch (type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        t->path = wire_rd_str(r);
        t->data = wire_rd_buf(r);
        if ((rc = rd_acls_into(r, t)) != 0)
            break;
        if (type == WIRE_OP_CREATE || type == WIRE_OP_CREATE2)
            t->ephemeral = wire_rd_bool(r);
        t->parent_cversion = wire_rd_i32(r);
        if (type == WIRE_OP_CREATETTL)
            t->ttl = wire_rd_i64(r);
        break;
    case WIRE_OP_DELETE:
    case WIRE_OP_DELETECONTAINER:
        t->path = wire_rd_str(r);
        break;
    case WIRE_OP_RECONFIG:
        /* ZooKeeper logs a reconfig as the SetDataTxn of /zookeeper/config
         * and applies it as one (DataTree.processTxn). */
        t->type = WIRE_OP_SETDATA;
        /* fall through */
    case WIRE_OP_SETDATA:
        t->path = wire_rd_str(r);
        t->data = wire_rd_buf(r);
        t->version = wire_rd_i32(r);
        break;
    case WIRE_OP_SETACL:
        t->path = wire_rd_str(r);
        if ((rc = rd_acls_into(r, t)) != 0)
            break;
        t->version = wire_rd_i32(r);
        break;
    case WIRE_OP_CHECK:
        t->path = wire_rd_str(r);
        t->version = wire_rd_i32(r);
        break;
    case WIRE_OP_CREATESESSION:
        t->timeout_ms = wire_rd_i32(r);
        break;
    case WIRE_OP_CLOSESESSION: {
        /* Logs written before 3.6 have no body here. */
        if (wire_rd_left(r) == 0)
            break;
        int32_t n = wire_rd_count(r, 4);
        if (r->err != 0 || n == 0)
            break;
        t->paths = calloc((size_t)n, sizeof *t->paths);
        if (t->paths == NULL) {
            rc = ZERR_NOMEM;
            break;
        }
        t->n_paths = n;
        for (int32_t i = 0; i < n; i++)
            t->paths[i] = wire_rd_str(r);
        break;
    }
    case WIRE_OP_ERROR:
        t->err = wire_rd_i32(r);
        break;
    case WIRE_OP_MULTI:
        rc = rd_multi(r, t);
        break;
    default:
        rc = ZERR_CORRUPT;
    }
    if (rc == 0)
        rc = r->err;
    if (rc != 0)
        wire_txn_fini(t);
    return rc;
}

void wire_txn_fini(wire_txn *t)
{
    for (int32_t i = 0; i < t->n_sub; i++)
        wire_txn_fini(&t->sub[i]);
    free(t->sub);
    free(t->acl);
    free(t->paths);
    t->sub = NULL;
    t->acl = NULL;
    t->paths = NULL;
    t->n_sub = t->n_acl = t->n_paths = 0;
}

int wire_txn_entry_digest(const uint8_t *p, size_t len, bool *has_digest, int32_t *version,
                          int64_t *digest)
{
    wire_rd r;
    wire_txn_hdr h;
    wire_txn t;
    wire_rd_init(&r, p, len, INT32_MAX);
    wire_txn_hdr_decode(&r, &h);
    if (r.err != 0)
        return r.err;
    int rc = wire_txn_body_decode(&r, h.type, &t);
    if (rc != 0)
        return rc;
    wire_txn_fini(&t);
    *has_digest = wire_rd_left(&r) == 12;
    if (*has_digest) {
        *version = wire_rd_i32(&r);
        *digest = wire_rd_i64(&r);
    }
    return 0;
}
