/*
 * snapfile: snapshot files (written by a fork()ed child), loading the newest
 * valid one, and autopurge.
 *
 * It does not know what a snapshot body holds (the tree module serialises
 * it); it only frames, checksums and names the bytes.
 *
 * Files live in data_dir/version-2/:
 *
 *   snapshot.<zxid>       a complete snapshot; <zxid> in lower-case hex
 *                         without "0x" or padding, as ZooKeeper names its
 *                         snapshot files (snapshot.1a2b)
 *   snapshot.<zxid>.tmp   being written, or left by a crash: never loaded
 *
 * Layout of snapshot.<zxid>, all integers big-endian:
 *
 *   offset 0       magic "ZBSN"                          4 bytes
 *   offset 4       format version = 1                    4 bytes
 *   offset 8       zxid (must equal the name's zxid)     8 bytes
 *   offset 16      body                                  body_len bytes
 *   offset 16+len  body_len                              8 bytes
 *                  CRC-32 of the body (storage/crc.c)    4 bytes
 *
 * A file is valid when its size is exactly 28 + body_len, the magic, version
 * and zxid agree and the checksum matches. The child writes the .tmp file,
 * fsyncs it, renames it and fsyncs the directory, so a file under its final
 * name is complete unless the disk itself damaged it; a damaged one is
 * skipped for the next older one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/stor_int.h"
#include "wire/wire.h"

enum {
    SNAP_VERSION = 1,
    HEADER_LEN = 16,
    TRAILER_LEN = 12,
    CHILD_BUF = 64 * 1024,
    MAX_SNAPS = 4096, /* files considered by one scan; more is an operator problem */
};
static const char SNAP_MAGIC[4] = {'Z', 'B', 'S', 'N'};
static const char SNAP_PREFIX[] = "snapshot.";

/* ---- Names --------------------------------------------------------------- */

/* Parses "snapshot.<hex>" (tmp = false) or "snapshot.<hex>.tmp" (tmp =
 * true); anything else, including hex past 16 digits, is not ours. */
static bool name_parse(const char *name, bool tmp, uint64_t *zxid)
{
    size_t plen = sizeof(SNAP_PREFIX) - 1;
    if (strncmp(name, SNAP_PREFIX, plen) != 0)
        return false;
    const char *s = name + plen;
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] != '\0' && s[n] != '.'; n++) {
        char c = s[n];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0 || n >= 16)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0)
        return false;
    if (tmp ? strcmp(s + n, ".tmp") != 0 : s[n] != '\0')
        return false;
    *zxid = v;
    return true;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Lists the zxids of complete-named snapshot files, newest first. */
static int snaps_list(const stor *st, uint64_t **zxids_out, size_t *n_out)
{
    int rc = 0;
    size_t n = 0, cap = 0;
    uint64_t *z = NULL;
    DIR *d = opendir(st->snap_dir);
    if (d == NULL)
        return ZERR_IO;
    for (struct dirent *de; (de = readdir(d)) != NULL && n < MAX_SNAPS;) {
        uint64_t zxid;
        if (!name_parse(de->d_name, false, &zxid))
            continue;
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
    snprintf(buf, cap, "%s/%s%" PRIx64 "%s", st->snap_dir, SNAP_PREFIX, zxid, tmp ? ".tmp" : "");
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

/* Reads and checks one file. Returns 0, ZERR_NOMEM, or ZERR_CORRUPT with
 * the reason in why. */
static int snap_read(const char *path, uint64_t zxid, uint8_t **body_out, size_t *len_out,
                     char *why, size_t why_len)
{
    int rc = ZERR_CORRUPT;
    uint8_t hdr[HEADER_LEN], trl[TRAILER_LEN];
    uint8_t *body = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open: %s", strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || sb.st_size < HEADER_LEN + TRAILER_LEN) {
        snprintf(why, why_len, "too short to be a snapshot");
        goto out;
    }
    size_t body_len = (size_t)sb.st_size - HEADER_LEN - TRAILER_LEN;
    if (!read_full(fd, hdr, sizeof(hdr), 0) ||
        !read_full(fd, trl, sizeof(trl), (off_t)(HEADER_LEN + body_len))) {
        snprintf(why, why_len, "read failed");
        goto out;
    }
    if (memcmp(hdr, SNAP_MAGIC, 4) != 0 || wire_get_be32(hdr + 4) != SNAP_VERSION) {
        snprintf(why, why_len, "bad magic or format version");
        goto out;
    }
    if (wire_get_be64(hdr + 8) != zxid) {
        snprintf(why, why_len, "header zxid 0x%" PRIx64 " differs from its name",
                 wire_get_be64(hdr + 8));
        goto out;
    }
    if (wire_get_be64(trl) != body_len) {
        snprintf(why, why_len, "trailer says %" PRIu64 " body bytes, file holds %zu (truncated?)",
                 wire_get_be64(trl), body_len);
        goto out;
    }
    if ((body = malloc(body_len ? body_len : 1)) == NULL) {
        rc = ZERR_NOMEM;
        goto out;
    }
    if (!read_full(fd, body, body_len, HEADER_LEN)) {
        snprintf(why, why_len, "read failed");
        goto out;
    }
    if (stor_crc32(0, body, body_len) != wire_get_be32(trl + 8)) {
        snprintf(why, why_len, "checksum mismatch");
        goto out;
    }
    *body_out = body;
    *len_out = body_len;
    body = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(body);
    return rc;
}

int stor_snapshot_load(stor *st, uint64_t *zxid_out, uint8_t **bytes_out, size_t *len_out,
                       void (*warn)(void *arg, const char *msg), void *warn_arg)
{
    uint64_t *z = NULL;
    size_t n = 0;
    int rc = snaps_list(st, &z, &n);
    if (rc != 0)
        goto out;
    rc = n == 0 ? ZERR_NONODE : ZERR_CORRUPT;
    for (size_t i = 0; i < n; i++) {
        char path[4096], why[256], msg[4096 + 320];
        snap_path(st, z[i], false, path, sizeof(path));
        int r = snap_read(path, z[i], bytes_out, len_out, why, sizeof(why));
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

/* ---- Writing (in the child) ------------------------------------------------ */

typedef struct child_out {
    int fd;
    size_t used;
    uint64_t body_len;
    uint32_t crc;
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
    o->crc = stor_crc32(o->crc, p, n);
    o->body_len += n;
    return child_put(o, p, n);
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
static int child_run(const stor *st, uint64_t zxid,
                     int (*produce)(void *, int (*)(void *, const void *, size_t), void *),
                     void *produce_arg)
{
    char tmp[4096], fin[4096];
    uint8_t hdr[HEADER_LEN], trl[TRAILER_LEN];
    child_out *o = malloc(sizeof(*o));
    int rc = ZERR_NOMEM;
    /* Drop every descriptor inherited from the server (client sockets, the
     * listener, RocksDB's files): a connection the parent closes must close
     * now, not when this child exits. */
    close_range(3, ~0U, 0);
    snap_path(st, zxid, true, tmp, sizeof(tmp));
    snap_path(st, zxid, false, fin, sizeof(fin));
    if (o == NULL)
        goto out;
    memset(o, 0, offsetof(child_out, buf));
    rc = ZERR_IO;
    if ((o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        goto out;
    memcpy(hdr, SNAP_MAGIC, 4);
    stor_put_be32(hdr + 4, SNAP_VERSION);
    wire_put_be64(hdr + 8, zxid);
    if ((rc = child_put(o, hdr, sizeof(hdr))) != 0)
        goto out;
    if ((rc = produce(produce_arg, child_emit, o)) != 0)
        goto out;
    wire_put_be64(trl, o->body_len);
    stor_put_be32(trl + 8, o->crc);
    if ((rc = child_put(o, trl, sizeof(trl))) != 0 || (rc = child_flush(o)) != 0)
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

int stor_snapshot_begin(stor *st, uint64_t zxid,
                        int (*produce)(void *arg, int (*emit)(void *ea, const void *p, size_t n),
                                       void *ea),
                        void *produce_arg)
{
    if (st->snap_pid != 0)
        return ZERR_CLOSING;
    /* Flush stdio so buffered output is not written twice (once by the
     * child's copy); the child leaves with _exit and never flushes. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return ZERR_IO;
    if (pid == 0)
        _exit(child_run(st, zxid, produce, produce_arg));
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
        if (ss->snapshots == 0 || ms < ss->snap_ms_min)
            ss->snap_ms_min = ms;
        if (ms > ss->snap_ms_max)
            ss->snap_ms_max = ms;
        ss->snap_ms_sum += ms;
        ss->snapshots++;
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

/* ---- Purge and sizes ------------------------------------------------------- */

/* Removes .tmp files that no running child is writing: leftovers of a crash. */
static void tmp_sweep(stor *st)
{
    DIR *d = opendir(st->snap_dir);
    if (d == NULL)
        return;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        uint64_t zxid;
        if (!name_parse(de->d_name, true, &zxid))
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
    int rc = snaps_list(st, &z, &n);
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
