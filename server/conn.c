/*
 * conn.c: client connections. Framing (4-byte big-endian length), the
 * four-letter words that may replace the first frame, the ordered output
 * queue described in srv_int.h, and closing.
 *
 * Lifetime. srv_conn_close() only marks a connection dead: it leaves every
 * index, stops its callbacks and joins the reap list. The bufferevent and
 * the struct are freed by the reap event, which runs after the callback that
 * closed it has returned, and only once no queued output names it (refs).
 * So any code below a callback (dispatch, a commit, a 4lw) may close the
 * connection it is serving and still read its struct afterwards.
 */
#include "server/srv_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <string.h>

/* Stop reading a client whose unread replies pile up past this. */
enum { OUTPUT_HIGH_WATER = 8 * 1024 * 1024 };

static void conn_free(conn *c)
{
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    srv_auth_free(c);
    free(c);
}

/* Puts a dead connection nobody refers to on the reap list. */
static void reap_later(conn *c)
{
    srv *s = c->s;
    c->next = s->reap;
    s->reap = c;
    event_active(s->reap_ev, EV_READ, 0);
}

static void conn_unref(conn *c)
{
    if (--c->refs == 0 && c->dead)
        reap_later(c);
}

void srv_conn_reap(srv *s)
{
    while (s->reap != NULL) {
        conn *c = s->reap;
        s->reap = c->next;
        conn_free(c);
    }
}

conn *srv_conn_by_id(srv *s, uint64_t id)
{
    return srv_idmap_get(&s->conn_by_id, id);
}

conn *srv_conn_by_session(srv *s, int64_t session_id)
{
    return srv_idmap_get(&s->conn_by_session, (uint64_t)session_id);
}

void srv_conn_close(conn *c, const char *why)
{
    srv *s = c->s;
    if (c->dead)
        return;
    srv_log(SRV_LOG_INFO, "closed connection %s:%d session 0x%016" PRIx64 ": %s", c->addr, c->port,
            (uint64_t)c->session_id, why);
    c->dead = true;
    watch_remove_watcher(s->watches, c->id);
    srv_idmap_del(&s->conn_by_id, c->id);
    if (c->session_id != 0 && srv_conn_by_session(s, c->session_id) == c)
        srv_idmap_del(&s->conn_by_session, (uint64_t)c->session_id);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->n_conns--;
    c->prev = c->next = NULL;
    /* The socket closes when the reaper frees the bufferevent, later in
     * this loop iteration; until then nothing more is read or written. */
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    if (c->refs == 0)
        reap_later(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->closing) {
        srv_conn_close(c, "closed by server");
        return;
    }
    /* Output drained below the low-water mark: read again. */
    bufferevent_enable(bev, EV_READ);
}

static void write_frame(conn *c, const uint8_t *p, size_t len)
{
    if (c->dead || len == 0)
        return;
    bufferevent_write(c->bev, p, len);
    c->packets_sent++;
    c->s->stats.packets_sent++;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUTPUT_HIGH_WATER)
        bufferevent_disable(c->bev, EV_READ);
}

static void close_when_flushed(conn *c)
{
    if (c->dead)
        return;
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        srv_conn_close(c, "closed by server");
}

void srv_reply_begin(wire_wr *w, int32_t xid, int64_t zxid, int32_t err)
{
    wire_wr_reset(w);
    wire_wr_i32(w, 0); /* frame length, patched by srv_reply_end */
    wire_wr_i32(w, xid);
    wire_wr_i64(w, zxid);
    wire_wr_i32(w, err);
}

void srv_reply_end(wire_wr *w)
{
    wire_wr_patch_i32(w, 0, (int32_t)(w->len - 4));
}

void srv_send(srv *s, conn *c, int64_t zxid, wire_wr *w, bool close_after)
{
    ZK_ASSERT(wire_wr_err(w) == 0, "reply encoding failed: %d", wire_wr_err(w));
    if (s->outq_head == NULL && zxid <= s->durable_zxid) {
        write_frame(c, w->p, w->len);
        wire_wr_reset(w);
        if (close_after)
            close_when_flushed(c);
        return;
    }
    outq_item *it = malloc(sizeof *it);
    uint8_t *bytes = malloc(w->len);
    ZK_ASSERT(it != NULL && bytes != NULL, "out of memory queueing %zu bytes", w->len);
    memcpy(bytes, w->p, w->len);
    *it = (outq_item){zxid, c, bytes, w->len, close_after, NULL};
    c->refs++;
    if (s->outq_tail != NULL)
        s->outq_tail->next = it;
    else
        s->outq_head = it;
    s->outq_tail = it;
    wire_wr_reset(w);
}

void srv_outq_drain(srv *s)
{
    while (s->outq_head != NULL && s->outq_head->zxid <= s->durable_zxid) {
        outq_item *it = s->outq_head;
        s->outq_head = it->next;
        if (s->outq_head == NULL)
            s->outq_tail = NULL;
        write_frame(it->c, it->bytes, it->len);
        if (it->close_after)
            close_when_flushed(it->c);
        conn_unref(it->c);
        free(it->bytes);
        free(it);
    }
}

void srv_outq_discard(srv *s)
{
    while (s->outq_head != NULL) {
        outq_item *it = s->outq_head;
        s->outq_head = it->next;
        conn_unref(it->c);
        free(it->bytes);
        free(it);
    }
    s->outq_tail = NULL;
}

/* Reads every whole frame in the input buffer. */
static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    srv *s = c->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->dead && !c->closing) {
        uint8_t hdr[4];
        if (evbuffer_copyout(in, hdr, 4) < 4)
            return;
        if (!c->handshaken && c->packets_recv == 0 && srv_4lw_is_command(hdr)) {
            evbuffer_drain(in, 4);
            srv_4lw_run(c, hdr);
            return;
        }
        int32_t len = (int32_t)wire_get_be32(hdr);
        if (len < 0 || len > s->cfg.jute_maxbuffer) {
            /* ZooKeeper: "Len error", and the connection is closed. */
            srv_log(SRV_LOG_WARN, "client %s:%d sent a frame of %d bytes, over jute.maxbuffer %d",
                    c->addr, c->port, (int32_t)wire_get_be32(hdr), s->cfg.jute_maxbuffer);
            srv_conn_close(c, "frame length error");
            return;
        }
        if (evbuffer_get_length(in) < 4 + (size_t)len)
            return;
        const uint8_t *p = evbuffer_pullup(in, 4 + (ssize_t)len);
        c->packets_recv++;
        s->stats.packets_recv++;
        if (!c->handshaken)
            srv_handshake(c, p + 4, (size_t)len);
        else
            srv_dispatch(c, p + 4, (size_t)len);
        if (!c->dead)
            evbuffer_drain(in, 4 + (size_t)len);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    if (what & BEV_EVENT_EOF)
        srv_conn_close(c, "client closed the connection");
    else if (what & BEV_EVENT_ERROR)
        srv_conn_close(c, "socket error");
}

void srv_conn_accept(srv *s, int fd, const char *addr, int port)
{
    if (s->cfg.max_client_cnxns > 0) {
        int same = 0;
        for (conn *o = s->conns; o != NULL; o = o->next)
            same += strcmp(o->addr, addr) == 0;
        if (same >= s->cfg.max_client_cnxns) {
            srv_log(SRV_LOG_WARN, "too many connections from %s - max is %d", addr,
                    s->cfg.max_client_cnxns);
            evutil_closesocket(fd);
            return;
        }
    }
    conn *c = calloc(1, sizeof *c);
    struct bufferevent *bev = c ? bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
    if (bev == NULL) {
        srv_log(SRV_LOG_ERROR, "out of memory accepting %s:%d", addr, port);
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    c->bev = bev;
    c->id = ++s->next_conn_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->port = port;
    c->established_ms = srv_wall_ms();
    if (srv_auth_add(c, "ip", addr) != 0 || srv_idmap_put(&s->conn_by_id, c->id, c) != 0) {
        srv_log(SRV_LOG_ERROR, "out of memory accepting %s:%d", addr, port);
        bufferevent_free(bev);
        conn_free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(bev, EV_WRITE, OUTPUT_HIGH_WATER / 2, 0);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    srv_log(SRV_LOG_DEBUG, "accepted connection from %s:%d", addr, port);
}
