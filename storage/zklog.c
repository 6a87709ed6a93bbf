/*
 * zklog: reads Apache ZooKeeper's own txn log files, so that zabd starts on
 * a ZooKeeper data directory. It never writes, truncates or deletes them:
 * zabd goes on with its own log (log.c) and the files stay readable for a
 * ZooKeeper started on the directory again.
 *
 * Files: log.<zxid> in log_dir/version-2 (dataLogDir, or dataDir when it is
 * not set), <zxid> the hex zxid of the file's first txn (Long.toHexString).
 * Layout (FileTxnLog, Util.marshallTxnEntry / writeTxnBytes), big-endian:
 *
 *   FileHeader   magic "ZKLG"                              4 bytes
 *                version = 2                               4 bytes
 *                dbid                                      8 bytes
 *   entries      long checksum: Adler-32 of the entry      8 bytes
 *                int len                                   4 bytes
 *                entry: TxnHeader { long clientId; int     len bytes
 *                  cxid; long zxid; long time; int type }
 *                  then the txn record of that type
 *                  then, with digest.enabled (3.8's
 *                  default), TxnDigest { int version;
 *                  long treeDigest }
 *                byte 'B' (end of record)                  1 byte
 *   padding      zeros to the preallocated size (64 MiB by default)
 *
 * Where a file ends, as ZooKeeper's FileTxnIterator decides: at the end of
 * the bytes, at a zero length (the padding), at a record cut short, at a
 * record whose end byte is not 'B' (a torn write into the zero padding).
 * Reading goes on with the next file. A complete record whose checksum
 * fails stops everything (ZooKeeper refuses to start on it too), as does a
 * length below -1 or above the limit, or an entry too short for its
 * TxnHeader.
 *
 * Files are read through mmap, so the preallocated zeros cost nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/stor_int.h"
#include "wire/wire.h"

enum { FILE_HEADER_LEN = 16, TXN_HEADER_LEN = 32, MAX_FILES = 100000 };
static const char LOG_MAGIC[4] = {'Z', 'K', 'L', 'G'};
static const char LOG_PREFIX[] = "log.";

int stor_zklog_header(const uint8_t *p, size_t len, int32_t *version, int64_t *dbid)
{
    if (len < FILE_HEADER_LEN || memcmp(p, LOG_MAGIC, 4) != 0)
        return ZERR_CORRUPT;
    *version = (int32_t)wire_get_be32(p + 4);
    *dbid = (int64_t)wire_get_be64(p + 8);
    return 0;
}

int stor_zklog_next(const uint8_t *p, size_t len, size_t *off, int32_t max_len, stor_zklog_entry *e,
                    bool *torn)
{
    size_t o = *off;
    *torn = false;
    if (len - o < 12) {
        *torn = len != o; /* a partial checksum or length */
        return 0;
    }
    uint64_t crc = wire_get_be64(p + o);
    int32_t n = (int32_t)wire_get_be32(p + o + 8);
    if (n == 0 || n == -1) {
        /* The zero padding (or a null buffer): ZooKeeper's end of file. */
        *torn = crc != 0;
        return 0;
    }
    if (n < -1 || n > max_len)
        return ZERR_CORRUPT;
    if (len - o - 12 < (size_t)n + 1) {
        *torn = true;
        return 0;
    }
    const uint8_t *body = p + o + 12;
    if (body[n] != 'B') {
        *torn = true;
        return 0;
    }
    if (crc != (uint64_t)stor_adler32(1, body, (size_t)n) || n < TXN_HEADER_LEN)
        return ZERR_CORRUPT;
    e->off = o;
    e->txn = body;
    e->len = (size_t)n;
    e->zxid = wire_get_be64(body + 12);
    *off = o + 12 + (size_t)n + 1;
    return 1;
}

typedef struct logfile {
    uint64_t zxid;
    char name[64];
} logfile;

static int logfile_cmp(const void *a, const void *b)
{
    uint64_t x = ((const logfile *)a)->zxid, y = ((const logfile *)b)->zxid;
    return x < y ? -1 : x > y;
}

/* "log.<hex>" as Util.getZxidFromName reads it (anything after a second
 * dot is ignored there too). */
static bool log_name(const char *name, uint64_t *zxid)
{
    return stor_name_zxid(name, LOG_PREFIX, zxid) != NULL &&
           strlen(name) < sizeof(((logfile *)0)->name);
}

int stor_zklog_list(const char *dir, stor_zklog_file **files_out, size_t *n_out)
{
    int rc = 0;
    logfile *v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        *files_out = NULL;
        *n_out = 0;
        return errno == ENOENT ? 0 : ZERR_IO;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL && n < MAX_FILES;) {
        uint64_t zxid;
        if (!log_name(de->d_name, &zxid))
            continue;
        if (wire_reserve((void **)&v, &cap, n, sizeof *v) != 0) {
            rc = ZERR_NOMEM;
            goto out;
        }
        v[n].zxid = zxid;
        snprintf(v[n].name, sizeof v[n].name, "%s", de->d_name);
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, logfile_cmp);
    *files_out = (stor_zklog_file *)v;
    *n_out = n;
    v = NULL;
out:
    closedir(d);
    free(v);
    return rc;
}

int stor_zklog_map(const char *path, const uint8_t **p_out, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ZERR_IO;
    struct stat sb;
    int rc = ZERR_IO;
    if (fstat(fd, &sb) != 0)
        goto out;
    *len_out = (size_t)sb.st_size;
    *p_out = NULL;
    rc = 0;
    if (sb.st_size == 0)
        goto out;
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = ZERR_IO;
        goto out;
    }
    *p_out = m;
out:
    close(fd);
    return rc;
}

void stor_zklog_unmap(const uint8_t *p, size_t len)
{
    if (p != NULL)
        munmap((void *)p, len);
}

static void say(void (*warn)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(void (*warn)(void *, const char *), void *arg, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (warn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn(arg, msg);
}

/* Replays one mapped file. *last: the newest zxid applied; *seen: the
 * newest read, applied or not (for messages). */
static int replay_file(const char *path, const uint8_t *p, size_t len, int32_t max_len,
                       uint64_t *last, uint64_t *seen,
                       int (*fn)(void *, uint64_t, const uint8_t *, size_t), void *arg,
                       void (*warn)(void *, const char *), void *warn_arg, char *err,
                       size_t err_len)
{
    int32_t version;
    int64_t dbid;
    if (len < FILE_HEADER_LEN) {
        /* ZooKeeper fails on a header it cannot read; an empty file is what a
         * crash right after creating one leaves, so only warn. */
        say(warn, warn_arg, "ZooKeeper txn log %s: no file header (%zu bytes), skipped", path, len);
        return 0;
    }
    if (stor_zklog_header(p, len, &version, &dbid) != 0) {
        snprintf(err, err_len, "ZooKeeper txn log %s: bad magic (not ZKLG)", path);
        return ZERR_CORRUPT;
    }
    size_t off = FILE_HEADER_LEN;
    for (;;) {
        stor_zklog_entry e;
        bool torn;
        int r = stor_zklog_next(p, len, &off, max_len, &e, &torn);
        if (r < 0) {
            snprintf(err, err_len,
                     "ZooKeeper txn log %s: damaged entry at offset %zu after zxid 0x%" PRIx64
                     " (checksum or length)",
                     path, off, *seen);
            return ZERR_CORRUPT;
        }
        if (r == 0) {
            if (torn)
                say(warn, warn_arg,
                    "ZooKeeper txn log %s: torn record at offset %zu after zxid 0x%" PRIx64
                    ", ignored as ZooKeeper does",
                    path, off, *seen);
            return 0;
        }
        *seen = e.zxid;
        if (e.zxid <= *last)
            continue; /* covered by the snapshot (or repeated) */
        int rc = fn(arg, e.zxid, e.txn, e.len);
        if (rc != 0) {
            snprintf(err, err_len, "ZooKeeper txn log %s: zxid 0x%" PRIx64 " cannot be applied: %s",
                     path, e.zxid, wire_err_name(rc));
            return rc;
        }
        *last = e.zxid;
    }
}

int stor_zklog_replay(stor *st, uint64_t after,
                      int (*fn)(void *arg, uint64_t zxid, const uint8_t *txn, size_t len),
                      void *arg, uint64_t *last_out, void (*warn)(void *arg, const char *msg),
                      void *warn_arg, char *err, size_t err_len)
{
    stor_zklog_file *files = NULL;
    size_t n = 0;
    uint64_t last = after, seen = 0;
    int rc = stor_zklog_list(st->log_v2, &files, &n);
    if (rc != 0) {
        snprintf(err, err_len, "cannot list %s: %s", st->log_v2, wire_err_name(rc));
        goto out;
    }
    /* FileTxnLog.getLogFiles: the newest file starting at or before the
     * first wanted zxid, and every later one. */
    size_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (files[i].zxid <= after + 1)
            first = i;
    for (size_t i = first; i < n && rc == 0; i++) {
        char path[4096 + 64];
        const uint8_t *p = NULL;
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", st->log_v2, files[i].name);
        if ((rc = stor_zklog_map(path, &p, &len)) != 0) {
            snprintf(err, err_len, "cannot read ZooKeeper txn log %s: %s", path, strerror(errno));
            break;
        }
        rc = replay_file(path, p, len, st->max_txn_len, &last, &seen, fn, arg, warn, warn_arg, err,
                         err_len);
        stor_zklog_unmap(p, len);
    }
    if (rc == 0)
        *last_out = last;
out:
    free(files);
    return rc;
}
