/*
 * conn.c: client connections. Accepting, framing (4-byte big-endian
 * length), the four-letter words that may replace the first frame, when to
 * read, and closing. What a connection is sent lives in outq.c.
 *
 * Sockets. Each connection is a non-blocking socket with one persistent
 * read event, one write event, an input evbuffer and a flat output buffer
 * (obuf.c); no
 * bufferevent, whose reads ask the kernel for the readable byte count
 * first (an ioctl per read) and whose writes add and remove EPOLLOUT
 * interest around every round of replies. Reading is one recv into the
 * loop's read buffer; whole frames are handled from there and only a
 * remainder is kept in the input buffer. Writing: a connection given output joins
 * the flush list, and the flush event, after the callbacks of this loop
 * iteration, writes it straight to the socket; only what the socket does
 * not take at once waits for the write event (added until the output is
 * empty).
 *
 * Lifetime. srv_conn_close() only marks a connection dead: it leaves every
 * index, drops its held output, stops its events and joins the reap list.
 * The socket, the buffers and the struct are freed by the reap event, which
 * runs after the callback that closed it has returned. So any code below a
 * callback (dispatch, a commit, a 4lw) may close the connection it is
 * serving, or another one, and still read its struct afterwards.
 *
 * Reading. A connection is read while all of these hold: it is not
 * closing; its unsent output is under SRV_OUT_HIGH_WATER (a client that
 * does not read its replies stops being read); and it is not throttled.
 * Throttling is ZooKeeper's globalOutstandingLimit: while more requests are
 * outstanding server-wide than the limit, a connection that itself has an
 * outstanding request is not read further (ServerCnxn's disableRecv); it
 * resumes once the total is back under the limit. Frames already buffered
 * when a connection is throttled stay in its input buffer until then.
 */
#include "server/srv_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_free(conn *c)
{
    srv_stats_flush_conn(&c->s->stats, &c->cs); /* its requests count, as ZooKeeper's do */
    if (c->rd_ev != NULL)
        event_free(c->rd_ev);
    if (c->wr_ev != NULL)
        event_free(c->wr_ev);
    if (c->inbuf != NULL)
        evbuffer_free(c->inbuf);
    srv_obuf_fini(&c->outbuf);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    srv_auth_free(c);
    free(c);
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

static void throttle_list_del(srv *s, conn *c)
{
    if (!c->is_throttled)
        return;
    c->is_throttled = false;
    conn **pp = &s->throttled;
    while (*pp != c)
        pp = &(*pp)->thr_next;
    *pp = c->thr_next;
    c->thr_next = NULL;
}

static void resume_list_del(srv *s, conn *c)
{
    if (!c->is_resume_pending)
        return;
    c->is_resume_pending = false;
    conn **pp = &s->resume;
    while (*pp != c)
        pp = &(*pp)->rd_next;
    *pp = c->rd_next;
    c->rd_next = NULL;
}

static void flush_list_del(srv *s, conn *c)
{
    if (!c->is_flush_pending)
        return;
    c->is_flush_pending = false;
    conn **pp = &s->flush;
    while (*pp != c)
        pp = &(*pp)->fl_next;
    *pp = c->fl_next;
    c->fl_next = NULL;
}

static void want_resume(conn *c);

void srv_conn_close(conn *c, const char *why)
{
    srv *s = c->s;
    if (c->dead || c->is_remote)
        return;
    srv_log(SRV_LOG_INFO, "closed connection %s:%d session 0x%016" PRIx64 ": %s", c->addr, c->port,
            (uint64_t)c->session_id, why);
    c->dead = true;
    c->is_reading = false;
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
    srv_out_fini(s, c);
    srv_fwd_drop(c);
    throttle_list_del(s, c);
    resume_list_del(s, c);
    flush_list_del(s, c);
    /* The socket closes when the reaper frees the connection, later in this
     * loop iteration; until then nothing more is read or written. */
    event_del(c->rd_ev);
    event_del(c->wr_ev);
    c->prev = NULL;
    c->next = s->reap;
    s->reap = c;
    event_active(s->reap_ev, EV_READ, 0);
    /* Its outstanding requests are gone: others may be under the limit now. */
    if (s->throttled != NULL)
        event_active(s->resume_ev, EV_READ, 0);
}

/* Reading c again must also handle what it buffered meanwhile: libevent
 * announces only new bytes. The resume event does it, from the top of the
 * loop rather than inside whatever callback made c readable. */
static void want_resume(conn *c)
{
    srv *s = c->s;
    if (c->is_resume_pending)
        return;
    c->is_resume_pending = true;
    c->rd_next = s->resume;
    s->resume = c;
    event_active(s->resume_ev, EV_READ, 0);
}

void srv_conn_update_read(conn *c)
{
    if (c->dead)
        return;
    bool want = !c->closing && !c->is_throttled && !c->s->is_paused &&
                srv_obuf_len(&c->outbuf) <= SRV_OUT_HIGH_WATER;
    if (want == c->is_reading)
        return;
    c->is_reading = want;
    if (!want) {
        event_del(c->rd_ev);
        return;
    }
    event_add(c->rd_ev, NULL);
    /* The socket may hold bytes (or the FIN) that came while c was not
     * read, and an edge-triggered event announces only new ones: read it
     * empty now. */
    event_active(c->rd_ev, EV_READ | EV_CLOSED, 1);
    if (evbuffer_get_length(c->inbuf) > 0)
        want_resume(c);
}

void srv_conn_want_flush(conn *c)
{
    srv *s = c->s;
    if (c->dead || c->is_flush_pending)
        return;
    c->is_flush_pending = true;
    /* One activation for the whole list: it takes libevent's lock. */
    if (s->flush == NULL)
        event_active(s->flush_ev, EV_READ, 0);
    c->fl_next = s->flush;
    s->flush = c;
}

/* Writes what the socket takes now; the write event waits to write the
 * rest. */
static void conn_flush(conn *c)
{
    if (srv_obuf_write(&c->outbuf, c->fd) != 0) {
        c->s->stats.dropped_conns++;
        srv_conn_close(c, "socket error");
        return;
    }
    bool left = srv_obuf_len(&c->outbuf) > 0;
    if (left != c->is_write_pending) {
        c->is_write_pending = left;
        if (left)
            event_add(c->wr_ev, NULL);
        else
            event_del(c->wr_ev);
    }
    if (!left && c->closing)
        srv_conn_close(c, "closed by server");
    else
        srv_conn_update_read(c);
}

void srv_conn_flush_all(srv *s)
{
    while (s->flush != NULL) {
        conn *c = s->flush;
        s->flush = c->fl_next;
        c->fl_next = NULL;
        c->is_flush_pending = false;
        conn_flush(c);
    }
}

void srv_conn_write_raw(conn *c, const void *p, size_t n)
{
    if (c->dead)
        return;
    if (srv_obuf_add(&c->outbuf, p, n) != 0) {
        srv_conn_close(c, "out of memory");
        return;
    }
    srv_conn_want_flush(c);
}

void srv_conn_close_when_flushed(conn *c)
{
    if (c->dead || c->closing)
        return;
    c->closing = true;
    srv_conn_update_read(c);
    if (srv_obuf_len(&c->outbuf) == 0)
        srv_conn_close(c, "closed by server");
    else
        srv_conn_want_flush(c);
}

/* The socket takes more of what a flush left behind. */
static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    conn_flush(arg);
}

void srv_reply_header(wire_wr *w, int32_t xid, int64_t zxid, int32_t err)
{
    uint8_t *p = wire_wr_room(w, 20); /* one check for the four fields */
    if (p == NULL)
        return;
    wire_put_be32(p, 0); /* frame length, patched when the frame ends */
    wire_put_be32(p + 4, (uint32_t)xid);
    wire_put_be64(p + 8, (uint64_t)zxid);
    wire_put_be32(p + 16, (uint32_t)err);
}

void srv_reply_begin(wire_wr *w, int32_t xid, int64_t zxid, int32_t err)
{
    wire_wr_reset(w);
    srv_reply_header(w, xid, zxid, err);
}

void srv_reply_end(wire_wr *w)
{
    wire_wr_patch_i32(w, 0, (int32_t)(w->len - 4));
}

/* True when c may not take another request now (globalOutstandingLimit). */
static bool must_throttle(srv *s, conn *c)
{
    int32_t limit = s->cfg.global_outstanding_limit;
    if (limit <= 0 || s->outstanding <= limit || c->out.n_replies == 0)
        return false;
    if (!c->is_throttled) {
        c->is_throttled = true;
        c->thr_next = s->throttled;
        s->throttled = c;
        s->stats.throttled++;
        srv_conn_update_read(c);
    }
    return true;
}

/* Handles the whole frames in p[0..n) while c may be read (it stops once c
 * is closed, closing, throttled or over its output high water: a pipelined
 * burst of large reads must not pile up output). Returns the bytes used. */
static size_t handle_frames(conn *c, const uint8_t *p, size_t n)
{
    srv *s = c->s;
    size_t off = 0;
    while (c->is_reading && n - off >= 4) {
        const uint8_t *f = p + off;
        size_t word = !c->handshaken && c->packets_recv == 0 ? srv_4lw_len(f) : 0;
        if (word > 0) {
            if (n - off < word)
                break;         /* stmk's mask has not all arrived */
            c->packets_recv++; /* ZooKeeper counts a word as a packet received */
            s->stats.packets_recv++;
            srv_4lw_run(c, f, word);
            return off + word;
        }
        int32_t len = (int32_t)wire_get_be32(f);
        if (len < 0 || len > s->cfg.jute_maxbuffer) {
            /* ZooKeeper: "Len error", and the connection is closed. */
            srv_log(SRV_LOG_WARN, "client %s:%d sent a frame of %d bytes, over jute.maxbuffer %d",
                    c->addr, c->port, len, s->cfg.jute_maxbuffer);
            srv_conn_close(c, "frame length error");
            return n;
        }
        if (n - off - 4 < (size_t)len || must_throttle(s, c))
            break;
        c->packets_recv++;
        s->stats.packets_recv++;
        c->req_arrival_us = s->batch_us;
        c->req_op = INT32_MIN; /* dispatch names it; a reconnect stays uncounted */
        c->req_xid = 0;
        c->req_is_update = false;
        if (!c->handshaken)
            srv_handshake(c, f + 4, (size_t)len);
        else
            srv_dispatch(c, f + 4, (size_t)len);
        off += 4 + (size_t)len;
    }
    return off;
}

/* One reading of the clocks for every frame of a read: they arrived
 * together, and ZooKeeper's times are milliseconds anyway. */
static void batch_begin(srv *s)
{
    s->batch_us = srv_now_us();
    s->batch_wall_ms = s->batch_release_us = 0;
    s->in_batch = true;
    s->touch_epoch++;
}

static void batch_end(srv *s)
{
    s->in_batch = false;
}

int64_t srv_batch_wall_ms(srv *s)
{
    if (!s->in_batch)
        return srv_wall_ms();
    if (s->batch_wall_ms == 0)
        s->batch_wall_ms = srv_wall_ms();
    return s->batch_wall_ms;
}

/* A reply answered within the batch goes to the socket when the batch is
 * done; one reading, at the first, stands for all of them (microseconds
 * apart, in a statistic kept in milliseconds). */
int64_t srv_release_us(srv *s)
{
    if (!s->in_batch)
        return srv_now_us();
    if (s->batch_release_us == 0)
        s->batch_release_us = srv_now_us();
    return s->batch_release_us;
}

/* The frames kept in the input buffer: a partial frame, or what came while
 * c could not be read. */
static void read_frames(conn *c)
{
    batch_begin(c->s);
    while (c->is_reading && evbuffer_get_length(c->inbuf) >= 4) {
        size_t n = evbuffer_get_length(c->inbuf);
        size_t used = handle_frames(c, evbuffer_pullup(c->inbuf, -1), n);
        /* c may be dead now, but is not freed before this callback returns. */
        if (c->dead || used == 0)
            break;
        evbuffer_drain(c->inbuf, used);
    }
    batch_end(c->s);
}

/* Reads until the socket is empty or c may not be read. The read event is
 * edge-triggered: one recv that comes back short has emptied the socket,
 * unless the edge also carried the peer's FIN (EV_CLOSED), which no later
 * edge repeats; then, and when this runs without an edge (`what` holds
 * EV_CLOSED too), it reads on until the kernel says EAGAIN or EOF.
 *
 * The usual case, whole frames and nothing kept from before, is handled
 * straight from the loop's read buffer; only a remainder is copied into the
 * connection's input buffer (which keeps that buffer from allocating and
 * freeing a chain on every read). */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    conn *c = arg;
    srv *s = c->s;
    bool to_eagain = (what & EV_CLOSED) != 0;
    for (int round = 0; c->is_reading; round++) {
        if (round == 4) {
            /* A client that keeps the socket full waits for the others:
             * this callback runs again in the next loop iteration. */
            event_active(c->rd_ev, EV_READ | EV_CLOSED, 1);
            return;
        }
        ssize_t n = recv(c->fd, s->rbuf, sizeof s->rbuf, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                return;
            /* ZooKeeper counts a connection the client ends as dropped. */
            s->stats.dropped_conns++;
            srv_conn_close(c, n == 0 ? "client closed the connection" : "socket error");
            return;
        }
        if (evbuffer_get_length(c->inbuf) > 0) {
            if (evbuffer_add(c->inbuf, s->rbuf, (size_t)n) != 0)
                return srv_conn_close(c, "out of memory");
            read_frames(c);
        } else {
            batch_begin(s);
            size_t used = handle_frames(c, s->rbuf, (size_t)n);
            batch_end(s);
            if (!c->dead && used < (size_t)n &&
                evbuffer_add(c->inbuf, s->rbuf + used, (size_t)n - used) != 0)
                return srv_conn_close(c, "out of memory");
        }
        if ((size_t)n < sizeof s->rbuf && !to_eagain)
            return;
    }
}

void srv_conn_resume_throttled(srv *s)
{
    int32_t limit = s->cfg.global_outstanding_limit;
    if (s->throttled == NULL || (limit > 0 && s->outstanding > limit))
        return;
    conn *list = s->throttled;
    s->throttled = NULL;
    for (conn *c = list, *next; c != NULL; c = next) {
        next = c->thr_next;
        c->thr_next = NULL;
        c->is_throttled = false;
        srv_conn_update_read(c);
    }
}

void srv_conn_run_resumed(srv *s)
{
    srv_conn_resume_throttled(s);
    while (s->resume != NULL) {
        conn *c = s->resume;
        s->resume = c->rd_next;
        c->rd_next = NULL;
        c->is_resume_pending = false;
        if (c->is_reading)
            read_frames(c);
    }
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
            s->stats.rejected_conns++;
            evutil_closesocket(fd);
            return;
        }
    }
    conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        srv_log(SRV_LOG_ERROR, "out of memory accepting %s:%d", addr, port);
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    evutil_make_socket_nonblocking(fd);
    c->inbuf = evbuffer_new();
    c->rd_ev = event_new(s->base, fd, EV_READ | EV_CLOSED | EV_PERSIST | EV_ET, on_readable, c);
    c->wr_ev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
    if (c->inbuf == NULL || c->rd_ev == NULL || c->wr_ev == NULL) {
        srv_log(SRV_LOG_ERROR, "out of memory accepting %s:%d", addr, port);
        conn_free(c);
        return;
    }
    c->id = ++s->next_conn_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->port = port;
    c->established_ms = srv_wall_ms();
    srv_conn_stats_reset(&s->stats, &c->cs);
    if (srv_auth_add(c, "ip", addr) != 0 || srv_idmap_put(&s->conn_by_id, c->id, c) != 0) {
        srv_log(SRV_LOG_ERROR, "out of memory accepting %s:%d", addr, port);
        conn_free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    srv_conn_update_read(c);
    srv_log(SRV_LOG_DEBUG, "accepted connection from %s:%d", addr, port);
}
