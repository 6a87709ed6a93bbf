// Session ids, passwords, timeout negotiation and bucket rounding: the pure
// formulas that must match Apache ZooKeeper bit for bit.
#include <CppUTest/TestHarness.h>

#include <string.h>

#include "session/sess.h"

TEST_GROUP(SessId){};

// Expected ids computed with Java's ((t << 24) >>> 8) | (sid << 56) and the
// Long.MIN_VALUE skip (SessionTrackerImpl.initializeNextSessionId).
TEST(SessId, FirstIdMatchesJavaFormula)
{
    static const struct {
        int64_t now_ms;
        int64_t server_id;
        uint64_t want;
    } cases[] = {
        {0, 0, 0x0000000000000000ULL},
        {0, 1, 0x0100000000000000ULL},
        {1, 1, 0x0100000000010000ULL},
        {1700000000000LL, 1, 0x018bcfe568000000ULL},
        {1700000000000LL, 255, 0xff8bcfe568000000ULL},
        {1700000000000LL, 128, 0x808bcfe568000000ULL},
        {0, 128, 0x8000000000000001ULL}, /* Long.MIN_VALUE is skipped */
        {281474976710655LL, 3, 0x03ffffffffff0000ULL},
        {281474976710656LL, 2, 0x0200000000000000ULL}, /* bit 40 of time shifted out */
        {-1, 0, 0x00ffffffffff0000ULL},
        {123456789LL, 0, 0x0000075bcd150000ULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = (uint64_t)sess_id_first(cases[i].now_ms, cases[i].server_id);
        if (got != cases[i].want)
            FAIL(StringFromFormat("case %zu: got 0x%016llx want 0x%016llx", i,
                                  (unsigned long long)got, (unsigned long long)cases[i].want)
                     .asCharString());
    }
}

TEST(SessId, NextCountsUpFromInit)
{
    sess_table *s = sess_new(2000, 1);
    CHECK(s != NULL);
    sess_id_init(s, 1700000000000LL);
    CHECK_EQUAL((int64_t)0x018bcfe568000000LL, sess_id_next(s));
    CHECK_EQUAL((int64_t)0x018bcfe568000001LL, sess_id_next(s));
    CHECK_EQUAL((int64_t)0x018bcfe568000002LL, sess_id_next(s));
    sess_free(s);
}

// Expected bytes printed by java.util.Random(id ^ 0xB3415C00L).nextBytes(16)
// on OpenJDK 17.
TEST(SessId, PasswordMatchesJavaRandom)
{
    static const struct {
        uint64_t id;
        uint8_t pw[16];
    } cases[] = {
        {0x0000000000000001ULL,
         {0x05, 0x4c, 0xc7, 0x4a, 0x37, 0x32, 0x7d, 0xb2, 0x15, 0xe7, 0x02, 0xe2, 0x0c, 0x73, 0xf0,
          0x05}},
        {0x7fffffffffffffffULL,
         {0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86, 0xa9,
          0xee}},
        {0xffffffffffffffffULL,
         {0x20, 0xf6, 0x2c, 0xb5, 0x64, 0x8d, 0xc2, 0xd7, 0x71, 0x47, 0x1c, 0x8a, 0x24, 0x86, 0xa9,
          0xee}},
        {0x01000184ab12cd00ULL,
         {0x4d, 0x43, 0x05, 0xd4, 0x40, 0x00, 0xa4, 0x64, 0x5f, 0x94, 0xf2, 0xc2, 0x89, 0xe5, 0x12,
          0x84}},
        {0x0000000000000000ULL,
         {0xf2, 0x2a, 0xcd, 0x4a, 0x97, 0xe6, 0x9d, 0x6d, 0x20, 0xa4, 0x9b, 0xb6, 0x38, 0xea, 0xdb,
          0x38}},
        {0x018bcfe568000000ULL,
         {0xf2, 0xe2, 0x6f, 0x4f, 0x97, 0x3e, 0x36, 0x38, 0x20, 0x1c, 0x89, 0xf8, 0x38, 0x02, 0xc8,
          0x44}},
        {0x018bcfe568000001ULL,
         {0x05, 0x04, 0x6a, 0x4f, 0x37, 0x8a, 0x15, 0x7d, 0x15, 0x5f, 0xf0, 0x23, 0x0c, 0x8b, 0xdc,
          0x11}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t got[SESS_PASSWORD_LEN];
        memset(got, 0xAA, sizeof(got));
        sess_password((int64_t)cases[i].id, got);
        MEMCMP_EQUAL(cases[i].pw, got, 16);
    }
}

TEST(SessId, PasswordCheck)
{
    uint8_t pw[SESS_PASSWORD_LEN];
    int64_t id = 0x018bcfe568000001LL;
    sess_password(id, pw);
    CHECK_TRUE(sess_password_ok(id, pw, sizeof(pw)));
    CHECK_FALSE(sess_password_ok(id + 1, pw, sizeof(pw)));
    CHECK_FALSE(sess_password_ok(id, pw, sizeof(pw) - 1));
    pw[15] ^= 1;
    CHECK_FALSE(sess_password_ok(id, pw, sizeof(pw)));
    /* id 0 never authenticates (ZooKeeperServer.checkPasswd). */
    sess_password(0, pw);
    CHECK_FALSE(sess_password_ok(0, pw, sizeof(pw)));
}

TEST(SessId, NegotiateTimeoutClampsLikeZooKeeper)
{
    static const struct {
        int32_t req, min, max, want;
    } cases[] = {
        {30000, 4000, 40000, 30000}, {1000, 4000, 40000, 4000},    {100000, 4000, 40000, 40000},
        {4000, 4000, 40000, 4000},   {40000, 4000, 40000, 40000},  {0, 4000, 40000, 4000},
        {-5, 4000, 40000, 4000},     {10000, 50000, 40000, 40000}, /* min > max: max is applied last
                                                                    */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        LONGS_EQUAL(cases[i].want,
                    sess_negotiate_timeout(cases[i].req, cases[i].min, cases[i].max));
}

TEST(SessId, BucketRounding)
{
    static const struct {
        int64_t t, interval, want;
    } cases[] = {
        {0, 2000, 2000},    {1, 2000, 2000},
        {1999, 2000, 2000}, {2000, 2000, 4000},
        {2001, 2000, 4000}, {3999, 2000, 4000},
        {-1, 2000, 2000}, /* Java truncates toward zero: -1/2000 == 0 */
        {-2000, 2000, 0},   {-2001, 2000, 0},
        {12345, 1, 12346},  {1700000031234LL, 3000, 1700000034000LL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQUAL(cases[i].want, sess_round_to_interval(cases[i].t, cases[i].interval));
}
