/*
 * rawload: a read load generator that speaks the wire protocol itself, so
 * that the server, not the client library, is what gets measured.
 *
 *   zkrawload IP:PORT [--conns 8] [--window 64] [--secs 10] [--path /]
 *             [--op get|exists]
 *   -> op=rawget conns=8 window=64 secs=10.00 ops=... ops_per_sec=... errors=0
 *
 * The official C client (zkbench) spends more CPU per request than either
 * server on this two-core machine, so its read figures show the client's
 * ceiling. This tool runs one thread with non-blocking sockets: each
 * connection does the ConnectRequest handshake, then keeps `window`
 * getData (or exists) requests in flight, pipelined, and counts replies.
 * It exits 1 if it cannot connect or any reply carries an error.
 */
#include "wire/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct rconn {
    int fd;
    uint8_t in[1 << 16];
    size_t in_len;
    int32_t xid;
} rconn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* Blocking handshake; then the socket turns non-blocking. */
static int open_conn(const char *ip, int port, rconn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
        return -1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    uint8_t pw[16] = {0};
    wire_buf b = {pw, 16};
    wire_wr_i32(&w, 0);
    wire_wr_i64(&w, 0);
    wire_wr_i32(&w, 30000);
    wire_wr_i64(&w, 0);
    wire_wr_buf(&w, b);
    wire_wr_bool(&w, false);
    wire_wr_patch_i32(&w, 0, (int32_t)(w.len - 4));
    int rc = write_all(c->fd, w.p, w.len);
    wire_wr_fini(&w);
    uint8_t hdr[4];
    if (rc != 0 || read(c->fd, hdr, 4) != 4)
        return -1;
    uint32_t len = wire_get_be32(hdr);
    uint8_t body[64];
    if (len > sizeof body || read(c->fd, body, len) != (ssize_t)len)
        return -1;
    struct timeval tv = {0, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return 0;
}

static void add_request(wire_wr *w, rconn *c, int32_t op, const char *path)
{
    size_t at = w->len;
    wire_wr_i32(w, 0);
    wire_wr_i32(w, ++c->xid);
    wire_wr_i32(w, op);
    wire_wr_cstr(w, path);
    wire_wr_bool(w, false);
    wire_wr_patch_i32(w, at, (int32_t)(w->len - at - 4));
}

int main(int argc, char **argv)
{
    int conns = 8, window = 64;
    double secs = 10;
    const char *path = "/";
    int32_t op = WIRE_OP_GETDATA;
    static const struct option opts[] = {{"conns", 1, 0, 'c'}, {"window", 1, 0, 'w'},
                                         {"secs", 1, 0, 's'},  {"path", 1, 0, 'p'},
                                         {"op", 1, 0, 'o'},    {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'c':
            conns = atoi(optarg);
            break;
        case 'w':
            window = atoi(optarg);
            break;
        case 's':
            secs = atof(optarg);
            break;
        case 'p':
            path = optarg;
            break;
        case 'o':
            op = strcmp(optarg, "exists") == 0 ? WIRE_OP_EXISTS : WIRE_OP_GETDATA;
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc || conns < 1 || conns > 256 || window < 1 || secs <= 0) {
        fprintf(stderr, "usage: zkrawload IP:PORT [--conns N] [--window W] [--secs S] "
                        "[--path P] [--op get|exists]\n");
        return 2;
    }
    char ip[64];
    snprintf(ip, sizeof ip, "%s", argv[optind]);
    char *colon = strrchr(ip, ':');
    if (colon == NULL)
        return 2;
    *colon = '\0';
    int port = atoi(colon + 1);

    rconn *cs = calloc((size_t)conns, sizeof *cs);
    struct pollfd *pfds = calloc((size_t)conns, sizeof *pfds);
    if (cs == NULL || pfds == NULL)
        return 1;
    wire_wr out;
    wire_wr_init(&out);
    for (int i = 0; i < conns; i++) {
        if (open_conn(ip, port, &cs[i]) != 0) {
            fprintf(stderr, "zkrawload: cannot connect to %s:%d\n", ip, port);
            return 1;
        }
        wire_wr_reset(&out);
        for (int k = 0; k < window; k++)
            add_request(&out, &cs[i], op, path);
        if (write_all(cs[i].fd, out.p, out.len) != 0)
            return 1;
        pfds[i] = (struct pollfd){cs[i].fd, POLLIN, 0};
    }
    uint64_t ops = 0, errors = 0;
    double t0 = now_s(), end = t0 + secs;
    while (now_s() < end) {
        if (poll(pfds, (nfds_t)conns, 100) <= 0)
            continue;
        for (int i = 0; i < conns; i++) {
            if (!(pfds[i].revents & POLLIN))
                continue;
            rconn *c = &cs[i];
            ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
            if (n <= 0) {
                fprintf(stderr, "zkrawload: connection %d closed\n", i);
                return 1;
            }
            c->in_len += (size_t)n;
            size_t off = 0;
            int replies = 0;
            int32_t len;
            while (wire_frame_peek(c->in + off, c->in_len - off, 1 << 15, &len) == 1) {
                if (len >= 16 && (int32_t)wire_get_be32(c->in + off + 4 + 12) != 0)
                    errors++;
                off += 4 + (size_t)len;
                replies++;
            }
            memmove(c->in, c->in + off, c->in_len - off);
            c->in_len -= off;
            ops += (uint64_t)replies;
            wire_wr_reset(&out);
            for (int k = 0; k < replies; k++)
                add_request(&out, c, op, path);
            if (out.len > 0 && write_all(c->fd, out.p, out.len) != 0)
                return 1;
        }
    }
    double elapsed = now_s() - t0;
    printf("op=raw%s conns=%d window=%d secs=%.2f ops=%llu ops_per_sec=%.1f errors=%llu\n",
           op == WIRE_OP_EXISTS ? "exists" : "get", conns, window, elapsed, (unsigned long long)ops,
           (double)ops / elapsed, (unsigned long long)errors);
    for (int i = 0; i < conns; i++)
        close(cs[i].fd);
    wire_wr_fini(&out);
    free(cs);
    free(pfds);
    return errors == 0 ? 0 : 1;
}
