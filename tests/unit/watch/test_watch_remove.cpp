// removeWatches / checkWatches by WatcherType, connection cleanup, stats, dumps.
#include "watch_test_util.h"

TEST_GROUP(WatchRemove)
{
    watch_reg *w = nullptr;
    void setup() override
    {
        w = watch_new();
        CHECK(w != nullptr);
    }
    void teardown() override { watch_free(w); }

    /* Watcher 1 holds every kind of watch on /a. */
    void add_all()
    {
        LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
        LONGS_EQUAL(0, add(w, WATCH_CHILD, "/a", 1, WATCH_STANDARD));
        LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_PERSISTENT));
        LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_RECURSIVE));
        LONGS_EQUAL(M_STD | M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
        LONGS_EQUAL(M_STD | M_PER, modes(w, WATCH_CHILD, "/a", 1));
    }
};

TEST(WatchRemove, ChildrenRemovesOnlyOneShotChildWatch)
{
    add_all();
    LONGS_EQUAL(0, rm(w, "/a", 1, WATCH_TYPE_CHILDREN));
    LONGS_EQUAL(M_PER, modes(w, WATCH_CHILD, "/a", 1));
    LONGS_EQUAL(M_STD | M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 1, WATCH_TYPE_CHILDREN));
}

TEST(WatchRemove, DataRemovesOnlyOneShotDataWatch)
{
    add_all();
    LONGS_EQUAL(0, rm(w, "/a", 1, WATCH_TYPE_DATA));
    LONGS_EQUAL(M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(M_STD | M_PER, modes(w, WATCH_CHILD, "/a", 1));
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 1, WATCH_TYPE_DATA));
}

TEST(WatchRemove, PersistentRemovesPersistentFromBothTables)
{
    add_all();
    LONGS_EQUAL(0, rm(w, "/a", 1, WATCH_TYPE_PERSISTENT));
    LONGS_EQUAL(M_STD | M_REC, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(M_STD, modes(w, WATCH_CHILD, "/a", 1));
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 1, WATCH_TYPE_PERSISTENT));
}

TEST(WatchRemove, RecursiveRemovesOnlyRecursive)
{
    add_all();
    LONGS_EQUAL(0, rm(w, "/a", 1, WATCH_TYPE_RECURSIVE));
    LONGS_EQUAL(M_STD | M_PER, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(M_STD | M_PER, modes(w, WATCH_CHILD, "/a", 1));
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 1, WATCH_TYPE_RECURSIVE));
    /* The recursive index forgot it: descendants no longer fire. */
    CHECK_TRUE(fire(w, WIRE_EVENT_CREATED, "/a/x").empty());
}

TEST(WatchRemove, AnyRemovesEverything)
{
    add_all();
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 2, WATCH_STANDARD));
    LONGS_EQUAL(0, rm(w, "/a", 1, WATCH_TYPE_ANY));
    LONGS_EQUAL(0u, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(0u, modes(w, WATCH_CHILD, "/a", 1));
    LONGS_EQUAL(1, watch_count(w)); /* watcher 2's stays */
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 1, WATCH_TYPE_ANY));
    CHECK_TRUE(ids({2}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_table_path_count(w, WATCH_DATA));
    LONGS_EQUAL(0, watch_table_path_count(w, WATCH_CHILD));
}

TEST(WatchRemove, DryRunChecksWithoutRemoving)
{
    add_all();
    for (int32_t t = WATCH_TYPE_CHILDREN; t <= WATCH_TYPE_RECURSIVE; t++)
        LONGS_EQUAL(0, rm(w, "/a", 1, t, true));
    LONGS_EQUAL(M_STD | M_PER | M_REC, modes(w, WATCH_DATA, "/a", 1));
    LONGS_EQUAL(M_STD | M_PER, modes(w, WATCH_CHILD, "/a", 1));
}

TEST(WatchRemove, NoWatcherCases)
{
    add_all();
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a", 2, WATCH_TYPE_ANY));    /* another watcher */
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/b", 1, WATCH_TYPE_ANY));    /* another path */
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/a/b", 1, WATCH_TYPE_ANY));  /* below a recursive watch */
    LONGS_EQUAL(ZERR_NOWATCHER, rm(w, "/", 1, WATCH_TYPE_ANY, true));
    LONGS_EQUAL(ZERR_BADARGUMENTS, rm(w, "/a", 1, 0));
    LONGS_EQUAL(ZERR_BADARGUMENTS, rm(w, "/a", 1, 6));
    LONGS_EQUAL(ZERR_BADARGUMENTS, rm(w, "/a", 1, -1, true));
    LONGS_EQUAL(2, watch_count(w)); /* nothing was removed */
}

/* Each single registration crossed with each WatcherType: does it match? */
TEST(WatchRemove, MatchTable)
{
    enum { DSTD, CSTD, PERS, RECU };
    static const bool match[4][6] = {
        /*        -, Children, Data, Any,  Persistent, Recursive */
        /*DSTD*/ {0, 0, 1, 1, 0, 0},
        /*CSTD*/ {0, 1, 0, 1, 0, 0},
        /*PERS*/ {0, 0, 0, 1, 1, 0},
        /*RECU*/ {0, 0, 0, 1, 0, 1},
    };
    for (int reg = DSTD; reg <= RECU; reg++) {
        for (int32_t t = 1; t <= 5; t++) {
            for (int dry = 0; dry <= 1; dry++) {
                watch_reg *r = watch_new();
                switch (reg) {
                case DSTD: LONGS_EQUAL(0, add(r, WATCH_DATA, "/n", 3, WATCH_STANDARD)); break;
                case CSTD: LONGS_EQUAL(0, add(r, WATCH_CHILD, "/n", 3, WATCH_STANDARD)); break;
                case PERS: LONGS_EQUAL(0, add(r, WATCH_DATA, "/n", 3, WATCH_PERSISTENT)); break;
                case RECU: LONGS_EQUAL(0, add(r, WATCH_DATA, "/n", 3, WATCH_RECURSIVE)); break;
                }
                size_t before = watch_count(r);
                int rc = rm(r, "/n", 3, t, dry != 0);
                if (rc != (match[reg][t] ? 0 : ZERR_NOWATCHER))
                    FAIL(StringFromFormat("reg %d wtype %d dry %d: rc %d", reg, (int)t, dry, rc)
                             .asCharString());
                LONGS_EQUAL(match[reg][t] && !dry ? 0 : before, watch_count(r));
                watch_free(r);
            }
        }
    }
}

TEST(WatchRemove, RemoveWatcherCleansEverything)
{
    add_all();
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/", 1, WATCH_RECURSIVE));
    for (int i = 0; i < 50; i++) {
        char p[32];
        snprintf(p, sizeof(p), "/n%d", i);
        LONGS_EQUAL(0, add(w, (i & 1) ? WATCH_CHILD : WATCH_DATA, p, 1, WATCH_STANDARD));
        LONGS_EQUAL(0, add(w, WATCH_DATA, p, 2, WATCH_STANDARD));
    }
    LONGS_EQUAL(2, watch_table_watcher_count(w, WATCH_DATA));
    LONGS_EQUAL(1, watch_table_watcher_count(w, WATCH_CHILD));
    watch_remove_watcher(w, 1);
    LONGS_EQUAL(50, watch_count(w));
    LONGS_EQUAL(50, watch_path_count(w));
    LONGS_EQUAL(0, watch_table_count(w, WATCH_CHILD));
    LONGS_EQUAL(0, watch_table_path_count(w, WATCH_CHILD));
    LONGS_EQUAL(1, watch_table_watcher_count(w, WATCH_DATA));
    LONGS_EQUAL(0, watch_table_watcher_count(w, WATCH_CHILD));
    CHECK_TRUE(fire(w, WIRE_EVENT_DATA_CHANGED, "/a").empty());
    CHECK_TRUE(ids({2}) == fire(w, WIRE_EVENT_DELETED, "/n1"));
    watch_remove_watcher(w, 2);
    watch_remove_watcher(w, 2); /* unknown now: no-op */
    LONGS_EQUAL(0, watch_count(w));
    LONGS_EQUAL(0, watch_path_count(w));
    LONGS_EQUAL(0, watch_table_watcher_count(w, WATCH_DATA));
    /* The registry still works after being emptied. */
    LONGS_EQUAL(0, add(w, WATCH_DATA, "/a", 1, WATCH_STANDARD));
    CHECK_TRUE(ids({1}) == fire(w, WIRE_EVENT_DATA_CHANGED, "/a"));
}

struct seen_reg {
    std::string path;
    uint64_t watcher;
    int table, mode;
    bool operator<(const seen_reg &o) const
    {
        return std::tie(path, watcher, table, mode) < std::tie(o.path, o.watcher, o.table, o.mode);
    }
    bool operator==(const seen_reg &o) const
    {
        return path == o.path && watcher == o.watcher && table == o.table && mode == o.mode;
    }
};

static int collect(void *arg, const char *path, size_t len, uint64_t watcher,
                   enum watch_table t, enum watch_mode m)
{
    static_cast<std::vector<seen_reg> *>(arg)->push_back({std::string(path, len), watcher, t, m});
    return 0;
}

static int stop_at_two(void *arg, const char *, size_t, uint64_t, enum watch_table, enum watch_mode)
{
    return ++*static_cast<int *>(arg) == 2 ? -5 : 0;
}

TEST(WatchRemove, ForeachAndStats)
{
    add_all();
    LONGS_EQUAL(0, add(w, WATCH_CHILD, "/b", 2, WATCH_STANDARD));
    std::vector<seen_reg> got;
    LONGS_EQUAL(0, watch_foreach(w, collect, &got));
    std::sort(got.begin(), got.end());
    std::vector<seen_reg> want = {
        {"/a", 1, WATCH_DATA, WATCH_STANDARD},  {"/a", 1, WATCH_DATA, WATCH_PERSISTENT},
        {"/a", 1, WATCH_DATA, WATCH_RECURSIVE}, {"/a", 1, WATCH_CHILD, WATCH_STANDARD},
        {"/a", 1, WATCH_CHILD, WATCH_PERSISTENT}, {"/b", 2, WATCH_CHILD, WATCH_STANDARD},
    };
    std::sort(want.begin(), want.end());
    CHECK_TRUE(want == got);
    int calls = 0;
    LONGS_EQUAL(-5, watch_foreach(w, stop_at_two, &calls));
    LONGS_EQUAL(2, calls);
    LONGS_EQUAL(3, watch_count(w));
    LONGS_EQUAL(1, watch_table_count(w, WATCH_DATA));
    LONGS_EQUAL(2, watch_table_count(w, WATCH_CHILD));
    LONGS_EQUAL(1, watch_path_count(w));
    LONGS_EQUAL(2, watch_table_path_count(w, WATCH_CHILD));
    LONGS_EQUAL(2, watch_table_watcher_count(w, WATCH_CHILD));
}
