/*
 * fourlw.c: the four-letter words. A connection whose first four bytes spell
 * a command gets its text answer and is closed, as ZooKeeper's
 * NettyServerCnxn/NIOServerCnxn.checkFourLetterWord do. Commands outside
 * 4lw.commands.whitelist answer that they are not executed.
 *
 * Output formats follow ZooKeeper 3.8 line for line: monitoring scripts and
 * clients parse them (kazoo reads the version from envi).
 */
#include "server/srv_int.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ZABD_ZK_VERSION "3.8.0-zabd-0.1, built on " __DATE__ " " __TIME__ " GMT"

static void out(wire_wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(wire_wr *w, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        wire_wr_raw(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void latency(const srv *s, wire_wr *w)
{
    const srv_stats *st = &s->stats;
    /* ZooKeeper prints milliseconds: whole ones for min and max. */
    double avg = st->lat_count ? (double)st->lat_total_us / (double)st->lat_count / 1000.0 : 0.0;
    out(w, "Latency min/avg/max: %" PRId64 "/%.4f/%" PRId64 "\n",
        st->lat_count ? st->lat_min_us / 1000 : 0, avg, st->lat_max_us / 1000);
}

static void summary(const srv *s, wire_wr *w)
{
    latency(s, w);
    out(w, "Received: %" PRIu64 "\n", s->stats.packets_recv);
    out(w, "Sent: %" PRIu64 "\n", s->stats.packets_sent);
    out(w, "Connections: %zu\n", s->n_conns);
    out(w, "Outstanding: %" PRId64 "\n", s->outstanding);
    out(w, "Zxid: 0x%" PRIx64 "\n", (uint64_t)s->last_zxid);
    out(w, "Mode: standalone\n");
    out(w, "Node count: %zu\n", zt_node_count(s->tree));
}

static void conn_line(const conn *c, wire_wr *w, bool full)
{
    out(w, " /%s:%d[%d](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64, c->addr, c->port,
        c->handshaken ? 1 : 0, c->out.n_replies, c->packets_recv, c->packets_sent);
    if (full && c->session_id != 0)
        out(w,
            ",sid=0x%" PRIx64 ",lop=NA,est=%" PRId64 ",to=%d,lzxid=0x%" PRIx64
            ",lresp=0,llat=0,minlat=0,avglat=0,maxlat=0",
            (uint64_t)c->session_id, c->established_ms, c->timeout_ms, (uint64_t)c->last_zxid_sent);
    out(w, ")\n");
}

static void cmd_ruok(srv *s, wire_wr *w)
{
    out(w, "imok");
}

static void cmd_srvr(srv *s, wire_wr *w)
{
    out(w, "Zookeeper version: %s\n", ZABD_ZK_VERSION);
    summary(s, w);
}

static void cmd_stat(srv *s, wire_wr *w)
{
    out(w, "Zookeeper version: %s\n", ZABD_ZK_VERSION);
    out(w, "Clients:\n");
    for (const conn *c = s->conns; c != NULL; c = c->next)
        conn_line(c, w, false);
    out(w, "\n");
    summary(s, w);
}

static void cmd_cons(srv *s, wire_wr *w)
{
    for (const conn *c = s->conns; c != NULL; c = c->next)
        conn_line(c, w, true);
    out(w, "\n");
}

static void cmd_crst(srv *s, wire_wr *w)
{
    for (conn *c = s->conns; c != NULL; c = c->next)
        c->packets_recv = c->packets_sent = 0;
    out(w, "Connection stats reset.\n");
}

static void cmd_srst(srv *s, wire_wr *w)
{
    memset(&s->stats, 0, sizeof s->stats);
    out(w, "Server stats reset.\n");
}

static void cmd_conf(srv *s, wire_wr *w)
{
    char buf[4096];
    srv_config_format_conf(&s->cfg, buf, sizeof buf);
    out(w, "%s", buf);
}

static void cmd_envi(srv *s, wire_wr *w)
{
    char host[256] = "localhost", cwd[1024] = "";
    gethostname(host, sizeof host - 1);
    if (getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = '\0';
    out(w, "Environment:\n");
    out(w, "zookeeper.version=%s\n", ZABD_ZK_VERSION);
    out(w, "host.name=%s\n", host);
    out(w, "server.implementation=zabd (C)\n");
    out(w, "os.name=Linux\n");
    out(w, "user.dir=%s\n", cwd);
    out(w, "process.id=%d\n", (int)getpid());
}

static void cmd_isro(srv *s, wire_wr *w)
{
    out(w, "rw");
}

static void cmd_dirs(srv *s, wire_wr *w)
{
    uint64_t snap = 0, log = 0;
    stor_sizes(s->st, &snap, &log);
    out(w, "datadir_size: %" PRIu64 "\n", snap);
    out(w, "logdir_size: %" PRIu64 "\n", log);
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

static void cmd_mntr(srv *s, wire_wr *w)
{
    const srv_stats *st = &s->stats;
    struct rlimit rl = {0};
    getrlimit(RLIMIT_NOFILE, &rl);
    out(w, "zk_version\t%s\n", ZABD_ZK_VERSION);
    out(w, "zk_server_state\tstandalone\n");
    out(w, "zk_avg_latency\t%.4f\n",
        st->lat_count ? (double)st->lat_total_us / (double)st->lat_count / 1000.0 : 0.0);
    out(w, "zk_max_latency\t%" PRId64 "\n", st->lat_max_us / 1000);
    out(w, "zk_min_latency\t%" PRId64 "\n", st->lat_count ? st->lat_min_us / 1000 : 0);
    out(w, "zk_packets_received\t%" PRIu64 "\n", st->packets_recv);
    out(w, "zk_packets_sent\t%" PRIu64 "\n", st->packets_sent);
    out(w, "zk_num_alive_connections\t%zu\n", s->n_conns);
    out(w, "zk_outstanding_requests\t%" PRId64 "\n", s->outstanding);
    out(w, "zk_znode_count\t%zu\n", zt_node_count(s->tree));
    out(w, "zk_watch_count\t%zu\n",
        watch_table_count(s->watches, WATCH_DATA) + watch_table_count(s->watches, WATCH_CHILD));
    out(w, "zk_ephemerals_count\t%zu\n", zt_ephemeral_count(s->tree));
    out(w, "zk_approximate_data_size\t%" PRId64 "\n", zt_data_size(s->tree));
    out(w, "zk_open_file_descriptor_count\t%d\n", count_fds());
    out(w, "zk_max_file_descriptor_count\t%" PRIu64 "\n", (uint64_t)rl.rlim_cur);
    out(w, "zk_fsync_batches\t%" PRIu64 "\n", st->fsync_batches);
    out(w, "zk_global_sessions\t%zu\n", sess_count(s->sessions));
}

static void cmd_wchs(srv *s, wire_wr *w)
{
    out(w, "%zu connections watching %zu paths\n",
        watch_table_watcher_count(s->watches, WATCH_DATA),
        watch_table_path_count(s->watches, WATCH_DATA));
    out(w, "Total watches:%zu\n", watch_table_count(s->watches, WATCH_DATA));
}

/* wchc / wchp: the DATA table grouped by session or by path, as
 * ZooKeeper prints it (its listings leave child watches out). */
typedef struct watch_pair {
    uint64_t sid;
    char *path;
} watch_pair;

typedef struct dump_ctx {
    srv *s;
    watch_pair *v;
    size_t n, cap;
} dump_ctx;

static int collect_watch(void *arg, const char *path, size_t len, uint64_t watcher,
                         enum watch_table t, enum watch_mode m)
{
    dump_ctx *d = arg;
    if (t != WATCH_DATA)
        return 0;
    if (wire_reserve((void **)&d->v, &d->cap, d->n, sizeof *d->v) != 0)
        return ZERR_NOMEM;
    const conn *c = srv_conn_by_id(d->s, watcher);
    char *p = strndup(path, len);
    if (p == NULL)
        return ZERR_NOMEM;
    d->v[d->n++] = (watch_pair){c != NULL ? (uint64_t)c->session_id : 0, p};
    return 0;
}

static int by_sid(const void *a, const void *b)
{
    const watch_pair *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int by_path(const void *a, const void *b)
{
    const watch_pair *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c != 0 ? c : (x->sid < y->sid ? -1 : x->sid > y->sid);
}

static void dump_grouped(srv *s, wire_wr *w, bool group_by_path)
{
    dump_ctx d = {s, NULL, 0, 0};
    watch_foreach(s->watches, collect_watch, &d);
    qsort(d.v, d.n, sizeof *d.v, group_by_path ? by_path : by_sid);
    for (size_t i = 0; i < d.n; i++) {
        bool same = i > 0 && (group_by_path ? strcmp(d.v[i].path, d.v[i - 1].path) == 0
                                            : d.v[i].sid == d.v[i - 1].sid);
        if (group_by_path) {
            if (!same)
                out(w, "%s\n", d.v[i].path);
            out(w, "\t0x%" PRIx64 "\n", d.v[i].sid);
        } else {
            if (!same)
                out(w, "0x%" PRIx64 "\n", d.v[i].sid);
            out(w, "\t%s\n", d.v[i].path);
        }
    }
    for (size_t i = 0; i < d.n; i++)
        free(d.v[i].path);
    free(d.v);
}

static void cmd_wchc(srv *s, wire_wr *w)
{
    dump_grouped(s, w, false);
}
static void cmd_wchp(srv *s, wire_wr *w)
{
    dump_grouped(s, w, true);
}

static int dump_session(void *arg, int64_t id, int32_t timeout_ms)
{
    out(arg, "\t0x%" PRIx64 "\t%dms\n", (uint64_t)id, timeout_ms);
    return 0;
}

static int dump_ephemeral(void *arg, int64_t owner, const zt_node *n)
{
    wire_str p = zt_node_path(n);
    out(arg, "0x%" PRIx64 ":\n\t%.*s\n", (uint64_t)owner, p.len, p.p);
    return 0;
}

static void cmd_dump(srv *s, wire_wr *w)
{
    out(w, "SessionTracker dump:\n");
    out(w, "Global Sessions(%zu):\n", sess_count(s->sessions));
    sess_foreach(s->sessions, dump_session, w);
    out(w, "ephemeral nodes dump:\n");
    out(w, "Sessions with Ephemerals (%zu):\n", zt_ephemeral_count(s->tree));
    zt_ephemerals(s->tree, 0, dump_ephemeral, w);
}

typedef struct fourlw {
    char word[5];
    void (*fn)(srv *s, wire_wr *w);
} fourlw;

static const fourlw words[] = {
    {"ruok", cmd_ruok}, {"srvr", cmd_srvr}, {"stat", cmd_stat}, {"mntr", cmd_mntr},
    {"conf", cmd_conf}, {"cons", cmd_cons}, {"crst", cmd_crst}, {"envi", cmd_envi},
    {"srst", cmd_srst}, {"wchs", cmd_wchs}, {"wchc", cmd_wchc}, {"wchp", cmd_wchp},
    {"dump", cmd_dump}, {"dirs", cmd_dirs}, {"isro", cmd_isro},
};

static const fourlw *find(const uint8_t p[4])
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (memcmp(words[i].word, p, 4) == 0)
            return &words[i];
    return NULL;
}

bool srv_4lw_is_command(const uint8_t p[4])
{
    /* ZooKeeper also knows gtmk/stmk/kill-style words it no longer runs;
     * anything else is read as a frame length. */
    return find(p) != NULL;
}

void srv_4lw_run(conn *c, const uint8_t p[4])
{
    srv *s = c->s;
    const fourlw *f = find(p);
    wire_wr w;
    wire_wr_init(&w);
    if (!srv_config_4lw_enabled(&s->cfg, f->word)) {
        out(&w, "%s is not executed because it is not in the whitelist.\n", f->word);
    } else {
        f->fn(s, &w);
    }
    srv_log(SRV_LOG_INFO, "four-letter word %s from %s:%d", f->word, c->addr, c->port);
    wire_wr_raw(&w, "", 0);
    srv_send(s, c, 0, &w, true);
    wire_wr_fini(&w);
}
