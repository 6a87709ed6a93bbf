/*
 * session: the session table, session ids and passwords, negotiated
 * timeouts, and expiry buckets driven by the time the caller passes in.
 *
 * How the server uses it:
 *   - At startup: s = sess_new(tickTime, myid); sess_id_init(s, now_ms).
 *   - ConnectRequest with session id 0: timeout = sess_negotiate_timeout(...),
 *     id = sess_id_next(s), sess_password(id, pw), then (when the
 *     createSession txn applies) sess_add(s, id, timeout, now_ms).
 *   - Every request or ping of a live session: sess_touch(s, id, now_ms).
 *   - On each tick: n = sess_expire(s, now_ms, ids, cap) and submit a
 *     closeSession for each id returned (they are marked closing already).
 *   - closeSession applied: sess_remove(s, id).
 *
 * Expiry works as ZooKeeper's ExpiryQueue does: a session due at time t is
 * put in the bucket (t / interval + 1) * interval, so all sessions of one
 * bucket expire together and touching a session only moves it between
 * buckets when its rounded deadline changes.
 *
 * This module is pure: no I/O, no clock (times are `now_ms` arguments), no
 * randomness, no globals, no threads. Not thread-safe: one owner.
 */
#ifndef ZABD_SESS_H
#define ZABD_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sess_table sess_table; /* layout in session/sess_int.h */

/* ---- Lifetime --------------------------------------------------------------- */

/* expiry_interval_ms is tickTime (> 0); server_id is myid (0..255). Returns
 * NULL on bad arguments or out of memory. */
sess_table *sess_new(int64_t expiry_interval_ms, int64_t server_id);
void sess_free(sess_table *s); /* NULL is a no-op */

/* ---- Ids, passwords, timeouts (pure helpers) ------------------------------- */

/* ZooKeeper's layout (SessionTrackerImpl.initializeNextSessionId): the first
 * id is ((now_ms << 24) >>> 8) | (server_id << 56), with a logical shift, and
 * Long.MIN_VALUE (the container owner marker) is skipped. Call once. */
void sess_id_init(sess_table *s, int64_t now_ms);
/* The pure formula behind sess_id_init, for tests and tools. */
int64_t sess_id_first(int64_t now_ms, int64_t server_id);
/* Returns the current id and advances by one (getAndIncrement). */
int64_t sess_id_next(sess_table *s);

/* ZooKeeper's password: java.util.Random seeded with id ^ 0xB3415C00,
 * nextBytes(16). Byte-identical to what Apache ZooKeeper hands out, so a
 * client can move between our servers and theirs. */
enum { SESS_PASSWORD_LEN = 16 };
void sess_password(int64_t session_id, uint8_t out[SESS_PASSWORD_LEN]);
/* Constant-time compare of a client's password against the expected one;
 * false for id 0 or a wrong length (ZooKeeperServer.checkPasswd). */
bool sess_password_ok(int64_t session_id, const uint8_t *pw, size_t len);

/* ZooKeeperServer.processConnectRequest: raise to min, then lower to max
 * (so max wins if min > max). */
int32_t sess_negotiate_timeout(int32_t requested_ms, int32_t min_ms, int32_t max_ms);

/* (t / interval + 1) * interval: the bucket a deadline t falls into. */
int64_t sess_round_to_interval(int64_t t_ms, int64_t interval_ms);

/* ---- The table ---------------------------------------------------------------- */

/* Adds a live session due at round(now_ms + timeout_ms).
 * ZERR_NODEEXISTS if id is present, ZERR_NOMEM. */
int sess_add(sess_table *s, int64_t id, int32_t timeout_ms, int64_t now_ms);
/* Moves the session to the bucket of round(now_ms + its timeout).
 * ZERR_SESSIONEXPIRED if unknown or closing; ZERR_NOMEM. */
int sess_touch(sess_table *s, int64_t id, int64_t now_ms);
/* The same with another timeout, once: the next sess_touch uses the
 * session's own again (SessionTrackerImpl.trackSession on a session it
 * already has: updateSessionExpiry with the timeout it was handed). */
int sess_touch_for(sess_table *s, int64_t id, int64_t now_ms, int32_t timeout_ms);
/* ZERR_NONODE if unknown. */
int sess_remove(sess_table *s, int64_t id);
bool sess_exists(const sess_table *s, int64_t id);
int32_t sess_timeout_ms(const sess_table *s, int64_t id); /* 0 if unknown */
/* Bucket time of a live session, or 0 if unknown or closing. */
int64_t sess_expire_at(const sess_table *s, int64_t id);
/* Closing sessions leave the expiry queue: they are neither touched nor
 * expired again. Unknown ids are ignored. */
void sess_set_closing(sess_table *s, int64_t id);
bool sess_is_closing(const sess_table *s, int64_t id);
/* The server a session's requests must come through, in an ensemble's
 * leader (SessionTrackerImpl's owner): set when the session is created or
 * revalidated; 0 means none, and the first check takes its owner. Owners
 * are non-zero server ids. ZERR_SESSIONEXPIRED if unknown or closing. */
int sess_set_owner(sess_table *s, int64_t id, int64_t owner);
/* checkSession: ZERR_UNKNOWNSESSION, ZERR_SESSIONEXPIRED (closing),
 * ZERR_SESSIONMOVED (another owner), or 0 (owner taken if none). */
int sess_check_owner(sess_table *s, int64_t id, int64_t owner);

/* Sessions whose bucket time is <= now_ms: writes up to cap ids, marks each
 * closing, returns how many. Call again while it returns cap. Cost is
 * proportional to the due buckets plus the ids returned, whatever the gap
 * since the last call. */
size_t sess_expire(sess_table *s, int64_t now_ms, int64_t *ids_out, size_t cap);
/* Earliest bucket time that may hold sessions, INT64_MAX if none: when the
 * loop should next call sess_expire. May be early (an emptied bucket),
 * never late. */
int64_t sess_next_expiry(const sess_table *s);

size_t sess_count(const sess_table *s); /* live and closing */
/* Visits every session (id, timeout_ms) in no particular order; stops and
 * returns fn's value if it is non-zero. fn must not modify the table. */
int sess_foreach(const sess_table *s, int (*fn)(void *arg, int64_t id, int32_t timeout_ms),
                 void *arg);

#ifdef __cplusplus
}
#endif
#endif
