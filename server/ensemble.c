/*
 * ensemble.c: an ensemble member's election, driven from the loop: builds
 * zab from the configuration and the recovered log, feeds it the
 * notifications server/peer.c reads and a 50 ms tick, carries out what it
 * asks (notifications to send, role changes to log) and reports the
 * outcome in ZooKeeper's words ("LEADING - LEADER ELECTION TOOK - N MS").
 *
 * What it deliberately does not do yet: discovery, sync and broadcast (the
 * quorum port is not opened), so the server never serves clients in an
 * ensemble (srv_is_serving is false: ops.c refuses every session and the
 * four-letter words answer as ZooKeeper's do for a server that is not
 * running). Epochs are not persisted: the current epoch is the last logged
 * zxid's.
 *
 * Losing the leader. With no quorum port there are no PINGs, so the
 * election connections stand in for them: a follower or observer whose
 * connection to its leader fails starts a new election at once (as
 * ZooKeeper's does when its leader socket dies), and also when it has had
 * no connection to the leader for syncLimit ticks; a leader that has had
 * connections to fewer than a quorum of voters (itself included) for
 * syncLimit ticks does too (Leader.lead's "Not sufficient followers").
 */
#include "server/peer.h"
#include "server/srv_int.h"
#include "zab/zab.h"

#include <stdlib.h>
#include <string.h>

enum { ZAB_TICK_MS = 50 };

struct srv_ens {
    srv *s;
    zab *z;
    srv_peers *peers;
    struct event *tick_ev;
    wire_wr frame;
    int32_t role;
    int64_t leader;
    int64_t looking_since_ms;
    int64_t missing_since_ms; /* no connection to the leader / to a quorum, since; 0: fine */
    int64_t limit_ms;         /* syncLimit ticks */
    int32_t n_voters;
};

static const char *role_name(int32_t role)
{
    switch (role) {
    case ZAB_ROLE_LOOKING:
        return "LOOKING";
    case ZAB_ROLE_FOLLOWING:
        return "FOLLOWING";
    case ZAB_ROLE_LEADING:
        return "LEADING";
    case ZAB_ROLE_OBSERVING:
        return "OBSERVING";
    }
    return "?";
}

/* ServerStats.getServerState's words, for the log and later for mntr. */
const char *srv_ens_state(const srv *s)
{
    if (s->ens == NULL)
        return "standalone";
    switch (s->ens->role) {
    case ZAB_ROLE_FOLLOWING:
        return "follower";
    case ZAB_ROLE_LEADING:
        return "leader";
    case ZAB_ROLE_OBSERVING:
        return "observer";
    }
    return "looking";
}

bool srv_is_serving(const srv *s)
{
    /* An ensemble member would serve once synced with its leader; sync is
     * not implemented, so it never does. */
    return !s->cfg.quorum.is_ensemble;
}

static void role_changed(srv_ens *e, const zab_role_change *rc)
{
    int64_t now = srv_now_ms();
    const zab_vote *v = &rc->vote;
    e->role = rc->role;
    e->leader = v->leader;
    e->missing_since_ms = 0;
    if (rc->role == ZAB_ROLE_LOOKING) {
        e->looking_since_ms = now;
        srv_peers_set_resend(e->peers, true);
        srv_log(SRV_LOG_INFO,
                "LOOKING: election epoch 0x%" PRIx64 ", my vote: leader %" PRId64
                ", zxid 0x%" PRIx64 ", peer epoch 0x%" PRIx64,
                (uint64_t)v->election_epoch, v->leader, (uint64_t)v->zxid, (uint64_t)v->peer_epoch);
        return;
    }
    /* Out of the election: stale LOOKING votes must not reach a peer that
     * connects later; a LOOKING peer is answered with the decided vote. */
    srv_peers_drop_pending(e->peers);
    srv_peers_set_resend(e->peers, false);
    srv_log(SRV_LOG_INFO,
            "%s - LEADER ELECTION TOOK - %" PRId64 " MS: leader %" PRId64 ", zxid 0x%" PRIx64
            ", election epoch 0x%" PRIx64 ", peer epoch 0x%" PRIx64,
            role_name(rc->role), now - e->looking_since_ms, v->leader, (uint64_t)v->zxid,
            (uint64_t)v->election_epoch, (uint64_t)v->peer_epoch);
    srv_log(SRV_LOG_INFO,
            "server state: %s; not serving clients: discovery and sync with the "
            "leader are not implemented yet",
            srv_ens_state(e->s));
    if (rc->role != ZAB_ROLE_LEADING)
        srv_peers_connect(e->peers, v->leader);
}

static void drain(srv_ens *e)
{
    zab_batch b;
    /* Each round retires what it handled; zab emits a bounded amount per
     * input, so this ends. */
    while (zab_ready(e->z, &b)) {
        for (size_t i = 0; i < b.n_sends; i++) {
            wire_wr_reset(&e->frame);
            wire_el_notif_encode(&e->frame, &b.sends[i].notif);
            if (e->frame.err != 0) {
                srv_log(SRV_LOG_WARN, "out of memory encoding a notification");
                wire_wr_fini(&e->frame);
                wire_wr_init(&e->frame);
                continue;
            }
            srv_peers_send(e->peers, b.sends[i].to, e->frame.p, e->frame.len);
        }
        if (b.has_role_change)
            role_changed(e, &b.role_change);
        zab_advance(e->z, &b);
    }
}

static void restart_election(srv_ens *e, const char *why)
{
    srv *s = e->s;
    srv_log(SRV_LOG_WARN, "%s (was %s, leader %" PRId64 "): starting a new election", why,
            role_name(e->role), e->leader);
    if (zab_start_election(e->z, s->last_zxid, (int64_t)((uint64_t)s->last_zxid >> 32)) != 0)
        srv_log(SRV_LOG_WARN, "out of memory queueing notifications; they are resent on timeout");
    drain(e);
}

static void on_notif(void *arg, int64_t from, const wire_el_notif *n)
{
    srv_ens *e = arg;
    zab_msg m;
    memset(&m, 0, sizeof m);
    m.from = from;
    m.type = ZAB_MSG_NOTIFICATION;
    m.notif = *n;
    int rc = zab_step(e->z, &m);
    if (rc != 0)
        srv_log(SRV_LOG_WARN, "notification from server %" PRId64 " not taken: %s", from,
                wire_err_name(rc));
    drain(e);
}

static void on_down(void *arg, int64_t sid)
{
    srv_ens *e = arg;
    if ((e->role == ZAB_ROLE_FOLLOWING || e->role == ZAB_ROLE_OBSERVING) && sid == e->leader) {
        char why[96];
        snprintf(why, sizeof why, "lost the connection to the leader %" PRId64, sid);
        restart_election(e, why);
    }
}

static bool has_quorum(srv_ens *e)
{
    int32_t up = 1; /* me: only a voter leads */
    const srv_quorum *q = &e->s->cfg.quorum;
    for (int32_t i = 0; i < q->n_servers; i++)
        if (!q->servers[i].is_observer && q->servers[i].id != q->my_id &&
            srv_peers_is_up(e->peers, q->servers[i].id))
            up++;
    return up > e->n_voters / 2;
}

static void check_leader(srv_ens *e, int64_t now)
{
    bool ok;
    if (e->role == ZAB_ROLE_FOLLOWING || e->role == ZAB_ROLE_OBSERVING) {
        ok = srv_peers_is_up(e->peers, e->leader);
        if (!ok)
            srv_peers_connect(e->peers, e->leader);
    } else if (e->role == ZAB_ROLE_LEADING) {
        ok = has_quorum(e);
    } else {
        return;
    }
    if (ok) {
        e->missing_since_ms = 0;
        return;
    }
    if (e->missing_since_ms == 0) {
        e->missing_since_ms = now;
        return;
    }
    if (now - e->missing_since_ms < e->limit_ms)
        return;
    char why[128];
    snprintf(why, sizeof why,
             e->role == ZAB_ROLE_LEADING ? "connected to fewer than a quorum of voters for %" PRId64
                                           " ms"
                                         : "no connection to the leader for %" PRId64 " ms",
             now - e->missing_since_ms);
    restart_election(e, why);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    srv_ens *e = arg;
    int64_t now = srv_now_ms();
    zab_tick(e->z, now);
    drain(e);
    srv_peers_tick(e->peers, now);
    check_leader(e, now);
}

/* QuorumMaj.toString: "server.N=host:qport:eport:type[;chost:cport]\n" per
 * member (HashMap order of small Long keys: ascending id), then "version=0"
 * (hex; a static configuration has version 0). */
static void build_config(const srv_quorum *q, wire_wr *w)
{
    int32_t *order = malloc((size_t)q->n_servers * sizeof *order);
    if (order == NULL) {
        w->err = ZERR_NOMEM;
        return;
    }
    for (int32_t i = 0; i < q->n_servers; i++)
        order[i] = i;
    for (int32_t i = 1; i < q->n_servers; i++) /* a few lines: insertion sort */
        for (int32_t j = i; j > 0 && q->servers[order[j]].id < q->servers[order[j - 1]].id; j--) {
            int32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int32_t i = 0; i < q->n_servers; i++) {
        const srv_quorum_server *qs = &q->servers[order[i]];
        bool v6 = strchr(qs->host, ':') != NULL;
        srv_out(w, "server.%" PRId64 "=%s%s%s:%d:%d:%s", qs->id, v6 ? "[" : "", qs->host,
                v6 ? "]" : "", qs->quorum_port, qs->election_port,
                qs->is_observer ? "observer" : "participant");
        if (qs->client_host != NULL) {
            bool c6 = strchr(qs->client_host, ':') != NULL;
            srv_out(w, ";%s%s%s:%d", c6 ? "[" : "", qs->client_host, c6 ? "]" : "",
                    qs->client_port);
        }
        srv_out(w, "\n");
    }
    srv_out(w, "version=0");
    free(order);
}

int srv_ens_start(srv *s, char *err, size_t err_len)
{
    const srv_quorum *q = &s->cfg.quorum;
    srv_ens *e = calloc(1, sizeof *e);
    zab_server *servers = calloc((size_t)q->n_servers, sizeof *servers);
    wire_wr cfgb;
    wire_wr_init(&cfgb);
    int rc = -1;
    if (e == NULL || servers == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    e->s = s;
    wire_wr_init(&e->frame);
    e->role = ZAB_ROLE_LOOKING;
    e->looking_since_ms = srv_now_ms();
    e->limit_ms = (int64_t)q->sync_limit * s->cfg.tick_time_ms;
    for (int32_t i = 0; i < q->n_servers; i++) {
        servers[i].id = q->servers[i].id;
        servers[i].is_observer = q->servers[i].is_observer;
        if (!servers[i].is_observer)
            e->n_voters++;
    }
    build_config(q, &cfgb);
    if (cfgb.err != 0) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    s->ens = e; /* the callbacks below reach it through s */
    srv_peers_cb cb = {e, on_notif, on_down};
    if (srv_peers_open(s->base, q, &cb, &e->peers, err, err_len) != 0)
        goto out;
    zab_config zc = {
        .my_id = q->my_id,
        .servers = servers,
        .n_servers = (size_t)q->n_servers,
        .is_observer = q->me->is_observer,
        .config = cfgb.p,
        .config_len = cfgb.len,
        .last_logged_zxid = s->last_zxid,
        .current_epoch = (int64_t)((uint64_t)s->last_zxid >> 32),
        .accepted_epoch = (int64_t)((uint64_t)s->last_zxid >> 32),
        .seed = (uint64_t)s->rng << 32 | (uint64_t)srv_wall_ms(),
        .now_ms = srv_now_ms(),
    };
    srv_log(SRV_LOG_INFO,
            "ensemble mode: %d servers (%d voters), myid %" PRId64 " (%s), last zxid 0x%" PRIx64
            "; running leader election; clients are not served (sync is not implemented yet)",
            q->n_servers, e->n_voters, q->my_id, zc.is_observer ? "observer" : "participant",
            (uint64_t)s->last_zxid);
    e->z = zab_new(&zc);
    if (e->z == NULL) {
        snprintf(err, err_len, "cannot set up leader election (out of memory)");
        goto out;
    }
    e->tick_ev = event_new(s->base, -1, EV_PERSIST, on_tick, e);
    struct timeval tv = {0, ZAB_TICK_MS * 1000};
    if (e->tick_ev == NULL || event_add(e->tick_ev, &tv) != 0) {
        snprintf(err, err_len, "out of memory setting up the event loop");
        goto out;
    }
    drain(e); /* the first election's notifications and its LOOKING */
    rc = 0;
out:
    free(servers);
    wire_wr_fini(&cfgb);
    if (rc != 0 && e != NULL && s->ens != e) {
        wire_wr_fini(&e->frame);
        free(e);
    }
    return rc;
}

void srv_ens_stop(srv *s)
{
    srv_ens *e = s->ens;
    if (e == NULL)
        return;
    if (e->tick_ev != NULL)
        event_free(e->tick_ev);
    srv_peers_free(e->peers);
    zab_free(e->z);
    wire_wr_fini(&e->frame);
    free(e);
    s->ens = NULL;
}
