/*
 * stats.c: the server's measured figures (server/stats.h).
 *
 * Where each is recorded:
 *   packets received    conn.c, per whole frame read (handshake included)
 *   packets sent        outq.c, per frame handed to the socket
 *   latency             outq.c, when a reply leaves: arrival (conn.c, as the
 *                       frame is read) to release (after its txn is durable)
 *   read/update         by whether the request logged a txn (commit.c sets
 *                       it), as ZooKeeper's ServerStats.updateLatency splits
 *                       them by the request having a txn header
 *   response sizes      outq.c, per reply or notification handed on
 *   rejected / dropped  conn.c: maxClientCnxns refusals; connections the
 *                       client closed (ZooKeeper's connection_drop_count
 *                       counts failed reads, that is, client closes)
 *   auth failures       ops.c, auth.c: addAuth answered AUTHFAILED, a failed
 *                       SASL login (ZooKeeper 3.8
 *                       counts TLS client-certificate failures here; zabd
 *                       has no TLS and counts what fails instead)
 * fsync and snapshot times are storage's (stor_get_stats).
 */
#include "server/srv_int.h"

#include <string.h>

static size_t bucket_of(int64_t v)
{
    uint64_t u = v < 0 ? 0 : (uint64_t)v;
    if (u < 16)
        return (size_t)u;
    int oct = 63 - __builtin_clzll(u) - 4; /* u >> oct is in [16, 32) */
    size_t b = (size_t)(oct + 1) * 16 + (size_t)((u >> oct) - 16);
    return b < SRV_HIST_BUCKETS ? b : SRV_HIST_BUCKETS - 1;
}

static int64_t bucket_value(size_t b)
{
    if (b < 16)
        return (int64_t)b;
    return (int64_t)((uint64_t)(16 + b % 16) << (b / 16 - 1));
}

void srv_summary_add_n(srv_summary *s, int64_t v, uint64_t n)
{
    if (n == 0)
        return;
    if (s->count == 0 || v < s->min)
        s->min = v;
    if (s->count == 0 || v > s->max)
        s->max = v;
    s->sum += v * (int64_t)n;
    s->count += n;
    if (!s->has_pct)
        return;
    if (s->hist == NULL && (s->hist = calloc(SRV_HIST_BUCKETS, sizeof *s->hist)) == NULL)
        return; /* percentiles are lost, the summary is not */
    s->hist[bucket_of(v)] += (uint32_t)n;
}

void srv_summary_add(srv_summary *s, int64_t v)
{
    srv_summary_add_n(s, v, 1);
}

int64_t srv_summary_pct(const srv_summary *s, double pct)
{
    if (s->hist == NULL || s->count == 0)
        return 0;
    uint64_t want = (uint64_t)((double)s->count * pct / 100.0), seen = 0;
    for (size_t b = 0; b < SRV_HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen > want) {
            int64_t v = bucket_value(b);
            return v < s->max ? v : s->max;
        }
    }
    return s->max;
}

void srv_summary_reset(srv_summary *s)
{
    s->count = 0;
    s->sum = s->min = s->max = 0;
    if (s->hist != NULL)
        memset(s->hist, 0, SRV_HIST_BUCKETS * sizeof *s->hist);
}

void srv_summary_fini(srv_summary *s)
{
    free(s->hist);
    s->hist = NULL;
}

void srv_conn_stats_reset(srv_stats *st, srv_conn_stats *cs)
{
    srv_stats_flush_conn(st, cs);
    *cs = (srv_conn_stats){.last_op = "NA", .last_cxid = -1};
}

const char *srv_stats_op_code(int32_t op)
{
    /* FinalRequestProcessor's lastOp for each request it answers. */
    switch (op) {
    case WIRE_OP_PING:
        return "PING";
    case WIRE_OP_CREATESESSION:
        return "SESS";
    case WIRE_OP_MULTI:
        return "MULT";
    case WIRE_OP_MULTIREAD:
        return "MLTR";
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATETTL:
    case WIRE_OP_CREATECONTAINER:
        return "CREA";
    case WIRE_OP_DELETE:
    case WIRE_OP_DELETECONTAINER:
        return "DELE";
    case WIRE_OP_SETDATA:
        return "SETD";
    case WIRE_OP_RECONFIG:
        return "RECO";
    case WIRE_OP_SETACL:
        return "SETA";
    case WIRE_OP_CLOSESESSION:
        return "CLOS";
    case WIRE_OP_SYNC:
        return "SYNC";
    case WIRE_OP_CHECK:
        return "CHEC";
    case WIRE_OP_EXISTS:
        return "EXIS";
    case WIRE_OP_GETDATA:
        return "GETD";
    case WIRE_OP_SETWATCHES:
        return "SETW";
    case WIRE_OP_SETWATCHES2:
        return "STW2";
    case WIRE_OP_ADDWATCH:
        return "ADDW";
    case WIRE_OP_GETACL:
        return "GETA";
    case WIRE_OP_GETCHILDREN:
    case WIRE_OP_GETCHILDREN2:
        return "GETC";
    case WIRE_OP_GETALLCHILDRENNUMBER:
        return "GETACN";
    case WIRE_OP_CHECKWATCHES:
        return "CHKW";
    case WIRE_OP_REMOVEWATCHES:
        return "REMW";
    case WIRE_OP_WHOAMI:
        return "HOMI";
    case WIRE_OP_GETEPHEMERALS:
        return "GETE";
    default:
        return NULL;
    }
}

void srv_stats_response_size(srv_stats *st, int64_t bytes)
{
    st->last_response_size = bytes;
    if (!st->has_response_size || bytes < st->min_response_size)
        st->min_response_size = bytes;
    if (!st->has_response_size || bytes > st->max_response_size)
        st->max_response_size = bytes;
    st->has_response_size = true;
}

void srv_stats_request_done(srv_stats *st, srv_conn_stats *cs, int32_t op, bool is_update,
                            int32_t cxid, int64_t zxid, int64_t us, int64_t now_ms)
{
    const char *code = srv_stats_op_code(op);
    if (code == NULL)
        return;
    /* ZooKeeper's samples are whole milliseconds (Time.currentElapsedTime
     * differences); aggregating them the same way keeps avg <= max. */
    int64_t ms = us < 0 ? 0 : us / 1000;
    srv_done_run *r = &st->run;
    if (r->n > 0 &&
        (r->cs != cs || r->ms != ms || r->is_update != is_update || r->now_ms != now_ms))
        srv_stats_flush(st);
    if (r->n == 0) {
        r->cs = cs;
        r->ms = ms;
        r->is_update = is_update;
        r->now_ms = now_ms;
    }
    r->n++;
    r->last_op = code;
    r->last_cxid = cxid;
    r->last_zxid = zxid;
}

void srv_stats_flush(srv_stats *st)
{
    srv_done_run *r = &st->run;
    if (r->n == 0)
        return;
    srv_summary_add_n(&st->latency_ms, r->ms, r->n);
    srv_summary_add_n(r->is_update ? &st->update_latency_ms : &st->read_latency_ms, r->ms, r->n);
    srv_conn_stats *cs = r->cs;
    cs->last_op = r->last_op;
    cs->last_cxid = r->last_cxid;
    cs->last_zxid = r->last_zxid;
    cs->last_response_ms = r->now_ms;
    cs->last_latency_ms = r->ms;
    if (cs->count == 0 || r->ms < cs->min_latency_ms)
        cs->min_latency_ms = r->ms;
    if (r->ms > cs->max_latency_ms)
        cs->max_latency_ms = r->ms;
    cs->total_latency_ms += r->ms * (int64_t)r->n;
    cs->count += r->n;
    r->n = 0;
}

void srv_stats_flush_conn(srv_stats *st, const srv_conn_stats *cs)
{
    if (st->run.n > 0 && st->run.cs == cs)
        srv_stats_flush(st);
}

void srv_stats_reset(srv_stats *st)
{
    /* ServerStats.reset: latency, request counters, response sizes. The
     * pending run goes to its connection's figures, which crst resets. */
    srv_stats_flush(st);
    st->packets_recv = st->packets_sent = 0;
    srv_summary_reset(&st->latency_ms);
    srv_summary_reset(&st->read_latency_ms);
    srv_summary_reset(&st->update_latency_ms);
    st->has_response_size = false;
    st->last_response_size = st->min_response_size = st->max_response_size = 0;
    st->fsync_batches = st->throttled = st->slow_consumer_closes = 0;
    st->rejected_conns = st->dropped_conns = st->auth_failures = 0;
}

void srv_stats_fini(srv_stats *st)
{
    srv_summary_fini(&st->latency_ms);
    srv_summary_fini(&st->read_latency_ms);
    srv_summary_fini(&st->update_latency_ms);
}
