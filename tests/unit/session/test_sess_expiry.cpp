// The session table: add/touch/remove, expiry buckets, closing sessions.
#include <algorithm>
#include <vector>

#include <CppUTest/TestHarness.h>

#include "session/sess.h"

static const int64_t TICK = 2000;

TEST_GROUP(SessTable)
{
    sess_table *s = nullptr;
    void setup() override
    {
        s = sess_new(TICK, 1);
        CHECK(s != nullptr);
    }
    void teardown() override
    {
        sess_free(s);
    }

    std::vector<int64_t> expire(int64_t now_ms)
    {
        std::vector<int64_t> out;
        int64_t ids[7];
        for (int round = 0; round < 100000; round++) {
            size_t n = sess_expire(s, now_ms, ids, 7);
            out.insert(out.end(), ids, ids + n);
            if (n < 7)
                break;
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST(SessTable, NewRejectsBadInterval)
{
    POINTERS_EQUAL(nullptr, sess_new(0, 1));
    POINTERS_EQUAL(nullptr, sess_new(-5, 1));
    sess_free(nullptr);
}

TEST(SessTable, AddLookupRemove)
{
    LONGS_EQUAL(0, sess_add(s, 10, 30000, 1000));
    LONGS_EQUAL(ZERR_NODEEXISTS, sess_add(s, 10, 5000, 1000));
    CHECK_TRUE(sess_exists(s, 10));
    CHECK_FALSE(sess_exists(s, 11));
    LONGS_EQUAL(30000, sess_timeout_ms(s, 10)); /* the failed re-add changed nothing */
    LONGS_EQUAL(0, sess_timeout_ms(s, 11));
    LONGS_EQUAL(1, sess_count(s));
    CHECK_EQUAL(32000, sess_expire_at(s, 10)); /* round(1000 + 30000) */
    LONGS_EQUAL(0, sess_remove(s, 10));
    LONGS_EQUAL(ZERR_NONODE, sess_remove(s, 10));
    CHECK_FALSE(sess_exists(s, 10));
    LONGS_EQUAL(0, sess_count(s));
    /* A removed session is not expired later. */
    CHECK_TRUE(expire(1000000).empty());
}

TEST(SessTable, BucketIsRoundedDeadline)
{
    static const struct {
        int64_t now;
        int32_t timeout;
        int64_t want;
    } cases[] = {
        {0, 4000, 6000},    {1, 4000, 6000},    {1999, 4000, 6000},
        {2000, 4000, 8000}, {1000, 5000, 8000}, {123456, 30000, 154000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        LONGS_EQUAL(0, sess_add(s, (int64_t)i + 1, cases[i].timeout, cases[i].now));
        CHECK_EQUAL(cases[i].want, sess_expire_at(s, (int64_t)i + 1));
    }
}

TEST(SessTable, TouchMovesToLaterBucket)
{
    LONGS_EQUAL(0, sess_add(s, 1, 4000, 0)); /* bucket 6000 */
    LONGS_EQUAL(0, sess_add(s, 2, 4000, 0));
    CHECK_EQUAL(6000, sess_expire_at(s, 1));
    LONGS_EQUAL(0, sess_touch(s, 1, 1500)); /* same rounded deadline */
    CHECK_EQUAL(6000, sess_expire_at(s, 1));
    LONGS_EQUAL(0, sess_touch(s, 1, 3000)); /* round(7000) = 8000 */
    CHECK_EQUAL(8000, sess_expire_at(s, 1));

    std::vector<int64_t> due = expire(5999);
    CHECK_TRUE(due.empty());
    due = expire(6000);
    LONGS_EQUAL(1, due.size());
    CHECK_EQUAL(2, due[0]);
    CHECK_TRUE(sess_is_closing(s, 2));
    CHECK_FALSE(sess_is_closing(s, 1));
    CHECK_TRUE(expire(7999).empty());
    due = expire(8000);
    LONGS_EQUAL(1, due.size());
    CHECK_EQUAL(1, due[0]);
}

TEST(SessTable, TouchUnknownOrClosingIsExpired)
{
    LONGS_EQUAL(ZERR_SESSIONEXPIRED, sess_touch(s, 99, 0));
    LONGS_EQUAL(0, sess_add(s, 1, 4000, 0));
    sess_set_closing(s, 1);
    CHECK_TRUE(sess_is_closing(s, 1));
    LONGS_EQUAL(ZERR_SESSIONEXPIRED, sess_touch(s, 1, 1000));
    CHECK_EQUAL(0, sess_expire_at(s, 1));
    sess_set_closing(s, 12345); /* unknown: ignored */
    CHECK_FALSE(sess_is_closing(s, 12345));
}

TEST(SessTable, ExpireReturnsExactlyTheDueSessions)
{
    /* Sessions 1..30 with deadlines spread over buckets 4000..34000. */
    for (int64_t id = 1; id <= 30; id++)
        LONGS_EQUAL(0, sess_add(s, id, (int32_t)(id * 1000), 1000));
    /* round(1000 + id*1000) <= 10000  <=>  id <= 8 */
    std::vector<int64_t> due = expire(10000);
    std::vector<int64_t> want = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_TRUE(want == due);
    for (int64_t id = 1; id <= 30; id++)
        CHECK_EQUAL(id <= 8, sess_is_closing(s, id));
    /* Calling again at the same time returns nothing new. */
    CHECK_TRUE(expire(10000).empty());
    /* A jump far ahead returns the rest, once. */
    due = expire(1000000);
    LONGS_EQUAL(22, due.size());
    CHECK_EQUAL(9, due.front());
    CHECK_EQUAL(30, due.back());
    CHECK_TRUE(expire(2000000).empty());
    /* Expired sessions stay in the table until removed. */
    LONGS_EQUAL(30, sess_count(s));
    CHECK_EQUAL(INT64_MAX, sess_next_expiry(s));
}

TEST(SessTable, ExpireHonoursCapAndResumes)
{
    for (int64_t id = 1; id <= 10; id++)
        LONGS_EQUAL(0, sess_add(s, id, 4000, 0));
    int64_t ids[4];
    LONGS_EQUAL(4, sess_expire(s, 6000, ids, 4));
    LONGS_EQUAL(4, sess_expire(s, 6000, ids, 4));
    LONGS_EQUAL(2, sess_expire(s, 6000, ids, 4));
    LONGS_EQUAL(0, sess_expire(s, 6000, ids, 4));
    LONGS_EQUAL(0, sess_expire(s, 6000, ids, 0));
}

TEST(SessTable, ClosingSessionsAreNotExpiredAgain)
{
    LONGS_EQUAL(0, sess_add(s, 1, 4000, 0));
    LONGS_EQUAL(0, sess_add(s, 2, 4000, 0));
    sess_set_closing(s, 1); /* e.g. the client sent closeSession */
    std::vector<int64_t> due = expire(6000);
    LONGS_EQUAL(1, due.size());
    CHECK_EQUAL(2, due[0]);
    CHECK_TRUE(expire(60000).empty());
    CHECK_TRUE(sess_exists(s, 1));
}

TEST(SessTable, NextExpiryTracksEarliestBucket)
{
    CHECK_EQUAL(INT64_MAX, sess_next_expiry(s));
    LONGS_EQUAL(0, sess_add(s, 1, 10000, 0)); /* 12000 */
    LONGS_EQUAL(0, sess_add(s, 2, 4000, 0));  /* 6000 */
    CHECK_EQUAL(6000, sess_next_expiry(s));
    LONGS_EQUAL(1, expire(6000).size());
    CHECK_EQUAL(12000, sess_next_expiry(s));
}

static int collect(void *arg, int64_t id, int32_t timeout_ms)
{
    auto *v = static_cast<std::vector<std::pair<int64_t, int32_t>> *>(arg);
    v->push_back({id, timeout_ms});
    return v->size() == 100 ? 7 : 0;
}

TEST(SessTable, ForeachVisitsAllAndStops)
{
    for (int64_t id = 1; id <= 50; id++)
        LONGS_EQUAL(0, sess_add(s, id * 3, (int32_t)(1000 + id), 0));
    LONGS_EQUAL(0, sess_remove(s, 30));
    std::vector<std::pair<int64_t, int32_t>> seen;
    LONGS_EQUAL(0, sess_foreach(s, collect, &seen));
    LONGS_EQUAL(49, seen.size());
    std::sort(seen.begin(), seen.end());
    CHECK_EQUAL(3, seen[0].first);
    LONGS_EQUAL(1001, seen[0].second);
    for (auto &p : seen)
        CHECK(p.first != 30);
    for (int64_t id = 1000; id < 1100; id++)
        LONGS_EQUAL(0, sess_add(s, id, 5000, 0));
    seen.clear();
    LONGS_EQUAL(7, sess_foreach(s, collect, &seen));
    LONGS_EQUAL(100, seen.size());
}

// 100k sessions: add, touch half of them twice, expire, remove. Bounded:
// fails if a step does work far beyond linear (a quadratic bug would run
// for minutes; CTest's timeout or the loop bounds catch it).
TEST(SessTable, HundredThousandSessionsSmoke)
{
    const int64_t N = 100000;
    const int64_t base = sess_id_first(1700000000000LL, 1);
    for (int64_t i = 0; i < N; i++)
        LONGS_EQUAL(0, sess_add(s, base + i, (int32_t)(4000 + (i % 10) * 1000), i / 100));
    LONGS_EQUAL(N, sess_count(s));
    for (int round = 1; round <= 2; round++)
        for (int64_t i = 0; i < N; i += 2)
            LONGS_EQUAL(0, sess_touch(s, base + i, 20000 * round));
    /* Odd sessions were added by t=999 with timeouts <= 13000: all due by 16000. */
    std::vector<int64_t> due = expire(16000);
    LONGS_EQUAL(N / 2, due.size());
    for (int64_t id : due)
        LONGS_EQUAL(1, (id - base) % 2);
    /* Even ones were touched at 40000: due at round(40000 + timeout). */
    CHECK_TRUE(expire(40000).empty());
    due = expire(60000);
    LONGS_EQUAL(N / 2, due.size());
    for (int64_t i = 0; i < N; i++)
        LONGS_EQUAL(0, sess_remove(s, base + i));
    LONGS_EQUAL(0, sess_count(s));
}

TEST(SessTable, TouchForUsesItsTimeoutOnce)
{
    // trackSession of a session ZooKeeper already has (a createSession
    // request on it): due at round(now + that timeout), 0 meaning the next
    // tick; the next ordinary touch uses the session's own timeout again.
    LONGS_EQUAL(0, sess_add(s, 1, 30000, 0));
    LONGS_EQUAL(0, sess_touch_for(s, 1, 1000, 0));
    CHECK_EQUAL(2000, sess_expire_at(s, 1));
    LONGS_EQUAL(30000, sess_timeout_ms(s, 1));
    LONGS_EQUAL(0, sess_touch(s, 1, 1500));
    CHECK_EQUAL(32000, sess_expire_at(s, 1));
    LONGS_EQUAL(0, sess_touch_for(s, 1, 3000, 0));
    CHECK_TRUE(expire(3999).empty());
    std::vector<int64_t> due = expire(4000);
    LONGS_EQUAL(1, due.size());
    CHECK_EQUAL(1, due[0]);
    LONGS_EQUAL(ZERR_SESSIONEXPIRED, sess_touch_for(s, 2, 0, 0));
}

TEST(SessTable, OwnerIsTakenOnceThenMovesOnlyBySetOwner)
{
    LONGS_EQUAL(ZERR_UNKNOWNSESSION, sess_check_owner(s, 7, 2));
    LONGS_EQUAL(ZERR_SESSIONEXPIRED, sess_set_owner(s, 7, 2));
    LONGS_EQUAL(0, sess_add(s, 7, 4000, 0));
    LONGS_EQUAL(0, sess_check_owner(s, 7, 2)); // none yet: 2 takes it
    LONGS_EQUAL(0, sess_check_owner(s, 7, 2));
    LONGS_EQUAL(ZERR_SESSIONMOVED, sess_check_owner(s, 7, 3));
    LONGS_EQUAL(0, sess_set_owner(s, 7, 3)); // revalidated through 3
    LONGS_EQUAL(ZERR_SESSIONMOVED, sess_check_owner(s, 7, 2));
    LONGS_EQUAL(0, sess_check_owner(s, 7, 3));
    LONGS_EQUAL(0, sess_set_owner(s, 7, 0)); // a new leader forgets owners
    LONGS_EQUAL(0, sess_check_owner(s, 7, 2));
    sess_set_closing(s, 7);
    LONGS_EQUAL(ZERR_SESSIONEXPIRED, sess_check_owner(s, 7, 2));
}
