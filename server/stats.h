/*
 * server/stats.h: the figures srvr, stat, cons and mntr print, as
 * ZooKeeper 3.8 defines them, each recorded where the thing it counts
 * happens (stats.c says where). Internal to server/.
 *
 * Request latencies are whole milliseconds per sample, as ZooKeeper
 * records them (arrival and release are read in microseconds and the
 * difference truncated); storage's fsync times are microseconds, printed
 * in milliseconds.
 */
#ifndef ZABD_SERVER_STATS_H
#define ZABD_SERVER_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Log-linear buckets: exact below 16, then 16 per power of two, so a
 * percentile is within 1/16 of the true value. */
enum { SRV_HIST_BUCKETS = 61 * 16 };

/* ZooKeeper's Summary (avg/min/max/cnt/sum), with percentiles when
 * has_pct (its SummarySet p50/p95/p99/p999). */
typedef struct srv_summary {
    uint64_t count;
    int64_t sum, min, max;
    bool has_pct;
    uint32_t *hist; /* SRV_HIST_BUCKETS, allocated on first use */
} srv_summary;

void srv_summary_add(srv_summary *s, int64_t v);
/* n samples of the same value at once. */
void srv_summary_add_n(srv_summary *s, int64_t v, uint64_t n);
/* The value below which pct % of the samples lie (0 when empty). */
int64_t srv_summary_pct(const srv_summary *s, double pct);
void srv_summary_reset(srv_summary *s);
void srv_summary_fini(srv_summary *s);

/* Per connection, for cons (ServerCnxn's figures). */
typedef struct srv_conn_stats {
    const char *last_op; /* "NA" until a counted reply left */
    int64_t last_cxid;   /* -1 when none */
    int64_t last_zxid;
    int64_t last_response_ms; /* monotonic */
    int64_t last_latency_ms, min_latency_ms, max_latency_ms, total_latency_ms;
    uint64_t count;
} srv_conn_stats;

/* Answered requests not yet added to the summaries: a run of requests of
 * one connection with one latency, one kind (read or update) and one
 * release time, as a round of pipelined requests that a read brought in
 * and that left at once is. Adding them one at a time was a tenth of the
 * loop thread's user time per getData. */
typedef struct srv_done_run {
    srv_conn_stats *cs; /* whose; meaningful while n > 0 */
    int64_t ms, now_ms;
    bool is_update;
    uint64_t n;
    const char *last_op; /* the run's last request, for cons */
    int64_t last_cxid, last_zxid;
} srv_done_run;

typedef struct srv_stats {
    uint64_t packets_recv, packets_sent;
    srv_summary latency_ms;        /* every request ZooKeeper counts */
    srv_summary read_latency_ms;   /* requests without a txn */
    srv_summary update_latency_ms; /* requests with a txn */
    int64_t last_response_size, min_response_size, max_response_size;
    bool has_response_size;
    uint64_t fsync_batches;
    uint64_t throttled;            /* times a connection was throttled */
    uint64_t slow_consumer_closes; /* connections closed for not reading */
    uint64_t rejected_conns;       /* refused by maxClientCnxns */
    uint64_t dropped_conns;        /* closed by the client (ZooKeeper's "drop") */
    uint64_t auth_failures;        /* addAuth or SASL answered AUTHFAILED */
    srv_done_run run;              /* see srv_stats_flush */
} srv_stats;

/* Resets a connection's figures; st's pending run is added first if it is
 * that connection's. */
void srv_conn_stats_reset(srv_stats *st, srv_conn_stats *cs);

/* ZooKeeper's four-letter code of an operation in cons ("GETD", "CREA"),
 * or NULL for requests ZooKeeper does not count (auth, SASL, reconnects). */
const char *srv_stats_op_code(int32_t op);

/* A reply left: `bytes` is header + body (no length prefix), as
 * ZooKeeper's client response size. */
void srv_stats_response_size(srv_stats *st, int64_t bytes);

/* A request was answered `us` after it arrived. It joins st's pending run
 * when it shares the run's connection, latency, kind and release time;
 * otherwise the run is added to the summaries and a new one starts. */
void srv_stats_request_done(srv_stats *st, srv_conn_stats *cs, int32_t op, bool is_update,
                            int32_t cxid, int64_t zxid, int64_t us, int64_t now_ms);
/* Adds the pending run to the summaries and its connection's figures.
 * Whatever reads them (the four-letter words) calls it first, and so does
 * a connection that is freed while the run is its own. */
void srv_stats_flush(srv_stats *st);
/* The same, only when the pending run is cs's (cs is reset or freed). */
void srv_stats_flush_conn(srv_stats *st, const srv_conn_stats *cs);

/* srst: everything but the counters of what exists (connections, ...). */
void srv_stats_reset(srv_stats *st);
void srv_stats_fini(srv_stats *st);

#endif
