/*
 * tool_probe: a bare-socket ConnectRequest + GetData, see tool_probe.h.
 *
 * Records it writes and reads (zookeeper.jute), each in a 4-byte big-endian
 * length frame:
 *   ConnectRequest  { int protocolVersion; long lastZxidSeen; int timeOut;
 *                     long sessionId; buffer passwd; boolean readOnly; }
 *   ConnectResponse { int protocolVersion; int timeOut; long sessionId;
 *                     buffer passwd; [boolean readOnly] }
 *   RequestHeader   { int xid; int type; } + GetDataRequest { ustring path;
 *                     boolean watch; }
 *   ReplyHeader     { int xid; long zxid; int err; } + GetDataResponse
 *                     { buffer data; Stat stat; }
 * A server that is not serving yet closes the socket or answers the connect
 * with timeOut 0; both read as ZERR_CONNECTIONLOSS.
 *
 * It does not keep the session: it sends closeSession and hangs up.
 */
#include "tools/tool_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wire/wire.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until deadline_ms; 0 when ready. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (int i = 0; i < 1000; i++) {
        int64_t left = deadline_ms - now_ms();
        if (left <= 0)
            return ZERR_OPERATIONTIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & POLLIN) ? ZERR_CONNECTIONLOSS
                                                                               : 0;
        if (n < 0 && errno != EINTR)
            return ZERR_CONNECTIONLOSS;
    }
    return ZERR_OPERATIONTIMEOUT;
}

static int send_all(int fd, const uint8_t *p, size_t len, int64_t deadline_ms)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline_ms) != 0)
                return ZERR_CONNECTIONLOSS;
            continue;
        }
        return ZERR_CONNECTIONLOSS;
    }
    return 0;
}

static int recv_all(int fd, uint8_t *p, size_t len, int64_t deadline_ms)
{
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline_ms) != 0)
                return ZERR_CONNECTIONLOSS;
            continue;
        }
        return ZERR_CONNECTIONLOSS; /* EOF: the server hung up on us */
    }
    return 0;
}

/* Reads one frame into a malloc'd buffer the caller frees. */
static int recv_frame(int fd, uint8_t **body, int32_t *body_len, int64_t deadline_ms)
{
    uint8_t hdr[4];
    int rc = recv_all(fd, hdr, 4, deadline_ms);
    if (rc != 0)
        return rc;
    int32_t len = (int32_t)wire_get_be32(hdr);
    if (len < 0 || len > WIRE_MAXBUFFER_DEFAULT * 2)
        return ZERR_TOOBIG;
    uint8_t *b = malloc(len > 0 ? (size_t)len : 1);
    if (b == NULL)
        return ZERR_NOMEM;
    rc = recv_all(fd, b, (size_t)len, deadline_ms);
    if (rc != 0) {
        free(b);
        return rc;
    }
    *body = b;
    *body_len = len;
    return 0;
}

static int connect_to(const char *host, int port, int64_t deadline_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline_ms) == 0) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
            return fd;
    }
    close(fd);
    return -1;
}

/* Starts a frame: a length placeholder the caller patches with end_frame. */
static void begin_frame(wire_wr *w)
{
    wire_wr_i32(w, 0);
}
static void end_frame(wire_wr *w, size_t start)
{
    wire_wr_patch_i32(w, start, (int32_t)(w->len - start - 4));
}

int tool_probe_get(const char *host, int port, const char *path, int timeout_ms,
                   int32_t *data_len_out)
{
    int64_t deadline = now_ms() + timeout_ms;
    int rc = ZERR_CONNECTIONLOSS;
    uint8_t *body = NULL;
    int32_t body_len = 0;
    uint8_t passwd[16] = {0};
    wire_wr w;
    wire_wr_init(&w);
    int fd = connect_to(host, port, deadline);
    if (fd < 0)
        goto out;

    begin_frame(&w);
    wire_wr_i32(&w, 0);     /* protocolVersion */
    wire_wr_i64(&w, 0);     /* lastZxidSeen */
    wire_wr_i32(&w, 30000); /* timeOut */
    wire_wr_i64(&w, 0);     /* sessionId: a new session */
    wire_wr_buf(&w, (wire_buf){passwd, sizeof passwd});
    wire_wr_bool(&w, false); /* readOnly */
    end_frame(&w, 0);
    size_t get_at = w.len;
    begin_frame(&w);
    wire_wr_i32(&w, 1); /* xid */
    wire_wr_i32(&w, WIRE_OP_GETDATA);
    wire_wr_cstr(&w, path);
    wire_wr_bool(&w, false); /* watch */
    end_frame(&w, get_at);
    size_t close_at = w.len;
    begin_frame(&w);
    wire_wr_i32(&w, 2);
    wire_wr_i32(&w, WIRE_OP_CLOSESESSION);
    end_frame(&w, close_at);
    if ((rc = wire_wr_err(&w)) != 0)
        goto out;

    /* Pipelining the read behind the handshake is what clients do too: the
     * server handles the GetData only after the session is established. */
    if ((rc = send_all(fd, w.p, close_at, deadline)) != 0)
        goto out;
    if ((rc = recv_frame(fd, &body, &body_len, deadline)) != 0)
        goto out;
    wire_rd r;
    wire_rd_init(&r, body, (size_t)body_len, WIRE_MAXBUFFER_DEFAULT);
    wire_rd_i32(&r); /* protocolVersion */
    int32_t negotiated_ms = wire_rd_i32(&r);
    int64_t session_id = wire_rd_i64(&r);
    if (wire_rd_err(&r) != 0 || negotiated_ms <= 0 || session_id == 0) {
        rc = ZERR_CONNECTIONLOSS;
        goto out;
    }
    free(body);
    body = NULL;

    if ((rc = recv_frame(fd, &body, &body_len, deadline)) != 0)
        goto out;
    wire_rd_init(&r, body, (size_t)body_len, WIRE_MAXBUFFER_DEFAULT);
    int32_t xid = wire_rd_i32(&r);
    wire_rd_i64(&r); /* zxid */
    int32_t err = wire_rd_i32(&r);
    wire_buf data = wire_rd_buf(&r);
    if (wire_rd_err(&r) != 0 && err == 0) {
        rc = ZERR_MARSHALLINGERROR;
        goto out;
    }
    if (xid != 1) {
        rc = ZERR_MARSHALLINGERROR;
        goto out;
    }
    rc = err;
    if (rc == 0 && data_len_out != NULL)
        *data_len_out = data.len;
    send_all(fd, w.p + close_at, w.len - close_at, deadline);
out:
    free(body);
    wire_wr_fini(&w);
    if (fd >= 0)
        close(fd);
    return rc;
}
