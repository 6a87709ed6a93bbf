/*
 * zkbench: a load generator for ZooKeeper-compatible servers, built on the
 * official C client's asynchronous API (libzookeeper_mt), so zabd and Apache
 * ZooKeeper are measured through the same client code.
 *
 * Modes:
 *   timed   --op create|set|get|exists|mix: N sessions each keep W requests in
 *           flight for --warmup seconds (not counted), then for --duration
 *           seconds (counted), then one line is printed:
 *           op=get sessions=8 window=64 size=100 ops=.. secs=.. ops_per_sec=..
 *           p50_us=.. p99_us=.. p999_us=.. errors=0
 *   counted --populate N: creates N znodes under PREFIX/pop as fast as the
 *           window allows, then PREFIX/pop-last synchronously (so it is the
 *           newest zxid), and prints populate nodes=.. secs=.. last=PATH ..
 *   probe   --wait-get PATH: retries a bare-socket getData until it succeeds
 *           or --timeout passes, and prints wait_get ms=.. attempts=..
 *
 * Threads: every session is one zhandle, whose completion thread runs our
 * callbacks. A request's state lives in a slot (one per in-flight request).
 * A slot is touched by the main thread only until its first request is
 * issued, then only by its session's completion thread, which records the
 * latency and reissues from the slot. So each session's latency array has a
 * single writer; shared counters are atomics. The main thread reads the
 * arrays only after every slot has drained.
 *
 * It does not delete what it creates: bench.sh runs every workload against
 * a fresh server.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADED
#include <zookeeper/zookeeper.h>

#include "tools/tool_probe.h"

enum op { OP_CREATE, OP_SET, OP_GET, OP_EXISTS, OP_MIX, OP_FILL };
static const char *const op_names[] = {"create", "set", "get", "exists", "mix", "fill"};

typedef struct opts {
    const char *hosts;
    enum op op;
    int sessions, window, size, keys, read_pct;
    double duration_s, warmup_s, timeout_s;
    const char *prefix;
    long populate;        /* > 0: populate mode */
    const char *wait_get; /* non-NULL: probe mode */
} opts;

typedef struct bench bench;

typedef struct sess {
    bench *b;
    int idx;
    zhandle_t *zh;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;        /* last session state seen by the watcher */
    uint64_t *lat_ns; /* written only by this session's completion thread */
    size_t n_lat, cap_lat;
    bool lat_oom;
} sess;

typedef struct slot {
    sess *s;
    uint64_t t_issue_ns;
    uint64_t rng;
    enum op cur; /* what this slot's request is (mix picks per request) */
} slot;

struct bench {
    opts o;
    enum op op;       /* the op being run now (fill during preparation) */
    const char *dir;  /* parent of fill's nodes */
    const char *stem; /* fill's node names: DIR/STEM00000000.. */
    long fill_n;
    char *value;
    sess *ss;
    atomic_bool stop;
    atomic_bool closing;
    atomic_long outstanding;
    atomic_long next_id; /* create/fill: the next node number */
    atomic_long n_done;  /* fill: completed requests */
    atomic_long n_err;
    atomic_bool recording; /* timed: past the warmup, before stop */
    char run_tag[32];      /* create: keeps names unique across runs */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void note_err(bench *b, int rc, const char *what)
{
    if (atomic_load(&b->closing))
        return;
    long n = atomic_fetch_add(&b->n_err, 1);
    if (n < 5) /* enough to diagnose, not a flood */
        fprintf(stderr, "zkbench: %s: %s\n", what, zerror(rc));
}

static void record(sess *s, uint64_t ns)
{
    if (s->n_lat == s->cap_lat) {
        size_t cap = s->cap_lat ? s->cap_lat * 2 : 65536;
        uint64_t *p = realloc(s->lat_ns, cap * sizeof *p);
        if (p == NULL) {
            s->lat_oom = true;
            return;
        }
        s->lat_ns = p;
        s->cap_lat = cap;
    }
    s->lat_ns[s->n_lat++] = ns;
}

static void issue(slot *sl);

/* Common tail of every completion: account, then reissue or retire. */
static void complete(slot *sl, int rc)
{
    sess *s = sl->s;
    bench *b = s->b;
    uint64_t lat = mono_ns() - sl->t_issue_ns;
    bool ok = rc == ZOK || (b->op == OP_FILL && rc == ZNODEEXISTS);
    if (!ok)
        note_err(b, rc, op_names[sl->cur]);
    if (b->op == OP_FILL) {
        atomic_fetch_add(&b->n_done, 1);
    } else if (ok && atomic_load(&b->recording)) {
        record(s, lat);
    }
    if (atomic_load(&b->stop))
        atomic_fetch_sub(&b->outstanding, 1);
    else
        issue(sl);
}

static void string_cb(int rc, const char *value, const void *data)
{
    complete((slot *)data, rc);
}
static void stat_cb(int rc, const struct Stat *st, const void *data)
{
    complete((slot *)data, rc);
}
static void data_cb(int rc, const char *v, int vlen, const struct Stat *st, const void *data)
{
    slot *sl = (slot *)data;
    /* A read that returns the wrong bytes is an error too. */
    if (rc == ZOK && vlen != sl->s->b->o.size)
        rc = ZMARSHALLINGERROR;
    complete(sl, rc);
}

/* Issues the slot's next request; on a synchronous refusal retires it. */
static void issue(slot *sl)
{
    bench *b = sl->s->b;
    zhandle_t *zh = sl->s->zh;
    char path[512];
    int rc;
    enum op op = b->op;
    if (op == OP_MIX)
        op = (int)(xorshift(&sl->rng) % 100) < b->o.read_pct ? OP_GET : OP_SET;
    sl->cur = op;
    if (op == OP_SET || op == OP_GET || op == OP_EXISTS)
        snprintf(path, sizeof path, "%s/k/k%08" PRIu64, b->o.prefix,
                 xorshift(&sl->rng) % (uint64_t)b->o.keys);
    if (op == OP_CREATE || op == OP_FILL) {
        long id = atomic_fetch_add(&b->next_id, 1);
        if (op == OP_FILL && id >= b->fill_n) {
            atomic_fetch_sub(&b->outstanding, 1);
            return;
        }
        if (op == OP_CREATE)
            snprintf(path, sizeof path, "%s/c/%s-%ld", b->o.prefix, b->run_tag, id);
        else
            snprintf(path, sizeof path, "%s/%s%08ld", b->dir, b->stem, id);
    }
    sl->t_issue_ns = mono_ns();
    switch (op) {
    case OP_CREATE:
    case OP_FILL:
        rc = zoo_acreate(zh, path, b->value, b->o.size, &ZOO_OPEN_ACL_UNSAFE, 0, string_cb, sl);
        break;
    case OP_SET:
        rc = zoo_aset(zh, path, b->value, b->o.size, -1, stat_cb, sl);
        break;
    case OP_GET:
        rc = zoo_aget(zh, path, 0, data_cb, sl);
        break;
    default:
        rc = zoo_aexists(zh, path, 0, stat_cb, sl);
        break;
    }
    if (rc != ZOK) {
        note_err(b, rc, "issue");
        atomic_fetch_sub(&b->outstanding, 1);
    }
}

/* The client's log callback carries no context, hence these two globals.
 * Quiet once we start closing, so a server that hangs up first does not
 * look like a failure. Capped: a dead server means a retry loop that logs
 * twice a second per session. */
static atomic_bool client_log_quiet;
static atomic_int client_log_lines;

static void client_log(const char *msg)
{
    if (atomic_load(&client_log_quiet) || atomic_fetch_add(&client_log_lines, 1) >= 20)
        return;
    fprintf(stderr, "%s\n", msg);
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    sess *s = ctx;
    if (type != ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&s->mu);
    s->state = state;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int connect_all(bench *b)
{
    for (int i = 0; i < b->o.sessions; i++) {
        sess *s = &b->ss[i];
        s->b = b;
        s->idx = i;
        pthread_mutex_init(&s->mu, NULL);
        pthread_cond_init(&s->cv, NULL);
        s->zh = zookeeper_init2(b->o.hosts, watcher, 30000, NULL, s, 0, client_log);
        if (s->zh == NULL) {
            perror("zkbench: zookeeper_init");
            return -1;
        }
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 15;
    for (int i = 0; i < b->o.sessions; i++) {
        sess *s = &b->ss[i];
        pthread_mutex_lock(&s->mu);
        while (s->state != ZOO_CONNECTED_STATE) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) != 0)
                break;
        }
        int st = s->state;
        pthread_mutex_unlock(&s->mu);
        if (st != ZOO_CONNECTED_STATE) {
            fprintf(stderr, "zkbench: session %d could not connect to %s\n", i, b->o.hosts);
            return -1;
        }
    }
    return 0;
}

/* Creates path synchronously; an existing node is fine. */
static int ensure(bench *b, const char *path)
{
    int rc = zoo_create(b->ss[0].zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        fprintf(stderr, "zkbench: create %s: %s\n", path, zerror(rc));
        return -1;
    }
    return 0;
}

/* Creates the prefix and each of its ancestors. */
static int ensure_prefix(bench *b)
{
    char p[256];
    snprintf(p, sizeof p, "%s", b->o.prefix);
    for (char *c = p + 1; *c != '\0'; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (ensure(b, p) != 0)
            return -1;
        *c = '/';
    }
    return ensure(b, p);
}

/* Starts `window` requests on every session. */
static slot *start_slots(bench *b)
{
    size_t n = (size_t)b->o.sessions * (size_t)b->o.window;
    slot *sl = calloc(n, sizeof *sl);
    if (sl == NULL)
        return NULL;
    atomic_store(&b->outstanding, (long)n);
    for (size_t i = 0; i < n; i++) {
        sl[i].s = &b->ss[i % (size_t)b->o.sessions];
        sl[i].rng = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)getpid();
    }
    for (size_t i = 0; i < n; i++)
        issue(&sl[i]);
    return sl;
}

/* Waits until every slot has retired, at most timeout_s. */
static int drain(bench *b, double timeout_s)
{
    uint64_t dl = mono_ns() + (uint64_t)(timeout_s * 1e9);
    while (atomic_load(&b->outstanding) > 0) {
        if (mono_ns() > dl) {
            fprintf(stderr, "zkbench: %ld requests still outstanding after %.0f s\n",
                    atomic_load(&b->outstanding), timeout_s);
            return -1;
        }
        usleep(1000);
    }
    return 0;
}

/* Creates n nodes DIR/STEM00000000.. with the full window; returns seconds. */
static double fill(bench *b, const char *dir, const char *stem, long n)
{
    b->op = OP_FILL;
    b->dir = dir;
    b->stem = stem;
    b->fill_n = n;
    atomic_store(&b->next_id, 0);
    atomic_store(&b->n_done, 0);
    atomic_store(&b->stop, false);
    uint64_t t0 = mono_ns();
    slot *sl = start_slots(b);
    if (sl == NULL)
        return -1;
    /* fill retires slots itself once ids run out; stop is never set. */
    double limit = b->o.timeout_s;
    int rc = drain(b, limit);
    double secs = (double)(mono_ns() - t0) / 1e9;
    if (rc != 0) {
        atomic_store(&b->stop, true);
        atomic_fetch_add(&b->n_err, 1);
        /* A slot still in flight must outlive its callback: leak, don't free. */
        if (drain(b, 30) != 0)
            return secs;
    }
    free(sl);
    return secs;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n);
    i = i == 0 ? 0 : i - 1;
    return (double)v[i < n ? i : n - 1] / 1000.0;
}

static int run_timed(bench *b)
{
    char dir[300];
    if (b->o.op == OP_CREATE) {
        snprintf(dir, sizeof dir, "%s/c", b->o.prefix);
        if (ensure(b, dir) != 0)
            return -1;
    } else {
        snprintf(dir, sizeof dir, "%s/k", b->o.prefix);
        if (ensure(b, dir) != 0 || fill(b, dir, "k", b->o.keys) < 0 || atomic_load(&b->n_err) > 0)
            return -1;
    }
    b->op = b->o.op;
    atomic_store(&b->next_id, 0);
    atomic_store(&b->stop, false);
    slot *sl = start_slots(b);
    if (sl == NULL)
        return -1;
    /* The warmup lets a JIT compile the hot paths before we count. */
    uint64_t t0 = mono_ns(), warm_ns = (uint64_t)(b->o.warmup_s * 1e9);
    while (mono_ns() - t0 < warm_ns)
        usleep(2000);
    atomic_store(&b->recording, true);
    t0 = mono_ns();
    uint64_t dur_ns = (uint64_t)(b->o.duration_s * 1e9);
    while (mono_ns() - t0 < dur_ns)
        usleep(2000);
    atomic_store(&b->recording, false);
    double secs = (double)(mono_ns() - t0) / 1e9;
    atomic_store(&b->stop, true);
    int rc = drain(b, b->o.timeout_s);
    if (rc != 0)
        atomic_fetch_add(&b->n_err, 1);
    if (rc == 0)
        free(sl); /* on timeout a late callback could still hold a slot */

    size_t n = 0;
    for (int i = 0; i < b->o.sessions; i++) {
        n += b->ss[i].n_lat;
        if (b->ss[i].lat_oom)
            atomic_fetch_add(&b->n_err, 1);
    }
    uint64_t *all = malloc((n ? n : 1) * sizeof *all);
    if (all == NULL)
        return -1;
    size_t k = 0;
    for (int i = 0; i < b->o.sessions; i++) {
        memcpy(all + k, b->ss[i].lat_ns, b->ss[i].n_lat * sizeof *all);
        k += b->ss[i].n_lat;
    }
    qsort(all, n, sizeof *all, cmp_u64);
    printf("op=%s sessions=%d window=%d size=%d ops=%zu secs=%.2f ops_per_sec=%.1f "
           "p50_us=%.0f p99_us=%.0f p999_us=%.0f errors=%ld\n",
           op_names[b->o.op], b->o.sessions, b->o.window, b->o.size, n, secs, (double)n / secs,
           pct_us(all, n, 0.50), pct_us(all, n, 0.99), pct_us(all, n, 0.999),
           atomic_load(&b->n_err));
    fflush(stdout);
    free(all);
    return 0;
}

static int run_populate(bench *b)
{
    char dir[300], last[320];
    snprintf(dir, sizeof dir, "%s/pop", b->o.prefix);
    snprintf(last, sizeof last, "%s/pop-last", b->o.prefix);
    if (ensure(b, dir) != 0)
        return -1;
    double secs = fill(b, dir, "n", b->o.populate);
    if (secs < 0)
        return -1;
    int rc = zoo_create(b->ss[0].zh, last, b->value, b->o.size, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS)
        note_err(b, rc, "create last");
    printf("populate nodes=%ld size=%d sessions=%d window=%d secs=%.2f "
           "ops_per_sec=%.1f last=%s errors=%ld\n",
           b->o.populate, b->o.size, b->o.sessions, b->o.window, secs, (double)b->o.populate / secs,
           last, atomic_load(&b->n_err));
    fflush(stdout);
    return 0;
}

/* Probe mode: the clock starts when zkbench starts, so bench.sh launches it
 * right after the server process. */
static int run_wait_get(const opts *o)
{
    char host[64];
    const char *colon = strrchr(o->hosts, ':');
    if (colon == NULL || (size_t)(colon - o->hosts) >= sizeof host) {
        fprintf(stderr, "zkbench: --hosts must be IP:PORT for --wait-get\n");
        return 2;
    }
    memcpy(host, o->hosts, (size_t)(colon - o->hosts));
    host[colon - o->hosts] = '\0';
    int port = atoi(colon + 1);
    uint64_t t0 = mono_ns(), dl = t0 + (uint64_t)(o->timeout_s * 1e9);
    int rc = -1;
    long attempts = 0;
    while (mono_ns() < dl) {
        attempts++;
        int32_t len = 0;
        rc = tool_probe_get(host, port, o->wait_get, 2000, &len);
        if (rc == 0)
            break;
        usleep(5000);
    }
    double ms = (double)(mono_ns() - t0) / 1e6;
    printf("wait_get path=%s ms=%.1f attempts=%ld last_rc=%d\n", o->wait_get, ms, attempts, rc);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: zkbench --hosts IP:PORT [--op create|set|get|exists|mix]\n"
            "  [--sessions N] [--window W] [--size BYTES] [--duration S]\n"
            "  [--keys K] [--read-pct P] [--prefix /bench] [--warmup S] [--timeout S]\n"
            "  zkbench --hosts IP:PORT --populate N [--size B] [--sessions N] [--window W]\n"
            "  zkbench --hosts IP:PORT --wait-get PATH [--timeout S]\n");
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"hosts", 1, 0, 'h'},    {"op", 1, 0, 'o'},
                                       {"sessions", 1, 0, 's'}, {"window", 1, 0, 'w'},
                                       {"size", 1, 0, 'z'},     {"duration", 1, 0, 'd'},
                                       {"keys", 1, 0, 'k'},     {"read-pct", 1, 0, 'r'},
                                       {"prefix", 1, 0, 'p'},   {"populate", 1, 0, 'P'},
                                       {"wait-get", 1, 0, 'W'}, {"timeout", 1, 0, 't'},
                                       {"warmup", 1, 0, 'u'},   {0, 0, 0, 0}};
    *o = (opts){.hosts = NULL,
                .op = OP_GET,
                .sessions = 8,
                .window = 32,
                .size = 100,
                .keys = 1000,
                .read_pct = 90,
                .duration_s = 10,
                .timeout_s = 600,
                .prefix = "/bench"};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'h':
            o->hosts = optarg;
            break;
        case 'o': {
            int i;
            for (i = 0; i < OP_FILL && strcmp(optarg, op_names[i]) != 0; i++)
                ;
            if (i == OP_FILL)
                return -1;
            o->op = (enum op)i;
            break;
        }
        case 's':
            o->sessions = atoi(optarg);
            break;
        case 'w':
            o->window = atoi(optarg);
            break;
        case 'z':
            o->size = atoi(optarg);
            break;
        case 'd':
            o->duration_s = atof(optarg);
            break;
        case 'k':
            o->keys = atoi(optarg);
            break;
        case 'r':
            o->read_pct = atoi(optarg);
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'P':
            o->populate = atol(optarg);
            break;
        case 'W':
            o->wait_get = optarg;
            break;
        case 't':
            o->timeout_s = atof(optarg);
            break;
        case 'u':
            o->warmup_s = atof(optarg);
            break;
        default:
            return -1;
        }
    }
    if (o->hosts == NULL || o->sessions < 1 || o->sessions > 1000 || o->window < 1 || o->size < 0 ||
        o->size > 1000000 || o->keys < 1 || o->read_pct < 0 || o->read_pct > 100 ||
        o->duration_s <= 0 || o->warmup_s < 0 || o->timeout_s <= 0 || o->prefix[0] != '/' ||
        strlen(o->prefix) > 200 || o->populate < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    if (parse(argc, argv, &b.o) != 0) {
        usage();
        return 2;
    }
    if (b.o.wait_get != NULL)
        return run_wait_get(&b.o);

    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    snprintf(b.run_tag, sizeof b.run_tag, "r%ld-%d", (long)time(NULL), (int)getpid());
    b.value = malloc((size_t)b.o.size + 1);
    b.ss = calloc((size_t)b.o.sessions, sizeof *b.ss);
    if (b.value == NULL || b.ss == NULL)
        return 1;
    memset(b.value, 'x', (size_t)b.o.size);
    int rc = connect_all(&b);
    if (rc == 0)
        rc = ensure_prefix(&b);
    if (rc == 0)
        rc = b.o.populate > 0 ? run_populate(&b) : run_timed(&b);
    atomic_store(&b.closing, true);
    atomic_store(&client_log_quiet, true);
    for (int i = 0; i < b.o.sessions; i++)
        if (b.ss[i].zh != NULL)
            zookeeper_close(b.ss[i].zh);
    long errors = atomic_load(&b.n_err);
    for (int i = 0; i < b.o.sessions; i++)
        free(b.ss[i].lat_ns);
    free(b.ss);
    free(b.value);
    return rc != 0 ? 1 : errors > 0 ? 1 : 0;
}
