// Records byte for byte: stat, ACL lists, the connect handshake, every write
// request and multi, with every truncation refused and hostile counts caught
// before they can size an allocation.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <stdint.h>
#include <string.h>
#include <string>
#include <vector>

static const wire_acl k_acls[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}},
                                  {WIRE_PERM_READ | WIRE_PERM_ADMIN, {"digest", 6}, {"u:h", 3}}};

TEST_GROUP(WireRecords)
{
    wire_wr w;
    wire_rd r;
    void setup() override
    {
        wire_wr_init(&w);
    }
    void teardown() override
    {
        wire_wr_fini(&w);
    }
    void reader(size_t len = SIZE_MAX, int32_t max_len = WIRE_MAXBUFFER_DEFAULT)
    {
        wire_rd_init(&r, w.p, len == SIZE_MAX ? w.len : len, max_len);
    }
};

TEST(WireRecords, StatRoundTripsInJuteFieldOrder)
{
    wire_stat s = {INT64_MIN, INT64_MAX, -1,        0x0102030405060708LL,
                   INT32_MIN, -1,        INT32_MAX, (int64_t)0xff00000000000064LL,
                   0,         7,         42};
    wire_wr_stat(&w, &s);
    LONGS_EQUAL(68, w.len);
    // czxid first, pzxid last, as in zookeeper.jute's Stat
    const uint8_t head[] = {0x80, 0, 0, 0, 0, 0, 0, 0};
    MEMCMP_EQUAL(head, w.p, 8);
    const uint8_t tail[] = {0, 0, 0, 0, 0, 0, 0, 42};
    MEMCMP_EQUAL(tail, w.p + 60, 8);
    reader();
    wire_stat t;
    wire_rd_stat(&r, &t);
    LONGS_EQUAL(0, wire_rd_err(&r));
    CHECK(t.czxid == s.czxid && t.mzxid == s.mzxid && t.ctime == s.ctime && t.mtime == s.mtime);
    CHECK(t.version == s.version && t.cversion == s.cversion && t.aversion == s.aversion);
    CHECK(t.ephemeral_owner == s.ephemeral_owner && t.data_length == s.data_length);
    CHECK(t.num_children == s.num_children && t.pzxid == s.pzxid);
    // one byte short: sticky error
    reader(67);
    wire_rd_stat(&r, &t);
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
}

TEST(WireRecords, BoolsStringsAndNulls)
{
    const uint8_t b[] = {2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    wire_rd_init(&r, b, sizeof b, 10);
    CHECK_TRUE(wire_rd_bool(&r)); // any non-zero byte is true, as Java reads it
    wire_str empty = wire_rd_str(&r);
    LONGS_EQUAL(0, empty.len);
    wire_str null = wire_rd_str(&r);
    LONGS_EQUAL(-1, null.len);
    CHECK(null.p == NULL);
    LONGS_EQUAL(0, wire_rd_err(&r));
    CHECK_FALSE(wire_str_eq(empty, null));
    CHECK_TRUE(wire_str_eqc(empty, ""));
    // writing them back gives the same bytes
    wire_wr_bool(&w, true);
    wire_wr_str(&w, empty);
    wire_wr_str(&w, null);
    wire_wr_buf(&w, {NULL, 0});
    const uint8_t want[] = {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    LONGS_EQUAL(sizeof want, w.len);
    MEMCMP_EQUAL(want, w.p, sizeof want);
}

TEST(WireRecords, LengthExactlyAtMaxIsAccepted)
{
    wire_wr_i32(&w, 4);
    wire_wr_raw(&w, "abcd", 4);
    reader(SIZE_MAX, 4);
    LONGS_EQUAL(4, wire_rd_buf(&r).len);
    LONGS_EQUAL(0, wire_rd_err(&r));
    reader(SIZE_MAX, 3);
    LONGS_EQUAL(-1, wire_rd_buf(&r).len);
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r));
    // TOOBIG is sticky like SHORT
    LONGS_EQUAL(0, wire_rd_i32(&r));
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r));
}

TEST(WireRecords, VectorCounts)
{
    wire_wr_i32(&w, -1);
    reader();
    LONGS_EQUAL(0, wire_rd_count(&r, 4)); // null vector reads as empty
    LONGS_EQUAL(0, wire_rd_err(&r));
    wire_wr_reset(&w);
    wire_wr_i32(&w, -2);
    reader();
    wire_rd_count(&r, 4);
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r));
    wire_wr_reset(&w);
    wire_wr_i32(&w, INT32_MAX);
    reader();
    wire_rd_count(&r, 0);
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r)); // past jute.maxbuffer
    wire_wr_reset(&w);
    wire_wr_i32(&w, 3);
    wire_wr_raw(&w, "12345678", 8);
    reader();
    LONGS_EQUAL(0, wire_rd_count(&r, 3)); // 3 * 3 > 8
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
    reader();
    LONGS_EQUAL(3, wire_rd_count(&r, 2)); // 3 * 2 <= 8
    LONGS_EQUAL(0, wire_rd_err(&r));
}

TEST(WireRecords, PatchOutsideTheBufferIsIgnored)
{
    wire_wr_i32(&w, 0);
    wire_wr_patch_i32(&w, 1, 5); // would run past len
    const uint8_t zero[4] = {0, 0, 0, 0};
    MEMCMP_EQUAL(zero, w.p, 4);
    wire_wr_patch_i32(&w, 0, 0x01020304);
    const uint8_t want[4] = {1, 2, 3, 4};
    MEMCMP_EQUAL(want, w.p, 4);
}

TEST(WireRecords, ReserveGrowsAndRefusesOverflow)
{
    int *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < 100; i++) {
        LONGS_EQUAL(0, wire_reserve((void **)&v, &cap, i, sizeof *v));
        v[i] = (int)i;
    }
    CHECK(cap >= 100);
    LONGS_EQUAL(99, v[99]);
    size_t big_cap = cap;
    LONGS_EQUAL(ZERR_NOMEM, wire_reserve((void **)&v, &big_cap, SIZE_MAX / 2, 16));
    LONGS_EQUAL(cap, big_cap); // untouched on failure
    free(v);
}

TEST(WireRecords, ErrorNames)
{
    STRCMP_EQUAL("NONODE", wire_err_name(ZERR_NONODE));
    STRCMP_EQUAL("OK", wire_err_name(0));
    STRCMP_EQUAL("CORRUPT", wire_err_name(ZERR_CORRUPT));
    STRCMP_EQUAL("UNKNOWN", wire_err_name(-99999));
}

TEST(WireRecords, FramePeekEdges)
{
    int32_t len = -7;
    const uint8_t empty_frame[] = {0, 0, 0, 0};
    LONGS_EQUAL(1, wire_frame_peek(empty_frame, 4, 100, &len));
    LONGS_EQUAL(0, len);
    const uint8_t at_max[4 + 100] = {0, 0, 0, 100};
    LONGS_EQUAL(0, wire_frame_peek(at_max, 103, 100, &len));
    LONGS_EQUAL(1, wire_frame_peek(at_max, 104, 100, &len));
    LONGS_EQUAL(100, len);
    // the length alone decides TOOBIG: no need to wait for the body
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
    LONGS_EQUAL(ZERR_TOOBIG, wire_frame_peek(huge, 4, WIRE_MAXBUFFER_DEFAULT, &len));
    const uint8_t minus_one[] = {0xff, 0xff, 0xff, 0xff};
    LONGS_EQUAL(ZERR_TOOBIG, wire_frame_peek(minus_one, 4, 100, &len));
    LONGS_EQUAL(0, wire_frame_peek(huge, 0, 100, &len));
    // two frames back to back: the peek sees the first one only
    const uint8_t two[] = {0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'c'};
    LONGS_EQUAL(1, wire_frame_peek(two, sizeof two, 100, &len));
    LONGS_EQUAL(1, len);
    LONGS_EQUAL(1, wire_frame_peek(two + 5, sizeof two - 5, 100, &len));
    LONGS_EQUAL(2, len);
}

// ---- connect --------------------------------------------------------------------

static void connect_req(wire_wr *w, bool with_ro, int32_t pw_len = 16)
{
    static const uint8_t pw[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    wire_wr_i32(w, 0);
    wire_wr_i64(w, 0x500000001LL);
    wire_wr_i32(w, 40000);
    wire_wr_i64(w, 0x1122334455667788LL);
    wire_wr_buf(w, {pw_len < 0 ? NULL : pw, pw_len});
    if (with_ro)
        wire_wr_bool(w, false);
}

TEST(WireRecords, ConnectRequestFieldsAndEveryTruncation)
{
    connect_req(&w, true);
    LONGS_EQUAL(4 + 8 + 4 + 8 + 4 + 16 + 1, w.len);
    wire_connect_req q;
    reader();
    LONGS_EQUAL(0, wire_connect_req_decode(&r, &q));
    LONGS_EQUAL(0, q.protocol_version);
    CHECK(q.last_zxid_seen == 0x500000001LL);
    LONGS_EQUAL(40000, q.timeout_ms);
    CHECK(q.session_id == 0x1122334455667788LL);
    LONGS_EQUAL(16, q.passwd.len);
    LONGS_EQUAL(9, q.passwd.p[0]);
    CHECK_TRUE(q.has_read_only);
    CHECK_FALSE(q.read_only);
    for (size_t n = 0; n < w.len - 1; n++) {
        reader(n);
        LONGS_EQUAL_TEXT(ZERR_SHORT, wire_connect_req_decode(&r, &q), std::to_string(n).c_str());
    }
    reader(w.len - 1); // the pre-3.4 form
    LONGS_EQUAL(0, wire_connect_req_decode(&r, &q));
    CHECK_FALSE(q.has_read_only);
}

TEST(WireRecords, ConnectRequestWithNullOrOversizedPassword)
{
    connect_req(&w, false, -1);
    wire_connect_req q;
    reader();
    LONGS_EQUAL(0, wire_connect_req_decode(&r, &q));
    LONGS_EQUAL(-1, q.passwd.len);
    wire_wr_reset(&w);
    connect_req(&w, false, 16);
    reader(SIZE_MAX, 15);
    LONGS_EQUAL(ZERR_TOOBIG, wire_connect_req_decode(&r, &q));
}

TEST(WireRecords, ConnectResponseBytes)
{
    uint8_t pw[16];
    memset(pw, 0xab, sizeof pw);
    wire_connect_resp_encode(&w, 30000, 0x0102030405060708LL, pw, 16, true);
    const uint8_t head[] = {0, 0, 0, 0, 0, 0, 0x75, 0x30, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 16};
    MEMCMP_EQUAL(head, w.p, sizeof head);
    MEMCMP_EQUAL(pw, w.p + sizeof head, 16);
    LONGS_EQUAL(0, w.p[w.len - 1]); // readOnly = false
}

// ---- write requests ---------------------------------------------------------------

static void write_req(wire_wr *w, int32_t type)
{
    const uint8_t d[] = {0, 1, 2, 0xff};
    switch (type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        wire_wr_cstr(w, "/c/d");
        wire_wr_buf(w, {d, 4});
        wire_wr_acls(w, k_acls, 2);
        wire_wr_i32(w, type == WIRE_OP_CREATECONTAINER ? 4 : type == WIRE_OP_CREATETTL ? 5 : 3);
        if (type == WIRE_OP_CREATETTL)
            wire_wr_i64(w, 0x123456789aLL);
        break;
    case WIRE_OP_DELETE:
    case WIRE_OP_CHECK:
        wire_wr_cstr(w, "/c/d");
        wire_wr_i32(w, 17);
        break;
    case WIRE_OP_SETDATA:
        wire_wr_cstr(w, "/c/d");
        wire_wr_buf(w, {d, 4});
        wire_wr_i32(w, 17);
        break;
    case WIRE_OP_SETACL:
        wire_wr_cstr(w, "/c/d");
        wire_wr_acls(w, k_acls, 2);
        wire_wr_i32(w, 17);
        break;
    }
}

static const int32_t k_write_types[] = {WIRE_OP_CREATE,    WIRE_OP_CREATE2, WIRE_OP_CREATECONTAINER,
                                        WIRE_OP_CREATETTL, WIRE_OP_DELETE,  WIRE_OP_SETDATA,
                                        WIRE_OP_SETACL,    WIRE_OP_CHECK};

TEST(WireRecords, EveryWriteRequestDecodesAndEveryTruncationFails)
{
    for (int32_t type : k_write_types) {
        wire_wr_reset(&w);
        write_req(&w, type);
        std::string what = "type " + std::to_string(type);
        reader();
        wire_write_req q;
        LONGS_EQUAL_TEXT(0, wire_write_req_decode(&r, type, &q), what.c_str());
        LONGS_EQUAL_TEXT(0, wire_rd_left(&r), what.c_str());
        CHECK_TEXT(wire_op_is_write(type), what.c_str());
        LONGS_EQUAL(type, q.type);
        CHECK_TRUE(wire_str_eqc(q.path, "/c/d"));
        bool creates = type == WIRE_OP_CREATE || type == WIRE_OP_CREATE2 ||
                       type == WIRE_OP_CREATECONTAINER || type == WIRE_OP_CREATETTL;
        if (creates || type == WIRE_OP_SETDATA) {
            LONGS_EQUAL(4, q.data.len);
            LONGS_EQUAL(0xff, q.data.p[3]);
        }
        if (creates || type == WIRE_OP_SETACL) {
            LONGS_EQUAL(2, q.n_acl);
            LONGS_EQUAL(WIRE_PERM_READ | WIRE_PERM_ADMIN, q.acl[1].perms);
            CHECK_TRUE(wire_str_eqc(q.acl[1].scheme, "digest"));
            CHECK_TRUE(wire_str_eqc(q.acl[1].id, "u:h"));
        }
        if (!creates)
            LONGS_EQUAL(17, q.version);
        else
            LONGS_EQUAL(-1, q.version);
        if (type == WIRE_OP_CREATETTL)
            CHECK(q.ttl == 0x123456789aLL && q.flags == 5);
        wire_write_req_fini(&q);
        wire_write_req_fini(&q); // idempotent
        for (size_t n = 0; n < w.len; n++) {
            reader(n);
            CHECK_TEXT(wire_write_req_decode(&r, type, &q) != 0, (what + " prefix").c_str());
        }
    }
}

TEST(WireRecords, HostileAclCountsFailBeforeAllocating)
{
    // A count past jute.maxbuffer, then one past what the frame can hold. Under
    // ASan an allocation sized by either count would abort the run.
    for (int32_t count : {INT32_MAX, 0xfffff, 100}) {
        wire_wr_reset(&w);
        wire_wr_cstr(&w, "/a");
        wire_wr_buf(&w, {NULL, -1});
        wire_wr_i32(&w, count);
        wire_wr_acls(&w, k_acls, 1); // room for about one
        reader();
        wire_write_req q;
        int rc = wire_write_req_decode(&r, WIRE_OP_CREATE, &q);
        CHECK_TEXT(rc == ZERR_SHORT || rc == ZERR_TOOBIG, std::to_string(count).c_str());
    }
}

TEST(WireRecords, ReadOpsAreNotWrites)
{
    static const int32_t reads[] = {
        WIRE_OP_GETDATA,       WIRE_OP_EXISTS, WIRE_OP_MULTI, WIRE_OP_DELETECONTAINER,
        WIRE_OP_CREATESESSION, WIRE_OP_PING,   9999};
    for (int32_t type : reads) {
        CHECK_FALSE(wire_op_is_write(type));
        reader();
        wire_write_req q;
        LONGS_EQUAL(ZERR_UNIMPLEMENTED, wire_write_req_decode(&r, type, &q));
    }
}

// ---- multi ----------------------------------------------------------------------

static void multi_hdr(wire_wr *w, int32_t type, bool done)
{
    wire_wr_i32(w, type);
    wire_wr_bool(w, done);
    wire_wr_i32(w, -1);
}

TEST(WireRecords, MultiRefusesSetAcl)
{
    multi_hdr(&w, WIRE_OP_SETACL, false);
    write_req(&w, WIRE_OP_SETACL);
    multi_hdr(&w, -1, true);
    reader();
    wire_multi_req m;
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_multi_req_decode(&r, false, &m));
}

TEST(WireRecords, MultiOfEveryWriteTypeAndEveryTruncation)
{
    // MultiOperationRecord has no setACL sub-op.
    std::vector<int32_t> types;
    for (int32_t type : k_write_types)
        if (type != WIRE_OP_SETACL)
            types.push_back(type);
    for (int32_t type : types) {
        multi_hdr(&w, type, false);
        write_req(&w, type);
    }
    multi_hdr(&w, -1, true);
    reader();
    wire_multi_req m;
    LONGS_EQUAL(0, wire_multi_req_decode(&r, false, &m));
    LONGS_EQUAL((long)types.size(), m.n_ops);
    for (size_t i = 0; i < types.size(); i++) {
        LONGS_EQUAL(types[i], m.ops[i].type);
        CHECK_TRUE(wire_str_eqc(m.ops[i].path, "/c/d"));
    }
    wire_multi_req_fini(&m);
    wire_multi_req_fini(&m);
    for (size_t n = 0; n < w.len; n++) {
        reader(n);
        CHECK_TEXT(wire_multi_req_decode(&r, false, &m) != 0, std::to_string(n).c_str());
    }
}

TEST(WireRecords, EmptyMultiAndMultiRead)
{
    multi_hdr(&w, -1, true);
    reader();
    wire_multi_req m;
    LONGS_EQUAL(0, wire_multi_req_decode(&r, false, &m));
    LONGS_EQUAL(0, m.n_ops);
    wire_multi_req_fini(&m);

    wire_wr_reset(&w);
    multi_hdr(&w, WIRE_OP_GETCHILDREN, false);
    wire_wr_cstr(&w, "/x");
    wire_wr_bool(&w, true);
    multi_hdr(&w, WIRE_OP_GETDATA, false);
    wire_wr_cstr(&w, "/y");
    wire_wr_bool(&w, false);
    multi_hdr(&w, -1, true);
    reader();
    LONGS_EQUAL(0, wire_multi_req_decode(&r, true, &m));
    LONGS_EQUAL(2, m.n_ops);
    LONGS_EQUAL(WIRE_OP_GETCHILDREN, m.ops[0].type);
    CHECK_TRUE(wire_str_eqc(m.ops[1].path, "/y"));
    wire_multi_req_fini(&m);
    // a write inside a multiRead
    wire_wr_reset(&w);
    multi_hdr(&w, WIRE_OP_DELETE, false);
    write_req(&w, WIRE_OP_DELETE);
    multi_hdr(&w, -1, true);
    reader();
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_multi_req_decode(&r, true, &m));
}

TEST(WireRecords, MultiFailingLateFreesEarlierOps)
{
    // two good creates (their ACLs are allocated), then a broken one: ASan's
    // leak check proves the first two are released.
    for (int i = 0; i < 2; i++) {
        multi_hdr(&w, WIRE_OP_CREATE, false);
        write_req(&w, WIRE_OP_CREATE);
    }
    multi_hdr(&w, WIRE_OP_CREATE, false);
    wire_wr_cstr(&w, "/z");
    wire_wr_buf(&w, {NULL, -1});
    wire_wr_i32(&w, 50); // ACL count the frame cannot hold
    reader();
    wire_multi_req m;
    LONGS_EQUAL(ZERR_SHORT, wire_multi_req_decode(&r, false, &m));
    LONGS_EQUAL(0, m.n_ops);
    CHECK(m.ops == NULL);
}
