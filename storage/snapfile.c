/*
 * snapfile: snapshot files in Apache ZooKeeper 3.8's own format (written by
 * a fork()ed child), loading the newest valid one, and autopurge.
 *
 * It does not know what the DataTree stream holds (znode-tree serialises
 * it, see znode-tree/snapshot.c); it writes the file around it, checks the
 * checksums and names the files, so that ZooKeeper can start on our files
 * and we on its.
 *
 * Files live in data_dir/version-2/:
 *
 *   snapshot.<zxid>             a complete snapshot; <zxid> in lower-case hex
 *                               without "0x" or padding (Long.toHexString),
 *                               e.g. snapshot.1a2b
 *   zabd-snapshot.<zxid>.tmp    being written, or left by a crash: never
 *                               loaded. ZooKeeper's loader takes any name
 *                               "snapshot.<hex>[.anything]" as a candidate,
 *                               so ours must not start with "snapshot.".
 *
 * Layout of snapshot.<zxid> (FileSnap.serialize + SnapStream.sealStream),
 * all integers big-endian:
 *
 *   offset 0   magic "ZKSN"                                 4 bytes
 *   offset 4   version = 2                                  4 bytes
 *   offset 8   dbid = -1                                    8 bytes
 *   offset 16  the DataTree stream (znode-tree/snapshot.c)  n bytes
 *   then       seal: long Adler-32 of every byte before it  8 bytes
 *              ustring "/" (int 1, '/')                     5 bytes
 *   then       ZxidDigest: long zxid, int digest version    20 bytes
 *              (2), long tree digest (znode-tree/digest.c)
 *              seal: long Adler-32 of every byte before it  8 bytes
 *              (the first seal and the digest included)
 *              ustring "/"                                  5 bytes
 *
 * ZooKeeper writes the digest part only with digest.enabled (the default);
 * we always write it and read files with or without it. The digest's zxid
 * is the snapshot's, since our snapshots are exact (a fork), not fuzzy.
 *
 * A file is valid when the magic and version are right, it ends with "/",
 * and the checksums of one of the two layouts match (with the digest part
 * first, then without); the DataTree stream must then decode exactly (the
 * caller's job). The child writes the .tmp file, fsyncs it, renames it and
 * fsyncs the directory, so a file under its final name is complete unless
 * the disk itself damaged it; a damaged one is skipped for the next older
 * one, as ZooKeeper's FileSnap.deserialize does. Compressed snapshots
 * (snapshot.<zxid>.gz / .snappy, zookeeper.snapshot.compression.method) are
 * skipped with a warning: we read and write only the default, uncompressed
 * format.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/stor_int.h"
#include "wire/wire.h"

enum {
    SNAP_VERSION = 2,
    HEADER_LEN = 16,
    SEAL_LEN = 13,   /* long checksum + ustring "/" */
    DIGEST_LEN = 20, /* long zxid + int version + long digest */
    CHILD_BUF = 64 * 1024,
    MAX_SNAPS = 4096, /* files considered by one scan; more is an operator problem */
};
static const char SNAP_MAGIC[4] = {'Z', 'K', 'S', 'N'};
static const char SNAP_PREFIX[] = "snapshot.";
static const char TMP_PREFIX[] = "zabd-snapshot.";

/* ---- Names --------------------------------------------------------------- */

const char *stor_name_zxid(const char *name, const char *prefix, uint64_t *zxid)
{
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0)
        return NULL;
    const char *s = name + plen;
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] != '\0' && s[n] != '.'; n++) {
        char c = s[n];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0 || n >= 16)
            return NULL;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0)
        return NULL;
    *zxid = v;
    return s + n;
}

/* A snapshot file we can load: exactly "snapshot.<hex>". */
static bool name_parse(const char *name, uint64_t *zxid)
{
    const char *rest = stor_name_zxid(name, SNAP_PREFIX, zxid);
    return rest != NULL && *rest == '\0';
}

static bool tmp_parse(const char *name, uint64_t *zxid)
{
    const char *rest = stor_name_zxid(name, TMP_PREFIX, zxid);
    return rest != NULL && strcmp(rest, ".tmp") == 0;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Lists the zxids of loadable snapshot files, newest first. Names that
 * ZooKeeper would take as snapshots but we cannot read (compressed ones)
 * are reported to warn. */
static int snaps_list(const stor *st, uint64_t **zxids_out, size_t *n_out,
                      void (*warn)(void *arg, const char *msg), void *warn_arg)
{
    int rc = 0;
    size_t n = 0, cap = 0;
    uint64_t *z = NULL;
    DIR *d = opendir(st->snap_dir);
    if (d == NULL)
        return ZERR_IO;
    for (struct dirent *de; (de = readdir(d)) != NULL && n < MAX_SNAPS;) {
        uint64_t zxid;
        if (!name_parse(de->d_name, &zxid)) {
            const char *rest = stor_name_zxid(de->d_name, SNAP_PREFIX, &zxid);
            if (rest != NULL && warn != NULL && strcmp(rest, ".tmp") != 0) {
                char msg[512];
                snprintf(msg, sizeof msg,
                         "ignoring %s/%s: only uncompressed snapshot files can be read",
                         st->snap_dir, de->d_name);
                warn(warn_arg, msg);
            }
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *nz = realloc(z, ncap * sizeof(*z));
            if (nz == NULL) {
                rc = ZERR_NOMEM;
                goto out;
            }
            z = nz;
            cap = ncap;
        }
        z[n++] = zxid;
    }
    if (n > 1)
        qsort(z, n, sizeof(*z), cmp_desc);
    *zxids_out = z;
    *n_out = n;
    z = NULL;
out:
    closedir(d);
    free(z);
    return rc;
}

static void snap_path(const stor *st, uint64_t zxid, bool tmp, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s%" PRIx64 "%s", st->snap_dir, tmp ? TMP_PREFIX : SNAP_PREFIX, zxid,
             tmp ? ".tmp" : "");
}

/* ---- Parsing --------------------------------------------------------------- */

static bool is_seal(const uint8_t *p, uint32_t adler)
{
    static const uint8_t slash[5] = {0, 0, 0, 1, '/'};
    return wire_get_be64(p) == (uint64_t)adler && memcmp(p + 8, slash, 5) == 0;
}

int stor_snapfile_parse(const uint8_t *p, size_t len, stor_snapfile *out, char *why, size_t why_len)
{
    if (len < HEADER_LEN + 4 + 4 + 8 + SEAL_LEN) {
        snprintf(why, why_len, "too short to be a snapshot (%zu bytes)", len);
        return ZERR_CORRUPT;
    }
    if (memcmp(p, SNAP_MAGIC, 4) != 0 || wire_get_be32(p + 4) != SNAP_VERSION) {
        snprintf(why, why_len, "bad magic or format version (not a ZooKeeper snapshot file)");
        return ZERR_CORRUPT;
    }
    memset(out, 0, sizeof *out);
    out->dbid = (int64_t)wire_get_be64(p + 8);
    /* One pass of Adler-32, checked at both places a seal may start. */
    size_t with = HEADER_LEN + SEAL_LEN + DIGEST_LEN + SEAL_LEN;
    uint32_t a = 1;
    if (len >= with) {
        size_t at1 = len - SEAL_LEN - DIGEST_LEN - SEAL_LEN;
        a = stor_adler32(1, p, at1);
        bool ok1 = is_seal(p + at1, a);
        a = stor_adler32(a, p + at1, len - SEAL_LEN - at1);
        const uint8_t *dg = p + at1 + SEAL_LEN;
        if (ok1 && is_seal(p + len - SEAL_LEN, a) && (int32_t)wire_get_be32(dg + 8) >= 2) {
            out->body = p + HEADER_LEN;
            out->body_len = at1 - HEADER_LEN;
            out->has_digest = true;
            out->digest.zxid = (int64_t)wire_get_be64(dg);
            out->digest.version = (int32_t)wire_get_be32(dg + 8);
            out->digest.digest = (int64_t)wire_get_be64(dg + 12);
            return 0;
        }
    } else {
        a = stor_adler32(1, p, len - SEAL_LEN);
    }
    if (is_seal(p + len - SEAL_LEN, a)) {
        out->body = p + HEADER_LEN;
        out->body_len = len - SEAL_LEN - HEADER_LEN;
        return 0;
    }
    snprintf(why, why_len, "checksum mismatch or truncated");
    return ZERR_CORRUPT;
}

/* ---- Loading --------------------------------------------------------------- */

static bool read_full(int fd, void *buf, size_t n, off_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        off += r;
        n -= (size_t)r;
    }
    return true;
}

int stor_snapfile_read(const char *path, uint8_t **file_out, stor_snapfile *out, char *why,
                       size_t why_len)
{
    int rc = ZERR_CORRUPT;
    uint8_t *buf = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open: %s", strerror(errno));
        rc = ZERR_IO;
        goto out;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(why, why_len, "cannot stat: %s", strerror(errno));
        rc = ZERR_IO;
        goto out;
    }
    size_t len = (size_t)sb.st_size;
    if ((buf = malloc(len ? len : 1)) == NULL) {
        rc = ZERR_NOMEM;
        goto out;
    }
    if (!read_full(fd, buf, len, 0)) {
        snprintf(why, why_len, "read failed");
        rc = ZERR_IO;
        goto out;
    }
    if ((rc = stor_snapfile_parse(buf, len, out, why, why_len)) != 0)
        goto out;
    *file_out = buf;
    buf = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

int stor_snapshot_load(stor *st, uint64_t before, uint64_t *zxid_out, uint8_t **file_out,
                       stor_snapfile *snap_out, void (*warn)(void *arg, const char *msg),
                       void *warn_arg)
{
    uint64_t *z = NULL;
    size_t n = 0;
    int rc = snaps_list(st, &z, &n, before == UINT64_MAX ? warn : NULL, warn_arg);
    if (rc != 0)
        goto out;
    rc = ZERR_NONODE;
    for (size_t i = 0; i < n; i++) {
        char path[4096], why[256], msg[4096 + 320];
        if (z[i] >= before)
            continue;
        if (rc == ZERR_NONODE)
            rc = ZERR_CORRUPT; /* there are candidates: none valid so far */
        snap_path(st, z[i], false, path, sizeof(path));
        int r = stor_snapfile_read(path, file_out, snap_out, why, sizeof(why));
        if (r == 0) {
            *zxid_out = z[i];
            rc = 0;
            goto out;
        }
        if (r == ZERR_NOMEM) {
            rc = r;
            goto out;
        }
        if (warn != NULL) {
            snprintf(msg, sizeof(msg), "skipping snapshot %s: %s", path, why);
            warn(warn_arg, msg);
        }
    }
out:
    free(z);
    return rc;
}

uint64_t stor_snapshot_newest(stor *st)
{
    uint64_t *z = NULL, top = 0;
    size_t n = 0;
    if (snaps_list(st, &z, &n, NULL, NULL) == 0 && n > 0)
        top = z[0];
    free(z);
    return top;
}

int64_t stor_snapshot_bytes(stor *st)
{
    uint64_t zxid = stor_snapshot_newest(st);
    char path[4096];
    struct stat sb;
    if (zxid == 0)
        return -1;
    snap_path(st, zxid, false, path, sizeof path);
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* ---- Writing (in the child) ------------------------------------------------ */

typedef struct child_out {
    int fd;
    size_t used;
    uint32_t adler; /* of every byte put so far */
    uint8_t buf[CHILD_BUF];
} child_out;

static int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ZERR_IO;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int child_flush(child_out *o)
{
    int rc = write_full(o->fd, o->buf, o->used);
    o->used = 0;
    return rc;
}

static int child_put(child_out *o, const void *p, size_t n)
{
    const uint8_t *b = p;
    o->adler = stor_adler32(o->adler, p, n);
    while (n > 0) {
        if (o->used == sizeof(o->buf)) {
            int rc = child_flush(o);
            if (rc != 0)
                return rc;
        }
        size_t k = sizeof(o->buf) - o->used;
        if (k > n)
            k = n;
        memcpy(o->buf + o->used, b, k);
        o->used += k;
        b += k;
        n -= k;
    }
    return 0;
}

static int child_emit(void *ea, const void *p, size_t n)
{
    child_out *o = ea;
    /* The encoder hands over chunks of tens of kB: write them as they are
     * rather than copy them through our buffer once more. */
    if (n >= sizeof(o->buf) / 2) {
        int rc = child_flush(o);
        if (rc != 0)
            return rc;
        o->adler = stor_adler32(o->adler, p, n);
        return write_full(o->fd, p, n);
    }
    return child_put(o, p, n);
}

/* SnapStream.sealStream: the checksum so far, then the string "/". */
static int child_seal(child_out *o)
{
    uint8_t seal[SEAL_LEN] = {0};
    wire_put_be64(seal, o->adler);
    seal[11] = 1;
    seal[12] = '/';
    return child_put(o, seal, sizeof seal);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ZERR_IO;
    int rc = fsync(fd) == 0 ? 0 : ZERR_IO;
    close(fd);
    return rc;
}

/* Runs in the child; returns its exit status. Touches no lock, no RocksDB
 * and no state another thread of the parent owned at fork time. */
static int child_run(const stor *st, uint64_t zxid, const stor_snap_digest *dg,
                     int (*produce)(void *, int (*)(void *, const void *, size_t), void *),
                     void *produce_arg)
{
    char tmp[4096], fin[4096];
    uint8_t hdr[HEADER_LEN], dgb[DIGEST_LEN];
    child_out *o = malloc(sizeof(*o));
    int rc = ZERR_NOMEM;
    /* Drop every descriptor inherited from the server (client sockets, the
     * listener, RocksDB's files): a connection the parent closes must close
     * now, not when this child exits. */
    close_range(3, ~0U, 0);
    /* A snapshot is background work: on a busy machine the loop and the log
     * thread, which clients wait on, get the CPU first. SCHED_IDLE rather
     * than a nice value: a CPU running only this child counts as idle, so
     * a woken loop, log thread or client lands there and preempts it at
     * once (rawload create 8x64, 2 cores: 263k/s at nice 10, 294k/s so).
     * The price, under a load that leaves no CPU idle, is snapshots further
     * apart (the next one waits for this one) and a longer log to replay. */
    (void)setpriority(PRIO_PROCESS, 0, 10); /* best effort, both */
    struct sched_param sp = {0};
    (void)sched_setscheduler(0, SCHED_IDLE, &sp);
    snap_path(st, zxid, true, tmp, sizeof(tmp));
    snap_path(st, zxid, false, fin, sizeof(fin));
    if (o == NULL)
        goto out;
    memset(o, 0, offsetof(child_out, buf));
    o->adler = 1;
    rc = ZERR_IO;
    if ((o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto out;
    memcpy(hdr, SNAP_MAGIC, 4);
    wire_put_be32(hdr + 4, SNAP_VERSION);
    wire_put_be64(hdr + 8, UINT64_MAX); /* FileSnap's dbId, always -1 */
    if ((rc = child_put(o, hdr, sizeof(hdr))) != 0)
        goto out;
    if ((rc = produce(produce_arg, child_emit, o)) != 0 || (rc = child_seal(o)) != 0)
        goto out;
    wire_put_be64(dgb, (uint64_t)dg->zxid);
    wire_put_be32(dgb + 8, (uint32_t)dg->version);
    wire_put_be64(dgb + 12, (uint64_t)dg->digest);
    if ((rc = child_put(o, dgb, sizeof dgb)) != 0 || (rc = child_seal(o)) != 0 ||
        (rc = child_flush(o)) != 0)
        goto out;
    rc = ZERR_IO;
    if (fsync(o->fd) != 0 || close(o->fd) != 0) {
        o->fd = -1;
        goto out;
    }
    o->fd = -1;
    if (rename(tmp, fin) != 0 || fsync_dir(st->snap_dir) != 0)
        goto out;
    rc = 0;
out:
    if (o != NULL && o->fd >= 0)
        close(o->fd);
    free(o);
    if (rc != 0)
        unlink(tmp);
    return rc == 0 ? 0 : 1;
}

int stor_snapshot_begin(stor *st, uint64_t zxid, const stor_snap_digest *digest,
                        int (*produce)(void *arg, int (*emit)(void *ea, const void *p, size_t n),
                                       void *ea),
                        void *produce_arg)
{
    if (st->snap_pid != 0)
        return ZERR_CLOSING;
    stor_snap_digest dg = *digest; /* the child reads its own copy */
    /* Flush stdio so buffered output is not written twice (once by the
     * child's copy); the child leaves with _exit and never flushes. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return ZERR_IO;
    if (pid == 0)
        _exit(child_run(st, zxid, &dg, produce, produce_arg));
    st->snap_pid = pid;
    st->snap_zxid = zxid;
    st->snap_started_us = stor_now_us();
    return 0;
}

/* Turns a reaped child's status into the poll result. */
static int child_result(stor *st, int status)
{
    st->snap_pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        uint64_t ms = (stor_now_us() - st->snap_started_us) / 1000;
        pthread_mutex_lock(&st->mu);
        stor_stats *ss = &st->stats;
        stor_stat_add(&ss->snapshots, &ss->snap_ms_sum, &ss->snap_ms_min, &ss->snap_ms_max, ms);
        pthread_mutex_unlock(&st->mu);
        return 1;
    }
    char tmp[4096];
    snap_path(st, st->snap_zxid, true, tmp, sizeof(tmp));
    unlink(tmp); /* a killed child leaves its .tmp behind */
    return ZERR_IO;
}

int stor_snapshot_poll(stor *st)
{
    int status;
    if (st->snap_pid == 0)
        return 0;
    pid_t r = waitpid(st->snap_pid, &status, WNOHANG);
    if (r == 0)
        return 0;
    if (r < 0) {
        st->snap_pid = 0; /* reaped elsewhere: we cannot tell how it ended */
        return ZERR_IO;
    }
    int rc = child_result(st, status);
    if (rc == 1 && st->autopurge_retain > 0)
        stor_purge(st, st->autopurge_retain);
    return rc;
}

void stor_snapshot_wait(stor *st)
{
    int status;
    if (st->snap_pid == 0)
        return;
    while (waitpid(st->snap_pid, &status, 0) < 0 && errno == EINTR)
        ;
    st->snap_pid = 0;
}

int stor_snapshot_sync(stor *st, uint64_t zxid, const stor_snap_digest *digest,
                       int (*produce)(void *arg, int (*emit)(void *ea, const void *p, size_t n),
                                      void *ea),
                       void *produce_arg)
{
    int status;
    stor_snapshot_wait(st);
    int rc = stor_snapshot_begin(st, zxid, digest, produce, produce_arg);
    if (rc != 0)
        return rc;
    pid_t r;
    while ((r = waitpid(st->snap_pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        st->snap_pid = 0;
        return ZERR_IO;
    }
    if (child_result(st, status) != 1)
        return ZERR_IO;
    if (st->autopurge_retain > 0)
        stor_purge(st, st->autopurge_retain);
    return 0;
}

/* ---- Purge and sizes ------------------------------------------------------- */

/* Removes .tmp files that no running child is writing: leftovers of a crash. */
static void tmp_sweep(stor *st)
{
    DIR *d = opendir(st->snap_dir);
    if (d == NULL)
        return;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        uint64_t zxid;
        if (!tmp_parse(de->d_name, &zxid))
            continue;
        if (st->snap_pid != 0 && zxid == st->snap_zxid)
            continue;
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

int stor_purge(stor *st, int retain)
{
    uint64_t *z = NULL;
    size_t n = 0;
    if (retain < 3)
        retain = 3; /* ZooKeeper's PurgeTxnLog refuses fewer than 3 */
    int rc = snaps_list(st, &z, &n, NULL, NULL);
    if (rc != 0)
        goto out;
    tmp_sweep(st);
    if (n == 0)
        goto out;
    size_t keep = n < (size_t)retain ? n : (size_t)retain;
    for (size_t i = keep; i < n; i++) {
        char path[4096];
        snap_path(st, z[i], false, path, sizeof(path));
        unlink(path);
    }
    /* The oldest kept snapshot needs only the log after it; so do all newer
     * ones, which is what lets recovery fall back to an older snapshot. */
    stor_log_purge(st, z[keep - 1]);
out:
    free(z);
    return rc;
}

uint64_t stor_dir_bytes(const char *dir, const char *prefix)
{
    uint64_t total = 0;
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        struct stat sb;
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return total;
}

void stor_sizes(stor *st, uint64_t *snap_bytes, uint64_t *log_bytes)
{
    *snap_bytes = stor_dir_bytes(st->snap_dir, SNAP_PREFIX);
    *log_bytes = stor_dir_bytes(st->db_dir, "");
}
