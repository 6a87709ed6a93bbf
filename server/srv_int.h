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
 * answers are queued on their connection's own output (outq.c), each tagged
 * with the zxid that must be durable first (a read is tagged with the newest
 * zxid assigned when it arrived), and released as the log thread reports
 * progress. So a client sees a watch event before the reply that reflects
 * its change, replies of a session leave in request order, and nothing
 * unsynced is ever observed.
 */
#ifndef ZABD_SRV_INT_H
#define ZABD_SRV_INT_H

#include "server/config.h"
#include "server/idmap.h"
#include "server/sasl.h"
#include "server/stats.h"
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
typedef struct srv_ens srv_ens; /* server/ensemble.c */

/* ---- logging (log.c) ---- */
enum { SRV_LOG_DEBUG, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };
/* The lowest level printed. A constant: there is no run-time switch, so a
 * line below it costs nothing where its caller asks srv_log_on() first. */
enum { SRV_LOG_MIN_LEVEL = SRV_LOG_INFO };
static inline bool srv_log_on(int level)
{
    return level >= SRV_LOG_MIN_LEVEL;
}
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- what a connection is sent (outq.c) ---- */

/* Unwritten output a connection may leave in its outbuf before it stops
 * being read, and the held plus unsent output after which it is closed as
 * a consumer that does not keep up. */
enum { SRV_OUT_HIGH_WATER = 4 * 1024 * 1024, SRV_OUT_HARD_LIMIT = 64 * 1024 * 1024 };

/* One held frame: it leaves once `zxid` is durable. */
typedef struct held_mark {
    int64_t zxid;
    uint32_t len;       /* bytes in conn_out.held; 0 for a bare close */
    int64_t arrival_us; /* of the request it answers (is_reply) */
    int32_t op, cxid;   /* of that request, for the statistics */
    bool is_reply;      /* answers a request (every frame but a notification) */
    bool is_update;     /* that request logged a txn */
    bool close_after;
} held_mark;

typedef struct conn_out {
    struct evbuffer *held; /* frames waiting on durability, in order */
    held_mark *marks;      /* ring of n_marks, capacity a power of two */
    size_t mark_head, n_marks, cap_marks;
    size_t held_bytes;
    int32_t n_replies; /* held replies: this connection's outstanding requests */
    bool is_waiting;   /* on srv.waiting_head */
    conn *wait_prev, *wait_next;
} conn_out;

/* ---- a connection's unsent bytes (obuf.c) ---- */
typedef struct srv_obuf {
    wire_wr w;       /* unsent: w.p[off..w.len) */
    size_t off;
    size_t frame_at; /* where the frame begun in place starts, while in_frame */
    bool in_frame;
} srv_obuf;
static inline size_t srv_obuf_len(const srv_obuf *b)
{
    return b->w.len - b->off;
}
int srv_obuf_add(srv_obuf *b, const void *p, size_t n); /* 0, or -1 out of memory */
/* Moves the first n bytes of src (which holds at least n) to b. */
int srv_obuf_add_from(srv_obuf *b, struct evbuffer *src, size_t n);
/* Sends what the socket takes: 0 (all sent, or the socket is full), or -1
 * with errno for a socket error. */
int srv_obuf_write(srv_obuf *b, int fd);
/* A frame encoded in place at the end of b, which saves copying it from a
 * scratch writer: the returned writer is b's own, the frame starts at
 * b->frame_at (its 4-byte length prefix is the caller's to write), and
 * nothing else may be added to b until srv_obuf_frame_end. */
wire_wr *srv_obuf_frame_begin(srv_obuf *b);
/* Ends the frame: its length prefix is patched and its length, prefix
 * included, returned; or -1 when encoding it ran out of memory, and it is
 * dropped. */
int64_t srv_obuf_frame_end(srv_obuf *b);
void srv_obuf_fini(srv_obuf *b);

/* ---- one client connection (conn.c) ---- */
struct conn {
    srv *s;
    int fd;
    struct event *rd_ev, *wr_ev;
    struct evbuffer *inbuf; /* bytes read and not yet handled */
    srv_obuf outbuf;        /* bytes to write */
    uint64_t id;            /* watcher id */
    int64_t session_id;
    int32_t timeout_ms;
    bool handshaken;
    bool old_client;   /* connect request without the readOnly byte */
    bool closing;      /* no more input is read; closes once output drains */
    bool dead;         /* closed; freed by the reap event */
    bool is_reading;   /* EV_READ enabled (conn.c says when) */
    bool is_throttled; /* on srv.throttled */
    bool is_resume_pending;
    bool is_flush_pending; /* on srv.flush */
    bool is_write_pending; /* wr_ev added: the socket did not take it all */
    /* Stands for a learner's client in a REQUEST the leader runs (ensemble.c):
     * no socket, no indexes; what it is sent is dropped (the learner answers
     * its client when the txn commits). */
    bool is_remote;
    int64_t origin; /* is_remote: the learner whose REQUEST this is */
    conn_out out;
    /* A learner's requests waiting on the leader, and the reads queued
     * behind them (forward.c). */
    struct fwd_entry *fwd_head, *fwd_tail;
    size_t n_fwd;
    bool is_fwd_replay; /* forward.c is re-dispatching a queued frame */
    bool is_touched;    /* a request came since the last PING to the leader */
    uint64_t touch_epoch; /* srv.touch_epoch when its session was last touched */
    /* the request being handled, for the statistics of its reply */
    int64_t req_arrival_us;
    int32_t req_op, req_xid; /* req_op: what srv_stats_op_code names */
    bool req_is_update;      /* it logged a txn (commit.c) */
    srv_conn_stats cs;
    char addr[64];
    int port;
    wire_acl *auth; /* (scheme, id) pairs in ZooKeeper's order (auth.c); strings in auth_blob */
    char **auth_blob;
    int32_t n_auth;
    bool is_super;
    srv_sasl_conn *sasl; /* the SASL exchange once one began; freed by srv_auth_free */
    /* stats for cons/stat */
    uint64_t packets_recv, packets_sent;
    int64_t established_ms;
    conn *prev, *next; /* srv.conns, or srv.reap once dead */
    conn *thr_next;    /* srv.throttled */
    conn *rd_next;     /* srv.resume */
    conn *fl_next;     /* srv.flush */
};

/* ---- the process ---- */
struct srv {
    srv_config cfg;
    srv_sasl *sasl; /* NULL: no SASL exchange is offered (no JAAS section) */
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *tick_ev, *container_ev, *durable_ev, *sigterm_ev, *sigint_ev;
    zt_tree *tree;
    sess_table *sessions;
    watch_reg *watches;
    stor *st;
    int64_t last_zxid;    /* newest zxid assigned (and applied) */
    int64_t zxids_burned; /* handed out by requests that logged nothing; the next txn skips them */
    int64_t durable_zxid; /* newest zxid known durable, loop side */
    /* Held output up to this zxid may leave (outq.c): durable_zxid when
     * standalone; in an ensemble the leader's last commit, and on a learner
     * everything (it applies only committed txns). */
    int64_t release_zxid;
    pthread_mutex_t durable_mu;
    int64_t durable_posted; /* written by the log thread */
    bool log_failed;
    conn *conns;
    size_t n_conns;
    conn *reap; /* closed, freed by reap_ev (conn.c explains) */
    struct event *reap_ev;
    conn *waiting_head, *waiting_tail; /* connections holding output (outq.c) */
    int64_t outstanding;               /* held replies, all connections */
    conn *throttled;                   /* not read: globalOutstandingLimit */
    conn *resume;                      /* readable again with input buffered */
    struct event *resume_ev;
    struct event *submit_ev; /* hands this iteration's txns to the log thread */
    conn *flush;             /* connections with output to write */
    struct event *flush_ev;  /* writes them, after this iteration's callbacks */
    bool is_submit_pending;
    srv_idmap conn_by_id, conn_by_session;
    uint64_t next_conn_id;
    int64_t txns_since_snap;
    int64_t snap_trigger; /* snapCount with ZooKeeper's randomised offset */
    int64_t started_ms;
    uint32_t rng;
    srv_stats stats;
    srv_ens *ens;        /* ensemble mode: the election (ensemble.c); NULL standalone */
    uint64_t *fwd_syncs; /* a learner's forwarded syncs: conn ids, a ring (forward.c) */
    size_t fwd_sync_head, n_fwd_syncs, cap_fwd_syncs;
    int64_t trace_mask; /* ZooTrace's, for gtmk/stmk; gates request tracing */
    /* Clocks read once per batch of frames read (conn.c): the arrival time
     * of those requests and their session touch; the wall clock for their
     * txns and the release time of replies answered within the batch are
     * read when first needed (0 until then, and outside a batch). */
    int64_t batch_us, batch_wall_ms, batch_release_us;
    bool in_batch;
    /* Moves at each batch and whenever a session starts closing: a
     * connection whose touch_epoch is this one has had its session touched
     * at batch_us, and nothing a touch checks has changed since
     * (srv_dispatch, ops.c). */
    uint64_t touch_epoch;
    /* A leader waits for its proposals to commit before it snapshots its
     * tree for a SNAP sync: clients are not read meanwhile (ensemble.c). */
    bool is_paused;
    uint8_t rbuf[64 * 1024]; /* every recv lands here first (conn.c) */
    /* scratch reused by every write */
    wire_wr txn;
    wire_wr reply;
    zt_out out;
    watch_delivery *dl;
    size_t n_dl, cap_dl;
};

/* time (time.c) */
int64_t srv_now_ms(void);  /* monotonic */
int64_t srv_now_us(void);  /* monotonic */
int64_t srv_wall_ms(void); /* wall clock, for ctime/mtime */
/* The batch's readings (conn.c), or a fresh one outside a batch. */
int64_t srv_batch_wall_ms(srv *s);
int64_t srv_release_us(srv *s);

/* mem.c: where the tree's path index lives (kept out of snapshot children). */
const zt_index_mem *srv_index_mem(void);

/* lifecycle.c: see its top comment. Each returns 0 or a zerr with a
 * message in err; srv_close is safe after a partial srv_open. */
int srv_open(srv *s, char *err, size_t err_len);
int srv_serve(srv *s, char *err, size_t err_len);
void srv_close(srv *s);

/* loop.c */
/* The loop's own events: durable wake-up, reap, resume, timers. */
int srv_events_init(srv *s, char *err, size_t err_len);
/* The client port and the signals. */
int srv_listen(srv *s, char *err, size_t err_len);
void srv_on_durable(void *arg, uint64_t zxid);
void srv_on_log_error(void *arg, const char *msg);
void srv_stop(srv *s);

/* conn.c */
void srv_conn_accept(srv *s, int fd, const char *addr, int port);
/* Marks c dead and detaches it; freed later by the reap event (safe to
 * call from below any callback, also for another connection). */
void srv_conn_close(conn *c, const char *why);
/* Stops reading c and closes it once its output has left. */
void srv_conn_close_when_flushed(conn *c);
/* Enables or disables reading c from its state (closing, throttled,
 * output high water). */
void srv_conn_update_read(conn *c);
/* Lifts throttling once the outstanding total is under the limit. */
void srv_conn_resume_throttled(srv *s);
/* The resume event: throttling, then input buffered while not reading. */
void srv_conn_run_resumed(srv *s);
/* Frees the connections closed since the last call (the reap event's job). */
void srv_conn_reap(srv *s);
/* c has output to write: the flush event writes it (conn.c). */
void srv_conn_want_flush(conn *c);
/* The flush event: writes every connection on the flush list. */
void srv_conn_flush_all(srv *s);
/* Bytes straight to c's socket, past its held output (four-letter words). */
void srv_conn_write_raw(conn *c, const void *p, size_t n);
conn *srv_conn_by_id(srv *s, uint64_t id);
conn *srv_conn_by_session(srv *s, int64_t session_id);
/* Starts a reply frame: length placeholder + ReplyHeader. Finish with srv_reply_end. */
void srv_reply_begin(wire_wr *w, int32_t xid, int64_t zxid, int32_t err);
void srv_reply_end(wire_wr *w);
/* The length placeholder and ReplyHeader appended to w (a frame encoded in
 * place, srv_out_in_place). */
void srv_reply_header(wire_wr *w, int32_t xid, int64_t zxid, int32_t err);

/* outq.c */
/* Queues a frame (takes the bytes of w: w is reset) to leave once `zxid` is
 * durable, behind everything c holds; an empty w with close_after closes c
 * then. Frames for a closing or dead connection are dropped. */
void srv_send(srv *s, conn *c, int64_t zxid, wire_wr *w, bool close_after);
/* A reply at `zxid` to the request c is being handled for that may leave
 * at once (c holds nothing back and zxid is durable) is encoded straight
 * into c's output buffer: this returns that buffer's writer, with the
 * frame begun, or NULL when the reply must go through srv_send. Nothing
 * else may be sent to c before srv_send_in_place (with the same zxid)
 * sends it. */
wire_wr *srv_out_in_place(srv *s, conn *c, int64_t zxid);
void srv_send_in_place(srv *s, conn *c, int64_t zxid, bool close_after);
/* Releases what became durable, on every connection holding output. */
void srv_outq_drain(srv *s);
/* Drops c's held output (close). */
void srv_out_fini(srv *s, conn *c);

/* ops.c: a request from a handshaken connection */
void srv_dispatch(conn *c, const uint8_t *p, size_t len);
void srv_handshake(conn *c, const uint8_t *p, size_t len);
/* The leader runs a learner's REQUEST (rec: the request record after its
 * header) for c, a remote stand-in (conn.is_remote) carrying its session
 * and auth ids. */
void srv_dispatch_remote(conn *c, int32_t xid, int32_t type, const uint8_t *rec, size_t len);
/* ConnectResponse; an invalid one (expired or wrong password) closes c after. */
void srv_send_connect_resp(srv *s, conn *c, int64_t zxid, int32_t timeout_ms, int64_t session_id,
                           bool valid);
/* SyncResponse for c's sync (rec: its SyncRequest record), at the last zxid. */
void srv_reply_sync(conn *c, int32_t xid, const uint8_t *rec, size_t len);

/* commit.c: writes */
/* Preps, logs and applies a write; queues events and the reply. */
void srv_commit_write(conn *c, int32_t xid, int32_t type, const wire_write_req *q);
void srv_commit_multi(conn *c, int32_t xid, const wire_multi_req *m);
void srv_commit_error(conn *c, int32_t xid, int32_t type, int err);
/* Session txns. c may be NULL (expiry). */
int srv_commit_create_session(srv *s, conn *c, int64_t session_id, int32_t timeout_ms);
void srv_commit_close_session(srv *s, conn *c, int32_t xid, int64_t session_id);
/* createSession (opcode -10) from a connection that already has one: a
 * CreateSessionTxn for it, answered with a ConnectResponse, as ZooKeeper
 * does (its prep takes the timeout from the body, its final processor
 * calls finishSessionInit). */
void srv_commit_session_again(conn *c, int32_t xid, int32_t timeout_ms);
void srv_commit_delete_container(srv *s, const char *path);
/* The TxnDigest a logged txn carries after its body (ZooKeeper 3.8 logs
 * one; zabd's leader proposes one), as the apply step read it. */
typedef struct srv_txn_digest {
    bool has; /* exactly one TxnDigest followed the body */
    int32_t version;
    int64_t digest;
} srv_txn_digest;
/* Applies one logged txn during recovery (no replies); its TxnDigest in
 * *dg when dg is not NULL. */
int srv_replay_txn(srv *s, const uint8_t *p, size_t len, srv_txn_digest *dg);
/* A learner applies a txn the leader committed: as replay (its session is
 * added), and its watch events fire; *h is its header, *dg (if not NULL)
 * its TxnDigest. */
int srv_apply_commit(srv *s, const uint8_t *p, size_t len, wire_txn_hdr *h, srv_txn_digest *dg);
/* The reply to request (xid, type) of c from the txn just applied (s->out),
 * exactly as the write path answers it. */
void srv_reply_txn(srv *s, conn *c, int32_t xid, int32_t type, int64_t zxid);

/* auth.c */
int srv_auth_add(conn *c, const char *scheme, const char *id);
int srv_auth_packet(conn *c, wire_str scheme, wire_buf auth);
void srv_auth_view(const conn *c, zt_auth *out);
void srv_auth_free(conn *c);
/* A SASL request (opcode 102) with the client's token; answers it. */
void srv_auth_sasl(conn *c, int32_t xid, wire_buf token);
/* False when enforce.auth.* (or sessionRequireClientSASLAuth) requires a
 * scheme c lacks; the caller then answers SESSIONCLOSEDREQUIRESASLAUTH. */
bool srv_auth_enforced_ok(const conn *c);
/* SASL start-up: loads the JAAS file the configuration names (s->sasl stays
 * NULL when SASL is not offered, with a log line saying why). */
int srv_auth_sasl_setup(srv *s, char *err, size_t err_len);

/* fourlw.c */
/* What zabd reports as its version: kazoo's server_version() parses it. */
#define SRV_ZK_VERSION "3.8.0-zabd-0.1, built on " __DATE__ " " __TIME__ " GMT"
/* 0 if the first four bytes are no four-letter word zabd runs, else the
 * bytes the word takes (stmk carries a mask). */
size_t srv_4lw_len(const uint8_t p[4]);
/* Answers the word in p[0..len) and closes c once the answer has left. */
void srv_4lw_run(conn *c, const uint8_t *p, size_t len);
void srv_out(wire_wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* monitor.c: the words that report statistics */
void srv_4lw_srvr(srv *s, wire_wr *w);
void srv_4lw_stat(srv *s, wire_wr *w);
void srv_4lw_cons(srv *s, wire_wr *w);
void srv_4lw_crst(srv *s, wire_wr *w);
void srv_4lw_srst(srv *s, wire_wr *w);
void srv_4lw_mntr(srv *s, wire_wr *w);
void srv_4lw_gtmk(srv *s, wire_wr *w);
void srv_4lw_stmk(srv *s, wire_wr *w, int64_t mask);
void srv_4lw_hash(srv *s, wire_wr *w);
void srv_trace_init(srv *s); /* ZooTrace's default mask */

/* ensemble.c: an ensemble member's leader election (see its top comment) */
/* Listens on the election and quorum ports and starts the first election; 0, or -1
 * with a message in err. */
int srv_ens_start(srv *s, char *err, size_t err_len);
void srv_ens_stop(srv *s); /* safe when not started */
/* Standalone, or an ensemble member synced with its leader (leader
 * established, or learner after UPTODATE): clients are served. */
bool srv_is_serving(const srv *s);
/* "leader", "follower", "observer", "looking", or "standalone". */
const char *srv_ens_state(const srv *s);
/* Why an ensemble member refuses a client, for the log line. */
const char *srv_ens_not_serving_why(const srv *s);
/* The log made txns durable through upto_zxid (loop.c's durable event). */
void srv_ens_durable(srv *s, int64_t upto_zxid);
/* Standalone, or an ensemble's leader that serves: this server preps and
 * logs writes itself, expires sessions and deletes containers. */
bool srv_owns_writes(const srv *s);
/* A serving learner: client writes, sessions and syncs go to the leader. */
bool srv_ens_is_learner(const srv *s);
/* A leader's checkSession for a request of c's session (through the
 * learner c->origin when c is remote, else through me): 0, or the error
 * its txn must carry (SESSIONMOVED, SESSIONEXPIRED, UNKNOWNSESSION). */
int srv_ens_check_owner(srv *s, const conn *c);
/* The session's requests come through c's server from now on (created
 * or reconnected there). */
void srv_ens_set_owner(srv *s, const conn *c, int64_t session_id);
/* The leader's zxid for its next txn (zab_next_zxid), -1 when it cannot
 * propose. */
int64_t srv_ens_next_zxid(const srv *s);
/* The leader proposes txn (prepped at zxid); 0 or a zerr (the write is
 * then not applied and its connection closes). */
int srv_ens_propose(srv *s, const uint8_t *txn, size_t len, int64_t zxid);
/* A learner sends a quorum packet to its leader (forward.c's REQUESTs). */
void srv_ens_send_leader(srv *s, const uint8_t *p, size_t len);

/* forward.c: a learner's client requests (see its top comment) */
/* A request of c that the leader runs: REQUEST, then c waits for its commit. */
void srv_fwd_request(conn *c, int32_t xid, int32_t type, const uint8_t *rec, size_t len);
/* A new session for c: createSession goes to the leader; the connect
 * response leaves when it commits. */
void srv_fwd_connect(conn *c, int64_t session_id, int32_t timeout_ms);
/* Queues c's frame (xid, opcode, record) behind what c waits for, when it
 * must not overtake it: true if queued. */
bool srv_fwd_queue_frame(conn *c, bool is_forwarded, const uint8_t *frame, size_t len);
/* A committed txn was applied (s->out holds its results): answers the local
 * request it came from and runs what queued behind it. */
void srv_fwd_committed(srv *s, const wire_txn_hdr *h);
/* A client reconnects with session_id (its password checked): REVALIDATE
 * asks the leader; the connect response leaves with its answer. */
void srv_fwd_revalidate(conn *c, int64_t session_id, int32_t timeout_ms);
/* The leader's answer to a REVALIDATE. */
void srv_fwd_revalidated(srv *s, const wire_qp *qp);
/* The leader's SYNC: the oldest forwarded sync is through. */
void srv_fwd_sync_done(srv *s);
/* c closes: its waiting requests go. */
void srv_fwd_drop(conn *c);
/* The leader is gone: no SYNC will come for the syncs sent to it. */
void srv_fwd_reset(srv *s);
/* The session touches for the next PING to the leader (the sessions
 * heard from since the last one, whose marks it clears), encoded into w. */
void srv_fwd_touches(srv *s, wire_wr *w);
/* This member's zab, or NULL standalone (ens_report.c reads it). */
struct zab *srv_ens_zab(const srv *s);
/* Appends the ensemble's QuorumVerifier string (server lines, version) to w. */
void srv_ens_config_string(const srv *s, wire_wr *w);

/* ens_report.c: what srvr, stat, mntr and srst add in an ensemble, and the
 * /zookeeper/config node (see its top comment). Each is a no-op standalone. */
void srv_ens_report_stat(const srv *s, wire_wr *w);
void srv_ens_report_mntr(srv *s, wire_wr *w);
void srv_ens_report_reset(srv *s);
/* Sets /zookeeper/config to the ensemble's string: at start and after the
 * tree is rebuilt. Logs and goes on when out of memory. */
void srv_ens_config_node_set(srv *s);

/* recover.c */
int srv_recover(srv *s, char *err, size_t err_len);
/* Recovery again into a fresh tree and session table, for a TRUNC: the
 * old ones are freed. Only for a server with no clients or watches being
 * served (a learner being synced, for TRUNC or SNAP): nothing else is
 * reset. */
int srv_rebuild(srv *s, char *err, size_t err_len);
void srv_maybe_snapshot(srv *s);
/* The DataTree stream of the tree and sessions now (a snapshot file's body,
 * a SNAP sync's payload). */
int srv_snapshot_stream(srv *s, int (*emit)(void *ea, const void *p, size_t n), void *ea);
/* A learner's SNAP: the stream (checked) becomes this server's state: the
 * log is cut after zxid, snapshot.<zxid> written and synced, and the tree
 * and sessions rebuilt as at a restart. Synchronous (it waits on the disk).
 * 0, or a zerr with the reason in err (the caller stops the server). */
int srv_install_snapshot(srv *s, int64_t zxid, const uint8_t *stream, size_t len, char *err,
                         size_t err_len);
/* At a clean stop, after the loop: waits for the log to drain, then writes
 * a snapshot of everything committed (unless the newest one is already of
 * the last zxid). Logs and gives up on failure. */
void srv_snapshot_final(srv *s);

#endif
