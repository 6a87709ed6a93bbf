/*
 * pc_shim_io.c: the power-cut shim's wrappers that create, truncate and
 * write files (open with O_CREAT or O_TRUNC, creat, ftruncate, truncate,
 * write, pwrite, writev, pwritev, fallocate; msync is only counted). The
 * model and the journal are described in pc_shim.c and pc_common.h.
 *
 * Plain appends take no lock and write no record: what is durable is decided
 * at sync time by st_size. Only a write that lands on bytes already durable
 * is journalled (O), under the mutex, so the rewind can refuse it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pc_shim_int.h"

/* fallocate modes that change bytes already there: punch, collapse, zero, insert. */
#define FALLOC_DATA_MODES (0x02 | 0x08 | 0x10 | 0x20)

REAL(openat);
REAL(write);
REAL(pwrite);
REAL(writev);
REAL(pwritev);
REAL(pwritev2);
REAL(ftruncate);
REAL(truncate);
REAL(fallocate);
REAL(posix_fallocate);
REAL(msync);

/* ---- Creating and truncating -------------------------------------------------- */

static int open_common(int dirfd, const char *path, int flags, mode_t mode)
{
    RESOLVE(openat);
    int wants_trunc = (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY;
    char abs[PATH_MAX];
    if (!g.is_active || !((flags & O_CREAT) || wants_trunc) ||
        shim_abs_path(dirfd, path, abs, sizeof(abs)) != 0 || !shim_under_root(abs))
        return real_openat(dirfd, path, flags, mode);
    pc_lock(g.sh);
    struct stat before, sb;
    int existed = fstatat(dirfd, path, &before, 0) == 0;
    int fd = real_openat(dirfd, path, flags, mode);
    int saved = errno;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (!existed) {
            shim_count(PC_OP_open_creat);
            shim_track(sb.st_ino, 0);
            shim_record("C", ++g.sh->seq, sb.st_ino, abs);
            shim_after_op("create", abs);
        } else if (wants_trunc) {
            shim_count(PC_OP_open_trunc);
            pc_ino *e = pc_ino_find(g.sh, sb.st_ino);
            if (e != NULL && e->synced > 0) {
                uint64_t seq = ++g.sh->seq;
                pc_buf b = {0};
                pc_buf_printf(&b, "T %llu %llu 0", (unsigned long long)seq,
                              (unsigned long long)sb.st_ino);
                shim_journal(&b);
                pc_buf_free(&b);
                e->synced = 0;
                e->sync_seq = seq;
            }
        }
    }
    pc_unlock(g.sh);
    errno = saved;
    return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, m);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = va_mode(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, m);
}

/* _FORTIFY_SOURCE builds call these instead of open/openat. */
int __open_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, path, flags, 0);
}
int __open64_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, path, flags, 0);
}
int __openat_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, path, flags, 0);
}
int __openat64_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, path, flags, 0);
}

int creat(const char *path, mode_t mode)
{
    return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode)
{
    return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* A shrink below the durable size: journal T (caller holds the mutex). */
static void shrunk(pc_ino *e, uint64_t ino, int64_t len)
{
    if (e == NULL || e->synced <= len)
        return;
    uint64_t seq = ++g.sh->seq;
    pc_buf b = {0};
    pc_buf_printf(&b, "T %llu %llu %lld", (unsigned long long)seq, (unsigned long long)ino,
                  (long long)len);
    shim_journal(&b);
    pc_buf_free(&b);
    e->synced = len;
    e->sync_seq = seq;
}

static int ftruncate_common(int fd, off_t len)
{
    RESOLVE(ftruncate);
    pc_ino *e = shim_tracked_file(fd);
    if (e == NULL)
        return real_ftruncate(fd, len);
    shim_count(PC_OP_ftruncate);
    struct stat sb;
    fstat(fd, &sb);
    pc_lock(g.sh);
    int rc = real_ftruncate(fd, len);
    int saved = errno;
    if (rc == 0)
        shrunk(e, sb.st_ino, (int64_t)len);
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int ftruncate(int fd, off_t len)
{
    return ftruncate_common(fd, len);
}
int ftruncate64(int fd, off_t len)
{
    return ftruncate_common(fd, len);
}

static int truncate_common(const char *path, off_t len)
{
    RESOLVE(truncate);
    char abs[PATH_MAX];
    struct stat sb;
    if (!g.is_active || shim_abs_path(AT_FDCWD, path, abs, sizeof(abs)) != 0 ||
        !shim_under_root(abs))
        return real_truncate(path, len);
    shim_count(PC_OP_truncate);
    pc_lock(g.sh);
    pc_ino *e = stat(path, &sb) == 0 ? pc_ino_find(g.sh, sb.st_ino) : NULL;
    int rc = real_truncate(path, len);
    int saved = errno;
    if (rc == 0)
        shrunk(e, sb.st_ino, (int64_t)len);
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int truncate(const char *path, off_t len)
{
    return truncate_common(path, len);
}
int truncate64(const char *path, off_t len)
{
    return truncate_common(path, len);
}

/* ---- Writing ------------------------------------------------------------------ */

/* Where a write to fd lands: off, or the file position (-1 for O_APPEND,
 * which never overwrites). */
static off_t write_pos(int fd, off_t off)
{
    if (off >= 0)
        return off;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_APPEND))
        return -1;
    return lseek(fd, 0, SEEK_CUR);
}

/* Returns 1 with the mutex held if the write would land on durable bytes (an
 * O record is journalled); the caller writes and then unlocks. */
static int overwrite_begin(pc_ino *e, int fd, off_t off, size_t len, enum pc_op op)
{
    shim_count(op);
    if (__atomic_load_n(&e->synced, __ATOMIC_RELAXED) <= 0 || len == 0)
        return 0;
    pc_lock(g.sh);
    off_t pos = write_pos(fd, off);
    if (pos < 0 || pos >= e->synced) {
        pc_unlock(g.sh);
        return 0;
    }
    struct stat sb;
    fstat(fd, &sb);
    shim_count(PC_OP_overwrite);
    pc_buf b = {0};
    pc_buf_printf(&b, "O %llu %llu %lld %zu", (unsigned long long)++g.sh->seq,
                  (unsigned long long)sb.st_ino, (long long)pos, len);
    shim_journal(&b);
    pc_buf_free(&b);
    return 1;
}

static size_t iov_len(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

ssize_t write(int fd, const void *p, size_t n)
{
    RESOLVE(write);
    pc_ino *e = shim_tracked_file(fd);
    if (e == NULL || !overwrite_begin(e, fd, -1, n, PC_OP_write))
        return real_write(fd, p, n);
    ssize_t r = real_write(fd, p, n);
    int saved = errno;
    pc_unlock(g.sh);
    errno = saved;
    return r;
}

static ssize_t pwrite_common(int fd, const void *p, size_t n, off_t off)
{
    RESOLVE(pwrite);
    pc_ino *e = shim_tracked_file(fd);
    if (e == NULL || !overwrite_begin(e, fd, off, n, PC_OP_pwrite))
        return real_pwrite(fd, p, n, off);
    ssize_t r = real_pwrite(fd, p, n, off);
    int saved = errno;
    pc_unlock(g.sh);
    errno = saved;
    return r;
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
    return pwrite_common(fd, p, n, off);
}
ssize_t pwrite64(int fd, const void *p, size_t n, off_t off)
{
    return pwrite_common(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    RESOLVE(writev);
    pc_ino *e = shim_tracked_file(fd);
    if (e == NULL || !overwrite_begin(e, fd, -1, iov_len(iov, cnt), PC_OP_writev))
        return real_writev(fd, iov, cnt);
    ssize_t r = real_writev(fd, iov, cnt);
    int saved = errno;
    pc_unlock(g.sh);
    errno = saved;
    return r;
}

static ssize_t pwritev_common(int fd, const struct iovec *iov, int cnt, off_t off, int flags,
                              int is_v2)
{
    RESOLVE(pwritev);
    RESOLVE(pwritev2);
    pc_ino *e = shim_tracked_file(fd);
    int locked = e != NULL && overwrite_begin(e, fd, off, iov_len(iov, cnt), PC_OP_pwritev);
    ssize_t r = is_v2 ? real_pwritev2(fd, iov, cnt, off, flags) : real_pwritev(fd, iov, cnt, off);
    int saved = errno;
    if (locked)
        pc_unlock(g.sh);
    errno = saved;
    return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev_common(fd, iov, cnt, off, 0, 0);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return pwritev_common(fd, iov, cnt, off, 0, 0);
}
ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return pwritev_common(fd, iov, cnt, off, flags, 1);
}
ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return pwritev_common(fd, iov, cnt, off, flags, 1);
}

static int fallocate_common(int fd, int mode, off_t off, off_t len)
{
    RESOLVE(fallocate);
    pc_ino *e = shim_tracked_file(fd);
    if (e == NULL)
        return real_fallocate(fd, mode, off, len);
    /* Plain or KEEP_SIZE allocation only adds zeros past the data; the
     * modes that change existing bytes count as writes onto them. */
    int locked = (mode & FALLOC_DATA_MODES) != 0 &&
                 overwrite_begin(e, fd, off, (size_t)len, PC_OP_fallocate);
    if ((mode & FALLOC_DATA_MODES) == 0)
        shim_count(PC_OP_fallocate);
    int rc = real_fallocate(fd, mode, off, len);
    int saved = errno;
    if (locked)
        pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    return fallocate_common(fd, mode, off, len);
}
int fallocate64(int fd, int mode, off_t off, off_t len)
{
    return fallocate_common(fd, mode, off, len);
}

static int posix_fallocate_common(int fd, off_t off, off_t len)
{
    RESOLVE(posix_fallocate);
    if (shim_tracked_file(fd) != NULL)
        shim_count(PC_OP_posix_fallocate);
    return real_posix_fallocate(fd, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    return posix_fallocate_common(fd, off, len);
}
int posix_fallocate64(int fd, off_t off, off_t len)
{
    return posix_fallocate_common(fd, off, len);
}

int msync(void *addr, size_t len, int flags)
{
    RESOLVE(msync);
    if (g.is_active)
        shim_count(PC_OP_msync);
    return real_msync(addr, len, flags);
}
