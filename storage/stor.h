/*
 * storage: the durable txn log (RocksDB) and snapshot files.
 *
 * Use:
 *   1. stor_open() creates data_dir/version-2 and log_dir/version-2/txnlog
 *      and opens RocksDB.
 *   2. Recovery, on the loop thread before anything runs:
 *      stor_snapshot_load() gives the newest valid snapshot file (Apache
 *      ZooKeeper 3.8's format, whoever wrote it) and its zxid;
 *      stor_zklog_replay(after = that zxid) feeds every later txn of
 *      ZooKeeper's own log.* files, if any; stor_replay(after = the newest
 *      zxid so far) feeds every later txn of our log.
 *   3. stor_start() launches the log thread. From then on the loop calls
 *      stor_append() for each txn; the log thread writes everything queued as
 *      one synced RocksDB write (group commit) and calls on_durable() with the
 *      highest zxid that is now on disk.
 *   4. stor_snapshot_begin() fork()s a child that writes a snapshot file while
 *      the loop goes on; the loop calls stor_snapshot_poll() now and then to
 *      reap it (and to autopurge old snapshots and log entries).
 *   5. stor_close() drains the queue, stops the thread, waits for a running
 *      snapshot child and closes RocksDB.
 *
 * Txns and snapshot bodies are opaque bytes here: this module knows nothing
 * of the tree or sessions (it reads a txn's zxid from its TxnHeader), and includes neither libevent
 * nor OpenSSL. The on-disk formats are written out at the top of storage/log.c (our log),
 * storage/snapfile.c (snapshot files) and storage/zklog.c (ZooKeeper's log
 * files, only ever read).
 *
 * Threads: every function except the callbacks is called from one thread
 * (the loop). on_durable and on_error run on the log thread.
 */
#ifndef ZABD_STOR_H
#define ZABD_STOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct stor stor; /* layout in storage/stor_int.h */

typedef struct stor_config {
    const char *data_dir;     /* snapshots go in data_dir/version-2/ */
    const char *log_dir;      /* RocksDB txn log in log_dir/version-2/txnlog
                                 (log_dir = dataLogDir, or data_dir); NULL means data_dir */
    int32_t max_txn_len;      /* entries longer than this read back as corrupt and
                                 are refused by stor_append; <= 0 means
                                 2 * WIRE_MAXBUFFER_DEFAULT (jute.maxbuffer plus
                                 the server's extrasize allowance) */
    int32_t autopurge_retain; /* > 0: stor_snapshot_poll() runs
                                 stor_purge(st, autopurge_retain) after each
                                 completed snapshot; 0: it never purges */
    bool skip_sync;           /* zoo.cfg forceSync=no: txn batches are written
                                 without sync (on_durable then means "handed to
                                 the kernel": it survives a crash of the process,
                                 not of the machine). Named values stay synced. */
} stor_config;

/* ---- Open and close ---------------------------------------------------------- */

/* Creates the directories if needed and opens RocksDB. On failure returns a
 * negative zerr (ZERR_IO, ZERR_NOMEM, ZERR_BADARGUMENTS) and writes a
 * one-line human message into err (e.g. "dataDir /x is not writable:
 * Permission denied"). */
int stor_open(const stor_config *cfg, stor **out, char *err, size_t err_len);

/* Drains and stops the log thread (every queued txn is written and
 * acknowledged through on_durable first), waits for a snapshot child still
 * running, and closes RocksDB. NULL is a no-op. */
void stor_close(stor *st);

/* ---- Recovery (call before stor_start) ------------------------------------- */

/* The digest record of a snapshot file (ZooKeeper's ZxidDigest): the tree
 * digest (zt_digest) as of zxid, in digest version `version`. */
typedef struct stor_snap_digest {
    int64_t zxid;
    int32_t version;
    int64_t digest;
} stor_snap_digest;

/* A snapshot file, parsed: views into the file's bytes. */
typedef struct stor_snapfile {
    int64_t dbid;
    const uint8_t *body; /* the DataTree stream, for zt_snapshot_decode */
    size_t body_len;
    bool has_digest; /* ZooKeeper with digest.enabled=false writes none */
    stor_snap_digest digest;
} stor_snapfile;

/* Checks the framing of a whole snapshot file in p[0..len) (header,
 * checksums, the optional digest part; layout at the top of
 * storage/snapfile.c). Pure, for any bytes. 0, or ZERR_CORRUPT with the
 * reason in why. The body itself is not decoded. */
int stor_snapfile_parse(const uint8_t *p, size_t len, stor_snapfile *out, char *why,
                        size_t why_len);
/* Reads and parses one file (tools). *file_out is malloc'd (the caller
 * frees it; out points into it). ZERR_IO, ZERR_NOMEM or ZERR_CORRUPT with
 * the reason in why. */
int stor_snapfile_read(const char *path, uint8_t **file_out, stor_snapfile *out, char *why,
                       size_t why_len);

/* Loads the newest snapshot file with zxid < before (UINT64_MAX: any) whose
 * framing is valid; older ones are tried when the newest is bad (the reason
 * goes to warn, which may be NULL). Our own `.tmp` files are never
 * considered; compressed ZooKeeper snapshots are skipped with a warning.
 * Returns 0 with *file_out malloc'd (caller frees; snap_out points into it),
 * ZERR_NONODE when there is no candidate at all, ZERR_CORRUPT when there are
 * candidates but none is valid (starting empty would silently lose data),
 * ZERR_NOMEM. A caller whose decode of the body fails calls again with
 * before = that zxid. Cost: reads and checksums each file tried. */
int stor_snapshot_load(stor *st, uint64_t before, uint64_t *zxid_out, uint8_t **file_out,
                       stor_snapfile *snap_out, void (*warn)(void *arg, const char *msg),
                       void *warn_arg);

/* zxid of the newest loadable snapshot file name, 0 if none (not read). */
uint64_t stor_snapshot_newest(stor *st);
/* The size in bytes of that snapshot's file, -1 if there is none. */
int64_t stor_snapshot_bytes(stor *st);

/* Calls fn for every logged txn with zxid > after, in zxid order; txn points
 * into a buffer valid only during the call. Stops and returns fn's value if
 * non-zero. A damaged entry (bad checksum, bad length, bad key) returns
 * ZERR_CORRUPT and writes a message naming the zxid into err; a RocksDB read
 * error returns ZERR_IO with its message. */
int stor_replay(stor *st, uint64_t after,
                int (*fn)(void *arg, uint64_t zxid, const uint8_t *txn, size_t len), void *arg,
                char *err, size_t err_len);

/* ZooKeeper's own txn log files (log.<zxid> in log_dir/version-2, the
 * format at the top of storage/zklog.c): calls fn for every txn with zxid >
 * after, in log order, txn = the entry's TxnHeader + txn (+ the TxnDigest
 * ZooKeeper 3.8 appends), valid during the call only. *last_out gets the
 * highest zxid handed to fn (after if none). The files are only read, never
 * changed. A torn or zero-padded end of a file ends that file, as in
 * ZooKeeper (a warning goes to warn if it was not clean padding); a complete
 * entry whose checksum fails, an unreasonable length or a header that is not
 * ZKLG returns ZERR_CORRUPT with the file and the last good zxid in err. */
int stor_zklog_replay(stor *st, uint64_t after,
                      int (*fn)(void *arg, uint64_t zxid, const uint8_t *txn, size_t len),
                      void *arg, uint64_t *last_out, void (*warn)(void *arg, const char *msg),
                      void *warn_arg, char *err, size_t err_len);

/* The pieces of that reader, for tools and tests. */
typedef struct stor_zklog_entry {
    uint64_t zxid;
    const uint8_t *txn; /* TxnHeader + txn (+ TxnDigest), len bytes */
    size_t len;
    size_t off; /* of the entry's checksum in the file */
} stor_zklog_entry;
typedef struct stor_zklog_file {
    uint64_t zxid; /* from the name: the first txn's */
    char name[64];
} stor_zklog_file;
/* The FileHeader of a log file in p[0..len): 0 or ZERR_CORRUPT. */
int stor_zklog_header(const uint8_t *p, size_t len, int32_t *version, int64_t *dbid);
/* The entry at *off (start at 16, after the header): 1 with *e set and *off
 * moved past it; 0 at the end of the file's txns (*torn: not at a clean end
 * or the zero padding); ZERR_CORRUPT for a damaged entry. Pure. */
int stor_zklog_next(const uint8_t *p, size_t len, size_t *off, int32_t max_len, stor_zklog_entry *e,
                    bool *torn);
/* log.<zxid> files in dir, by zxid (malloc'd; a missing dir is empty). */
int stor_zklog_list(const char *dir, stor_zklog_file **files_out, size_t *n_out);
/* Maps a file read-only (p NULL for an empty file); unmap with the length. */
int stor_zklog_map(const char *path, const uint8_t **p_out, size_t *len_out);
void stor_zklog_unmap(const uint8_t *p, size_t len);

/* Highest zxid that is durable in the log, 0 if none. A purge can empty
 * the log (every entry <= the oldest kept snapshot), so recovery takes the
 * larger of this and the loaded snapshot's zxid. Safe from any thread. */
uint64_t stor_last_zxid(stor *st);

/* ---- The log thread: group commit ------------------------------------------ */

/* Starts the log thread. on_durable(arg, zxid) is called FROM THE LOG THREAD
 * after each synced write, with the highest zxid now durable (once per
 * batch, never for a batch that holds no txn). on_error(arg, msg) is called
 * from the log thread if a write fails; the thread then stops writing and
 * every later stor_append returns ZERR_IO (the server is expected to exit).
 * Returns ZERR_CLOSING if already started, ZERR_SYSTEMERROR if the thread
 * cannot be created. */
int stor_start(stor *st, void (*on_durable)(void *arg, uint64_t zxid),
               void (*on_error)(void *arg, const char *msg), void *arg);

/* Appends one txn (copied) to the batch the calling (loop) thread is
 * filling; no lock, no allocation once buffers are warm. The log thread sees
 * it only after stor_submit (or once the batch holds a few MB). zxids must
 * increase across calls (and be above stor_last_zxid() at start):
 * ZERR_BADARGUMENTS otherwise. ZERR_TOOBIG if len > max_txn_len (nothing
 * unreadable may enter the log), ZERR_CLOSING if the thread is not running,
 * ZERR_IO after a write failure, ZERR_NOMEM. */
int stor_append(stor *st, uint64_t zxid, const uint8_t *txn, size_t len);

/* Hands every txn appended since the last call to the log thread: one
 * mutex and at most one wake-up however many txns. The server calls it once
 * per loop iteration that appended something; stor_flush and stor_close
 * call it too. Never blocks on the disk. */
void stor_submit(stor *st);

/* ---- Small durable values (epochs) ----------------------------------------- */

/* A named 64-bit value kept in RocksDB beside the log, e.g. ZAB's
 * "currentEpoch" and "acceptedEpoch". put is a synced write done on the
 * calling thread (one fsync: for election-time use, not per request).
 * get returns ZERR_NONODE if never put, ZERR_CORRUPT if the stored value is
 * damaged. name: at most 64 bytes. */
int stor_meta_put(stor *st, const char *name, uint64_t val);
int stor_meta_get(stor *st, const char *name, uint64_t *val_out);

/* ---- Snapshots --------------------------------------------------------------- */

/* Writes a snapshot of state at `zxid` WITHOUT stalling the caller: fork()s;
 * the child calls produce(produce_arg, emit, emit_arg), which calls emit()
 * with successive chunks of the snapshot body (emit returns 0 or a negative
 * zerr, which produce should pass back) and digest is written after it.
 * The child writes data_dir/version-2/zabd-snapshot.<zxid hex>.tmp, fsyncs
 * it, renames it to snapshot.<zxid hex>, fsyncs the directory and _exit()s. The child must not
 * touch anything the loop's other threads own; produce only reads the
 * (copy-on-write) memory image.
 * The parent returns at once: 0, ZERR_CLOSING if a snapshot is already in
 * progress (one at a time), ZERR_IO if fork fails. */
int stor_snapshot_begin(stor *st, uint64_t zxid, const stor_snap_digest *digest,
                        int (*produce)(void *arg, int (*emit)(void *ea, const void *p, size_t n),
                                       void *ea),
                        void *produce_arg);

/* The same, waiting: first for a child still running, then for this one,
 * then autopurging as stor_snapshot_poll would. For a clean stop. 0, or
 * ZERR_IO if the snapshot could not be written. */
int stor_snapshot_sync(stor *st, uint64_t zxid, const stor_snap_digest *digest,
                       int (*produce)(void *arg, int (*emit)(void *ea, const void *p, size_t n),
                                      void *ea),
                       void *produce_arg);

/* Waits until every txn queued so far is durable or the log has failed
 * (then ZERR_IO); 0 at once if the thread is not running. Polls; for a
 * clean stop, not for the request path. */
int stor_flush(stor *st);

/* A leader's TRUNC: removes, synchronously and durably (a synced write,
 * whatever forceSync says), every logged txn with zxid > zxid, and sets
 * aside every snapshot file newer than zxid (renamed truncated-snapshot.<hex>:
 * recovery would load it, and it holds txns the log no longer has). Call
 * it from the loop thread, which appends: it first waits until everything
 * appended is durable (stor_flush) and for a running snapshot child, so it
 * blocks on the disk. stor_last_zxid and the next stor_append's lower bound
 * follow (the next append must be above the new stor_last_zxid()). 0, or
 * ZERR_IO / ZERR_CORRUPT with the reason in err (then the log may be
 * unchanged, or cut with the snapshots set aside: a caller exits). Cost:
 * one seek, one chunk copied. */
int stor_truncate_after(stor *st, uint64_t zxid, char *err, size_t err_len);

/* Non-blocking: reaps a finished child. Returns 1 if a snapshot completed
 * since the last call (and then purges if cfg.autopurge_retain > 0), 0 if
 * none, ZERR_IO if the child failed (its .tmp is removed). */
int stor_snapshot_poll(stor *st);

/* autopurge: keeps the newest `retain` snapshot files (ZooKeeper's
 * autopurge.snapRetainCount; values below 3 count as 3), deletes older
 * snapshot files, stale .tmp files, and every log chunk whose txns all have
 * zxid <= the oldest retained snapshot's zxid (a RocksDB DeleteRange, done by the log
 * thread when it runs so the loop never waits on its write; compaction
 * reclaims the space later). Returns 0, or ZERR_IO if a directory cannot be
 * read. Cost: one directory scan. */
int stor_purge(stor *st, int retain);

/* For the four-letter words: bytes of snapshot files and of the log
 * directory. Cost: two directory scans. */
void stor_sizes(stor *st, uint64_t *snap_bytes, uint64_t *log_bytes);

/* ---- Statistics ---------------------------------------------------------------- */

/* Measured here, where the work happens: each synced log write (one per
 * batch: the WAL append and its fsync) from just before to just after
 * rocksdb_write, on the log thread; each completed snapshot from fork() to
 * the reaping of its child, which exits once the file and its directory
 * entry are synced. */
typedef struct stor_stats {
    uint64_t syncs;
    uint64_t sync_us_sum, sync_us_min, sync_us_max;
    uint64_t snapshots;
    uint64_t snap_ms_sum, snap_ms_min, snap_ms_max;
} stor_stats;

/* Safe from the loop thread while the log thread runs. */
void stor_get_stats(stor *st, stor_stats *out);
void stor_reset_stats(stor *st);

#ifdef __cplusplus
}
#endif
#endif
