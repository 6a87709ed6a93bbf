/*
 * pc_shim.c: an LD_PRELOAD library for the power-cut test. It wraps the libc
 * calls by which zabd and RocksDB change files, and journals, for files under
 * POWERCUT_ROOT, what has become durable, so that after a SIGKILL the rewind
 * tool (rewind.py) can turn the directory into what a power cut at that
 * moment would have left. Test code only: zabd never links it.
 *
 * Environment (all read once, at load; without the first two it does nothing):
 *   POWERCUT_ROOT    the directory whose files are modelled (canonical path)
 *   POWERCUT_STATE   the state directory made by `pc_ctl init` (pc_common.h)
 *   POWERCUT_CUT_AFTER=kind:pattern:n
 *                    cut the power right after the n-th call of that kind on
 *                    a path matching the fnmatch pattern: the shim journals X
 *                    while holding the mutex and SIGKILLs its process group
 *                    (zabd must be started as a group leader, e.g. setsid).
 *                    kinds: fsync (a regular file's fsync/fdatasync), dirsync,
 *                    rename (matched on the new name), unlink, create, mkdir.
 *   POWERCUT_IGNORE=kind:pattern[,kind:pattern...]
 *                    self-test: fsync or dirsync calls on matching paths reach
 *                    the kernel but are not journalled, which to the model is
 *                    the program never having called them.
 *
 * What is durable (the model; docs/durability.md):
 *   - a regular file's bytes below its size at its last fsync/fdatasync
 *     (sync_file_range promises nothing about metadata and counts for
 *     nothing; syncfs/sync make everything under the root durable);
 *   - a directory's entries as they were at its last fsync: creations,
 *     renames and unlinks in a directory count only from then on.
 *   Files are known by inode number; unlink and rename-over hard-link the
 *   inode they take out of the tree into STATE/backup first, so inode
 *   numbers stay unique for the round and old contents can be put back.
 *
 * Ordering. Every state capture and every journal record happens while
 * holding the process-shared mutex in STATE/shm; a sync call itself runs
 * outside it, and its record is written only after it returned. The cut takes
 * the mutex and never releases it, so a sync that finishes after the cut is
 * never journalled, and neither is anything its caller would do next (an
 * acknowledgement follows the journal record, never precedes it).
 *
 * Not modelled: writes through mmap (msync is only counted), O_DIRECT,
 * O_TMPFILE, files reached through symlinks or bind mounts, relative paths
 * containing symlinked components. Plain appends are not locked or
 * journalled: what is durable is decided at sync time by st_size. A write
 * onto bytes that are already durable is journalled as O, and the rewind
 * refuses a journal holding one.
 *
 * Split in two: this file (loading, paths, the journal, syncs and names) and
 * pc_shim_io.c (creating, truncating and writing), with pc_shim_int.h between.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pc_shim_int.h"

/* Written once by shim_load, read-only afterwards (pc_shim_int.h). */
struct shim g = {0};

REAL(open);
REAL(openat);
REAL(write);
REAL(link);
REAL(fsync);
REAL(fdatasync);
REAL(sync_file_range);
REAL(syncfs);
REAL(sync);
REAL(renameat2);
REAL(unlinkat);
REAL(mkdirat);
REAL(linkat);

void shim_die(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > (int)sizeof(msg) - 2)
        n = (int)sizeof(msg) - 2;
    msg[n++] = '\n';
    RESOLVE(write);
    real_write(2, msg, (size_t)n);
    abort();
}

/* ---- Paths ------------------------------------------------------------------ */

/* Collapses "//", "/./" and "dir/.." in an absolute path, in place. */
static void normalize(char *p)
{
    char *out = p;
    const char *s = p;
    while (*s != '\0') {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e != '\0' && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 0)
            break;
        if (n == 1 && s[0] == '.') {
            /* skip */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, s, n);
            out += n;
        }
        s = e;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

static int fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0)
        return -1;
    out[n] = '\0';
    return 0;
}

/* Absolute, normalised form of (dirfd, path). */
int shim_abs_path(int dirfd, const char *path, char *out, size_t cap)
{
    if (path == NULL)
        return -1;
    if (path[0] == '/') {
        if (strlen(path) >= cap)
            return -1;
        strcpy(out, path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD ? getcwd(base, sizeof(base)) == NULL
                              : fd_path(dirfd, base, sizeof(base)) != 0)
            return -1;
        if ((size_t)snprintf(out, cap, "%s/%s", base, path) >= cap)
            return -1;
    }
    normalize(out);
    return 0;
}

int shim_under_root(const char *abs)
{
    return strncmp(abs, g.root, g.root_len) == 0 &&
           (abs[g.root_len] == '/' || abs[g.root_len] == '\0');
}

/* ---- Journal ---------------------------------------------------------------- */

void shim_count(enum pc_op op)
{
    __atomic_add_fetch(&g.sh->counts[op], 1, __ATOMIC_RELAXED);
}

void shim_journal(pc_buf *b)
{
    RESOLVE(open);
    RESOLVE(write);
    if (pc_journal(g.journal, b, real_open, real_write) != 0)
        shim_die("powercut: cannot append to %s: %s", g.journal, strerror(errno));
}

/* One record "<type> <seq> <ino> [escaped path...]", under the mutex. */
void shim_record(const char *type, uint64_t seq, uint64_t ino, const char *path)
{
    pc_buf b = {0};
    pc_buf_printf(&b, "%s %llu %llu", type, (unsigned long long)seq, (unsigned long long)ino);
    if (path != NULL) {
        pc_buf_printf(&b, " ");
        pc_buf_escape(&b, path);
    }
    shim_journal(&b);
    pc_buf_free(&b);
}

static int rule_match(const rule *r, const char *kind, const char *path)
{
    return strcmp(r->kind, kind) == 0 && fnmatch(r->pattern, path, 0) == 0;
}

static int is_ignored(const char *kind, const char *path)
{
    for (int i = 0; i < g.n_ignores; i++)
        if (rule_match(&g.ignores[i], kind, path))
            return 1;
    return 0;
}

/* Called with the mutex held after each journalled operation: the trigger.
 * The cut keeps the mutex forever and kills the whole process group. */
void shim_after_op(const char *kind, const char *path)
{
    if (g.trigger_n == 0 || !rule_match(&g.trigger, kind, path))
        return;
    if (++g.sh->trigger_hits != g.trigger_n)
        return;
    char why[PATH_MAX + 64];
    snprintf(why, sizeof(why), "after-%s:%u:%s", kind, g.trigger_n, path);
    shim_record("X", ++g.sh->seq, 0, why);
    g.sh->is_cut = 1;
    kill(-g.pgid, SIGKILL);
    for (;;)
        pause();
}

/* Hard-links an inode that is about to leave the tree into backup/. */
static void backup(const char *abs, uint64_t ino)
{
    char bp[PATH_MAX + 32];
    snprintf(bp, sizeof(bp), "%s/%llu", g.backup, (unsigned long long)ino);
    RESOLVE(link);
    if (real_link(abs, bp) != 0 && errno != EEXIST)
        shim_die("powercut: cannot back up %s as %s: %s", abs, bp, strerror(errno));
}

pc_ino *shim_track(uint64_t ino, int64_t synced)
{
    pc_ino *e = pc_ino_insert(g.sh, ino, synced, 0);
    if (e == NULL)
        shim_die("powercut: inode table full");
    return e;
}

/* The table entry of fd if it is a regular file the model knows. */
pc_ino *shim_tracked_file(int fd)
{
    struct stat sb;
    if (!g.is_active || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_dev != g.dev)
        return NULL;
    return pc_ino_find(g.sh, sb.st_ino);
}

/* ---- Load ------------------------------------------------------------------- */

static int parse_rule(const char *s, rule *r, unsigned *n_out)
{
    const char *c1 = strchr(s, ':');
    if (c1 == NULL || (size_t)(c1 - s) >= sizeof(r->kind))
        return -1;
    memcpy(r->kind, s, (size_t)(c1 - s));
    r->kind[c1 - s] = '\0';
    const char *pat = c1 + 1;
    const char *end = pat + strcspn(pat, ",");
    if (n_out != NULL) {
        const char *c2 = strrchr(pat, ':');
        if (c2 == NULL || (*n_out = (unsigned)strtoul(c2 + 1, NULL, 10)) == 0)
            return -1;
        end = c2;
    }
    if ((size_t)(end - pat) >= sizeof(r->pattern))
        return -1;
    memcpy(r->pattern, pat, (size_t)(end - pat));
    r->pattern[end - pat] = '\0';
    return 0;
}

__attribute__((constructor)) static void shim_load(void)
{
    const char *root = getenv("POWERCUT_ROOT");
    const char *state = getenv("POWERCUT_STATE");
    if (root == NULL || state == NULL)
        return;
    if (realpath(root, g.root) == NULL)
        shim_die("powercut: POWERCUT_ROOT %s: %s", root, strerror(errno));
    g.root_len = strlen(g.root);
    struct stat sb;
    if (stat(g.root, &sb) != 0)
        shim_die("powercut: %s: %s", g.root, strerror(errno));
    g.dev = sb.st_dev;
    if ((g.sh = pc_map(state, 0)) == NULL)
        shim_die("powercut: no state in %s", state);
    snprintf(g.journal, sizeof(g.journal), "%s/journal", state);
    snprintf(g.backup, sizeof(g.backup), "%s/backup", state);
    g.pgid = getpgid(0);
    const char *t = getenv("POWERCUT_CUT_AFTER");
    if (t != NULL && *t != '\0') {
        if (parse_rule(t, &g.trigger, &g.trigger_n) != 0)
            shim_die("powercut: POWERCUT_CUT_AFTER=%s is not kind:pattern:n", t);
        if (g.pgid != getpid())
            shim_die("powercut: a cut trigger needs the server to lead its process group");
    }
    const char *ig = getenv("POWERCUT_IGNORE");
    for (const char *s = ig; s != NULL && *s != '\0' && g.n_ignores < MAX_IGNORES;) {
        if (parse_rule(s, &g.ignores[g.n_ignores++], NULL) != 0)
            shim_die("powercut: POWERCUT_IGNORE=%s is not kind:pattern,...", ig);
        s = strchr(s, ',');
        s = s != NULL ? s + 1 : NULL;
    }
    g.is_active = 1;
}

/* ---- Syncing -------------------------------------------------------------------- */

/* Captures (under the mutex) what a sync of fd will make durable: an S record
 * for a file, a D record with the listing for a directory. */
static uint64_t capture(int fd, const struct stat *sb, pc_buf *b, int64_t *size_out)
{
    RESOLVE(openat);
    uint64_t seq = ++g.sh->seq;
    if (S_ISDIR(sb->st_mode)) {
        pc_buf_printf(b, "D %llu %llu", (unsigned long long)seq, (unsigned long long)sb->st_ino);
        if (pc_list_dir(fd, b, real_openat) != 0)
            shim_die("powercut: cannot list a directory being synced: %s", strerror(errno));
        *size_out = -1;
    } else {
        struct stat now;
        fstat(fd, &now);
        pc_buf_printf(b, "S %llu %llu %lld", (unsigned long long)seq,
                      (unsigned long long)sb->st_ino, (long long)now.st_size);
        *size_out = now.st_size;
    }
    return seq;
}

static int sync_common(int fd, int (*fn)(int), enum pc_op op)
{
    struct stat sb;
    char path[PATH_MAX];
    if (!g.is_active || fstat(fd, &sb) != 0 || sb.st_dev != g.dev ||
        !(S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) || fd_path(fd, path, sizeof(path)) != 0 ||
        !shim_under_root(path))
        return fn(fd);
    int is_dir = S_ISDIR(sb.st_mode);
    const char *kind = is_dir ? "dirsync" : "fsync";
    shim_count(is_dir ? PC_OP_fsync_dir : op);
    pc_buf b = {0};
    int64_t size;
    pc_lock(g.sh);
    pc_ino *e = shim_track(sb.st_ino, is_dir ? -1 : 0);
    uint64_t seq = capture(fd, &sb, &b, &size);
    pc_unlock(g.sh);

    int rc = fn(fd);
    int saved = errno;
    if (rc == 0) {
        pc_lock(g.sh);
        if (!is_ignored(kind, path)) {
            shim_journal(&b);
            if (!is_dir && seq > e->sync_seq) {
                e->synced = size;
                e->sync_seq = seq;
            }
        }
        shim_after_op(kind, path);
        pc_unlock(g.sh);
    }
    pc_buf_free(&b);
    errno = saved;
    return rc;
}

int fsync(int fd)
{
    RESOLVE(fsync);
    return sync_common(fd, real_fsync, PC_OP_fsync);
}

int fdatasync(int fd)
{
    RESOLVE(fdatasync);
    return sync_common(fd, real_fdatasync, PC_OP_fdatasync);
}

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
    RESOLVE(sync_file_range);
    if (shim_tracked_file(fd) != NULL)
        shim_count(PC_OP_sync_file_range);
    return real_sync_file_range(fd, off, n, flags);
}

/* syncfs and sync: every file and directory under the root becomes durable.
 * Captures the whole tree (depth-first, bounded), then syncs, then journals. */
static void capture_tree(int dirfd, int depth, pc_buf *b)
{
    RESOLVE(openat);
    struct stat sb;
    int64_t size;
    if (depth > 32 || fstat(dirfd, &sb) != 0)
        return;
    capture(dirfd, &sb, b, &size);
    pc_buf_printf(b, "\n");
    shim_track(sb.st_ino, -1);
    int fd = real_openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int c = real_openat(fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (c < 0)
            continue;
        if (fstat(c, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            capture_tree(c, depth + 1, b);
        } else if (S_ISREG(sb.st_mode)) {
            capture(c, &sb, b, &size);
            pc_buf_printf(b, "\n");
            shim_track(sb.st_ino, 0);
        }
        close(c);
    }
    closedir(d);
}

static void sync_all(enum pc_op op, int (*fn)(int), int fd, void (*fn_void)(void), int *rc)
{
    RESOLVE(open);
    pc_buf b = {0};
    int root = -1;
    if (g.is_active) {
        shim_count(op);
        pc_lock(g.sh);
        root = real_open(g.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root >= 0)
            capture_tree(root, 0, &b);
        pc_unlock(g.sh);
    }
    if (fn != NULL)
        *rc = fn(fd);
    else
        fn_void();
    int saved = errno;
    if (g.is_active && *rc == 0 && b.len > 0) {
        b.len--; /* pc_journal adds the last newline */
        pc_lock(g.sh);
        shim_journal(&b);
        pc_unlock(g.sh);
    }
    if (root >= 0)
        close(root);
    pc_buf_free(&b);
    errno = saved;
}

int syncfs(int fd)
{
    RESOLVE(syncfs);
    int rc = 0;
    sync_all(PC_OP_syncfs, real_syncfs, fd, NULL, &rc);
    return rc;
}

void sync(void)
{
    RESOLVE(sync);
    int rc = 0;
    sync_all(PC_OP_sync, NULL, -1, real_sync, &rc);
}

/* ---- Names: rename, unlink, mkdir, rmdir, link ------------------------------------- */

static int rename_common(int odir, const char *from, int ndir, const char *to, unsigned flags,
                         enum pc_op op)
{
    RESOLVE(renameat2);
    char a[PATH_MAX], b[PATH_MAX];
    if (!g.is_active || shim_abs_path(odir, from, a, sizeof(a)) != 0 ||
        shim_abs_path(ndir, to, b, sizeof(b)) != 0 || !(shim_under_root(a) || shim_under_root(b)))
        return real_renameat2(odir, from, ndir, to, flags);
    shim_count(op);
    pc_lock(g.sh);
    struct stat src, dst;
    uint64_t over = 0;
    if (fstatat(ndir, to, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(dst.st_mode)) {
        over = dst.st_ino;
        backup(b, over);
    }
    int have_src = fstatat(odir, from, &src, AT_SYMLINK_NOFOLLOW) == 0;
    int rc = real_renameat2(odir, from, ndir, to, flags);
    int saved = errno;
    if (rc == 0 && have_src) {
        pc_buf r = {0};
        pc_buf_printf(&r, "R %llu %llu ", (unsigned long long)++g.sh->seq,
                      (unsigned long long)src.st_ino);
        pc_buf_escape(&r, a);
        pc_buf_printf(&r, " ");
        pc_buf_escape(&r, b);
        pc_buf_printf(&r, " %llu", (unsigned long long)over);
        shim_journal(&r);
        pc_buf_free(&r);
        shim_after_op("rename", b);
    }
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int rename(const char *from, const char *to)
{
    return rename_common(AT_FDCWD, from, AT_FDCWD, to, 0, PC_OP_rename);
}
int renameat(int odir, const char *from, int ndir, const char *to)
{
    return rename_common(odir, from, ndir, to, 0, PC_OP_renameat);
}
int renameat2(int odir, const char *from, int ndir, const char *to, unsigned int flags)
{
    return rename_common(odir, from, ndir, to, flags, PC_OP_renameat2);
}

static int unlink_common(int dirfd, const char *path, int flags, enum pc_op op)
{
    RESOLVE(unlinkat);
    char abs[PATH_MAX];
    if (!g.is_active || shim_abs_path(dirfd, path, abs, sizeof(abs)) != 0 || !shim_under_root(abs))
        return real_unlinkat(dirfd, path, flags);
    shim_count((flags & AT_REMOVEDIR) ? PC_OP_rmdir : op);
    pc_lock(g.sh);
    struct stat sb;
    int have = fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0;
    if (have && S_ISREG(sb.st_mode))
        backup(abs, sb.st_ino);
    int rc = real_unlinkat(dirfd, path, flags);
    int saved = errno;
    if (rc == 0 && have) {
        shim_record((flags & AT_REMOVEDIR) ? "RD" : "U", ++g.sh->seq, sb.st_ino, abs);
        shim_after_op((flags & AT_REMOVEDIR) ? "rmdir" : "unlink", abs);
    }
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int unlink(const char *path)
{
    return unlink_common(AT_FDCWD, path, 0, PC_OP_unlink);
}
int unlinkat(int dirfd, const char *path, int flags)
{
    return unlink_common(dirfd, path, flags, PC_OP_unlinkat);
}
int rmdir(const char *path)
{
    return unlink_common(AT_FDCWD, path, AT_REMOVEDIR, PC_OP_rmdir);
}

static int mkdir_common(int dirfd, const char *path, mode_t mode, enum pc_op op)
{
    RESOLVE(mkdirat);
    char abs[PATH_MAX];
    if (!g.is_active || shim_abs_path(dirfd, path, abs, sizeof(abs)) != 0 || !shim_under_root(abs))
        return real_mkdirat(dirfd, path, mode);
    pc_lock(g.sh);
    int rc = real_mkdirat(dirfd, path, mode);
    int saved = errno;
    struct stat sb;
    if (rc == 0 && fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        shim_count(op);
        shim_track(sb.st_ino, -1);
        shim_record("M", ++g.sh->seq, sb.st_ino, abs);
        shim_after_op("mkdir", abs);
    }
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int mkdir(const char *path, mode_t mode)
{
    return mkdir_common(AT_FDCWD, path, mode, PC_OP_mkdir);
}
int mkdirat(int dirfd, const char *path, mode_t mode)
{
    return mkdir_common(dirfd, path, mode, PC_OP_mkdirat);
}

static int link_common(int odir, const char *from, int ndir, const char *to, int flags,
                       enum pc_op op)
{
    RESOLVE(linkat);
    char abs[PATH_MAX];
    if (!g.is_active || shim_abs_path(ndir, to, abs, sizeof(abs)) != 0 || !shim_under_root(abs))
        return real_linkat(odir, from, ndir, to, flags);
    shim_count(op);
    pc_lock(g.sh);
    int rc = real_linkat(odir, from, ndir, to, flags);
    int saved = errno;
    struct stat sb;
    if (rc == 0 && fstatat(ndir, to, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        shim_track(sb.st_ino, 0);
        shim_record("L", ++g.sh->seq, sb.st_ino, abs);
    }
    pc_unlock(g.sh);
    errno = saved;
    return rc;
}

int link(const char *from, const char *to)
{
    return link_common(AT_FDCWD, from, AT_FDCWD, to, 0, PC_OP_link);
}
int linkat(int odir, const char *from, int ndir, const char *to, int flags)
{
    return link_common(odir, from, ndir, to, flags, PC_OP_linkat);
}
