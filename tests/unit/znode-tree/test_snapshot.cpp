// Snapshot encode/decode: an identical tree back, sessions handed over, and
// every damaged input refused.
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
        CHECK_TRUE(ax[i].perms == ay[i].perms && wire_str_eq(ax[i].id, ay[i].id));
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
        zt_session_rec s[2] = {{0x100, 4000}, {0x200, 8000}};
        LONGS_EQUAL(0, zt_snapshot_encode(d->t, s, 2, collect, &bytes));
    }
    void teardown() override { delete d; }
};

TEST(ZtSnapshot, DecodeGivesAnIdenticalTree)
{
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(0, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX, count_sessions,
                                      &sessions, &t));
    LONGS_EQUAL(2, sessions);
    LONGS_EQUAL(zt_node_count(d->t), zt_node_count(t));
    CHECK(zt_last_zxid(t) == zt_last_zxid(d->t));
    for (const char *p : {"/", "/zookeeper", "/zookeeper/config", "/a", "/a/b", "/a/b/c",
                          "/cont", "/ro"})
        same_node(d->t, t, p);
    LONGS_EQUAL(1, zt_ephemeral_count(t));
    zt_free(t);
}

TEST(ZtSnapshot, EveryTruncationIsCorrupt)
{
    for (size_t n = 0; n < bytes.size(); n++) {
        zt_tree *t = NULL;
        int sessions = 0;
        int rc = zt_snapshot_decode(bytes.data(), n, INT32_MAX, count_sessions, &sessions, &t);
        CHECK_TEXT(rc != 0 && t == NULL, "a truncated snapshot decoded");
    }
}

TEST(ZtSnapshot, TrailingBytesAreCorrupt)
{
    bytes.push_back(0);
    zt_tree *t = NULL;
    int sessions = 0;
    LONGS_EQUAL(ZERR_CORRUPT, zt_snapshot_decode(bytes.data(), bytes.size(), INT32_MAX,
                                                 count_sessions, &sessions, &t));
}
