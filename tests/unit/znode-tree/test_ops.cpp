// Per-op semantics through prep + apply, pinned to what Apache ZooKeeper 3.8
// does: stats, the order in which checks fail, replayed txns, Java's int
// arithmetic, multi, sessions, containers and TTL nodes.
#include "zt_test_util.h"

#include <stdint.h>
#include <vector>

static const wire_acl k_open[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
static const wire_acl k_read_only[] = {{WIRE_PERM_READ, {"world", 5}, {"anyone", 6}}};

// Java's int arithmetic for the client-visible cversion (DataNode.copyStat).
static int32_t java_cversion(int32_t raw, int32_t children)
{
    return (int32_t)((uint32_t)raw * 2u - (uint32_t)children);
}

// ---- create -------------------------------------------------------------------

TEST_GROUP(ZtCreate)
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

TEST(ZtCreate, Create2ResultCarriesTheStoredStat)
{
    d->now = 777;
    LONGS_EQUAL(0, d->create("/a", 0, "xyz"));
    LONGS_EQUAL(1, d->out.n_res);
    LONGS_EQUAL(WIRE_OP_CREATE2, d->out.res[0].type);
    LONGS_EQUAL(0, d->out.res[0].err);
    wire_stat want = d->stat("/a"), got = d->out.res[0].stat;
    CHECK(got.czxid == want.czxid && got.mzxid == want.mzxid && got.pzxid == want.pzxid);
    CHECK(got.ctime == 777 && got.mtime == 777);
    LONGS_EQUAL(3, got.data_length);
    LONGS_EQUAL(0, got.num_children);
    LONGS_EQUAL(0, got.cversion);
    wire_buf data = zt_node_data(zt_lookup(d->t, wire_str_c("/a")));
    LONGS_EQUAL(3, data.len);
    MEMCMP_EQUAL("xyz", data.p, 3);
}

TEST(ZtCreate, NullDataStaysNullButReportsLengthZero)
{
    wire_write_req q = zt_op(WIRE_OP_CREATE, "/n");
    q.data.p = NULL;
    q.data.len = -1;
    LONGS_EQUAL(0, d->write(q));
    LONGS_EQUAL(-1, zt_node_data(zt_lookup(d->t, wire_str_c("/n"))).len);
    LONGS_EQUAL(0, d->stat("/n").data_length);
}

TEST(ZtCreate, EveryCreationMovesTheParent)
{
    d->create("/p");
    for (int i = 0; i < 3; i++) {
        char path[16];
        snprintf(path, sizeof path, "/p/c%d", i);
        d->create(path);
        wire_stat p = d->stat("/p");
        LONGS_EQUAL(i + 1, p.num_children);
        LONGS_EQUAL(i + 1, p.cversion);
        CHECK(p.pzxid == d->zxid);
        CHECK(p.mzxid == 1); // children do not touch the parent's data stat
    }
}

TEST(ZtCreate, ReplayedCreateMovesParentCversionAndPzxidOnlyForward)
{
    d->create("/p");   // zxid 1
    d->create("/p/a"); // zxid 2, /p raw cversion 1
    // A txn from a fuzzy snapshot's log tail carrying an older parentCVersion.
    wire_txn old = create_txn("/p/old", 1);
    d->apply_raw(3, old);
    CHECK_TRUE(d->exists("/p/old"));
    wire_stat p = d->stat("/p");
    CHECK(p.pzxid == 2);
    LONGS_EQUAL(java_cversion(1, 2), p.cversion);
    // parentCVersion -1 (logs before 3.5) means "one more than now"
    wire_txn legacy = create_txn("/p/new", -1);
    d->apply_raw(4, legacy);
    p = d->stat("/p");
    CHECK(p.pzxid == 4);
    LONGS_EQUAL(java_cversion(2, 3), p.cversion);
}

TEST(ZtCreate, SequentialSuffixUsesStoredCversionNotTheVisibleOne)
{
    d->create("/q");
    d->create("/q/a");
    d->simple(WIRE_OP_DELETE, "/q/a");
    d->create("/q/b");
    LONGS_EQUAL(3, d->stat("/q").cversion); // visible: three child changes
    d->create("/q/s-", WIRE_MODE_EPHEMERAL_SEQUENTIAL);
    STRCMP_EQUAL("/q/s-0000000002", d->created_path().c_str()); // two creations before it
    CHECK(d->stat("/q/s-0000000002").ephemeral_owner == d->session);
    // /zookeeper starts at stored cversion 0 (visible -2), as ZooKeeper shows
    d->create("/zookeeper/s", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    STRCMP_EQUAL("/zookeeper/s0000000000", d->created_path().c_str());
}

// BUG (prep.c prep_create, tree.c zt_node_stat): Java ints wrap. At stored
// cversion INT32_MAX ZooKeeper names the child "...2147483647", computes
// newCversion = INT32_MIN, and DataTree.createNode then leaves the parent's
// cversion alone (MIN is not greater), so the next sequential create gets the
// same name: NODEEXISTS. zabd does "parent.cversion + 1" and "cversion * 2" in
// signed C arithmetic, which is undefined behaviour (UBSan aborts here).
TEST(ZtCreate, SequentialSuffixAndVisibleCversionWrapLikeJavaInts)
{
    d->create("/q");
    wire_txn x = create_txn("/q/x", INT32_MAX);
    d->apply_raw(2, x);
    LONGS_EQUAL(java_cversion(INT32_MAX, 1), d->stat("/q").cversion);
    LONGS_EQUAL(0, d->create("/q/n", WIRE_MODE_PERSISTENT_SEQUENTIAL));
    STRCMP_EQUAL("/q/n2147483647", d->created_path().c_str());
    LONGS_EQUAL(java_cversion(INT32_MAX, 2), d->stat("/q").cversion);
    LONGS_EQUAL(ZERR_NODEEXISTS, d->create("/q/n", WIRE_MODE_PERSISTENT_SEQUENTIAL));
}

TEST(ZtCreate, ChecksFailInZooKeepersOrder)
{
    static const wire_acl none[1] = {};
    // TTL mode without extendedTypesEnabled wins over everything else
    d->extended = false;
    LONGS_EQUAL(ZERR_UNIMPLEMENTED, d->create("bad", WIRE_MODE_PERSISTENT_WITH_TTL, "", 0));
    d->extended = true;
    // no slash, NUL: BADARGUMENTS before the ACL and the parent are looked at
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create_acl("nope", none, 0));
    wire_write_req q = zt_op(WIRE_OP_CREATE, "/");
    q.path = {"/missing/a\0b", 12};
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->write(q));
    // INVALIDACL (fixupACL) before the parent lookup
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/missing/a", none, 0));
    // NONODE for the parent before the path's characters are validated
    LONGS_EQUAL(ZERR_NONODE, d->create("/missing/\x01"));
    LONGS_EQUAL(ZERR_NONODE, d->create("/missing/a/"));
    // NOAUTH on the parent before NODEEXISTS
    d->create("/ro");
    d->create("/ro/c");
    LONGS_EQUAL(0, d->set_acl("/ro", k_read_only, 1));
    LONGS_EQUAL(ZERR_NOAUTH, d->create("/ro/c"));
    // the path is validated before existence
    d->create("/ok");
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/ok/."));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/ok/"));
    // NODEEXISTS before NOCHILDRENFOREPHEMERALS
    d->create("/e", WIRE_MODE_EPHEMERAL);
    LONGS_EQUAL(ZERR_NODEEXISTS, d->create("/e"));
    LONGS_EQUAL(ZERR_NOCHILDRENFOREPHEMERALS, d->create("/e/c"));
    LONGS_EQUAL(ZERR_NOCHILDRENFOREPHEMERALS, d->create("/e/c", WIRE_MODE_EPHEMERAL));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/m", 7));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/m", -1));
}

TEST(ZtCreate, ConfigNodeIsReadOnlyExceptForSuper)
{
    LONGS_EQUAL(ZERR_NOAUTH, d->create("/zookeeper/config/x"));
    LONGS_EQUAL(0, d->create("/zookeeper/x")); // ZooKeeper allows this
    d->is_super = true;
    LONGS_EQUAL(0, d->create("/zookeeper/config/x"));
}

TEST(ZtCreate, OwnerMarkersStayInsideTheServer)
{
    d->session = 0x1234;
    d->create("/e", WIRE_MODE_EPHEMERAL);
    d->create("/c", WIRE_MODE_CONTAINER);
    d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 5000);
    d->create("/ts", WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL, "", 7);
    STRCMP_EQUAL("/ts0000000003", d->created_path().c_str());
    CHECK(d->stat("/e").ephemeral_owner == 0x1234);
    CHECK(d->stat("/c").ephemeral_owner == 0);
    CHECK(d->stat("/t").ephemeral_owner == 0);
    CHECK(zt_node_owner(zt_lookup(d->t, wire_str_c("/c"))) == INT64_MIN);
    CHECK(zt_node_owner(zt_lookup(d->t, wire_str_c("/t"))) == (int64_t)0xff00000000001388LL);
    CHECK(zt_node_owner(zt_lookup(d->t, wire_str_c("/ts0000000003"))) ==
          (int64_t)0xff00000000000007LL);
    LONGS_EQUAL(1, zt_ephemeral_count(d->t));
}

TEST(ZtCreate, TtlRules)
{
    d->extended = false;
    LONGS_EQUAL(ZERR_UNIMPLEMENTED, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 100));
    LONGS_EQUAL(ZERR_UNIMPLEMENTED,
                d->create("/t", WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL, "", 100));
    d->extended = true;
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 0));
    wire_write_req neg = zt_op(WIRE_OP_CREATETTL, "/t", -1, WIRE_MODE_PERSISTENT_WITH_TTL);
    neg.ttl = -5;
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->write(neg));
    LONGS_EQUAL(ZERR_BADARGUMENTS,
                d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", ZT_TTL_MAX + 1));
    // a ttl with a mode that has none (createTTL with PERSISTENT)
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->create("/t", WIRE_MODE_PERSISTENT, "", 100));
    // a TTL mode sent as plain create carries no ttl
    wire_write_req q = zt_op(WIRE_OP_CREATE, "/t", -1, WIRE_MODE_PERSISTENT_WITH_TTL);
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->write(q));
    LONGS_EQUAL(0, d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 1));
    CHECK_FALSE(d->exists("/t0000000000"));
}

// ---- delete -------------------------------------------------------------------

TEST_GROUP(ZtDelete)
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

TEST(ZtDelete, MovesParentCversionAndPzxid)
{
    d->create("/p");
    d->create("/p/a");
    d->create("/p/b");
    wire_stat before = d->stat("/p");
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/p/a"));
    wire_stat after = d->stat("/p");
    LONGS_EQUAL(before.cversion + 1, after.cversion);
    CHECK(after.pzxid == d->zxid);
    LONGS_EQUAL(1, after.num_children);
    CHECK(after.mzxid == before.mzxid);
    STRCMP_EQUAL("2:/p/a 4:/p ", d->events().c_str());
    LONGS_EQUAL(0, d->out.res[0].err);
    LONGS_EQUAL(WIRE_OP_DELETE, d->out.res[0].type);
}

TEST(ZtDelete, MovesParentPzxidOnlyForward)
{
    d->create("/p");   // 1
    d->create("/p/a"); // 2
    d->create("/p/b"); // 3
    d->create("/p/c"); // 4: pzxid 4
    wire_txn del = path_txn(WIRE_OP_DELETE, "/p/a");
    d->apply_raw(3, del); // replayed below the parent's pzxid
    CHECK_FALSE(d->exists("/p/a"));
    CHECK(d->stat("/p").pzxid == 4);
    d->zxid = 9;
    d->simple(WIRE_OP_DELETE, "/p/b");
    CHECK(d->stat("/p").pzxid == 10);
}

TEST(ZtDelete, SpecialNodesAreBadArguments)
{
    for (const char *p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"})
        LONGS_EQUAL_TEXT(ZERR_BADARGUMENTS, d->simple(WIRE_OP_DELETE, p), p);
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_DELETE, ""));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_DELETE, "a"));
    d->create("/zookeeper/x");
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/zookeeper/x"));
    LONGS_EQUAL(4, zt_node_count(d->t));
}

TEST(ZtDelete, ChecksFailInZooKeepersOrder)
{
    static const wire_acl no_delete[] = {
        {WIRE_PERM_ALL & ~WIRE_PERM_DELETE, {"world", 5}, {"anyone", 6}}};
    d->create_acl("/locked", no_delete, 1);
    d->create("/locked/c");
    // the parent's DELETE permission first, even for a missing child
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_DELETE, "/locked/none", 3));
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_DELETE, "/locked/c"));
    // a missing parent is NONODE
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_DELETE, "/nope/x"));
    // NONODE before BADVERSION
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_DELETE, "/none", 7));
    // delete does not validate the path: "/p/" is a missing child of /p
    d->create("/p");
    d->create("/p/c");
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_DELETE, "/p/"));
    // BADVERSION before NOTEMPTY
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_DELETE, "/p", 5));
    LONGS_EQUAL(ZERR_NOTEMPTY, d->simple(WIRE_OP_DELETE, "/p", 0));
    LONGS_EQUAL(ZERR_NOTEMPTY, d->simple(WIRE_OP_DELETE, "/p", -1));
    d->simple(WIRE_OP_SETDATA, "/p/c");
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_DELETE, "/p/c", 0));
    LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, "/p/c", 1));
}

TEST(ZtDelete, DeletingEverythingRestoresTheCountsAndSize)
{
    size_t nodes = zt_node_count(d->t);
    int64_t size = zt_data_size(d->t);
    d->create("/a", 0, "12345");
    d->create("/a/b", 0, "xy");
    CHECK(zt_data_size(d->t) == size + 2 + 5 + 4 + 2);
    d->simple(WIRE_OP_SETDATA, "/a", -1, "1");
    CHECK(zt_data_size(d->t) == size + 2 + 1 + 4 + 2);
    d->simple(WIRE_OP_DELETE, "/a/b");
    d->simple(WIRE_OP_DELETE, "/a");
    LONGS_EQUAL(nodes, zt_node_count(d->t));
    CHECK(zt_data_size(d->t) == size);
}

TEST(ZtDelete, ReplayOfAMissingNodeReportsNonodeWithoutEvents)
{
    wire_txn del = path_txn(WIRE_OP_DELETE, "/ghost");
    d->apply_raw(1, del);
    LONGS_EQUAL(ZERR_NONODE, d->out.res[0].err);
    LONGS_EQUAL(0, d->out.n_ev);
}

// ---- setData, check, setACL ------------------------------------------------------

TEST_GROUP(ZtSetData)
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

TEST(ZtSetData, ResultStatAndOrderOfChecks)
{
    static const wire_acl no_write[] = {{WIRE_PERM_READ, {"world", 5}, {"anyone", 6}}};
    d->create("/a", 0, "old");
    d->now = 4242;
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a", -1, "newer"));
    wire_stat r = d->out.res[0].stat;
    LONGS_EQUAL(1, r.version);
    LONGS_EQUAL(5, r.data_length);
    CHECK(r.mzxid == 2 && r.czxid == 1 && r.pzxid == 1 && r.mtime == 4242 && r.ctime == 1000);
    // validatePath, then NONODE, then NOAUTH, then BADVERSION
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_SETDATA, "/a/", 99));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_SETDATA, "", 99));
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_SETDATA, "/none", 99));
    d->create_acl("/ro", no_write, 1);
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_SETDATA, "/ro", 99));
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_SETDATA, "/a", 0));
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a", 1));
    LONGS_EQUAL(2, d->stat("/a").version);
}

// BUG (prep.c prep_set_data "++node.version"): ZooKeeper's checkAndIncVersion
// returns currentVersion + 1 in Java int arithmetic, so the version after
// INT32_MAX is INT32_MIN; in C the increment overflows (undefined behaviour,
// UBSan aborts). The same holds for aversion in prep_set_acl.
TEST(ZtSetData, VersionWrapsLikeAJavaInt)
{
    d->create("/a");
    wire_txn x = path_txn(WIRE_OP_SETDATA, "/a");
    x.version = INT32_MAX;
    d->apply_raw(2, x);
    LONGS_EQUAL(INT32_MAX, d->stat("/a").version);
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/a", INT32_MAX, "x"));
    LONGS_EQUAL(INT32_MIN, d->stat("/a").version);
}

TEST(ZtSetData, CheckNeedsReadAndAVersionMatch)
{
    static const wire_acl no_read[] = {
        {WIRE_PERM_ALL & ~WIRE_PERM_READ, {"world", 5}, {"anyone", 6}}};
    d->create("/a");
    LONGS_EQUAL(0, d->simple(WIRE_OP_CHECK, "/a", 0));
    LONGS_EQUAL(WIRE_OP_CHECK, d->out.res[0].type);
    LONGS_EQUAL(0, d->out.n_ev);
    LONGS_EQUAL(ZERR_BADVERSION, d->simple(WIRE_OP_CHECK, "/a", 1));
    LONGS_EQUAL(ZERR_NONODE, d->simple(WIRE_OP_CHECK, "/b", 0));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->simple(WIRE_OP_CHECK, "/b/", 0));
    d->create_acl("/hidden", no_read, 1);
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_CHECK, "/hidden", 5));
    CHECK(d->stat("/a").mzxid == 1); // check changes nothing
}

TEST_GROUP(ZtSetAcl)
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

TEST(ZtSetAcl, StoresTheListAndBumpsAversionOnly)
{
    static const wire_acl two[] = {{WIRE_PERM_READ, {"ip", 2}, {"10.0.0.0/8", 10}},
                                   {WIRE_PERM_ALL, {"digest", 6}, {"u:h", 3}}};
    d->create("/a");
    LONGS_EQUAL(0, d->set_acl("/a", two, 2, 0));
    STRCMP_EQUAL("1:ip:10.0.0.0/8 31:digest:u:h ", d->acl_text("/a").c_str());
    wire_stat st = d->stat("/a");
    LONGS_EQUAL(1, st.aversion);
    LONGS_EQUAL(0, st.version);
    CHECK(st.mzxid == 1); // setACL moves neither mzxid nor pzxid
    LONGS_EQUAL(1, d->out.res[0].stat.aversion);
    LONGS_EQUAL(0, d->out.n_ev);                              // no watch fires on setACL
    LONGS_EQUAL(ZERR_NOAUTH, d->set_acl("/a", k_open, 1, 1)); // no ADMIN for 127.0.0.1 now
    d->ids[1] = {0, {"digest", 6}, {"u:h", 3}};
    d->n_ids = 2;
    LONGS_EQUAL(ZERR_BADVERSION, d->set_acl("/a", k_open, 1, 0));
}

TEST(ZtSetAcl, ChecksFailInZooKeepersOrder)
{
    static const wire_acl none[1] = {};
    static const wire_acl no_admin[] = {
        {WIRE_PERM_ALL & ~WIRE_PERM_ADMIN, {"world", 5}, {"anyone", 6}}};
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->set_acl("/x/", none, 0));
    LONGS_EQUAL(ZERR_INVALIDACL, d->set_acl("/missing", none, 0)); // fixupACL first
    LONGS_EQUAL(ZERR_NONODE, d->set_acl("/missing", k_open, 1));
    d->create_acl("/na", no_admin, 1);
    LONGS_EQUAL(ZERR_NOAUTH, d->set_acl("/na", k_open, 1, 42)); // NOAUTH before BADVERSION
    LONGS_EQUAL(ZERR_NOAUTH, d->set_acl("/zookeeper/config", k_open, 1, 0)); // READ only
    d->is_super = true;
    LONGS_EQUAL(ZERR_BADVERSION, d->set_acl("/zookeeper/config", k_open, 1, 0)); // aversion -1
    LONGS_EQUAL(0, d->set_acl("/zookeeper/config", k_read_only, 1, -1));
    LONGS_EQUAL(0, d->stat("/zookeeper/config").aversion); // -1 + 1
}

TEST(ZtSetAcl, InvalidAclTable)
{
    static const wire_acl bad[][1] = {
        {{WIRE_PERM_ALL, {"nosuch", 6}, {"x", 1}}},
        {{WIRE_PERM_ALL, {"digest", 6}, {"nocolon", 7}}},
        {{WIRE_PERM_ALL, {"digest", 6}, {"a:", 2}}},
        {{WIRE_PERM_ALL, {"digest", 6}, {"a:b:c", 5}}},
        {{WIRE_PERM_ALL, {"world", 5}, {"someone", 7}}},
        {{WIRE_PERM_ALL, {"super", 5}, {"x", 1}}},
        {{WIRE_PERM_ALL, {"ip", 2}, {"10.0.0.1/33", 11}}},
        {{WIRE_PERM_ALL, {"ip", 2}, {"10.0.0.1/", 9}}},
        {{WIRE_PERM_ALL, {"ip", 2}, {"1.2.3", 5}}},
        {{WIRE_PERM_ALL, {"auth", 4}, {"", 0}}}, // only the ip identity: nothing to expand to
    };
    d->create("/a");
    for (auto &acl : bad) {
        std::string what = std::string(acl[0].scheme.p, (size_t)acl[0].scheme.len) + ":" +
                           std::string(acl[0].id.p, (size_t)acl[0].id.len);
        LONGS_EQUAL_TEXT(ZERR_INVALIDACL, d->set_acl("/a", acl, 1), what.c_str());
        LONGS_EQUAL_TEXT(ZERR_INVALIDACL, d->create_acl("/b", acl, 1), what.c_str());
    }
    static const wire_acl good[][1] = {
        {{WIRE_PERM_ALL, {"digest", 6}, {"a:b", 3}}},
        {{WIRE_PERM_ALL, {"digest", 6}, {":b", 2}}},
        {{WIRE_PERM_ALL, {"ip", 2}, {"0.0.0.0/0", 9}}},
        {{WIRE_PERM_ALL, {"ip", 2}, {"10.1.2.3", 8}}},
        {{0, {"world", 5}, {"anyone", 6}}},
    };
    d->is_super = true; // each good ACL may take ADMIN away from 127.0.0.1
    for (auto &acl : good) {
        std::string what = std::string(acl[0].scheme.p, (size_t)acl[0].scheme.len) + ":" +
                           std::string(acl[0].id.p, (size_t)acl[0].id.len);
        LONGS_EQUAL_TEXT(0, d->set_acl("/a", acl, 1), what.c_str());
    }
}

// DIVERGENCE (prep.c acl_id_valid): ZooKeeper's DigestAuthenticationProvider
// .isValid is id.split(":").length == 2, and Java's split drops trailing empty
// strings, so "bob:hash:" and "bob:hash::" are valid ids there (verified
// against ZooKeeper 3.8.0 with kazoo). zabd rejects them with INVALIDACL.
TEST(ZtSetAcl, DigestIdsFollowJavasSplit)
{
    static const wire_acl trailing[] = {{WIRE_PERM_ALL, {"digest", 6}, {"bob:h:", 6}}};
    static const wire_acl trailing2[] = {{WIRE_PERM_ALL, {"digest", 6}, {"bob:h::", 7}}};
    d->create("/a");
    d->is_super = true;
    LONGS_EQUAL(0, d->set_acl("/a", trailing, 1));
    LONGS_EQUAL(0, d->set_acl("/a", trailing2, 1));
}

TEST(ZtSetAcl, AuthExpandsToEveryAuthenticatedIdAndDuplicatesGo)
{
    static const wire_acl auth[] = {{WIRE_PERM_ALL, {"auth", 4}, {"", 0}}};
    static const wire_acl twice[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}},
                                     {WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    d->ids[1] = {0, {"digest", 6}, {"bob:h", 5}};
    d->ids[2] = {0, {"sasl", 4}, {"carol", 5}};
    d->n_ids = 3;
    d->has_sasl = true; // the sasl scheme needs SASLAuthenticationProvider
    d->create("/a");
    LONGS_EQUAL(0, d->set_acl("/a", auth, 1));
    STRCMP_EQUAL("31:digest:bob:h 31:sasl:carol ", d->acl_text("/a").c_str());
    LONGS_EQUAL(0, d->set_acl("/a", twice, 2));
    STRCMP_EQUAL("31:world:anyone ", d->acl_text("/a").c_str());
}

// DIVERGENCE (prep.c fixup_acl): ZooKeeper removes duplicates from the list
// the client sent *before* expanding "auth" and never after, so
// [auth:ALL, digest:bob:h:ALL] from bob stores bob twice (verified against
// ZooKeeper 3.8.0: getACL returns two identical entries). zabd stores one.
TEST(ZtSetAcl, DuplicatesCreatedByAuthExpansionAreKept)
{
    static const wire_acl acl[] = {{WIRE_PERM_ALL, {"auth", 4}, {"", 0}},
                                   {WIRE_PERM_ALL, {"digest", 6}, {"bob:h", 5}}};
    d->ids[1] = {0, {"digest", 6}, {"bob:h", 5}};
    d->n_ids = 2;
    LONGS_EQUAL(0, d->create_acl("/a", acl, 2));
    STRCMP_EQUAL("31:digest:bob:h 31:digest:bob:h ", d->acl_text("/a").c_str());
}

// ---- ACL checks ------------------------------------------------------------------

TEST_GROUP(ZtCheckAcl)
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

    int check(const char *path, int32_t perm, std::initializer_list<wire_acl> ids,
              bool super = false)
    {
        wire_acl v[4];
        int32_t n = 0;
        for (const wire_acl &a : ids)
            v[n++] = a;
        zt_auth a = {v, n, super, false, NULL};
        return zt_check_acl(d->t, zt_lookup(d->t, wire_str_c(path)), perm, &a);
    }
};

static wire_acl id(const char *scheme, const char *ident)
{
    return {0, wire_str_c(scheme), wire_str_c(ident)};
}

TEST(ZtCheckAcl, PermissionBitsAreCheckedOneByOne)
{
    static const wire_acl rc[] = {{WIRE_PERM_READ | WIRE_PERM_CREATE, {"world", 5}, {"anyone", 6}}};
    d->create_acl("/a", rc, 1);
    LONGS_EQUAL(0, check("/a", WIRE_PERM_READ, {}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_CREATE, {}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_WRITE, {}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_DELETE, {}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_ADMIN, {}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_ADMIN, {}, true));
}

TEST(ZtCheckAcl, AnyoneGetsOnlyTheWorldEntrysBitsBesideOtherEntries)
{
    // world:anyone's bits are granted without looking at identities; the
    // other bits still need one of the other entries.
    static const wire_acl acl[] = {{WIRE_PERM_WRITE, {"digest", 6}, {"bob:h", 5}},
                                   {WIRE_PERM_READ, {"world", 5}, {"anyone", 6}},
                                   {WIRE_PERM_DELETE, {"ip", 2}, {"10.0.0.0/8", 10}}};
    LONGS_EQUAL(0, d->create_acl("/a", acl, 3));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_READ, {}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_WRITE, {}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_WRITE, {id("digest", "bob:h")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_DELETE, {id("digest", "bob:h")}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_DELETE, {id("ip", "10.1.1.1")}));
}

TEST(ZtCheckAcl, DigestMatchesExactlyAndOnlyItsScheme)
{
    static const wire_acl acl[] = {{WIRE_PERM_ALL, {"digest", 6}, {"bob:h", 5}}};
    d->create_acl("/a", acl, 1);
    LONGS_EQUAL(0, check("/a", WIRE_PERM_READ, {id("digest", "bob:h")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_READ, {id("digest", "bob:h2")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_READ, {id("digest", "bob:")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/a", WIRE_PERM_READ, {id("sasl", "bob:h")}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_READ, {id("ip", "1.2.3.4"), id("digest", "bob:h")}));
    LONGS_EQUAL(0, check("/a", WIRE_PERM_READ, {}, true));
}

TEST(ZtCheckAcl, IpPrefixes)
{
    static const wire_acl acl8[] = {{WIRE_PERM_ALL, {"ip", 2}, {"10.0.0.0/8", 10}}};
    static const wire_acl acl32[] = {{WIRE_PERM_ALL, {"ip", 2}, {"10.1.2.3/32", 11}}};
    static const wire_acl acl0[] = {{WIRE_PERM_ALL, {"ip", 2}, {"0.0.0.0/0", 9}}};
    static const wire_acl acl_odd[] = {{WIRE_PERM_ALL, {"ip", 2}, {"192.168.0.0/23", 14}}};
    d->create_acl("/8", acl8, 1);
    d->create_acl("/32", acl32, 1);
    d->create_acl("/0", acl0, 1);
    d->create_acl("/23", acl_odd, 1);
    LONGS_EQUAL(0, check("/8", WIRE_PERM_READ, {id("ip", "10.255.0.1")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/8", WIRE_PERM_READ, {id("ip", "11.0.0.1")}));
    LONGS_EQUAL(0, check("/32", WIRE_PERM_READ, {id("ip", "10.1.2.3")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/32", WIRE_PERM_READ, {id("ip", "10.1.2.4")}));
    LONGS_EQUAL(0, check("/0", WIRE_PERM_READ, {id("ip", "203.0.113.9")}));
    LONGS_EQUAL(0, check("/23", WIRE_PERM_READ, {id("ip", "192.168.1.200")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/23", WIRE_PERM_READ, {id("ip", "192.168.2.1")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/8", WIRE_PERM_READ, {id("digest", "10.0.0.1")}));
    LONGS_EQUAL(ZERR_NOAUTH, check("/8", WIRE_PERM_READ, {id("ip", "garbage")}));
}

TEST(ZtCheckAcl, IpIdsAreParsedAsZooKeeper38ParsesThem)
{
    // IPAuthenticationProvider 3.8 knows IPv4 only.
    CHECK_FALSE(zt_ip_valid(wire_str_c("fe80::/64")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("fe80::/64"), wire_str_c("fe80::1:2")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("::/0"), wire_str_c("2001:db8::1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("0.0.0.0/0"), wire_str_c("::1")));
    // Each part is Integer.parseInt'd: signs and leading zeros parse.
    CHECK_TRUE(zt_ip_valid(wire_str_c("+10.0.0.1")));
    CHECK_TRUE(zt_ip_matches(wire_str_c("+10.0.0.1"), wire_str_c("10.0.0.1")));
    CHECK_TRUE(zt_ip_matches(wire_str_c("010.000.0.01/08"), wire_str_c("10.9.9.9")));
    CHECK_TRUE(zt_ip_matches(wire_str_c("-0.0.0.0/+0"), wire_str_c("1.2.3.4")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0.1/")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0.1.")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0.1/8/8")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0.256")));
    CHECK_FALSE(zt_ip_valid(wire_str_c("10.0.0.99999999999")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("10.0.0.1/-1"), wire_str_c("10.0.0.1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("10.0.0.1/x"), wire_str_c("10.0.0.1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c(""), wire_str_c("10.0.0.1")));
    // an address with a prefix is not a client address
    CHECK_FALSE(zt_ip_matches(wire_str_c("10.0.0.1/8"), wire_str_c("10.0.0.1/8")));
    std::string longid(200, '1');
    CHECK_FALSE(zt_ip_matches(wire_str_c(longid.c_str()), wire_str_c("10.0.0.1")));
}

TEST(ZtCheckAcl, AnEmptyListAllowsEverything)
{
    // Not reachable through prep (INVALIDACL), but a replayed txn or snapshot may
    // carry one; ZooKeeper's checkACL lets everything through.
    wire_txn x = create_txn("/open", -1);
    x.acl = NULL;
    x.n_acl = 0;
    d->apply_raw(1, x);
    LONGS_EQUAL(0, check("/open", WIRE_PERM_ADMIN, {}));
}

TEST_GROUP(ZtAclStrings)
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

TEST(ZtAclStrings, IdsAreKeptAsJavaDecodedThem)
{
    // fixupACL sees Java strings: bytes that are not UTF-8 are U+FFFD, so
    // two ids differing only there are one id, and getACL shows U+FFFD.
    static const wire_acl acl[] = {{WIRE_PERM_ALL, {"digest", 6}, {"a\xff:x", 4}},
                                   {WIRE_PERM_ALL, {"digest", 6}, {"a\xfe:x", 4}}};
    LONGS_EQUAL(0, d->create_acl("/n", acl, 2));
    const wire_acl *got;
    int32_t n;
    zt_node_acl(d->t, zt_lookup(d->t, wire_str_c("/n")), &got, &n);
    LONGS_EQUAL(1, n);
    CHECK(wire_str_eqc(got[0].id, "a\xef\xbf\xbd:x"));
}

TEST(ZtAclStrings, AMultiReadsItsCreatesAclsBackAsJavaDoes)
{
    // U+1F600 in an id: Java holds a surrogate pair, which jute writes as
    // two encoded surrogates. A plain create keeps them; a multi's create is
    // applied from its sub-txn's bytes, decoded again, where each encoded
    // surrogate is malformed: two U+FFFD (ZooKeeper 3.8 getACL shows them).
    static const wire_acl acl[] = {{WIRE_PERM_ALL, {"digest", 6}, {"\xf0\x9f\x98\x80:x", 6}}};
    const char *kept = "\xed\xa0\xbd\xed\xb8\x80:x";
    const char *reread = "\xef\xbf\xbd\xef\xbf\xbd:x";
    LONGS_EQUAL(0, d->create_acl("/plain", acl, 1));
    wire_write_req op = zt_op(WIRE_OP_CREATE, "/in-multi");
    op.acl = (wire_acl *)acl;
    op.n_acl = 1;
    LONGS_EQUAL(0, d->multi(&op, 1));
    const wire_acl *got;
    int32_t n;
    zt_node_acl(d->t, zt_lookup(d->t, wire_str_c("/plain")), &got, &n);
    LONGS_EQUAL(1, n);
    CHECK(wire_str_eqc(got[0].id, kept));
    zt_node_acl(d->t, zt_lookup(d->t, wire_str_c("/in-multi")), &got, &n);
    LONGS_EQUAL(1, n);
    CHECK(wire_str_eqc(got[0].id, reread));
}

TEST(ZtAclStrings, NullFieldsFailAsZooKeepersChecksThrow)
{
    // A null id where a provider or world:anyone looks at it throws
    // (MARSHALLINGERROR); a null scheme is INVALIDACL, unless a duplicate
    // check compares it first (it throws there).
    static const wire_acl world_null[] = {{WIRE_PERM_ALL, {"world", 5}, {NULL, -1}}};
    static const wire_acl digest_null[] = {{WIRE_PERM_ALL, {"digest", 6}, {NULL, -1}}};
    static const wire_acl unknown_null[] = {{WIRE_PERM_ALL, {"foo", 3}, {NULL, -1}}};
    static const wire_acl scheme_null[] = {{WIRE_PERM_ALL, {NULL, -1}, {"x", 1}}};
    static const wire_acl dup_null[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}},
                                        {WIRE_PERM_ALL, {NULL, -1}, {"x", 1}}};
    static const wire_acl other_perms[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}},
                                           {WIRE_PERM_READ, {NULL, -1}, {"x", 1}}};
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, d->create_acl("/a", world_null, 1));
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, d->create_acl("/b", digest_null, 1));
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/c", unknown_null, 1));
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/d", scheme_null, 1));
    LONGS_EQUAL(ZERR_MARSHALLINGERROR, d->create_acl("/e", dup_null, 2));
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/f", other_perms, 2));
}
