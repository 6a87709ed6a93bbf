/*
 * pc_common: what the power-cut shim (pc_shim.c, LD_PRELOADed into zabd) and
 * its control tool (pc_ctl.c) share: the state file mapped by every process
 * of the run, the journal writer and the directory listing. Test code only;
 * nothing here is linked into zabd.
 *
 * The state directory (POWERCUT_STATE) holds:
 *
 *   shm       one pc_shared struct, mapped MAP_SHARED by pc_ctl and by every
 *             process of the server (the forked snapshot child inherits the
 *             mapping). Its robust, process-shared mutex orders every journal
 *             record against the file operation it describes, and the cut
 *             (pc_ctl cut, or a trigger inside the shim) takes it and never
 *             gives it back, so no process can act on the files or journal
 *             anything once the power is "off".
 *   journal   text, one record per line, each appended with one write(2) on
 *             an O_APPEND descriptor while holding the mutex (so a SIGKILL
 *             never leaves half a record). Fields are separated by one space;
 *             paths and names are escaped (pc_escape). Records, by first field:
 *
 *     BR seq ino                      the root directory (pc_ctl init)
 *     BD seq dirino name:ino:t ...    a directory's entries at the start of
 *                                     the round (t: d directory, f regular
 *                                     file, o anything else)
 *     BF seq ino size                 a regular file's size at the start
 *     S  seq ino size                 fsync/fdatasync of a regular file
 *                                     returned; size is its st_size taken
 *                                     just before the call (so every byte
 *                                     below it was written before the sync)
 *     D  seq dirino name:ino:t ...    fsync/fdatasync of a directory
 *                                     returned; the listing was taken under
 *                                     the mutex just before the call
 *     T  seq ino len                  the file was cut to len bytes
 *                                     (ftruncate, truncate, O_TRUNC) below
 *                                     what was durable
 *     O  seq ino off len              a write (or hole punch) landed on bytes
 *                                     that were already durable: the rewind
 *                                     does not model it and refuses
 *     C  seq ino path                 a file was created (open O_CREAT)
 *     M  seq ino path                 mkdir
 *     R  seq ino src dst over         rename; over = the inode it replaced
 *                                     (0 if none), hard-linked to backup/
 *     U  seq ino path                 unlink of a file, hard-linked to
 *                                     backup/<ino> first
 *     RD seq 0 path                   rmdir
 *     L  seq ino path                 link
 *     X  seq 0 why                    the power cut: nothing after it
 *
 *     seq numbers come from one counter in shm, taken when the state was
 *     captured (for S and D: before the sync call), so sorting by seq gives
 *     the order in which the captured states existed.
 *   backup/<ino>  hard links keeping the inodes that unlink or rename took
 *             out of the tree, so the rewind can put them back.
 */
#ifndef ZABD_PC_COMMON_H
#define ZABD_PC_COMMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PC_MAGIC   0x7063757430303032ULL /* "pcut0002" */
#define PC_INO_CAP (1u << 15)            /* inodes one round may touch */
#define PC_MAX_OPS 32

/* Every intercepted libc call, counted when it touched a file under the root. */
#define PC_OPS(X)                                                                                  \
    X(open_creat)                                                                                  \
    X(open_trunc) X(write) X(pwrite) X(writev) X(pwritev) X(ftruncate) X(truncate) X(fallocate)    \
        X(posix_fallocate) X(fsync) X(fdatasync) X(fsync_dir) X(sync_file_range) X(syncfs) X(sync) \
            X(rename) X(renameat) X(renameat2) X(unlink) X(unlinkat) X(mkdir) X(mkdirat) X(rmdir)  \
                X(link) X(linkat) X(msync) X(overwrite)

enum pc_op {
#define PC_ENUM(n) PC_OP_##n,
    PC_OPS(PC_ENUM)
#undef PC_ENUM
        PC_OP_COUNT
};

/* One inode that the round may touch. key is ino + 1 (0 = free slot); it is
 * written last, so readers without the mutex see a complete entry. */
typedef struct pc_ino {
    uint64_t key;
    int64_t synced;    /* bytes known durable; -1 for a directory */
    uint64_t sync_seq; /* seq of the capture that set synced */
} pc_ino;

typedef struct pc_shared {
    uint64_t magic;
    pthread_mutex_t mu; /* robust, process-shared */
    uint64_t seq;
    uint32_t is_cut;
    uint32_t trigger_hits;
    uint64_t counts[PC_MAX_OPS];
    pc_ino inos[PC_INO_CAP];
} pc_shared;

extern const char *const pc_op_names[PC_OP_COUNT];

/* Maps state_dir/shm; create = 1 makes a fresh one (pc_ctl init). Returns
 * NULL with a message on stderr. */
pc_shared *pc_map(const char *state_dir, int create);

/* Locks sh->mu, recovering it if its owner died. */
void pc_lock(pc_shared *sh);
void pc_unlock(pc_shared *sh);

/* Inode table (callers hold the mutex for insert). */
pc_ino *pc_ino_find(pc_shared *sh, uint64_t ino);
pc_ino *pc_ino_insert(pc_shared *sh, uint64_t ino, int64_t synced, uint64_t seq);

/* A growable text buffer for one journal record. */
typedef struct pc_buf {
    char *p;
    size_t len, cap;
    int failed;
} pc_buf;
void pc_buf_printf(pc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pc_buf_escape(pc_buf *b, const char *s); /* appends s, escaped */
void pc_buf_free(pc_buf *b);

/* Appends the listing " name:ino:t" for each entry of the open directory
 * dirfd (which is not consumed). open_fn opens without interception. */
int pc_list_dir(int dirfd, pc_buf *b, int (*openat_fn)(int, const char *, int, ...));

/* Appends b (plus a newline) to state_dir/journal with one write(2). Uses the
 * given raw open/write so the shim does not intercept itself. Returns 0 or -1. */
int pc_journal(const char *journal_path, pc_buf *b, int (*open_fn)(const char *, int, ...),
               ssize_t (*write_fn)(int, const void *, size_t));

#endif
