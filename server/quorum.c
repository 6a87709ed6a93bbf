/*
 * quorum.c: the quorum port (2888) connections, as ZooKeeper 3.8's Leader
 * (LearnerCnxAcceptor, LearnerHandler) and Learner (connectToLeader) open
 * them, on the loop thread with libevent bufferevents.
 *
 * Wire: QuorumPacket records back to back with no length frame
 * (wire_qp_peek finds each one's end). A packet longer than max_len, or
 * bytes that do not decode as one, close that connection with a log line.
 * One exception, on a learner's connection: a SNAP packet is followed by a
 * DataTree stream (zt_snapshot_scan finds its end) and the string
 * "BenWasHere", which ZooKeeper's LearnerHandler writes as a signature;
 * both go to on_snap together with the packet.
 *
 * A leader accepts connections while ensemble.c says it leads (before
 * that they wait in the listen backlog); the first
 * packet must be FOLLOWERINFO or OBSERVERINFO whose LearnerInfo names a
 * server of the configuration of that learner type (an observer's
 * OBSERVERINFO, a participant's FOLLOWERINFO), not me; anything else closes
 * the connection. A newer connection from the same server replaces the old
 * one (reported down first), as a new LearnerHandler does. A learner
 * connects to its leader with a retry every 200 ms until the deadline it
 * is given (Learner.connectToLeader retries for initLimit ticks). A
 * connection to the leader that ended within 5 s of opening delays the
 * next connect (100 ms doubling to 3.2 s) unless it had synced: a sync
 * that keeps failing then costs a few attempts a second, not a busy loop,
 * while a leader lost soon after a good sync is followed at once.
 *
 * Closing from inside a callback is allowed: a closed connection is only
 * marked dead (its socket is freed at once) and the struct is freed on the
 * next tick, so callers up the stack can still test it.
 *
 * Not done: quorum SASL and TLS (quorum.auth.*, sslQuorum), multiAddress,
 * quorumListenOnAllIPs, re-resolving host names.
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
    RETRY_MS = 200,
    BACKOFF_MIN_MS = 100,
    BACKOFF_MAX_MS = 3200,
    BACKOFF_RESET_MS = 5000,      /* a leader connection up this long was a good one */
    FIRST_PACKET_S = 5,           /* an accepted connection names itself within this */
    OUT_LIMIT = 64 * 1024 * 1024, /* unread output after which a learner is closed */
    MAX_UNNAMED = 64,
};

typedef struct qconn qconn;
struct qconn {
    srv_qport *qp;
    struct bufferevent *bev; /* NULL once closed */
    int64_t sid;             /* -1 until named */
    bool is_outgoing;
    bool is_up;   /* outgoing: connected; accepted: named */
    bool in_snap; /* outgoing: the stream after a SNAP packet is arriving */
    wire_qp snap; /* that packet (no data) */
    zt_snapshot_scanner scan;
    wire_wr snap_buf; /* the stream so far, moved out of the input buffer */
    char addr[320];
    qconn *next;
};

typedef struct qserver {
    int64_t id;
    bool is_observer;
    char addr[300];
    struct sockaddr_storage sa;
    int sa_len;
} qserver;

struct srv_qport {
    struct event_base *base;
    srv_qport_cb cb;
    int64_t my_id;
    int32_t max_len;
    qserver *servers;
    size_t n_servers;
    struct evconnlistener *listener;
    bool is_leading;
    qconn *conns; /* live and dead; dead ones are freed on the tick */
    size_t n_unnamed;
    int64_t dial_sid; /* -1: no connect wanted */
    int64_t dial_deadline_ms, dial_next_ms;
    int32_t dial_tries;
    /* Back-off after a connection to the leader ended soon after it
     * opened (a sync the leader and I cannot complete): the next connect
     * waits, so a refused sync does not spin. */
    int64_t up_since_ms, backoff_until_ms;
    int32_t backoff_ms;
    /* The connection to the leader synced (srv_qport_synced): its end,
     * however soon, was the leader's loss, not a sync that cannot work,
     * so the next connect does not wait. */
    bool is_synced;
};

static qserver *find_server(srv_qport *qp, int64_t id)
{
    for (size_t i = 0; i < qp->n_servers; i++)
        if (qp->servers[i].id == id)
            return &qp->servers[i];
    return NULL;
}

static qconn *find_conn(srv_qport *qp, int64_t sid)
{
    for (qconn *c = qp->conns; c != NULL; c = c->next)
        if (c->bev != NULL && c->sid == sid && c->is_up)
            return c;
    return NULL;
}

static qconn *find_dial(srv_qport *qp)
{
    for (qconn *c = qp->conns; c != NULL; c = c->next)
        if (c->bev != NULL && c->is_outgoing)
            return c;
    return NULL;
}

/* report: tell ensemble.c a named connection went down. */
static void qconn_close(qconn *c, bool report, const char *why)
{
    srv_qport *qp = c->qp;
    if (c->bev == NULL)
        return;
    if (c->is_outgoing && c->is_up) {
        int64_t now = srv_now_ms();
        if (!qp->is_synced && now - qp->up_since_ms < BACKOFF_RESET_MS) {
            qp->backoff_ms = qp->backoff_ms == 0                    ? BACKOFF_MIN_MS
                             : qp->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS
                                                                    : qp->backoff_ms * 2;
            qp->backoff_until_ms = now + qp->backoff_ms;
        } else {
            qp->backoff_ms = 0;
        }
    }
    bool was_named = c->is_up && c->sid >= 0;
    if (why != NULL)
        srv_log(SRV_LOG_INFO, "quorum connection %s %s: %s", c->sid >= 0 ? "with server" : "from",
                c->addr, why);
    if (!c->is_outgoing && c->sid < 0)
        qp->n_unnamed--;
    bufferevent_free(c->bev);
    c->bev = NULL;
    wire_wr_fini(&c->snap_buf);
    if (report && was_named && qp->cb.on_down != NULL)
        qp->cb.on_down(qp->cb.arg, c->sid);
}

static void reap(srv_qport *qp)
{
    qconn **pp = &qp->conns;
    while (*pp != NULL) {
        qconn *c = *pp;
        if (c->bev == NULL) {
            *pp = c->next;
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

static qconn *qconn_new(srv_qport *qp, struct bufferevent *bev, bool is_outgoing, const char *addr)
{
    qconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->qp = qp;
    c->bev = bev;
    c->sid = -1;
    c->is_outgoing = is_outgoing;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->next = qp->conns;
    qp->conns = c;
    return c;
}

/* The first packet on an accepted connection: 0 with c named, or -1 (c
 * closed). */
static int name_conn(qconn *c, const wire_qp *pkt)
{
    srv_qport *qp = c->qp;
    wire_learner_info li;
    if (pkt->type != WIRE_QP_FOLLOWERINFO && pkt->type != WIRE_QP_OBSERVERINFO) {
        srv_log(SRV_LOG_WARN,
                "quorum port: %s sent packet type %d first, not FOLLOWERINFO/OBSERVERINFO: "
                "closing",
                c->addr, pkt->type);
        qconn_close(c, false, NULL);
        return -1;
    }
    int rc = wire_learner_info_decode(pkt->data, &li);
    if (rc != 0) {
        srv_log(SRV_LOG_WARN,
                "quorum port: %s sent a LearnerInfo that cannot be read (%s): closing", c->addr,
                wire_err_name(rc));
        qconn_close(c, false, NULL);
        return -1;
    }
    qserver *sv = find_server(qp, li.server_id);
    bool is_obs_info = pkt->type == WIRE_QP_OBSERVERINFO;
    if (sv == NULL || li.server_id == qp->my_id || sv->is_observer != is_obs_info) {
        srv_log(SRV_LOG_WARN,
                "quorum port: %s claims to be server %" PRId64 " (%s), which %s: closing", c->addr,
                li.server_id, is_obs_info ? "observer" : "follower",
                sv == NULL                  ? "is not in the configuration"
                : li.server_id == qp->my_id ? "is my own id"
                                            : "has the other learner type in the configuration");
        qconn_close(c, false, NULL);
        return -1;
    }
    qconn *old = find_conn(qp, li.server_id);
    if (old != NULL)
        qconn_close(old, true, "replaced by a newer connection from the same server");
    if (c->bev == NULL)
        return -1; /* the on_down above closed everything */
    qp->n_unnamed--;
    c->sid = li.server_id;
    c->is_up = true;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    srv_log(SRV_LOG_INFO, "quorum connection from server %" PRId64 " (%s) as %s", c->sid, c->addr,
            is_obs_info ? "observer" : "follower");
    snprintf(c->addr, sizeof c->addr, "%" PRId64, c->sid);
    return 0;
}

static const char SIGNATURE[] = "BenWasHere";

/* The snapshot after a SNAP packet: false while it is not all here (or the
 * connection closed), true once handed on. Its bytes move from the input
 * buffer into snap_buf as they come, a chain at a time, and the scan
 * resumes where it stopped: a stream of any size costs one copy, where
 * making the input buffer contiguous on every read would copy it again each
 * time. What follows the signature goes back to the front of the input. */
static bool read_snap(qconn *c, struct evbuffer *in)
{
    srv_qport *qp = c->qp;
    wire_wr *w = &c->snap_buf;
    size_t n;
    while ((n = evbuffer_get_contiguous_space(in)) > 0) {
        wire_wr_raw(w, evbuffer_pullup(in, (ssize_t)n), n);
        evbuffer_drain(in, n);
    }
    if (w->err != 0) {
        qconn_close(c, true, "out of memory reading a snapshot");
        return false;
    }
    size_t len = 0, sig = 4 + sizeof SIGNATURE - 1;
    int rc = zt_snapshot_scan(&c->scan, w->p, w->len, qp->max_len, &len);
    if (rc == 0 || (rc == 1 && w->len < len + sig))
        return false;
    if (rc < 0 || wire_get_be32(w->p + len) != sizeof SIGNATURE - 1 ||
        memcmp(w->p + len + 4, SIGNATURE, sizeof SIGNATURE - 1) != 0) {
        srv_log(SRV_LOG_WARN, "quorum connection %s: the snapshot after SNAP %s: closing", c->addr,
                rc < 0 ? "does not decode" : "lacks its signature");
        qconn_close(c, true, NULL);
        return false;
    }
    if (w->len > len + sig && evbuffer_prepend(in, w->p + len + sig, w->len - len - sig) != 0) {
        qconn_close(c, true, "out of memory reading");
        return false;
    }
    c->in_snap = false;
    if (qp->cb.on_snap != NULL)
        qp->cb.on_snap(qp->cb.arg, c->sid, &c->snap, w->p, len);
    wire_wr_fini(&c->snap_buf); /* closed or not, the stream is spent */
    wire_wr_init(&c->snap_buf);
    return c->bev != NULL;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    qconn *c = arg;
    srv_qport *qp = c->qp;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->bev != NULL) {
        size_t avail = evbuffer_get_length(in), len = 0;
        if (avail == 0)
            return;
        if (c->in_snap) {
            if (!read_snap(c, in))
                return;
            continue;
        }
        const uint8_t *b = evbuffer_pullup(in, -1);
        if (b == NULL) {
            qconn_close(c, true, "out of memory reading");
            return;
        }
        int rc = wire_qp_peek(b, avail, qp->max_len, &len);
        if (rc == 0)
            return;
        if (rc < 0) {
            srv_log(SRV_LOG_WARN,
                    "quorum connection %s: packet length or count past %d bytes (%s): closing",
                    c->addr, qp->max_len, wire_err_name(rc));
            qconn_close(c, true, NULL);
            return;
        }
        wire_rd r;
        wire_qp pkt;
        wire_rd_init(&r, b, len, qp->max_len);
        rc = wire_qp_decode(&r, &pkt);
        if (rc != 0) {
            srv_log(SRV_LOG_WARN,
                    "quorum connection %s: a packet that cannot be read (%s): closing", c->addr,
                    wire_err_name(rc));
            qconn_close(c, true, NULL);
            return;
        }
        if (!c->is_outgoing && c->sid < 0 && name_conn(c, &pkt) != 0) {
            wire_qp_fini(&pkt);
            return;
        }
        if (c->is_outgoing && pkt.type == WIRE_QP_SNAP) {
            c->in_snap = true;
            c->snap = (wire_qp){WIRE_QP_SNAP, pkt.zxid, {NULL, -1}, NULL, 0};
            c->scan = (zt_snapshot_scanner){0};
            wire_wr_reset(&c->snap_buf);
            wire_qp_fini(&pkt);
            evbuffer_drain(in, len);
            continue;
        }
        if (qp->cb.on_packet != NULL)
            qp->cb.on_packet(qp->cb.arg, c->sid, &pkt);
        wire_qp_fini(&pkt);
        if (c->bev != NULL)
            evbuffer_drain(in, len);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    qconn *c = arg;
    srv_qport *qp = c->qp;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bufferevent_set_timeouts(bev, NULL, NULL);
        c->is_up = true;
        qp->dial_sid = -1;
        qp->up_since_ms = srv_now_ms();
        qp->is_synced = false;
        srv_log(SRV_LOG_INFO,
                "quorum connection to the leader %" PRId64 " (%s) open after %d attempt(s)", c->sid,
                c->addr, qp->dial_tries);
        if (qp->cb.on_up != NULL)
            qp->cb.on_up(qp->cb.arg, c->sid);
        return;
    }
    const char *why = (what & BEV_EVENT_EOF) ? "closed by the other side"
                      : (what & BEV_EVENT_TIMEOUT)
                          ? "timed out"
                          : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
    if (c->is_outgoing && !c->is_up) {
        if (qp->dial_tries == 1)
            srv_log(SRV_LOG_INFO,
                    "cannot open a quorum connection to server %" PRId64
                    " at %s: %s (retrying every %d ms)",
                    c->sid, c->addr, why, (int)RETRY_MS);
        qconn_close(c, false, NULL);
        return;
    }
    qconn_close(c, true, why);
}

static void dial(srv_qport *qp, int64_t now)
{
    qserver *sv = find_server(qp, qp->dial_sid);
    if (sv == NULL || sv->sa_len == 0 || find_dial(qp) != NULL || now < qp->dial_next_ms)
        return;
    if (now >= qp->dial_deadline_ms) {
        srv_log(SRV_LOG_WARN,
                "gave up connecting to the leader %" PRId64 " at %s after %d attempts (initLimit)",
                sv->id, sv->addr, qp->dial_tries);
        qp->dial_sid = -1;
        return;
    }
    qp->dial_next_ms = now + RETRY_MS;
    qp->dial_tries++;
    struct bufferevent *bev = bufferevent_socket_new(qp->base, -1, BEV_OPT_CLOSE_ON_FREE);
    qconn *c = bev != NULL ? qconn_new(qp, bev, true, sv->addr) : NULL;
    if (c == NULL) {
        if (bev != NULL)
            bufferevent_free(bev);
        srv_log(SRV_LOG_WARN, "out of memory connecting to the leader %" PRId64, sv->id);
        return;
    }
    c->sid = sv->id;
    bufferevent_setcb(bev, on_read, NULL, on_event, c);
    struct timeval tv = {FIRST_PACKET_S, 0};
    bufferevent_set_timeouts(bev, NULL, &tv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&sv->sa, sv->sa_len) != 0)
        qconn_close(c, false, NULL);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    srv_qport *qp = arg;
    char addr[80];
    srv_net_addr_name(sa, socklen, addr, sizeof addr);
    if (!qp->is_leading || qp->n_unnamed >= MAX_UNNAMED) {
        srv_log(SRV_LOG_INFO, "quorum port: closing %s: %s", addr,
                !qp->is_leading ? "not leading" : "too many connections owe their LearnerInfo");
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = srv_peer_bev_new(qp->base, fd);
    qconn *c = bev != NULL ? qconn_new(qp, bev, false, addr) : NULL;
    if (c == NULL) {
        if (bev != NULL)
            bufferevent_free(bev);
        return;
    }
    qp->n_unnamed++;
    bufferevent_setcb(bev, on_read, NULL, on_event, c);
    struct timeval tv = {FIRST_PACKET_S, 0};
    bufferevent_set_timeouts(bev, &tv, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int srv_qport_open(struct event_base *base, const srv_quorum *q, int32_t max_len,
                   const srv_qport_cb *cb, srv_qport **out, char *err, size_t err_len)
{
    srv_qport *qp = calloc(1, sizeof *qp);
    if (qp == NULL || q->me == NULL) {
        snprintf(err, err_len, qp == NULL ? "out of memory" : "no server line for this server");
        free(qp);
        return -1;
    }
    qp->base = base;
    qp->cb = *cb;
    qp->my_id = q->my_id;
    qp->max_len = max_len;
    qp->dial_sid = -1;
    qp->servers = calloc((size_t)q->n_servers, sizeof *qp->servers);
    if (qp->servers == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    struct sockaddr_storage mine;
    int mine_len = 0;
    for (int32_t i = 0; i < q->n_servers; i++) {
        const srv_quorum_server *qs = &q->servers[i];
        qserver *sv = &qp->servers[qp->n_servers++];
        sv->id = qs->id;
        sv->is_observer = qs->is_observer;
        snprintf(sv->addr, sizeof sv->addr, strchr(qs->host, ':') ? "[%s]:%d" : "%s:%d", qs->host,
                 qs->quorum_port);
        char why[300];
        if (srv_net_resolve(qs->host, qs->quorum_port, &sv->sa, &sv->sa_len, why, sizeof why) !=
            0) {
            if (qs->id == q->my_id) {
                snprintf(err, err_len, "quorum port: %s", why);
                goto fail;
            }
            srv_log(SRV_LOG_WARN, "server.%" PRId64 ": quorum port: %s; it cannot be reached",
                    qs->id, why);
            sv->sa_len = 0;
        }
        if (qs->id == q->my_id) {
            mine = sv->sa;
            mine_len = sv->sa_len;
        }
    }
    qserver *me = find_server(qp, q->my_id);
    /* Bound for the whole run, accepting only while leading: the port
     * check at start (quorum_ports.c) found it free, and keeping it avoids
     * losing it to another process between terms. */
    qp->listener =
        evconnlistener_new_bind(base, on_accept, qp, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                (struct sockaddr *)&mine, mine_len);
    if (qp->listener == NULL) {
        snprintf(err, err_len, "cannot listen on the quorum port %s: %s", me->addr,
                 strerror(errno));
        goto fail;
    }
    evconnlistener_disable(qp->listener);
    srv_log(SRV_LOG_INFO, "quorum port: listening on %s (accepting learners only while leading)",
            me->addr);
    *out = qp;
    return 0;
fail:
    srv_qport_free(qp);
    return -1;
}

void srv_qport_free(srv_qport *qp)
{
    if (qp == NULL)
        return;
    for (qconn *c = qp->conns; c != NULL; c = c->next)
        qconn_close(c, false, NULL);
    reap(qp);
    if (qp->listener != NULL)
        evconnlistener_free(qp->listener);
    free(qp->servers);
    free(qp);
}

void srv_qport_set_leading(srv_qport *qp, bool on)
{
    if (on == qp->is_leading)
        return;
    qp->is_leading = on;
    /* Not accepting (rather than accepting and closing) lets a learner
     * that decided before me wait in the backlog instead of seeing its
     * connection closed and giving up on me. */
    if (on)
        evconnlistener_enable(qp->listener);
    else
        evconnlistener_disable(qp->listener);
}

void srv_qport_connect(srv_qport *qp, int64_t sid, int64_t deadline_ms)
{
    qp->dial_sid = sid;
    qp->dial_deadline_ms = deadline_ms;
    qp->dial_next_ms = qp->backoff_until_ms;
    qp->dial_tries = 0;
    if (qp->backoff_until_ms > srv_now_ms())
        srv_log(SRV_LOG_INFO,
                "connecting to the leader %" PRId64 " in %d ms (the last connection ended "
                "early)",
                sid, (int)(qp->backoff_until_ms - srv_now_ms()));
    dial(qp, srv_now_ms());
}

void srv_qport_send(srv_qport *qp, int64_t to, const uint8_t *p, size_t len)
{
    qconn *c = find_conn(qp, to);
    if (c == NULL) {
        srv_log(SRV_LOG_DEBUG, "no quorum connection with server %" PRId64 ": packet dropped", to);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) + len > OUT_LIMIT) {
        srv_log(SRV_LOG_WARN,
                "quorum connection with server %" PRId64
                " does not read (%zu bytes unsent): closing",
                to, evbuffer_get_length(out));
        qconn_close(c, true, NULL);
        return;
    }
    if (bufferevent_write(c->bev, p, len) != 0)
        qconn_close(c, true, "out of memory writing");
}

static void free_sent(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void srv_qport_send_owned(srv_qport *qp, int64_t to, wire_wr *w)
{
    qconn *c = find_conn(qp, to);
    uint8_t *p = w->p;
    size_t len = w->len;
    wire_wr_init(w); /* the bytes are the connection's now, or freed */
    if (c == NULL) {
        srv_log(SRV_LOG_WARN, "no quorum connection with server %" PRId64 ": %zu bytes dropped", to,
                len);
        free(p);
        return;
    }
    if (evbuffer_add_reference(bufferevent_get_output(c->bev), p, len, free_sent, NULL) != 0) {
        free(p);
        qconn_close(c, true, "out of memory writing");
    }
}

void srv_qport_synced(srv_qport *qp)
{
    qp->is_synced = true;
    qp->backoff_ms = 0;
    qp->backoff_until_ms = 0;
}

void srv_qport_close(srv_qport *qp, int64_t sid, const char *why)
{
    for (qconn *c = qp->conns; c != NULL; c = c->next)
        if (c->bev != NULL && c->sid == sid)
            qconn_close(c, false, why);
    if (qp->dial_sid == sid)
        qp->dial_sid = -1;
}

void srv_qport_close_all(srv_qport *qp, const char *why)
{
    for (qconn *c = qp->conns; c != NULL; c = c->next)
        if (c->bev != NULL)
            qconn_close(c, false, c->sid >= 0 ? why : NULL);
    qp->dial_sid = -1;
}

int32_t srv_qport_n_named(const srv_qport *qp)
{
    int32_t n = 0;
    for (const qconn *c = qp->conns; c != NULL; c = c->next)
        if (c->bev != NULL && !c->is_outgoing && c->is_up)
            n++;
    return n;
}

void srv_qport_tick(srv_qport *qp, int64_t now_ms)
{
    reap(qp);
    if (qp->dial_sid >= 0 && find_conn(qp, qp->dial_sid) == NULL)
        dial(qp, now_ms);
}
