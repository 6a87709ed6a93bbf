// Tree semantics through prep + apply: stats, errors in ZooKeeper's order,
// sequential names, multi, sessions, containers and TTL nodes.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "zt_test_util.h"

TEST_GROUP(ZtTree)
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

TEST(ZtTree, FreshTreeShowsZooKeepersSpecialNodes)
{
    wire_stat root = d->stat("/"), zk = d->stat("/zookeeper"), cfg = d->stat("/zookeeper/config");
    LONGS_EQUAL(-1, root.cversion); // 2 * 0 creations - 1 child
    LONGS_EQUAL(1, root.num_children);
    LONGS_EQUAL(-2, zk.cversion);
    LONGS_EQUAL(2, zk.num_children);
    LONGS_EQUAL(-1, cfg.aversion);
    const wire_acl *acl;
    int32_t n;
    zt_node_acl(d->t, zt_lookup(d->t, wire_str_c("/zookeeper/config")), &acl, &n);
    LONGS_EQUAL(1, n);
    LONGS_EQUAL(WIRE_PERM_READ, acl[0].perms);
}

TEST(ZtTree, CreateSetsStatAndMovesParent)
{
    d->now = 5555;
    LONGS_EQUAL(0, d->create("/a", 0, "hello"));
    wire_stat a = d->stat("/a");
    CHECK(a.czxid == 1 && a.mzxid == 1 && a.pzxid == 1);
    CHECK(a.ctime == 5555 && a.mtime == 5555);
    LONGS_EQUAL(5, a.data_length);
    LONGS_EQUAL(0, a.version);
    CHECK(a.ephemeral_owner == 0);
    STRCMP_EQUAL("/a", d->created_path().c_str());
    STRCMP_EQUAL("1:/a 4:/ ", d->events().c_str());
    wire_stat root = d->stat("/");
    CHECK(root.pzxid == 1);
    LONGS_EQUAL(0, root.cversion); // 2 * 1 creation - 2 children
}

TEST(ZtTree, DeleteMovesPzxidAndVisibleCversionButNotTheSequenceCounter)
{
    d->create("/p");
    d->create("/p/a");
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/p/a"));
    wire_stat p = d->stat("/p");
    LONGS_EQUAL(2, p.cversion);
    CHECK(p.pzxid == 3);
    STRCMP_EQUAL("2:/p/a 4:/p ", d->events().c_str());
    d->create("/p/s-", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    STRCMP_EQUAL("/p/s-0000000001", d->created_path().c_str());
}

TEST(ZtTree, SequentialSuffixIsTenDigits)
{
    d->create("/q");
    for (int i = 0; i < 3; i++)
        d->create("/q/n", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    STRCMP_EQUAL("/q/n0000000002", d->created_path().c_str());
    d->create("/q/", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    STRCMP_EQUAL("/q/0000000003", d->created_path().c_str());
}

TEST(ZtTree, FailedWritesSpendAZxid)
{
    d->create("/a");
    LONGS_EQUAL(ZERR_NODEEXISTS, d->create("/a"));
    CHECK(d->zxid == 2);
    LONGS_EQUAL(WIRE_OP_ERROR, d->out.res[0].type);
    LONGS_EQUAL(ZERR_NODEEXISTS, d->out.res[0].err);
    d->create("/b");
    CHECK(d->stat("/b").czxid == 3);
}

TEST(ZtTree, CreateErrors)
{
    LONGS_EQUAL(ZERR_NONODE, d->create("/x/y"));
    d->session = 0x77;
    d->create("/e", WIRE_MODE_EPHEMERAL);
    CHECK(d->stat("/e").ephemeral_owner == 0x77);
    LONGS_EQUAL(ZERR_NOCHILDRENFOREPHEMERALS, d->create("/e/c"));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/bad", 9));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/zookeeper/"));
    LONGS_EQUAL(ZERR_NONODE, d->create("/missing/"));
    static const wire_acl none[1] = {};
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/noacl", none, 0));
}

TEST(ZtTree, DeleteChecksInZooKeepersOrder)
{
    static const wire_acl no_delete[] = {
        {WIRE_PERM_ALL & ~WIRE_PERM_DELETE, {"world", 5}, {"anyone", 6}}};
    d->create_acl("/locked", no_delete, 1);
    // missing child under a parent we may not delete from: NOAUTH, not NONODE
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_DELETE, "/locked/none"));
    d->create("/p");
    d->create("/p/c");
    // BADVERSION is checked before NOTEMPTY
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_DELETE, "/p", 5));
    LONGS_EQUAL(ZERR_NOTEMPTY, d->simple(WIRE_OP_DELETE, "/p", 0));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_DELETE, "/zookeeper"));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_DELETE, "/"));
}

TEST(ZtTree, SetDataBumpsVersionAndMzxid)
{
    d->create("/a");
    d->now = 9000;
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a", 0, "v1"));
    wire_stat a = d->stat("/a");
    LONGS_EQUAL(1, a.version);
    CHECK(a.mzxid == 2 && a.czxid == 1 && a.mtime == 9000);
    STRCMP_EQUAL("3:/a ", d->events().c_str());
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_SETDATA, "/a", 0, "v2"));
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_SETDATA, "/nope", -1));
}

// Data lives in the node's own allocation while it fits the room the node
// was created with, and on the heap when it outgrows it; every size change
// keeps the bytes, the length and the tree's data size right (ASan and LSan
// check the rest).
TEST(ZtTree, DataGrowsAndShrinksAroundTheNodesOwnRoom)
{
    auto data = [&](const char *p) {
        wire_buf b = zt_node_data(zt_lookup(d->t, wire_str_c(p)));
        return b.len < 0 ? std::string("<null>") : std::string((const char *)b.p, (size_t)b.len);
    };
    int64_t size0 = zt_data_size(d->t);
    d->create("/d", 0, "hello");
    STRCMP_EQUAL("hello", data("/d").c_str());
    const char *sizes[] = {"abc", "a much longer value", "wxyz", "", "hello", "0123456789"};
    for (const char *v : sizes) {
        LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/d", -1, v));
        STRCMP_EQUAL(v, data("/d").c_str());
        LONGS_EQUAL(size0 + 2 + (int64_t)strlen(v), zt_data_size(d->t));
    }
    d->create("/e"); // created without data: no room, always the heap
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/e", -1, "xy"));
    STRCMP_EQUAL("xy", data("/e").c_str());
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/d"));
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/e"));
    LONGS_EQUAL(size0, zt_data_size(d->t));
}

// The path index (open addressing, backward-shift deletion): after random
// creates and deletes across several table growths, every path is found
// exactly when the model says it exists, and the counts agree.
TEST(ZtTree, PathIndexFollowsRandomCreatesAndDeletes)
{
    std::set<std::string> model;
    uint32_t x = 7;
    auto rnd = [&]() { return x = x * 1103515245u + 12345u, (x >> 8) % 4000; };
    for (const char *p : {"/p0", "/p1", "/p2", "/p3"})
        d->create(p);
    size_t base = zt_node_count(d->t);
    for (int step = 0; step < 20000; step++) {
        uint32_t k = rnd();
        std::string path = "/p" + std::to_string(k % 4) + "/n" + std::to_string(k);
        if (model.count(path)) {
            LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, path.c_str()));
            model.erase(path);
        } else {
            LONGS_EQUAL(0, d->create(path.c_str()));
            model.insert(path);
        }
    }
    LONGS_EQUAL(base + model.size(), zt_node_count(d->t));
    for (uint32_t k = 0; k < 4000; k++) {
        std::string path = "/p" + std::to_string(k % 4) + "/n" + std::to_string(k);
        const zt_node *n = zt_lookup(d->t, wire_str_c(path.c_str()));
        CHECK_EQUAL(model.count(path) == 1, n != NULL);
        if (n != NULL)
            STRCMP_EQUAL(path.c_str(), std::string(zt_node_path(n).p, (size_t)zt_node_path(n).len).c_str());
    }
    CHECK(zt_digest(d->t) == zt_digest_recompute(d->t));
}

static void multi_op(wire_write_req *q, int32_t type, const char *path, int32_t version = -1)
{
    static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    memset(q, 0, sizeof *q);
    q->type = type;
    q->path = wire_str_c(path);
    q->version = version;
    q->acl = (wire_acl *)open_acl;
    q->n_acl = 1;
}

static int run_multi(ZtDriver *d, wire_write_req *ops, int n)
{
    wire_multi_req m = {ops, n};
    zt_auth a;
    zt_prep_ctx c = d->ctx(&a);
    wire_wr w;
    wire_wr_init(&w);
    int rc = d->commit(&w, zt_prep_multi(d->t, &c, &m, &w));
    wire_wr_fini(&w);
    return rc;
}

TEST(ZtTree, MultiSeesEarlierOpsAndAppliesAtomically)
{
    wire_write_req ops[3];
    multi_op(&ops[0], WIRE_OP_CREATE, "/m");
    multi_op(&ops[1], WIRE_OP_CREATE, "/m/child");
    multi_op(&ops[2], WIRE_OP_CHECK, "/m", 0);
    LONGS_EQUAL(0, run_multi(d, ops, 3));
    CHECK_TRUE(d->exists("/m/child"));
    LONGS_EQUAL(4, d->out.n_res);
    CHECK(d->stat("/m").czxid == d->stat("/m/child").czxid); // one zxid
}

TEST(ZtTree, FailedMultiChangesNothingAndReportsPerOp)
{
    wire_write_req ops[3];
    multi_op(&ops[0], WIRE_OP_CREATE, "/f");
    multi_op(&ops[1], WIRE_OP_DELETE, "/nothing");
    multi_op(&ops[2], WIRE_OP_CREATE, "/g");
    LONGS_EQUAL(ZERR_NONODE, run_multi(d, ops, 3));
    CHECK_FALSE(d->exists("/f"));
    CHECK_FALSE(d->exists("/g"));
    LONGS_EQUAL(0, d->out.res[1].err);
    LONGS_EQUAL(ZERR_NONODE, d->out.res[2].err);
    LONGS_EQUAL(ZERR_RUNTIMEINCONSISTENCY, d->out.res[3].err);
    LONGS_EQUAL(0, d->out.n_ev);
}

TEST(ZtTree, CloseSessionDeletesExactlyItsEphemerals)
{
    d->session = 0xa;
    d->create("/ea", WIRE_MODE_EPHEMERAL);
    d->session = 0xb;
    d->create("/eb", WIRE_MODE_EPHEMERAL);
    d->session = 0xa;
    zt_auth a;
    zt_prep_ctx c = d->ctx(&a);
    wire_wr w;
    wire_wr_init(&w);
    d->commit(&w, zt_prep_close_session(d->t, &c, &w));
    wire_wr_fini(&w);
    CHECK_FALSE(d->exists("/ea"));
    CHECK_TRUE(d->exists("/eb"));
    STRCMP_EQUAL("2:/ea 4:/ ", d->events().c_str());
    LONGS_EQUAL(1, zt_ephemeral_count(d->t));
}

TEST(ZtTree, ContainersAndTtlNodesHideTheirMarkerAndComeDue)
{
    d->create("/c", WIRE_MODE_CONTAINER);
    CHECK(d->stat("/c").ephemeral_owner == 0);
    wire_wr due;
    wire_wr_init(&due);
    LONGS_EQUAL(0, zt_containers_due(d->t, d->now, 10, &due)); // never had a child
    d->create("/c/x");
    d->simple(WIRE_OP_DELETE, "/c/x");
    LONGS_EQUAL(1, zt_containers_due(d->t, d->now, 10, &due));
    STRCMP_EQUAL("/c", (const char *)due.p);
    wire_wr_reset(&due);
    d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 100);
    CHECK(d->stat("/t").ephemeral_owner == 0);
    LONGS_EQUAL(1, zt_containers_due(d->t, d->now + 50, 10, &due)); // only /c
    wire_wr_reset(&due);
    LONGS_EQUAL(2, zt_containers_due(d->t, d->now + 101, 10, &due));
    wire_wr_fini(&due);
}

TEST(ZtTree, TtlNeedsExtendedTypesAndARange)
{
    d->extended = false;
    LONGS_EQUAL(ZERR_UNIMPLEMENTED, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 100));
    d->extended = true;
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 0));
    LONGS_EQUAL(ZERR_BADARGUMENTS,
                d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", ZT_TTL_MAX + 1));
    LONGS_EQUAL(0, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", ZT_TTL_MAX));
}

TEST(ZtTree, CountDescendantsWalksTheSubtree)
{
    d->create("/r");
    d->create("/r/a");
    d->create("/r/a/b");
    d->create("/r/c");
    LONGS_EQUAL(3, zt_count_descendants(zt_lookup(d->t, wire_str_c("/r"))));
}

TEST(ZtTree, ManyNodesCreateAndDelete)
{
    char path[32];
    d->create("/bulk");
    for (int i = 0; i < 20000; i++) {
        snprintf(path, sizeof path, "/bulk/n%d", i);
        LONGS_EQUAL(0, d->create(path));
    }
    LONGS_EQUAL(20000, d->stat("/bulk").num_children);
    for (int i = 0; i < 20000; i++) {
        snprintf(path, sizeof path, "/bulk/n%d", i);
        LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, path));
    }
    LONGS_EQUAL(0, d->stat("/bulk").num_children);
    LONGS_EQUAL(5, zt_node_count(d->t));
}

TEST_GROUP(ZtChildren)
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

TEST(ZtChildren, ListedInZooKeepersHashSetOrder)
{
    // Read from ZooKeeper 3.8.0: getChildren of /co after creating these 17
    // children (the set grows past 8 and 16 bins), deleting four, and
    // creating zz.
    const char *made[] = {"j",  "cfj", "jb", "ahe", "ddh", "ihg", "cdc", "gab", "e",
                          "jg", "ggj", "cf", "a",   "h",   "geg", "gjf", "jgj"};
    d->create("/co");
    for (const char *m : made)
        d->create((std::string("/co/") + m).c_str());
    for (const char *m : {"jb", "ahe", "ddh", "ihg"})
        d->simple(WIRE_OP_DELETE, (std::string("/co/") + m).c_str());
    d->create("/co/zz");
    const zt_node **v;
    int32_t k;
    LONGS_EQUAL(0, zt_node_children(zt_lookup(d->t, wire_str_c("/co")), &v, &k));
    std::string got;
    for (int32_t i = 0; i < k; i++) {
        wire_str nm = zt_node_name(v[i]);
        got += std::string(nm.p, (size_t)nm.len) + " ";
    }
    free(v);
    STRCMP_EQUAL("zz a gjf cdc cf e cfj h geg gab j ggj jgj jg ", got.c_str());
}

TEST(ZtChildren, ManyChildrenKeepTheOrderOfAStableSortByBin)
{
    // 5000 children: 8192 bins, so the sort takes two radix passes. The
    // order must be the rule itself, written the slow way: bin, then
    // insertion order.
    d->create("/m");
    std::vector<std::string> names;
    for (int i = 0; i < 5000; i++) {
        names.push_back("c" + std::to_string((i * 7919) % 100003));
        d->create(("/m/" + names.back()).c_str());
    }
    for (int i = 0; i < 5000; i += 3)
        d->simple(WIRE_OP_DELETE, ("/m/" + names[(size_t)i]).c_str());
    std::vector<std::pair<uint32_t, std::string>> want;
    for (int i = 0; i < 5000; i++) {
        if (i % 3 == 0)
            continue;
        uint32_t h = wire_java_hash(names[(size_t)i].data(), names[(size_t)i].size());
        want.emplace_back((h ^ (h >> 16)) & 8191u, names[(size_t)i]);
    }
    std::stable_sort(want.begin(), want.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    const zt_node **v;
    int32_t k;
    LONGS_EQUAL(0, zt_node_children(zt_lookup(d->t, wire_str_c("/m")), &v, &k));
    LONGS_EQUAL((long)want.size(), k);
    for (int32_t i = 0; i < k; i++) {
        wire_str nm = zt_node_name(v[i]);
        STRCMP_EQUAL(want[(size_t)i].second.c_str(), std::string(nm.p, (size_t)nm.len).c_str());
    }
    free(v);
}
