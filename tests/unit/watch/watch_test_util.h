// Helpers shared by the watch unit tests.
#ifndef ZABD_WATCH_TEST_UTIL_H
#define ZABD_WATCH_TEST_UTIL_H

/* Standard headers first: CppUTest redefines new for leak detection. */
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <CppUTest/TestHarness.h>

#include "watch/watch.h"

static inline int add(watch_reg *w, enum watch_table t, const char *path, uint64_t watcher,
                      enum watch_mode m)
{
    return watch_add(w, t, path, strlen(path), watcher, m);
}

/* Fires one event and returns the watchers reached, sorted; checks that
 * every delivery carries the event's type and no watcher appears twice. */
static inline std::vector<uint64_t> fire(watch_reg *w, int32_t type, const char *path)
{
    watch_delivery *out = NULL;
    size_t n = 0, cap = 0;
    LONGS_EQUAL(0, watch_fire(w, type, path, strlen(path), &out, &n, &cap));
    CHECK(n <= cap);
    std::vector<uint64_t> got;
    for (size_t i = 0; i < n; i++) {
        LONGS_EQUAL(type, out[i].event_type);
        got.push_back(out[i].watcher);
    }
    free(out);
    std::sort(got.begin(), got.end());
    CHECK_TRUE(std::adjacent_find(got.begin(), got.end()) == got.end());
    return got;
}

static inline unsigned modes(watch_reg *w, enum watch_table t, const char *path,
                             uint64_t watcher)
{
    return watch_modes(w, t, path, strlen(path), watcher);
}

static inline int rm(watch_reg *w, const char *path, uint64_t watcher, int32_t wtype,
                     bool dry_run = false)
{
    return watch_remove(w, path, strlen(path), watcher, wtype, dry_run);
}

#define M_STD (1u << WATCH_STANDARD)
#define M_PER (1u << WATCH_PERSISTENT)
#define M_REC (1u << WATCH_RECURSIVE)

typedef std::vector<uint64_t> ids;

#endif
