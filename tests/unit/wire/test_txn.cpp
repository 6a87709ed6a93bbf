// Txn records: every type round-trips byte for byte, and no truncation of a
// valid txn decodes.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <string.h>

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
