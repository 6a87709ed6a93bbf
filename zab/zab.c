/*
 * zab.c: the object, its configuration, the output batch and the dispatch
 * to the current role's step and tick functions.
 *
 * It does not hold any protocol logic: election is in election.c. The roles
 * after election (following, leading, observing) are reported but not run
 * yet: their quorum packets are refused with ZERR_UNIMPLEMENTED rather than
 * acted on, so nothing downstream mistakes a decided role for a synced one.
 */
#include <stdlib.h>
#include <string.h>

#include "zab/zab_int.h"

/* ---- Roles not written yet ------------------------------------------------ */

/* Election notifications are answered in every role (election.c); quorum
 * packets need the role's protocol, which does not exist yet. */
static int step_unwritten(zab *z, const zab_msg *m)
{
    if (m->type == ZAB_MSG_NOTIFICATION)
        return zab_el_receive(z, m);
    if (m->type == ZAB_MSG_QUORUM)
        return ZERR_UNIMPLEMENTED;
    return ZERR_BADARGUMENTS;
}

static void tick_unwritten(zab *z) {}

static const zab_role_ops role_ops[] = {
    [ZAB_ROLE_LOOKING] = {"looking", step_looking, tick_looking},
    [ZAB_ROLE_FOLLOWING] = {"following", step_unwritten, tick_unwritten},
    [ZAB_ROLE_LEADING] = {"leading", step_unwritten, tick_unwritten},
    [ZAB_ROLE_OBSERVING] = {"observing", step_unwritten, tick_unwritten},
};

void zab_role_set(zab *z, int32_t role, const zab_vote *v)
{
    ZK_ASSERT(role >= ZAB_ROLE_LOOKING && role <= ZAB_ROLE_OBSERVING, "role %d", (int)role);
    z->role = role;
    z->ops = &role_ops[role];
    z->has_role_change = true;
    z->role_change.role = role;
    z->role_change.vote = *v;
}

/* ---- Servers ---------------------------------------------------------------- */

int zab_server_index(const zab *z, int64_t id)
{
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->servers[i].id == id)
            return (int)i;
    return -1;
}

/* FastLeaderElection.validVoter: in the voting view (no next view: no
 * dynamic reconfiguration yet). */
bool zab_is_voter(const zab *z, int64_t id)
{
    int i = zab_server_index(z, id);
    return i >= 0 && !z->servers[i].is_observer;
}

/* ---- Output ------------------------------------------------------------------ */

int zab_send_notif(zab *z, int64_t to, int32_t state, const zab_vote *v, int64_t election_epoch)
{
    if (z->n_sends == z->cap_sends) {
        size_t cap = z->cap_sends ? z->cap_sends * 2 : 16;
        zab_send *s = realloc(z->sends, cap * sizeof *s);
        if (s == NULL)
            return ZERR_NOMEM;
        z->sends = s;
        z->cap_sends = cap;
    }
    zab_send *s = &z->sends[z->n_sends++];
    memset(s, 0, sizeof *s);
    s->to = to;
    s->notif.state = state;
    s->notif.leader = v->leader;
    s->notif.zxid = v->zxid;
    s->notif.election_epoch = election_epoch;
    s->notif.peer_epoch = v->peer_epoch;
    s->notif.version = WIRE_EL_NOTIFICATION_VERSION;
    s->notif.config.p = z->config;
    s->notif.config.len = z->config_len;
    return 0;
}

bool zab_ready(zab *z, zab_batch *out)
{
    memset(out, 0, sizeof *out);
    out->sends = z->sends;
    out->n_sends = z->n_sends;
    out->has_role_change = z->has_role_change;
    out->role_change = z->role_change;
    return out->n_sends > 0 || out->has_role_change;
}

static bool role_change_eq(const zab_role_change *a, const zab_role_change *b)
{
    return a->role == b->role && a->vote.leader == b->vote.leader && a->vote.zxid == b->vote.zxid &&
           a->vote.election_epoch == b->vote.election_epoch &&
           a->vote.peer_epoch == b->vote.peer_epoch;
}

void zab_advance(zab *z, const zab_batch *done)
{
    size_t n = done->n_sends;
    ZK_ASSERT(n <= z->n_sends, "advance past what is queued: %zu > %zu", n, z->n_sends);
    if (n > 0 && n < z->n_sends) /* sends may be NULL when nothing was ever queued */
        memmove(z->sends, z->sends + n, (z->n_sends - n) * sizeof *z->sends);
    z->n_sends -= n;
    /* A change reported in done is retired unless a newer one replaced it. */
    if (done->has_role_change && z->has_role_change &&
        role_change_eq(&done->role_change, &z->role_change))
        z->has_role_change = false;
}

/* ---- Lifetime ------------------------------------------------------------------ */

static bool config_ok(const zab_config *cfg)
{
    if (cfg == NULL || cfg->servers == NULL || cfg->n_servers == 0 ||
        cfg->n_servers > ZAB_MAX_SERVERS || cfg->config_len > INT32_MAX ||
        (cfg->config == NULL && cfg->config_len > 0))
        return false;
    size_t n_voters = 0;
    bool has_me = false;
    for (size_t i = 0; i < cfg->n_servers; i++) {
        for (size_t j = 0; j < i; j++)
            if (cfg->servers[j].id == cfg->servers[i].id)
                return false;
        if (!cfg->servers[i].is_observer)
            n_voters++;
        if (cfg->servers[i].id == cfg->my_id) {
            has_me = true;
            /* QuorumPeer refuses a peerType that contradicts server.N. */
            if (cfg->servers[i].is_observer != cfg->is_observer)
                return false;
        }
    }
    return has_me && n_voters > 0;
}

zab *zab_new(const zab_config *cfg)
{
    if (!config_ok(cfg))
        return NULL;
    zab *z = calloc(1, sizeof *z);
    if (z == NULL)
        return NULL;
    z->servers = malloc(cfg->n_servers * sizeof *z->servers);
    z->el.recvset = calloc(cfg->n_servers, sizeof *z->el.recvset);
    z->el.outofelec = calloc(cfg->n_servers, sizeof *z->el.outofelec);
    z->config = malloc(cfg->config_len ? cfg->config_len : 1);
    if (z->servers == NULL || z->el.recvset == NULL || z->el.outofelec == NULL || z->config == NULL)
        goto fail;
    memcpy(z->servers, cfg->servers, cfg->n_servers * sizeof *z->servers);
    z->n_servers = cfg->n_servers;
    for (size_t i = 0; i < z->n_servers; i++)
        if (!z->servers[i].is_observer)
            z->n_voters++;
    if (cfg->config_len)
        memcpy(z->config, cfg->config, cfg->config_len);
    z->config_len = (int32_t)cfg->config_len;
    z->my_id = cfg->my_id;
    z->is_observer = cfg->is_observer;
    z->rng_state = cfg->seed;
    z->now_ms = cfg->now_ms;
    z->last_logged_zxid = cfg->last_logged_zxid;
    z->current_epoch = cfg->current_epoch;
    z->accepted_epoch = cfg->accepted_epoch;
    /* QuorumPeer.startLeaderElection: the boot vote is for myself with no
     * election epoch, whatever my learner type. */
    z->current_vote = (zab_vote){z->my_id, z->last_logged_zxid, -1, z->current_epoch};
    z->role = ZAB_ROLE_LOOKING;
    z->ops = &role_ops[ZAB_ROLE_LOOKING];
    /* A failure to queue the first notifications is a lost send: the
     * notification timeout resends them. */
    (void)zab_el_start(z);
    return z;
fail:
    zab_free(z);
    return NULL;
}

void zab_free(zab *z)
{
    if (z == NULL)
        return;
    free(z->servers);
    free(z->el.recvset);
    free(z->el.outofelec);
    free(z->config);
    free(z->sends);
    free(z);
}

/* ---- Input --------------------------------------------------------------------- */

int zab_step(zab *z, const zab_msg *m)
{
    return z->ops->step(z, m);
}

void zab_tick(zab *z, int64_t now_ms)
{
    ZK_ASSERT(now_ms >= z->now_ms, "time went backwards: %lld < %lld", (long long)now_ms,
              (long long)z->now_ms);
    z->now_ms = now_ms;
    z->ops->tick(z);
}

int zab_start_election(zab *z, int64_t last_logged_zxid, int64_t current_epoch)
{
    z->last_logged_zxid = last_logged_zxid;
    z->current_epoch = current_epoch;
    return zab_el_start(z);
}

/* ---- Introspection ---------------------------------------------------------------- */

int32_t zab_role_get(const zab *z)
{
    return z->role;
}

zab_vote zab_vote_get(const zab *z)
{
    if (z->role != ZAB_ROLE_LOOKING)
        return z->current_vote;
    zab_vote v = z->el.proposal;
    v.election_epoch = z->el.logical_clock;
    return v;
}

int64_t zab_election_epoch(const zab *z)
{
    return z->el.logical_clock;
}

int32_t zab_notification_timeout_ms(const zab *z)
{
    return z->el.not_timeout_ms;
}
