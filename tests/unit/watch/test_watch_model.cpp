// The registry against a direct transcription of ZooKeeper 3.9's rules,
// over seeded random operations on a small tree (so paths, ancestors and
// watchers collide often).
#include "watch_test_util.h"

namespace {
typedef std::tuple<int, std::string, uint64_t> key; /* table, path, watcher */

struct lcg {
    uint64_t s;
    uint32_t next(uint32_t n)
    {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return (uint32_t)(s >> 33) % n;
    }
};

bool is_proper_ancestor(const std::string &a, const std::string &p)
{
    if (a.size() >= p.size())
        return false;
    if (a == "/")
        return true;
    return p.compare(0, a.size(), a) == 0 && p[a.size()] == '/';
}

std::vector<uint64_t> model_fire(std::map<key, unsigned> &m, int32_t type, const std::string &p)
{
    bool data = type == WIRE_EVENT_CREATED || type == WIRE_EVENT_DATA_CHANGED ||
                type == WIRE_EVENT_DELETED;
    bool child = type == WIRE_EVENT_DELETED || type == WIRE_EVENT_CHILDREN_CHANGED;
    std::set<uint64_t> hit;
    for (auto it = m.begin(); it != m.end();) {
        int t = std::get<0>(it->first);
        const std::string &path = std::get<1>(it->first);
        bool in_table = (t == WATCH_DATA && data) || (t == WATCH_CHILD && child);
        if (in_table && path == p) {
            hit.insert(std::get<2>(it->first));
            it->second &= ~M_STD;
            if (it->second == 0) {
                it = m.erase(it);
                continue;
            }
        } else if (in_table && t == WATCH_DATA && (it->second & M_REC) && is_proper_ancestor(path, p)) {
            hit.insert(std::get<2>(it->first));
        }
        ++it;
    }
    return std::vector<uint64_t>(hit.begin(), hit.end());
}

bool model_remove(std::map<key, unsigned> &m, const std::string &p, uint64_t wt, int32_t type,
                  bool dry)
{
    unsigned dmask = 0, cmask = 0;
    switch (type) {
    case 1: cmask = M_STD; break;
    case 2: dmask = M_STD; break;
    case 3: dmask = cmask = M_STD | M_PER | M_REC; break;
    case 4: dmask = M_PER; cmask = dry ? 0 : M_PER; break;
    case 5: dmask = M_REC; break;
    }
    bool found = false;
    for (int t = 0; t < 2; t++) {
        auto it = m.find(key(t, p, wt));
        unsigned mask = t == WATCH_DATA ? dmask : cmask;
        if (it == m.end() || (it->second & mask) == 0)
            continue;
        found = true;
        if (!dry) {
            it->second &= ~mask;
            if (it->second == 0)
                m.erase(it);
        }
    }
    return found;
}

int dump(void *arg, const char *path, size_t len, uint64_t watcher, enum watch_table t,
         enum watch_mode mode)
{
    (*static_cast<std::map<key, unsigned> *>(arg))[key(t, std::string(path, len), watcher)] |=
        1u << mode;
    return 0;
}
} // namespace

TEST_GROUP(WatchModel){};

TEST(WatchModel, RandomOpsMatchModel)
{
    static const char *paths[] = {"/", "/a", "/a/b", "/a/b/c", "/a/c", "/b", "/b/a", "/ab"};
    static const int32_t events[] = {WIRE_EVENT_CREATED, WIRE_EVENT_DELETED,
                                     WIRE_EVENT_DATA_CHANGED, WIRE_EVENT_CHILDREN_CHANGED};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        watch_reg *w = watch_new();
        std::map<key, unsigned> m;
        lcg r{seed};
        for (int step = 0; step < 5000; step++) {
            std::string p = paths[r.next(8)];
            uint64_t wt = 1 + r.next(4);
            uint32_t op = r.next(10);
            if (op < 5) {
                enum watch_table t = (enum watch_table)r.next(2);
                /* Recursive and persistent are rarer, as in real use. */
                uint32_t k = r.next(8);
                enum watch_mode mode = k < 5 ? WATCH_STANDARD : k < 7 ? WATCH_PERSISTENT : WATCH_RECURSIVE;
                LONGS_EQUAL(0, watch_add(w, t, p.data(), p.size(), wt, mode));
                if (mode == WATCH_STANDARD)
                    m[key(t, p, wt)] |= M_STD;
                else if (mode == WATCH_PERSISTENT)
                    m[key(WATCH_DATA, p, wt)] |= M_PER, m[key(WATCH_CHILD, p, wt)] |= M_PER;
                else
                    m[key(WATCH_DATA, p, wt)] |= M_REC;
            } else if (op < 8) {
                int32_t ev = events[r.next(4)];
                std::vector<uint64_t> want = model_fire(m, ev, p);
                CHECK_TRUE(want == fire(w, ev, p.c_str()));
            } else if (op < 10 && r.next(8) != 0) {
                int32_t type = 1 + (int32_t)r.next(5);
                bool dry = r.next(2) != 0;
                bool want = model_remove(m, p, wt, type, dry);
                LONGS_EQUAL(want ? 0 : ZERR_NOWATCHER, rm(w, p.c_str(), wt, type, dry));
            } else {
                watch_remove_watcher(w, wt);
                for (auto it = m.begin(); it != m.end();)
                    it = std::get<2>(it->first) == wt ? m.erase(it) : std::next(it);
            }
            LONGS_EQUAL(m.size(), watch_count(w));
            if (step % 97 == 0) {
                std::map<key, unsigned> got;
                LONGS_EQUAL(0, watch_foreach(w, dump, &got));
                CHECK_TRUE(m == got);
            }
        }
        watch_free(w);
    }
}
