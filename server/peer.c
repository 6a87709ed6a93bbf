/*
 * peer.c: the election port, as ZooKeeper 3.8's QuorumCnxManager runs it,
 * on the loop thread with libevent bufferevents instead of a thread pair
 * per peer.
 *
 * The rules it copies (QuorumCnxManager.startConnection/handleConnection):
 *   - The side that connects first sends its initial message, raw, with no
 *     length frame (wire.h: wire_el_init; protocol -65536, my sid, my
 *     election address "host:port").
 *   - Only a connection from the higher id to the lower id is kept. A
 *     connecting side with the lower id sends its initial message and
 *     closes ("Have smaller server identifier, so dropping the
 *     connection"); the receiving side with the higher id closes such a
 *     connection and connects back. Observers follow the same rule.
 *   - One connection per peer: a newly kept one replaces the old one.
 *   - Then 4-byte length framed notifications both ways (wire_el_frame_peek,
 *     wire_el_notif_decode); a length outside 1..512 KiB closes the
 *     connection (RecvWorker), a body FastLeaderElection cannot read is
 *     dropped and the connection stays.
 *   - The send queue per peer holds one message: a newer one replaces it
 *     (SEND_CAPACITY = 1); a new connection with nothing queued repeats the
 *     last message sent (SendWorker.run), which ensemble.c wants only
 *     while LOOKING.
 *
 * What differs, on purpose: an initial message naming a server id that is
 * not in the configuration, or our own id, closes the connection with a log
 * line (ZooKeeper keeps the former and leaks the latter); connecting is
 * retried with a bounded back-off (100 ms doubling to 2 s) when a message
 * waits, besides the retries election's own resend timeout causes; output
 * a peer does not read is bounded (1 MiB, then new frames are dropped).
 * Not done: quorum SASL authentication, multiAddress (protocol -65535 is
 * accepted, only the first address is used to connect), re-resolving
 * host names, dynamic reconfiguration.
 */
#include "server/peer.h"
#include "server/srv_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum {
    BACKOFF_MIN_MS = 100,
    BACKOFF_MAX_MS = 2000,
    CNX_TIMEOUT_S = 5, /* QuorumCnxManager's cnxTO: connect and initial message */
    MAX_UNNAMED = 64,  /* accepted connections still owing their initial message */
    OUT_LIMIT = 1024 * 1024,
};

typedef struct pcon pcon;

typedef struct peer {
    int64_t id;
    bool is_observer;
    char addr[300]; /* host:port, for log lines */
    struct sockaddr_storage sa;
    int sa_len; /* 0: the address did not resolve */
    pcon *cur;  /* the established connection */
    pcon *dial; /* ours, under way (or sending its initial message before dropping) */
    uint8_t *pending, *last;
    size_t pending_len, last_len;
    int64_t next_dial_ms;
    int32_t backoff_ms;
    bool is_failing; /* the last connect failed: log the next failure quietly */
} peer;

struct pcon {
    srv_peers *p;
    struct bufferevent *bev;
    peer *pr; /* NULL until an accepted connection's initial message names it */
    bool is_outgoing;
    bool is_up;        /* pr->cur == this */
    bool is_dropping;  /* ours to a higher id: closes once its initial message left */
    bool is_full;      /* output at OUT_LIMIT: frames are dropped (write_frame) */
    char addr[320];    /* the remote end, for log lines */
    pcon *prev, *next; /* srv_peers.conns */
};

struct srv_peers {
    struct event_base *base;
    srv_peers_cb cb;
    int64_t my_id;
    wire_wr init; /* my initial message */
    peer *peers;
    size_t n_peers;
    struct evconnlistener *listener;
    pcon *conns;
    size_t n_unnamed;
    bool is_resend_on;
};

static peer *find_peer(srv_peers *p, int64_t id)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i].id == id)
            return &p->peers[i];
    return NULL;
}

static int set_buf(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
    uint8_t *b = realloc(*dst, len > 0 ? len : 1);
    if (b == NULL)
        return ZERR_NOMEM;
    memcpy(b, src, len);
    *dst = b;
    *dst_len = len;
    return 0;
}

static void clear_buf(uint8_t **b, size_t *len)
{
    free(*b);
    *b = NULL;
    *len = 0;
}

/* Closes c. report: tell ensemble.c that an established connection went
 * down (not when it was replaced or dropped on purpose). */
static void pcon_close(pcon *c, bool report, const char *why)
{
    srv_peers *p = c->p;
    peer *pr = c->pr;
    bool was_up = c->is_up;
    if (why != NULL)
        srv_log(SRV_LOG_INFO, "election connection %s %s: %s", pr != NULL ? "with server" : "from",
                c->addr, why);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (!c->is_outgoing && pr == NULL)
        p->n_unnamed--;
    if (pr != NULL && pr->cur == c)
        pr->cur = NULL;
    if (pr != NULL && pr->dial == c)
        pr->dial = NULL;
    bufferevent_free(c->bev);
    free(c);
    if (report && was_up && pr != NULL && p->cb.on_down != NULL)
        p->cb.on_down(p->cb.arg, pr->id);
}

static pcon *pcon_new(srv_peers *p, struct bufferevent *bev, bool is_outgoing, const char *addr)
{
    pcon *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->p = p;
    c->bev = bev;
    c->is_outgoing = is_outgoing;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = p->conns;
    if (p->conns != NULL)
        p->conns->prev = c;
    p->conns = c;
    return c;
}

/* Never closes c: callers up the stack (read_frames) still use it. Output
 * a peer does not read is bounded by dropping new frames, as
 * QuorumCnxManager's bounded send queue drops old ones. */
static void write_frame(pcon *c, const uint8_t *f, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) + len > OUT_LIMIT) {
        if (!c->is_full)
            srv_log(SRV_LOG_WARN,
                    "election connection with server %" PRId64
                    " does not read: dropping notifications for it",
                    c->pr->id);
        c->is_full = true;
        return;
    }
    c->is_full = false;
    bufferevent_write(c->bev, f, len);
}

/* c becomes pr's one connection: send what waits. */
static void set_up(pcon *c, peer *pr)
{
    if (pr->cur != NULL && pr->cur != c)
        pcon_close(pr->cur, false, NULL); /* the newer connection wins */
    if (pr->dial == c)
        pr->dial = NULL;
    c->pr = pr;
    c->is_up = true;
    pr->cur = c;
    pr->backoff_ms = 0;
    pr->next_dial_ms = 0;
    pr->is_failing = false;
    snprintf(c->addr, sizeof c->addr, "%" PRId64, pr->id);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    srv_log(SRV_LOG_INFO, "election connection with server %" PRId64 " (%s) established", pr->id,
            pr->addr);
    if (pr->pending != NULL) {
        write_frame(c, pr->pending, pr->pending_len);
        if (pr->cur == c) {
            free(pr->last);
            pr->last = pr->pending;
            pr->last_len = pr->pending_len;
            pr->pending = NULL;
            pr->pending_len = 0;
        }
    } else if (c->p->is_resend_on && pr->last != NULL) {
        write_frame(c, pr->last, pr->last_len);
    }
}

static void dial(srv_peers *p, peer *pr);

/* Frames on an established connection. */
static void read_frames(pcon *c)
{
    srv_peers *p = c->p;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    int64_t from = c->pr->id;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (avail < 4)
            return;
        evbuffer_copyout(in, hdr, 4);
        int32_t body_len = 0;
        int rc = wire_el_frame_peek(hdr, 4, &body_len);
        if (rc < 0) {
            srv_log(SRV_LOG_WARN,
                    "election connection with server %" PRId64
                    ": frame length %d outside 1..%d: closing",
                    from, (int32_t)wire_get_be32(hdr), (int)WIRE_EL_PACKET_MAX);
            pcon_close(c, true, NULL);
            return;
        }
        body_len = (int32_t)wire_get_be32(hdr);
        if (avail - 4 < (size_t)body_len)
            return;
        const uint8_t *f = evbuffer_pullup(in, 4 + (ssize_t)body_len);
        if (f == NULL) {
            pcon_close(c, true, "out of memory");
            return;
        }
        wire_el_notif n;
        rc = wire_el_notif_decode(f + 4, (size_t)body_len, &n);
        if (rc != 0)
            srv_log(SRV_LOG_WARN,
                    "dropping a notification from server %" PRId64 " that cannot be read (%d "
                    "bytes): %s",
                    from, body_len, wire_err_name(rc));
        else if (p->cb.on_notif != NULL)
            p->cb.on_notif(p->cb.arg, from, &n); /* never closes c (only events do) */
        evbuffer_drain(in, 4 + (size_t)body_len);
    }
}

/* An accepted connection's initial message (QuorumCnxManager.handleConnection). */
static void read_init(pcon *c)
{
    srv_peers *p = c->p;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    size_t want = avail < 20 + WIRE_EL_ADDR_MAX ? avail : 20 + WIRE_EL_ADDR_MAX;
    const uint8_t *b = evbuffer_pullup(in, (ssize_t)want);
    wire_el_init m;
    size_t used = 0;
    int rc = b != NULL ? wire_el_init_decode(b, want, &m, &used) : ZERR_NOMEM;
    if (rc == 0)
        return; /* more to come; the read timeout bounds the wait */
    if (rc < 0) {
        srv_log(SRV_LOG_WARN, "election port: bad initial message from %s (%s): closing", c->addr,
                wire_err_name(rc));
        pcon_close(c, false, NULL);
        return;
    }
    int64_t sid = m.sid;
    peer *pr = find_peer(p, sid);
    if (sid == p->my_id) {
        srv_log(SRV_LOG_WARN,
                "election port: %s connected with our own server id %" PRId64
                ": a configuration error or a bug; closing",
                c->addr, sid);
        pcon_close(c, false, NULL);
        return;
    }
    if (pr == NULL) {
        srv_log(SRV_LOG_WARN,
                "election port: %s sent server id %" PRId64
                ", which is not in the configuration: closing",
                c->addr, sid);
        pcon_close(c, false, NULL);
        return;
    }
    evbuffer_drain(in, used);
    if (sid < p->my_id) {
        /* We win the challenge: drop theirs and connect back. The old
         * connection goes first, as handleConnection finishes its sender. */
        if (pr->cur != NULL)
            pcon_close(pr->cur, false, NULL);
        pcon_close(c, false, NULL);
        pr->next_dial_ms = 0;
        dial(p, pr);
        return;
    }
    p->n_unnamed--;
    set_up(c, pr);
    if (pr->cur == c)
        read_frames(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    pcon *c = arg;
    if (c->is_up)
        read_frames(c);
    else if (!c->is_outgoing && c->pr == NULL)
        read_init(c);
    else /* ours, dropping: the higher id connects back */
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_write(struct bufferevent *bev, void *arg)
{
    pcon *c = arg;
    /* Called once the output is empty: a dropped connection's initial
     * message has left. */
    if (c->is_dropping)
        pcon_close(c, false, NULL);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    pcon *c = arg;
    srv_peers *p = c->p;
    if (what & BEV_EVENT_CONNECTED) {
        peer *pr = c->pr;
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bufferevent_write(bev, p->init.p, p->init.len);
        if (pr->id > p->my_id) {
            /* startConnection: the smaller id drops its own connection. */
            c->is_dropping = true;
            return;
        }
        set_up(c, pr);
        return;
    }
    const char *why = (what & BEV_EVENT_EOF) ? "closed by the other side"
                      : (what & BEV_EVENT_TIMEOUT)
                          ? "timed out"
                          : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    if (c->is_up) {
        pcon_close(c, true, why);
    } else if (c->is_outgoing) {
        peer *pr = c->pr;
        if (!pr->is_failing && !c->is_dropping)
            srv_log(SRV_LOG_INFO,
                    "cannot open an election connection to server %" PRId64
                    " at %s: %s (retrying while there is something to send)",
                    pr->id, pr->addr, why);
        if (!c->is_dropping)
            pr->is_failing = true;
        pcon_close(c, false, NULL);
    } else {
        srv_log(SRV_LOG_INFO, "election port: %s: %s before its initial message", c->addr, why);
        pcon_close(c, false, NULL);
    }
}

static void dial(srv_peers *p, peer *pr)
{
    int64_t now = srv_now_ms();
    if (pr->cur != NULL || pr->dial != NULL || pr->sa_len == 0 || now < pr->next_dial_ms)
        return;
    pr->backoff_ms = pr->backoff_ms == 0                    ? BACKOFF_MIN_MS
                     : pr->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS
                                                            : pr->backoff_ms * 2;
    pr->next_dial_ms = now + pr->backoff_ms;
    struct bufferevent *bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    pcon *c = bev != NULL ? pcon_new(p, bev, true, pr->addr) : NULL;
    if (c == NULL) {
        if (bev != NULL)
            bufferevent_free(bev);
        srv_log(SRV_LOG_WARN, "out of memory connecting to server %" PRId64, pr->id);
        return;
    }
    c->pr = pr;
    pr->dial = c;
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    struct timeval tv = {CNX_TIMEOUT_S, 0};
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&pr->sa, pr->sa_len) != 0) {
        if (!pr->is_failing)
            srv_log(SRV_LOG_INFO, "cannot open an election connection to server %" PRId64 " at %s",
                    pr->id, pr->addr);
        pr->is_failing = true;
        pcon_close(c, false, NULL);
    }
}

struct bufferevent *srv_peer_bev_new(struct event_base *base, evutil_socket_t fd)
{
    /* Peer messages are small and latency-bound, as ZooKeeper's are. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        evutil_closesocket(fd);
    return bev;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    srv_peers *p = arg;
    char addr[80];
    srv_net_addr_name(sa, socklen, addr, sizeof addr);
    if (p->n_unnamed >= MAX_UNNAMED) {
        srv_log(SRV_LOG_WARN,
                "election port: %d connections have not sent their initial message; "
                "closing %s",
                (int)MAX_UNNAMED, addr);
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = srv_peer_bev_new(p->base, fd);
    pcon *c = bev != NULL ? pcon_new(p, bev, false, addr) : NULL;
    if (c == NULL) {
        if (bev != NULL)
            bufferevent_free(bev);
        return;
    }
    p->n_unnamed++;
    bufferevent_setcb(bev, on_read, NULL, on_event, c);
    struct timeval tv = {CNX_TIMEOUT_S, 0};
    bufferevent_set_timeouts(bev, &tv, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void fmt_addr(char *buf, size_t cap, const char *host, int32_t port)
{
    /* NetUtils.formatInetAddr: an IPv6 literal in brackets. */
    snprintf(buf, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

int srv_peers_open(struct event_base *base, const srv_quorum *q, const srv_peers_cb *cb,
                   srv_peers **out, char *err, size_t err_len)
{
    srv_peers *p = calloc(1, sizeof *p);
    const srv_quorum_server *me = q->me;
    if (p == NULL || me == NULL) {
        snprintf(err, err_len, me == NULL ? "no server line for this server" : "out of memory");
        free(p);
        return -1;
    }
    p->base = base;
    p->cb = *cb;
    p->my_id = q->my_id;
    p->is_resend_on = true;
    wire_wr_init(&p->init);
    p->peers = calloc((size_t)q->n_servers, sizeof *p->peers);
    if (p->peers == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < q->n_servers; i++) {
        const srv_quorum_server *qs = &q->servers[i];
        if (qs->id == q->my_id)
            continue;
        peer *pr = &p->peers[p->n_peers++];
        pr->id = qs->id;
        pr->is_observer = qs->is_observer;
        fmt_addr(pr->addr, sizeof pr->addr, qs->host, qs->election_port);
        char why[300];
        if (srv_net_resolve(qs->host, qs->election_port, &pr->sa, &pr->sa_len, why, sizeof why) !=
            0) {
            /* ZooKeeper logs and keeps trying; so do we, without the address. */
            srv_log(SRV_LOG_WARN, "server.%" PRId64 ": %s; it cannot be reached", qs->id, why);
            pr->sa_len = 0;
        }
    }
    char addr[300];
    fmt_addr(addr, sizeof addr, me->host, me->election_port);
    wire_el_init m = {WIRE_EL_PROTOCOL_V1, q->my_id, {addr, (int32_t)strlen(addr)}};
    wire_el_init_encode(&p->init, &m);
    struct sockaddr_storage ss;
    int sslen = 0;
    char why[300];
    if (srv_net_resolve(me->host, me->election_port, &ss, &sslen, why, sizeof why) != 0) {
        snprintf(err, err_len, "election port: %s", why);
        goto fail;
    }
    p->listener =
        evconnlistener_new_bind(base, on_accept, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                (struct sockaddr *)&ss, sslen);
    if (p->listener == NULL) {
        snprintf(err, err_len, "cannot listen on the election port %s: %s", addr, strerror(errno));
        goto fail;
    }
    if (p->init.err != 0) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    srv_log(SRV_LOG_INFO, "election port: listening on %s", addr);
    *out = p;
    return 0;
fail:
    srv_peers_free(p);
    return -1;
}

void srv_peers_free(srv_peers *p)
{
    if (p == NULL)
        return;
    while (p->conns != NULL)
        pcon_close(p->conns, false, NULL);
    if (p->listener != NULL)
        evconnlistener_free(p->listener);
    for (size_t i = 0; i < p->n_peers; i++) {
        free(p->peers[i].pending);
        free(p->peers[i].last);
    }
    free(p->peers);
    wire_wr_fini(&p->init);
    free(p);
}

void srv_peers_send(srv_peers *p, int64_t to, const uint8_t *frame, size_t len)
{
    peer *pr = find_peer(p, to);
    if (pr == NULL)
        return;
    if (pr->cur != NULL) {
        pcon *c = pr->cur;
        write_frame(c, frame, len);
        if (pr->cur == c && set_buf(&pr->last, &pr->last_len, frame, len) != 0)
            clear_buf(&pr->last, &pr->last_len);
        return;
    }
    if (set_buf(&pr->pending, &pr->pending_len, frame, len) != 0) {
        srv_log(SRV_LOG_WARN, "out of memory queueing a notification for server %" PRId64, to);
        clear_buf(&pr->pending, &pr->pending_len);
    }
    dial(p, pr);
}

void srv_peers_connect(srv_peers *p, int64_t sid)
{
    peer *pr = find_peer(p, sid);
    if (pr != NULL)
        dial(p, pr);
}

void srv_peers_drop_pending(srv_peers *p)
{
    for (size_t i = 0; i < p->n_peers; i++) {
        clear_buf(&p->peers[i].pending, &p->peers[i].pending_len);
        clear_buf(&p->peers[i].last, &p->peers[i].last_len);
    }
}

void srv_peers_set_resend(srv_peers *p, bool on)
{
    p->is_resend_on = on;
}

void srv_peers_tick(srv_peers *p, int64_t now_ms)
{
    for (size_t i = 0; i < p->n_peers; i++) {
        peer *pr = &p->peers[i];
        if (pr->pending != NULL && pr->cur == NULL && pr->dial == NULL &&
            now_ms >= pr->next_dial_ms)
            dial(p, pr);
    }
}

bool srv_peers_is_up(const srv_peers *p, int64_t sid)
{
    for (size_t i = 0; i < p->n_peers; i++)
        if (p->peers[i].id == sid)
            return p->peers[i].cur != NULL;
    return false;
}
