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

/* Room for n more bytes at p + len; moves the unsent bytes to the front
 * first, so a buffer that is written as it fills does not grow. */
static int reserve(srv_obuf *b, size_t n)
{
    if (b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len >= n)
        return 0;
    size_t used = b->len - b->off;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, used);
        b->off = 0;
        b->len = used;
        if (b->cap - used >= n)
            return 0;
    }
    if (n > SIZE_MAX / 2 - used)
        return -1;
    size_t cap = b->cap < OBUF_MIN ? OBUF_MIN : b->cap;
    while (cap - used < n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int srv_obuf_add(srv_obuf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    int rc = reserve(b, n);
    if (rc != 0)
        return rc;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

int srv_obuf_add_from(srv_obuf *b, struct evbuffer *src, size_t n)
{
    if (n == 0)
        return 0;
    int rc = reserve(b, n);
    if (rc != 0)
        return rc;
    if (evbuffer_remove(src, b->p + b->len, n) != (int)n)
        return -1; /* the caller's accounting of src is wrong */
    b->len += n;
    return 0;
}

int srv_obuf_write(srv_obuf *b, int fd)
{
    while (b->off < b->len) {
        ssize_t n = send(fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        b->off += (size_t)n;
        if (b->off < b->len)
            return 0; /* the socket is full; the write event takes the rest */
    }
    b->off = b->len = 0;
    if (b->cap > OBUF_KEEP) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    return 0;
}

void srv_obuf_fini(srv_obuf *b)
{
    free(b->p);
    *b = (srv_obuf){0};
}
