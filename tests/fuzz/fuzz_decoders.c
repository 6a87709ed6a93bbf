/*
 * fuzz_decoders.c: one entry point that feeds arbitrary bytes to every
 * decoder that reads untrusted input: the connect handshake, write requests
 * of every type, multi and multiRead, txn headers and bodies (the log is
 * untrusted too), snapshots, and Apache ZooKeeper's own files: a whole
 * snapshot file (framing, then its DataTree) and a whole txn log file
 * (header, entries, each entry's txn and TxnDigest). The first byte picks
 * the decoder: 0xF6 a snapshot file, 0xF7 a log file, else its value mod 6.
 *
 * Past decoding it checks invariants that ZK_ASSERT turns into crashes:
 * a decoded write request or multi, prepped on a fresh tree, yields a txn
 * that decodes and applies; a decodable txn applies to a fresh tree; a
 * decoded snapshot re-encodes into one that decodes to as many nodes.
 *
 * Two more parsers of untrusted text, picked by a first byte no older
 * corpus entry starts with: 'S' feeds a SASL DIGEST-MD5 exchange (the
 * challenge, then the bytes as the client's response, then once more),
 * 'J' the JAAS file parser, 'Q' a quorum-port stream (QuorumPacket records
 * back to back and the payload decoders for each type), 'E' an election-port
 * stream (the initial message, then framed notifications).
 *
 * Built as a libFuzzer target with clang (-DZABD_FUZZ=ON), and always as
 * fuzz_replay, which runs the corpus in tests/fuzz/corpus as an ordinary
 * test so the sanitizer build covers it.
 */
#include "fuzz_decoders.h"

#include "server/jaas.h"
#include "server/sasl.h"
#include "storage/stor.h"
#include "wire/wire.h"
#include "znode-tree/zt.h"

#include <string.h>
#include <unistd.h>

static int count_session(void *arg, int64_t id, int32_t timeout_ms)
{
    (void)arg;
    (void)id;
    (void)timeout_ms;
    return 0;
}

/* Applies the txn prep wrote: it must decode and apply without ZERR_CORRUPT,
 * since nothing unreadable may enter the log. */
static void apply_prepped(zt_tree *t, const wire_wr *w)
{
    wire_rd r;
    wire_rd_init(&r, w->p, w->len, INT32_MAX);
    wire_txn_hdr h;
    wire_txn_hdr_decode(&r, &h);
    wire_txn x;
    int rc = wire_rd_err(&r) != 0 ? wire_rd_err(&r) : wire_txn_body_decode(&r, h.type, &x);
    ZK_ASSERT(rc == 0 && wire_rd_left(&r) == 0, "prep wrote an undecodable txn: %d", rc);
    zt_out out;
    zt_out_init(&out);
    rc = zt_apply(t, &h, &x, &out);
    ZK_ASSERT(rc == 0 || rc == ZERR_NOMEM, "a prepped txn did not apply: %d", rc);
    zt_out_fini(&out);
    wire_txn_fini(&x);
}

/* Runs a decoded request (or multi) through prep and apply on a fresh tree,
 * as an authenticated digest user with TTL nodes enabled. */
static void prep_and_apply(const wire_write_req *q, const wire_multi_req *m)
{
    static const wire_acl ids[] = {{0, {"ip", 2}, {"127.0.0.1", 9}},
                                   {0, {"digest", 6}, {"u:h", 3}}};
    zt_auth auth = {ids, 2, false, true, NULL};
    zt_prep_ctx c = {0x100, 1, 1, 1000, &auth, true, false, NULL};
    zt_tree *t = zt_new();
    wire_wr w;
    wire_wr_init(&w);
    int rc = t == NULL   ? ZERR_NOMEM
             : q != NULL ? zt_prep(t, &c, q, &w)
                         : zt_prep_multi(t, &c, m, &w);
    if (rc != ZERR_NOMEM)
        apply_prepped(t, &w);
    wire_wr_fini(&w);
    zt_free(t);
}

static int collect(void *arg, const void *p, size_t n)
{
    wire_wr_raw(arg, p, n);
    return 0;
}

static void write_req(const uint8_t *p, size_t n)
{
    static const int32_t types[] = {WIRE_OP_CREATE,    WIRE_OP_CREATE2, WIRE_OP_CREATECONTAINER,
                                    WIRE_OP_CREATETTL, WIRE_OP_DELETE,  WIRE_OP_SETDATA,
                                    WIRE_OP_SETACL,    WIRE_OP_CHECK};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        wire_rd r;
        wire_rd_init(&r, p, n, WIRE_MAXBUFFER_DEFAULT);
        wire_write_req q;
        if (wire_write_req_decode(&r, types[i], &q) == 0) {
            (void)zt_path_validate(q.path);
            prep_and_apply(&q, NULL);
            wire_write_req_fini(&q);
        }
    }
}

static void txn(const uint8_t *p, size_t n)
{
    wire_rd r;
    wire_rd_init(&r, p, n, WIRE_MAXBUFFER_DEFAULT);
    wire_txn_hdr h;
    wire_txn_hdr_decode(&r, &h);
    wire_txn t;
    if (wire_rd_err(&r) == 0 && wire_txn_body_decode(&r, h.type, &t) == 0) {
        /* A decodable txn must apply (or fail cleanly) on a fresh tree. */
        zt_tree *tree = zt_new();
        zt_out out;
        zt_out_init(&out);
        if (tree != NULL)
            (void)zt_apply(tree, &h, &t, &out);
        zt_out_fini(&out);
        zt_free(tree);
        wire_txn_fini(&t);
    }
}

/* A ZooKeeper snapshot file: if the framing holds, the body must decode or
 * be refused cleanly, and a decoded tree's incremental digest must equal
 * its recomputed one. */
static void zk_snapfile(const uint8_t *p, size_t n)
{
    stor_snapfile sf;
    char why[128];
    if (stor_snapfile_parse(p, n, &sf, why, sizeof why) != 0)
        return;
    zt_tree *t = NULL;
    if (zt_snapshot_decode(sf.body, sf.body_len, WIRE_MAXBUFFER_DEFAULT, sf.digest.zxid,
                           count_session, NULL, &t) == 0) {
        ZK_ASSERT(zt_digest(t) == zt_digest_recompute(t), "digest drifted on a snapshot load");
        zt_free(t);
    }
}

/* A ZooKeeper txn log file: every entry the reader hands out is applied
 * to one tree, in order, as recovery would, and the digest stays equal to
 * a recomputed one. */
static void zk_logfile(const uint8_t *p, size_t n)
{
    int32_t version;
    int64_t dbid;
    if (stor_zklog_header(p, n, &version, &dbid) != 0)
        return;
    zt_tree *tree = zt_new();
    zt_out out;
    zt_out_init(&out);
    size_t off = 16;
    stor_zklog_entry e;
    bool torn;
    while (tree != NULL && stor_zklog_next(p, n, &off, WIRE_MAXBUFFER_DEFAULT, &e, &torn) == 1) {
        bool has;
        int64_t digest;
        (void)wire_txn_entry_digest(e.txn, e.len, &has, &version, &digest);
        wire_rd r;
        wire_rd_init(&r, e.txn, e.len, WIRE_MAXBUFFER_DEFAULT);
        wire_txn_hdr h;
        wire_txn_hdr_decode(&r, &h);
        wire_txn t;
        if (wire_rd_err(&r) != 0 || wire_txn_body_decode(&r, h.type, &t) != 0)
            continue;
        zt_out_reset(&out);
        (void)zt_apply(tree, &h, &t, &out);
        wire_txn_fini(&t);
        ZK_ASSERT(zt_digest(tree) == zt_digest_recompute(tree), "digest drifted in a replay");
    }
    zt_out_fini(&out);
    zt_free(tree);
}

/* The user table a JAAS file makes, built once. */
static const srv_sasl *fuzz_users(void)
{
    static srv_sasl *s;
    static const char text[] = "Server { org.apache.zookeeper.server.auth.DigestLoginModule "
                               "required user_bob=\"bobsecret\" user_super=\"s\"; };";
    if (s == NULL) {
        char path[] = "/tmp/zabd-fuzz-jaas.XXXXXX", warn[256], err[256];
        int fd = mkstemp(path);
        ZK_ASSERT(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1),
                  "cannot write %s", path);
        close(fd);
        srv_sasl_opts o = {path, "Server", NULL, false, false};
        int rc = srv_sasl_new(&o, &s, warn, sizeof warn, err, sizeof err);
        unlink(path);
        ZK_ASSERT(rc == 0 && s != NULL, "fuzz JAAS set-up: %s", err);
    }
    return s;
}

static void sasl_exchange(const uint8_t *p, size_t n)
{
    static const char nonce[] = "69WPWIhXh05HsUBvgO84SAwQV8wDWAqcv9314Zb8";
    srv_sasl_conn *x = srv_sasl_conn_new();
    if (x == NULL)
        return;
    uint8_t out[SRV_SASL_TOKEN_CAP];
    size_t len;
    ZK_ASSERT(srv_sasl_step(fuzz_users(), x, NULL, 0, nonce, out, &len) == SRV_SASL_CONTINUE,
              "no challenge");
    for (int i = 0; i < 2; i++) {
        enum srv_sasl_result r = srv_sasl_step(fuzz_users(), x, p, n, nonce, out, &len);
        ZK_ASSERT(len <= SRV_SASL_TOKEN_CAP && (r != SRV_SASL_DONE || i == 0),
                  "a second response authenticated");
        /* Guessing the digest is not expected: a success must name bob or super. */
        ZK_ASSERT(r != SRV_SASL_DONE || strcmp(srv_sasl_conn_id(x), "bob") == 0 ||
                      strcmp(srv_sasl_conn_id(x), "super") == 0,
                  "authenticated as '%s'", srv_sasl_conn_id(x));
    }
    srv_sasl_conn_free(x);
}

static void jaas(const uint8_t *p, size_t n)
{
    srv_jaas *j = NULL;
    char err[256];
    if (srv_jaas_parse((const char *)p, n, "fuzz", &j, err, sizeof err) == 0) {
        int sec = srv_jaas_section(j, "Server");
        for (int m = 0; sec >= 0 && m < srv_jaas_n_modules(j, sec); m++)
            for (int i = 0; i < srv_jaas_n_options(j, sec, m); i++) {
                const char *k, *v;
                srv_jaas_option(j, sec, m, i, &k, &v);
                ZK_ASSERT(k != NULL && v != NULL, "an option without key or value");
            }
        srv_jaas_free(j);
    } else {
        ZK_ASSERT(j == NULL && strncmp(err, "fuzz", 4) == 0, "an error that names no input: %s",
                  err);
    }
}

/* A quorum-port stream: peek and decode must agree on every packet, and a
 * decoded packet encodes back to its bytes. */
static void quorum_stream(const uint8_t *p, size_t n)
{
    const int32_t max_len = 2 * WIRE_MAXBUFFER_DEFAULT;
    for (int k = 0; k < 64 && n > 0; k++) {
        size_t len = 0;
        int rc = wire_qp_peek(p, n, max_len, &len);
        wire_rd r;
        wire_qp q;
        wire_rd_init(&r, p, n, max_len);
        int drc = wire_qp_decode(&r, &q);
        if (rc != 1) {
            ZK_ASSERT(drc != 0, "decoded a packet peek refused (%d)", rc);
            return;
        }
        if (drc != 0) {
            ZK_ASSERT(drc == ZERR_NOMEM, "peek took a packet decode refused: %d", drc);
            return;
        }
        ZK_ASSERT(r.off == len, "peek said %zu bytes, decode took %zu", len, r.off);
        wire_wr w;
        wire_wr_init(&w);
        wire_qp_encode(&w, &q);
        ZK_ASSERT(wire_wr_err(&w) != 0 || (w.len == len && memcmp(w.p, p, len) == 0),
                  "a packet did not re-encode to its bytes");
        wire_wr_fini(&w);
        wire_learner_info li;
        wire_qp_request rq;
        wire_qp_txn t;
        int32_t i32;
        int64_t i64;
        bool b;
        (void)wire_learner_info_decode(q.data, &li);
        (void)wire_qp_data_i32(q.data, &i32);
        (void)wire_qp_data_i64(q.data, &i64);
        (void)wire_qp_request_decode(q.data, &rq);
        (void)wire_qp_revalidate_req_decode(q.data, &i64, &i32);
        (void)wire_qp_revalidate_resp_decode(q.data, &i64, &b);
        int nt = wire_qp_touch_count(q.data);
        for (int32_t i = 0; i < nt; i++)
            (void)wire_qp_touch_get(q.data, i);
        if (wire_qp_txn_decode(q.type, q.data, max_len, &t) == 0)
            wire_qp_txn_fini(&t);
        wire_qp_fini(&q);
        p += len;
        n -= len;
    }
}

/* An election-port stream: the initial message, then notification frames. */
static void election_stream(const uint8_t *p, size_t n)
{
    wire_el_init m;
    size_t used = 0;
    if (wire_el_init_decode(p, n, &m, &used) != 1)
        return;
    ZK_ASSERT(used <= n, "the initial message took %zu of %zu bytes", used, n);
    p += used;
    n -= used;
    for (int k = 0; k < 64; k++) {
        int32_t body = 0;
        if (wire_el_frame_peek(p, n, &body) != 1)
            return;
        wire_el_notif nt;
        if (wire_el_notif_decode(p + 4, (size_t)body, &nt) == 0 && nt.version > 1) {
            /* The 3.8 form re-encodes to the frame's bytes up to the config's end. */
            wire_wr w;
            wire_wr_init(&w);
            wire_el_notif_encode(&w, &nt);
            ZK_ASSERT(wire_wr_err(&w) != 0 ||
                          (w.len <= 4 + (size_t)body && memcmp(w.p + 4, p + 4, w.len - 4) == 0),
                      "a notification did not re-encode to its bytes");
            wire_wr_fini(&w);
        }
        p += 4 + (size_t)body;
        n -= 4 + (size_t)body;
    }
}

int zabd_fuzz_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] == 0xF6) {
        zk_snapfile(p, n);
        return 0;
    }
    if (data[0] == 0xF7) {
        zk_logfile(p, n);
        return 0;
    }
    if (data[0] == 'S') {
        sasl_exchange(p, n);
        return 0;
    }
    if (data[0] == 'J') {
        jaas(p, n);
        return 0;
    }
    if (data[0] == 'Q') {
        quorum_stream(p, n);
        return 0;
    }
    if (data[0] == 'E') {
        election_stream(p, n);
        return 0;
    }
    wire_rd r;
    wire_rd_init(&r, p, n, WIRE_MAXBUFFER_DEFAULT);
    switch (data[0] % 6) {
    case 0: {
        wire_connect_req q;
        (void)wire_connect_req_decode(&r, &q);
        break;
    }
    case 1:
        write_req(p, n);
        break;
    case 2:
    case 3: {
        wire_multi_req m;
        bool is_read = data[0] % 6 == 3;
        if (wire_multi_req_decode(&r, is_read, &m) == 0) {
            if (!is_read)
                prep_and_apply(NULL, &m);
            wire_multi_req_fini(&m);
        }
        break;
    }
    case 4:
        txn(p, n);
        break;
    default: {
        zt_tree *t = NULL;
        if (zt_snapshot_decode(p, n, WIRE_MAXBUFFER_DEFAULT, 1, count_session, NULL, &t) == 0) {
            /* Whatever decoded must encode and decode again to as many nodes. */
            wire_wr w;
            wire_wr_init(&w);
            zt_tree *again = NULL;
            if (zt_snapshot_encode(t, NULL, 0, collect, &w) == 0 && wire_wr_err(&w) == 0) {
                int rc = zt_snapshot_decode(w.p, w.len, WIRE_MAXBUFFER_DEFAULT, 1, count_session,
                                            NULL, &again);
                ZK_ASSERT(rc == 0 || rc == ZERR_NOMEM, "a re-encoded snapshot is corrupt: %d", rc);
                ZK_ASSERT(again == NULL || zt_node_count(again) == zt_node_count(t),
                          "a snapshot round trip lost nodes");
            }
            zt_free(again);
            wire_wr_fini(&w);
            zt_free(t);
        }
        break;
    }
    }
    return 0;
}

#ifdef ZABD_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return zabd_fuzz_one(data, size);
}
#endif
