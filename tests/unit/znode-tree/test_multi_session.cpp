// Multi, sessions, containers and TTL nodes, and bulk walks, through prep +
// apply as the server drives them, pinned to Apache ZooKeeper 3.8.
#include "zt_test_util.h"

#include <stdint.h>
#include <vector>

// ---- multi ---------------------------------------------------------------------

TEST_GROUP(ZtMulti)
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

TEST(ZtMulti, DeleteThenCreateTheSamePath)
{
    d->create("/m", 0, "old");
    wire_write_req ops[] = {zt_op(WIRE_OP_DELETE, "/m"), zt_op(WIRE_OP_CREATE, "/m")};
    LONGS_EQUAL(0, d->multi(ops, 2));
    CHECK(d->stat("/m").czxid == 2);
    LONGS_EQUAL(0, d->stat("/m").data_length);
    LONGS_EQUAL(3, d->out.n_res);
    LONGS_EQUAL(WIRE_OP_MULTI, d->out.res[0].type);
    LONGS_EQUAL(WIRE_OP_DELETE, d->out.res[1].type);
    LONGS_EQUAL(WIRE_OP_CREATE, d->out.res[2].type);
    STRCMP_EQUAL("2:/m 4:/ 1:/m 4:/ ", d->events().c_str());
}

TEST(ZtMulti, LaterOpsSeeEarlierOnes)
{
    wire_write_req ops[] = {zt_op(WIRE_OP_CREATE, "/q"),
                            zt_op(WIRE_OP_CREATE, "/q/s", -1, WIRE_MODE_PERSISTENT_SEQUENTIAL),
                            zt_op(WIRE_OP_CREATE, "/q/s", -1, WIRE_MODE_PERSISTENT_SEQUENTIAL),
                            zt_op(WIRE_OP_SETDATA, "/q", 0),
                            zt_op(WIRE_OP_CHECK, "/q", 1),
                            zt_op(WIRE_OP_DELETE, "/q/s0000000000", 0)};
    LONGS_EQUAL(0, d->multi(ops, 6));
    CHECK_FALSE(d->exists("/q/s0000000000"));
    CHECK_TRUE(d->exists("/q/s0000000001"));
    LONGS_EQUAL(1, d->stat("/q").version);
    LONGS_EQUAL(3, d->stat("/q").cversion);
    std::string second = d->created_path(3);
    STRCMP_EQUAL("/q/s0000000001", second.c_str());
}

TEST(ZtMulti, ChildOfAnEphemeralCreatedInTheSameMultiIsRefused)
{
    wire_write_req ops[] = {zt_op(WIRE_OP_CREATE, "/e", -1, WIRE_MODE_EPHEMERAL),
                            zt_op(WIRE_OP_CREATE, "/e/c")};
    LONGS_EQUAL(ZERR_NOCHILDRENFOREPHEMERALS, d->multi(ops, 2));
    CHECK_FALSE(d->exists("/e"));
    LONGS_EQUAL(0, zt_ephemeral_count(d->t));
}

TEST(ZtMulti, FailureReportsOkThenTheErrorThenRuntimeInconsistencyAndAppliesNothing)
{
    d->create("/v");
    size_t nodes = zt_node_count(d->t);
    wire_write_req ops[] = {zt_op(WIRE_OP_CREATE, "/f"), zt_op(WIRE_OP_SETDATA, "/v"),
                            zt_op(WIRE_OP_CHECK, "/v", 5), zt_op(WIRE_OP_CREATE, "/g"),
                            zt_op(WIRE_OP_DELETE, "/v")};
    LONGS_EQUAL(ZERR_BADVERSION, d->multi(ops, 5));
    LONGS_EQUAL(6, d->out.n_res);
    LONGS_EQUAL(ZERR_BADVERSION, d->out.res[0].err);
    const int32_t want[] = {0, 0, ZERR_BADVERSION, ZERR_RUNTIMEINCONSISTENCY,
                            ZERR_RUNTIMEINCONSISTENCY};
    for (int i = 0; i < 5; i++) {
        LONGS_EQUAL(WIRE_OP_ERROR, d->out.res[i + 1].type);
        LONGS_EQUAL(want[i], d->out.res[i + 1].err);
    }
    LONGS_EQUAL(0, d->out.n_ev);
    LONGS_EQUAL(nodes, zt_node_count(d->t));
    LONGS_EQUAL(0, d->stat("/v").version);
    CHECK(zt_last_zxid(d->t) == 2); // the failed multi still spent its zxid
    LONGS_EQUAL(0, d->create("/f"));
}

TEST(ZtMulti, EveryOpSharesTheMultisZxid)
{
    d->create("/a");
    wire_write_req ops[] = {zt_op(WIRE_OP_CREATE, "/b"), zt_op(WIRE_OP_SETDATA, "/a"),
                            zt_op(WIRE_OP_DELETE, "/b")};
    LONGS_EQUAL(0, d->multi(ops, 3));
    CHECK(d->stat("/a").mzxid == 2);
    CHECK(d->stat("/").pzxid == 2);
    LONGS_EQUAL(2, zt_last_zxid(d->t));
}

TEST(ZtMulti, EmptyMultiSucceeds)
{
    LONGS_EQUAL(0, d->multi(NULL, 0));
    LONGS_EQUAL(1, d->out.n_res);
    LONGS_EQUAL(0, d->out.res[0].err);
}

// ---- sessions --------------------------------------------------------------------

TEST_GROUP(ZtSession)
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

static int count_owner(void *arg, int64_t owner, const zt_node *n)
{
    auto *v = static_cast<std::vector<int64_t> *>(arg);
    v->push_back(owner);
    CHECK(zt_node_owner(n) == owner);
    return 0;
}

TEST(ZtSession, EphemeralIndexFollowsCreatesDeletesAndClose)
{
    d->session = 0xa;
    d->create("/a1", WIRE_MODE_EPHEMERAL);
    d->create("/a2", WIRE_MODE_EPHEMERAL_SEQUENTIAL);
    d->create("/p");
    d->create("/p/a3", WIRE_MODE_EPHEMERAL);
    d->session = 0xb;
    d->create("/b1", WIRE_MODE_EPHEMERAL);
    LONGS_EQUAL(4, zt_ephemeral_count(d->t));
    std::vector<int64_t> owners;
    zt_ephemerals(d->t, 0xa, count_owner, &owners);
    LONGS_EQUAL(3, owners.size());
    owners.clear();
    zt_ephemerals(d->t, 0, count_owner, &owners);
    LONGS_EQUAL(4, owners.size());
    d->session = 0xa;
    d->simple(WIRE_OP_DELETE, "/a1");
    LONGS_EQUAL(3, zt_ephemeral_count(d->t));
    d->close_session(0xa);
    CHECK_FALSE(d->exists("/a20000000001"));
    CHECK_FALSE(d->exists("/p/a3"));
    CHECK_TRUE(d->exists("/p"));
    CHECK_TRUE(d->exists("/b1"));
    LONGS_EQUAL(1, zt_ephemeral_count(d->t));
    LONGS_EQUAL(4, d->out.n_ev); // deleted + parent's children changed, twice
    LONGS_EQUAL(WIRE_OP_CLOSESESSION, d->out.res[0].type);
    owners.clear();
    zt_ephemerals(d->t, 0xa, count_owner, &owners);
    LONGS_EQUAL(0, owners.size());
    // a session without ephemerals closes without events
    d->close_session(0xc);
    LONGS_EQUAL(0, d->out.n_ev);
}

TEST(ZtSession, CloseTxnNeverDeletesAnotherSessionsNode)
{
    d->session = 0xb;
    d->create("/b1", WIRE_MODE_EPHEMERAL);
    d->create("/plain");
    wire_txn x = path_txn(WIRE_OP_CLOSESESSION, "");
    wire_str paths[] = {wire_str_c("/b1"), wire_str_c("/plain"), wire_str_c("/gone")};
    x.paths = paths;
    x.n_paths = 3;
    d->apply_raw(3, x, 0xa);
    CHECK_TRUE(d->exists("/b1"));
    CHECK_TRUE(d->exists("/plain"));
    LONGS_EQUAL(0, d->out.n_ev);
}

TEST(ZtSession, CloseTxnWithoutPathsDeletesTheSessionsOwnNodes)
{
    // CloseSessionTxn bodies written before 3.6 are empty.
    d->session = 0xa;
    d->create("/a1", WIRE_MODE_EPHEMERAL);
    d->create("/a2", WIRE_MODE_EPHEMERAL);
    d->session = 0xb;
    d->create("/b1", WIRE_MODE_EPHEMERAL);
    wire_txn x = path_txn(WIRE_OP_CLOSESESSION, "");
    d->apply_raw(4, x, 0xa);
    CHECK_FALSE(d->exists("/a1"));
    CHECK_FALSE(d->exists("/a2"));
    CHECK_TRUE(d->exists("/b1"));
    LONGS_EQUAL(1, zt_ephemeral_count(d->t));
}

TEST(ZtSession, CreateSessionChangesNoNode)
{
    zt_auth a;
    zt_prep_ctx c = d->ctx(&a);
    wire_wr w;
    wire_wr_init(&w);
    size_t nodes = zt_node_count(d->t);
    LONGS_EQUAL(0, d->commit(&w, zt_prep_create_session(&c, 30000, &w)));
    wire_wr_fini(&w);
    LONGS_EQUAL(WIRE_OP_CREATESESSION, d->out.res[0].type);
    LONGS_EQUAL(nodes, zt_node_count(d->t));
    LONGS_EQUAL(1, zt_last_zxid(d->t));
}

// ---- containers and TTL -------------------------------------------------------------

TEST_GROUP(ZtContainer)
{
    ZtDriver *d;
    wire_wr due;
    void setup() override
    {
        d = new ZtDriver();
        wire_wr_init(&due);
    }
    void teardown() override
    {
        wire_wr_fini(&due);
        delete d;
    }
    std::string due_paths(int64_t now, size_t max = 100)
    {
        wire_wr_reset(&due);
        size_t n = zt_containers_due(d->t, now, max, &due);
        std::string s;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            const char *p = (const char *)due.p + off;
            s += std::string(p) + " ";
            off += strlen(p) + 1;
        }
        LONGS_EQUAL(off, due.len);
        return s;
    }
};

TEST(ZtContainer, DueOnlyWhenEmptyAfterHavingHadAChild)
{
    d->create("/c", WIRE_MODE_CONTAINER);
    d->create("/c/x");
    STRCMP_EQUAL("", due_paths(d->now).c_str());
    d->simple(WIRE_OP_DELETE, "/c/x");
    STRCMP_EQUAL("/c ", due_paths(d->now).c_str());
    LONGS_EQUAL(0, d->delete_container("/c"));
    CHECK_FALSE(d->exists("/c"));
    STRCMP_EQUAL("2:/c 4:/ ", d->events().c_str());
    STRCMP_EQUAL("", due_paths(d->now).c_str());
}

TEST(ZtContainer, DeleteContainerRefusesNonEmptyAndOrdinaryNodes)
{
    d->create("/c", WIRE_MODE_CONTAINER);
    d->create("/c/x");
    LONGS_EQUAL(ZERR_NOTEMPTY, d->delete_container("/c"));
    d->create("/plain");
    CHECK(d->delete_container("/plain") != 0);
    CHECK_TRUE(d->exists("/plain"));
    d->session = 0x99;
    d->create("/eph", WIRE_MODE_EPHEMERAL);
    CHECK(d->delete_container("/eph") != 0);
    CHECK_TRUE(d->exists("/eph"));
    LONGS_EQUAL(ZERR_NONODE, d->delete_container("/none"));
    LONGS_EQUAL(ZERR_BADARGUMENTS, d->delete_container("/zookeeper"));
}

TEST(ZtContainer, TtlNodeIsDueAfterItsTtlSinceTheLastChange)
{
    d->now = 10000;
    d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "", 100);
    STRCMP_EQUAL("", due_paths(10100).c_str()); // not more than the ttl yet
    STRCMP_EQUAL("/t ", due_paths(10101).c_str());
    d->now = 10050;
    d->simple(WIRE_OP_SETDATA, "/t"); // mtime moves
    STRCMP_EQUAL("", due_paths(10101).c_str());
    STRCMP_EQUAL("/t ", due_paths(10151).c_str());
    d->create("/t/child");
    STRCMP_EQUAL("", due_paths(99999).c_str()); // a TTL node with children stays
    d->simple(WIRE_OP_DELETE, "/t/child");
    STRCMP_EQUAL("/t ", due_paths(99999).c_str());
    LONGS_EQUAL(0, d->delete_container("/t"));
    CHECK_FALSE(d->exists("/t"));
}

TEST(ZtContainer, DueListRespectsItsLimit)
{
    char path[16];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "/c%d", i);
        d->create(path, WIRE_MODE_CONTAINER);
        snprintf(path, sizeof path, "/c%d/x", i);
        d->create(path);
        d->simple(WIRE_OP_DELETE, path);
    }
    wire_wr_reset(&due);
    LONGS_EQUAL(3, zt_containers_due(d->t, d->now, 3, &due));
    LONGS_EQUAL(5, zt_containers_due(d->t, d->now, 100, &due));
}

// ---- walks and size --------------------------------------------------------------

TEST_GROUP(ZtBulk)
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

TEST(ZtBulk, CountDescendantsOnDeepAndWideTrees)
{
    std::string path;
    for (int i = 0; i < 2000; i++) { // deep: no recursion limit
        path += "/d";
        LONGS_EQUAL(0, d->create(path.c_str()));
    }
    for (int i = 0; i < 50; i++)
        d->create(("/d/w" + std::to_string(i)).c_str());
    LONGS_EQUAL(2049, zt_count_descendants(zt_lookup(d->t, wire_str_c("/d"))));
    LONGS_EQUAL(2050 + 3, zt_count_descendants(zt_lookup(d->t, wire_str_c("/"))));
    LONGS_EQUAL(0, zt_count_descendants(zt_lookup(d->t, wire_str_c(path.c_str()))));
    LONGS_EQUAL(2, zt_count_descendants(zt_lookup(d->t, wire_str_c("/zookeeper"))));
}

TEST(ZtBulk, HundredThousandNodesCreateAndDelete)
{
    const int n = 100000;
    char path[32];
    size_t base = zt_node_count(d->t);
    d->create("/bulk");
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/bulk/n%d", i);
        LONGS_EQUAL(0, d->create(path));
    }
    LONGS_EQUAL(n, d->stat("/bulk").num_children);
    LONGS_EQUAL(n, zt_count_descendants(zt_lookup(d->t, wire_str_c("/bulk"))));
    LONGS_EQUAL(base + 1 + n, zt_node_count(d->t));
    for (int i = 0; i < n; i += 7) { // spot checks through the hash table
        snprintf(path, sizeof path, "/bulk/n%d", i);
        CHECK(d->stat(path).czxid == i + 2);
    }
    for (int i = n - 1; i >= 0; i--) {
        snprintf(path, sizeof path, "/bulk/n%d", i);
        LONGS_EQUAL(0, d->simple(WIRE_OP_DELETE, path));
    }
    wire_stat b = d->stat("/bulk");
    LONGS_EQUAL(0, b.num_children);
    LONGS_EQUAL(2 * n, b.cversion);
    LONGS_EQUAL(base + 1, zt_node_count(d->t));
}

TEST(ZtSession, EventsCarryTheAclOfTheirNodeEvenAfterItIsDeleted)
{
    // The delete events of a session's ephemerals are delivered after the
    // apply that freed the node (and, as the last user, its interned ACL):
    // each event keeps its own copy, for the CVE-2024-23944 READ check.
    static const wire_acl secret[] = {{WIRE_PERM_ALL, {"digest", 6}, {"alice:h", 7}}};
    static const wire_acl readable[] = {{WIRE_PERM_READ, {"world", 5}, {"anyone", 6}},
                                        {WIRE_PERM_ALL, {"digest", 6}, {"alice:h", 7}}};
    d->create("/p");
    d->session = 0xa;
    LONGS_EQUAL(0, d->create_acl("/p/s", secret, 1, WIRE_MODE_EPHEMERAL));
    LONGS_EQUAL(0, d->create_acl("/p/r", readable, 2, WIRE_MODE_EPHEMERAL));
    wire_acl alice_ids[] = {{0, {"ip", 2}, {"127.0.0.1", 9}}, {0, {"digest", 6}, {"alice:h", 7}}};
    zt_auth nobody = {alice_ids, 1, false, false, NULL}, alice = {alice_ids, 2, false, false, NULL},
            super = {alice_ids, 1, true, false, NULL};
    d->close_session(0xa);
    LONGS_EQUAL(4, d->out.n_ev);
    for (size_t i = 0; i < d->out.n_ev; i++) {
        const zt_event *e = &d->out.ev[i];
        wire_str p = zt_out_str(&d->out, e->path_off, e->path_len);
        bool is_parent = wire_str_eqc(p, "/p");
        bool is_secret = wire_str_eqc(p, "/p/s");
        LONGS_EQUAL(is_secret ? ZERR_NOAUTH : 0,
                    zt_event_check_acl(&d->out, e, WIRE_PERM_READ, &nobody));
        LONGS_EQUAL(0, zt_event_check_acl(&d->out, e, WIRE_PERM_READ, &alice));
        LONGS_EQUAL(0, zt_event_check_acl(&d->out, e, WIRE_PERM_ALL, &super));
        LONGS_EQUAL(is_parent ? 0 : ZERR_NOAUTH,
                    zt_event_check_acl(&d->out, e, WIRE_PERM_WRITE, &nobody));
    }
}

TEST(ZtSession, CreateAndSetDataEventsCarryTheirNodesAcl)
{
    static const wire_acl secret[] = {{WIRE_PERM_ALL, {"digest", 6}, {"alice:h", 7}}};
    zt_auth nobody = {d->ids, 1, false, false, NULL};
    d->create("/p");
    d->create_acl("/p/s", secret, 1);
    STRCMP_EQUAL("1:/p/s 4:/p ", d->events().c_str());
    LONGS_EQUAL(ZERR_NOAUTH, zt_event_check_acl(&d->out, &d->out.ev[0], WIRE_PERM_READ, &nobody));
    LONGS_EQUAL(0, zt_event_check_acl(&d->out, &d->out.ev[1], WIRE_PERM_READ, &nobody));
    d->is_super = true;
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/p/s", -1, "x"));
    LONGS_EQUAL(1, d->out.n_ev);
    LONGS_EQUAL(ZERR_NOAUTH, zt_event_check_acl(&d->out, &d->out.ev[0], WIRE_PERM_READ, &nobody));
}

static int collect_path(void *arg, int64_t, const zt_node *n)
{
    wire_str p = zt_node_path(n);
    static_cast<std::vector<std::string> *>(arg)->push_back(std::string(p.p, (size_t)p.len));
    return 0;
}

TEST(ZtSession, EphemeralsComeInZooKeepersHashSetOrder)
{
    // Read from ZooKeeper 3.8.0: getEphemerals, and the deletes of a close,
    // after creating /eph-order/n00..n13 (the set grows past 16 bins) and
    // deleting n03 and n07.
    d->create("/eph-order");
    d->session = 0xa;
    char path[32];
    for (int i = 0; i < 14; i++) {
        snprintf(path, sizeof path, "/eph-order/n%02d", i);
        d->create(path, WIRE_MODE_EPHEMERAL);
    }
    d->simple(WIRE_OP_DELETE, "/eph-order/n03");
    d->simple(WIRE_OP_DELETE, "/eph-order/n07");
    std::vector<std::string> got;
    LONGS_EQUAL(0, zt_ephemerals(d->t, 0xa, collect_path, &got));
    const char *want[] = {"n01", "n12", "n00", "n11", "n10", "n05",
                          "n04", "n02", "n13", "n09", "n08", "n06"};
    LONGS_EQUAL(12, got.size());
    for (size_t i = 0; i < 12; i++)
        STRCMP_EQUAL((std::string("/eph-order/") + want[i]).c_str(), got[i].c_str());
    d->close_session(0xa);
    std::string deleted;
    for (size_t i = 0; i < d->out.n_ev; i += 2)
        deleted += std::string(zt_out_str(&d->out, d->out.ev[i].path_off, d->out.ev[i].path_len).p,
                               d->out.ev[i].path_len) +
                   " ";
    std::string expect;
    for (const char *w : want)
        expect += std::string("/eph-order/") + w + " ";
    STRCMP_EQUAL(expect.c_str(), deleted.c_str());
}
