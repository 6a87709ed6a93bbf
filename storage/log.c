/*
 * log: the txn log in RocksDB, the log thread that group-commits it, and a
 * few named durable values (epochs). Snapshot files live in snapfile.c.
 *
 * It does not interpret txns (they are opaque bytes, in practice the jute
 * TxnHeader + txn that ZooKeeper logs). Prefixes go through stor_purge; the
 * tail goes only through stor_truncate_after (a leader's TRUNC), which
 * rewrites the chunk it cuts through so that chunks still never overlap.
 *
 * On-disk layout. One RocksDB database in log_dir/version-2/txnlog, default
 * column family, keys compared bytewise:
 *
 *   log chunk   key   = 'L' (0x4C)                1 byte
 *                       zxid of its last record,  8 bytes  (so keys sort by zxid)
 *                       big-endian
 *               value = one or more records, zxids strictly increasing:
 *                       zxid, BE                  8 bytes
 *                       len, BE                   4 bytes  (at most max_txn_len)
 *                       CRC-32 of zxid, len, txn  4 bytes  (wire_crc32: zlib's crc32)
 *                       the txn                   len bytes
 *
 *   named value key   = 'M' (0x4D)                1 byte
 *                       name, e.g. "acceptedEpoch" 1..64 bytes, no terminator
 *               value = the value, big-endian     8 bytes
 *                       CRC-32 of those 8 bytes   4 bytes
 *
 * A chunk is what one log-thread batch took from one buffer: every txn the
 * loop appended in one iteration (stor_submit). One key per chunk rather
 * than per txn is what keeps RocksDB cheap under load: its costs are per
 * key (memtable insert, WAL record, sorting and building table files at
 * flush), and they were most of the CPU a write cost. Chunks never overlap,
 * so "txns after zxid Z" starts at the first key above Z, and a purge up to
 * Z deletes the keys up to Z: whole chunks, a straddling one is kept.
 *
 * Anything else under 'L' (a key that is not 9 bytes, a record cut short or
 * longer than max_txn_len, zxids out of order or a last one that is not the
 * key's, a checksum that does not match) is corruption: replay stops with
 * ZERR_CORRUPT and the server refuses to start, as ZooKeeper does on a txn
 * log CRC failure.
 *
 * Durability: each batch is one WriteBatch written with sync = true (the
 * WAL is fsynced before on_durable runs; the WAL is never disabled), unless
 * the operator asked for forceSync=no (stor_config.skip_sync). RocksDB
 * opens with WAL recovery mode "tolerate corrupted tail records": after a
 * crash it drops an incomplete record at the very end of the WAL (the only
 * one a crash can tear: the last, unsynced write, never acknowledged) and
 * refuses to open on damage anywhere before it, as ZooKeeper refuses a log
 * whose CRC fails. "Point in time" would silently drop every synced record
 * after such damage; "absolute consistency" would refuse to open after an
 * ordinary crash mid-write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/stor_int.h"
#include "wire/wire.h"

enum {
    KEY_LOG = 'L',
    KEY_META = 'M',
    LOG_KEY_LEN = 9,
    CRC_LEN = 4,
    REC_HDR = 16, /* zxid, len, checksum ahead of each txn in a chunk */
    META_NAME_MAX = 64,
};

static void put_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static void buf_free(stor_buf *b);
static void buf_list_free(stor_buf *b);

static void log_key(uint8_t key[LOG_KEY_LEN], uint64_t zxid)
{
    key[0] = KEY_LOG;
    wire_put_be64(key + 1, zxid);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + 1 + strlen(b) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* fsyncs the directory that holds path's last component. */
static int fsync_parent(const char *path)
{
    char buf[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash != NULL ? (size_t)(slash - path) : 0;
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, path, len);
    buf[len] = '\0';
    int fd = open(slash == NULL ? "." : len == 0 ? "/" : buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* mkdir -p, then a writability check: RocksDB would fail later with a less
 * helpful message, and the snapshot child would fail silently.
 * A new directory's name is durable only once its parent is fsynced: until
 * then a power cut can take version-2, and the log and snapshots in it, away
 * although every file inside was synced. So each directory on the path gets
 * its parent synced, also one that already existed (an earlier run may have
 * made it and died before syncing); only a failure for one made here counts. */
static int dir_make(const char *what, const char *dir, char *err, size_t err_len)
{
    int rc = ZERR_NOMEM;
    char *p = strdup(dir);
    if (p == NULL)
        goto out;
    for (char *s = p + 1;; s++) {
        bool at_end = (*s == '\0');
        if (*s != '/' && !at_end)
            continue;
        *s = '\0';
        bool made = mkdir(p, 0755) == 0;
        if (!made && errno != EEXIST) {
            rc = ZERR_IO;
            put_err(err, err_len, "%s %s is not writable: %s", what, dir, strerror(errno));
            goto out;
        }
        if (fsync_parent(p) != 0 && made) {
            rc = ZERR_IO;
            put_err(err, err_len, "%s %s: cannot sync its parent: %s", what, dir, strerror(errno));
            goto out;
        }
        if (at_end)
            break;
        *s = '/';
    }
    struct stat sb;
    int e = 0;
    if (stat(dir, &sb) != 0)
        e = errno;
    else if (!S_ISDIR(sb.st_mode))
        e = ENOTDIR;
    else if (access(dir, W_OK | X_OK) != 0)
        e = errno;
    if (e != 0) {
        rc = ZERR_IO;
        put_err(err, err_len, "%s %s is not writable: %s", what, dir, strerror(e));
        goto out;
    }
    rc = 0;
out:
    free(p);
    return rc;
}

/* Finds the highest logged zxid (0 if the log is empty). */
static int log_scan_last(stor *st, uint64_t *zxid_out, char *err, size_t err_len)
{
    int rc = 0;
    uint8_t hi[LOG_KEY_LEN];
    rocksdb_iterator_t *it = rocksdb_create_iterator(st->db, st->ro);
    char *e = NULL;
    *zxid_out = 0;
    log_key(hi, UINT64_MAX);
    rocksdb_iter_seek_for_prev(it, (const char *)hi, sizeof(hi));
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        if (klen >= 1 && k[0] == KEY_LOG) {
            if (klen != LOG_KEY_LEN) {
                rc = ZERR_CORRUPT;
                put_err(err, err_len, "txn log: a key of %zu bytes", klen);
                goto out;
            }
            *zxid_out = wire_get_be64(k + 1);
        }
    }
    rocksdb_iter_get_error(it, &e);
    if (e != NULL) {
        rc = ZERR_IO;
        put_err(err, err_len, "txn log: %s", e);
    }
out:
    rocksdb_free(e);
    rocksdb_iter_destroy(it);
    return rc;
}

static rocksdb_options_t *db_options(void)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    /* Txns are read back only at recovery and purged soon after: CPU spent
     * compressing them is wasted, and a small memtable keeps memory flat. */
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_write_buffer_size(o, 8 << 20);
    rocksdb_options_set_allow_concurrent_memtable_write(o, 0);
    rocksdb_options_set_max_write_buffer_number(o, 2);
    rocksdb_options_set_max_total_wal_size(o, 64 << 20);
    rocksdb_options_set_wal_recovery_mode(o, rocksdb_tolerate_corrupted_tail_records_recovery);
    rocksdb_options_set_paranoid_checks(o, 1);
    /* RocksDB's own LOG files: warnings only, two small files at most. */
    rocksdb_options_set_info_log_level(o, 2 /* WARN */);
    rocksdb_options_set_keep_log_file_num(o, 2);
    rocksdb_options_set_max_log_file_size(o, 1 << 20);
    return o;
}

int stor_open(const stor_config *cfg, stor **out, char *err, size_t err_len)
{
    int rc = ZERR_NOMEM;
    char *e = NULL;
    char *log_v2 = NULL;
    stor *st = NULL;

    if (cfg == NULL || cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
        put_err(err, err_len, "dataDir is not set");
        return ZERR_BADARGUMENTS;
    }
    const char *log_dir = cfg->log_dir != NULL ? cfg->log_dir : cfg->data_dir;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        goto nomem;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st->max_txn_len = cfg->max_txn_len > 0 ? cfg->max_txn_len : 2 * WIRE_MAXBUFFER_DEFAULT;
    st->autopurge_retain = cfg->autopurge_retain;
    st->snap_dir = path_join(cfg->data_dir, "version-2");
    log_v2 = st->log_v2 = path_join(log_dir, "version-2");
    if (st->snap_dir == NULL || log_v2 == NULL ||
        (st->db_dir = path_join(log_v2, "txnlog")) == NULL)
        goto nomem;
    if ((rc = dir_make("dataDir", st->snap_dir, err, err_len)) != 0)
        goto out;
    if ((rc = dir_make("dataLogDir", st->db_dir, err, err_len)) != 0)
        goto out;

    st->opts = db_options();
    st->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(st->wo_sync, 1);
    st->wo_log = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(st->wo_log, cfg->skip_sync ? 0 : 1);
    st->ro = rocksdb_readoptions_create();
    st->db = rocksdb_open(st->opts, st->db_dir, &e);
    if (e != NULL) {
        rc = ZERR_IO;
        put_err(err, err_len, "cannot open txn log %s: %s", st->db_dir, e);
        goto out;
    }
    if ((rc = log_scan_last(st, &st->durable_zxid, err, err_len)) != 0)
        goto out;
    st->last_appended_zxid = st->durable_zxid;
    *out = st;
    st = NULL;
    rc = 0;
    goto out;
nomem:
    rc = ZERR_NOMEM;
    put_err(err, err_len, "out of memory opening storage");
out:
    rocksdb_free(e);
    stor_close(st);
    return rc;
}

void stor_close(stor *st)
{
    if (st == NULL)
        return;
    if (st->is_started)
        stor_submit(st); /* everything appended is written before the thread stops */
    pthread_mutex_lock(&st->mu);
    bool was_started = st->is_started;
    st->is_stopping = true;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (was_started)
        pthread_join(st->thread, NULL);
    stor_snapshot_wait(st);
    buf_list_free(st->qhead); /* left only if the thread failed */
    buf_list_free(st->spare);
    buf_free(st->fill);
    if (st->db != NULL)
        rocksdb_close(st->db);
    if (st->opts != NULL)
        rocksdb_options_destroy(st->opts);
    if (st->wo_sync != NULL)
        rocksdb_writeoptions_destroy(st->wo_sync);
    if (st->wo_log != NULL)
        rocksdb_writeoptions_destroy(st->wo_log);
    if (st->ro != NULL)
        rocksdb_readoptions_destroy(st->ro);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st->snap_dir);
    free(st->db_dir);
    free(st->log_v2);
    free(st);
}

uint64_t stor_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void stor_get_stats(stor *st, stor_stats *out)
{
    pthread_mutex_lock(&st->mu);
    *out = st->stats;
    pthread_mutex_unlock(&st->mu);
}

void stor_reset_stats(stor *st)
{
    pthread_mutex_lock(&st->mu);
    memset(&st->stats, 0, sizeof st->stats);
    pthread_mutex_unlock(&st->mu);
}

uint64_t stor_last_zxid(stor *st)
{
    return __atomic_load_n(&st->durable_zxid, __ATOMIC_ACQUIRE);
}

/* ---- Replay ------------------------------------------------------------------ */

/* Hands fn the records of one chunk (key zxid `last`) with zxid > after,
 * checking each; *prev is the zxid of the record before the chunk's first. */
static int replay_chunk(stor *st, uint64_t last, const uint8_t *v, size_t vlen, uint64_t after,
                        uint64_t *prev,
                        int (*fn)(void *arg, uint64_t zxid, const uint8_t *txn, size_t len),
                        void *arg, char *err, size_t err_len)
{
    size_t off = 0;
    if (vlen == 0) {
        put_err(err, err_len, "txn log: chunk 0x%016" PRIx64 " is empty", last);
        return ZERR_CORRUPT;
    }
    while (off < vlen) {
        if (vlen - off < REC_HDR) {
            put_err(err, err_len, "txn log: chunk 0x%016" PRIx64 " ends inside a record header",
                    last);
            return ZERR_CORRUPT;
        }
        const uint8_t *r = v + off;
        uint64_t zxid = wire_get_be64(r);
        uint32_t len = wire_get_be32(r + 8);
        if (len > (uint32_t)st->max_txn_len || vlen - off - REC_HDR < len) {
            put_err(err, err_len,
                    "txn log: entry for zxid 0x%016" PRIx64 " has bad length %" PRIu32, zxid, len);
            return ZERR_CORRUPT;
        }
        if (zxid <= *prev || zxid > last) {
            put_err(err, err_len,
                    "txn log: entry for zxid 0x%016" PRIx64 " out of order in chunk 0x%016" PRIx64
                    " (after 0x%016" PRIx64 ")",
                    zxid, last, *prev);
            return ZERR_CORRUPT;
        }
        off += REC_HDR + len;
        if (off == vlen && zxid != last) {
            put_err(err, err_len, "txn log: chunk 0x%016" PRIx64 " ends with zxid 0x%016" PRIx64,
                    last, zxid);
            return ZERR_CORRUPT;
        }
        *prev = zxid;
        /* Records at or below `after` are skipped unchecked: they are not
         * used, and a damaged one there must not stop a replay past it. */
        if (zxid <= after)
            continue;
        uint32_t want = wire_get_be32(r + 12);
        uint32_t got = wire_crc32(wire_crc32(0, r, 12), r + REC_HDR, len);
        if (want != got) {
            put_err(err, err_len,
                    "txn log: entry for zxid 0x%016" PRIx64 " fails its checksum "
                    "(stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                    zxid, want, got);
            return ZERR_CORRUPT;
        }
        int rc = fn(arg, zxid, r + REC_HDR, len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int stor_replay(stor *st, uint64_t after,
                int (*fn)(void *arg, uint64_t zxid, const uint8_t *txn, size_t len), void *arg,
                char *err, size_t err_len)
{
    int rc = 0;
    char *e = NULL;
    uint8_t lo[LOG_KEY_LEN];
    const char hi[1] = {KEY_LOG + 1};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = NULL;
    uint64_t prev = 0;

    if (after == UINT64_MAX)
        goto out;
    log_key(lo, after + 1);
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, sizeof(hi));
    rocksdb_readoptions_set_verify_checksums(ro, 1);
    it = rocksdb_create_iterator(st->db, ro);
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof(lo)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen != LOG_KEY_LEN) {
            rc = ZERR_CORRUPT;
            put_err(err, err_len, "txn log: a key of %zu bytes after zxid 0x%016" PRIx64, klen,
                    prev > after ? prev : after);
            goto out;
        }
        if ((rc = replay_chunk(st, wire_get_be64(k + 1), v, vlen, after, &prev, fn, arg, err,
                               err_len)) != 0)
            goto out;
    }
    rocksdb_iter_get_error(it, &e);
    if (e != NULL) {
        rc = ZERR_IO;
        put_err(err, err_len, "txn log read after zxid 0x%016" PRIx64 ": %s",
                prev > after ? prev : after, e);
    }
out:
    rocksdb_free(e);
    if (it != NULL)
        rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

/* ---- Named values ------------------------------------------------------------ */

static int meta_key(const char *name, uint8_t *key, size_t *klen)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > META_NAME_MAX)
        return ZERR_BADARGUMENTS;
    key[0] = KEY_META;
    memcpy(key + 1, name, n);
    *klen = n + 1;
    return 0;
}

int stor_meta_put(stor *st, const char *name, uint64_t val)
{
    uint8_t key[1 + META_NAME_MAX], v[8 + CRC_LEN];
    size_t klen;
    char *e = NULL;
    int rc = meta_key(name, key, &klen);
    if (rc != 0)
        return rc;
    wire_put_be64(v, val);
    wire_put_be32(v + 8, wire_crc32(0, v, 8));
    rocksdb_put(st->db, st->wo_sync, (const char *)key, klen, (const char *)v, sizeof(v), &e);
    if (e != NULL) {
        rc = ZERR_IO;
        rocksdb_free(e);
    }
    return rc;
}

int stor_meta_get(stor *st, const char *name, uint64_t *val_out)
{
    uint8_t key[1 + META_NAME_MAX];
    size_t klen, vlen = 0;
    char *e = NULL;
    int rc = meta_key(name, key, &klen);
    if (rc != 0)
        return rc;
    char *v = rocksdb_get(st->db, st->ro, (const char *)key, klen, &vlen, &e);
    if (e != NULL)
        rc = ZERR_IO;
    else if (v == NULL)
        rc = ZERR_NONODE;
    else if (vlen != 8 + CRC_LEN || wire_get_be32((const uint8_t *)v + 8) != wire_crc32(0, v, 8))
        rc = ZERR_CORRUPT;
    else
        *val_out = wire_get_be64((const uint8_t *)v);
    rocksdb_free(v);
    rocksdb_free(e);
    return rc;
}

/* ---- The log thread -------------------------------------------------------- */

static void delete_log_upto(rocksdb_writebatch_t *b, uint64_t upto)
{
    uint8_t lo[LOG_KEY_LEN], hi[LOG_KEY_LEN + 1];
    size_t hi_len;
    log_key(lo, 0);
    if (upto == UINT64_MAX) {
        hi[0] = KEY_LOG + 1;
        hi_len = 1;
    } else {
        log_key(hi, upto + 1);
        hi_len = LOG_KEY_LEN;
    }
    rocksdb_writebatch_delete_range(b, (const char *)lo, sizeof(lo), (const char *)hi, hi_len);
}

enum {
    SUBMIT_AT = 4 << 20, /* a buffer this full is submitted at once */
    MAX_SPARE = 4,       /* written buffers kept for reuse */
};

static void buf_free(stor_buf *b)
{
    if (b != NULL)
        free(b->p);
    free(b);
}

static void buf_list_free(stor_buf *b)
{
    for (stor_buf *next; b != NULL; b = next) {
        next = b->next;
        buf_free(b);
    }
}

/* Writes one batch: each buffer taken from the queue as one chunk, plus a
 * pending purge. Returns the batch's highest zxid (0 if it held no txn), or
 * sets *e. */
static uint64_t batch_write(stor *st, stor_buf *list, uint64_t purge_upto, char **e)
{
    uint64_t top = 0;
    uint8_t key[LOG_KEY_LEN];
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (stor_buf *x = list; x != NULL; x = x->next) {
        for (size_t off = 0; off < x->len;) {
            uint8_t *r = x->p + off;
            uint32_t len = wire_get_be32(r + 8);
            wire_put_be32(r + 12, wire_crc32(wire_crc32(0, r, 12), r + REC_HDR, len));
            off += REC_HDR + len;
        }
        log_key(key, x->last_zxid);
        rocksdb_writebatch_put(b, (const char *)key, sizeof(key), (const char *)x->p, x->len);
        top = x->last_zxid;
    }
    /* After the puts: a batch applies in order, so chunks the purge covers
     * that were still queued when it was asked for go too. */
    if (purge_upto > 0)
        delete_log_upto(b, purge_upto);
    rocksdb_write(st->db, st->wo_log, b, e);
    rocksdb_writebatch_destroy(b);
    return top;
}

/* Under mu: written buffers become spares, up to MAX_SPARE. */
static void spare_put(stor *st, stor_buf *list)
{
    for (stor_buf *x = list, *next; x != NULL; x = next) {
        next = x->next;
        if (st->n_spare >= MAX_SPARE) {
            buf_free(x);
            continue;
        }
        x->len = 0;
        x->next = st->spare;
        st->spare = x;
        st->n_spare++;
    }
}

static void *log_thread(void *arg)
{
    stor *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->qhead == NULL && st->purge_upto == 0 && !st->is_stopping)
            pthread_cond_wait(&st->cv, &st->mu);
        if (st->qhead == NULL && st->purge_upto == 0)
            break; /* stopping, and everything queued is written */
        stor_buf *list = st->qhead;
        uint64_t purge_upto = st->purge_upto;
        st->qhead = st->qtail = NULL;
        st->purge_upto = 0;
        pthread_mutex_unlock(&st->mu);

        char *e = NULL;
        uint64_t t0 = stor_now_us();
        uint64_t top = batch_write(st, list, purge_upto, &e);
        uint64_t took = stor_now_us() - t0;
        if (e != NULL) {
            char msg[512];
            snprintf(msg, sizeof(msg), "txn log write failed: %s", e);
            rocksdb_free(e);
            buf_list_free(list);
            pthread_mutex_lock(&st->mu);
            __atomic_store_n(&st->has_failed, true, __ATOMIC_RELEASE);
            pthread_mutex_unlock(&st->mu);
            if (st->on_error != NULL)
                st->on_error(st->cb_arg, msg);
            return NULL;
        }
        pthread_mutex_lock(&st->mu);
        spare_put(st, list);
        stor_stats *ss = &st->stats;
        stor_stat_add(&ss->syncs, &ss->sync_us_sum, &ss->sync_us_min, &ss->sync_us_max, took);
        pthread_mutex_unlock(&st->mu);
        if (top > 0) {
            __atomic_store_n(&st->durable_zxid, top, __ATOMIC_RELEASE);
            if (st->on_durable != NULL)
                st->on_durable(st->cb_arg, top);
        }
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

int stor_start(stor *st, void (*on_durable)(void *arg, uint64_t zxid),
               void (*on_error)(void *arg, const char *msg), void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    if (st->is_started || st->is_stopping) {
        rc = ZERR_CLOSING;
        goto out;
    }
    st->on_durable = on_durable;
    st->on_error = on_error;
    st->cb_arg = arg;
    if (pthread_create(&st->thread, NULL, log_thread, st) != 0) {
        rc = ZERR_SYSTEMERROR;
        goto out;
    }
    st->is_started = true;
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int stor_append(stor *st, uint64_t zxid, const uint8_t *txn, size_t len)
{
    if (len > (size_t)st->max_txn_len)
        return ZERR_TOOBIG;
    /* is_started and is_stopping change only on this (the loop's) thread;
     * has_failed is the log thread's. */
    if (__atomic_load_n(&st->has_failed, __ATOMIC_ACQUIRE))
        return ZERR_IO;
    if (!st->is_started || st->is_stopping)
        return ZERR_CLOSING;
    if (zxid <= st->last_appended_zxid)
        return ZERR_BADARGUMENTS;
    if (st->fill == NULL && (st->fill = calloc(1, sizeof *st->fill)) == NULL)
        return ZERR_NOMEM;
    stor_buf *b = st->fill;
    size_t need = REC_HDR + len;
    if (b->cap - b->len < need) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap - b->len < need)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL)
            return ZERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    wire_put_be64(b->p + b->len, zxid);
    wire_put_be32(b->p + b->len + 8, (uint32_t)len);
    if (len > 0)
        memcpy(b->p + b->len + REC_HDR, txn, len);
    b->len += need;
    b->last_zxid = zxid;
    st->last_appended_zxid = zxid;
    if (b->len >= SUBMIT_AT)
        stor_submit(st);
    return 0;
}

void stor_submit(stor *st)
{
    stor_buf *b = st->fill;
    if (b == NULL || b->len == 0)
        return;
    pthread_mutex_lock(&st->mu);
    b->next = NULL;
    /* The thread sleeps only on an empty queue, so only the first buffer
     * of a batch needs to wake it. */
    if (st->qhead == NULL) {
        st->qhead = b;
        pthread_cond_signal(&st->cv);
    } else {
        st->qtail->next = b;
    }
    st->qtail = b;
    st->fill = st->spare; /* NULL when there is none: stor_append makes one */
    if (st->spare != NULL) {
        st->spare = st->spare->next;
        st->fill->next = NULL;
        st->n_spare--;
    }
    pthread_mutex_unlock(&st->mu);
}

void stor_log_purge(stor *st, uint64_t upto)
{
    if (upto == 0)
        return;
    pthread_mutex_lock(&st->mu);
    bool via_thread = st->is_started && !st->has_failed;
    if (via_thread && upto > st->purge_upto) {
        st->purge_upto = upto;
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    if (via_thread)
        return;
    /* No thread (recovery, tests): write it here. Unsynced is fine: if it is
     * lost, the old entries come back and replay skips them again. */
    char *e = NULL;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    delete_log_upto(b, upto);
    rocksdb_write(st->db, wo, b, &e);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_writebatch_destroy(b);
    rocksdb_free(e);
}

int stor_flush(stor *st)
{
    stor_submit(st);
    /* The log thread never stops with a non-empty queue unless it failed,
     * so this ends; the bound only guards against a wedged disk. */
    for (int i = 0; i < 600000; i++) {
        pthread_mutex_lock(&st->mu);
        bool running = st->is_started && !st->is_stopping;
        bool failed = st->has_failed;
        uint64_t want = st->last_appended_zxid;
        pthread_mutex_unlock(&st->mu);
        if (failed)
            return ZERR_IO;
        if (!running || stor_last_zxid(st) >= want)
            return 0;
        usleep(1000);
    }
    return ZERR_IO;
}

/* Sets aside snapshot files newer than zxid: they hold txns the log no
 * longer has, and recovery loads the newest snapshot. Renamed, not deleted,
 * so an operator can still look at them; the new name is not one that
 * recovery, purge or ZooKeeper takes for a snapshot. */
static int snaps_set_aside(stor *st, uint64_t zxid, char *err, size_t err_len)
{
    static const char prefix[] = "snapshot.";
    int rc = 0;
    DIR *d = opendir(st->snap_dir);
    if (d == NULL) {
        put_err(err, err_len, "cannot read %s: %s", st->snap_dir, strerror(errno));
        return ZERR_IO;
    }
    bool moved = false;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        uint64_t z;
        const char *rest = stor_name_zxid(de->d_name, prefix, &z);
        if (rest == NULL || z <= zxid)
            continue;
        char to[320];
        snprintf(to, sizeof to, "truncated-%s", de->d_name);
        if (renameat(dirfd(d), de->d_name, dirfd(d), to) != 0) {
            put_err(err, err_len, "cannot set aside %s/%s: %s", st->snap_dir, de->d_name,
                    strerror(errno));
            rc = ZERR_IO;
            break;
        }
        moved = true;
    }
    /* The renames are durable once the directory holding them is synced. */
    if (rc == 0 && moved && fsync(dirfd(d)) != 0) {
        rc = ZERR_IO;
        put_err(err, err_len, "cannot sync %s: %s", st->snap_dir, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* The records of chunk value v[0..vlen) with zxid <= zxid: their length,
 * and the last one's zxid in *last (0 if none). Checked as replay checks. */
static int chunk_keep(stor *st, uint64_t key_zxid, const uint8_t *v, size_t vlen, uint64_t zxid,
                      size_t *keep_len, uint64_t *last, char *err, size_t err_len)
{
    size_t off = 0;
    uint64_t prev = 0;
    *keep_len = 0;
    *last = 0;
    while (off < vlen) {
        if (vlen - off < REC_HDR)
            goto corrupt;
        uint64_t z = wire_get_be64(v + off);
        uint32_t len = wire_get_be32(v + off + 8);
        if (len > (uint32_t)st->max_txn_len || vlen - off - REC_HDR < len || z <= prev ||
            z > key_zxid)
            goto corrupt;
        if (z > zxid)
            break;
        prev = z;
        off += REC_HDR + len;
        *keep_len = off;
        *last = z;
    }
    return 0;
corrupt:
    put_err(err, err_len, "txn log: chunk 0x%016" PRIx64 " is damaged; not truncating", key_zxid);
    return ZERR_CORRUPT;
}

int stor_truncate_after(stor *st, uint64_t zxid, char *err, size_t err_len)
{
    int rc;
    char *e = NULL;
    uint8_t lo[LOG_KEY_LEN], key[LOG_KEY_LEN];
    const char hi[1] = {KEY_LOG + 1};
    rocksdb_iterator_t *it = NULL;
    rocksdb_writebatch_t *b = NULL;

    /* Everything appended goes to the log first (the fill buffer too), so
     * the cut below sees all of it; appends come only from this thread, so
     * none can slip in between. A purge the log thread may still be writing
     * only deletes whole chunks below a snapshot: if it lands after this
     * cut it may delete the rewritten chunk, which it would have deleted
     * anyway. */
    if ((rc = stor_flush(st)) != 0) {
        put_err(err, err_len, "txn log not drained before truncating to 0x%016" PRIx64, zxid);
        return rc;
    }
    /* A snapshot being written could be newer than zxid: let it land, then
     * set it aside with the others. */
    stor_snapshot_wait(st);
    if ((rc = snaps_set_aside(st, zxid, err, err_len)) != 0)
        return rc;
    if (zxid == UINT64_MAX)
        return 0;
    b = rocksdb_writebatch_create();
    it = rocksdb_create_iterator(st->db, st->ro);
    log_key(lo, zxid + 1);
    bool any = false;
    rocksdb_iter_seek(it, (const char *)lo, sizeof(lo));
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen >= 1 && k[0] == KEY_LOG) {
            if (klen != LOG_KEY_LEN) {
                rc = ZERR_CORRUPT;
                put_err(err, err_len, "txn log: a key of %zu bytes above zxid 0x%016" PRIx64, klen,
                        zxid);
                goto out;
            }
            /* The first chunk above zxid may start at or below it (chunks
             * never overlap, so only this one can): its head stays, as a
             * chunk keyed by its new last record. */
            size_t keep = 0;
            uint64_t last = 0;
            if ((rc = chunk_keep(st, wire_get_be64(k + 1), v, vlen, zxid, &keep, &last, err,
                                 err_len)) != 0)
                goto out;
            any = true;
            rocksdb_writebatch_delete_range(b, (const char *)lo, sizeof(lo), hi, sizeof(hi));
            if (keep > 0) {
                log_key(key, last);
                rocksdb_writebatch_put(b, (const char *)key, sizeof(key), (const char *)v, keep);
            }
        }
    }
    rocksdb_iter_get_error(it, &e);
    if (e != NULL) {
        rc = ZERR_IO;
        put_err(err, err_len, "txn log read above zxid 0x%016" PRIx64 ": %s", zxid, e);
        goto out;
    }
    if (any) {
        /* Synced whatever forceSync says: a TRUNC undone by a crash would
         * bring back txns the ensemble has dropped. */
        rocksdb_write(st->db, st->wo_sync, b, &e);
        if (e != NULL) {
            rc = ZERR_IO;
            put_err(err, err_len, "txn log truncate to 0x%016" PRIx64 ": %s", zxid, e);
            goto out;
        }
    }
    uint64_t top = 0;
    if ((rc = log_scan_last(st, &top, err, err_len)) != 0)
        goto out;
    /* The log thread is idle (flushed, and only this thread queues). */
    pthread_mutex_lock(&st->mu);
    st->last_appended_zxid = top;
    __atomic_store_n(&st->durable_zxid, top, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&st->mu);
out:
    rocksdb_free(e);
    rocksdb_iter_destroy(it);
    rocksdb_writebatch_destroy(b);
    return rc;
}
