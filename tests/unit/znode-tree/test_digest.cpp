// ZooKeeper's tree digest (znode-tree/digest.c): the node formula against a
// reference computed here bit by bit, which nodes count, and the
// incremental value equal to a whole-tree walk after every kind of change.
// That it equals what Apache ZooKeeper computes is checked against real
// ZooKeeper files in tests/unit/storage/test_zkfiles.cpp.
#include "zt_test_util.h"

#include <vector>

namespace
{

// CRC-32 (java.util.zip.CRC32) bit by bit: no table shared with the code.
uint32_t ref_crc(uint32_t crc, const std::vector<uint8_t> &b)
{
    crc = ~crc;
    for (uint8_t x : b) {
        crc ^= x;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

void be(std::vector<uint8_t> &b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        b.push_back((uint8_t)(v >> (8 * i)));
}

// DigestCalculator.calculateDigest, written out.
uint32_t ref_node(const std::string &path, const std::string &data, const wire_stat &s,
                  int64_t owner)
{
    std::vector<uint8_t> b(path.begin(), path.end());
    b.insert(b.end(), data.begin(), data.end());
    be(b, (uint64_t)s.czxid, 8);
    be(b, (uint64_t)s.mzxid, 8);
    be(b, (uint64_t)s.pzxid, 8);
    be(b, (uint64_t)s.ctime, 8);
    be(b, (uint64_t)s.mtime, 8);
    be(b, (uint32_t)s.version, 4);
    be(b, (uint32_t)s.cversion, 4);
    be(b, (uint32_t)s.aversion, 4);
    be(b, (uint64_t)owner, 8);
    return ref_crc(0, b);
}

int64_t ref_tree(ZtDriver &d, const std::vector<std::string> &paths)
{
    uint64_t sum = 0;
    for (const std::string &p : paths) {
        const zt_node *n = zt_lookup(d.t, wire_str_c(p.c_str()));
        if (n == NULL || p.rfind("/zookeeper/", 0) == 0)
            continue;
        wire_buf data = zt_node_data(n);
        // the raw stat: zt_node_stat shows clients 0 for container/TTL owners
        wire_stat st;
        zt_node_stat(n, &st);
        // and clients see 2 * cversion - numChildren (DataNode.copyStat);
        // the digest hashes the stored cversion
        st.cversion = (st.cversion + st.num_children) / 2;
        sum += ref_node(p == "/" ? "" : p,
                        std::string((const char *)data.p, data.len > 0 ? data.len : 0), st,
                        zt_node_owner(n));
    }
    return (int64_t)sum;
}

} // namespace

TEST_GROUP(ZtDigest)
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
    void consistent()
    {
        CHECK(zt_digest(d->t) == zt_digest_recompute(d->t));
    }
};

TEST(ZtDigest, FreshTreeCountsRootAndZookeeperOnly)
{
    wire_stat zero = {};
    uint64_t want = (uint64_t)ref_node("", "", zero, 0) + ref_node("/zookeeper", "", zero, 0);
    CHECK(zt_digest(d->t) == (int64_t)want);
    consistent();
}

TEST(ZtDigest, NodeFormulaMatchesTheReference)
{
    wire_stat s = {};
    s.czxid = 0x100000001;
    s.mzxid = 0x100000007;
    s.pzxid = 0x100000003;
    s.ctime = 1700000000123;
    s.mtime = 1700000000999;
    s.version = 5;
    s.cversion = -2;
    s.aversion = 1;
    s.ephemeral_owner = (int64_t)0x8000000000000000ull;
    const char data[] = "some data";
    LONGS_EQUAL(ref_node("/a/b", data, s, s.ephemeral_owner),
                zt_digest_calc("/a/b", 4, (const uint8_t *)data, 9, &s));
    // "/" hashes as "" (DataTree's alias); null and empty data hash alike
    LONGS_EQUAL(zt_digest_calc("", 0, NULL, -1, &s), zt_digest_calc("/", 1, NULL, 0, &s));
    // the CRC of "123456789" is the standard check value: our table is CRC-32
    std::vector<uint8_t> chk = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    LONGS_EQUAL(0xCBF43926u, ref_crc(0, chk));
}

TEST(ZtDigest, WhatCountsAndWhatDoesNot)
{
    CHECK(zt_digest_excluded("/zookeeper/quota", 16));
    CHECK(zt_digest_excluded("/zookeeper/config", 17));
    CHECK(zt_digest_excluded("/zookeeper/x/y", 14));
    CHECK_FALSE(zt_digest_excluded("/zookeeper", 10));
    CHECK_FALSE(zt_digest_excluded("/zookeeperx", 11));
    CHECK_FALSE(zt_digest_excluded("/", 1));
    int64_t before = zt_digest(d->t);
    d->simple(WIRE_OP_SETDATA, "/zookeeper/config", -1, "server.1=x");
    CHECK(zt_digest(d->t) == before); // excluded node changed
    d->simple(WIRE_OP_SETDATA, "/zookeeper", -1, "x");
    CHECK(zt_digest(d->t) != before); // /zookeeper itself counts
    consistent();
}

TEST(ZtDigest, IncrementalEqualsRecomputedAfterEveryChange)
{
    static const wire_acl ro[] = {{WIRE_PERM_READ, {"world", 5}, {"anyone", 6}}};
    std::vector<std::string> paths = {"/",  "/zookeeper", "/a", "/a/b", "/a/e",
                                      "/c", "/c/k",       "/t", "/m"};
    int step = 0;
    auto check = [&]() {
        consistent();
        step++;
        CHECK_TEXT(zt_digest(d->t) == ref_tree(*d, paths), std::to_string(step).c_str());
    };
    check();
    d->create("/a", 0, "hello");
    check();
    d->create("/a/b", 0, "");
    d->session = 0x1234;
    d->create("/a/e", WIRE_MODE_EPHEMERAL, "eph");
    check();
    d->create("/c", WIRE_MODE_CONTAINER);
    d->create("/c/k", 0, "1");
    d->create("/t", WIRE_MODE_PERSISTENT_WITH_TTL, "ttl", 5000);
    d->create("/s", WIRE_MODE_PERSISTENT_SEQUENTIAL);
    paths.push_back(d->created_path());
    check();
    d->simple(WIRE_OP_SETDATA, "/a", -1, "changed");
    d->simple(WIRE_OP_SETDATA, "/", -1, "root data");
    check();
    d->set_acl("/a/b", ro, 1);
    check();
    d->simple(WIRE_OP_DELETE, "/c/k");
    check();
    d->delete_container("/c");
    check();
    wire_write_req ops[2];
    ops[0] = zt_op(WIRE_OP_CREATE, "/m");
    ops[1] = zt_op(WIRE_OP_SETDATA, "/a");
    ops[1].data = {(const uint8_t *)"m", 1};
    ops[1].version = -1;
    d->multi(ops, 2);
    check();
    int64_t before = zt_digest(d->t);
    ops[0] = zt_op(WIRE_OP_CREATE, "/never");
    ops[1] = zt_op(WIRE_OP_DELETE, "/nope");
    ops[1].version = -1;
    d->multi(ops, 2); // fails: nothing changes
    CHECK(zt_digest(d->t) == before);
    d->close_session(0x1234);
    CHECK_FALSE(d->exists("/a/e"));
    check();
}

TEST(ZtDigest, ReplayedDeleteOfAGoneChildStillMovesParentPzxid)
{
    // DataTree.deleteNode moves the parent's pzxid before finding the child
    // missing; the digest follows the parent's new stat.
    d->create("/p");
    wire_txn del = {};
    del.type = WIRE_OP_DELETE;
    del.path = wire_str_c("/p/gone");
    int64_t before = zt_digest(d->t);
    d->apply_raw(d->zxid + 5, del);
    CHECK(d->stat("/p").pzxid == d->zxid);
    CHECK(zt_digest(d->t) != before);
    consistent();
}

TEST(ZtDigest, HistoryKeepsEvery128thZxidNewestThousand)
{
    zt_zxid_digest h[ZT_DIGEST_LOG_LIMIT + 1];
    CHECK_EQUAL(0u, zt_digest_history(d->t, h, ZT_DIGEST_LOG_LIMIT));
    d->create("/h", 0, "");
    // up to zxid 128 * (LIMIT + 3): the oldest three entries fall out
    int64_t last = (int64_t)ZT_DIGEST_LOG_INTERVAL * (ZT_DIGEST_LOG_LIMIT + 3);
    while (d->zxid < last)
        d->simple(WIRE_OP_SETDATA, "/h", -1, std::to_string(d->zxid).c_str());
    size_t n = zt_digest_history(d->t, h, ZT_DIGEST_LOG_LIMIT + 1);
    CHECK_EQUAL((size_t)ZT_DIGEST_LOG_LIMIT, n);
    CHECK_EQUAL(4 * ZT_DIGEST_LOG_INTERVAL, h[0].zxid); // 128, 256, 384 are gone
    CHECK_EQUAL(last, h[n - 1].zxid);
    CHECK_EQUAL(zt_digest(d->t), h[n - 1].digest); // after the txn at that zxid
    for (size_t i = 1; i < n; i++) {
        CHECK_EQUAL(h[i - 1].zxid + ZT_DIGEST_LOG_INTERVAL, h[i].zxid);
        CHECK(h[i - 1].digest != h[i].digest); // the data changed in between
    }
    CHECK_EQUAL(2u, zt_digest_history(d->t, h, 2)); // cap honoured, oldest first
    CHECK_EQUAL(4 * ZT_DIGEST_LOG_INTERVAL, h[0].zxid);
}
