/*
 * lifecycle.c: bringing a server up and down, in the steps that zabd's main
 * and the in-process fuzzer (tests/fuzz/fuzz_server.c) share:
 *
 *   srv_open   event base, storage, tree, sessions, watches, recovery, and
 *              the loop's own events (durable wake-up, reaping, resuming,
 *              timers); nothing listens yet and no thread runs
 *   srv_serve  the listening socket and the signals (zabd only), then the
 *              log thread
 *   srv_ens_start (ensemble.c, zabd in ensemble mode only) then runs the
 *              election on the election port
 *   srv_close  closes every connection (election ones too), drains and stops storage, frees
 *              everything srv_open made (safe after a partial open)
 */
#include "server/srv_int.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <string.h>

int srv_open(srv *s, char *err, size_t err_len)
{
    stor_config sc = {
        .data_dir = s->cfg.data_dir,
        .log_dir = s->cfg.data_log_dir,
        .max_txn_len = 2 * s->cfg.jute_maxbuffer,
        .autopurge_retain =
            s->cfg.autopurge_purge_interval_h > 0 ? s->cfg.autopurge_snap_retain_count : 0,
        .skip_sync = !s->cfg.force_sync,
    };
    if (!s->cfg.force_sync)
        srv_log(SRV_LOG_WARN, "forceSync=no: the txn log is not synced; acknowledged writes "
                              "survive a crash of zabd but not a power cut or a kernel crash");
    pthread_mutex_init(&s->durable_mu, NULL);
    s->started_ms = srv_now_ms();
    s->stats.read_latency_ms.has_pct = true;
    s->stats.update_latency_ms.has_pct = true;
    srv_trace_init(s);
    s->base = event_base_new();
    if (s->base == NULL) {
        snprintf(err, err_len, "cannot create the event loop");
        return ZERR_SYSTEMERROR;
    }
    int rc = stor_open(&sc, &s->st, err, err_len);
    if (rc != 0)
        return rc;
    s->tree = zt_new();
    /* ZooKeeper's standalone server mints ids as server 1; an ensemble
     * member as its myid, so that members mint distinct ids. */
    s->sessions =
        sess_new(s->cfg.tick_time_ms, s->cfg.quorum.is_ensemble ? s->cfg.quorum.my_id : 1);
    s->watches = watch_new();
    if (s->tree == NULL || s->sessions == NULL || s->watches == NULL ||
        zt_index_use(s->tree, srv_index_mem()) != 0) {
        snprintf(err, err_len, "out of memory");
        return ZERR_NOMEM;
    }
    /* Standalone ids start 0x01...; the wall clock keeps ids of a
     * restarted server clear of its old ones. */
    sess_id_init(s->sessions, srv_wall_ms());
    if ((rc = srv_recover(s, err, err_len)) != 0)
        return rc;
    return srv_events_init(s, err, err_len);
}

int srv_serve(srv *s, char *err, size_t err_len)
{
    int rc = srv_listen(s, err, err_len);
    if (rc != 0)
        return rc;
    if (stor_start(s->st, srv_on_durable, srv_on_log_error, s) != 0) {
        snprintf(err, err_len, "cannot start the log thread");
        return ZERR_SYSTEMERROR;
    }
    return 0;
}

void srv_close(srv *s)
{
    while (s->conns != NULL)
        srv_conn_close(s->conns, "server shutting down");
    srv_conn_reap(s);
    srv_ens_stop(s);
    stor_close(s->st);
    s->st = NULL;
    if (s->listener != NULL)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    struct event *evs[] = {s->tick_ev, s->container_ev, s->durable_ev, s->sigterm_ev, s->sigint_ev,
                           s->reap_ev, s->resume_ev,    s->submit_ev,  s->flush_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    s->tick_ev = s->container_ev = s->durable_ev = s->sigterm_ev = s->sigint_ev = NULL;
    s->reap_ev = s->resume_ev = s->submit_ev = s->flush_ev = NULL;
    if (s->base != NULL)
        event_base_free(s->base);
    s->base = NULL;
    zt_free(s->tree);
    sess_free(s->sessions);
    watch_free(s->watches);
    s->tree = NULL;
    s->sessions = NULL;
    s->watches = NULL;
    srv_idmap_fini(&s->conn_by_id);
    srv_idmap_fini(&s->conn_by_session);
    wire_wr_fini(&s->txn);
    wire_wr_fini(&s->reply);
    zt_out_fini(&s->out);
    free(s->dl);
    free(s->fwd_syncs);
    s->dl = NULL;
    s->n_dl = s->cap_dl = 0;
    srv_stats_fini(&s->stats);
    srv_sasl_free(s->sasl);
    s->sasl = NULL;
    srv_config_fini(&s->cfg);
    pthread_mutex_destroy(&s->durable_mu);
}
