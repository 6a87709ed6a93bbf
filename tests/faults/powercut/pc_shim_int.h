/*
 * pc_shim_int.h: what the two halves of the power-cut shim share
 * (pc_shim.c: loading, paths, the journal, syncs and names; pc_shim_io.c:
 * creating, truncating and writing). Test code only.
 */
#ifndef ZABD_PC_SHIM_INT_H
#define ZABD_PC_SHIM_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "pc_common.h"

#define SHIM_HIDDEN __attribute__((visibility("hidden")))

enum { MAX_IGNORES = 8 };

typedef struct rule {
    char kind[16];
    char pattern[256];
} rule;

/* Process-wide state, unavoidable in a preloaded library: the wrapped
 * functions have libc's signatures and no context argument. Written once by
 * the constructor in pc_shim.c, read-only afterwards. */
struct shim {
    int is_active;
    pc_shared *sh;
    char root[PATH_MAX];
    size_t root_len;
    dev_t dev;
    pid_t pgid;
    char journal[PATH_MAX];
    char backup[PATH_MAX];
    rule trigger;
    unsigned trigger_n;
    rule ignores[MAX_IGNORES];
    int n_ignores;
};
extern struct shim g SHIM_HIDDEN;

/* The next definition of a libc function (the real one), looked up once. */
#define REAL(name) static __typeof__(name) *real_##name
#define RESOLVE(name)                                                                              \
    do {                                                                                           \
        if (real_##name == NULL)                                                                   \
            real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);                             \
    } while (0)

SHIM_HIDDEN void shim_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Absolute, normalised form of (dirfd, path); 0 or -1. */
SHIM_HIDDEN int shim_abs_path(int dirfd, const char *path, char *out, size_t cap);
SHIM_HIDDEN int shim_under_root(const char *abs);
SHIM_HIDDEN void shim_count(enum pc_op op);
/* Appends one record to the journal (caller holds the mutex); dies on failure. */
SHIM_HIDDEN void shim_journal(pc_buf *b);
SHIM_HIDDEN void shim_record(const char *type, uint64_t seq, uint64_t ino, const char *path);
/* After each journalled operation, mutex held: fires the cut trigger. */
SHIM_HIDDEN void shim_after_op(const char *kind, const char *path);
SHIM_HIDDEN pc_ino *shim_track(uint64_t ino, int64_t synced);
/* The table entry of fd if it is a regular file the model knows, else NULL. */
SHIM_HIDDEN pc_ino *shim_tracked_file(int fd);

#endif
