/*
 * ct.c: the harness of zk_c_ops (checks, event logs, bounded waits, session
 * helpers) and its main(). The checks themselves live in ct_*.c, one group
 * per file.
 *
 * Usage: zk_c_ops host:port
 * Env:   SERVER_KIND (zabd|zookeeper, default zabd), TICK_TIME (default 2000),
 *        CT_CLIENT_LOG=1 shows the C client's own log on stderr.
 */
#include "ct.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Counters for the summary line. The program is single-purpose and the
 * client threads never touch them, so plain statics are enough. */
static int n_passed;
static int n_failed;

void ct_ok(const char *name)
{
    n_passed++;
    printf("ok %s\n", name);
    fflush(stdout);
}

void ct_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    n_failed++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

void ct_skip(const char *name, const char *why)
{
    printf("skip %s: %s\n", name, why);
    fflush(stdout);
}

bool ct_check(const char *name, bool cond, const char *fmt, ...)
{
    va_list ap;
    if (cond) {
        ct_ok(name);
        return true;
    }
    n_failed++;
    printf("FAIL %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    return false;
}

bool ct_eq_i64(const char *name, int64_t expected, int64_t got)
{
    return ct_check(name, expected == got,
                    "expected %" PRId64 " (0x%" PRIx64 ") got %" PRId64
                    " (0x%" PRIx64 ")",
                    expected, (uint64_t)expected, got, (uint64_t)got);
}

bool ct_eq_rc(const char *name, int expected, int got)
{
    return ct_check(name, expected == got, "expected %d (%s) got %d (%s)",
                    expected, zerror(expected), got, zerror(got));
}

bool ct_eq_str(const char *name, const char *expected, const char *got)
{
    bool same = expected && got && strcmp(expected, got) == 0;
    return ct_check(name, same, "expected \"%s\" got \"%s\"",
                    expected ? expected : "(null)", got ? got : "(null)");
}

bool ct_eq_stat(const char *name, const struct Stat *e, const struct Stat *g)
{
#define CT_FIELD(f)                                                          \
    if (e->f != g->f)                                                        \
        return ct_check(name, false, "stat." #f " expected %" PRId64         \
                        " got %" PRId64, (int64_t)e->f, (int64_t)g->f)
    CT_FIELD(czxid);
    CT_FIELD(mzxid);
    CT_FIELD(ctime);
    CT_FIELD(mtime);
    CT_FIELD(version);
    CT_FIELD(cversion);
    CT_FIELD(aversion);
    CT_FIELD(ephemeralOwner);
    CT_FIELD(dataLength);
    CT_FIELD(numChildren);
    CT_FIELD(pzxid);
#undef CT_FIELD
    ct_ok(name);
    return true;
}

int ct_summary(void)
{
    printf("%d passed, %d failed\n", n_passed, n_failed);
    fflush(stdout);
    return n_failed > 0 ? 1 : 0;
}

/* ---- events ---- */

void ct_log_init(ct_log *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
}

void ct_log_fini(ct_log *l)
{
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
}

static void log_add(ct_log *l, int type, int state, const char *path)
{
    pthread_mutex_lock(&l->mu);
    if (l->n < CT_MAX_EVENTS) {
        ct_event *e = &l->ev[l->n++];
        e->type = type;
        e->state = state;
        snprintf(e->path, sizeof e->path, "%s", path ? path : "");
    }
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void ct_watcher(zhandle_t *zh, int type, int state, const char *path,
                void *ctx)
{
    if (ctx != NULL)
        log_add(ctx, type, state, path);
}

void ct_void_done(int rc, const void *data)
{
    log_add((ct_log *)data, CT_COMPLETION, rc, NULL);
}

void ct_string_done(int rc, const char *value, const void *data)
{
    ct_log *l = (ct_log *)data;
    pthread_mutex_lock(&l->mu);
    snprintf(l->str, sizeof l->str, "%s", value ? value : "(null)");
    pthread_mutex_unlock(&l->mu);
    log_add(l, CT_COMPLETION, rc, NULL);
}

void ct_stat_done(int rc, const struct Stat *stat, const void *data)
{
    log_add((ct_log *)data, CT_COMPLETION, rc, NULL);
}

static bool matches(const ct_event *e, int type, const char *path)
{
    return e->type == type && (path == NULL || strcmp(e->path, path) == 0);
}

int ct_log_count(ct_log *l, int type, const char *path)
{
    int c = 0;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->n; i++)
        c += matches(&l->ev[i], type, path);
    pthread_mutex_unlock(&l->mu);
    return c;
}

int ct_log_size(ct_log *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int ct_log_index(ct_log *l, int type, const char *path)
{
    int at = -1;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->n && at < 0; i++)
        if (matches(&l->ev[i], type, path))
            at = i;
    pthread_mutex_unlock(&l->mu);
    return at;
}

int ct_log_last_state(ct_log *l, int type)
{
    int state = -1;
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].type == type)
            state = l->ev[i].state;
    pthread_mutex_unlock(&l->mu);
    return state;
}

bool ct_log_wait(ct_log *l, int type, const char *path, int count,
                 int timeout_ms)
{
    struct timespec deadline;
    bool reached = false;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    for (;;) {
        int c = 0;
        for (int i = 0; i < l->n; i++)
            c += matches(&l->ev[i], type, path);
        if (c >= count) {
            reached = true;
            break;
        }
        if (pthread_cond_timedwait(&l->cv, &l->mu, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    return reached;
}

/* ---- sessions ---- */

zhandle_t *ct_connect(const ct_env *env, int timeout_ms,
                      const clientid_t *cid, ct_log *log)
{
    zhandle_t *zh = zookeeper_init(env->host, ct_watcher, timeout_ms, cid,
                                   log, ZOO_NO_LOG_CLIENTENV);
    if (zh == NULL)
        return NULL;
    /* The first session event is either CONNECTED or, for a clientid the
     * server refuses, EXPIRED; wait for one of them. */
    int64_t deadline = ct_now_ms() + 10000;
    while (ct_now_ms() < deadline) {
        int st = zoo_state(zh);
        if (st == ZOO_CONNECTED_STATE || st == ZOO_EXPIRED_SESSION_STATE ||
            st == ZOO_AUTH_FAILED_STATE)
            break;
        ct_log_wait(log, ZOO_SESSION_EVENT, NULL,
                    ct_log_count(log, ZOO_SESSION_EVENT, NULL) + 1, 100);
    }
    return zh;
}

zhandle_t *ct_connect_ok(const ct_env *env, const char *name, ct_log *log)
{
    zhandle_t *zh = ct_connect(env, 10000, NULL, log);
    if (zh == NULL || zoo_state(zh) != ZOO_CONNECTED_STATE) {
        ct_fail(name, "expected a connected session got state %d",
                zh ? zoo_state(zh) : 0);
        if (zh != NULL)
            zookeeper_close(zh);
        return NULL;
    }
    return zh;
}

void ct_roundtrip(zhandle_t *zh)
{
    struct Stat st;
    (void)zoo_exists(zh, "/", 0, &st);
}

int64_t ct_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ct_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    ct_env env = { 0 };
    const char *kind = getenv("SERVER_KIND");
    const char *tick = getenv("TICK_TIME");
    const char *client_log = getenv("CT_CLIENT_LOG");

    if (argc < 2) {
        fprintf(stderr, "usage: %s host:port\n", argv[0]);
        return 2;
    }
    env.host = argv[1];
    env.tick_ms = tick ? atoi(tick) : 2000;
    env.is_zookeeper = kind && strcmp(kind, "zookeeper") == 0;
    /* The client logs every refused session and auth failure we provoke;
     * keep stderr for real trouble unless asked. */
    zoo_set_debug_level(client_log ? ZOO_LOG_LEVEL_INFO : ZOO_LOG_LEVEL_ERROR);
    if (!client_log)
        zoo_set_log_stream(fopen("/dev/null", "w"));
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Without a server every test below would wait out its own timeout. */
    ct_log probe_log;
    ct_log_init(&probe_log);
    zhandle_t *probe = ct_connect_ok(&env, "connect.probe", &probe_log);
    if (probe == NULL)
        return ct_summary();
    ct_eq_i64("connect.state", ZOO_CONNECTED_STATE, zoo_state(probe));
    ct_check("connect.session_id_nonzero",
             zoo_client_id(probe)->client_id != 0,
             "expected a non-zero session id got 0");
    zookeeper_close(probe);
    ct_log_fini(&probe_log);

    /* Forks; the probe's client threads are gone by now, and the child
     * starts its own. */
    ct_test_session(&env);
    ct_test_ops(&env);
    ct_test_data(&env);
    ct_test_multi(&env);
    ct_test_extended(&env);
    ct_test_acl(&env);
    ct_test_watch(&env);
    return ct_summary();
}
