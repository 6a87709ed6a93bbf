// Txn records: every type round-trips byte for byte, and no truncation of a
// valid txn decodes.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <string.h>
#include <string>

static const wire_acl k_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}},
                                 {WIRE_PERM_READ, {"ip", 2}, {"10.0.0.0/8", 10}}};

static wire_txn sample(int32_t type)
{
    static const uint8_t data[] = {1, 2, 3};
    static wire_str paths[] = {{"/e1", 3}, {"/e2", 3}};
    wire_txn t;
    memset(&t, 0, sizeof t);
    t.type = type;
    t.path = wire_str_c("/x/y");
    t.data.p = data;
    t.data.len = 3;
    t.acl = (wire_acl *)k_acl;
    t.n_acl = 2;
    t.ephemeral = true;
    t.parent_cversion = 9;
    t.ttl = 5000;
    t.version = 4;
    t.err = ZERR_NONODE;
    t.timeout_ms = 30000;
    if (type == WIRE_OP_CLOSESESSION) {
        t.paths = paths;
        t.n_paths = 2;
    }
    return t;
}

static void encode(wire_wr *w, const wire_txn *t)
{
    wire_txn_hdr h = {0x0100000000000001LL, 7, 0x42, 1700000000000LL, t->type};
    wire_txn_hdr_encode(w, &h);
    wire_txn_body_encode(w, t);
}

TEST_GROUP(WireTxn){};

TEST(WireTxn, EveryTypeRoundTripsByteForByte)
{
    const int32_t types[] = {WIRE_OP_CREATE,        WIRE_OP_CREATE2,      WIRE_OP_CREATECONTAINER,
                             WIRE_OP_CREATETTL,     WIRE_OP_DELETE,       WIRE_OP_DELETECONTAINER,
                             WIRE_OP_SETDATA,       WIRE_OP_SETACL,       WIRE_OP_CHECK,
                             WIRE_OP_CREATESESSION, WIRE_OP_CLOSESESSION, WIRE_OP_ERROR};
    for (int32_t type : types) {
        wire_txn t = sample(type);
        wire_wr a, b;
        wire_wr_init(&a);
        wire_wr_init(&b);
        encode(&a, &t);
        wire_rd r;
        wire_rd_init(&r, a.p, a.len, 1000);
        wire_txn_hdr h;
        wire_txn_hdr_decode(&r, &h);
        LONGS_EQUAL(type, h.type);
        CHECK(h.zxid == 0x42);
        wire_txn d;
        LONGS_EQUAL(0, wire_txn_body_decode(&r, h.type, &d));
        LONGS_EQUAL(0, wire_rd_left(&r));
        encode(&b, &d);
        LONGS_EQUAL(a.len, b.len);
        MEMCMP_EQUAL(a.p, b.p, a.len);
        wire_txn_fini(&d);
        wire_wr_fini(&a);
        wire_wr_fini(&b);
    }
}

TEST(WireTxn, MultiNestsBodiesAndRoundTrips)
{
    wire_txn subs[3] = {sample(WIRE_OP_CREATE), sample(WIRE_OP_SETDATA), sample(WIRE_OP_ERROR)};
    wire_txn m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_OP_MULTI;
    m.sub = subs;
    m.n_sub = 3;
    wire_wr a;
    wire_wr_init(&a);
    encode(&a, &m);
    wire_rd r;
    wire_rd_init(&r, a.p, a.len, 1000);
    wire_txn_hdr h;
    wire_txn_hdr_decode(&r, &h);
    wire_txn d;
    LONGS_EQUAL(0, wire_txn_body_decode(&r, h.type, &d));
    LONGS_EQUAL(3, d.n_sub);
    LONGS_EQUAL(WIRE_OP_SETDATA, d.sub[1].type);
    LONGS_EQUAL(4, d.sub[1].version);
    LONGS_EQUAL(ZERR_NONODE, d.sub[2].err);
    CHECK_TRUE(wire_str_eqc(d.sub[0].path, "/x/y"));
    // every truncation fails without leaking (ASan checks the leaks)
    for (size_t n = 0; n + 1 < a.len; n++) {
        wire_rd t;
        wire_rd_init(&t, a.p, n, 1000);
        wire_txn_hdr th;
        wire_txn_hdr_decode(&t, &th);
        wire_txn x;
        if (wire_rd_err(&t) == 0)
            CHECK_TEXT(wire_txn_body_decode(&t, th.type, &x) != 0 || wire_rd_left(&t) != 0,
                       "a truncated multi decoded");
    }
    wire_txn_fini(&d);
    wire_wr_fini(&a);
}

TEST(WireTxn, UnknownTypeIsCorrupt)
{
    wire_rd r;
    wire_rd_init(&r, "", 0, 10);
    wire_txn t;
    LONGS_EQUAL(ZERR_CORRUPT, wire_txn_body_decode(&r, 77, &t));
}

static const int32_t k_all_types[] = {
    WIRE_OP_CREATE, WIRE_OP_CREATE2,         WIRE_OP_CREATECONTAINER, WIRE_OP_CREATETTL,
    WIRE_OP_DELETE, WIRE_OP_DELETECONTAINER, WIRE_OP_SETDATA,         WIRE_OP_SETACL,
    WIRE_OP_CHECK,  WIRE_OP_CREATESESSION,   WIRE_OP_CLOSESESSION,    WIRE_OP_ERROR,
    WIRE_OP_MULTI};

static wire_txn sample_any(int32_t type, wire_txn *subs)
{
    if (type != WIRE_OP_MULTI)
        return sample(type);
    subs[0] = sample(WIRE_OP_CREATETTL);
    subs[1] = sample(WIRE_OP_SETACL);
    subs[2] = sample(WIRE_OP_DELETE);
    subs[3] = sample(WIRE_OP_CHECK);
    wire_txn m;
    memset(&m, 0, sizeof m);
    m.type = WIRE_OP_MULTI;
    m.sub = subs;
    m.n_sub = 4;
    return m;
}

// Decodes header + body from the first n bytes; 0 only if both decode and
// nothing is left over.
static int decode_prefix(const wire_wr &a, size_t n)
{
    wire_rd r;
    wire_rd_init(&r, a.p, n, 1000);
    wire_txn_hdr h;
    wire_txn_hdr_decode(&r, &h);
    if (wire_rd_err(&r) != 0)
        return wire_rd_err(&r);
    wire_txn x;
    int rc = wire_txn_body_decode(&r, h.type, &x);
    if (rc != 0)
        return rc;
    wire_txn_fini(&x);
    return wire_rd_left(&r) == 0 ? 0 : ZERR_CORRUPT;
}

TEST(WireTxn, EveryTruncationOfEveryTypeFailsCleanly)
{
    for (int32_t type : k_all_types) {
        wire_txn subs[4];
        wire_txn t = sample_any(type, subs);
        wire_wr a;
        wire_wr_init(&a);
        encode(&a, &t);
        LONGS_EQUAL(0, decode_prefix(a, a.len));
        for (size_t n = 0; n < a.len; n++) {
            // CloseSessionTxn bodies written before 3.6 are empty: the bare
            // header is a whole closeSession txn.
            if (type == WIRE_OP_CLOSESESSION && n == 32)
                LONGS_EQUAL(0, decode_prefix(a, n));
            else
                CHECK_TEXT(
                    decode_prefix(a, n) != 0,
                    ("type " + std::to_string(type) + " prefix " + std::to_string(n)).c_str());
        }
        wire_wr_fini(&a);
    }
}

TEST(WireTxn, HeaderIsThirtyTwoBytesInJuteOrder)
{
    wire_wr a;
    wire_wr_init(&a);
    wire_txn_hdr h = {0x0102030405060708LL, 0x090a0b0c, 0x1112131415161718LL, 0x2122232425262728LL,
                      WIRE_OP_SETDATA};
    wire_txn_hdr_encode(&a, &h);
    const uint8_t want[] = {1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,
                            12,   0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21, 0x22,
                            0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0,    0,    0,    5};
    LONGS_EQUAL(32, a.len);
    MEMCMP_EQUAL(want, a.p, a.len);
    wire_wr_fini(&a);
}

TEST(WireTxn, CreateBodiesDifferByType)
{
    // create/create2 carry the ephemeral flag, container and TTL do not; TTL
    // ends with the ttl.
    size_t len[4];
    const int32_t types[] = {WIRE_OP_CREATE, WIRE_OP_CREATE2, WIRE_OP_CREATECONTAINER,
                             WIRE_OP_CREATETTL};
    for (int i = 0; i < 4; i++) {
        wire_wr a;
        wire_wr_init(&a);
        wire_txn t = sample(types[i]);
        wire_txn_body_encode(&a, &t);
        len[i] = a.len;
        wire_wr_fini(&a);
    }
    LONGS_EQUAL(len[0], len[1]);
    LONGS_EQUAL(len[0] - 1, len[2]);
    LONGS_EQUAL(len[2] + 8, len[3]);
}

static void multi_with(wire_wr *a, int32_t sub_type, wire_buf body)
{
    wire_txn_hdr h = {1, 1, 1, 1, WIRE_OP_MULTI};
    wire_txn_hdr_encode(a, &h);
    wire_wr_i32(a, 1);
    wire_wr_i32(a, sub_type);
    wire_wr_buf(a, body);
}

TEST(WireTxn, MalformedMultiIsCorrupt)
{
    const uint8_t err_body[] = {0xff, 0xff, 0xff, 0x9b}; // ErrorTxn{-101}
    struct {
        int32_t type;
        wire_buf body;
        int want;
    } cases[] = {
        {WIRE_OP_MULTI, {err_body, 4}, ZERR_CORRUPT}, // nested multi
        {WIRE_OP_ERROR, {NULL, -1}, ZERR_CORRUPT},    // null body
        {77, {err_body, 4}, ZERR_CORRUPT},            // unknown type
        {WIRE_OP_ERROR, {err_body, 3}, ZERR_SHORT},   // body shorter than its record
        {WIRE_OP_ERROR, {err_body, 4}, 0},
    };
    for (auto &c : cases) {
        wire_wr a;
        wire_wr_init(&a);
        multi_with(&a, c.type, c.body);
        LONGS_EQUAL_TEXT(c.want, decode_prefix(a, a.len), std::to_string(c.type).c_str());
        wire_wr_fini(&a);
    }
}

TEST(WireTxn, HostileCountsAndLengthsFailBeforeAllocating)
{
    for (int32_t count : {INT32_MAX, 0xfffff, 3}) {
        wire_wr a;
        wire_wr_init(&a);
        wire_txn_hdr h = {1, 1, 1, 1, WIRE_OP_CLOSESESSION};
        wire_txn_hdr_encode(&a, &h);
        wire_wr_i32(&a, count);
        wire_wr_cstr(&a, "/one");
        CHECK(decode_prefix(a, a.len) != 0);
        wire_wr_reset(&a);
        h.type = WIRE_OP_MULTI;
        wire_txn_hdr_encode(&a, &h);
        wire_wr_i32(&a, count);
        CHECK(decode_prefix(a, a.len) != 0);
        wire_wr_fini(&a);
    }
    // a path longer than the reader's max_len
    wire_wr a;
    wire_wr_init(&a);
    wire_txn_hdr h = {1, 1, 1, 1, WIRE_OP_DELETE};
    wire_txn_hdr_encode(&a, &h);
    std::string path(1001, 'x');
    wire_wr_cstr(&a, path.c_str());
    LONGS_EQUAL(ZERR_TOOBIG, decode_prefix(a, a.len));
    wire_wr_fini(&a);
}

TEST(WireTxn, FiniIsIdempotent)
{
    wire_txn t;
    memset(&t, 0, sizeof t);
    wire_txn_fini(&t);
    wire_txn_fini(&t);
    LONGS_EQUAL(0, t.n_sub);
}

TEST_GROUP(WireTxnZkLog){};

// ZooKeeper logs a reconfig as the SetDataTxn of /zookeeper/config.
TEST(WireTxnZkLog, ReconfigDecodesAsSetData)
{
    wire_txn t = sample(WIRE_OP_SETDATA);
    wire_wr w;
    wire_wr_init(&w);
    wire_txn_body_encode(&w, &t);
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, INT32_MAX);
    wire_txn out;
    LONGS_EQUAL(0, wire_txn_body_decode(&r, WIRE_OP_RECONFIG, &out));
    LONGS_EQUAL(WIRE_OP_SETDATA, out.type);
    CHECK(wire_str_eqc(out.path, "/x/y"));
    LONGS_EQUAL(4, out.version);
    LONGS_EQUAL(0, wire_rd_left(&r));
    wire_txn_fini(&out);
    wire_wr_fini(&w);
}

// 3.8 appends TxnDigest { int version; long treeDigest } to logged txns.
TEST(WireTxnZkLog, EntryDigestIsFoundOnlyWhenExactlyOneFollows)
{
    int32_t types[] = {WIRE_OP_CREATE,       WIRE_OP_CREATETTL, WIRE_OP_SETDATA,
                       WIRE_OP_CLOSESESSION, WIRE_OP_ERROR,     WIRE_OP_CREATESESSION};
    for (int32_t type : types) {
        wire_txn t = sample(type);
        wire_wr w;
        wire_wr_init(&w);
        encode(&w, &t);
        bool has = true;
        int32_t version = 0;
        int64_t digest = 0;
        LONGS_EQUAL(0, wire_txn_entry_digest(w.p, w.len, &has, &version, &digest));
        CHECK_FALSE(has);
        wire_wr_i32(&w, 2);
        wire_wr_i64(&w, -1234567890123LL);
        LONGS_EQUAL(0, wire_txn_entry_digest(w.p, w.len, &has, &version, &digest));
        CHECK(has);
        LONGS_EQUAL(2, version);
        CHECK(digest == -1234567890123LL);
        wire_wr_i32(&w, 0); /* 16 trailing bytes: not a digest */
        LONGS_EQUAL(0, wire_txn_entry_digest(w.p, w.len, &has, &version, &digest));
        CHECK_FALSE(has);
        LONGS_EQUAL(ZERR_SHORT, wire_txn_entry_digest(w.p, 20, &has, &version, &digest));
        wire_wr_fini(&w);
    }
}
