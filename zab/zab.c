/*
 * zab.c: the object, its configuration, the output batch and the dispatch
 * to the current role's step and tick functions.
 *
 * It holds no protocol logic beyond the log window: election is in
 * election.c, the leader in leader.c, the learners in learner.c.
 */
#include <stdlib.h>
#include <string.h>

#include "zab/zab_int.h"

/* ---- Roles ---------------------------------------------------------------- */

static void nop(zab *z) {}
static void nop_sid(zab *z, int64_t sid) {}

static const zab_role_ops role_ops[] = {
    [ZAB_ROLE_LOOKING] = {"looking", step_looking, tick_looking, nop, nop, nop, nop_sid, nop_sid},
    [ZAB_ROLE_FOLLOWING] = {"following", step_learning, tick_learning, zab_learner_enter,
                            zab_learner_leave, zab_learner_persisted, zab_learner_peer_up,
                            zab_learner_peer_down},
    [ZAB_ROLE_LEADING] = {"leading", step_leading, tick_leading, zab_leader_enter, zab_leader_leave,
                          zab_leader_persisted, nop_sid, zab_leader_peer_down},
    [ZAB_ROLE_OBSERVING] = {"observing", step_learning, tick_learning, zab_learner_enter,
                            zab_learner_leave, zab_learner_persisted, zab_learner_peer_up,
                            zab_learner_peer_down},
};

/* Every change of role goes through here (election.c decides, and starts
 * elections): the old role lets go of its connections first, then the new
 * one starts. */
void zab_role_set(zab *z, int32_t role, const zab_vote *v)
{
    ZK_ASSERT(role >= ZAB_ROLE_LOOKING && role <= ZAB_ROLE_OBSERVING, "role %d", (int)role);
    if (z->ops != NULL)
        z->ops->leave(z);
    z->role = role;
    z->ops = &role_ops[role];
    z->has_role_change = true;
    z->role_change.role = role;
    z->role_change.vote = *v;
    if (role != ZAB_ROLE_LOOKING) {
        /* ZooKeeper reloads its database for each role, applying every txn
         * in its log: whatever of my log was not committed yet counts as
         * applied now (a TRUNC takes back what the leader does not have). */
        zab_entry *e;
        while ((e = zab_log_first_uncommitted(z)) != NULL) {
            (void)zab_out_commit(z, e->zxid, e->p, e->len);
            zab_log_mark_committed(z, e);
        }
    }
    z->ops->enter(z);
}

void zab_role_fail(zab *z, int64_t peer, int32_t code, const char *what)
{
    zab_out_error(z, peer, code, what);
    (void)zab_start_election(z, z->last_logged_zxid, z->current_epoch);
}

int64_t zab_ms_of_ticks(const zab *z, int32_t ticks)
{
    return (int64_t)z->tick_ms * ticks;
}

/* A majority of the voters (QuorumMaj). */
size_t zab_quorum(const zab *z)
{
    return z->n_voters / 2 + 1;
}

/* ---- Servers ---------------------------------------------------------------- */

void zab_update_election_vote(zab *z, int64_t epoch)
{
    z->current_vote.peer_epoch = epoch;
}

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
    if (wire_reserve((void **)&z->sends, &z->cap_sends, z->n_sends, sizeof *z->sends) != 0)
        return ZERR_NOMEM;
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

/* ---- Byte-record queues ----------------------------------------------------- */

static int outq_push(zab_outq *q, int64_t key, const uint8_t *p, size_t len)
{
    if (wire_reserve((void **)&q->recs, &q->cap, q->n, sizeof *q->recs) != 0)
        return ZERR_NOMEM;
    size_t off = q->arena.len;
    if (len > 0)
        wire_wr_raw(&q->arena, p, len);
    if (wire_wr_err(&q->arena) != 0) {
        q->arena.len = off; /* what was there stays good */
        q->arena.err = 0;
        return ZERR_NOMEM;
    }
    q->recs[q->n++] = (zab_outrec){key, off, len};
    return 0;
}

/* The view zab_ready hands out; NULL with n 0 when empty or out of memory
 * (then nothing is reported and so nothing retired: retried next time). */
static const zab_txn *outq_view(zab_outq *q, size_t *n)
{
    *n = 0;
    if (q->n == 0)
        return NULL;
    if (wire_reserve((void **)&q->view, &q->cap_view, q->n - 1, sizeof *q->view) != 0)
        return NULL;
    for (size_t i = 0; i < q->n; i++)
        q->view[i] = (zab_txn){q->recs[i].key, q->arena.p + q->recs[i].off, q->recs[i].len};
    *n = q->n;
    return q->view;
}

static void outq_retire(zab_outq *q, size_t n)
{
    ZK_ASSERT(n <= q->n, "advance past what is queued: %zu > %zu", n, q->n);
    if (n == 0)
        return;
    if (n == q->n) {
        q->n = 0;
        wire_wr_reset(&q->arena);
        return;
    }
    size_t cut = q->recs[n].off;
    memmove(q->arena.p, q->arena.p + cut, q->arena.len - cut);
    q->arena.len -= cut;
    memmove(q->recs, q->recs + n, (q->n - n) * sizeof *q->recs);
    q->n -= n;
    for (size_t i = 0; i < q->n; i++)
        q->recs[i].off -= cut;
}

static void outq_fini(zab_outq *q)
{
    free(q->recs);
    free(q->view);
    wire_wr_fini(&q->arena);
}

void zab_qsends_clear(zab *z)
{
    z->qsends.n = 0;
    wire_wr_reset(&z->qsends.arena);
    z->is_qsends_cleared = true; /* what zab_ready reported is gone */
}

int zab_qp_send(zab *z, int64_t to, int32_t type, int64_t zxid, const uint8_t *data, int32_t len)
{
    /* Encoded through wire/ into a scratch writer so that a failure leaves
     * the queue as it was. */
    wire_qp q = {type, zxid, {data, len}, NULL, -1};
    wire_wr w;
    wire_wr_init(&w);
    wire_qp_encode(&w, &q);
    int rc = wire_wr_err(&w) ? ZERR_NOMEM : outq_push(&z->qsends, to, w.p, w.len);
    wire_wr_fini(&w);
    return rc;
}

int zab_out_append(zab *z, int64_t zxid, const uint8_t *p, size_t len)
{
    return outq_push(&z->appends, zxid, p, len);
}

int zab_out_commit(zab *z, int64_t zxid, const uint8_t *p, size_t len)
{
    return outq_push(&z->commits, zxid, p, len);
}

int zab_out_drop(zab *z, int64_t sid)
{
    for (size_t i = 0; i < z->n_drops; i++)
        if (z->drops[i] == sid)
            return 0;
    if (wire_reserve((void **)&z->drops, &z->cap_drops, z->n_drops, sizeof *z->drops) != 0)
        return ZERR_NOMEM;
    z->drops[z->n_drops++] = sid;
    return 0;
}

int zab_out_disk_diff(zab *z, int64_t sid, int64_t peer_zxid)
{
    if (wire_reserve((void **)&z->disk_diffs, &z->cap_disk_diffs, z->n_disk_diffs,
                     sizeof *z->disk_diffs) != 0)
        return ZERR_NOMEM;
    z->disk_diffs[z->n_disk_diffs++] = (zab_disk_diff){sid, peer_zxid};
    return 0;
}

int zab_out_snap(zab *z, int64_t sid)
{
    if (wire_reserve((void **)&z->snaps, &z->cap_snaps, z->n_snaps, sizeof *z->snaps) != 0)
        return ZERR_NOMEM;
    z->snaps[z->n_snaps++] = sid;
    return 0;
}

void zab_out_error(zab *z, int64_t peer, int32_t code, const char *what)
{
    if (wire_reserve((void **)&z->errors, &z->cap_errors, z->n_errors, sizeof *z->errors) != 0)
        return; /* an unlogged error; the state change itself still happens */
    z->errors[z->n_errors++] = (zab_error){peer, code, what};
}

void zab_out_serving(zab *z, bool is_serving)
{
    if (z->is_serving == is_serving)
        return;
    z->is_serving = is_serving;
    z->has_serving = true;
    if (is_serving)
        z->serving_since_ms = z->now_ms;
}

void zab_out_accepted_epoch(zab *z, int64_t epoch)
{
    z->accepted_epoch = epoch;
    z->has_accepted_epoch = true;
}

void zab_out_current_epoch(zab *z, int64_t epoch)
{
    z->current_epoch = epoch;
    z->has_current_epoch = true;
}

/* ---- The log ------------------------------------------------------------------ */

/* Keeps at most window_max committed entries (the oldest go first; they are
 * all before the uncommitted tail). */
static void log_trim(zab *z)
{
    size_t n = 0;
    while (z->n_committed_in_log - n > (size_t)z->window_max && n < z->n_log &&
           z->log[n].is_committed)
        n++;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        free(z->log[i].p);
        free(z->log[i].acks);
    }
    z->log_base_zxid = z->log[n - 1].zxid;
    memmove(z->log, z->log + n, (z->n_log - n) * sizeof *z->log);
    z->n_log -= n;
    z->n_committed_in_log -= n;
}

int zab_log_push(zab *z, int64_t zxid, const uint8_t *p, size_t len, bool is_committed)
{
    if (wire_reserve((void **)&z->log, &z->cap_log, z->n_log, sizeof *z->log) != 0)
        return ZERR_NOMEM;
    zab_entry e = {zxid, malloc(len ? len : 1), len, is_committed, NULL};
    if (e.p == NULL)
        return ZERR_NOMEM;
    if (len)
        memcpy(e.p, p, len);
    z->log[z->n_log++] = e;
    if (zxid > z->last_logged_zxid)
        z->last_logged_zxid = zxid;
    if (is_committed) {
        z->n_committed_in_log++;
        if (zxid > z->last_committed)
            z->last_committed = zxid;
        log_trim(z);
    }
    return 0;
}

zab_entry *zab_log_find(zab *z, int64_t zxid)
{
    for (size_t i = z->n_log; i-- > 0;)
        if (z->log[i].zxid == zxid)
            return &z->log[i];
    return NULL;
}

zab_entry *zab_log_first_uncommitted(zab *z)
{
    size_t i = z->n_committed_in_log; /* committed entries are a prefix */
    return i < z->n_log ? &z->log[i] : NULL;
}

void zab_log_mark_committed(zab *z, zab_entry *e)
{
    ZK_ASSERT(e == zab_log_first_uncommitted(z), "commit out of order: %llx",
              (unsigned long long)e->zxid);
    e->is_committed = true;
    z->n_committed_in_log++;
    z->last_committed = e->zxid;
    log_trim(z);
}

void zab_log_truncate(zab *z, int64_t zxid)
{
    while (z->n_log > 0 && z->log[z->n_log - 1].zxid > zxid) {
        zab_entry *e = &z->log[--z->n_log];
        if (e->is_committed)
            z->n_committed_in_log--;
        free(e->p);
        free(e->acks);
    }
    if (z->log_base_zxid > zxid)
        z->log_base_zxid = zxid;
    z->last_logged_zxid = zxid;
    if (z->last_committed > zxid)
        z->last_committed = zxid;
    if (z->persisted_zxid > zxid)
        z->persisted_zxid = zxid;
}

void zab_log_reset(zab *z, int64_t zxid)
{
    for (size_t i = 0; i < z->n_log; i++) {
        free(z->log[i].p);
        free(z->log[i].acks);
    }
    z->n_log = 0;
    z->n_committed_in_log = 0;
    z->log_base_zxid = zxid;
    z->last_logged_zxid = zxid;
    z->last_committed = zxid;
    z->persisted_zxid = zxid;
}

/* ---- The batch ------------------------------------------------------------------ */

bool zab_ready(zab *z, zab_batch *out)
{
    memset(out, 0, sizeof *out);
    out->sends = z->sends;
    out->n_sends = z->n_sends;
    out->has_role_change = z->has_role_change;
    out->role_change = z->role_change;
    z->is_qsends_cleared = false;
    out->qsends = (const zab_qsend *)outq_view(&z->qsends, &out->n_qsends);
    out->has_truncate = z->has_truncate;
    out->truncate_zxid = z->truncate_zxid;
    out->has_accepted_epoch = z->has_accepted_epoch;
    out->accepted_epoch = z->accepted_epoch;
    out->has_current_epoch = z->has_current_epoch;
    out->current_epoch = z->current_epoch;
    out->appends = outq_view(&z->appends, &out->n_appends);
    out->commits = outq_view(&z->commits, &out->n_commits);
    out->drops = z->drops;
    out->n_drops = z->n_drops;
    out->snaps = z->snaps;
    out->n_snaps = z->n_snaps;
    out->disk_diffs = z->disk_diffs;
    out->n_disk_diffs = z->n_disk_diffs;
    out->has_connect = z->has_connect;
    out->connect_leader = z->connect_leader;
    out->has_serving = z->has_serving;
    out->is_serving = z->is_serving;
    out->errors = z->errors;
    out->n_errors = z->n_errors;
    return out->n_sends > 0 || out->has_role_change || out->n_qsends > 0 || out->has_truncate ||
           out->has_accepted_epoch || out->has_current_epoch || out->n_appends > 0 ||
           out->n_commits > 0 || out->n_drops > 0 || out->n_snaps > 0 || out->n_disk_diffs > 0 ||
           out->has_connect || out->has_serving || out->n_errors > 0;
}

static bool role_change_eq(const zab_role_change *a, const zab_role_change *b)
{
    return a->role == b->role && a->vote.leader == b->vote.leader && a->vote.zxid == b->vote.zxid &&
           a->vote.election_epoch == b->vote.election_epoch &&
           a->vote.peer_epoch == b->vote.peer_epoch;
}

static void retire_ids(int64_t *a, size_t *n, size_t k)
{
    ZK_ASSERT(k <= *n, "advance past what is queued");
    memmove(a, a + k, (*n - k) * sizeof *a);
    *n -= k;
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
    /* Quorum sends cleared since that zab_ready (a role ended) are gone
     * already; what is queued now is newer. */
    if (!z->is_qsends_cleared)
        outq_retire(&z->qsends, done->n_qsends);
    z->is_qsends_cleared = false;
    outq_retire(&z->appends, done->n_appends);
    outq_retire(&z->commits, done->n_commits);
    if (done->has_truncate && z->has_truncate && done->truncate_zxid == z->truncate_zxid)
        z->has_truncate = false;
    if (done->has_accepted_epoch && done->accepted_epoch == z->accepted_epoch)
        z->has_accepted_epoch = false;
    if (done->has_current_epoch && done->current_epoch == z->current_epoch)
        z->has_current_epoch = false;
    if (z->drops != NULL)
        retire_ids(z->drops, &z->n_drops, done->n_drops);
    if (z->snaps != NULL)
        retire_ids(z->snaps, &z->n_snaps, done->n_snaps);
    if (z->disk_diffs != NULL) {
        ZK_ASSERT(done->n_disk_diffs <= z->n_disk_diffs, "advance past what is queued");
        memmove(z->disk_diffs, z->disk_diffs + done->n_disk_diffs,
                (z->n_disk_diffs - done->n_disk_diffs) * sizeof *z->disk_diffs);
        z->n_disk_diffs -= done->n_disk_diffs;
    }
    if (done->has_connect && z->has_connect && done->connect_leader == z->connect_leader)
        z->has_connect = false;
    if (done->has_serving && z->has_serving && done->is_serving == z->is_serving)
        z->has_serving = false;
    if (z->errors != NULL) {
        ZK_ASSERT(done->n_errors <= z->n_errors, "advance past what is queued");
        memmove(z->errors, z->errors + done->n_errors,
                (z->n_errors - done->n_errors) * sizeof *z->errors);
        z->n_errors -= done->n_errors;
    }
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
    if (!has_me || n_voters == 0 || cfg->tick_ms < 0 || cfg->init_limit < 0 ||
        cfg->sync_limit < 0 || cfg->window_max < 0 || (cfg->log == NULL && cfg->n_log > 0))
        return false;
    int64_t prev = cfg->log_base_zxid;
    for (size_t i = 0; i < cfg->n_log; i++) {
        if (cfg->log[i].zxid <= prev || (cfg->log[i].p == NULL && cfg->log[i].len > 0))
            return false;
        prev = cfg->log[i].zxid;
    }
    return cfg->n_log == 0 || prev == cfg->last_logged_zxid;
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
    z->tick_ms = cfg->tick_ms ? cfg->tick_ms : 2000;
    z->init_limit = cfg->init_limit ? cfg->init_limit : 10;
    z->sync_limit = cfg->sync_limit ? cfg->sync_limit : 5;
    z->window_max = cfg->window_max ? cfg->window_max : 500;
    z->has_disk_log = cfg->has_disk_log;
    z->ld.lh = calloc(cfg->n_servers, sizeof *z->ld.lh);
    if (z->ld.lh == NULL)
        goto fail;
    z->log_base_zxid = cfg->log_base_zxid;
    for (size_t i = 0; i < cfg->n_log; i++)
        if (zab_log_push(z, cfg->log[i].zxid, cfg->log[i].p, cfg->log[i].len, true) != 0)
            goto fail;
    if (cfg->n_log == 0)
        z->log_base_zxid = z->last_logged_zxid; /* nothing to DIFF from but my last */
    z->last_committed = z->last_logged_zxid;    /* all of my log counts as committed */
    z->persisted_zxid = z->last_logged_zxid;
    wire_wr_init(&z->qsends.arena);
    wire_wr_init(&z->appends.arena);
    wire_wr_init(&z->commits.arena);
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
    free(z->ping_data);
    free(z->el.recvset);
    free(z->el.outofelec);
    free(z->config);
    free(z->sends);
    for (size_t i = 0; i < z->n_log; i++) {
        free(z->log[i].p);
        free(z->log[i].acks);
    }
    free(z->log);
    free(z->ld.lh);
    outq_fini(&z->qsends);
    outq_fini(&z->appends);
    outq_fini(&z->commits);
    free(z->drops);
    free(z->snaps);
    free(z->disk_diffs);
    free(z->errors);
    free(z);
}

/* ---- Input --------------------------------------------------------------------- */

int zab_step(zab *z, const zab_msg *m)
{
    if (m->type == ZAB_MSG_PEER_UP)
        return zab_peer_up(z, m->from);
    if (m->type == ZAB_MSG_PEER_DOWN)
        return zab_peer_down(z, m->from);
    if (m->type == ZAB_MSG_QUORUM &&
        (z->role == ZAB_ROLE_LOOKING || m->from == z->my_id || zab_server_index(z, m->from) < 0))
        return ZERR_BADARGUMENTS;
    return z->ops->step(z, m);
}

int zab_peer_up(zab *z, int64_t sid)
{
    if (zab_server_index(z, sid) < 0 || sid == z->my_id)
        return ZERR_BADARGUMENTS;
    z->ops->peer_up(z, sid);
    return 0;
}

int zab_peer_down(zab *z, int64_t sid)
{
    if (zab_server_index(z, sid) < 0 || sid == z->my_id)
        return ZERR_BADARGUMENTS;
    z->ops->peer_down(z, sid);
    return 0;
}

void zab_persisted(zab *z, int64_t upto_zxid)
{
    if (upto_zxid <= z->persisted_zxid)
        return;
    z->persisted_zxid = upto_zxid;
    z->ops->persisted(z);
}

int zab_snap_sent(zab *z, int64_t sid, int64_t zxid)
{
    if (z->role != ZAB_ROLE_LEADING)
        return ZERR_BADARGUMENTS;
    return zab_leader_snap_sent(z, sid, zxid);
}

int zab_disk_diff_done(zab *z, int64_t sid, bool sent)
{
    if (z->role != ZAB_ROLE_LEADING)
        return ZERR_BADARGUMENTS;
    return zab_leader_disk_diff_done(z, sid, sent);
}

int64_t zab_window_base(const zab *z)
{
    return z->log_base_zxid;
}

int64_t zab_next_zxid(const zab *z)
{
    if (z->role != ZAB_ROLE_LEADING || z->ld.phase != ZAB_LP_ESTABLISHED)
        return -1;
    return z->ld.last_zxid + 1;
}

int zab_propose(zab *z, const uint8_t *txn, size_t len, int64_t *zxid_out)
{
    if (z->role != ZAB_ROLE_LEADING || z->ld.phase != ZAB_LP_ESTABLISHED)
        return ZERR_NOTREADONLY;
    int rc = zab_leader_propose(z, txn, len, zxid_out);
    if (rc == 0)
        zab_note_proposal_size(z, len);
    return rc;
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

int64_t zab_accepted_epoch(const zab *z)
{
    return z->accepted_epoch;
}

int64_t zab_current_epoch(const zab *z)
{
    return z->current_epoch;
}

int64_t zab_last_zxid(const zab *z)
{
    return z->last_logged_zxid;
}

int64_t zab_last_committed(const zab *z)
{
    return z->last_committed;
}

bool zab_is_serving(const zab *z)
{
    return z->is_serving;
}

int zab_set_ping_data(zab *z, const uint8_t *p, size_t len)
{
    if (len > z->ping_cap) {
        uint8_t *v = realloc(z->ping_data, len);
        if (v == NULL)
            return ZERR_NOMEM;
        z->ping_data = v;
        z->ping_cap = len;
    }
    if (len > 0)
        memcpy(z->ping_data, p, len);
    z->ping_len = len;
    return 0;
}

/* ---- Introspection for mntr, srvr and stat (a leader's view) ------------------- */

/* Leader.propose's proposalStats (BufferStats): the sizes of one leadership. */
void zab_note_proposal_size(zab *z, size_t len)
{
    int64_t n = (int64_t)len;
    if (z->prop_epoch != z->ld.epoch) {
        z->prop_epoch = z->ld.epoch;
        z->prop_min_len = z->prop_max_len = n;
    }
    z->prop_last_len = n;
    if (n < z->prop_min_len)
        z->prop_min_len = n;
    if (n > z->prop_max_len)
        z->prop_max_len = n;
}

static bool is_established_leader(const zab *z)
{
    return z->role == ZAB_ROLE_LEADING && z->ld.phase == ZAB_LP_ESTABLISHED;
}

/* Learner handlers at or past `state`, of one learner type. */
static size_t count_learners(const zab *z, int32_t state, bool is_observer)
{
    size_t n = 0;
    if (z->role != ZAB_ROLE_LEADING)
        return 0;
    for (size_t i = 0; i < z->n_servers; i++)
        if (z->ld.lh[i].state >= state && z->ld.lh[i].is_observer == is_observer)
            n++;
    return n;
}

size_t zab_n_learners(const zab *z)
{
    return count_learners(z, ZAB_LH_INFO, false) + count_learners(z, ZAB_LH_INFO, true);
}

size_t zab_n_synced_followers(const zab *z)
{
    return count_learners(z, ZAB_LH_SYNCED, false);
}

size_t zab_n_synced_observers(const zab *z)
{
    return count_learners(z, ZAB_LH_SYNCED, true);
}

zab_sizes zab_proposal_sizes(const zab *z)
{
    zab_sizes s = {-1, -1, -1};
    if (z->role == ZAB_ROLE_LEADING && z->prop_epoch != 0 && z->prop_epoch == z->ld.epoch) {
        s.last = z->prop_last_len;
        s.min = z->prop_min_len;
        s.max = z->prop_max_len;
    }
    return s;
}

void zab_proposal_sizes_reset(zab *z)
{
    z->prop_epoch = 0;
}

int64_t zab_leader_uptime_ms(const zab *z)
{
    return is_established_leader(z) && z->is_serving ? z->now_ms - z->serving_since_ms : -1;
}

const char *zab_phase_name(const zab *z)
{
    switch (z->role) {
    case ZAB_ROLE_LEADING:
        if (z->ld.phase == ZAB_LP_ESTABLISHED)
            return "broadcast";
        return z->ld.phase == ZAB_LP_NEWLEADER ? "synchronization" : "discovery";
    case ZAB_ROLE_FOLLOWING:
    case ZAB_ROLE_OBSERVING:
        if (z->fl.phase == ZAB_FP_SERVING)
            return "broadcast";
        return z->fl.phase >= ZAB_FP_ACKEPOCH ? "synchronization" : "discovery";
    }
    return "election";
}
