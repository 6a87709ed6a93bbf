/*
 * records.c: client request records that more than one module needs decoded:
 * the connect handshake, the write requests (the input of prep) and multi.
 *
 *   ConnectRequest  { int protocolVersion; long lastZxidSeen; int timeOut;
 *                     long sessionId; buffer passwd; [boolean readOnly] }
 *   ConnectResponse { int protocolVersion; int timeOut; long sessionId;
 *                     buffer passwd; [boolean readOnly] }
 *   CreateRequest   { ustring path; buffer data; vector<ACL> acl; int flags; }
 *   CreateTTLRequest{ ...CreateRequest; long ttl; }
 *   DeleteRequest   { ustring path; int version; }
 *   SetDataRequest  { ustring path; buffer data; int version; }
 *   SetACLRequest   { ustring path; vector<ACL> acl; int version; }
 *   CheckVersionRequest { ustring path; int version; }
 *   ACL { int perms; Id { ustring scheme; ustring id; } }
 *   multi: repeated { MultiHeader { int type; boolean done; int err; } record }
 *          ended by a header with done = true.
 *
 * Read requests are decoded where they are served (server/), since only the
 * server needs them.
 */
#include "wire/wire.h"

#include <string.h>

int wire_connect_req_decode(wire_rd *r, wire_connect_req *out)
{
    memset(out, 0, sizeof *out);
    out->protocol_version = wire_rd_i32(r);
    out->last_zxid_seen = wire_rd_i64(r);
    out->timeout_ms = wire_rd_i32(r);
    out->session_id = wire_rd_i64(r);
    out->passwd = wire_rd_buf(r);
    /* Clients before 3.4 stop here; ZooKeeper treats them as "old clients"
     * and leaves the readOnly byte out of its answer too. */
    if (r->err == 0 && wire_rd_left(r) >= 1) {
        out->has_read_only = true;
        out->read_only = wire_rd_bool(r);
    }
    return r->err;
}

void wire_connect_resp_encode(wire_wr *w, int32_t timeout_ms, int64_t session_id,
                              const uint8_t *passwd, int32_t passwd_len, bool with_read_only)
{
    wire_buf pw = {passwd, passwd_len};
    wire_wr_i32(w, 0);
    wire_wr_i32(w, timeout_ms);
    wire_wr_i64(w, session_id);
    wire_wr_buf(w, pw);
    if (with_read_only)
        wire_wr_bool(w, false);
}

/* Allocates and fills an ACL vector. An ACL is at least 12 bytes (perms and
 * two length prefixes), which bounds the count by the frame. */
static int rd_acls(wire_rd *r, wire_acl **out, int32_t *n_out)
{
    int32_t n = wire_rd_count(r, 12);
    *out = NULL;
    *n_out = 0;
    if (r->err != 0)
        return r->err;
    if (n == 0)
        return 0;
    wire_acl *acl = calloc((size_t)n, sizeof *acl);
    if (acl == NULL)
        return ZERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        acl[i].perms = wire_rd_i32(r);
        acl[i].scheme = wire_rd_str(r);
        acl[i].id = wire_rd_str(r);
    }
    if (r->err != 0) {
        free(acl);
        return r->err;
    }
    *out = acl;
    *n_out = n;
    return 0;
}

bool wire_op_is_write(int32_t type)
{
    switch (type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
    case WIRE_OP_DELETE:
    case WIRE_OP_SETDATA:
    case WIRE_OP_SETACL:
    case WIRE_OP_CHECK:
        return true;
    default:
        return false;
    }
}

int wire_write_req_decode(wire_rd *r, int32_t type, wire_write_req *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->type = type;
    out->version = -1;
    switch (type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        out->path = wire_rd_str(r);
        out->data = wire_rd_buf(r);
        if ((rc = rd_acls(r, &out->acl, &out->n_acl)) != 0)
            return rc;
        out->flags = wire_rd_i32(r);
        if (type == WIRE_OP_CREATETTL)
            out->ttl = wire_rd_i64(r);
        break;
    case WIRE_OP_DELETE:
    case WIRE_OP_CHECK:
        out->path = wire_rd_str(r);
        out->version = wire_rd_i32(r);
        break;
    case WIRE_OP_SETDATA:
        out->path = wire_rd_str(r);
        out->data = wire_rd_buf(r);
        out->version = wire_rd_i32(r);
        break;
    case WIRE_OP_SETACL:
        out->path = wire_rd_str(r);
        if ((rc = rd_acls(r, &out->acl, &out->n_acl)) != 0)
            return rc;
        out->version = wire_rd_i32(r);
        break;
    default:
        return ZERR_UNIMPLEMENTED;
    }
    if (r->err != 0) {
        wire_write_req_fini(out);
        return r->err;
    }
    return 0;
}

void wire_write_req_fini(wire_write_req *q)
{
    free(q->acl);
    q->acl = NULL;
    q->n_acl = 0;
}

int wire_multi_req_decode(wire_rd *r, bool is_read, wire_multi_req *out)
{
    int rc = 0;
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    for (;;) {
        int32_t type = wire_rd_i32(r);
        bool done = wire_rd_bool(r);
        (void)wire_rd_i32(r); /* err: meaningful in responses only */
        if ((rc = r->err) != 0)
            goto fail;
        if (done)
            break;
        if ((rc = wire_reserve((void **)&out->ops, &cap, (size_t)out->n_ops, sizeof *out->ops)) !=
            0)
            goto fail;
        wire_write_req *op = &out->ops[out->n_ops];
        if (is_read) {
            /* multiRead carries GetDataRequest / GetChildrenRequest:
             * { ustring path; boolean watch; } */
            if (type != WIRE_OP_GETDATA && type != WIRE_OP_GETCHILDREN) {
                rc = ZERR_MARSHALLINGERROR;
                goto fail;
            }
            memset(op, 0, sizeof *op);
            op->type = type;
            op->path = wire_rd_str(r);
            (void)wire_rd_bool(r);
            rc = r->err;
        } else {
            /* MultiOperationRecord knows no setACL sub-op. */
            if (!wire_op_is_write(type) || type == WIRE_OP_SETACL) {
                rc = ZERR_MARSHALLINGERROR;
                goto fail;
            }
            rc = wire_write_req_decode(r, type, op);
        }
        if (rc != 0)
            goto fail;
        out->n_ops++;
    }
    return 0;
fail:
    wire_multi_req_fini(out);
    return rc;
}

void wire_multi_req_fini(wire_multi_req *m)
{
    for (int32_t i = 0; i < m->n_ops; i++)
        wire_write_req_fini(&m->ops[i]);
    free(m->ops);
    m->ops = NULL;
    m->n_ops = 0;
}
