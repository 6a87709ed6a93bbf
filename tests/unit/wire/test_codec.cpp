// Jute primitives, records and frames: round trips, bounds and sticky errors.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <string.h>
#include <vector>

TEST_GROUP(WireCodec)
{
    wire_wr w;
    void setup() override { wire_wr_init(&w); }
    void teardown() override { wire_wr_fini(&w); }
};

TEST(WireCodec, PrimitivesRoundTripBigEndian)
{
    wire_wr_i32(&w, -2);
    wire_wr_i64(&w, 0x0102030405060708LL);
    wire_wr_bool(&w, true);
    wire_wr_cstr(&w, "/a");
    wire_buf null_buf = {NULL, -1};
    wire_wr_buf(&w, null_buf);
    const uint8_t want[] = {0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 1,
                            0, 0, 0, 2, '/', 'a', 0xff, 0xff, 0xff, 0xff};
    LONGS_EQUAL(sizeof want, w.len);
    MEMCMP_EQUAL(want, w.p, sizeof want);

    wire_rd r;
    wire_rd_init(&r, w.p, w.len, WIRE_MAXBUFFER_DEFAULT);
    LONGS_EQUAL(-2, wire_rd_i32(&r));
    CHECK(wire_rd_i64(&r) == 0x0102030405060708LL);
    CHECK_TRUE(wire_rd_bool(&r));
    CHECK_TRUE(wire_str_eqc(wire_rd_str(&r), "/a"));
    LONGS_EQUAL(-1, wire_rd_buf(&r).len);
    LONGS_EQUAL(0, wire_rd_err(&r));
    LONGS_EQUAL(0, wire_rd_left(&r));
}

TEST(WireCodec, ShortReadIsStickyAndYieldsZeros)
{
    const uint8_t b[] = {0, 0, 0, 7, 1};
    wire_rd r;
    wire_rd_init(&r, b, sizeof b, 100);
    LONGS_EQUAL(7, wire_rd_i32(&r));
    LONGS_EQUAL(0, wire_rd_i32(&r)); // only one byte left
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
    CHECK_FALSE(wire_rd_bool(&r)); // still failing, even though a byte remains
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
}

TEST(WireCodec, LengthPastMaxbufferIsTooBig)
{
    wire_wr_i32(&w, 101);
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, 100);
    LONGS_EQUAL(-1, wire_rd_buf(&r).len);
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r));
}

TEST(WireCodec, NegativeLengthOtherThanNullIsTooBig)
{
    wire_wr_i32(&w, -2);
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, 100);
    (void)wire_rd_str(&r);
    LONGS_EQUAL(ZERR_TOOBIG, wire_rd_err(&r));
}

TEST(WireCodec, StringLongerThanFrameIsShort)
{
    wire_wr_i32(&w, 50);
    wire_wr_raw(&w, "abc", 3);
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, 100);
    (void)wire_rd_str(&r);
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
}

TEST(WireCodec, VectorCountLargerThanFrameFailsBeforeAnyAllocation)
{
    wire_wr_i32(&w, 1000);
    wire_wr_raw(&w, "0123456789ab", 12); // room for one 12-byte ACL, not 1000
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, WIRE_MAXBUFFER_DEFAULT);
    LONGS_EQUAL(0, wire_rd_count(&r, 12));
    LONGS_EQUAL(ZERR_SHORT, wire_rd_err(&r));
}

TEST(WireCodec, FramePeek)
{
    const uint8_t whole[] = {0, 0, 0, 2, 'h', 'i'};
    int32_t len = 0;
    LONGS_EQUAL(0, wire_frame_peek(whole, 3, 100, &len));
    LONGS_EQUAL(0, wire_frame_peek(whole, 5, 100, &len));
    LONGS_EQUAL(1, wire_frame_peek(whole, 6, 100, &len));
    LONGS_EQUAL(2, len);
    const uint8_t big[] = {0, 0, 0, 101};
    LONGS_EQUAL(ZERR_TOOBIG, wire_frame_peek(big, 4, 100, &len));
    const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfb};
    LONGS_EQUAL(ZERR_TOOBIG, wire_frame_peek(neg, 4, 100, &len));
}

static void connect_bytes(wire_wr *w, bool read_only_byte)
{
    wire_wr_i32(w, 0);
    wire_wr_i64(w, 5);
    wire_wr_i32(w, 30000);
    wire_wr_i64(w, 0x1234);
    const uint8_t pw[16] = {1};
    wire_buf b = {pw, 16};
    wire_wr_buf(w, b);
    if (read_only_byte)
        wire_wr_bool(w, true);
}

TEST(WireCodec, ConnectRequestWithAndWithoutReadOnlyByte)
{
    wire_connect_req q;
    wire_rd r;
    connect_bytes(&w, true);
    wire_rd_init(&r, w.p, w.len, 100);
    LONGS_EQUAL(0, wire_connect_req_decode(&r, &q));
    CHECK_TRUE(q.has_read_only);
    CHECK_TRUE(q.read_only);
    LONGS_EQUAL(30000, q.timeout_ms);
    CHECK(q.session_id == 0x1234);
    LONGS_EQUAL(16, q.passwd.len);

    wire_wr_reset(&w);
    connect_bytes(&w, false);
    wire_rd_init(&r, w.p, w.len, 100);
    LONGS_EQUAL(0, wire_connect_req_decode(&r, &q));
    CHECK_FALSE(q.has_read_only);
}

TEST(WireCodec, ConnectResponseLeavesReadOnlyOutForOldClients)
{
    uint8_t pw[16] = {0};
    wire_connect_resp_encode(&w, 4000, 7, pw, 16, false);
    LONGS_EQUAL(4 + 4 + 8 + 4 + 16, w.len);
    wire_wr_reset(&w);
    wire_connect_resp_encode(&w, 4000, 7, pw, 16, true);
    LONGS_EQUAL(4 + 4 + 8 + 4 + 16 + 1, w.len);
}

static void create_request(wire_wr *w)
{
    wire_wr_cstr(w, "/node");
    const uint8_t d[] = {'x', 0, 'y'};
    wire_buf b = {d, 3};
    wire_wr_buf(w, b);
    wire_wr_i32(w, 1);
    wire_wr_i32(w, WIRE_PERM_ALL);
    wire_wr_cstr(w, "world");
    wire_wr_cstr(w, "anyone");
    wire_wr_i32(w, WIRE_MODE_EPHEMERAL);
}

TEST(WireCodec, CreateRequestDecodes)
{
    create_request(&w);
    wire_rd r;
    wire_rd_init(&r, w.p, w.len, 100);
    wire_write_req q;
    LONGS_EQUAL(0, wire_write_req_decode(&r, WIRE_OP_CREATE, &q));
    CHECK_TRUE(wire_str_eqc(q.path, "/node"));
    LONGS_EQUAL(3, q.data.len);
    LONGS_EQUAL(1, q.n_acl);
    CHECK_TRUE(wire_str_eqc(q.acl[0].id, "anyone"));
    LONGS_EQUAL(WIRE_MODE_EPHEMERAL, q.flags);
    wire_write_req_fini(&q);
}

TEST(WireCodec, EveryTruncationOfACreateRequestFailsCleanly)
{
    create_request(&w);
    for (size_t n = 0; n < w.len; n++) {
        wire_rd r;
        wire_rd_init(&r, w.p, n, 100);
        wire_write_req q;
        CHECK_TEXT(wire_write_req_decode(&r, WIRE_OP_CREATE, &q) != 0, "prefix decoded");
    }
}

TEST(WireCodec, ReadOpIsNotAWriteRequest)
{
    wire_rd r;
    wire_rd_init(&r, NULL, 0, 100);
    wire_write_req q;
    LONGS_EQUAL(ZERR_UNIMPLEMENTED, wire_write_req_decode(&r, WIRE_OP_GETDATA, &q));
}

TEST(WireCodec, MultiRejectsReadOpsAndMissingEnd)
{
    // a getData inside a write multi
    wire_wr_i32(&w, WIRE_OP_GETDATA);
    wire_wr_bool(&w, false);
    wire_wr_i32(&w, -1);
    wire_wr_cstr(&w, "/");
    wire_wr_bool(&w, false);
    wire_wr_i32(&w, -1);
    wire_wr_bool(&w, true);
    wire_wr_i32(&w, -1);
    wire_rd r;
    wire_multi_req m;
    wire_rd_init(&r, w.p, w.len, 100);
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_multi_req_decode(&r, false, &m));
    wire_rd_init(&r, w.p, w.len, 100);
    LONGS_EQUAL(0, wire_multi_req_decode(&r, true, &m));
    LONGS_EQUAL(1, m.n_ops);
    wire_multi_req_fini(&m);
    // the same without the end marker
    wire_rd_init(&r, w.p, w.len - 9, 100);
    CHECK(wire_multi_req_decode(&r, true, &m) != 0);
}
