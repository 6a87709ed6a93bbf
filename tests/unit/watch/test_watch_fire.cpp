// Which watchers an event reaches, per mode and table (WatchManager.triggerWatch).
#include "watch_test_util.h"

TEST_GROUP(WatchFire)
{
    watch_reg *w = nullptr;
    void setup() override
    {
        w = watch_new();
        CHECK(w != nullptr);
    }
    void teardown() override { watch_free(w); }
};

TEST(WatchFire, OneShotFiresOnce)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(1, watch_count(w));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_CHANGED, "/a").empty());
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_path_count(w));
}

TEST(WatchFire, ExistsWatchOnMissingPathFiresOnCreate)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/not/yet", 7, WATCH_STANDARD));
    CHECK_TRUE(fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/not/yet").empty());
    CHECK_TRUE(fire(w, WIRE_EVENT_CREATED, "/not").empty());
    CHECK_TRUE(ids({7}) == fire(w, WIRE_EVENT_CREATED, "/not/yet"));
    LONGS_EQUAL(0, watch_count(w));
}

TEST(WatchFire, AllWatchersOfPathFire)
{
    for (uint64_t id = 1; id <= 3; id++)
        LONGS_EQUAL(0, add(w, WATCH_CHILD, "/p", id, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/q", 4, WATCH_STANDARD));
    CHECK_TRUE(ids({1, 2, 3}) == fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/p"));
    CHECK_TRUE(ids({4}) == fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/q"));
    LONGS_EQUAL(0, watch_count(w));
}

TEST(WatchFire, AddingSameWatchTwiceIsOneRegistration)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(1, watch_count(w));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_CHANGED, "/a").empty());
}

TEST(WatchFire, PersistentStays)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_PERSISTENT));
    LONGS_EQUAL(2, watch_count(w)); /* one in each table, like getWatchCount */
    CHECK_TRUE(watch_has(w, WATCH_DATA, "/a", 2, 1));
    CHECK_TRUE(watch_has(w, WATCH_CHILD, "/a", 2, 1));
    for (int i = 0; i < 3; i++) {
        CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
        CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/a"));
    }
    CHECK_TRUE(fire(w, WIRE_EVENT_CREATED, "/a/b").empty());
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DELETED, "/a"));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_CREATED, "/a"));
    LONGS_EQUAL(2, watch_count(w));
}

TEST(WatchFire, RecursiveFiresForDescendantsNotChildrenChanged)
{
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/a", 1, WATCH_RECURSIVE)); /* table ignored */
    LONGS_EQUAL(1, watch_count(w));
    CHECK_FALSE(watch_has(w, WATCH_CHILD, "/a", 2, 1));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_CREATED, "/a/b/c"));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a/b"));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DELETED, "/a/b"));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    CHECK_TRUE(fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/a").empty());
    CHECK_TRUE(fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/a/b").empty());
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_CHANGED, "/ab").empty()); /* not a string prefix match */
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_CHANGED, "/").empty());
    CHECK_TRUE(fire(w, WIRE_EVENT_CREATED, "/b/a").empty());
    LONGS_EQUAL(1, watch_count(w));
}

TEST(WatchFire, RecursiveOnRootSeesEverything)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/", 9, WATCH_RECURSIVE));
    CHECK_TRUE(ids({9}) == fire(w, WIRE_EVENT_CREATED, "/x"));
    CHECK_TRUE(ids({9}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/x/y/z/w"));
    CHECK_TRUE(ids({9}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/"));
    CHECK_TRUE(fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/").empty());
}

TEST(WatchFire, DeleteHitsDataAndChildWatcherOnce)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/a", 2, WATCH_STANDARD));
    LONGS_EQUAL(3, watch_count(w));
    CHECK_TRUE(ids({1, 2}) == fire(w, WIRE_EVENT_DELETED, "/a"));
    /* Both of watcher 1's one-shot watches were consumed. */
    LONGS_EQUAL(0, watch_count(w));
}

TEST(WatchFire, OneDeliveryThroughSeveralRecursiveAncestors)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/", 1, WATCH_RECURSIVE));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_RECURSIVE));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a/b", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/a/b", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 2, WATCH_RECURSIVE));
    CHECK_TRUE(ids({1, 2}) == fire(w, WIRE_EVENT_DELETED, "/a/b"));
    LONGS_EQUAL(0u, modes(w, WATCH_DATA, "/a/b", 1));
    LONGS_EQUAL(0u, modes(w, WATCH_CHILD, "/a/b", 1));
    LONGS_EQUAL(3, watch_count(w));
}

TEST(WatchFire, ModesCoexistOnOnePath)
{
    /* 3.9 semantics: a one-shot getData watch beside a persistent one does
     * not downgrade the persistent watch. */
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_PERSISTENT));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_RECURSIVE));
    LONGS_EQUAL(M_STD | M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(2, watch_count(w));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    LONGS_EQUAL(M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_CREATED, "/a/b"));
}

TEST(WatchFire, OtherEventTypesReachNobody)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_PERSISTENT));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 2, WATCH_STANDARD));
    CHECK_TRUE(fire(w, WIRE_EVENT_NONE, "/a").empty());
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_WATCH_REMOVED, "/a").empty());
    CHECK_TRUE(fire(w, 99, "/a").empty());
    LONGS_EQUAL(3, watch_count(w));
}

TEST(WatchFire, AppendsToCallersArray)
{
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 5, WATCH_STANDARD));
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/b", 6, WATCH_STANDARD));
    watch_delivery *out = NULL;
    size_t n = 0, cap = 0;
    LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DATA_CHANGED, "/a", 2, &out, &n, &cap));
    LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DELETED, "/b", 2, &out, &n, &cap));
    LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DELETED, "/zzz", 4, &out, &n, &cap));
    LONGS_EQUAL(2, n);
    CHECK_EQUAL(5u, out[0].watcher);
    LONGS_EQUAL(WIRE_EVENT_DATA_CHANGED, out[0].event_type);
    CHECK_EQUAL(6u, out[1].watcher);
    LONGS_EQUAL(WIRE_EVENT_DELETED, out[1].event_type);
    free(out);
}

TEST(WatchFire, PathsAreBytesNotCStrings)
{
    const char buf[] = "/a/bXYZ";
    LONGS_EQUAL(0, watch_add(w, WATCH_DATA, buf, 4, 1, WATCH_STANDARD)); /* "/a/b" */
    CHECK_TRUE(watch_has(w, WATCH_DATA, "/a/b", 4, 1));
    CHECK_FALSE(watch_has(w, WATCH_DATA, buf, 5, 1));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a/b"));
}

TEST(WatchFire, AddRejectsBadArguments)
{
    LONGS_EQUAL(ZERR_BADARGUMENTS, add(w, (enum watch_table)2, "/a", 1, WATCH_STANDARD));
    LONGS_EQUAL(ZERR_BADARGUMENTS, add(w, WATCH_DATA, "/a", 1, (enum watch_mode)3));
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_table_path_count(w, WATCH_DATA));
}

/* Registration kinds at /a/b, each crossed with every event on /a/b, on a
 * child /a/b/c and on the parent /a. */
TEST(WatchFire, EventsByRegistrationTable)
{
    enum { DSTD, CSTD, PERS, RECU };
    static const struct {
        int reg;
        int32_t type;
        const char *path;
        bool fires;
    } rows[] = {
        /* one-shot data (getData/exists) */
        {DSTD, WIRE_EVENT_CREATED, "/a/b", true},
        {DSTD, WIRE_EVENT_DELETED, "/a/b", true},
        {DSTD, WIRE_EVENT_DATA_CHANGED, "/a/b", true},
        {DSTD, WIRE_EVENT_CHILDREN_CHANGED, "/a/b", false},
        {DSTD, WIRE_EVENT_CREATED, "/a/b/c", false},
        {DSTD, WIRE_EVENT_DELETED, "/a/b/c", false},
        {DSTD, WIRE_EVENT_DATA_CHANGED, "/a", false},
        /* one-shot child (getChildren) */
        {CSTD, WIRE_EVENT_CREATED, "/a/b", false},
        {CSTD, WIRE_EVENT_DELETED, "/a/b", true},
        {CSTD, WIRE_EVENT_DATA_CHANGED, "/a/b", false},
        {CSTD, WIRE_EVENT_CHILDREN_CHANGED, "/a/b", true},
        {CSTD, WIRE_EVENT_CHILDREN_CHANGED, "/a", false},
        {CSTD, WIRE_EVENT_DELETED, "/a/b/c", false},
        /* persistent */
        {PERS, WIRE_EVENT_CREATED, "/a/b", true},
        {PERS, WIRE_EVENT_DELETED, "/a/b", true},
        {PERS, WIRE_EVENT_DATA_CHANGED, "/a/b", true},
        {PERS, WIRE_EVENT_CHILDREN_CHANGED, "/a/b", true},
        {PERS, WIRE_EVENT_CREATED, "/a/b/c", false},
        {PERS, WIRE_EVENT_DELETED, "/a/b/c", false},
        {PERS, WIRE_EVENT_DATA_CHANGED, "/a/b/c", false},
        {PERS, WIRE_EVENT_CHILDREN_CHANGED, "/a", false},
        /* persistent recursive */
        {RECU, WIRE_EVENT_CREATED, "/a/b", true},
        {RECU, WIRE_EVENT_DELETED, "/a/b", true},
        {RECU, WIRE_EVENT_DATA_CHANGED, "/a/b", true},
        {RECU, WIRE_EVENT_CHILDREN_CHANGED, "/a/b", false},
        {RECU, WIRE_EVENT_CREATED, "/a/b/c", true},
        {RECU, WIRE_EVENT_DELETED, "/a/b/c", true},
        {RECU, WIRE_EVENT_DATA_CHANGED, "/a/b/c", true},
        {RECU, WIRE_EVENT_CHILDREN_CHANGED, "/a/b/c", false},
        {RECU, WIRE_EVENT_DATA_CHANGED, "/a", false},
        {RECU, WIRE_EVENT_DELETED, "/a", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        watch_reg *r = watch_new();
        switch (rows[i].reg) {
        case DSTD: LONGS_EQUAL(0, add(r, WATCH_DATA, "/a/b", 42, WATCH_STANDARD)); break;
        case CSTD: LONGS_EQUAL(0, add(r, WATCH_CHILD, "/a/b", 42, WATCH_STANDARD)); break;
        case PERS: LONGS_EQUAL(0, add(r, WATCH_DATA, "/a/b", 42, WATCH_PERSISTENT)); break;
        case RECU: LONGS_EQUAL(0, add(r, WATCH_DATA, "/a/b", 42, WATCH_RECURSIVE)); break;
        }
        size_t before = watch_count(r);
        ids got = fire(r, rows[i].type, rows[i].path);
        if (got != (rows[i].fires ? ids({42}) : ids()))
            FAIL(StringFromFormat("row %zu: event %d on %s fired %zu", i, (int)rows[i].type,
                                  rows[i].path, got.size())
                     .asCharString());
        /* One-shot watches are gone after firing; the others stay. */
        bool consumed = rows[i].fires && (rows[i].reg == DSTD || rows[i].reg == CSTD);
        LONGS_EQUAL(consumed ? 0 : before, watch_count(r));
        watch_free(r);
    }
}
