/*
 * quorum.c: the messages ZooKeeper 3.8 servers exchange with each other, on
 * the quorum port (QuorumPacket and the payloads in its data) and on the
 * election port (the initial connection message and fast leader election
 * notifications). The layouts are written out field by field in wire.h,
 * above the declarations; tests/unit/wire/test_quorum.cpp pins them with
 * bytes captured from a real 3.8 ensemble.
 *
 * A pure codec: no sockets, no clock, no state between calls. Deciding what
 * to send and when belongs to zab/; moving the bytes to server/.
 */
#include "wire/wire.h"

#include <string.h>

/* ---- QuorumPacket ------------------------------------------------------------ */

/* An Id is two length prefixes at least. */
enum { ID_MIN_LEN = 8 };

/* Skips one jute run (buffer or ustring) in p[*off..avail): 1 when whole,
 * 0 when more is needed, ZERR_TOOBIG for a bad length. */
static int skip_run(const uint8_t *p, size_t avail, size_t *off, int32_t max_len)
{
    if (avail - *off < 4)
        return 0;
    int32_t n = (int32_t)wire_get_be32(p + *off);
    *off += 4;
    if (n == -1)
        return 1;
    if (n < -1 || n > max_len)
        return ZERR_TOOBIG;
    if (avail - *off < (size_t)n)
        return 0;
    *off += (size_t)n;
    return 1;
}

int wire_qp_peek(const uint8_t *p, size_t avail, int32_t max_len, size_t *pkt_len)
{
    size_t off = 12; /* type, zxid */
    int rc;
    if (avail < off)
        return 0;
    if ((rc = skip_run(p, avail, &off, max_len)) != 1)
        return rc;
    if (avail - off < 4)
        return 0;
    int32_t n = (int32_t)wire_get_be32(p + off);
    off += 4;
    if (n < -1 || n > max_len)
        return ZERR_TOOBIG;
    for (int32_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if ((rc = skip_run(p, avail, &off, max_len)) != 1)
                return rc;
    *pkt_len = off;
    return 1;
}

int wire_qp_decode(wire_rd *r, wire_qp *out)
{
    wire_qp q;
    memset(&q, 0, sizeof q);
    q.type = wire_rd_i32(r);
    q.zxid = wire_rd_i64(r);
    q.data = wire_rd_buf(r);
    /* jute's startVector reads -1 as null; ZooKeeper would take other
     * negative counts as empty, we refuse them (wire_rd_count). */
    int32_t raw = r->err == 0 && wire_rd_left(r) >= 4 ? (int32_t)wire_get_be32(r->p + r->off) : 0;
    int32_t n = wire_rd_count(r, ID_MIN_LEN);
    if (r->err != 0)
        return r->err;
    q.n_auth = raw == -1 ? -1 : n;
    if (n > 0) {
        q.auth = calloc((size_t)n, sizeof *q.auth);
        if (q.auth == NULL)
            return ZERR_NOMEM;
        for (int32_t i = 0; i < n; i++) {
            q.auth[i].scheme = wire_rd_str(r);
            q.auth[i].id = wire_rd_str(r);
        }
        if (r->err != 0) {
            free(q.auth);
            return r->err;
        }
    }
    *out = q;
    return 0;
}

void wire_qp_encode(wire_wr *w, const wire_qp *q)
{
    wire_wr_i32(w, q->type);
    wire_wr_i64(w, q->zxid);
    wire_wr_buf(w, q->data);
    wire_wr_i32(w, q->n_auth < 0 ? -1 : q->n_auth);
    for (int32_t i = 0; i < q->n_auth; i++) {
        wire_wr_str(w, q->auth[i].scheme);
        wire_wr_str(w, q->auth[i].id);
    }
}

void wire_qp_fini(wire_qp *q)
{
    free(q->auth);
    q->auth = NULL;
    q->n_auth = -1;
}

/* ---- payloads -------------------------------------------------------------- */

/* A reader over a data buffer; null data reads as empty. Payload fields
 * carry no lengths of their own, so max_len does not matter here. */
static void rd_data(wire_rd *r, wire_buf data)
{
    wire_rd_init(r, data.p, data.len > 0 ? (size_t)data.len : 0, WIRE_MAXBUFFER_DEFAULT);
}

int wire_learner_info_decode(wire_buf data, wire_learner_info *out)
{
    wire_rd r;
    wire_learner_info li = {0, 0x1, 0, false, false};
    rd_data(&r, data);
    /* LearnerHandler.run takes each field only if the data reaches it. */
    li.server_id = wire_rd_i64(&r);
    if (r.err != 0)
        return r.err;
    if (wire_rd_left(&r) >= 4) {
        li.protocol_version = wire_rd_i32(&r);
        li.has_protocol_version = true;
    }
    if (wire_rd_left(&r) >= 8) {
        li.config_version = wire_rd_i64(&r);
        li.has_config_version = true;
    }
    *out = li;
    return 0;
}

void wire_learner_info_encode(wire_wr *w, const wire_learner_info *li)
{
    wire_wr_i64(w, li->server_id);
    wire_wr_i32(w, li->protocol_version);
    wire_wr_i64(w, li->config_version);
}

int wire_qp_data_i32(wire_buf data, int32_t *out)
{
    wire_rd r;
    rd_data(&r, data);
    int32_t v = wire_rd_i32(&r);
    if (r.err != 0)
        return r.err;
    *out = v;
    return 0;
}

int wire_qp_data_i64(wire_buf data, int64_t *out)
{
    wire_rd r;
    rd_data(&r, data);
    int64_t v = wire_rd_i64(&r);
    if (r.err != 0)
        return r.err;
    *out = v;
    return 0;
}

int wire_qp_request_decode(wire_buf data, wire_qp_request *out)
{
    wire_rd r;
    wire_qp_request q;
    rd_data(&r, data);
    q.session_id = wire_rd_i64(&r);
    q.cxid = wire_rd_i32(&r);
    q.type = wire_rd_i32(&r);
    if (r.err != 0)
        return r.err;
    q.record.p = data.p + r.off;
    q.record.len = (int32_t)wire_rd_left(&r);
    *out = q;
    return 0;
}

void wire_qp_request_encode(wire_wr *w, const wire_qp_request *q)
{
    wire_wr_i64(w, q->session_id);
    wire_wr_i32(w, q->cxid);
    wire_wr_i32(w, q->type);
    if (q->record.len > 0)
        wire_wr_raw(w, q->record.p, (size_t)q->record.len);
}

int wire_qp_txn_decode(int32_t type, wire_buf data, int32_t max_len, wire_qp_txn *out)
{
    wire_rd r;
    wire_qp_txn t;
    int rc;
    if (type != WIRE_QP_PROPOSAL && type != WIRE_QP_INFORM && type != WIRE_QP_INFORMANDACTIVATE)
        return ZERR_BADARGUMENTS;
    memset(&t, 0, sizeof t);
    wire_rd_init(&r, data.p, data.len > 0 ? (size_t)data.len : 0, max_len);
    if (type == WIRE_QP_INFORMANDACTIVATE)
        t.designated_leader = wire_rd_i64(&r);
    size_t start = r.off;
    wire_txn_hdr_decode(&r, &t.hdr);
    if (r.err != 0)
        return r.err;
    if ((rc = wire_txn_body_decode(&r, t.hdr.type, &t.txn)) != 0)
        return rc;
    /* Learner.syncWithLeader and FollowerZooKeeperServer log these bytes as
     * they are: anything but one TxnDigest after the body would make a log
     * entry that cannot be read back. */
    if (wire_rd_left(&r) == 12) {
        t.has_digest = true;
        t.digest_version = wire_rd_i32(&r);
        t.digest = wire_rd_i64(&r);
    } else if (wire_rd_left(&r) != 0) {
        wire_txn_fini(&t.txn);
        return ZERR_CORRUPT;
    }
    t.entry.p = data.p + start;
    t.entry.len = (int32_t)(r.off - start);
    *out = t;
    return 0;
}

void wire_qp_txn_fini(wire_qp_txn *t)
{
    wire_txn_fini(&t->txn);
}

void wire_qp_txn_encode(wire_wr *w, int32_t type, const wire_qp_txn *t)
{
    if (type == WIRE_QP_INFORMANDACTIVATE)
        wire_wr_i64(w, t->designated_leader);
    wire_txn_hdr_encode(w, &t->hdr);
    wire_txn_body_encode(w, &t->txn);
    if (t->has_digest) {
        wire_wr_i32(w, t->digest_version);
        wire_wr_i64(w, t->digest);
    }
}

int wire_qp_touch_count(wire_buf data)
{
    if (data.len <= 0)
        return 0;
    if (data.len % WIRE_QP_TOUCH_LEN != 0)
        return ZERR_SHORT;
    return data.len / WIRE_QP_TOUCH_LEN;
}

wire_qp_touch wire_qp_touch_get(wire_buf data, int32_t i)
{
    ZK_ASSERT(i >= 0 && i < wire_qp_touch_count(data), "touch %d of %d bytes", (int)i,
              (int)data.len);
    const uint8_t *p = data.p + (size_t)i * WIRE_QP_TOUCH_LEN;
    wire_qp_touch t = {(int64_t)wire_get_be64(p), (int32_t)wire_get_be32(p + 8)};
    return t;
}

void wire_qp_touch_encode(wire_wr *w, int64_t session_id, int32_t timeout_ms)
{
    wire_wr_i64(w, session_id);
    wire_wr_i32(w, timeout_ms);
}

int wire_qp_revalidate_req_decode(wire_buf data, int64_t *session_id, int32_t *timeout_ms)
{
    wire_rd r;
    rd_data(&r, data);
    int64_t id = wire_rd_i64(&r);
    int32_t to = wire_rd_i32(&r);
    if (r.err != 0)
        return r.err;
    *session_id = id;
    *timeout_ms = to;
    return 0;
}

void wire_qp_revalidate_req_encode(wire_wr *w, int64_t session_id, int32_t timeout_ms)
{
    wire_wr_i64(w, session_id);
    wire_wr_i32(w, timeout_ms);
}

int wire_qp_revalidate_resp_decode(wire_buf data, int64_t *session_id, bool *is_valid)
{
    wire_rd r;
    rd_data(&r, data);
    int64_t id = wire_rd_i64(&r);
    bool ok = wire_rd_bool(&r);
    if (r.err != 0)
        return r.err;
    *session_id = id;
    *is_valid = ok;
    return 0;
}

void wire_qp_revalidate_resp_encode(wire_wr *w, int64_t session_id, bool is_valid)
{
    wire_wr_i64(w, session_id);
    wire_wr_bool(w, is_valid);
}

/* ---- election port ----------------------------------------------------------- */

/* One "host:port" or "[host]:port" of the initial message, as
 * ConfigUtils.getHostAndPort splits it: without brackets exactly one ':'.
 * The port must be a decimal 0..65535 (InetSocketAddress refuses more). */
static bool addr_ok(const char *s, size_t n)
{
    size_t colon;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return false;
        colon = (size_t)(close - s) + 1;
        if (colon >= n || s[colon] != ':')
            return false;
        if (memchr(s + colon + 1, ':', n - colon - 1) != NULL)
            return false;
    } else {
        const char *c = memchr(s, ':', n);
        if (c == NULL)
            return false;
        colon = (size_t)(c - s);
        if (memchr(s + colon + 1, ':', n - colon - 1) != NULL)
            return false;
    }
    size_t digits = n - colon - 1;
    if (digits == 0 || digits > 5)
        return false;
    uint32_t port = 0;
    for (size_t i = colon + 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        port = port * 10 + (uint32_t)(s[i] - '0');
    }
    return port <= 65535;
}

static bool addr_list_ok(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '|') {
            if (!addr_ok(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

int wire_el_init_decode(const uint8_t *p, size_t avail, wire_el_init *out, size_t *used)
{
    wire_el_init m;
    if (avail < 8)
        return 0;
    int64_t first = (int64_t)wire_get_be64(p);
    if (first >= 0) {
        /* Before 3.5 (ZOOKEEPER-107) a peer sent its sid alone. */
        m.protocol_version = 0;
        m.sid = first;
        m.addr.p = NULL;
        m.addr.len = 0;
        *out = m;
        *used = 8;
        return 1;
    }
    if (first != WIRE_EL_PROTOCOL_V1 && first != WIRE_EL_PROTOCOL_V2)
        return ZERR_MARSHALLINGERROR;
    if (avail < 20)
        return 0;
    int32_t n = (int32_t)wire_get_be32(p + 16);
    if (n <= 0 || n > WIRE_EL_ADDR_MAX)
        return ZERR_TOOBIG;
    if (avail - 20 < (size_t)n)
        return 0;
    if (!addr_list_ok((const char *)p + 20, (size_t)n))
        return ZERR_MARSHALLINGERROR;
    m.protocol_version = first;
    m.sid = (int64_t)wire_get_be64(p + 8);
    m.addr.p = (const char *)p + 20;
    m.addr.len = n;
    *out = m;
    *used = 20 + (size_t)n;
    return 1;
}

void wire_el_init_encode(wire_wr *w, const wire_el_init *m)
{
    if (m->protocol_version >= 0) {
        wire_wr_i64(w, m->sid);
        return;
    }
    wire_wr_i64(w, m->protocol_version);
    wire_wr_i64(w, m->sid);
    wire_wr_str(w, m->addr);
}

int wire_el_frame_peek(const uint8_t *p, size_t avail, int32_t *body_len)
{
    if (avail < 4)
        return 0;
    int32_t len = (int32_t)wire_get_be32(p);
    /* QuorumCnxManager.RecvWorker: length <= 0 or > PACKETMAXSIZE closes. */
    if (len <= 0 || len > WIRE_EL_PACKET_MAX)
        return ZERR_TOOBIG;
    if (avail - 4 < (size_t)len)
        return 0;
    *body_len = len;
    return 1;
}

int wire_el_notif_decode(const uint8_t *body, size_t len, wire_el_notif *out)
{
    wire_rd r;
    wire_el_notif n;
    memset(&n, 0, sizeof n);
    n.config.len = -1;
    /* FastLeaderElection's receiver: under 28 bytes is refused; exactly 28
     * lacks peerEpoch, exactly 40 is taken to lack the version; any other
     * length must reach past the version (offset 36), else its ByteBuffer
     * underflows. */
    if (len < 28)
        return ZERR_SHORT;
    wire_rd_init(&r, body, len, WIRE_EL_PACKET_MAX);
    n.state = wire_rd_i32(&r);
    n.leader = wire_rd_i64(&r);
    n.zxid = wire_rd_i64(&r);
    n.election_epoch = wire_rd_i64(&r);
    if (len == 28) {
        n.peer_epoch = (int64_t)((uint64_t)n.zxid >> 32);
    } else {
        n.peer_epoch = wire_rd_i64(&r);
        if (len != 40)
            n.version = wire_rd_i32(&r);
    }
    if (r.err == 0 && n.version > 1) {
        int32_t clen = wire_rd_i32(&r);
        if (r.err != 0)
            return r.err;
        if (clen < 0 || (size_t)clen > len)
            return ZERR_TOOBIG;
        if ((size_t)clen > wire_rd_left(&r))
            return ZERR_SHORT;
        n.config.p = body + r.off;
        n.config.len = clen;
    }
    if (r.err != 0)
        return r.err;
    if (n.state < WIRE_EL_LOOKING || n.state > WIRE_EL_OBSERVING)
        return ZERR_MARSHALLINGERROR;
    *out = n;
    return 0;
}

void wire_el_notif_encode(wire_wr *w, const wire_el_notif *n)
{
    size_t at = w->len;
    wire_wr_i32(w, 0); /* the frame length, patched below */
    wire_wr_i32(w, n->state);
    wire_wr_i64(w, n->leader);
    wire_wr_i64(w, n->zxid);
    wire_wr_i64(w, n->election_epoch);
    wire_wr_i64(w, n->peer_epoch);
    wire_wr_i32(w, n->version);
    if (n->version > 1) {
        int32_t clen = n->config.len > 0 ? n->config.len : 0;
        wire_wr_i32(w, clen);
        if (clen > 0)
            wire_wr_raw(w, n->config.p, (size_t)clen);
    }
    wire_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
}
