// Quotas as ZooKeeper 3.8 keeps them: zookeeper_stats upkeep on every kind
// of write, nested roots, snapshots, and the prep check with enforceQuota.
// Expected strings are what Apache ZooKeeper 3.8.0 shows for the same steps.
#include "zt_test_util.h"

#include <vector>

static const char *const Q = "/zookeeper/quota";

static std::string data_of(ZtDriver *d, const std::string &path)
{
    const zt_node *n = zt_lookup(d->t, wire_str_c(path.c_str()));
    if (n == NULL)
        return "<none>";
    wire_buf b = zt_node_data(n);
    return std::string((const char *)b.p, b.len > 0 ? (size_t)b.len : 0);
}

static std::string stats(ZtDriver *d, const std::string &root)
{
    return data_of(d, Q + root + "/zookeeper_stats");
}

// What zkCli's setquota writes: the quota path's parents, then the limits
// node, then the stats node with "count=0,bytes=0".
static void make_parents(ZtDriver *d, const std::string &root)
{
    std::string p = Q;
    for (size_t i = 1; i <= root.size(); i++)
        if (i == root.size() || root[i] == '/') {
            std::string q = p + root.substr(0, i);
            if (!d->exists(q.c_str()))
                LONGS_EQUAL(0, d->create(q.c_str()));
        }
}

static void setquota(ZtDriver *d, const std::string &root, const char *limits)
{
    make_parents(d, root);
    LONGS_EQUAL(0, d->create((Q + root + "/zookeeper_limits").c_str(), 0, limits));
    LONGS_EQUAL(0, d->create((Q + root + "/zookeeper_stats").c_str(), 0, "count=0,bytes=0"));
}

static const char *SOFT5 = "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1";

TEST_GROUP(ZtQuota)
{
    ZtDriver *d;
    void setup() override
    {
        d = new ZtDriver();
    }
    void teardown() override
    {
        delete d;
    }
};

TEST(ZtQuota, StatsNodeIsRecomputedWhenCreatedAndKeepsItsStat)
{
    d->create("/a", 0, "xy");
    d->create("/a/b", 0, "hello");
    setquota(d, "/a", SOFT5);
    STRCMP_EQUAL("count=2,bytes=7", stats(d, "/a").c_str());
    // The client's create answered with the stat of what it sent; the
    // server's rewrites never move mzxid or version.
    LONGS_EQUAL(15, d->out.res[0].stat.data_length);
    wire_stat st = d->stat("/zookeeper/quota/a/zookeeper_stats");
    CHECK(st.mzxid == st.czxid);
    LONGS_EQUAL(0, st.version);
    d->create("/a/c");
    st = d->stat("/zookeeper/quota/a/zookeeper_stats");
    CHECK(st.mzxid == st.czxid);
    LONGS_EQUAL(0, st.version);
    LONGS_EQUAL(15, st.data_length);
    // and no watch event for the stats node
    STRCMP_EQUAL("1:/a/c 4:/a ", d->events().c_str());
}

TEST(ZtQuota, CountGrowsByTwoAfterTwoCreates)
{
    d->create("/a");
    setquota(d, "/a", SOFT5);
    STRCMP_EQUAL("count=1,bytes=0", stats(d, "/a").c_str());
    d->create("/a/b", 0, "hello");
    d->create("/a/c");
    STRCMP_EQUAL("count=3,bytes=5", stats(d, "/a").c_str());
    STRCMP_EQUAL(SOFT5, data_of(d, "/zookeeper/quota/a/zookeeper_limits").c_str());
}

TEST(ZtQuota, DeleteAndSetDataMoveCountAndBytes)
{
    d->create("/a");
    setquota(d, "/a", SOFT5);
    d->create("/a/b", 0, "hello");
    d->create("/a/c", 0, "123");
    d->simple(WIRE_OP_SETDATA, "/a/b", -1, "hi");
    STRCMP_EQUAL("count=3,bytes=5", stats(d, "/a").c_str());
    d->simple(WIRE_OP_DELETE, "/a/c");
    STRCMP_EQUAL("count=2,bytes=2", stats(d, "/a").c_str());
    wire_write_req nul = zt_op(WIRE_OP_SETDATA, "/a/b");
    nul.data = {NULL, -1};
    d->write(nul);
    STRCMP_EQUAL("count=2,bytes=0", stats(d, "/a").c_str());
    // the quota root itself counts: gone and back
    d->simple(WIRE_OP_DELETE, "/a/b");
    d->simple(WIRE_OP_DELETE, "/a");
    STRCMP_EQUAL("count=0,bytes=0", stats(d, "/a").c_str());
    d->create("/a", 0, "abc");
    STRCMP_EQUAL("count=1,bytes=3", stats(d, "/a").c_str());
}

TEST(ZtQuota, NodesOutsideAnyRootChangeNothing)
{
    d->create("/a");
    d->create("/ab");
    setquota(d, "/a", SOFT5);
    d->create("/ab/x", 0, "zz"); // "/ab" is not under "/a"
    d->create("/b", 0, "zz");
    STRCMP_EQUAL("count=1,bytes=0", stats(d, "/a").c_str());
}

TEST(ZtQuota, MultiChargesEachOpAndAFailedMultiNothing)
{
    d->create("/a");
    setquota(d, "/a", SOFT5);
    wire_write_req ops[3] = {zt_op(WIRE_OP_CREATE, "/a/x"), zt_op(WIRE_OP_SETDATA, "/a/x"),
                             zt_op(WIRE_OP_CREATE, "/a/y")};
    ops[1].data = {(const uint8_t *)"four", 4};
    LONGS_EQUAL(0, d->multi(ops, 3));
    STRCMP_EQUAL("count=3,bytes=4", stats(d, "/a").c_str());
    wire_write_req bad[2] = {zt_op(WIRE_OP_CREATE, "/a/z"), zt_op(WIRE_OP_DELETE, "/a/none")};
    LONGS_EQUAL(ZERR_NONODE, d->multi(bad, 2));
    STRCMP_EQUAL("count=3,bytes=4", stats(d, "/a").c_str());
}

TEST(ZtQuota, SessionCloseAndDeleteContainerUncount)
{
    d->create("/a");
    setquota(d, "/a", SOFT5);
    d->session = 0x200;
    d->create("/a/e1", WIRE_MODE_EPHEMERAL, "abc");
    d->create("/a/e2", WIRE_MODE_EPHEMERAL_SEQUENTIAL, "d");
    d->session = 0x100;
    d->create("/a/c", WIRE_MODE_CONTAINER, "cc");
    STRCMP_EQUAL("count=4,bytes=6", stats(d, "/a").c_str());
    LONGS_EQUAL(0, d->close_session(0x200));
    STRCMP_EQUAL("count=2,bytes=2", stats(d, "/a").c_str());
    LONGS_EQUAL(0, d->delete_container("/a/c"));
    STRCMP_EQUAL("count=1,bytes=0", stats(d, "/a").c_str());
}

TEST(ZtQuota, OnlyTheDeepestRootIsCharged)
{
    // zkCli refuses nested quotas, raw clients do not (ZooKeeper: same counts)
    d->create("/n", 0, "12");
    d->create("/n/m", 0, "345");
    d->create("/n/m/k", 0, "6");
    setquota(d, "/n", "count=100,bytes=-1");
    setquota(d, "/n/m", "count=100,bytes=-1");
    STRCMP_EQUAL("count=3,bytes=6", stats(d, "/n").c_str());
    STRCMP_EQUAL("count=2,bytes=4", stats(d, "/n/m").c_str());
    d->create("/n/m/k2", 0, "77");
    d->create("/n/o", 0, "8");
    STRCMP_EQUAL("count=4,bytes=7", stats(d, "/n").c_str());
    STRCMP_EQUAL("count=3,bytes=6", stats(d, "/n/m").c_str());
}

TEST(ZtQuota, LimitsWithoutStatsAndStatsWithoutLimits)
{
    d->create("/w", 0, "1");
    make_parents(d, "/w");
    d->create("/zookeeper/quota/w/zookeeper_limits", 0, "count=1,bytes=1");
    d->create("/w/a", 0, "22"); // no stats node yet: skipped
    d->create("/zookeeper/quota/w/zookeeper_stats", 0, "");
    STRCMP_EQUAL("count=2,bytes=3", stats(d, "/w").c_str());
    // a stats node is recomputed when created, limits or not, and then left
    d->create("/v", 0, "1");
    make_parents(d, "/v");
    d->create("/zookeeper/quota/v/zookeeper_stats", 0, "foo");
    STRCMP_EQUAL("count=1,bytes=1", stats(d, "/v").c_str());
    d->create("/v/b", 0, "22");
    STRCMP_EQUAL("count=1,bytes=1", stats(d, "/v").c_str());
}

TEST(ZtQuota, DeletingTheLimitsStopsTheUpkeep)
{
    d->create("/u");
    setquota(d, "/u", SOFT5);
    d->create("/u/x", 0, "1");
    d->simple(WIRE_OP_DELETE, "/zookeeper/quota/u/zookeeper_limits");
    d->create("/u/y", 0, "12345");
    STRCMP_EQUAL("count=2,bytes=1", stats(d, "/u").c_str());
    // and recreating them brings it back (stats as they were left)
    d->create("/zookeeper/quota/u/zookeeper_limits", 0, SOFT5);
    d->create("/u/z");
    STRCMP_EQUAL("count=3,bytes=1", stats(d, "/u").c_str());
}

TEST(ZtQuota, OtherKeysInStatsAreKeptSorted)
{
    d->create("/n");
    setquota(d, "/n", SOFT5);
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/n/zookeeper_stats", -1,
              "count=5,bytes=5,zeta=1;alpha=2");
    d->create("/n/p");
    STRCMP_EQUAL("count=6,bytes=5=;alpha=2;zeta=1", stats(d, "/n").c_str());
    // a repeated key keeps its last value; "k==5" reads as -1; "a=5=x" as 5
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/n/zookeeper_stats", -1,
              "count=1,count=2;bytes=3=x,,q==5;;");
    d->create("/n/q");
    STRCMP_EQUAL("count=3,bytes=3=;q=-1", stats(d, "/n").c_str());
    // missing count/bytes read as -1
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/n/zookeeper_stats", -1, "");
    d->create("/n/r", 0, "ab");
    STRCMP_EQUAL("count=0,bytes=1", stats(d, "/n").c_str());
}

TEST(ZtQuota, UnreadableStatsAreLeftAlone)
{
    // ZooKeeper's apply thread dies here; we keep serving and keep the bytes.
    d->create("/n");
    setquota(d, "/n", SOFT5);
    int i = 0;
    for (const char *bad :
         {"garbage", ",count=1", "count=", "count=x", "count=99999999999999999999", "=", "a=1,b"}) {
        d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/n/zookeeper_stats", -1, bad);
        LONGS_EQUAL(0, d->create(("/n/k" + std::to_string(i++)).c_str()));
        STRCMP_EQUAL(bad, stats(d, "/n").c_str());
    }
}

TEST(ZtQuota, RewritesDoNotMoveTheApproximateDataSize)
{
    d->create("/a");
    setquota(d, "/a", SOFT5);
    int64_t before = zt_data_size(d->t);
    const char *path = "/a/bbbbbbbbbbbb";
    d->create(path, 0, "0123456789");
    // "count=1,bytes=0" -> "count=2,bytes=10" is not seen, as in ZooKeeper
    LONGS_EQUAL(before + (int64_t)strlen(path) + 10, zt_data_size(d->t));
    STRCMP_EQUAL("count=2,bytes=10", stats(d, "/a").c_str());
}

TEST(ZtQuota, PathQuirksOfZooKeeper)
{
    // PathTrie drops blank components: "/sp/ /t/in" is charged to "/sp/t"
    d->create("/sp");
    d->create("/sp/ ");
    d->create("/sp/ /t", 0, "q");
    setquota(d, "/sp/t", "count=1");
    STRCMP_EQUAL("count=0,bytes=0", stats(d, "/sp/t").c_str());
    d->create("/sp/ /t/in", 0, "qq");
    STRCMP_EQUAL("count=1,bytes=2", stats(d, "/sp/t").c_str());
    // "/zookeeper/quotaX/zookeeper_limits" makes "/X" a root (the 16
    // characters are cut, then "X" is split into components)
    d->create("/zookeeper/quotaX");
    d->create("/zookeeper/quotaX/zookeeper_limits", 0, "count=1");
    d->create("/X");
    make_parents(d, "/X");
    d->create("/zookeeper/quota/X/zookeeper_stats");
    d->create("/X/c", 0, "zz");
    STRCMP_EQUAL("count=2,bytes=2", stats(d, "/X").c_str());
    // Names that crash ZooKeeper 3.8 are plain nodes here.
    LONGS_EQUAL(0, d->create("/zookeeper/quota/zookeeper_limits", 0, "count=1"));
    LONGS_EQUAL(0, d->create("/zookeeperfoo"));
    LONGS_EQUAL(0, d->create("/zookeeperfoo/zookeeper_limits"));
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/zookeeperfoo/zookeeper_limits"));
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/zookeeper/quota/zookeeper_limits"));
    LONGS_EQUAL(0, d->create("/after"));
    // the root-wide stats node counts the whole tree
    LONGS_EQUAL(0, d->create("/zookeeper/quota/zookeeper_stats"));
    std::string want = "count=" + std::to_string(zt_node_count(d->t)) + ",bytes=";
    STRCMP_EQUAL(want.c_str(),
                 data_of(d, "/zookeeper/quota/zookeeper_stats").substr(0, want.size()).c_str());
}

// ---- snapshots --------------------------------------------------------------

static int collect(void *arg, const void *p, size_t n)
{
    auto *v = static_cast<std::vector<uint8_t> *>(arg);
    v->insert(v->end(), (const uint8_t *)p, (const uint8_t *)p + n);
    return 0;
}

static int no_sessions(void *, int64_t, int32_t)
{
    return 0;
}

static void reload(ZtDriver *d)
{
    std::vector<uint8_t> bytes;
    LONGS_EQUAL(0, zt_snapshot_encode(d->t, NULL, 0, collect, &bytes));
    zt_tree *t = NULL;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                      no_sessions, NULL, &t));
    zt_free(d->t);
    d->t = t;
}

TEST(ZtQuota, SnapshotRoundTripKeepsStatsAndRoots)
{
    d->create("/a", 0, "xy");
    setquota(d, "/a", SOFT5);
    d->create("/a/b", 0, "hello");
    d->create("/a/c");
    std::string before = stats(d, "/a");
    reload(d);
    STRCMP_EQUAL(before.c_str(), stats(d, "/a").c_str());
    // the root is live again after the load
    d->create("/a/d", 0, "1");
    STRCMP_EQUAL("count=4,bytes=8", stats(d, "/a").c_str());
    d->simple(WIRE_OP_DELETE, "/a/b");
    STRCMP_EQUAL("count=3,bytes=3", stats(d, "/a").c_str());
}

TEST(ZtQuota, SnapshotLoadRecomputesStatsOfEveryRoot)
{
    // What ZooKeeper's setupQuota does: "count=N,bytes=M" from the subtree,
    // whatever the stats node held, nested subtrees included; stats nodes
    // without limits, and limits that have children, are left.
    d->create("/n", 0, "12");
    d->create("/n/m", 0, "345");
    setquota(d, "/n", "count=100,bytes=-1");
    setquota(d, "/n/m", "count=100,bytes=-1");
    d->create("/n/m/k", 0, "6");
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/n/zookeeper_stats", -1, "count=9,bytes=9,z=1");
    d->create("/v", 0, "1");
    make_parents(d, "/v");
    d->create("/zookeeper/quota/v/zookeeper_stats");
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/v/zookeeper_stats", -1, "count=7,bytes=7");
    d->create("/l");
    setquota(d, "/l", SOFT5);
    d->create("/zookeeper/quota/l/zookeeper_limits/kid");
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/l/zookeeper_stats", -1, "count=8,bytes=8");
    wire_stat st0 = d->stat("/zookeeper/quota/n/zookeeper_stats");
    reload(d);
    STRCMP_EQUAL("count=3,bytes=6", stats(d, "/n").c_str());
    STRCMP_EQUAL("count=2,bytes=4", stats(d, "/n/m").c_str());
    STRCMP_EQUAL("count=7,bytes=7", stats(d, "/v").c_str());
    STRCMP_EQUAL("count=8,bytes=8", stats(d, "/l").c_str());
    wire_stat st1 = d->stat("/zookeeper/quota/n/zookeeper_stats");
    CHECK(st0.mzxid == st1.mzxid);
    LONGS_EQUAL(st0.version, st1.version);
    // "/l" is not a root after the load: its limits node has a child
    d->create("/l/x");
    STRCMP_EQUAL("count=8,bytes=8", stats(d, "/l").c_str());
}

// ---- the check in prep ---------------------------------------------------------

TEST_GROUP(ZtQuotaCheck)
{
    ZtDriver *d;
    zt_quota_notes notes;
    void setup() override
    {
        d = new ZtDriver();
        memset(&notes, 0, sizeof notes);
        d->quota_notes = &notes;
        d->create("/a");
        setquota(d, "/a", "count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3");
        memset(&notes, 0, sizeof notes);
    }
    void teardown() override
    {
        delete d;
    }
    std::string note(size_t i)
    {
        const zt_quota_note &x = notes.v[i];
        return std::string(x.root.p, (size_t)x.root.len) + " " + std::to_string(x.kind) + " " +
               (x.is_hard ? "hard " : "soft ") + std::to_string(x.value) + ">" +
               std::to_string(x.limit) + " " + std::string(x.path.p, (size_t)x.path.len);
    }
};

TEST(ZtQuotaCheck, HardCountLimitAnswersQuotaExceededWhenEnforced)
{
    d->enforce_quota = true;
    LONGS_EQUAL(0, d->create("/a/b"));
    LONGS_EQUAL(0, d->create("/a/c")); // count 3: not past 3
    LONGS_EQUAL(0u, notes.n);
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->create("/a/d"));
    LONGS_EQUAL(WIRE_OP_ERROR, d->out.res[0].type); // an ErrorTxn, logged and applied
    CHECK_FALSE(d->exists("/a/d"));
    STRCMP_EQUAL("count=3,bytes=0", stats(d, "/a").c_str());
    LONGS_EQUAL(1u, notes.n);
    STRCMP_EQUAL("/a 1 hard 4>3 /a/d", note(0).c_str());
}

TEST(ZtQuotaCheck, HardLimitOnlyWarnsWhenNotEnforced)
{
    d->create("/a/b");
    d->create("/a/c");
    LONGS_EQUAL(0, d->create("/a/d"));
    STRCMP_EQUAL("count=4,bytes=0", stats(d, "/a").c_str());
    LONGS_EQUAL(1u, notes.n);
    STRCMP_EQUAL("/a 1 hard 4>3 /a/d", note(0).c_str());
}

TEST(ZtQuotaCheck, SoftLimitsWarnAndPass)
{
    d->enforce_quota = true;
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1, "count=1,bytes=2");
    LONGS_EQUAL(0, d->create("/a/b", 0, "abc"));
    LONGS_EQUAL(2u, notes.n);
    STRCMP_EQUAL("/a 1 soft 2>1 /a/b", note(0).c_str());
    STRCMP_EQUAL("/a 2 soft 3>2 /a/b", note(1).c_str());
    // a hard limit, when set, replaces the soft one
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1,
              "countHardLimit=100;count=1");
    notes.n = 0;
    LONGS_EQUAL(0, d->create("/a/c"));
    LONGS_EQUAL(0u, notes.n);
}

TEST(ZtQuotaCheck, BytesOfCreateAndSetDataAndTheSequentialName)
{
    d->enforce_quota = true;
    LONGS_EQUAL(0, d->create("/a/b", 0, "123456"));
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->simple(WIRE_OP_SETDATA, "/a/b", -1, "12345678901"));
    // checked before the version
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->simple(WIRE_OP_SETDATA, "/a/b", 77, "12345678901"));
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_SETDATA, "/a/b", 77, "1234567890"));
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a/b", -1, "1234567890"));
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->create("/a/s", WIRE_MODE_PERSISTENT_SEQUENTIAL, "x"));
    STRCMP_EQUAL("/a 2 hard 11>10 /a/s", note(notes.n - 1).c_str());
    // zero-byte changes are not checked, other errors come first
    LONGS_EQUAL(0, d->create("/a/e"));
    LONGS_EQUAL(ZERR_NODEEXISTS, d->create("/a/e", 0, "xxxxxxxxxxxxxxxxxxxx"));
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_SETDATA, "/a/none", -1, "xxxxxxxxxxxxxxxxxxx"));
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->create("/a/f")); // count 4 > 3
}

TEST(ZtQuotaCheck, MultiChecksAgainstTheTreeAndEarlierData)
{
    d->enforce_quota = true;
    d->create("/a/b");
    // one slot left, two creates: both see count 2 in the tree (ZooKeeper too)
    wire_write_req two[2] = {zt_op(WIRE_OP_CREATE, "/a/m1"), zt_op(WIRE_OP_CREATE, "/a/m2")};
    LONGS_EQUAL(0, d->multi(two, 2));
    STRCMP_EQUAL("count=4,bytes=0", stats(d, "/a").c_str());
    wire_write_req over[2] = {zt_op(WIRE_OP_CREATE, "/a/m3"), zt_op(WIRE_OP_CREATE, "/a/m4")};
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->multi(over, 2));
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->out.res[1].err);
    LONGS_EQUAL(ZERR_RUNTIMEINCONSISTENCY, d->out.res[2].err);
    // setData replaces the bytes an earlier op of the multi wrote: 6 in the
    // tree, "xx" then 9 bytes is 6 + (9 - 2) = 13 > 10
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1,
              "count=-1,bytes=-1;byteHardLimit=10");
    d->simple(WIRE_OP_SETDATA, "/a/b", -1, "123456");
    wire_write_req sets[2] = {zt_op(WIRE_OP_SETDATA, "/a/b"), zt_op(WIRE_OP_SETDATA, "/a/b")};
    sets[0].data = {(const uint8_t *)"xx", 2};
    sets[1].data = {(const uint8_t *)"123456789", 9};
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->multi(sets, 2));
    LONGS_EQUAL(0, d->out.res[1].err);
    // a node created earlier in the multi: its data is what is replaced
    wire_write_req cs[2] = {zt_op(WIRE_OP_CREATE, "/a/n"), zt_op(WIRE_OP_SETDATA, "/a/n")};
    cs[1].data = {(const uint8_t *)"12345", 5};
    LONGS_EQUAL(ZERR_QUOTAEXCEEDED, d->multi(cs, 2));
    STRCMP_EQUAL("count=4,bytes=6", stats(d, "/a").c_str());
}

TEST(ZtQuotaCheck, UnreadableLimitsAreMarshallingErrorsWhenEnforced)
{
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1, "count=abc");
    LONGS_EQUAL(0, d->create("/a/x"));
    LONGS_EQUAL(ZT_QUOTA_UNREADABLE, notes.v[0].kind);
    d->enforce_quota = true;
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, d->create("/a/y"));
    // empty limits: nothing to check
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1, "");
    LONGS_EQUAL(0, d->create("/a/z"));
    // stats are read only when a limit applies to what changes
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_limits", -1, "count=1,bytes=-1");
    d->simple(WIRE_OP_SETDATA, "/zookeeper/quota/a/zookeeper_stats", -1, "garbage");
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a/z", -1, "abc"));
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, d->create("/a/w"));
}

TEST(ZtQuotaCheck, NoRootsNoNotes)
{
    d->enforce_quota = true;
    d->simple(WIRE_OP_DELETE, "/zookeeper/quota/a/zookeeper_limits");
    for (int i = 0; i < 5; i++)
        LONGS_EQUAL(0, d->create(("/a/k" + std::to_string(i)).c_str(), 0, "0123456789abc"));
    LONGS_EQUAL(0u, notes.n);
}
