/*
 * fuzz_decoders.c: one entry point that feeds arbitrary bytes to every
 * decoder that reads untrusted input: the connect handshake, write requests
 * of every type, multi and multiRead, txn headers and bodies (the log is
 * untrusted too), and snapshots. The first byte picks the decoder.
 *
 * Built as a libFuzzer target with clang (-DZABD_FUZZ=ON), and always as
 * fuzz_replay, which runs the corpus in tests/fuzz/corpus as an ordinary
 * test so the sanitizer build covers it.
 */
#include "fuzz_decoders.h"

#include "wire/wire.h"
#include "znode-tree/zt.h"

static int count_session(void *arg, int64_t id, int32_t timeout_ms)
{
    (void)arg;
    (void)id;
    (void)timeout_ms;
    return 0;
}

static void write_req(const uint8_t *p, size_t n)
{
    static const int32_t types[] = {WIRE_OP_CREATE,  WIRE_OP_CREATE2, WIRE_OP_CREATECONTAINER,
                                    WIRE_OP_CREATETTL, WIRE_OP_DELETE, WIRE_OP_SETDATA,
                                    WIRE_OP_SETACL,  WIRE_OP_CHECK};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        wire_rd r;
        wire_rd_init(&r, p, n, WIRE_MAXBUFFER_DEFAULT);
        wire_write_req q;
        if (wire_write_req_decode(&r, types[i], &q) == 0) {
            (void)zt_path_validate(q.path);
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

int zabd_fuzz_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
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
        if (wire_multi_req_decode(&r, data[0] % 6 == 3, &m) == 0)
            wire_multi_req_fini(&m);
        break;
    }
    case 4:
        txn(p, n);
        break;
    default: {
        zt_tree *t = NULL;
        if (zt_snapshot_decode(p, n, WIRE_MAXBUFFER_DEFAULT, count_session, NULL, &t) == 0)
            zt_free(t);
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
