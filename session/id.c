/*
 * Session ids, passwords, timeout negotiation and bucket rounding: the pure
 * formulas ZooKeeper uses, reproduced bit for bit so that ids and passwords
 * stay valid when a client moves between our servers and Apache ZooKeeper.
 *
 * Id layout (64 bits, SessionTrackerImpl.initializeNextSessionId):
 *   bits 63..56  server id (myid)
 *   bits 55..16  the low 40 bits of the start time in ms
 *   bits 15..0   zero at start; ids then count up by one
 *
 * Password: java.util.Random(id ^ 0xB3415C00).nextBytes(16). Random is a
 * 48-bit LCG (seed' = seed * 0x5DEECE66D + 0xB mod 2^48); each nextInt()
 * is seed' >> 16 and nextBytes spends one nextInt per 4 bytes, low byte
 * first. Only the low 48 bits of the id reach the seed, so ids that differ
 * only in their top 16 bits share a password, as in ZooKeeper.
 */
#include "session/sess_int.h"

#define JAVA_RANDOM_MULT 0x5DEECE66DULL
#define JAVA_RANDOM_MASK ((1ULL << 48) - 1)
/* ZooKeeperServer.superSecret */
#define SESS_SUPER_SECRET 0xB3415C00ULL

int64_t sess_id_first(int64_t now_ms, int64_t server_id)
{
    uint64_t id = ((uint64_t)now_ms << 24) >> 8;
    id |= (uint64_t)server_id << 56;
    /* EphemeralType.CONTAINER_EPHEMERAL_OWNER marks containers. */
    if (id == 0x8000000000000000ULL)
        id++;
    return (int64_t)id;
}

void sess_id_init(sess_table *s, int64_t now_ms)
{
    s->next_id = sess_id_first(now_ms, s->server_id);
}

int64_t sess_id_next(sess_table *s)
{
    int64_t id = s->next_id;
    s->next_id = (int64_t)((uint64_t)id + 1);
    return id;
}

static int32_t java_next_int(uint64_t *seed)
{
    *seed = (*seed * JAVA_RANDOM_MULT + 0xBULL) & JAVA_RANDOM_MASK;
    return (int32_t)(uint32_t)(*seed >> 16);
}

void sess_password(int64_t session_id, uint8_t out[SESS_PASSWORD_LEN])
{
    uint64_t seed =
        (((uint64_t)session_id ^ SESS_SUPER_SECRET) ^ JAVA_RANDOM_MULT) & JAVA_RANDOM_MASK;
    for (int i = 0; i < SESS_PASSWORD_LEN;) {
        uint32_t rnd = (uint32_t)java_next_int(&seed);
        for (int k = 0; k < 4 && i < SESS_PASSWORD_LEN; k++, rnd >>= 8)
            out[i++] = (uint8_t)rnd;
    }
}

bool sess_password_ok(int64_t session_id, const uint8_t *pw, size_t len)
{
    uint8_t want[SESS_PASSWORD_LEN];
    if (session_id == 0 || len != SESS_PASSWORD_LEN || pw == NULL)
        return false;
    sess_password(session_id, want);
    uint8_t diff = 0;
    for (int i = 0; i < SESS_PASSWORD_LEN; i++)
        diff |= (uint8_t)(want[i] ^ pw[i]);
    return diff == 0;
}

int32_t sess_negotiate_timeout(int32_t requested_ms, int32_t min_ms, int32_t max_ms)
{
    int32_t t = requested_ms;
    if (t < min_ms)
        t = min_ms;
    if (t > max_ms)
        t = max_ms;
    return t;
}

int64_t sess_round_to_interval(int64_t t_ms, int64_t interval_ms)
{
    /* C and Java both truncate toward zero, so negative times round alike. */
    int64_t q = t_ms / interval_ms + 1;
    int64_t r;
    if (__builtin_mul_overflow(q, interval_ms, &r))
        return INT64_MAX;
    return r;
}
