/*
 * obuf.c: a client connection's unsent bytes, in one flat buffer.
 *
 * Why not an evbuffer. An evbuffer frees its chains as a write drains them
 * and allocates new ones for the next replies, so a connection that is sent
 * a round of small replies and writes them at once paid a malloc and a free
 * per round, plus the evbuffer's bookkeeping per reply; at 16 replies a
 * round that was a tenth of the loop thread's user time. A flat buffer
 * keeps its memory between rounds, and one send() takes it all.
 *
 * The buffer is a wire writer, so that a reply which may leave at once is
 * encoded straight into it (srv_obuf_frame_begin) rather than into a
 * scratch writer and copied here.
 *
 * Memory. The buffer grows to what is unsent (reading stops past
 * SRV_OUT_HIGH_WATER, conn.c) and is released once it drains if it grew
 * past OBUF_KEEP, so an idle connection holds at most OBUF_KEEP bytes and
 * one that was sent a large reply does not keep it.
 */
#include "server/srv_int.h"

#include <errno.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <string.h>
#include <sys/socket.h>

enum { OBUF_MIN = 4096, OBUF_KEEP = 16 * 1024 };

/* Room for n more bytes at the end; moves the unsent bytes to the front
 * first, so a buffer that is written as it fills does not grow. */
static int reserve(srv_obuf *b, size_t n)
{
    wire_wr *w = &b->w;
    if (b->off == w->len)
        b->off = w->len = 0;
    if (w->cap - w->len >= n)
        return 0;
    size_t used = w->len - b->off;
    if (b->off > 0) {
        memmove(w->p, w->p + b->off, used);
        b->off = 0;
        w->len = used;
        if (w->cap - used >= n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - used)
        return -1;
    size_t cap = w->cap < OBUF_MIN ? OBUF_MIN : w->cap;
    while (cap - used < n)
        cap *= 2;
    uint8_t *p = realloc(w->p, cap);
    if (p == NULL)
        return -1;
    w->p = p;
    w->cap = cap;
    return 0;
}

int srv_obuf_add(srv_obuf *b, const void *p, size_t n)
{
    ZK_ASSERT(!b->in_frame, "output added inside a frame encoded in place");
    if (n == 0)
        return 0;
    int rc = reserve(b, n);
    if (rc != 0)
        return rc;
    memcpy(b->w.p + b->w.len, p, n);
    b->w.len += n;
    return 0;
}

int srv_obuf_add_from(srv_obuf *b, struct evbuffer *src, size_t n)
{
    ZK_ASSERT(!b->in_frame, "output added inside a frame encoded in place");
    if (n == 0)
        return 0;
    int rc = reserve(b, n);
    if (rc != 0)
        return rc;
    if (evbuffer_remove(src, b->w.p + b->w.len, n) != (int)n)
        return -1; /* the caller's accounting of src is wrong */
    b->w.len += n;
    return 0;
}

wire_wr *srv_obuf_frame_begin(srv_obuf *b)
{
    ZK_ASSERT(!b->in_frame, "a frame begun in place inside another");
    /* Room for a usual reply; a larger one grows the writer as it goes. */
    if (reserve(b, 512) != 0)
        b->w.err = ZERR_NOMEM;
    b->in_frame = true;
    b->frame_at = b->w.len;
    return &b->w;
}

int64_t srv_obuf_frame_end(srv_obuf *b)
{
    ZK_ASSERT(b->in_frame, "no frame begun in place");
    wire_wr *w = &b->w;
    b->in_frame = false;
    if (wire_wr_err(w) != 0 || w->len - b->frame_at < 4) {
        w->len = b->frame_at;
        w->err = 0;
        return -1;
    }
    size_t n = w->len - b->frame_at;
    wire_wr_patch_i32(w, b->frame_at, (int32_t)(n - 4));
    return (int64_t)n;
}

int srv_obuf_write(srv_obuf *b, int fd)
{
    wire_wr *w = &b->w;
    while (b->off < w->len) {
        ssize_t n = send(fd, w->p + b->off, w->len - b->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        b->off += (size_t)n;
        if (b->off < w->len)
            return 0; /* the socket is full; the write event takes the rest */
    }
    b->off = w->len = 0;
    if (w->cap > OBUF_KEEP) {
        free(w->p);
        w->p = NULL;
        w->cap = 0;
    }
    return 0;
}

void srv_obuf_fini(srv_obuf *b)
{
    free(b->w.p);
    *b = (srv_obuf){0};
}
