/*
 * monitor.c: the four-letter words that report statistics: srvr, stat,
 * cons, mntr, crst, srst, gtmk, stmk and hash, in ZooKeeper 3.8's formats
 * (ServerStats.toString, ServerCnxn.dumpConnectionInfo, the mntr gauges and
 * summaries, ZooTrace's mask). fourlw.c dispatches to them.
 *
 * Every figure printed is measured (server/stats.c says where). ZooKeeper's
 * mntr also prints figures of its Java pipeline (commit processor queues,
 * JVM pauses, ...); zabd has no such stage and leaves them out rather than
 * print constants. Times are milliseconds, as ZooKeeper prints them.
 */
#include "server/srv_int.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

/* ZooTrace's default: client requests, server packets, sessions, warnings. */
enum { TRACE_MASK_DEFAULT = 2 | 16 | 32 | 256 };

/* A double as Java's Double.toString prints one that was rounded to four
 * decimals (AvgMinMaxCounter.getAvg): "0.0", "1.991", "2.0", "5.0E-4". */
static void java_double(char *buf, size_t cap, double v)
{
    v = round(v * 10000.0) / 10000.0;
    if (v != 0.0 && fabs(v) < 1e-3) {
        snprintf(buf, cap, "%.1fE-4", v * 1e4);
        return;
    }
    snprintf(buf, cap, "%.4f", v);
    char *end = buf + strlen(buf) - 1;
    while (end > buf && *end == '0' && end[-1] != '.')
        *end-- = '\0';
}

static double avg_ms(const srv_summary *s)
{
    return s->count ? (double)s->sum / (double)s->count : 0.0;
}

static void latency_line(const srv *s, wire_wr *w)
{
    char avg[32];
    java_double(avg, sizeof avg, avg_ms(&s->stats.latency_ms));
    srv_out(w, "Latency min/avg/max: %" PRId64 "/%s/%" PRId64 "\n", s->stats.latency_ms.min, avg,
            s->stats.latency_ms.max);
}

static void summary(const srv *s, wire_wr *w)
{
    latency_line(s, w);
    srv_out(w, "Received: %" PRIu64 "\n", s->stats.packets_recv);
    srv_out(w, "Sent: %" PRIu64 "\n", s->stats.packets_sent);
    srv_out(w, "Connections: %zu\n", s->n_conns);
    srv_out(w, "Outstanding: %" PRId64 "\n", s->outstanding);
    srv_out(w, "Zxid: 0x%" PRIx64 "\n", (uint64_t)s->last_zxid);
    srv_out(w, "Mode: %s\n", srv_ens_state(s));
    srv_out(w, "Node count: %zu\n", zt_node_count(s->tree));
    srv_ens_report_stat(s, w);
}

static void conn_line(const conn *c, wire_wr *w, bool full)
{
    /* [interest ops]: what the connection waits for, as NIO's selector
     * keys print them: read 1, write 4. */
    int ops = (c->is_reading ? 1 : 0) | (srv_obuf_len(&c->outbuf) > 0 ? 4 : 0);
    srv_out(w, " /%s:%d[%x](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64, c->addr, c->port, ops,
            c->out.n_replies, c->packets_recv, c->packets_sent);
    if (full && c->session_id != 0) {
        const srv_conn_stats *cs = &c->cs;
        srv_out(w, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%d", (uint64_t)c->session_id,
                cs->last_op, c->established_ms, c->timeout_ms);
        if (cs->last_cxid >= 0)
            srv_out(w, ",lcxid=0x%" PRIx64, (uint64_t)cs->last_cxid);
        srv_out(
            w,
            ",lzxid=0x%" PRIx64 ",lresp=%" PRId64 ",llat=%" PRId64 ",minlat=%" PRId64
            ",avglat=%" PRId64 ",maxlat=%" PRId64,
            (uint64_t)cs->last_zxid, cs->last_response_ms, cs->last_latency_ms, cs->min_latency_ms,
            cs->count ? cs->total_latency_ms / (int64_t)cs->count : (int64_t)0, cs->max_latency_ms);
    }
    srv_out(w, ")\n");
}

void srv_4lw_srvr(srv *s, wire_wr *w)
{
    srv_out(w, "Zookeeper version: %s\n", SRV_ZK_VERSION);
    summary(s, w);
}

void srv_4lw_stat(srv *s, wire_wr *w)
{
    srv_out(w, "Zookeeper version: %s\n", SRV_ZK_VERSION);
    srv_out(w, "Clients:\n");
    for (const conn *c = s->conns; c != NULL; c = c->next)
        conn_line(c, w, false);
    srv_out(w, "\n");
    summary(s, w);
}

void srv_4lw_cons(srv *s, wire_wr *w)
{
    for (const conn *c = s->conns; c != NULL; c = c->next)
        conn_line(c, w, true);
    srv_out(w, "\n");
}

void srv_4lw_crst(srv *s, wire_wr *w)
{
    for (conn *c = s->conns; c != NULL; c = c->next) {
        c->packets_recv = c->packets_sent = 0;
        srv_conn_stats_reset(&s->stats, &c->cs);
    }
    srv_out(w, "Connection stats reset.\n");
}

void srv_4lw_srst(srv *s, wire_wr *w)
{
    srv_stats_reset(&s->stats);
    stor_reset_stats(s->st);
    srv_ens_report_reset(s);
    srv_out(w, "Server stats reset.\n");
}

void srv_4lw_gtmk(srv *s, wire_wr *w)
{
    srv_out(w, "%" PRId64, s->trace_mask);
}

void srv_4lw_stmk(srv *s, wire_wr *w, int64_t mask)
{
    s->trace_mask = mask;
    srv_out(w, "%" PRId64, mask);
}

void srv_4lw_hash(srv *s, wire_wr *w)
{
    /* DigestCommand: "<zxid hex>: <digest>" per entry of the history. */
    static zt_zxid_digest h[ZT_DIGEST_LOG_LIMIT];
    size_t n = zt_digest_history(s->tree, h, ZT_DIGEST_LOG_LIMIT);
    for (size_t i = 0; i < n; i++)
        srv_out(w, "%" PRIx64 ": %" PRId64 "\n", (uint64_t)h[i].zxid, h[i].digest);
}

void srv_trace_init(srv *s)
{
    s->trace_mask = TRACE_MASK_DEFAULT;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* A Summary: avg/min/max/cnt/sum, in ms from us unless unit is 1. */
static void mntr_summary(wire_wr *w, const char *name, uint64_t count, int64_t sum, int64_t min,
                         int64_t max, int64_t unit)
{
    char avg[32];
    java_double(avg, sizeof avg, count ? (double)sum / (double)count / (double)unit : 0.0);
    srv_out(w, "zk_avg_%s\t%s\n", name, avg);
    srv_out(w, "zk_min_%s\t%" PRId64 "\n", name, min / unit);
    srv_out(w, "zk_max_%s\t%" PRId64 "\n", name, max / unit);
    srv_out(w, "zk_cnt_%s\t%" PRIu64 "\n", name, count);
    srv_out(w, "zk_sum_%s\t%" PRId64 "\n", name, sum / unit);
}

/* A SummarySet with percentiles, in ms. */
static void mntr_latency(wire_wr *w, const char *name, const srv_summary *s)
{
    mntr_summary(w, name, s->count, s->sum, s->min, s->max, 1);
    static const struct {
        const char *p;
        double pct;
    } pcts[] = {{"p50", 50}, {"p95", 95}, {"p99", 99}, {"p999", 99.9}};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        srv_out(w, "zk_%s_%s\t%" PRId64 "\n", pcts[i].p, name, srv_summary_pct(s, pcts[i].pct));
}

void srv_4lw_mntr(srv *s, wire_wr *w)
{
    const srv_stats *st = &s->stats;
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    char avg[32];
    java_double(avg, sizeof avg, avg_ms(&st->latency_ms));
    /* The classic set, in the order monitoring scripts know it. */
    srv_out(w, "zk_version\t%s\n", SRV_ZK_VERSION);
    srv_out(w, "zk_avg_latency\t%s\n", avg);
    srv_out(w, "zk_max_latency\t%" PRId64 "\n", st->latency_ms.max);
    srv_out(w, "zk_min_latency\t%" PRId64 "\n", st->latency_ms.min);
    srv_out(w, "zk_packets_received\t%" PRIu64 "\n", st->packets_recv);
    srv_out(w, "zk_packets_sent\t%" PRIu64 "\n", st->packets_sent);
    srv_out(w, "zk_num_alive_connections\t%zu\n", s->n_conns);
    srv_out(w, "zk_outstanding_requests\t%" PRId64 "\n", s->outstanding);
    srv_out(w, "zk_server_state\t%s\n", srv_ens_state(s));
    srv_out(w, "zk_znode_count\t%zu\n", zt_node_count(s->tree));
    srv_out(w, "zk_watch_count\t%zu\n",
            watch_table_count(s->watches, WATCH_DATA) + watch_table_count(s->watches, WATCH_CHILD));
    srv_out(w, "zk_ephemerals_count\t%zu\n", zt_ephemeral_count(s->tree));
    srv_out(w, "zk_approximate_data_size\t%" PRId64 "\n", zt_data_size(s->tree));
    srv_out(w, "zk_open_file_descriptor_count\t%d\n", count_fds());
    srv_out(w, "zk_max_file_descriptor_count\t%" PRIu64 "\n", (uint64_t)rl.rlim_cur);
    /* The newer ones zabd measures. */
    srv_out(w, "zk_uptime\t%" PRId64 "\n", srv_now_ms() - s->started_ms);
    srv_out(w, "zk_global_sessions\t%zu\n", sess_count(s->sessions));
    srv_out(w, "zk_last_client_response_size\t%" PRId64 "\n", st->last_response_size);
    srv_out(w, "zk_max_client_response_size\t%" PRId64 "\n", st->max_response_size);
    srv_out(w, "zk_min_client_response_size\t%" PRId64 "\n", st->min_response_size);
    srv_out(w, "zk_connection_rejected\t%" PRIu64 "\n", st->rejected_conns);
    srv_out(w, "zk_connection_drop_count\t%" PRIu64 "\n", st->dropped_conns);
    srv_out(w, "zk_auth_failed_count\t%" PRIu64 "\n", st->auth_failures);
    mntr_latency(w, "readlatency", &st->read_latency_ms);
    mntr_latency(w, "updatelatency", &st->update_latency_ms);
    stor_stats ss;
    stor_get_stats(s->st, &ss);
    mntr_summary(w, "fsynctime", ss.syncs, (int64_t)ss.sync_us_sum, (int64_t)ss.sync_us_min,
                 (int64_t)ss.sync_us_max, 1000);
    mntr_summary(w, "snapshottime", ss.snapshots, (int64_t)ss.snap_ms_sum, (int64_t)ss.snap_ms_min,
                 (int64_t)ss.snap_ms_max, 1);
    srv_ens_report_mntr(s, w);
}
