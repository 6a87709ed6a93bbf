/*
 * rawload: a load generator that speaks the wire protocol itself, so that
 * the server, not a client library, is what gets measured.
 *
 *   zkrawload IP:PORT [--op get|exists|create|set|mix] [--conns 8]
 *             [--window 64] [--secs 10] [--warmup 0] [--size 100]
 *             [--keys 1000] [--read-pct 90] [--path P] [--seed 1]
 *   -> op=rawset conns=8 window=64 secs=10.00 ops=... ops_per_sec=...
 *      p50_us=... p99_us=... p999_us=... max_us=... errors=0
 *
 * The official C client (zkbench) spends more CPU per request than either
 * server on this two-core machine, so its figures show the client's
 * ceiling. This tool runs one thread with non-blocking sockets: each
 * connection does the ConnectRequest handshake, then keeps `window`
 * requests in flight, pipelined, and counts the replies.
 *
 * Workloads: get / exists read one path (--path) or, with --keys, one of
 * the keys /rawload/k<n> at random; set is setData (version -1, --size
 * bytes) of a random key; create makes new persistent znodes
 * /rawload/c/<pid>-<conn>-<n> with --size bytes (unique across runs); mix draws per request: a get
 * with probability --read-pct %, otherwise a set. Keys are created (or reset) before the clock
 * starts, so a run starts from the same tree every time.
 *
 * Latency: a reply answers the oldest request in flight on its connection
 * (ZooKeeper answers a session's requests in order), so each connection
 * keeps the issue times of its window in a ring; reply time minus issue
 * time (CLOCK_MONOTONIC) goes into a log-linear histogram whose buckets are
 * within 1/16 of their value. Requests answered during --warmup are not
 * counted. With one connection and a window of 1 the percentiles are the
 * server's idle round trip.
 *
 * It exits 1 if it cannot connect, a connection closes, or any reply
 * carries an error.
 */
#include "wire/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IN_CAP = 1 << 20, MAX_CONNS = 1024, MAX_WINDOW = 4096 };
enum op_kind { K_GET, K_EXISTS, K_CREATE, K_SET, K_MIX };

typedef struct rconn {
    int fd;
    uint8_t *in;
    size_t in_len;
    int32_t xid;
    uint64_t created;
    uint64_t *issued_ns; /* ring of window issue times */
    size_t head, n_inflight;
} rconn;

typedef struct load {
    enum op_kind kind;
    int conns, window, keys, read_pct, size;
    const char *path;
    uint64_t rng;
    uint8_t *value;
    char (*key_paths)[24]; /* "/rawload/k<n>" for every key, built once */
} load;

/* ---- latency histogram (ns): 16 exact buckets below 16, then 16 linear
 * sub-buckets per power of two ---- */
enum { SUB = 16 };
static uint64_t hist[64 * SUB];

static void hist_add(uint64_t ns)
{
    if (ns < SUB) {
        hist[ns]++;
        return;
    }
    int oct = 63 - __builtin_clzll(ns) - 4; /* ns >> oct is in [16, 32) */
    hist[(size_t)(oct + 1) * SUB + (size_t)((ns >> oct) - SUB)]++;
}

static uint64_t hist_value(size_t b)
{
    if (b < SUB)
        return b;
    return (uint64_t)(SUB + b % SUB) << (b / SUB - 1);
}

static double hist_pct(uint64_t total, double pct)
{
    uint64_t want = (uint64_t)((double)total * pct / 100.0), seen = 0;
    for (size_t b = 0; b < sizeof hist / sizeof hist[0]; b++) {
        seen += hist[b];
        if (seen > want)
            return (double)hist_value(b) / 1000.0;
    }
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(load *l)
{
    /* xorshift64*: the draw only has to be cheap and repeatable */
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return l->rng * 2685821657736338717ull;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Blocking handshake; the socket stays blocking (epoll decides when to read). */
static int open_conn(const char *ip, int port, rconn *c, int window)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
        return -1;
    c->in = malloc(IN_CAP);
    c->issued_ns = calloc((size_t)window, sizeof *c->issued_ns);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->in == NULL || c->issued_ns == NULL || c->fd < 0 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t pw[16] = {0};
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, 0);     /* protocolVersion */
    wire_wr_i64(&w, 0);     /* lastZxidSeen */
    wire_wr_i32(&w, 30000); /* timeOut */
    wire_wr_i64(&w, 0);     /* sessionId */
    wire_wr_buf(&w, (wire_buf){pw, 16});
    wire_wr_bool(&w, false);
    wire_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    int rc = write_all(c->fd, w.p, w.len);
    wire_wr_fini(&w);
    uint8_t hdr[4], body[64];
    if (rc != 0 || read_full(c->fd, hdr, 4) != 0)
        return -1;
    uint32_t len = wire_get_be32(hdr);
    if (len > sizeof body || read_full(c->fd, body, len) != 0)
        return -1;
    return 0;
}

static void key_path(char *buf, size_t cap, uint64_t k)
{
    snprintf(buf, cap, "/rawload/k%06llu", (unsigned long long)k);
}

/* The key paths, formatted once: a printf per request would cost the load
 * generator a tenth of its CPU, which on a shared two-core machine is taken
 * from the server it measures. */
static int key_paths_init(load *l)
{
    if (l->keys <= 0)
        return 0;
    l->key_paths = malloc((size_t)l->keys * sizeof *l->key_paths);
    if (l->key_paths == NULL)
        return -1;
    for (int k = 0; k < l->keys; k++)
        key_path(l->key_paths[k], sizeof l->key_paths[k], (uint64_t)k);
    return 0;
}

/* Appends one request frame; returns its opcode. */
static int32_t add_request(wire_wr *w, rconn *c, int conn_no, load *l)
{
    char buf[96];
    const char *path = buf;
    enum op_kind k = l->kind;
    if (k == K_MIX)
        k = (int)(rnd(l) % 100) < l->read_pct ? K_GET : K_SET;
    if (k == K_CREATE)
        snprintf(buf, sizeof buf, "/rawload/c/%d-%d-%llu", (int)getpid(), conn_no,
                 (unsigned long long)c->created++);
    else if (l->keys > 0)
        path = l->key_paths[rnd(l) % (uint64_t)l->keys];
    else
        path = l->path;
    size_t at = w->len;
    wire_wr_i32(w, 0);
    wire_wr_i32(w, ++c->xid);
    int32_t op;
    wire_buf value = {l->value, l->size};
    switch (k) {
    case K_CREATE:
        op = WIRE_OP_CREATE;
        wire_wr_i32(w, op);
        wire_wr_cstr(w, path);
        wire_wr_buf(w, value);
        wire_wr_i32(w, 1); /* world:anyone:cdrwa */
        wire_wr_i32(w, WIRE_PERM_ALL);
        wire_wr_cstr(w, "world");
        wire_wr_cstr(w, "anyone");
        wire_wr_i32(w, 0); /* persistent */
        break;
    case K_SET:
        op = WIRE_OP_SETDATA;
        wire_wr_i32(w, op);
        wire_wr_cstr(w, path);
        wire_wr_buf(w, value);
        wire_wr_i32(w, -1);
        break;
    default:
        op = k == K_EXISTS ? WIRE_OP_EXISTS : WIRE_OP_GETDATA;
        wire_wr_i32(w, op);
        wire_wr_cstr(w, path);
        wire_wr_bool(w, false);
    }
    wire_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
    return op;
}

/* One synchronous request on c (setup only): returns the reply's err. */
static int32_t call(rconn *c, wire_wr *w)
{
    if (write_all(c->fd, w->p, w->len) != 0)
        return INT32_MIN;
    uint8_t hdr[4];
    if (read_full(c->fd, hdr, 4) != 0)
        return INT32_MIN;
    uint32_t len = wire_get_be32(hdr);
    if (len < 16 || len > IN_CAP || read_full(c->fd, c->in, len) != 0)
        return INT32_MIN;
    return (int32_t)wire_get_be32(c->in + 12);
}

static int32_t setup_create(rconn *c, const char *path, const load *l)
{
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, ++c->xid);
    wire_wr_i32(&w, WIRE_OP_CREATE);
    wire_wr_cstr(&w, path);
    wire_wr_buf(&w, (wire_buf){l->value, l->size});
    wire_wr_i32(&w, 1);
    wire_wr_i32(&w, WIRE_PERM_ALL);
    wire_wr_cstr(&w, "world");
    wire_wr_cstr(&w, "anyone");
    wire_wr_i32(&w, 0);
    wire_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    int32_t err = call(c, &w);
    wire_wr_fini(&w);
    return err;
}

/* /rawload, /rawload/c and the keys, each with --size bytes. */
static int setup(rconn *c, const load *l)
{
    const char *dirs[] = {"/rawload", "/rawload/c"};
    for (size_t i = 0; i < 2; i++) {
        int32_t err = setup_create(c, dirs[i], l);
        if (err != 0 && err != ZERR_NODEEXISTS)
            return -1;
    }
    for (int k = 0; k < l->keys && l->kind != K_CREATE; k++) {
        char path[96];
        key_path(path, sizeof path, (uint64_t)k);
        int32_t err = setup_create(c, path, l);
        if (err != 0 && err != ZERR_NODEEXISTS)
            return -1;
    }
    return 0;
}

static int sync_conn(rconn *c)
{
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, ++c->xid);
    wire_wr_i32(&w, WIRE_OP_SYNC);
    wire_wr_cstr(&w, "/");
    wire_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    int32_t err = call(c, &w);
    wire_wr_fini(&w);
    return err == 0 ? 0 : -1;
}

static const char *op_name(enum op_kind k)
{
    static const char *names[] = {"get", "exists", "create", "set", "mix"};
    return names[k];
}

static void usage(void)
{
    fprintf(stderr,
            "usage: zkrawload IP:PORT[,IP:PORT...] [--op get|exists|create|set|mix] [--conns N] "
            "[--window W] [--secs S] [--warmup S] [--size B] [--keys K] "
            "[--read-pct P] [--path P] [--seed N]\n");
}

int main(int argc, char **argv)
{
    load l = {.kind = K_GET,
              .conns = 8,
              .window = 64,
              .keys = -1,
              .read_pct = 90,
              .size = 100,
              .path = "/",
              .rng = 1};
    double secs = 10, warmup = 0;
    static const struct option opts[] = {
        {"conns", 1, 0, 'c'},    {"window", 1, 0, 'w'}, {"secs", 1, 0, 's'}, {"path", 1, 0, 'p'},
        {"op", 1, 0, 'o'},       {"warmup", 1, 0, 'W'}, {"size", 1, 0, 'z'}, {"keys", 1, 0, 'k'},
        {"read-pct", 1, 0, 'r'}, {"seed", 1, 0, 'S'},   {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'c':
            l.conns = atoi(optarg);
            break;
        case 'w':
            l.window = atoi(optarg);
            break;
        case 's':
            secs = atof(optarg);
            break;
        case 'W':
            warmup = atof(optarg);
            break;
        case 'p':
            l.path = optarg;
            break;
        case 'z':
            l.size = atoi(optarg);
            break;
        case 'k':
            l.keys = atoi(optarg);
            break;
        case 'r':
            l.read_pct = atoi(optarg);
            break;
        case 'S':
            l.rng = (uint64_t)strtoull(optarg, NULL, 0) | 1;
            break;
        case 'o': {
            enum op_kind k;
            for (k = K_GET; k <= K_MIX && strcmp(optarg, op_name(k)) != 0; k++)
                ;
            if (k > K_MIX) {
                usage();
                return 2;
            }
            l.kind = k;
            break;
        }
        default:
            usage();
            return 2;
        }
    }
    if (l.keys < 0) /* reads of one path by default; writes need keys */
        l.keys = (l.kind == K_SET || l.kind == K_MIX) ? 1000 : 0;
    if (optind >= argc || l.conns < 1 || l.conns > MAX_CONNS || l.window < 1 ||
        l.window > MAX_WINDOW || secs <= 0 || warmup < 0 || l.size < 0 || l.size > 1 << 19 ||
        l.read_pct < 0 || l.read_pct > 100) {
        usage();
        return 2;
    }
    /* IP:PORT[,IP:PORT...]: connection i goes to member i mod n, so an
     * ensemble's load is spread over all of them. */
    enum { MAX_HOSTS = 16 };
    char ips[MAX_HOSTS][64];
    int ports[MAX_HOSTS], n_hosts = 0;
    char list[1024];
    snprintf(list, sizeof list, "%s", argv[optind]);
    for (char *save = NULL, *h = strtok_r(list, ",", &save); h != NULL;
         h = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(h, ':');
        if (colon == NULL || n_hosts == MAX_HOSTS) {
            usage();
            return 2;
        }
        *colon = '\0';
        snprintf(ips[n_hosts], sizeof ips[n_hosts], "%s", h);
        ports[n_hosts++] = atoi(colon + 1);
    }
    if (n_hosts == 0) {
        usage();
        return 2;
    }

    rconn *cs = calloc((size_t)l.conns, sizeof *cs);
    /* epoll, not poll: with 32 connections poll's scan of every fd on every
     * wakeup made this tool, not the server, the bound. */
    struct epoll_event *evs = calloc((size_t)l.conns, sizeof *evs);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    l.value = malloc((size_t)l.size + 1);
    if (cs == NULL || evs == NULL || ep < 0 || l.value == NULL || key_paths_init(&l) != 0)
        return 1;
    memset(l.value, 'v', (size_t)l.size);
    for (int i = 0; i < l.conns; i++) {
        const char *ip = ips[i % n_hosts];
        int port = ports[i % n_hosts];
        if (open_conn(ip, port, &cs[i], l.window) != 0) {
            fprintf(stderr, "zkrawload: cannot connect to %s:%d\n", ip, port);
            return 1;
        }
    }
    if (l.kind != K_GET && l.kind != K_EXISTS ? setup(&cs[0], &l) != 0
                                              : (l.keys > 0 && setup(&cs[0], &l) != 0)) {
        fprintf(stderr, "zkrawload: setting up /rawload failed\n");
        return 1;
    }
    /* Every member has the keys before the load starts: a sync on each of
     * the other members' connections. */
    for (int i = 1; i < l.conns && i < n_hosts; i++)
        if (sync_conn(&cs[i]) != 0) {
            fprintf(stderr, "zkrawload: sync on %s:%d failed\n", ips[i], ports[i]);
            return 1;
        }
    wire_wr out;
    wire_wr_init(&out);
    uint64_t t_start = now_ns();
    uint64_t t_measure = t_start + (uint64_t)(warmup * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(secs * 1e9);
    for (int i = 0; i < l.conns; i++) {
        rconn *c = &cs[i];
        wire_wr_reset(&out);
        for (int k = 0; k < l.window; k++) {
            add_request(&out, c, i, &l);
            c->issued_ns[(c->head + c->n_inflight++) % (size_t)l.window] = now_ns();
        }
        if (write_all(c->fd, out.p, out.len) != 0)
            return 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            return 1;
    }
    uint64_t ops = 0, errors = 0;
    uint64_t now = now_ns();
    while (now < t_end) {
        int n_ev = epoll_wait(ep, evs, l.conns, 100);
        if (n_ev <= 0) {
            now = now_ns();
            continue;
        }
        for (int e = 0; e < n_ev; e++) {
            int i = (int)evs[e].data.u32;
            rconn *c = &cs[i];
            ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
            if (n <= 0) {
                fprintf(stderr, "zkrawload: connection %d closed\n", i);
                return 1;
            }
            now = now_ns();
            c->in_len += (size_t)n;
            size_t off = 0;
            int replies = 0;
            int32_t len;
            while (wire_frame_peek(c->in + off, c->in_len - off, IN_CAP - 4, &len) == 1) {
                if (len >= 16 && (int32_t)wire_get_be32(c->in + off + 4 + 12) != 0)
                    errors++;
                if (c->n_inflight > 0) {
                    uint64_t t0 = c->issued_ns[c->head];
                    c->head = (c->head + 1) % (size_t)l.window;
                    c->n_inflight--;
                    if (t0 >= t_measure && now < t_end) {
                        hist_add(now - t0);
                        ops++;
                    }
                }
                off += 4 + (size_t)len;
                replies++;
            }
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
            wire_wr_reset(&out);
            for (int k = 0; k < replies; k++) {
                add_request(&out, c, i, &l);
                c->issued_ns[(c->head + c->n_inflight++) % (size_t)l.window] = now;
            }
            if (out.len > 0 && write_all(c->fd, out.p, out.len) != 0)
                return 1;
        }
    }
    double elapsed = secs;
    uint64_t max_ns = 0;
    for (size_t b = 0; b < sizeof hist / sizeof hist[0]; b++)
        if (hist[b] != 0)
            max_ns = hist_value(b);
    printf("op=raw%s conns=%d window=%d size=%d secs=%.2f ops=%llu ops_per_sec=%.1f "
           "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%llu\n",
           op_name(l.kind), l.conns, l.window, l.size, elapsed, (unsigned long long)ops,
           (double)ops / elapsed, hist_pct(ops, 50), hist_pct(ops, 99), hist_pct(ops, 99.9),
           (double)max_ns / 1000.0, (unsigned long long)errors);
    for (int i = 0; i < l.conns; i++) {
        close(cs[i].fd);
        free(cs[i].in);
        free(cs[i].issued_ns);
    }
    wire_wr_fini(&out);
    free(cs);
    free(evs);
    close(ep);
    free(l.value);
    free(l.key_paths);
    return errors == 0 ? 0 : 1;
}
