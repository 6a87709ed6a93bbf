/*
 * main.c: zabd [zoo.cfg]
 *
 * Runs a standalone server in the foreground, as ZooKeeper's
 * `zkServer.sh start-foreground` does. Without an argument it uses the
 * built-in configuration: 127.0.0.1:2181, data in ./data.
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when the txn log fails, 2 for an
 * invalid configuration or an unusable data directory.
 */
#include "server/srv_int.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void warn_cb(void *arg, const char *msg)
{
    srv_log(SRV_LOG_WARN, "%s", msg);
}

static int open_state(srv *s, char *err, size_t err_len)
{
    stor_config sc = {
        .data_dir = s->cfg.data_dir,
        .log_dir = s->cfg.data_log_dir,
        .max_txn_len = 2 * s->cfg.jute_maxbuffer,
        .autopurge_retain =
            s->cfg.autopurge_purge_interval_h > 0 ? s->cfg.autopurge_snap_retain_count : 0,
    };
    int rc = stor_open(&sc, &s->st, err, err_len);
    if (rc != 0)
        return rc;
    s->tree = zt_new();
    s->sessions = sess_new(s->cfg.tick_time_ms, 1);
    s->watches = watch_new();
    if (s->tree == NULL || s->sessions == NULL || s->watches == NULL) {
        snprintf(err, err_len, "out of memory");
        return ZERR_NOMEM;
    }
    /* ZooKeeper's standalone server id is 1, so ids start 0x01...; the
     * wall clock keeps ids of a restarted server clear of its old ones. */
    sess_id_init(s->sessions, srv_wall_ms());
    return srv_recover(s, err, err_len);
}

static void shutdown_all(srv *s)
{
    while (s->conns != NULL)
        srv_conn_close(s->conns, "server shutting down");
    srv_conn_reap(s);
    stor_close(s->st);
    if (s->listener != NULL)
        evconnlistener_free(s->listener);
    struct event *evs[] = {s->tick_ev,   s->container_ev, s->durable_ev, s->sigterm_ev,
                           s->sigint_ev, s->reap_ev,      s->resume_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (s->base != NULL)
        event_base_free(s->base);
    zt_free(s->tree);
    sess_free(s->sessions);
    watch_free(s->watches);
    srv_idmap_fini(&s->conn_by_id);
    srv_idmap_fini(&s->conn_by_session);
    wire_wr_fini(&s->txn);
    wire_wr_fini(&s->reply);
    zt_out_fini(&s->out);
    free(s->dl);
    srv_config_fini(&s->cfg);
    pthread_mutex_destroy(&s->durable_mu);
}

int main(int argc, char **argv)
{
    static srv s; /* large; lives for the whole process */
    char err[1024] = "";
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: %s [zoo.cfg]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "zabd: libevent has no pthreads support\n");
        return 2;
    }
    pthread_mutex_init(&s.durable_mu, NULL);
    if (argc == 2) {
        if (srv_config_load(&s.cfg, argv[1], warn_cb, NULL, err, sizeof err) != 0) {
            srv_log(SRV_LOG_ERROR, "invalid configuration: %s", err);
            return 2;
        }
    } else {
        srv_config_defaults(&s.cfg);
        srv_log(SRV_LOG_INFO, "no zoo.cfg given: using 127.0.0.1:%d, dataDir %s", s.cfg.client_port,
                s.cfg.data_dir);
    }
    s.rng = (uint32_t)srv_wall_ms() ^ (uint32_t)getpid();
    s.started_ms = srv_now_ms();
    s.base = event_base_new();
    if (s.base == NULL || open_state(&s, err, sizeof err) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start: %s", err[0] ? err : "event loop");
        shutdown_all(&s);
        return 2;
    }
    if (srv_listen(&s, err, sizeof err) != 0 ||
        stor_start(s.st, srv_on_durable, srv_on_log_error, &s) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start: %s", err[0] ? err : "log thread");
        shutdown_all(&s);
        return 2;
    }
    event_base_dispatch(s.base);
    bool failed = s.log_failed;
    shutdown_all(&s);
    srv_log(SRV_LOG_INFO, "stopped");
    return failed ? 1 : 0;
}
