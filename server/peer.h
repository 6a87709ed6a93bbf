/*
 * peer.h: the election port's connections (server/peer.c), as ZooKeeper
 * 3.8's QuorumCnxManager makes them. Internal to server/.
 *
 * The transport moves whole notification frames and knows nothing of
 * election: ensemble.c hands it frames to send and gets decoded
 * notifications back through the callbacks. Loop thread only.
 */
#ifndef ZABD_SERVER_PEER_H
#define ZABD_SERVER_PEER_H

#include "server/config.h"
#include "server/net.h"
#include "wire/wire.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct srv_peers srv_peers; /* layout in server/peer.c */

typedef struct srv_peers_cb {
    void *arg;
    /* A decoded notification from server `from` (borrowed for the call). */
    void (*on_notif)(void *arg, int64_t from, const wire_el_notif *n);
    /* The connection to `sid` failed or was closed by the other side (not
     * when zabd replaced or dropped it itself). */
    void (*on_down)(void *arg, int64_t sid);
} srv_peers_cb;

/* Resolves every other server's election address (this may do DNS: call
 * it before the loop runs) and listens on this server's. 0, or -1 with a
 * message in err. */
int srv_peers_open(struct event_base *base, const srv_quorum *q, const srv_peers_cb *cb,
                   srv_peers **out, char *err, size_t err_len);
/* Closes every connection and the listener. NULL is a no-op. */
void srv_peers_free(srv_peers *p);

/* Sends one whole frame (length included, copied) to `to`, or keeps it as
 * the one message waiting for `to` (a newer one replaces it, as
 * QuorumCnxManager's send queue of capacity one does) and starts a
 * connection if none is up or under way and the back-off allows. An id
 * that is not in the configuration is ignored. */
void srv_peers_send(srv_peers *p, int64_t to, const uint8_t *frame, size_t len);
/* Starts a connection to `sid` if none is up or under way (back-off
 * permitting), with nothing to send. */
void srv_peers_connect(srv_peers *p, int64_t sid);
/* Forgets every waiting message and the last message sent (sent again on
 * a new connection only while still wanted: see srv_peers_set_resend). */
void srv_peers_drop_pending(srv_peers *p);
/* Whether a new connection repeats the last message sent when nothing
 * waits (QuorumCnxManager.SendWorker does; wanted while LOOKING). */
void srv_peers_set_resend(srv_peers *p, bool on);
/* Retries connections for waiting messages whose back-off has passed. */
void srv_peers_tick(srv_peers *p, int64_t now_ms);
/* Whether a connection to `sid` is established (its initial message
 * exchanged and kept). */
bool srv_peers_is_up(const srv_peers *p, int64_t sid);

/* ---- The quorum port (server/quorum.c) ---------------------------------------- */

/* Quorum connections (2888): a leader accepts learners, a learner connects
 * to its leader. QuorumPackets back to back, no length frame. Knows nothing
 * of ZAB: ensemble.c hands it encoded packets and gets decoded ones back. */
typedef struct srv_qport srv_qport; /* layout in server/quorum.c */

typedef struct srv_qport_cb {
    void *arg;
    /* A learner's connection to its leader is open (not called on a leader). */
    void (*on_up)(void *arg, int64_t sid);
    /* A decoded packet from `from` (borrowed for the call). An accepted
     * connection's first packet, FOLLOWERINFO/OBSERVERINFO, names it. The
     * callee may close any connection, this one included. */
    void (*on_packet)(void *arg, int64_t from, const wire_qp *qp);
    /* A named connection failed or was closed by the other side, or its
     * input could not be read (not when ensemble.c closed it). */
    void (*on_down)(void *arg, int64_t sid);
    /* A learner's connection: a SNAP packet and the DataTree stream that
     * followed it, whole (its signature checked). Borrowed for the call. */
    void (*on_snap)(void *arg, int64_t from, const wire_qp *snap, const uint8_t *stream,
                    size_t len);
} srv_qport_cb;

/* Resolves every server's quorum address and listens on mine. max_len
 * bounds a packet (jute.maxbuffer plus the extra allowance). 0, or -1 with
 * a message in err. */
int srv_qport_open(struct event_base *base, const srv_quorum *q, int32_t max_len,
                   const srv_qport_cb *cb, srv_qport **out, char *err, size_t err_len);
void srv_qport_free(srv_qport *qp); /* NULL is a no-op */
/* Accept learners (true while LEADING); accepted connections are closed
 * while false. */
void srv_qport_set_leading(srv_qport *qp, bool on);
/* Connects to `sid`'s quorum port, retrying every 200 ms until deadline_ms
 * (the host's monotonic clock); on_up once it is open. */
void srv_qport_connect(srv_qport *qp, int64_t sid, int64_t deadline_ms);
/* Writes one encoded packet to `to`'s connection (copied); dropped with a
 * log line when there is none. */
void srv_qport_send(srv_qport *qp, int64_t to, const uint8_t *p, size_t len);
/* The same for a large stream (SNAP, a DIFF from disk), past the
 * unread-output bound (the learner reads it as it comes) and without a
 * copy: w's buffer goes to the connection, w is left empty. */
void srv_qport_send_owned(srv_qport *qp, int64_t to, wire_wr *w);
/* Closes `sid`'s connection (no on_down), or every connection and pending
 * connect. */
void srv_qport_close(srv_qport *qp, int64_t sid, const char *why);
/* A learner's connection to its leader synced: its end, however soon,
 * does not delay the next connect (the back-off is for syncs that fail). */
void srv_qport_synced(srv_qport *qp);
void srv_qport_close_all(srv_qport *qp, const char *why);
/* Accepted connections that named their server (a leader's learners). */
int32_t srv_qport_n_named(const srv_qport *qp);
/* Retries connects, frees closed connections. */
void srv_qport_tick(srv_qport *qp, int64_t now_ms);

/* A bufferevent owning an accepted peer connection's fd, with TCP_NODELAY
 * (both peer ports); NULL, and fd closed, when out of memory. peer.c. */
struct bufferevent;
struct bufferevent *srv_peer_bev_new(struct event_base *base, evutil_socket_t fd);

#endif
