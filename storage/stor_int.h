/*
 * storage internals shared by log.c and snapfile.c. Never included from
 * outside storage/.
 */
#ifndef ZABD_STOR_INT_H
#define ZABD_STOR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rocksdb/c.h>

#include "storage/stor.h"

/* Appended txns, in zxid order, as a run of records in the on-disk chunk
 * format (log.c):
 *     zxid (8 bytes, BE) | len (4, BE) | checksum (4, BE) | txn (len)
 * A buffer is one chunk, the RocksDB value under its last zxid: the log
 * thread fills in the checksums and hands the bytes over without copying.
 * The loop fills one buffer without any lock (stor_append); stor_submit
 * puts it on the log thread's queue; written buffers come back as spares,
 * so a txn costs one copy and no allocation. */
typedef struct stor_buf stor_buf;
struct stor_buf {
    stor_buf *next;
    uint8_t *p;
    size_t len, cap;
    uint64_t last_zxid; /* of the newest record in p */
};

struct stor {
    char *snap_dir; /* data_dir/version-2 */
    char *db_dir;   /* log_dir/version-2/txnlog */
    char *log_v2;   /* log_dir/version-2: where ZooKeeper keeps its log.<zxid> files */
    int32_t max_txn_len;
    int32_t autopurge_retain;

    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo_sync; /* named values; always synced */
    rocksdb_writeoptions_t *wo_log;  /* txn batches: synced unless forceSync=no */
    rocksdb_readoptions_t *ro;

    /* The loop thread's own: the buffer being filled, the last zxid appended. */
    stor_buf *fill;
    uint64_t last_appended_zxid;

    /* Guarded by mu: the queue, spare buffers and the thread's state. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    stor_buf *qhead, *qtail;
    stor_buf *spare;
    int n_spare;
    uint64_t purge_upto; /* > 0: delete log entries <= this in the next batch */
    bool is_started, is_stopping, has_failed;
    pthread_t thread;

    uint64_t durable_zxid; /* written by the log thread, read with __atomic */

    void (*on_durable)(void *arg, uint64_t zxid);
    void (*on_error)(void *arg, const char *msg);
    void *cb_arg;

    /* Snapshot child, owned by the loop thread. */
    pid_t snap_pid; /* 0 when none runs */
    uint64_t snap_zxid;
    uint64_t snap_started_us;

    stor_stats stats; /* guarded by mu */
};

/* Parses "<prefix><hex><rest>" and returns rest, the part from the first
 * dot after the hex (NULL if the name does not start so or has no hex).
 * Hex as Util.getZxidFromName reads it (Long.parseLong(s, 16)): upper or
 * lower case, at most 16 digits. snapfile.c */
const char *stor_name_zxid(const char *name, const char *prefix, uint64_t *zxid);

/* Adler-32 as java.util.zip.Adler32: start with adler = 1. */
uint32_t stor_adler32(uint32_t adler, const void *p, size_t n);

/* Log-side purge: deletes every log entry with zxid <= upto, through the log
 * thread when it runs. */
void stor_log_purge(stor *st, uint64_t upto);

/* One sample into a count/sum/min/max of stor_stats (caller holds mu). */
static inline void stor_stat_add(uint64_t *count, uint64_t *sum, uint64_t *min, uint64_t *max,
                                 uint64_t v)
{
    if (*count == 0 || v < *min)
        *min = v;
    if (v > *max)
        *max = v;
    *sum += v;
    (*count)++;
}

/* CLOCK_MONOTONIC in microseconds, for the statistics. */
uint64_t stor_now_us(void);

/* Waits for a running snapshot child (stor_close). */
void stor_snapshot_wait(stor *st);

/* Total size of the regular files directly in dir whose name starts with
 * prefix ("" for all). */
uint64_t stor_dir_bytes(const char *dir, const char *prefix);

#endif
