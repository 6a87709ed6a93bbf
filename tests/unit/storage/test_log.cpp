// The txn log: append, group commit, replay, corruption, reopen, epochs.
#include <sys/stat.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <rocksdb/c.h>

#include "stor_test_util.h"

#include <CppUTest/TestHarness.h>

namespace
{

struct Durable {
    std::mutex mu;
    std::vector<uint64_t> calls;
    std::atomic<uint64_t> last{0};
    std::atomic<int> errors{0};
};

void on_durable(void *arg, uint64_t zxid)
{
    Durable *d = static_cast<Durable *>(arg);
    std::lock_guard<std::mutex> g(d->mu);
    d->calls.push_back(zxid);
    d->last.store(zxid);
}

void on_error(void *arg, const char *msg)
{
    static_cast<Durable *>(arg)->errors++;
}

struct Entry {
    uint64_t zxid;
    std::string txn;
};

int collect(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    static_cast<std::vector<Entry> *>(arg)->push_back(
        Entry{zxid, std::string(reinterpret_cast<const char *>(txn), len)});
    return 0;
}

std::string payload(uint64_t zxid)
{
    return "txn-" + std::to_string(zxid) + std::string(zxid % 7, 'x');
}

// One record of a log chunk as storage/log.c lays it out: zxid, len, the
// CRC-32 of those and the txn, the txn; with crc_ok false the CRC is off.
std::string record(uint64_t zxid, const std::string &txn, bool crc_ok = true)
{
    uint8_t h[16];
    wire_put_be64(h, zxid);
    wire_put_be32(h + 8, (uint32_t)txn.size());
    uint32_t crc = wire_crc32(wire_crc32(0, h, 12), (const uint8_t *)txn.data(), txn.size());
    wire_put_be32(h + 12, crc_ok ? crc : crc ^ 1);
    return std::string(reinterpret_cast<const char *>(h), sizeof h) + txn;
}

int append_str(stor *st, uint64_t zxid, const std::string &s)
{
    int rc = stor_append(st, zxid, reinterpret_cast<const uint8_t *>(s.data()), s.size());
    stor_submit(st);
    return rc;
}

} // namespace

TEST_GROUP(StorLog)
{
    ScratchDir *dir;
    stor *st;
    char err[512];
    Durable dur;

    void setup()
    {
        dir = new ScratchDir();
        data_path = dir->sub("data");
        log_path = dir->sub("logs");
        st = NULL;
        err[0] = '\0';
    }
    void teardown()
    {
        stor_close(st);
        delete dir;
    }
    stor_config cfg()
    {
        stor_config c = {};
        c.data_dir = data_path.c_str();
        c.log_dir = log_path.c_str();
        c.max_txn_len = 1024;
        return c;
    }
    std::string data_path, log_path;
    void open_start()
    {
        stor_config c = cfg();
        LONGS_EQUAL_TEXT(0, stor_open(&c, &st, err, sizeof(err)), err);
        LONGS_EQUAL(0, stor_start(st, on_durable, on_error, &dur));
    }
    void reopen()
    {
        stor_close(st);
        st = NULL;
        stor_config c = cfg();
        LONGS_EQUAL_TEXT(0, stor_open(&c, &st, err, sizeof(err)), err);
    }
    std::vector<Entry> replay(uint64_t after)
    {
        std::vector<Entry> out;
        LONGS_EQUAL_TEXT(0, stor_replay(st, after, collect, &out, err, sizeof(err)), err);
        return out;
    }
    // Writes a raw value under the log key of zxid, bypassing stor, the way
    // a damaged disk would present it. st must be closed.
    void put_raw(uint64_t zxid, const void *val, size_t len)
    {
        char *e = NULL;
        rocksdb_options_t *o = rocksdb_options_create();
        std::string path = dir->sub("logs/version-2/txnlog");
        rocksdb_t *db = rocksdb_open(o, path.c_str(), &e);
        CHECK_TEXT(e == NULL, e);
        uint8_t key[9];
        key[0] = 'L';
        wire_put_be64(key + 1, zxid);
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        rocksdb_put(db, wo, (const char *)key, sizeof(key), (const char *)val, len, &e);
        CHECK_TEXT(e == NULL, e);
        rocksdb_writeoptions_destroy(wo);
        rocksdb_close(db);
        rocksdb_options_destroy(o);
    }
};

TEST(StorLog, AppendCallsDurableAndReplaysInOrder)
{
    open_start();
    for (uint64_t z = 1; z <= 10; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    CHECK(wait_until([&] { return dur.last.load() == 10; }, 5000));
    LONGS_EQUAL(10, stor_last_zxid(st));
    {
        std::lock_guard<std::mutex> g(dur.mu);
        for (size_t i = 1; i < dur.calls.size(); i++)
            CHECK(dur.calls[i] > dur.calls[i - 1]);
    }
    std::vector<Entry> got = replay(0);
    LONGS_EQUAL(10, got.size());
    for (uint64_t z = 1; z <= 10; z++) {
        LONGS_EQUAL(z, got[z - 1].zxid);
        STRCMP_EQUAL(payload(z).c_str(), got[z - 1].txn.c_str());
    }
    LONGS_EQUAL(0, dur.errors.load());
}

TEST(StorLog, ReopenAfterCloseKeepsEverythingQueued)
{
    open_start();
    for (uint64_t z = 100; z < 300; z += 2)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    reopen(); /* close drains the queue before it stops the thread */
    LONGS_EQUAL(298, dur.last.load());
    LONGS_EQUAL(298, stor_last_zxid(st));
    std::vector<Entry> got = replay(0);
    LONGS_EQUAL(100, got.size());
    LONGS_EQUAL(100, got.front().zxid);
    STRCMP_EQUAL(payload(298).c_str(), got.back().txn.c_str());
}

TEST(StorLog, GroupCommitBatchesManyAppendsPerSync)
{
    open_start();
    for (uint64_t z = 1; z <= 1000; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    CHECK(wait_until([&] { return dur.last.load() == 1000; }, 10000));
    size_t n_calls;
    {
        std::lock_guard<std::mutex> g(dur.mu);
        n_calls = dur.calls.size();
    }
    CHECK_TEXT(n_calls < 1000, "one fsync per txn: no batching");
    LONGS_EQUAL(1000, replay(0).size());
}

TEST(StorLog, ReplayAfterNStartsPastN)
{
    open_start();
    for (uint64_t z = 1; z <= 20; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    reopen();
    std::vector<Entry> got = replay(7);
    LONGS_EQUAL(13, got.size());
    LONGS_EQUAL(8, got.front().zxid);
    LONGS_EQUAL(20, got.back().zxid);
    LONGS_EQUAL(0, replay(20).size());
    LONGS_EQUAL(0, replay(UINT64_MAX).size());
}

static int stop_at_5(void *arg, uint64_t zxid, const uint8_t *, size_t)
{
    ++*static_cast<int *>(arg);
    return zxid == 5 ? ZERR_NONODE : 0;
}

TEST(StorLog, ReplayStopsWithCallbacksError)
{
    open_start();
    for (uint64_t z = 1; z <= 9; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    reopen();
    int n = 0;
    LONGS_EQUAL(ZERR_NONODE, stor_replay(st, 0, stop_at_5, &n, err, sizeof(err)));
    LONGS_EQUAL(5, n);
}

TEST(StorLog, AppendRefusesBadInput)
{
    stor_config c = cfg();
    LONGS_EQUAL(0, stor_open(&c, &st, err, sizeof(err)));
    LONGS_EQUAL(ZERR_CLOSING, append_str(st, 1, "a")); /* not started */
    LONGS_EQUAL(0, stor_start(st, on_durable, on_error, &dur));
    LONGS_EQUAL(ZERR_CLOSING, stor_start(st, on_durable, on_error, &dur));
    LONGS_EQUAL(0, append_str(st, 5, "a"));
    LONGS_EQUAL(ZERR_BADARGUMENTS, append_str(st, 5, "b"));
    LONGS_EQUAL(ZERR_BADARGUMENTS, append_str(st, 4, "b"));
    LONGS_EQUAL(ZERR_TOOBIG, append_str(st, 6, std::string(1025, 'z')));
    LONGS_EQUAL(0, append_str(st, 6, std::string(1024, 'z')));
    LONGS_EQUAL(0, append_str(st, 7, ""));
    reopen();
    std::vector<Entry> got = replay(0);
    LONGS_EQUAL(3, got.size());
    LONGS_EQUAL(1024, got[1].txn.size());
    LONGS_EQUAL(0, got[2].txn.size());
    /* After a reopen, zxids must still be above what is logged. */
    LONGS_EQUAL(0, stor_start(st, on_durable, on_error, &dur));
    LONGS_EQUAL(ZERR_BADARGUMENTS, append_str(st, 7, "again"));
    LONGS_EQUAL(0, append_str(st, 8, "next"));
}

TEST(StorLog, BadChecksumIsCorruptAndNamesTheZxid)
{
    open_start();
    for (uint64_t z = 1; z <= 9; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    stor_close(st);
    st = NULL;
    std::string bad = record(5, payload(5), false);
    put_raw(5, bad.data(), bad.size());
    reopen();
    std::vector<Entry> got;
    LONGS_EQUAL(ZERR_CORRUPT, stor_replay(st, 0, collect, &got, err, sizeof(err)));
    LONGS_EQUAL(4, got.size()); /* everything before the damage was delivered */
    CHECK_TEXT(strstr(err, "0x0000000000000005") != NULL, err);
    CHECK_TEXT(strstr(err, "checksum") != NULL, err);
    /* Replaying past the damage succeeds. */
    LONGS_EQUAL(4, replay(5).size());
}

TEST(StorLog, BadLengthIsCorrupt)
{
    open_start();
    LONGS_EQUAL(0, append_str(st, 1, "ok"));
    stor_close(st);
    st = NULL;
    put_raw(2, "ab", 2);                                  /* shorter than a record header */
    std::string huge = record(3, std::string(1025, 'q')); /* longer than max_txn_len */
    put_raw(3, huge.data(), huge.size());
    reopen();
    std::vector<Entry> got;
    LONGS_EQUAL(ZERR_CORRUPT, stor_replay(st, 0, collect, &got, err, sizeof(err)));
    CHECK_TEXT(strstr(err, "0x0000000000000002") != NULL, err);
    LONGS_EQUAL(ZERR_CORRUPT, stor_replay(st, 2, collect, &got, err, sizeof(err)));
    CHECK_TEXT(strstr(err, "0x0000000000000003") != NULL, err);
}

TEST(StorLog, OneChunkPerSubmitReplaysFromInsideIt)
{
    open_start();
    /* Two submits: chunks 1..5 and 6..9. */
    for (uint64_t z = 1; z <= 9; z++) {
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)payload(z).data(), payload(z).size()));
        if (z == 5)
            stor_submit(st);
    }
    LONGS_EQUAL(0, stor_flush(st));
    reopen();
    std::vector<Entry> got = replay(3);
    LONGS_EQUAL(6, got.size());
    for (size_t i = 0; i < got.size(); i++) {
        LONGS_EQUAL(4 + i, got[i].zxid);
        STRCMP_EQUAL(payload(4 + i).c_str(), got[i].txn.c_str());
    }
    LONGS_EQUAL(1, replay(8).size());
    LONGS_EQUAL(0, replay(9).size());
}

TEST(StorLog, ChunkWithRecordsOutOfOrderOrNotEndingAtItsKeyIsCorrupt)
{
    open_start();
    LONGS_EQUAL(0, append_str(st, 1, "ok"));
    stor_close(st);
    st = NULL;
    std::string swapped = record(3, "c") + record(2, "b");
    put_raw(3, swapped.data(), swapped.size());
    reopen();
    std::vector<Entry> got;
    LONGS_EQUAL(ZERR_CORRUPT, stor_replay(st, 0, collect, &got, err, sizeof(err)));
    CHECK_TEXT(strstr(err, "out of order") != NULL, err);
    LONGS_EQUAL(2, got.size()); /* 1, and 3 before 2 showed the disorder */
    stor_close(st);
    st = NULL;
    std::string short_of_key = record(4, "d");
    put_raw(5, short_of_key.data(), short_of_key.size());
    reopen();
    got.clear();
    LONGS_EQUAL(ZERR_CORRUPT, stor_replay(st, 3, collect, &got, err, sizeof(err)));
    CHECK_TEXT(strstr(err, "ends with zxid 0x0000000000000004") != NULL, err);
}

TEST(StorLog, OpenFailsWithMessageWhenDirCannotBeCreated)
{
    std::string file = dir->sub("plainfile");
    FILE *f = fopen(file.c_str(), "w");
    CHECK(f != NULL);
    fclose(f);
    std::string under = file + "/data";
    stor_config c = {};
    c.data_dir = under.c_str();
    LONGS_EQUAL(ZERR_IO, stor_open(&c, &st, err, sizeof(err)));
    POINTERS_EQUAL(NULL, st);
    CHECK_TEXT(strstr(err, "dataDir") != NULL, err);
    CHECK_TEXT(strstr(err, under.c_str()) != NULL, err);
    CHECK_TEXT(strstr(err, "not writable") != NULL, err);
}

TEST(StorLog, OpenFailsWithMessageOnReadOnlyDir)
{
    if (geteuid() == 0)
        TEST_EXIT; /* root writes anywhere: the case above covers the message */
    std::string ro = dir->sub("ro");
    CHECK(mkdir(ro.c_str(), 0500) == 0);
    std::string data = ro + "/data";
    stor_config c = {};
    c.data_dir = data.c_str();
    LONGS_EQUAL(ZERR_IO, stor_open(&c, &st, err, sizeof(err)));
    CHECK_TEXT(strstr(err, "Permission denied") != NULL, err);
    chmod(ro.c_str(), 0700);
}

TEST(StorLog, OpenRefusesMissingDataDir)
{
    stor_config c = {};
    LONGS_EQUAL(ZERR_BADARGUMENTS, stor_open(&c, &st, err, sizeof(err)));
    CHECK(err[0] != '\0');
}

TEST(StorLog, LogDirDefaultsToDataDir)
{
    stor_config c = {};
    std::string data = dir->sub("only");
    c.data_dir = data.c_str();
    LONGS_EQUAL_TEXT(0, stor_open(&c, &st, err, sizeof(err)), err);
    struct stat sb;
    CHECK(stat((data + "/version-2/txnlog/CURRENT").c_str(), &sb) == 0);
}

TEST(StorLog, MetaValuesPersistAndDetectDamage)
{
    open_start();
    uint64_t v = 0;
    LONGS_EQUAL(ZERR_NONODE, stor_meta_get(st, "acceptedEpoch", &v));
    LONGS_EQUAL(0, stor_meta_put(st, "acceptedEpoch", 7));
    LONGS_EQUAL(0, stor_meta_put(st, "currentEpoch", 0x100000002ull));
    LONGS_EQUAL(ZERR_BADARGUMENTS, stor_meta_put(st, "", 1));
    reopen();
    LONGS_EQUAL(0, stor_meta_get(st, "acceptedEpoch", &v));
    LONGS_EQUAL(7, v);
    LONGS_EQUAL(0, stor_meta_get(st, "currentEpoch", &v));
    CHECK(v == 0x100000002ull);
    /* Meta keys never show up as txns. */
    LONGS_EQUAL(0, replay(0).size());
    LONGS_EQUAL(0, stor_last_zxid(st));
}

TEST(StorLog, SizesCountTheLogDirectory)
{
    open_start();
    for (uint64_t z = 1; z <= 50; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    reopen();
    uint64_t snap = 1, log = 0;
    stor_sizes(st, &snap, &log);
    LONGS_EQUAL(0, snap);
    CHECK(log > 50 * 8);
}

TEST(StorLog, SecondOpenOfTheSameLogFails)
{
    open_start();
    stor *other = NULL;
    stor_config c = cfg();
    LONGS_EQUAL(ZERR_IO, stor_open(&c, &other, err, sizeof(err)));
    POINTERS_EQUAL(NULL, other);
    CHECK_TEXT(strstr(err, "cannot open txn log") != NULL, err);
}

/* ---- Truncation (a leader's TRUNC) ---------------------------------------- */

TEST_GROUP_BASE(StorTruncate,
                TEST_GROUP_CppUTestGroupStorLog){// Three chunks: 1..5, 6..9, 10..12, all durable.
                                                 void three_chunks(){open_start();
for (uint64_t z = 1; z <= 12; z++) {
    LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)payload(z).data(), payload(z).size()));
    if (z == 5 || z == 9)
        stor_submit(st);
}
LONGS_EQUAL(0, stor_flush(st));
}
// The log holds exactly 1..upto with their payloads.
void check_log_is(uint64_t upto)
{
    std::vector<Entry> got = replay(0);
    LONGS_EQUAL(upto, got.size());
    for (uint64_t z = 1; z <= got.size(); z++) {
        LONGS_EQUAL(z, got[z - 1].zxid);
        STRCMP_EQUAL(payload(z).c_str(), got[z - 1].txn.c_str());
    }
    LONGS_EQUAL(upto, stor_last_zxid(st));
}
void truncate(uint64_t zxid)
{
    LONGS_EQUAL_TEXT(0, stor_truncate_after(st, zxid, err, sizeof(err)), err);
}
void restart()
{
    reopen();
    LONGS_EQUAL(0, stor_start(st, on_durable, on_error, &dur));
}
// Appends after a truncation go on from where it left the log.
void check_appends_continue(uint64_t from)
{
    LONGS_EQUAL(ZERR_BADARGUMENTS, append_str(st, from, "x"));
    for (uint64_t z = from + 1; z <= from + 3; z++)
        LONGS_EQUAL(0, append_str(st, z, payload(z)));
    LONGS_EQUAL(0, stor_flush(st));
    check_log_is(from + 3);
    restart();
    check_log_is(from + 3);
}
}
;

TEST(StorTruncate, InsideAChunkKeepsItsHead)
{
    three_chunks();
    truncate(7);
    check_log_is(7);
    LONGS_EQUAL(0, replay(7).size());
    restart();
    check_log_is(7);
    check_appends_continue(7);
}

TEST(StorTruncate, AtAChunkBoundary)
{
    three_chunks();
    truncate(9);
    check_log_is(9);
    restart();
    check_log_is(9);
    check_appends_continue(9);
}

TEST(StorTruncate, AboveTheEndIsANoOp)
{
    three_chunks();
    truncate(100);
    check_log_is(12);
    restart();
    check_log_is(12);
    check_appends_continue(12);
}

TEST(StorTruncate, ToZeroEmptiesTheLog)
{
    three_chunks();
    truncate(0);
    check_log_is(0);
    restart();
    check_log_is(0);
    check_appends_continue(0);
}

TEST(StorTruncate, TxnsStillInTheFillBufferAreCutToo)
{
    three_chunks();
    for (uint64_t z = 13; z <= 15; z++) // not submitted
        LONGS_EQUAL(0, stor_append(st, z, (const uint8_t *)payload(z).data(), payload(z).size()));
    truncate(13);
    check_log_is(13);
    restart();
    check_log_is(13);
}

TEST(StorTruncate, WithoutTheLogThread)
{
    three_chunks();
    reopen(); // not started: recovery-time use
    truncate(3);
    check_log_is(3);
    restart();
    check_log_is(3);
}

TEST(StorTruncate, SnapshotsNewerThanTheCutAreSetAside)
{
    three_chunks();
    std::string snaps = data_path + "/version-2/";
    for (const char *name : {"snapshot.5", "snapshot.7", "snapshot.a"}) {
        FILE *f = fopen((snaps + name).c_str(), "w");
        CHECK(f != NULL);
        fclose(f);
    }
    LONGS_EQUAL(0xa, stor_snapshot_newest(st));
    truncate(7);
    LONGS_EQUAL(7, stor_snapshot_newest(st));
    struct stat sb;
    CHECK(stat((snaps + "snapshot.5").c_str(), &sb) == 0);
    CHECK(stat((snaps + "snapshot.7").c_str(), &sb) == 0);
    CHECK(stat((snaps + "snapshot.a").c_str(), &sb) != 0);
    CHECK(stat((snaps + "truncated-snapshot.a").c_str(), &sb) == 0);
    truncate(4);
    LONGS_EQUAL(0, stor_snapshot_newest(st));
    check_log_is(4);
}
