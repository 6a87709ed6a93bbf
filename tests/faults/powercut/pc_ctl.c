/*
 * pc_ctl: the control side of the power-cut shim (pc_shim.c; formats in
 * pc_common.h).
 *
 *   pc_ctl init STATE ROOT   makes STATE (shm, journal, backup/) for a round:
 *                            every file and directory now under ROOT counts
 *                            as durable as it is (BR, BD and BF records)
 *   pc_ctl cut STATE PGID    the power cut: takes the shim's mutex (and keeps
 *                            it), journals X and SIGKILLs process group PGID
 *   pc_ctl stats STATE       prints how often each intercepted call touched a
 *                            file under the root, one "name count" per line
 *
 * Exit status 0 on success, 1 on a usage or I/O error, 3 if the cut found
 * the mutex held for more than 10 s (it kills the group all the same).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pc_common.h"

static char journal_path[4096];

static int jrnl(pc_buf *b)
{
    int rc = pc_journal(journal_path, b, open, write);
    pc_buf_free(b);
    if (rc != 0)
        fprintf(stderr, "pc_ctl: cannot append to %s: %s\n", journal_path, strerror(errno));
    return rc;
}

/* Records dir (open as dirfd) and everything below it as the baseline. */
static int baseline(pc_shared *sh, int dirfd, int depth)
{
    struct stat sb;
    pc_buf b = {0};
    if (depth > 32 || fstat(dirfd, &sb) != 0)
        return -1;
    pc_buf_printf(&b, "BD %llu %llu", (unsigned long long)++sh->seq, (unsigned long long)sb.st_ino);
    if (pc_list_dir(dirfd, &b, openat) != 0 || jrnl(&b) != 0)
        return -1;
    pc_ino_insert(sh, sb.st_ino, -1, 0);
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL)
        return -1;
    int rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            int c = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            rc = c >= 0 ? baseline(sh, c, depth + 1) : -1;
            if (c >= 0)
                close(c);
        } else if (S_ISREG(sb.st_mode)) {
            pc_buf_printf(&b, "BF %llu %llu %lld", (unsigned long long)++sh->seq,
                          (unsigned long long)sb.st_ino, (long long)sb.st_size);
            rc = jrnl(&b);
            if (pc_ino_insert(sh, sb.st_ino, sb.st_size, 0) == NULL)
                rc = -1;
        }
    }
    closedir(d);
    return rc;
}

static int cmd_init(const char *state, const char *root)
{
    char path[4096];
    if (mkdir(state, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "pc_ctl: mkdir %s: %s\n", state, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/backup", state);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "pc_ctl: mkdir %s: %s\n", path, strerror(errno));
        return 1;
    }
    unlink(journal_path);
    pc_shared *sh = pc_map(state, 1);
    if (sh == NULL)
        return 1;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        fprintf(stderr, "pc_ctl: %s: %s\n", root, strerror(errno));
        return 1;
    }
    pc_buf b = {0};
    pc_buf_printf(&b, "BR %llu %llu", (unsigned long long)++sh->seq, (unsigned long long)sb.st_ino);
    if (jrnl(&b) != 0 || baseline(sh, fd, 0) != 0) {
        fprintf(stderr, "pc_ctl: cannot record the baseline of %s\n", root);
        return 1;
    }
    close(fd);
    return 0;
}

static int cmd_cut(const char *state, pid_t pgid)
{
    if (pgid <= 1 || pgid == getpgid(0)) {
        fprintf(stderr, "pc_ctl: refusing to kill process group %d\n", (int)pgid);
        return 1;
    }
    pc_shared *sh = pc_map(state, 0);
    if (sh == NULL)
        return 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int r = pthread_mutex_timedlock(&sh->mu, &until);
    if (r == EOWNERDEAD)
        pthread_mutex_consistent(&sh->mu);
    int rc = 0;
    if (r == ETIMEDOUT) {
        fprintf(stderr, "pc_ctl: the shim's mutex stayed held for 10 s; killing anyway\n");
        rc = 3;
    } else {
        pc_buf b = {0};
        pc_buf_printf(&b, "X %llu 0 pc_ctl-cut", (unsigned long long)++sh->seq);
        jrnl(&b);
        sh->is_cut = 1;
    }
    if (kill(-pgid, SIGKILL) != 0 && errno != ESRCH) {
        fprintf(stderr, "pc_ctl: kill -%d: %s\n", (int)pgid, strerror(errno));
        rc = 1;
    }
    /* The mutex is never released: every process still running blocks on
     * its next journalled call until the SIGKILL lands. */
    printf("cut at seq %llu\n", (unsigned long long)sh->seq);
    return rc;
}

static int cmd_stats(const char *state)
{
    pc_shared *sh = pc_map(state, 0);
    if (sh == NULL)
        return 1;
    for (int i = 0; i < PC_OP_COUNT; i++)
        if (sh->counts[i] != 0)
            printf("%s %llu\n", pc_op_names[i], (unsigned long long)sh->counts[i]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pc_ctl init STATE ROOT | cut STATE PGID | stats STATE\n");
        return 1;
    }
    snprintf(journal_path, sizeof(journal_path), "%s/journal", argv[2]);
    if (strcmp(argv[1], "init") == 0 && argc == 4)
        return cmd_init(argv[2], argv[3]);
    if (strcmp(argv[1], "cut") == 0 && argc == 4)
        return cmd_cut(argv[2], (pid_t)atoi(argv[3]));
    if (strcmp(argv[1], "stats") == 0)
        return cmd_stats(argv[2]);
    fprintf(stderr, "pc_ctl: unknown command %s\n", argv[1]);
    return 1;
}
