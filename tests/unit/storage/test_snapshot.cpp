// Snapshot files in ZooKeeper 3.8's framing: fork-and-write, load with
// fallback, purge, sizes, the final synchronous snapshot.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stor_test_util.h"

#include <CppUTest/TestHarness.h>

namespace
{

// The body a produce() call emits: `len` bytes of a pattern seeded by seed,
// in uneven chunks so the child's buffering is crossed.
struct Body {
    size_t len;
    unsigned seed;
    bool fail;
};

std::string body_bytes(const Body &b)
{
    std::string s(b.len, '\0');
    for (size_t i = 0; i < b.len; i++)
        s[i] = (char)((i * 31 + b.seed) & 0xFF);
    return s;
}

int produce(void *arg, int (*emit)(void *ea, const void *p, size_t n), void *ea)
{
    const Body *b = static_cast<const Body *>(arg);
    std::string s = body_bytes(*b);
    size_t off = 0, chunk = 1;
    while (off < s.size()) {
        size_t n = std::min(chunk, s.size() - off);
        int rc = emit(ea, s.data() + off, n);
        if (rc != 0)
            return rc;
        off += n;
        chunk = chunk * 3 + 7;
        if (b->fail && off > s.size() / 2)
            return ZERR_SYSTEMERROR;
    }
    return 0;
}

void collect_warn(void *arg, const char *msg)
{
    static_cast<std::vector<std::string> *>(arg)->push_back(msg);
}

int count_txn(void *arg, uint64_t, const uint8_t *, size_t)
{
    ++*static_cast<int *>(arg);
    return 0;
}

int first_zxid(void *arg, uint64_t zxid, const uint8_t *, size_t)
{
    uint64_t *z = static_cast<uint64_t *>(arg);
    if (*z == 0)
        *z = zxid;
    return 0;
}

} // namespace

TEST_GROUP(StorSnapshot)
{
    ScratchDir *dir;
    stor *st;
    char err[512];
    std::string data_path;

    void setup()
    {
        dir = new ScratchDir();
        data_path = dir->sub("data");
        st = NULL;
        open_with(0);
    }
    void teardown()
    {
        stor_close(st);
        delete dir;
    }
    void open_with(int retain)
    {
        stor_close(st);
        st = NULL;
        stor_config c = {};
        c.data_dir = data_path.c_str();
        c.autopurge_retain = retain;
        LONGS_EQUAL_TEXT(0, stor_open(&c, &st, err, sizeof(err)), err);
    }
    std::string snap_file(const char *name)
    {
        return data_path + "/version-2/" + name;
    }
    // Runs one snapshot to completion and returns stor_snapshot_poll's result.
    int snapshot(uint64_t zxid, Body b)
    {
        stor_snap_digest dg = {(int64_t)zxid, 2, (int64_t)(zxid * 1000003)};
        LONGS_EQUAL(0, stor_snapshot_begin(st, zxid, &dg, produce, &b));
        int rc = 0;
        CHECK(wait_until([&] { return (rc = stor_snapshot_poll(st)) != 0; }, 10000));
        return rc;
    }
    std::vector<std::string> files()
    {
        std::vector<std::string> out;
        DIR *d = opendir((data_path + "/version-2").c_str());
        for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
            if (strncmp(de->d_name, "snapshot.", 9) == 0)
                out.push_back(de->d_name);
        if (d != NULL)
            closedir(d);
        std::sort(out.begin(), out.end());
        return out;
    }
    uint64_t load(std::string * body, std::vector<std::string> * warns, int expect_rc = 0,
                  uint64_t before = UINT64_MAX)
    {
        uint64_t zxid = 0;
        uint8_t *bytes = NULL;
        stor_snapfile sf;
        LONGS_EQUAL(expect_rc,
                    stor_snapshot_load(st, before, &zxid, &bytes, &sf, collect_warn, warns));
        if (expect_rc == 0) {
            body->assign(reinterpret_cast<const char *>(sf.body), sf.body_len);
            CHECK(sf.has_digest);
            LONGS_EQUAL(zxid, sf.digest.zxid);
            LONGS_EQUAL(2, sf.digest.version);
            CHECK(sf.digest.digest == (int64_t)(zxid * 1000003));
            CHECK(sf.dbid == -1);
        }
        free(bytes);
        return zxid;
    }
};

TEST(StorSnapshot, NoSnapshotIsNoNode)
{
    std::string body;
    std::vector<std::string> warns;
    load(&body, &warns, ZERR_NONODE);
    LONGS_EQUAL(0, warns.size());
}

TEST(StorSnapshot, RoundTripThroughFork)
{
    Body b = {200000, 3, false};
    LONGS_EQUAL(1, snapshot(0x1a2b, b));
    LONGS_EQUAL(0, stor_snapshot_poll(st)); /* reported once */
    std::vector<std::string> f = files();
    LONGS_EQUAL(1, f.size());
    STRCMP_EQUAL("snapshot.1a2b", f[0].c_str());
    struct stat sb;
    CHECK(stat(snap_file("snapshot.1a2b").c_str(), &sb) == 0);
    /* header, body, seal, ZxidDigest, seal */
    LONGS_EQUAL(16 + 200000 + 13 + 20 + 13, sb.st_size);

    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x1a2b, load(&body, &warns));
    CHECK(body == body_bytes(b));
    LONGS_EQUAL(0, warns.size());
}

TEST(StorSnapshot, EmptyBodyRoundTrips)
{
    LONGS_EQUAL(1, snapshot(5, Body{0, 0, false}));
    std::string body = "x";
    std::vector<std::string> warns;
    LONGS_EQUAL(5, load(&body, &warns));
    LONGS_EQUAL(0, body.size());
}

TEST(StorSnapshot, OnlyOneAtATime)
{
    Body b = {1000, 1, false};
    stor_snap_digest dg = {10, 2, 0};
    LONGS_EQUAL(0, stor_snapshot_begin(st, 10, &dg, produce, &b));
    /* Until the child is reaped, a second one is refused. */
    LONGS_EQUAL(ZERR_CLOSING, stor_snapshot_begin(st, 11, &dg, produce, &b));
    int rc = 0;
    CHECK(wait_until([&] { return (rc = stor_snapshot_poll(st)) != 0; }, 10000));
    LONGS_EQUAL(1, rc);
    LONGS_EQUAL(1, snapshot(11, b));
}

TEST(StorSnapshot, FailedProduceLeavesNoFile)
{
    LONGS_EQUAL(ZERR_IO, snapshot(0x30, Body{100000, 2, true}));
    LONGS_EQUAL(0, files().size());
}

TEST(StorSnapshot, TruncatedNewestFallsBackToPrevious)
{
    Body old_b = {5000, 1, false}, new_b = {7000, 2, false};
    LONGS_EQUAL(1, snapshot(0x10, old_b));
    LONGS_EQUAL(1, snapshot(0x20, new_b));
    std::string p = snap_file("snapshot.20");
    struct stat sb;
    CHECK(stat(p.c_str(), &sb) == 0);
    CHECK(truncate(p.c_str(), sb.st_size - 5) == 0);
    /* A partial .tmp with a higher zxid is never considered. */
    FILE *f = fopen(snap_file("zabd-snapshot.30.tmp").c_str(), "w");
    fputs("ZKSN partial", f);
    fclose(f);

    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x10, load(&body, &warns));
    CHECK(body == body_bytes(old_b));
    LONGS_EQUAL(1, warns.size());
    CHECK_TEXT(warns[0].find("snapshot.20") != std::string::npos, warns[0].c_str());
}

TEST(StorSnapshot, BadChecksumIsSkippedWithWarning)
{
    LONGS_EQUAL(1, snapshot(0x10, Body{5000, 1, false}));
    LONGS_EQUAL(1, snapshot(0x11, Body{5000, 2, false}));
    int fd = open(snap_file("snapshot.11").c_str(), O_RDWR);
    CHECK(fd >= 0);
    char c;
    CHECK(pread(fd, &c, 1, 16 + 100) == 1);
    c ^= 0x40;
    CHECK(pwrite(fd, &c, 1, 16 + 100) == 1);
    close(fd);

    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x10, load(&body, &warns));
    LONGS_EQUAL(1, warns.size());
    CHECK_TEXT(warns[0].find("checksum") != std::string::npos, warns[0].c_str());
}

TEST(StorSnapshot, AllDamagedIsCorruptNotEmpty)
{
    LONGS_EQUAL(1, snapshot(0x10, Body{100, 1, false}));
    CHECK(truncate(snap_file("snapshot.10").c_str(), 10) == 0);
    /* A file that is not a ZooKeeper snapshot at all. */
    FILE *f = fopen(snap_file("snapshot.13").c_str(), "w");
    fputs("ZBSN\0\0\0\1 an old zabd snapshot, or anything else", f);
    fclose(f);
    std::string body;
    std::vector<std::string> warns;
    load(&body, &warns, ZERR_CORRUPT);
    LONGS_EQUAL(2, warns.size());
}

TEST(StorSnapshot, PurgeKeepsRetainSnapshotsAndDropsOldLog)
{
    LONGS_EQUAL(0, stor_start(st, NULL, NULL, NULL));
    for (uint64_t z = 1; z <= 60; z++) { /* a chunk per txn, so purges are exact */
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)"t", 1));
        stor_submit(st);
    }
    for (uint64_t z = 10; z <= 50; z += 10)
        LONGS_EQUAL(1, snapshot(z, Body{100, (unsigned)z, false}));
    FILE *f = fopen(snap_file("zabd-snapshot.5.tmp").c_str(), "w"); /* crash leftover */
    fclose(f);
    LONGS_EQUAL(0, stor_purge(st, 1)); /* below the minimum: keeps 3 */
    std::vector<std::string> f3 = files();
    LONGS_EQUAL(3, f3.size());
    STRCMP_EQUAL("snapshot.1e", f3[0].c_str());
    STRCMP_EQUAL("snapshot.28", f3[1].c_str());
    STRCMP_EQUAL("snapshot.32", f3[2].c_str());

    open_with(0); /* close drains the purge the log thread holds */
    int n = 0;
    uint64_t first = 0;
    LONGS_EQUAL(0, stor_replay(st, 0, count_txn, &n, err, sizeof(err)));
    LONGS_EQUAL(30, n); /* 31..60 */
    LONGS_EQUAL(0, stor_replay(st, 0, first_zxid, &first, err, sizeof(err)));
    LONGS_EQUAL(31, first);
    LONGS_EQUAL(60, stor_last_zxid(st));
}

TEST(StorSnapshot, PurgeKeepsALogChunkThatStraddlesTheOldestSnapshot)
{
    LONGS_EQUAL(0, stor_start(st, NULL, NULL, NULL));
    for (uint64_t z = 1; z <= 20; z++) { /* chunks 1..6, 7..12, 13..20 */
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)"t", 1));
        if (z == 6 || z == 12)
            stor_submit(st);
    }
    stor_submit(st);
    open_with(0);
    for (uint64_t z = 4; z <= 16; z += 4)
        LONGS_EQUAL(1, snapshot(z, Body{10, 0, false}));
    LONGS_EQUAL(0, stor_purge(st, 3)); /* oldest kept: snapshot.8 */
    uint64_t first = 0;
    LONGS_EQUAL(0, stor_replay(st, 0, first_zxid, &first, err, sizeof(err)));
    LONGS_EQUAL(7, first); /* 1..6 went; 7..12 holds 9..12, still needed */
    int n = 0;
    LONGS_EQUAL(0, stor_replay(st, 8, count_txn, &n, err, sizeof(err)));
    LONGS_EQUAL(12, n);
}

TEST(StorSnapshot, PurgeWithoutLogThreadDeletesDirectly)
{
    LONGS_EQUAL(0, stor_start(st, NULL, NULL, NULL));
    for (uint64_t z = 1; z <= 20; z++) {
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)"t", 1));
        stor_submit(st);
    }
    open_with(0);
    for (uint64_t z = 4; z <= 16; z += 4)
        LONGS_EQUAL(1, snapshot(z, Body{10, 0, false}));
    LONGS_EQUAL(0, stor_purge(st, 3));
    LONGS_EQUAL(3, files().size());
    uint64_t first = 0;
    LONGS_EQUAL(0, stor_replay(st, 0, first_zxid, &first, err, sizeof(err)));
    LONGS_EQUAL(9, first);
}

TEST(StorSnapshot, PollAutopurgesWhenConfigured)
{
    open_with(3);
    for (uint64_t z = 1; z <= 5; z++)
        LONGS_EQUAL(1, snapshot(z, Body{10, 0, false}));
    std::vector<std::string> f = files();
    LONGS_EQUAL(3, f.size());
    STRCMP_EQUAL("snapshot.3", f[0].c_str());
}

TEST(StorSnapshot, SizesCountSnapshotFiles)
{
    LONGS_EQUAL(1, snapshot(1, Body{1000, 0, false}));
    LONGS_EQUAL(1, snapshot(2, Body{2000, 0, false}));
    uint64_t snap = 0, log = 0;
    stor_sizes(st, &snap, &log);
    LONGS_EQUAL(2 * (16 + 46) + 3000, snap);
    CHECK(log > 0);
}

TEST(StorSnapshot, TmpNamesAreNotSnapshotNames)
{
    /* ZooKeeper's loader takes any "snapshot.<hex>[.x]" as a candidate, so
     * the file being written must be named otherwise, and a crash leftover
     * is swept by the next purge. */
    FILE *f = fopen(snap_file("zabd-snapshot.40.tmp").c_str(), "w");
    fclose(f);
    LONGS_EQUAL(1, snapshot(0x41, Body{10, 0, false}));
    std::vector<std::string> fs = files();
    LONGS_EQUAL(1, fs.size());
    STRCMP_EQUAL("snapshot.41", fs[0].c_str());
    LONGS_EQUAL(0, stor_purge(st, 3));
    CHECK(access(snap_file("zabd-snapshot.40.tmp").c_str(), F_OK) != 0);
}

TEST(StorSnapshot, BeforeSkipsNewerFiles)
{
    LONGS_EQUAL(1, snapshot(0x10, Body{50, 1, false}));
    LONGS_EQUAL(1, snapshot(0x20, Body{50, 2, false}));
    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x10, load(&body, &warns, 0, 0x20));
    CHECK(body == body_bytes(Body{50, 1, false}));
    load(&body, &warns, ZERR_NONODE, 0x10); /* nothing older */
    LONGS_EQUAL(0x20, stor_snapshot_newest(st));
}

TEST(StorSnapshot, CompressedSnapshotsAreSkippedWithWarning)
{
    LONGS_EQUAL(1, snapshot(0x10, Body{50, 1, false}));
    FILE *f = fopen(snap_file("snapshot.20.gz").c_str(), "w");
    fputs("\x1f\x8b", f);
    fclose(f);
    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x10, load(&body, &warns));
    LONGS_EQUAL(1, warns.size());
    CHECK_TEXT(warns[0].find("snapshot.20.gz") != std::string::npos, warns[0].c_str());
}

TEST(StorSnapshot, SyncWaitsAndWrites)
{
    Body b = {3000, 9, false};
    stor_snap_digest dg = {0x50, 2, 0x50 * 1000003};
    LONGS_EQUAL(0, stor_snapshot_begin(st, 0x4f, &dg, produce, &b));
    LONGS_EQUAL(0, stor_snapshot_sync(st, 0x50, &dg, produce, &b)); /* waits for 0x4f first */
    std::vector<std::string> fs = files();
    LONGS_EQUAL(2, fs.size());
    std::string body;
    std::vector<std::string> warns;
    LONGS_EQUAL(0x50, load(&body, &warns));
    CHECK(body == body_bytes(b));
    Body bad = {3000, 9, true};
    LONGS_EQUAL(ZERR_IO, stor_snapshot_sync(st, 0x51, &dg, produce, &bad));
    LONGS_EQUAL(0x50, stor_snapshot_newest(st));
}

TEST(StorSnapshot, FlushWaitsForTheQueue)
{
    LONGS_EQUAL(0, stor_flush(st)); /* no thread: nothing to wait for */
    LONGS_EQUAL(0, stor_start(st, NULL, NULL, NULL));
    for (uint64_t z = 1; z <= 200; z++)
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)"txn", 3));
    LONGS_EQUAL(0, stor_flush(st)); /* submits what was appended, then waits */
    LONGS_EQUAL(200, stor_last_zxid(st));
}
