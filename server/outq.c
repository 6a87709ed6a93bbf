/*
 * outq.c: what a connection is sent, and when.
 *
 * Each connection has its own ordered output: frames that may leave now go
 * straight into its output buffer; frames that must wait for a txn to become
 * durable are appended to the connection's `held` evbuffer, each described
 * by a mark (the zxid it waits for, its length, whether it answers a
 * request). When the log thread reports progress, srv_outq_drain() walks
 * only the connections that hold something and copies every frame whose
 * zxid is now durable into its output buffer (obuf.c), in one piece per
 * connection. A frame that may leave at once (every read's reply) is copied
 * once, from the scratch writer into the output buffer; a held one twice.
 *
 * Ordering. Within a connection frames leave in the order they were sent,
 * so a client sees the watch event before the reply that reflects the
 * change, and replies in request order; a frame that could leave at once
 * still waits behind held ones. Connections do not wait for one another.
 *
 * Accounting. A held frame that answers a request (every frame but a
 * notification, xid -1) is one outstanding request: the sum over
 * connections is what globalOutstandingLimit bounds (conn.c throttles
 * reading) and what srvr prints. A request is answered when its reply is
 * released: its latency, arrival to release, is recorded then.
 *
 * Memory. The bytes a connection can make the server hold are bounded:
 * reading from it stops while its output buffer holds more than
 * SRV_OUT_HIGH_WATER (conn.c), and a connection whose held plus unsent
 * output passes SRV_OUT_HARD_LIMIT (a client that never reads while events
 * for it keep coming) is closed with a log line, as a slow consumer.
 */
#include "server/srv_int.h"

#include <event2/buffer.h>
#include <string.h>

static void wait_list_add(srv *s, conn *c)
{
    if (c->out.is_waiting)
        return;
    c->out.is_waiting = true;
    c->out.wait_prev = s->waiting_tail;
    c->out.wait_next = NULL;
    if (s->waiting_tail != NULL)
        s->waiting_tail->out.wait_next = c;
    else
        s->waiting_head = c;
    s->waiting_tail = c;
}

static void wait_list_del(srv *s, conn *c)
{
    if (!c->out.is_waiting)
        return;
    c->out.is_waiting = false;
    if (c->out.wait_prev != NULL)
        c->out.wait_prev->out.wait_next = c->out.wait_next;
    else
        s->waiting_head = c->out.wait_next;
    if (c->out.wait_next != NULL)
        c->out.wait_next->out.wait_prev = c->out.wait_prev;
    else
        s->waiting_tail = c->out.wait_prev;
    c->out.wait_prev = c->out.wait_next = NULL;
}

static size_t unsent_bytes(conn *c)
{
    return srv_obuf_len(&c->outbuf) + c->out.held_bytes;
}

/* A frame left for the socket at now_us; a reply's request is done. */
static void frame_released(srv *s, conn *c, const held_mark *m, int64_t now)
{
    if (m->len == 0)
        return;
    c->packets_sent++;
    s->stats.packets_sent++;
    srv_stats_response_size(&s->stats, (int64_t)m->len - 4);
    if (!m->is_reply)
        return;
    srv_stats_request_done(&s->stats, &c->cs, m->op, m->is_update, m->cxid, m->zxid,
                           now - m->arrival_us, now / 1000);
}

static bool is_notification(const uint8_t *frame, size_t len)
{
    return len >= 8 && (int32_t)wire_get_be32(frame + 4) == WIRE_XID_NOTIFICATION;
}

/* After output grew: the slow-consumer limit, then the read high water. */
static void check_bounds(srv *s, conn *c)
{
    if (unsent_bytes(c) > SRV_OUT_HARD_LIMIT) {
        srv_log(SRV_LOG_WARN,
                "closing connection %s:%d session 0x%016" PRIx64
                ": %zu bytes of output not read by the client (limit %d)",
                c->addr, c->port, (uint64_t)c->session_id, unsent_bytes(c), SRV_OUT_HARD_LIMIT);
        s->stats.slow_consumer_closes++;
        srv_conn_close(c, "client does not read its output");
        return;
    }
    srv_conn_update_read(c);
}

static int mark_push(conn_out *o, const held_mark *m)
{
    if (o->n_marks == o->cap_marks) {
        size_t ncap = o->cap_marks ? o->cap_marks * 2 : 16;
        held_mark *nm = malloc(ncap * sizeof *nm);
        if (nm == NULL)
            return ZERR_NOMEM;
        for (size_t i = 0; i < o->n_marks; i++)
            nm[i] = o->marks[(o->mark_head + i) & (o->cap_marks - 1)];
        free(o->marks);
        o->marks = nm;
        o->cap_marks = ncap;
        o->mark_head = 0;
    }
    o->marks[(o->mark_head + o->n_marks++) & (o->cap_marks - 1)] = *m;
    return 0;
}

/* A frame that went straight into c's output buffer: counted as sent, and
 * written at the end of the loop iteration. */
static void sent_at_once(srv *s, conn *c, const held_mark *m)
{
    frame_released(s, c, m, m->is_reply ? srv_release_us(s) : 0);
    srv_conn_want_flush(c);
    if (m->close_after)
        srv_conn_close_when_flushed(c);
    else
        check_bounds(s, c);
}

void srv_send(srv *s, conn *c, int64_t zxid, wire_wr *w, bool close_after)
{
    ZK_ASSERT(wire_wr_err(w) == 0, "reply encoding failed: %d", wire_wr_err(w));
    if (c->dead || c->closing || c->is_remote) {
        wire_wr_reset(w);
        return;
    }
    bool is_reply = w->len > 0 && !is_notification(w->p, w->len);
    held_mark m = {zxid,       (uint32_t)w->len, c->req_arrival_us, c->req_op,
                   c->req_xid, is_reply,         c->req_is_update,  close_after};
    if (c->out.n_marks == 0 && zxid <= s->release_zxid) {
        if (srv_obuf_add(&c->outbuf, w->p, w->len) != 0) {
            wire_wr_reset(w);
            srv_log(SRV_LOG_ERROR, "out of memory writing to %s:%d", c->addr, c->port);
            srv_conn_close(c, "out of memory");
            return;
        }
        wire_wr_reset(w);
        sent_at_once(s, c, &m);
        return;
    }
    if (c->out.held == NULL)
        c->out.held = evbuffer_new();
    if (c->out.held == NULL || mark_push(&c->out, &m) != 0 ||
        evbuffer_add(c->out.held, w->p, w->len) != 0) {
        wire_wr_reset(w);
        srv_log(SRV_LOG_ERROR, "out of memory queueing output for %s:%d", c->addr, c->port);
        srv_conn_close(c, "out of memory");
        return;
    }
    c->out.held_bytes += w->len;
    if (is_reply) {
        c->out.n_replies++;
        s->outstanding++;
    }
    wait_list_add(s, c);
    wire_wr_reset(w);
    check_bounds(s, c);
}

wire_wr *srv_out_in_place(srv *s, conn *c, int64_t zxid)
{
    if (c->dead || c->closing || c->is_remote || c->out.n_marks > 0 || zxid > s->release_zxid)
        return NULL;
    return srv_obuf_frame_begin(&c->outbuf);
}

void srv_send_in_place(srv *s, conn *c, int64_t zxid, bool close_after)
{
    int64_t len = srv_obuf_frame_end(&c->outbuf);
    if (len < 0) {
        srv_log(SRV_LOG_ERROR, "out of memory writing to %s:%d", c->addr, c->port);
        srv_conn_close(c, "out of memory");
        return;
    }
    /* Every frame encoded in place answers a request: notifications go
     * through srv_send. */
    held_mark m = {zxid,       (uint32_t)len, c->req_arrival_us, c->req_op,
                   c->req_xid, true,          c->req_is_update,  close_after};
    sent_at_once(s, c, &m);
}

/* Moves c's frames that may leave now. */
static void release(srv *s, conn *c)
{
    conn_out *o = &c->out;
    size_t bytes = 0;
    bool close_now = false;
    int64_t now = srv_now_us(); /* one reading for everything released here */
    while (o->n_marks > 0) {
        held_mark *m = &o->marks[o->mark_head];
        if (m->zxid > s->release_zxid)
            break;
        bytes += m->len;
        frame_released(s, c, m, now);
        if (m->is_reply) {
            o->n_replies--;
            s->outstanding--;
        }
        o->mark_head = (o->mark_head + 1) & (o->cap_marks - 1);
        o->n_marks--;
        if (m->close_after) {
            close_now = true;
            break;
        }
    }
    if (bytes > 0) {
        if (srv_obuf_add_from(&c->outbuf, o->held, bytes) != 0) {
            srv_log(SRV_LOG_ERROR, "out of memory releasing output to %s:%d", c->addr, c->port);
            srv_conn_close(c, "out of memory");
            return;
        }
        o->held_bytes -= bytes;
        srv_conn_want_flush(c);
    }
    if (o->n_marks == 0)
        wait_list_del(s, c);
    if (close_now)
        srv_conn_close_when_flushed(c);
    else
        srv_conn_update_read(c);
}

void srv_outq_drain(srv *s)
{
    conn *next;
    for (conn *c = s->waiting_head; c != NULL; c = next) {
        next = c->out.wait_next;
        if (c->out.marks[c->out.mark_head].zxid <= s->release_zxid)
            release(s, c);
    }
    srv_conn_resume_throttled(s);
}

void srv_out_fini(srv *s, conn *c)
{
    conn_out *o = &c->out;
    wait_list_del(s, c);
    s->outstanding -= o->n_replies;
    o->n_replies = 0;
    o->n_marks = 0;
    o->held_bytes = 0;
    free(o->marks);
    o->marks = NULL;
    o->cap_marks = 0;
    if (o->held != NULL)
        evbuffer_free(o->held);
    o->held = NULL;
}
