/*
 * ct.h: the small harness behind zk_c_ops, an integration test that drives a
 * server through the official C client (libzookeeper_mt).
 *
 * Every check prints one line, "ok <name>" or "FAIL <name>: expected ... got
 * ...", and ct_summary() prints "N passed, M failed". A check that cannot run
 * against the server under test prints "skip <name>: why" and counts neither
 * way.
 *
 * Events (watch events, session events and async completions) are recorded
 * in a ct_log in the order the client's completion thread delivers them, so
 * a test can assert ordering as well as presence. Every wait is bounded.
 *
 * Our own names use the ct_ prefix: the client library owns zoo_* and
 * zookeeper_*.
 */
#ifndef CT_H
#define CT_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <zookeeper/zookeeper.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The type recorded for an async completion (its rc goes in state). */
#define CT_COMPLETION 1000
#define CT_MAX_EVENTS 256
#define CT_WAIT_MS 5000

typedef struct ct_event {
    int type;
    int state;
    char path[256];
} ct_event;

/* Visible so tests can embed one on the stack; touch only through ct_log_*. */
typedef struct ct_log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    ct_event ev[CT_MAX_EVENTS];
    char str[1024]; /* the string a string completion returned */
} ct_log;

/* Test settings read once from the environment. */
typedef struct ct_env {
    const char *host;       /* "127.0.0.1:port" */
    int tick_ms;            /* TICK_TIME, default 2000 */
    bool is_zookeeper;      /* SERVER_KIND=zookeeper */
} ct_env;

/* ---- checks ---- */
void ct_ok(const char *name);
void ct_fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ct_skip(const char *name, const char *why);
bool ct_check(const char *name, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ct_eq_i64(const char *name, int64_t expected, int64_t got);
bool ct_eq_rc(const char *name, int expected, int got);
bool ct_eq_str(const char *name, const char *expected, const char *got);
/* Compares every Stat field; names the first field that differs. */
bool ct_eq_stat(const char *name, const struct Stat *expected,
                const struct Stat *got);
/* Prints the summary line; returns the process exit status. */
int ct_summary(void);

/* ---- events ---- */
void ct_log_init(ct_log *l);
void ct_log_fini(ct_log *l);
/* A watcher_fn whose context is a ct_log. */
void ct_watcher(zhandle_t *zh, int type, int state, const char *path,
                void *ctx);
/* Completions whose data is a ct_log: they record CT_COMPLETION with rc. */
void ct_void_done(int rc, const void *data);
void ct_string_done(int rc, const char *value, const void *data);
void ct_stat_done(int rc, const struct Stat *stat, const void *data);
/* Matching events so far; path NULL matches any path. */
int ct_log_count(ct_log *l, int type, const char *path);
/* Events recorded so far, of any type. */
int ct_log_size(ct_log *l);
/* Index of the first matching event, or -1. */
int ct_log_index(ct_log *l, int type, const char *path);
/* Waits until ct_log_count(type, path) >= count or timeout_ms passes;
 * returns whether it got there. */
bool ct_log_wait(ct_log *l, int type, const char *path, int count,
                 int timeout_ms);
/* The state of the newest matching event, or -1. */
int ct_log_last_state(ct_log *l, int type);

/* ---- sessions ---- */
/* Opens a session and waits (bounded) for its first session event, which is
 * ZOO_CONNECTED_STATE or, for a rejected clientid, ZOO_EXPIRED_SESSION_STATE.
 * log receives the handle's session and default-watcher events. Returns NULL
 * only if the handle could not be created. */
zhandle_t *ct_connect(const ct_env *env, int timeout_ms,
                      const clientid_t *cid, ct_log *log);
/* Opens a session that must connect; if it does not, counts a failure
 * and returns NULL. */
zhandle_t *ct_connect_ok(const ct_env *env, const char *name, ct_log *log);
/* A write-free round trip: once it returns, every event the server sent
 * this session before its reply has been delivered. */
void ct_roundtrip(zhandle_t *zh);
int64_t ct_now_ms(void);
void ct_sleep_ms(int ms);

/* ---- test groups (one per file) ---- */
void ct_test_session(const ct_env *env);
void ct_test_ops(const ct_env *env);
void ct_test_data(const ct_env *env);
void ct_test_multi(const ct_env *env);
void ct_test_extended(const ct_env *env);
void ct_test_acl(const ct_env *env);
void ct_test_watch(const ct_env *env);

#ifdef __cplusplus
}
#endif
#endif
