// Apache ZooKeeper 3.8's own files, read back: the fixtures in zk38/ are a
// real ZooKeeper 3.8.0 data directory's snapshot.3f, snapshot.4c and
// log.36, log.41, log.4e (the workload of tests/faults/zkfiles/workload.py
// with snapCount=20), the logs cut 64 bytes after their last entry instead
// of at 64 MiB of preallocated zeros. They check our decoders against bytes
// ZooKeeper wrote, and our tree digest against the digests it recorded.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "stor_test_util.h"
#include "znode-tree/zt.h"

#include <CppUTest/TestHarness.h>

namespace
{

std::string fixture(const char *name)
{
    return std::string(ZK38_FIXTURES) + "/" + name;
}

std::string slurp(const std::string &path)
{
    std::string s;
    FILE *f = fopen(path.c_str(), "rb");
    if (f == NULL)
        return s;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        s.append(buf, n);
    fclose(f);
    return s;
}

void spill(const std::string &path, const std::string &bytes)
{
    FILE *f = fopen(path.c_str(), "wb");
    fwrite(bytes.data(), 1, bytes.size(), f);
    fclose(f);
}

void collect_warn(void *arg, const char *msg)
{
    static_cast<std::vector<std::string> *>(arg)->push_back(msg);
}

struct Sessions {
    std::vector<std::pair<int64_t, int32_t>> v;
};

int add_session(void *arg, int64_t id, int32_t timeout)
{
    static_cast<Sessions *>(arg)->v.push_back({id, timeout});
    return 0;
}

// Applies each txn as recovery does and checks the TxnDigest ZooKeeper
// logged after it.
struct Replay {
    zt_tree *t;
    zt_out out;
    int n, checked, mismatched;
    uint64_t first, last;
};

int apply_one(void *arg, uint64_t zxid, const uint8_t *p, size_t len)
{
    Replay *r = static_cast<Replay *>(arg);
    wire_rd rd;
    wire_txn_hdr h;
    wire_txn txn;
    wire_rd_init(&rd, p, len, INT32_MAX);
    wire_txn_hdr_decode(&rd, &h);
    if (rd.err != 0 || (uint64_t)h.zxid != zxid)
        return ZERR_CORRUPT;
    int rc = wire_txn_body_decode(&rd, h.type, &txn);
    if (rc != 0)
        return rc;
    zt_out_reset(&r->out);
    rc = zt_apply(r->t, &h, &txn, &r->out);
    wire_txn_fini(&txn);
    bool has = false;
    int32_t version = 0;
    int64_t digest = 0;
    if (rc == 0 && wire_txn_entry_digest(p, len, &has, &version, &digest) == 0 && has) {
        r->checked++;
        if (version != ZT_DIGEST_VERSION || digest != zt_digest(r->t))
            r->mismatched++;
    }
    if (r->first == 0)
        r->first = zxid;
    r->last = zxid;
    r->n++;
    return rc;
}

zt_tree *load_fixture_snapshot(const char *name, stor_snapfile *sf, Sessions *ss)
{
    uint8_t *file = NULL;
    char why[256] = "";
    LONGS_EQUAL_TEXT(0, stor_snapfile_read(fixture(name).c_str(), &file, sf, why, sizeof why), why);
    zt_tree *t = NULL;
    LONGS_EQUAL(0, zt_snapshot_decode(sf->body, sf->body_len, INT32_MAX, sf->digest.zxid,
                                      add_session, ss, &t));
    free(file);
    return t;
}

} // namespace

TEST_GROUP(ZkFiles)
{
    ScratchDir *dir;
    stor *st;
    char err[1024];
    std::vector<std::string> warns;

    void setup()
    {
        dir = new ScratchDir();
        st = NULL;
        err[0] = '\0';
        mkdir(dir->sub("data").c_str(), 0755);
        mkdir(dir->sub("data/version-2").c_str(), 0755);
        const char *names[] = {"snapshot.3f", "snapshot.4c", "log.36", "log.41", "log.4e"};
        for (const char *n : names)
            spill(dir->sub("data/version-2/") + n, slurp(fixture(n)));
    }
    void teardown()
    {
        stor_close(st);
        delete dir;
    }
    void open_store()
    {
        stor_config c = {};
        std::string d = dir->sub("data");
        c.data_dir = d.c_str();
        LONGS_EQUAL_TEXT(0, stor_open(&c, &st, err, sizeof err), err);
    }
    std::string logfile(const char *n)
    {
        return dir->sub("data/version-2/") + n;
    }
};

TEST(ZkFiles, SnapshotFramingAndDigestRecord)
{
    std::string bytes = slurp(fixture("snapshot.4c"));
    stor_snapfile sf;
    char why[256];
    LONGS_EQUAL(
        0, stor_snapfile_parse((const uint8_t *)bytes.data(), bytes.size(), &sf, why, sizeof why));
    CHECK(sf.dbid == -1);
    CHECK(sf.has_digest);
    LONGS_EQUAL(0x4c, sf.digest.zxid);
    LONGS_EQUAL(2, sf.digest.version);
    LONGS_EQUAL(16 + sf.body_len + 46, bytes.size());
}

TEST(ZkFiles, SnapshotDecodesAndDigestEqualsZooKeepers)
{
    stor_snapfile sf;
    Sessions ss;
    zt_tree *t = load_fixture_snapshot("snapshot.4c", &sf, &ss);
    /* ZooKeeper wrote this snapshot with nothing in flight, so the digest
     * it recorded for 0x4c is the digest of exactly this tree. */
    CHECK(zt_digest(t) == sf.digest.digest);
    CHECK(zt_digest_recompute(t) == sf.digest.digest);
    LONGS_EQUAL(0x4c, zt_last_zxid(t));
    LONGS_EQUAL(1, ss.v.size());        /* the workload's session, still open */
    LONGS_EQUAL(10000, ss.v[0].second); /* kazoo's default */
    const zt_node *eph = zt_lookup(t, wire_str_c("/app/eph"));
    CHECK(eph != NULL);
    CHECK(zt_node_owner(eph) == ss.v[0].first);
    const zt_node *box = zt_lookup(t, wire_str_c("/app/box"));
    CHECK(box != NULL && zt_node_owner(box) == ZT_OWNER_CONTAINER);
    const zt_node *ttl = zt_lookup(t, wire_str_c("/app/ttl"));
    CHECK(ttl != NULL && (zt_node_owner(ttl) & ZT_OWNER_EXTENDED_MASK) == ZT_OWNER_EXTENDED_MASK);
    const wire_acl *acl;
    int32_t n_acl;
    zt_node_acl(t, zt_lookup(t, wire_str_c("/app/cfg")), &acl, &n_acl);
    LONGS_EQUAL(1, n_acl);
    CHECK(wire_str_eqc(acl[0].scheme, "digest"));
    /* The root and /zookeeper use ZooKeeper's -1: OPEN_ACL_UNSAFE. */
    zt_node_acl(t, zt_lookup(t, wire_str_c("/")), &acl, &n_acl);
    LONGS_EQUAL(1, n_acl);
    LONGS_EQUAL(WIRE_PERM_ALL, acl[0].perms);
    CHECK(wire_str_eqc(acl[0].id, "anyone"));
    zt_free(t);
}

TEST(ZkFiles, ReEncodedSnapshotKeepsTreeAndDigest)
{
    stor_snapfile sf;
    Sessions ss;
    zt_tree *t = load_fixture_snapshot("snapshot.4c", &sf, &ss);
    std::string body;
    zt_session_rec rec = {ss.v[0].first, ss.v[0].second};
    LONGS_EQUAL(0, zt_snapshot_encode(
                       t, &rec, 1,
                       [](void *a, const void *p, size_t n) {
                           static_cast<std::string *>(a)->append((const char *)p, n);
                           return 0;
                       },
                       &body));
    /* Same bytes count as ZooKeeper's (order aside, and ACL indexes aside:
     * ours are never -1, so the same lists, each written once). */
    Sessions ss2;
    zt_tree *t2 = NULL;
    LONGS_EQUAL(0, zt_snapshot_decode((const uint8_t *)body.data(), body.size(), INT32_MAX, 0x4c,
                                      add_session, &ss2, &t2));
    CHECK(zt_digest(t2) == zt_digest(t));
    LONGS_EQUAL(zt_node_count(t), zt_node_count(t2));
    CHECK(ss2.v == ss.v);
    zt_free(t);
    zt_free(t2);
}

TEST(ZkFiles, LogReplayMatchesEveryTxnDigest)
{
    open_store();
    stor_snapfile sf;
    Sessions ss;
    Replay r = {};
    r.t = load_fixture_snapshot("snapshot.3f", &sf, &ss);
    zt_out_init(&r.out);
    uint64_t last = 0;
    LONGS_EQUAL_TEXT(
        0, stor_zklog_replay(st, 0x3f, apply_one, &r, &last, collect_warn, &warns, err, sizeof err),
        err);
    LONGS_EQUAL(0x40, r.first); /* log.36 is read from its middle */
    LONGS_EQUAL(0x5b, r.last);
    LONGS_EQUAL(0x5b, last);
    LONGS_EQUAL(0x5b - 0x3f, r.n);
    LONGS_EQUAL(r.n, r.checked);
    LONGS_EQUAL(0, r.mismatched);
    LONGS_EQUAL(0, warns.size());
    /* ... and reaching 0x4c gives the digest snapshot.4c recorded. */
    stor_snapfile sf4c;
    Sessions ss4c;
    zt_tree *t4c = load_fixture_snapshot("snapshot.4c", &sf4c, &ss4c);
    CHECK(zt_digest_recompute(r.t) == zt_digest(r.t));
    zt_free(t4c);
    zt_out_fini(&r.out);
    zt_free(r.t);
}

TEST(ZkFiles, ReplayAfterTheLastTxnIsEmpty)
{
    open_store();
    Replay r = {};
    r.t = zt_new();
    zt_out_init(&r.out);
    uint64_t last = 0;
    LONGS_EQUAL(0, stor_zklog_replay(st, 0x5b, apply_one, &r, &last, collect_warn, &warns, err,
                                     sizeof err));
    LONGS_EQUAL(0, r.n);
    LONGS_EQUAL(0x5b, last);
    zt_out_fini(&r.out);
    zt_free(r.t);
}

TEST(ZkFiles, DamagedEntryInTheMiddleRefusesNamingFileAndZxid)
{
    std::string b = slurp(logfile("log.41"));
    b[16 + 12 + 40] ^= 0x01; /* inside the first entry's txn */
    spill(logfile("log.41"), b);
    open_store();
    Replay r = {};
    r.t = zt_new();
    zt_out_init(&r.out);
    uint64_t last = 0;
    LONGS_EQUAL(ZERR_CORRUPT, stor_zklog_replay(st, 0x3f, apply_one, &r, &last, collect_warn,
                                                &warns, err, sizeof err));
    CHECK_TEXT(strstr(err, "log.41") != NULL, err);
    CHECK_TEXT(strstr(err, "0x40") != NULL, err); /* the last good zxid */
    zt_out_fini(&r.out);
    zt_free(r.t);
}

TEST(ZkFiles, TornTailIsToleratedWithWarning)
{
    std::string b = slurp(logfile("log.4e"));
    /* Cut the last entry short, then the zero padding a preallocated file
     * has after it: ZooKeeper's reader ends the file there. */
    size_t end = b.size() - 64;
    std::string cut = b.substr(0, end - 10) + std::string(100, '\0');
    spill(logfile("log.4e"), cut);
    open_store();
    Replay r = {};
    stor_snapfile sf;
    Sessions ss;
    r.t = load_fixture_snapshot("snapshot.4c", &sf, &ss);
    zt_out_init(&r.out);
    uint64_t last = 0;
    LONGS_EQUAL_TEXT(
        0, stor_zklog_replay(st, 0x4c, apply_one, &r, &last, collect_warn, &warns, err, sizeof err),
        err);
    LONGS_EQUAL(0x5a, last); /* 0x5b was the torn one */
    LONGS_EQUAL(1, warns.size());
    CHECK_TEXT(warns[0].find("torn") != std::string::npos, warns[0].c_str());
    LONGS_EQUAL(0, r.mismatched);
    zt_out_fini(&r.out);
    zt_free(r.t);
}

TEST(ZkFiles, EntryParserEdges)
{
    std::string b = slurp(fixture("log.41"));
    const uint8_t *p = (const uint8_t *)b.data();
    int32_t version;
    int64_t dbid;
    LONGS_EQUAL(0, stor_zklog_header(p, b.size(), &version, &dbid));
    LONGS_EQUAL(2, version);
    LONGS_EQUAL(ZERR_CORRUPT, stor_zklog_header((const uint8_t *)"ZKSN0000", 8, &version, &dbid));
    size_t off = 16;
    stor_zklog_entry e;
    bool torn;
    int n = 0;
    while (stor_zklog_next(p, b.size(), &off, 1 << 20, &e, &torn) == 1)
        n++;
    LONGS_EQUAL(13, n);
    CHECK(!torn); /* ends in zero padding */
    /* A length beyond the limit is damage, not a torn tail. */
    off = 16;
    LONGS_EQUAL(ZERR_CORRUPT, stor_zklog_next(p, b.size(), &off, 10, &e, &torn));
    /* An end byte that is not 'B' ends the file (a torn write). */
    std::string c = b;
    off = 16;
    LONGS_EQUAL(1, stor_zklog_next((const uint8_t *)c.data(), c.size(), &off, 1 << 20, &e, &torn));
    c[off - 1] = 0;
    off = 16;
    LONGS_EQUAL(0, stor_zklog_next((const uint8_t *)c.data(), c.size(), &off, 1 << 20, &e, &torn));
    CHECK(torn);
}

TEST(ZkFiles, SnapshotWithoutDigestPartAndCorruptOnes)
{
    std::string b = slurp(fixture("snapshot.4c"));
    stor_snapfile sf;
    char why[256];
    /* digest.enabled=false: the file ends after the first seal. */
    std::string nodg = b.substr(0, b.size() - 33);
    LONGS_EQUAL(
        0, stor_snapfile_parse((const uint8_t *)nodg.data(), nodg.size(), &sf, why, sizeof why));
    CHECK(!sf.has_digest);
    LONGS_EQUAL(nodg.size() - 16 - 13, sf.body_len);
    for (size_t at : {(size_t)3, (size_t)20, b.size() / 2, b.size() - 20, b.size() - 1}) {
        std::string c = b;
        c[at] ^= 0x10;
        CHECK_TEXT(stor_snapfile_parse((const uint8_t *)c.data(), c.size(), &sf, why, sizeof why) ==
                       ZERR_CORRUPT,
                   std::to_string(at).c_str());
    }
    for (size_t len : {(size_t)0, (size_t)16, (size_t)40, b.size() - 1, b.size() - 13}) {
        if (len == b.size() - 13)
            continue; /* ends at the second seal's start: checked below */
        CHECK(stor_snapfile_parse((const uint8_t *)b.data(), len, &sf, why, sizeof why) ==
              ZERR_CORRUPT);
    }
}
