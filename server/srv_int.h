/*
 * srv_int.h: the server process's state, shared by the files of server/.
 *
 * One libevent loop thread owns everything here. The only other thread is
 * storage's log thread, which touches nothing but `durable_posted` (under
 * `durable_mu`) and wakes the loop through `durable_ev`.
 *
 * Ordering. Every write is prepped, logged (queued to the log thread) and
 * applied to the tree at once, in zxid order. Nothing a client can see
 * leaves before the txn behind it is durable: replies, watch events and read
 * answers enter one FIFO (`outq`), each tagged with the zxid that must be
 * durable first (a read is tagged with the newest zxid assigned when it
 * arrived). The FIFO drains as the log thread reports progress. So a client
 * sees a watch event before the reply that reflects its change, replies of a
 * session leave in request order, and nothing unsynced is ever observed.
 */
#ifndef ZABD_SRV_INT_H
#define ZABD_SRV_INT_H

#include "server/config.h"
#include "server/idmap.h"
#include "session/sess.h"
#include "storage/stor.h"
#include "watch/watch.h"
#include "wire/wire.h"
#include "znode-tree/zt.h"

#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>

typedef struct srv srv;
typedef struct conn conn;

/* ---- logging (log.c) ---- */
enum { SRV_LOG_DEBUG, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- one client connection (conn.c) ---- */
struct conn {
    srv *s;
    struct bufferevent *bev;
    uint64_t id; /* watcher id */
    int64_t session_id;
    int32_t timeout_ms;
    bool handshaken;
    bool old_client; /* connect request without the readOnly byte */
    bool closing;    /* no more input is read; closes once output drains */
    bool dead;       /* bufferevent freed; kept while outq refers to it */
    int refs;        /* outq entries pointing here */
    char addr[64];
    int port;
    wire_acl *auth; /* (scheme, id) pairs; strings owned in auth_blob */
    char **auth_blob;
    int32_t n_auth;
    bool is_super;
    /* stats for cons/stat */
    uint64_t packets_recv, packets_sent;
    int64_t last_zxid_sent;
    int64_t established_ms;
    conn *prev, *next;
};

/* ---- the process ---- */
typedef struct outq_item {
    int64_t zxid; /* must be durable before this leaves */
    conn *c;
    uint8_t *bytes; /* a whole frame, owned */
    size_t len;
    bool close_after;
    struct outq_item *next;
} outq_item;

typedef struct srv_stats {
    uint64_t packets_recv, packets_sent;
    int64_t lat_min_ms, lat_max_ms, lat_total_ms;
    uint64_t lat_count;
    uint64_t fsync_batches;
} srv_stats;

struct srv {
    srv_config cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *tick_ev, *container_ev, *durable_ev, *sigterm_ev, *sigint_ev;
    zt_tree *tree;
    sess_table *sessions;
    watch_reg *watches;
    stor *st;
    int64_t last_zxid;    /* newest zxid assigned (and applied) */
    int64_t durable_zxid; /* newest zxid known durable, loop side */
    pthread_mutex_t durable_mu;
    int64_t durable_posted; /* written by the log thread */
    bool log_failed;
    outq_item *outq_head, *outq_tail;
    conn *conns;
    size_t n_conns;
    conn *reap; /* closed, freed by reap_ev (conn.c explains) */
    struct event *reap_ev;
    srv_idmap conn_by_id, conn_by_session;
    uint64_t next_conn_id;
    int64_t txns_since_snap;
    int64_t snap_trigger; /* snapCount with ZooKeeper's randomised offset */
    int64_t started_ms;
    uint32_t rng;
    srv_stats stats;
    /* scratch reused by every write */
    wire_wr txn;
    wire_wr reply;
    zt_out out;
    watch_delivery *dl;
    size_t n_dl, cap_dl;
};

/* time (time.c) */
int64_t srv_now_ms(void);  /* monotonic */
int64_t srv_wall_ms(void); /* wall clock, for ctime/mtime */

/* loop.c */
int srv_listen(srv *s, char *err, size_t err_len);
void srv_on_durable(void *arg, uint64_t zxid);
void srv_on_log_error(void *arg, const char *msg);
void srv_stop(srv *s);

/* conn.c */
void srv_conn_accept(srv *s, int fd, const char *addr, int port);
void srv_conn_close(conn *c, const char *why);
conn *srv_conn_by_id(srv *s, uint64_t id);
conn *srv_conn_by_session(srv *s, int64_t session_id);
/* Queues a frame (takes the bytes of w: w is reset) to leave once `zxid` is durable. */
void srv_send(srv *s, conn *c, int64_t zxid, wire_wr *w, bool close_after);
void srv_outq_drain(srv *s);
/* Drops everything queued (shutdown). */
void srv_outq_discard(srv *s);
/* Frees the connections closed since the last call (the reap event's job). */
void srv_conn_reap(srv *s);
/* Starts a reply frame: length placeholder + ReplyHeader. Finish with srv_reply_end. */
void srv_reply_begin(wire_wr *w, int32_t xid, int64_t zxid, int32_t err);
void srv_reply_end(wire_wr *w);

/* ops.c: a request from a handshaken connection */
void srv_dispatch(conn *c, const uint8_t *p, size_t len);
void srv_handshake(conn *c, const uint8_t *p, size_t len);
/* ConnectResponse; an invalid one (expired or wrong password) closes c after. */
void srv_send_connect_resp(srv *s, conn *c, int64_t zxid, int32_t timeout_ms, int64_t session_id,
                           bool valid);

/* commit.c: writes */
/* Preps, logs and applies a write; queues events and the reply. */
void srv_commit_write(conn *c, int32_t xid, int32_t type, const wire_write_req *q);
void srv_commit_multi(conn *c, int32_t xid, const wire_multi_req *m);
void srv_commit_error(conn *c, int32_t xid, int32_t type, int err);
/* Session txns. c may be NULL (expiry). */
int srv_commit_create_session(srv *s, conn *c, int64_t session_id, int32_t timeout_ms);
void srv_commit_close_session(srv *s, conn *c, int32_t xid, int64_t session_id);
void srv_commit_delete_container(srv *s, const char *path);
/* Applies one logged txn during recovery (no replies). */
int srv_replay_txn(srv *s, const uint8_t *p, size_t len);

/* auth.c */
int srv_auth_add(conn *c, const char *scheme, const char *id);
int srv_auth_packet(conn *c, wire_str scheme, wire_buf auth);
void srv_auth_view(const conn *c, zt_auth *out);
void srv_auth_free(conn *c);

/* fourlw.c */
bool srv_4lw_is_command(const uint8_t p[4]);
void srv_4lw_run(conn *c, const uint8_t p[4]);

/* recover.c */
int srv_recover(srv *s, char *err, size_t err_len);
void srv_maybe_snapshot(srv *s);

#endif
