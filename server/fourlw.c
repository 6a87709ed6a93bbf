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
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void srv_out(wire_wr *w, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        wire_wr_raw(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void cmd_ruok(srv *s, wire_wr *w)
{
    srv_out(w, "imok");
}

static void cmd_conf(srv *s, wire_wr *w)
{
    char buf[4096];
    srv_config_format_conf(&s->cfg, buf, sizeof buf);
    srv_out(w, "%s", buf);
}

static void cmd_envi(srv *s, wire_wr *w)
{
    char host[256] = "localhost", cwd[1024] = "";
    gethostname(host, sizeof host - 1);
    if (getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = '\0';
    srv_out(w, "Environment:\n");
    srv_out(w, "zookeeper.version=%s\n", SRV_ZK_VERSION);
    srv_out(w, "host.name=%s\n", host);
    srv_out(w, "server.implementation=zabd (C)\n");
    srv_out(w, "os.name=Linux\n");
    srv_out(w, "user.dir=%s\n", cwd);
    srv_out(w, "process.id=%d\n", (int)getpid());
}

static void cmd_isro(srv *s, wire_wr *w)
{
    srv_out(w, "rw");
}

static void cmd_dirs(srv *s, wire_wr *w)
{
    uint64_t snap = 0, log = 0;
    stor_sizes(s->st, &snap, &log);
    srv_out(w, "datadir_size: %" PRIu64 "\n", snap);
    srv_out(w, "logdir_size: %" PRIu64 "\n", log);
}

static void cmd_wchs(srv *s, wire_wr *w)
{
    srv_out(w, "%zu connections watching %zu paths\n",
            watch_table_watcher_count(s->watches, WATCH_DATA),
            watch_table_path_count(s->watches, WATCH_DATA));
    srv_out(w, "Total watches:%zu\n", watch_table_count(s->watches, WATCH_DATA));
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
    if (d.n > 1) /* qsort(NULL, 0, ...) is undefined */
        qsort(d.v, d.n, sizeof *d.v, group_by_path ? by_path : by_sid);
    for (size_t i = 0; i < d.n; i++) {
        bool same = i > 0 && (group_by_path ? strcmp(d.v[i].path, d.v[i - 1].path) == 0
                                            : d.v[i].sid == d.v[i - 1].sid);
        if (group_by_path) {
            if (!same)
                srv_out(w, "%s\n", d.v[i].path);
            srv_out(w, "\t0x%" PRIx64 "\n", d.v[i].sid);
        } else {
            if (!same)
                srv_out(w, "0x%" PRIx64 "\n", d.v[i].sid);
            srv_out(w, "\t%s\n", d.v[i].path);
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
    srv_out(arg, "\t0x%" PRIx64 "\t%dms\n", (uint64_t)id, timeout_ms);
    return 0;
}

static int dump_ephemeral(void *arg, int64_t owner, const zt_node *n)
{
    wire_str p = zt_node_path(n);
    srv_out(arg, "0x%" PRIx64 ":\n\t%.*s\n", (uint64_t)owner, p.len, p.p);
    return 0;
}

static void cmd_dump(srv *s, wire_wr *w)
{
    srv_out(w, "SessionTracker dump:\n");
    srv_out(w, "Global Sessions(%zu):\n", sess_count(s->sessions));
    sess_foreach(s->sessions, dump_session, w);
    srv_out(w, "ephemeral nodes dump:\n");
    srv_out(w, "Sessions with Ephemerals (%zu):\n", zt_ephemeral_count(s->tree));
    zt_ephemerals(s->tree, 0, dump_ephemeral, w);
}

typedef struct fourlw {
    char word[5];
    void (*fn)(srv *s, wire_wr *w);
} fourlw;

static const fourlw words[] = {
    {"ruok", cmd_ruok},     {"srvr", srv_4lw_srvr}, {"stat", srv_4lw_stat}, {"mntr", srv_4lw_mntr},
    {"conf", cmd_conf},     {"cons", srv_4lw_cons}, {"crst", srv_4lw_crst}, {"envi", cmd_envi},
    {"srst", srv_4lw_srst}, {"wchs", cmd_wchs},     {"wchc", cmd_wchc},     {"wchp", cmd_wchp},
    {"dump", cmd_dump},     {"dirs", cmd_dirs},     {"isro", cmd_isro},     {"gtmk", srv_4lw_gtmk},
    {"hash", srv_4lw_hash}, {"stmk", NULL}, /* takes its 8-byte mask: srv_4lw_run */
};

static const fourlw *find(const uint8_t p[4])
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (memcmp(words[i].word, p, 4) == 0)
            return &words[i];
    return NULL;
}

/* What ZooKeeper 3.8's words print while its ZooKeeperServer is not
 * running (AbstractFourLetterCommand.ZK_NOT_SERVING, each word's
 * commandRun): true with the answer in w, false for the words that run
 * anyway (ruok, envi, gtmk, stmk). */
static bool not_serving(const char *word, wire_wr *w)
{
    static const char *const println_words[] = {"srvr", "stat", "mntr", "conf", "cons", "crst",
                                                "srst", "wchs", "wchc", "wchp", "dump", "dirs"};
    static const char msg[] = "This ZooKeeper instance is not currently serving requests";
    for (size_t i = 0; i < sizeof println_words / sizeof println_words[0]; i++)
        if (strcmp(word, println_words[i]) == 0) {
            srv_out(w, "%s\n", msg);
            return true;
        }
    if (strcmp(word, "hash") == 0) { /* DigestCommand: print, no newline */
        srv_out(w, "%s", msg);
        return true;
    }
    if (strcmp(word, "isro") == 0) {
        srv_out(w, "null");
        return true;
    }
    return false;
}

size_t srv_4lw_len(const uint8_t p[4])
{
    /* Anything that is not a word zabd runs is read as a frame length.
     * stmk is followed by the new mask, a big-endian long. */
    const fourlw *f = find(p);
    if (f == NULL)
        return 0;
    return f->fn == NULL ? 12 : 4;
}

void srv_4lw_run(conn *c, const uint8_t *p, size_t len)
{
    srv *s = c->s;
    const fourlw *f = find(p);
    srv_stats_flush(&s->stats); /* every answered request is in what it prints */
    wire_wr w;
    wire_wr_init(&w);
    if (!srv_config_4lw_enabled(&s->cfg, f->word))
        srv_out(&w, "%s is not executed because it is not in the whitelist.\n", f->word);
    else if (!srv_is_serving(s) && not_serving(f->word, &w))
        ; /* answered as ZooKeeper's server that is not running */
    else if (f->fn == NULL && len >= 12)
        srv_4lw_stmk(s, &w, (int64_t)wire_get_be64(p + 4));
    else
        f->fn(s, &w);
    srv_log(SRV_LOG_INFO, "four-letter word %s from %s:%d", f->word, c->addr, c->port);
    /* Not a reply: no latency, no ordering behind held output. It counts
     * as a packet sent (ZooKeeper counts each chunk its writer flushes). */
    srv_conn_write_raw(c, w.p, w.len);
    c->packets_sent++;
    s->stats.packets_sent++;
    srv_conn_close_when_flushed(c);
    wire_wr_fini(&w);
}
