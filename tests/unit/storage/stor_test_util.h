// Helpers shared by the storage tests: a scratch directory under /tmp that
// is removed afterwards, and a bounded wait.
#ifndef STOR_TEST_UTIL_H
#define STOR_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <string>

#include "storage/stor.h"
#include "wire/wire.h"

static int stor_test_rm_one(const char *p, const struct stat *, int, struct FTW *)
{
    return remove(p);
}

struct ScratchDir {
    std::string path;
    ScratchDir()
    {
        char tmpl[] = "/tmp/stor-test-XXXXXX";
        const char *p = mkdtemp(tmpl);
        if (p == NULL) {
            perror("mkdtemp");
            abort();
        }
        path = p;
    }
    ~ScratchDir() { nftw(path.c_str(), stor_test_rm_one, 16, FTW_DEPTH | FTW_PHYS); }
    std::string sub(const char *s) const { return path + "/" + s; }
};

static inline int64_t stor_test_now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Polls cond every millisecond for at most timeout_ms; true once it holds.
template <typename F> static bool wait_until(F cond, int timeout_ms)
{
    int64_t end = stor_test_now_ms() + timeout_ms;
    while (!cond()) {
        if (stor_test_now_ms() > end)
            return false;
        usleep(1000);
    }
    return true;
}

#endif
