/*
 * ens_report.c: what an ensemble member adds to the four-letter words that
 * report (monitor.c calls these) and the /zookeeper/config node, in
 * ZooKeeper 3.8's formats:
 *
 *   srvr, stat  on a leader, after "Node count": "Proposal sizes
 *               last/min/max: L/MIN/MAX" (StatCommand), -1 each before the
 *               first proposal of the leadership (BufferStats).
 *   mntr        zk_peer_state ("leading - broadcast": the role and zab's
 *               phase, QuorumPeer.getDetailedPeerState) and zk_quorum_size
 *               (the voters) on every member; on a leader the gauges of
 *               LeaderZooKeeperServer: zk_learners, zk_synced_followers,
 *               zk_synced_observers, zk_leader_uptime, zk_last_proposal_size,
 *               zk_min_proposal_size, zk_max_proposal_size.
 *   srst        on a leader also resets the proposal sizes
 *               (StatResetCommand).
 *
 * Every figure comes from zab's state (zab.h's introspection) or the
 * configuration. Left out: zk_pending_syncs (learners' syncs a leader
 * holds until the proposals before them commit: Leader.pendingSyncs; zabd's
 * leader holds them in ens_serve.c, but no test yet makes that transient
 * figure move, so it is not printed) and zk_synced_non_voting_followers
 * (followers outside the voting view exist only with dynamic
 * reconfiguration; zab drops a learner whose type is not its
 * configuration's). The sync mode ZooKeeper appends to zk_peer_state
 * during a sync ("- diff") is not shown: mntr answers only once synced.
 *
 * /zookeeper/config holds the QuorumVerifier string ("server.N=host:q:e:
 * participant;chost:cport" lines, then "version=0"), set outside any txn
 * with mzxid 0 (the configuration's version), mtime now and version -1, as
 * ZKDatabase.initConfigInZKDatabase does at start; ensemble.c calls it at
 * start and after a TRUNC rebuilt the tree.
 */
#include "server/srv_int.h"
#include "zab/zab.h"

#include <string.h>

static bool is_leader(const srv *s)
{
    return s->ens != NULL && strcmp(srv_ens_state(s), "leader") == 0;
}

void srv_ens_report_stat(const srv *s, wire_wr *w)
{
    if (!is_leader(s))
        return;
    zab_sizes ps = zab_proposal_sizes(srv_ens_zab(s));
    srv_out(w, "Proposal sizes last/min/max: %" PRId64 "/%" PRId64 "/%" PRId64 "\n", ps.last,
            ps.min, ps.max);
}

/* QuorumPeer.ServerState's name, lower case. */
static const char *peer_state(int32_t role)
{
    switch (role) {
    case ZAB_ROLE_FOLLOWING:
        return "following";
    case ZAB_ROLE_LEADING:
        return "leading";
    case ZAB_ROLE_OBSERVING:
        return "observing";
    }
    return "looking";
}

void srv_ens_report_mntr(srv *s, wire_wr *w)
{
    const zab *z = srv_ens_zab(s);
    if (z == NULL)
        return;
    const char *phase = zab_phase_name(z);
    srv_out(w, "zk_peer_state\t%s", peer_state(zab_role_get(z)));
    if (strcmp(phase, "election") != 0)
        srv_out(w, " - %s", phase);
    srv_out(w, "\n");
    int32_t n_voters = 0;
    for (int32_t i = 0; i < s->cfg.quorum.n_servers; i++)
        n_voters += !s->cfg.quorum.servers[i].is_observer;
    srv_out(w, "zk_quorum_size\t%d\n", n_voters);
    if (!is_leader(s))
        return;
    zab_sizes ps = zab_proposal_sizes(z);
    srv_out(w, "zk_learners\t%zu\n", zab_n_learners(z));
    srv_out(w, "zk_synced_followers\t%zu\n", zab_n_synced_followers(z));
    srv_out(w, "zk_synced_observers\t%zu\n", zab_n_synced_observers(z));
    srv_out(w, "zk_leader_uptime\t%" PRId64 "\n", zab_leader_uptime_ms(z));
    srv_out(w, "zk_last_proposal_size\t%" PRId64 "\n", ps.last);
    srv_out(w, "zk_min_proposal_size\t%" PRId64 "\n", ps.min);
    srv_out(w, "zk_max_proposal_size\t%" PRId64 "\n", ps.max);
}

void srv_ens_report_reset(srv *s)
{
    if (is_leader(s))
        zab_proposal_sizes_reset(srv_ens_zab(s));
}

void srv_ens_config_node_set(srv *s)
{
    if (!s->cfg.quorum.is_ensemble)
        return;
    wire_wr w;
    wire_wr_init(&w);
    srv_ens_config_string(s, &w);
    int rc =
        w.err != 0 ? w.err : zt_config_node_set(s->tree, w.p, (int32_t)w.len, 0, srv_wall_ms());
    if (rc != 0)
        srv_log(SRV_LOG_WARN, "cannot set /zookeeper/config to the ensemble's servers: %s",
                wire_err_name(rc));
    wire_wr_fini(&w);
}
