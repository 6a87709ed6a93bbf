// Bulk smoke tests: 100k registrations, hot paths, connection churn. Every
// loop is bounded; a quadratic regression shows up as a timeout in ctest.
#include "watch_test_util.h"

#include <stdio.h>

TEST_GROUP(WatchBulk)
{
    watch_reg *w = nullptr;
    void setup() override
    {
        w = watch_new();
        CHECK(w != nullptr);
    }
    void teardown() override { watch_free(w); }
};

static std::string node(int i)
{
    char p[64];
    snprintf(p, sizeof(p), "/app/svc%d/node%06d", i % 100, i);
    return p;
}

TEST(WatchBulk, HundredThousandOneShotWatchesFireOnce)
{
    const int N = 100000, WATCHERS = 1000;
    for (int i = 0; i < N; i++) {
        std::string p = node(i);
        LONGS_EQUAL(0, watch_add(w, WATCH_DATA, p.data(), p.size(), (uint64_t)(i % WATCHERS),
                                 WATCH_STANDARD));
    }
    LONGS_EQUAL(N, watch_count(w));
    LONGS_EQUAL(N, watch_path_count(w));
    LONGS_EQUAL(WATCHERS, watch_table_watcher_count(w, WATCH_DATA));
    watch_delivery *out = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < N; i++) {
        std::string p = node(i);
        size_t before = n;
        LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DATA_CHANGED, p.data(), p.size(), &out, &n, &cap));
        LONGS_EQUAL(before + 1, n);
        CHECK_EQUAL((uint64_t)(i % WATCHERS), out[before].watcher);
    }
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_path_count(w));
    n = 0;
    for (int i = 0; i < N; i += 997) {
        std::string p = node(i);
        LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DATA_CHANGED, p.data(), p.size(), &out, &n, &cap));
    }
    LONGS_EQUAL(0, n);
    free(out);
}

TEST(WatchBulk, PersistentAndRecursiveAtScale)
{
    const int N = 100000;
    for (int i = 0; i < N; i++) {
        std::string p = node(i);
        LONGS_EQUAL(0, watch_add(w, WATCH_DATA, p.data(), p.size(), (uint64_t)i, WATCH_PERSISTENT));
    }
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/app", 1u << 30, WATCH_RECURSIVE));
    LONGS_EQUAL(2 * N + 1, watch_count(w));
    watch_delivery *out = NULL;
    size_t n = 0, cap = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            std::string p = node(i);
            n = 0;
            LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_DATA_CHANGED, p.data(), p.size(), &out, &n, &cap));
            LONGS_EQUAL(2, n); /* its own persistent watch and the recursive one */
        }
    }
    LONGS_EQUAL(2 * N + 1, watch_count(w));
    free(out);
    /* Closing each connection removes its watches. */
    for (int i = 0; i < N; i++)
        watch_remove_watcher(w, (uint64_t)i);
    LONGS_EQUAL(1, watch_count(w));
    watch_remove_watcher(w, 1u << 30);
    LONGS_EQUAL(0, watch_count(w));
}

TEST(WatchBulk, HotPathWithManyWatchersAndChurn)
{
    /* 20k clients watch one lock parent; each fires and re-arms, then all
     * disconnect one by one (removal must not scan the path's whole list). */
    const int N = 20000;
    for (int i = 0; i < N; i++)
        LONGS_EQUAL(0, add(w, WATCH_CHILD, "/locks", (uint64_t)i, WATCH_STANDARD));
    watch_delivery *out = NULL;
    size_t n = 0, cap = 0;
    LONGS_EQUAL(0, watch_fire(w, WIRE_EVENT_CHILDREN_CHANGED, "/locks", 6, &out, &n, &cap));
    LONGS_EQUAL(N, n);
    free(out);
    LONGS_EQUAL(0, watch_count(w));
    for (int i = 0; i < N; i++) {
        LONGS_EQUAL(0, add(w, WATCH_CHILD, "/locks", (uint64_t)i, WATCH_STANDARD));
        LONGS_EQUAL(0, add(w, WATCH_DATA, "/locks", (uint64_t)i, WATCH_STANDARD));
    }
    for (int i = 0; i < N; i += 2)
        LONGS_EQUAL(0, rm(w, "/locks", (uint64_t)i, WATCH_TYPE_ANY));
    LONGS_EQUAL(N, watch_count(w));
    for (int i = 1; i < N; i += 2)
        watch_remove_watcher(w, (uint64_t)i);
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_table_path_count(w, WATCH_CHILD));
}
