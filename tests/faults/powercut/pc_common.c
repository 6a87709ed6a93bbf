/*
 * pc_common.c: the state file, the inode table, journal records and
 * directory listings shared by the power-cut shim and pc_ctl (formats in
 * pc_common.h). Called from inside intercepted libc functions, so it never
 * calls an intercepted function itself: file operations go through the raw
 * function pointers the caller passes.
 */
#include "pc_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const pc_op_names[PC_OP_COUNT] = {
#define PC_NAME(n) #n,
    PC_OPS(PC_NAME)
#undef PC_NAME
};

pc_shared *pc_map(const char *state_dir, int create)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/shm", state_dir);
    int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC : O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "powercut: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (create && ftruncate(fd, sizeof(pc_shared)) != 0) {
        fprintf(stderr, "powercut: cannot size %s: %s\n", path, strerror(errno));
        close(fd);
        return NULL;
    }
    pc_shared *sh = mmap(NULL, sizeof(pc_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (sh == MAP_FAILED) {
        fprintf(stderr, "powercut: cannot map %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (create) {
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&sh->mu, &a);
        pthread_mutexattr_destroy(&a);
        sh->magic = PC_MAGIC;
    } else if (sh->magic != PC_MAGIC) {
        fprintf(stderr, "powercut: %s is not a state file (run pc_ctl init)\n", path);
        munmap(sh, sizeof(pc_shared));
        return NULL;
    }
    return sh;
}

void pc_lock(pc_shared *sh)
{
    if (pthread_mutex_lock(&sh->mu) == EOWNERDEAD)
        pthread_mutex_consistent(&sh->mu);
}

void pc_unlock(pc_shared *sh)
{
    pthread_mutex_unlock(&sh->mu);
}

static size_t ino_slot(uint64_t ino)
{
    return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 49) & (PC_INO_CAP - 1);
}

pc_ino *pc_ino_find(pc_shared *sh, uint64_t ino)
{
    size_t i = ino_slot(ino);
    for (size_t n = 0; n < PC_INO_CAP; n++, i = (i + 1) & (PC_INO_CAP - 1)) {
        uint64_t k = __atomic_load_n(&sh->inos[i].key, __ATOMIC_ACQUIRE);
        if (k == 0)
            return NULL;
        if (k == ino + 1)
            return &sh->inos[i];
    }
    return NULL;
}

pc_ino *pc_ino_insert(pc_shared *sh, uint64_t ino, int64_t synced, uint64_t seq)
{
    size_t i = ino_slot(ino);
    for (size_t n = 0; n < PC_INO_CAP; n++, i = (i + 1) & (PC_INO_CAP - 1)) {
        pc_ino *e = &sh->inos[i];
        if (e->key == ino + 1)
            return e;
        if (e->key == 0) {
            e->synced = synced;
            e->sync_seq = seq;
            __atomic_store_n(&e->key, ino + 1, __ATOMIC_RELEASE);
            return e;
        }
    }
    return NULL; /* full: the caller aborts, the run would be meaningless */
}

static void buf_grow(pc_buf *b, size_t need)
{
    if (b->failed || b->len + need + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + need + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

void pc_buf_printf(pc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    buf_grow(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Escapes everything but [A-Za-z0-9._/+-] as %XX, so fields never contain
 * the separators (space, ':' and newline). */
void pc_buf_escape(pc_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    buf_grow(b, 3 * n);
    if (b->failed)
        return;
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '.' || *c == '_' || *c == '/' || *c == '+' || *c == '-') {
            b->p[b->len++] = (char)*c;
        } else {
            b->p[b->len++] = '%';
            b->p[b->len++] = hex[*c >> 4];
            b->p[b->len++] = hex[*c & 15];
        }
    }
    b->p[b->len] = '\0';
}

void pc_buf_free(pc_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int pc_list_dir(int dirfd, pc_buf *b, int (*openat_fn)(int, const char *, int, ...))
{
    int fd = openat_fn(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        /* st_ino from fstatat, not d_ino: it is what fstat on an open file
         * descriptor reports, which is how the shim knows files. */
        struct stat sb;
        if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile (a process outside the mutex) */
        char t = S_ISDIR(sb.st_mode) ? 'd' : S_ISREG(sb.st_mode) ? 'f' : 'o';
        pc_buf_printf(b, " ");
        pc_buf_escape(b, de->d_name);
        pc_buf_printf(b, ":%llu:%c", (unsigned long long)sb.st_ino, t);
    }
    closedir(d);
    return b->failed ? -1 : 0;
}

int pc_journal(const char *journal_path, pc_buf *b, int (*open_fn)(const char *, int, ...),
               ssize_t (*write_fn)(int, const void *, size_t))
{
    pc_buf_printf(b, "\n");
    if (b->failed)
        return -1;
    int fd = open_fn(journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = write_fn(fd, b->p, b->len);
    close(fd);
    return w == (ssize_t)b->len ? 0 : -1;
}
