// Snapshot encode/decode (ZooKeeper 3.8's DataTree stream): an identical
// tree back, sessions handed over, and every damaged input refused.
#include "zt_test_util.h"

#include <vector>

static int collect(void *arg, const void *p, size_t n)
{
    auto *v = static_cast<std::vector<uint8_t> *>(arg);
    v->insert(v->end(), (const uint8_t *)p, (const uint8_t *)p + n);
    return 0;
}

static int count_sessions(void *arg, int64_t id, int32_t timeout_ms)
{
    (*static_cast<int *>(arg))++;
    return 0;
}

typedef std::vector<std::pair<int64_t, int32_t>> session_list;

static int list_sessions(void *arg, int64_t id, int32_t timeout_ms)
{
    static_cast<session_list *>(arg)->push_back({id, timeout_ms});
    return 0;
}

static void same_node(const zt_tree *a, const zt_tree *b, const char *path)
{
    const zt_node *x = zt_lookup(a, wire_str_c(path)), *y = zt_lookup(b, wire_str_c(path));
    CHECK_TEXT(x != NULL && y != NULL, path);
    wire_stat sx, sy;
    zt_node_stat(x, &sx);
    zt_node_stat(y, &sy);
    // field by field: wire_stat has padding that memcmp would read
    CHECK(sx.czxid == sy.czxid && sx.mzxid == sy.mzxid && sx.pzxid == sy.pzxid);
    CHECK(sx.ctime == sy.ctime && sx.mtime == sy.mtime);
    CHECK(sx.ephemeral_owner == sy.ephemeral_owner);
    LONGS_EQUAL(sx.version, sy.version);
    LONGS_EQUAL(sx.cversion, sy.cversion);
    LONGS_EQUAL(sx.aversion, sy.aversion);
    LONGS_EQUAL(sx.data_length, sy.data_length);
    LONGS_EQUAL(sx.num_children, sy.num_children);
    wire_buf dx = zt_node_data(x), dy = zt_node_data(y);
    LONGS_EQUAL(dx.len, dy.len);
    if (dx.len > 0)
        MEMCMP_EQUAL(dx.p, dy.p, (size_t)dx.len);
    const wire_acl *ax, *ay;
    int32_t nx, ny;
    zt_node_acl(a, x, &ax, &nx);
    zt_node_acl(b, y, &ay, &ny);
    LONGS_EQUAL(nx, ny);
    for (int32_t i = 0; i < nx; i++)
        CHECK_TRUE(ax[i].perms == ay[i].perms && wire_str_eq(ax[i].scheme, ay[i].scheme) &&
                   wire_str_eq(ax[i].id, ay[i].id));
    CHECK(zt_node_owner(x) == zt_node_owner(y));
}

TEST_GROUP(ZtSnapshot)
{
    ZtDriver *d;
    std::vector<uint8_t> bytes;
    void setup() override
    {
        d = new ZtDriver();
        static const wire_acl ro[] = {{WIRE_PERM_READ, {"ip", 2}, {"10.0.0.0/8", 10}}};
        d->create("/a", 0, "data-a");
        d->create("/a/b", 0, "");
        d->create("/a/b/c", WIRE_MODE_EPHEMERAL, "eph");
        d->create("/cont", WIRE_MODE_CONTAINER);
        d->create_acl("/ro", ro, 1);
        d->simple(WIRE_OP_SETDATA, "/a", 0, "data-a2");
        d->simple(WIRE_OP_DELETE, "/a/b/c");
        d->create("/a/b/c", WIRE_MODE_EPHEMERAL, "eph2");
        d->create("/ttl", WIRE_MODE_PERSISTENT_WITH_TTL, "", 100);
        wire_write_req nul = zt_op(WIRE_OP_CREATE, "/null");
        nul.data = {NULL, -1};
        d->write(nul);
        d->create("/cont/kid");
        d->simple(WIRE_OP_DELETE, "/cont/kid"); // /cont is now due
        zt_session_rec s[2] = {{0x100, 4000}, {0x200, 8000}};
        LONGS_EQUAL(0, zt_snapshot_encode(d->t, s, 2, collect, &bytes));
    }
    void teardown() override
    {
        delete d;
    }
};

TEST(ZtSnapshot, DecodeGivesAnIdenticalTree)
{
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                      count_sessions, &sessions, &t));
    LONGS_EQUAL(2, sessions);
    LONGS_EQUAL(zt_node_count(d->t), zt_node_count(t));
    CHECK(zt_last_zxid(t) == zt_last_zxid(d->t));
    for (const char *p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/a", "/a/b",
                          "/a/b/c", "/cont", "/ro", "/ttl", "/null"})
        same_node(d->t, t, p);
    LONGS_EQUAL(1, zt_ephemeral_count(t));
    zt_free(t);
}

TEST(ZtSnapshot, EveryTruncationIsCorrupt)
{
    for (size_t n = 0; n < bytes.size(); n++) {
        zt_tree *t = NULL;
        int sessions = 0;
        int rc = zt_snapshot_decode(bytes.data(), n, INT32_MAX, zt_last_zxid(d->t), count_sessions,
                                    &sessions, &t);
        LONGS_EQUAL_TEXT(ZERR_CORRUPT, rc, std::to_string(n).c_str());
        CHECK_TEXT(t == NULL, "a truncated snapshot left a tree");
    }
}

TEST(ZtSnapshot, ScanFindsTheEndWhateverThePieces)
{
    // Bytes after the stream (the SNAP signature) are not part of it.
    std::vector<uint8_t> more = bytes;
    for (uint8_t b : {0, 0, 0, 10})
        more.push_back(b);
    for (size_t step : {(size_t)1, (size_t)7, (size_t)4096}) {
        zt_snapshot_scanner sc = {};
        size_t len = 0, avail = 0;
        int rc = 0;
        while (rc == 0 && avail < more.size()) {
            avail = std::min(more.size(), avail + step);
            rc = zt_snapshot_scan(&sc, more.data(), avail, INT32_MAX, &len);
            if (rc == 1)
                CHECK_TEXT(avail >= bytes.size(), "ended early");
        }
        LONGS_EQUAL_TEXT(1, rc, std::to_string(step).c_str());
        LONGS_EQUAL(bytes.size(), len);
    }
    // Any proper prefix needs more; a length past max_len is corrupt.
    for (size_t n = 0; n < bytes.size(); n++) {
        zt_snapshot_scanner sc = {};
        size_t len = 0;
        LONGS_EQUAL_TEXT(0, zt_snapshot_scan(&sc, bytes.data(), n, INT32_MAX, &len),
                         std::to_string(n).c_str());
    }
    zt_snapshot_scanner sc = {};
    size_t len = 0;
    LONGS_EQUAL(ZERR_CORRUPT, zt_snapshot_scan(&sc, bytes.data(), bytes.size(), 4, &len));
    const uint8_t neg[4] = {0xff, 0xff, 0xff, 0xfe}; // a session count of -2
    sc = {};
    LONGS_EQUAL(ZERR_CORRUPT, zt_snapshot_scan(&sc, neg, 4, INT32_MAX, &len));
}

TEST(ZtSnapshot, TrailingBytesAreCorrupt)
{
    bytes.push_back(0);
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(ZERR_CORRUPT,
                zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                   count_sessions, &sessions, &t));
}

TEST(ZtSnapshot, SessionsComeBackInOrderWithTheirTimeouts)
{
    session_list got;
    zt_tree *t = NULL;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                      list_sessions, &got, &t));
    LONGS_EQUAL(2, got.size());
    CHECK(got[0].first == 0x100 && got[0].second == 4000);
    CHECK(got[1].first == 0x200 && got[1].second == 8000);
    zt_free(t);
}

TEST(ZtSnapshot, DecodedTreeBehavesLikeTheOriginal)
{
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                      count_sessions, &sessions, &t));
    ZtDriver copy;
    zt_free(copy.t);
    copy.t = t;
    copy.zxid = zt_last_zxid(t);
    CHECK(zt_data_size(t) == zt_data_size(d->t));
    // the stored cversion survives: the next sequential names agree
    d->create("/a/s", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    copy.create("/a/s", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    STRCMP_EQUAL(d->created_path().c_str(), copy.created_path().c_str());
    // the container and TTL indexes were rebuilt
    wire_wr a, b;
    wire_wr_init(&a);
    wire_wr_init(&b);
    LONGS_EQUAL(2, zt_containers_due(d->t, d->now + 1000, 10, &a));
    LONGS_EQUAL(2, zt_containers_due(t, d->now + 1000, 10, &b));
    LONGS_EQUAL(a.len, b.len);
    wire_wr_fini(&a);
    wire_wr_fini(&b);
    // and the ephemeral index: closing session 0x100 removes its node
    copy.close_session(0x100);
    CHECK_FALSE(copy.exists("/a/b/c"));
    LONGS_EQUAL(0, zt_ephemeral_count(t));
}

TEST(ZtSnapshot, FreshTreeRoundTrips)
{
    ZtDriver fresh;
    std::vector<uint8_t> b;
    LONGS_EQUAL(0, zt_snapshot_encode(fresh.t, NULL, 0, collect, &b));
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(
        0, zt_snapshot_decode(b.data(), b.size(), INT32_MAX, 0, count_sessions, &sessions, &t));
    LONGS_EQUAL(0, sessions);
    LONGS_EQUAL(4, zt_node_count(t));
    for (const char *p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"})
        same_node(fresh.t, t, p);
    zt_free(t);
}

TEST(ZtSnapshot, SessionCallbackErrorAbortsTheDecode)
{
    zt_tree *t = NULL;
    auto refuse = [](void *, int64_t, int32_t) -> int { return ZERR_NOMEM; };
    LONGS_EQUAL(ZERR_NOMEM, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX,
                                               zt_last_zxid(d->t), refuse, NULL, &t));
    CHECK(t == NULL);
}

TEST(ZtSnapshot, MaxLenBoundsEveryBuffer)
{
    zt_tree *t = NULL;
    int sessions = 0;
    // "data-a2" is 7 bytes: a 6-byte jute.maxbuffer refuses it
    CHECK(zt_snapshot_decode(bytes.data(), bytes.size(), 6, zt_last_zxid(d->t), count_sessions,
                             &sessions, &t) != 0);
    CHECK(t == NULL);
}

// Hand-built snapshots: one ACL list (index 7, world:anyone) and the nodes given.
struct SnapNode {
    const char *path;
    int64_t acl;
    int32_t cversion;
    int64_t owner;
};

static std::vector<uint8_t> build_snapshot(std::initializer_list<SnapNode> nodes)
{
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0); // sessions
    wire_wr_i32(&w, 1); // ACL lists
    wire_wr_i64(&w, 7);
    static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    wire_wr_acls(&w, open_acl, 1);
    for (const SnapNode &n : nodes) {
        wire_wr_cstr(&w, n.path);
        wire_wr_buf(&w, {NULL, -1});
        wire_wr_i64(&w, n.acl);
        for (int i = 0; i < 4; i++)
            wire_wr_i64(&w, 5); // czxid, mzxid, ctime, mtime
        wire_wr_i32(&w, 0);
        wire_wr_i32(&w, n.cversion);
        wire_wr_i32(&w, 0);
        wire_wr_i64(&w, n.owner);
        wire_wr_i64(&w, 5); // pzxid
    }
    wire_wr_cstr(&w, "/");
    std::vector<uint8_t> v(w.p, w.p + w.len);
    wire_wr_fini(&w);
    return v;
}

static int decode(const std::vector<uint8_t> &b, zt_tree **t)
{
    int sessions = 0;
    *t = NULL;
    return zt_snapshot_decode(b.data(), b.size(), INT32_MAX, 5, count_sessions, &sessions, t);
}

TEST(ZtSnapshot, HandBuiltSnapshotDecodes)
{
    zt_tree *t;
    LONGS_EQUAL(0,
                decode(build_snapshot({{"", 7, 0, 0}, {"/x", 7, 0, 0}, {"/x/e", 7, 0, 0x55}}), &t));
    CHECK(zt_lookup(t, wire_str_c("/x/e")) != NULL);
    LONGS_EQUAL(1, zt_ephemeral_count(t));
    CHECK(zt_last_zxid(t) == 5);
    zt_free(t);
}

TEST(ZtSnapshot, StructuralDamageIsCorrupt)
{
    zt_tree *t;
    // the first node must be the root, which ZooKeeper writes as ""
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"/x", 7, 0, 0}}), &t));
    // a child before its parent
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"", 7, 0, 0}, {"/x/y", 7, 0, 0}}), &t));
    // an ACL index that no list has
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"", 7, 0, 0}, {"/x", 8, 0, 0}}), &t));
    // a relative path, an invalid one, a second root
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"", 7, 0, 0}, {"x", 7, 0, 0}}), &t));
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"", 7, 0, 0}, {"/x/", 7, 0, 0}}), &t));
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"", 7, 0, 0}, {"", 7, 0, 0}}), &t));
    // "/" first would be ZooKeeper's end marker: an empty tree it cannot use
    LONGS_EQUAL(ZERR_CORRUPT, decode(build_snapshot({{"/", 7, 0, 0}}), &t));
    CHECK(t == NULL);
}

TEST(ZtSnapshot, SequentialSuffixOfANegativeCversionHasJavasSign)
{
    // Only a snapshot (or log) can carry a negative stored cversion;
    // String.format("%010d", -3) is "-000000003".
    ZtDriver d2;
    zt_free(d2.t);
    LONGS_EQUAL(0, decode(build_snapshot({{"", 7, 0, 0}, {"/q", 7, -3, 0}}), &d2.t));
    d2.zxid = 5;
    LONGS_EQUAL(-6, d2.stat("/q").cversion);
    LONGS_EQUAL(0, d2.create("/q/n", WIRE_MODE_PERSISTENT_SEQUENTIAL));
    STRCMP_EQUAL("/q/n-000000003", d2.created_path().c_str());
}

TEST(ZtSnapshot, AclIndexMinusOneIsOpenAclUnsafe)
{
    // ReferenceCountedACLCache keeps no entry for -1: ZooKeeper's root,
    // /zookeeper and /zookeeper/quota carry it.
    zt_tree *t;
    LONGS_EQUAL(0, decode(build_snapshot({{"", -1, 0, 0}, {"/x", -1, 0, 0}}), &t));
    const wire_acl *acl;
    int32_t n;
    zt_node_acl(t, zt_lookup(t, wire_str_c("/x")), &acl, &n);
    LONGS_EQUAL(1, n);
    LONGS_EQUAL(WIRE_PERM_ALL, acl[0].perms);
    CHECK(wire_str_eqc(acl[0].scheme, "world") && wire_str_eqc(acl[0].id, "anyone"));
    zt_free(t);
}

TEST(ZtSnapshot, RootIsWrittenAsTheEmptyPathAndEndsWithSlash)
{
    // sessions (2 x 12 bytes after the count), then the ACL map, then "".
    wire_rd r;
    wire_rd_init(&r, bytes.data(), bytes.size(), INT32_MAX);
    LONGS_EQUAL(2, wire_rd_i32(&r));
    for (int i = 0; i < 2; i++) {
        wire_rd_i64(&r);
        wire_rd_i32(&r);
    }
    int32_t n_acls = wire_rd_i32(&r);
    for (int32_t i = 0; i < n_acls; i++) {
        CHECK(wire_rd_i64(&r) > 0); // our indexes are never -1 or 0
        int32_t k = wire_rd_i32(&r);
        for (int32_t j = 0; j < k; j++) {
            wire_rd_i32(&r);
            wire_rd_str(&r);
            wire_rd_str(&r);
        }
    }
    wire_str root = wire_rd_str(&r);
    LONGS_EQUAL(0, root.len);
    LONGS_EQUAL(0, r.err);
    // the last 5 bytes are the "/" end marker
    static const uint8_t end[5] = {0, 0, 0, 1, '/'};
    MEMCMP_EQUAL(end, bytes.data() + bytes.size() - 5, 5);
}

TEST(ZtSnapshot, DigestSurvivesTheRoundTrip)
{
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, zt_last_zxid(d->t),
                                      count_sessions, &sessions, &t));
    CHECK(zt_digest(t) == zt_digest(d->t));
    CHECK(zt_digest_recompute(t) == zt_digest(t));
    zt_free(t);
}
