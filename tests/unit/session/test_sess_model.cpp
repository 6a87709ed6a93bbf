// The session table against a trivially correct model, over seeded random
// operations (exercises the id map's deletions and bucket moves).
#include <algorithm>
#include <map>
#include <vector>

#include <CppUTest/TestHarness.h>

#include "session/sess.h"

namespace
{
struct model_sess {
    int32_t timeout_ms;
    int64_t expire_at; /* 0 once closing */
    bool is_closing;
};

struct lcg {
    uint64_t s;
    uint32_t next(uint32_t n)
    {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return (uint32_t)(s >> 33) % n;
    }
};
} // namespace

TEST_GROUP(SessModel){};

TEST(SessModel, RandomOpsMatchModel)
{
    const int64_t tick = 500;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        sess_table *s = sess_new(tick, 3);
        std::map<int64_t, model_sess> m;
        lcg r{seed};
        int64_t now = 1000000;
        for (int step = 0; step < 10000; step++) {
            int64_t id = (int64_t)r.next(3000) << 20 | 5; /* shared low bits, like real ids */
            switch (r.next(6)) {
            case 0:
            case 1: {
                int32_t t = (int32_t)(1000 + r.next(9000));
                int rc = sess_add(s, id, t, now);
                if (m.count(id)) {
                    LONGS_EQUAL(ZERR_NODEEXISTS, rc);
                } else {
                    LONGS_EQUAL(0, rc);
                    m[id] = {t, sess_round_to_interval(now + t, tick), false};
                }
                break;
            }
            case 2: {
                int rc = sess_touch(s, id, now);
                auto it = m.find(id);
                if (it == m.end() || it->second.is_closing) {
                    LONGS_EQUAL(ZERR_SESSIONEXPIRED, rc);
                } else {
                    LONGS_EQUAL(0, rc);
                    it->second.expire_at =
                        sess_round_to_interval(now + it->second.timeout_ms, tick);
                }
                break;
            }
            case 3: {
                int rc = sess_remove(s, id);
                LONGS_EQUAL(m.erase(id) ? 0 : ZERR_NONODE, rc);
                break;
            }
            case 4:
                sess_set_closing(s, id);
                if (m.count(id))
                    m[id] = {m[id].timeout_ms, 0, true};
                break;
            case 5: {
                now += r.next(400);
                std::vector<int64_t> want, got(m.size() + 1);
                for (auto &kv : m)
                    if (!kv.second.is_closing && kv.second.expire_at <= now) {
                        want.push_back(kv.first);
                        kv.second = {kv.second.timeout_ms, 0, true};
                    }
                size_t n = sess_expire(s, now, got.data(), got.size());
                got.resize(n);
                std::sort(got.begin(), got.end());
                CHECK_TRUE(want == got);
                break;
            }
            }
            LONGS_EQUAL(m.size(), sess_count(s));
            auto it = m.find(id);
            CHECK_EQUAL(it != m.end(), sess_exists(s, id));
            if (it != m.end()) {
                LONGS_EQUAL(it->second.timeout_ms, sess_timeout_ms(s, id));
                CHECK_EQUAL(it->second.expire_at, sess_expire_at(s, id));
                CHECK_EQUAL(it->second.is_closing, sess_is_closing(s, id));
            }
        }
        /* Every remaining id is still findable (no entry lost by a shift). */
        for (auto &kv : m)
            CHECK_TRUE(sess_exists(s, kv.first));
        sess_free(s);
    }
}
