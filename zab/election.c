/*
 * election.c: Fast Leader Election as ZooKeeper 3.8 runs it
 * (FastLeaderElection.lookForLeader and its WorkerReceiver), one
 * notification or one deadline at a time instead of a thread blocked in
 * poll().
 *
 * What it keeps: the logical clock (election epoch), my proposal, the votes
 * of this round (recvset) and the FOLLOWING/LEADING votes of any round
 * (outofelection), the notification timeout with its back-off, and the
 * finalizeWait deadline once a quorum agrees.
 *
 * What it deliberately does not do: dynamic reconfiguration (a
 * notification's config is not parsed), QuorumOracleMaj (the two-server
 * oracle), hierarchical quorums or weights (QuorumMaj weighs every voter 1,
 * so totalOrderPredicate's weight test never fires and is left out), and
 * connection management (ZooKeeper reconnects instead of resending when
 * nothing was delivered; here the host owns the connections, so the
 * timeout always resends).
 *
 * The notification it emits is the 3.8 form: version 2 with the config
 * bytes from zab_config (wire_el_notif_encode writes it).
 */
#include <string.h>

#include "zab/zab_int.h"

bool zab_vote_newer(const zab_vote *a, const zab_vote *b)
{
    if (a->peer_epoch != b->peer_epoch)
        return a->peer_epoch > b->peer_epoch;
    if (a->zxid != b->zxid)
        return a->zxid > b->zxid;
    return a->leader > b->leader;
}

/* ---- Votes and quorums ---------------------------------------------------- */

static zab_vote notif_vote(const wire_el_notif *n)
{
    return (zab_vote){n->leader, n->zxid, n->election_epoch, n->peer_epoch};
}

/* getInitId, getInitLastLoggedZxid, getPeerEpoch: a voter votes for itself;
 * a non-voter (observer) starts from the lowest vote, so any real one wins. */
static zab_vote init_vote(const zab *z)
{
    zab_vote v;
    v.leader = zab_is_voter(z, z->my_id) ? z->my_id : INT64_MIN;
    v.zxid = z->is_observer ? INT64_MIN : z->last_logged_zxid;
    v.peer_epoch = z->is_observer ? INT64_MIN : z->current_epoch;
    v.election_epoch = -1;
    return v;
}

/* Vote.equals: while either side is LOOKING every field counts; between
 * FOLLOWING/LEADING votes only the leader and peer epoch (ZOOKEEPER-1805),
 * and only the leader when one of them is a pre-3.4.6 (version 0) vote
 * (ZOOKEEPER-1732). */
static bool ballot_eq(const zab_ballot *a, const zab_ballot *b)
{
    if (a->state == ZAB_ROLE_LOOKING || b->state == ZAB_ROLE_LOOKING)
        return a->vote.leader == b->vote.leader && a->vote.zxid == b->vote.zxid &&
               a->vote.election_epoch == b->vote.election_epoch &&
               a->vote.peer_epoch == b->vote.peer_epoch;
    if ((a->version > 0) != (b->version > 0))
        return a->vote.leader == b->vote.leader;
    return a->vote.leader == b->vote.leader && a->vote.peer_epoch == b->vote.peer_epoch;
}

/* getVoteTracker + QuorumMaj.containsQuorum: more than half of the voters
 * cast a vote equal to target. */
static bool has_quorum(const zab *z, const zab_ballot *box, const zab_ballot *target)
{
    size_t acks = 0;
    for (size_t i = 0; i < z->n_servers; i++)
        if (!z->servers[i].is_observer && box[i].is_present && ballot_eq(&box[i], target))
            acks++;
    return acks > z->n_voters / 2;
}

/* checkLeader: a leader other than me must itself have said LEADING, so a
 * crashed leader is not elected over and over; if it is me, the votes must
 * be of my current round. */
static bool check_leader(const zab *z, const zab_ballot *box, int64_t leader,
                         int64_t election_epoch)
{
    if (leader != z->my_id) {
        int i = zab_server_index(z, leader);
        return i >= 0 && box[i].is_present && box[i].state == ZAB_ROLE_LEADING;
    }
    return z->el.logical_clock == election_epoch;
}

static void box_clear(const zab *z, zab_ballot *box)
{
    memset(box, 0, z->n_servers * sizeof *box);
}

static void box_put(const zab *z, zab_ballot *box, int64_t sid, const zab_ballot *b)
{
    int i = zab_server_index(z, sid);
    ZK_ASSERT(i >= 0, "vote from unknown server %lld", (long long)sid);
    box[i] = *b;
    box[i].is_present = true;
}

/* ---- Sending ------------------------------------------------------------------ */

/* sendNotifications: my proposal, LOOKING, to every voter. Mine is counted
 * straight into recvset; ZooKeeper routes it through its own queue, where it
 * is filtered as any other LOOKING notification (hence the -1 test). */
static int send_notifications(zab *z)
{
    int rc = 0;
    for (size_t i = 0; i < z->n_servers; i++) {
        const zab_server *s = &z->servers[i];
        if (s->is_observer || s->id == z->my_id)
            continue;
        int r = zab_send_notif(z, s->id, ZAB_ROLE_LOOKING, &z->el.proposal, z->el.logical_clock);
        if (r != 0)
            rc = r;
    }
    if (zab_is_voter(z, z->my_id) && init_vote(z).zxid != -1) {
        zab_ballot mine = {true, ZAB_ROLE_LOOKING, 0, z->el.proposal};
        mine.vote.election_epoch = z->el.logical_clock;
        box_put(z, z->el.recvset, z->my_id, &mine);
    }
    return rc;
}

/* ---- Deciding ------------------------------------------------------------------- */

/* setPeerState + leaveInstance. */
static void decide(zab *z, const zab_vote *v)
{
    int32_t role = ZAB_ROLE_FOLLOWING;
    if (v->leader == z->my_id)
        role = ZAB_ROLE_LEADING;
    else if (z->is_observer)
        role = ZAB_ROLE_OBSERVING;
    z->current_vote = *v;
    z->el.is_finalizing = false;
    box_clear(z, z->el.recvset);
    box_clear(z, z->el.outofelec);
    zab_role_set(z, role, v);
}

static zab_ballot proposal_ballot(const zab *z)
{
    zab_ballot b = {true, ZAB_ROLE_LOOKING, 0, z->el.proposal};
    b.vote.election_epoch = z->el.logical_clock;
    return b;
}

/* A quorum agrees with my proposal: wait finalizeWait for a better vote. */
static void maybe_finalize(zab *z)
{
    zab_ballot target = proposal_ballot(z);
    if (has_quorum(z, z->el.recvset, &target)) {
        z->el.is_finalizing = true;
        z->el.finalize_deadline_ms = z->now_ms + ZAB_FINALIZE_WAIT_MS;
    }
}

int zab_el_start(zab *z)
{
    zab_election *el = &z->el;
    el->logical_clock++;
    el->proposal = init_vote(z);
    box_clear(z, el->recvset);
    box_clear(z, el->outofelec);
    el->is_finalizing = false;
    el->not_timeout_ms = ZAB_MIN_NOTIFICATION_INTERVAL_MS;
    el->not_deadline_ms = z->now_ms + el->not_timeout_ms;
    zab_vote v = el->proposal;
    v.election_epoch = el->logical_clock;
    zab_role_set(z, ZAB_ROLE_LOOKING, &v);
    int rc = send_notifications(z);
    maybe_finalize(z); /* a single voter is its own quorum */
    return rc;
}

/* ---- lookForLeader, one notification at a time -------------------------------- */

/* receivedFollowingNotification (LEADING adds only the oracle, not used). */
static void look_following(zab *z, int64_t sid, const wire_el_notif *n)
{
    zab_ballot target = {true, n->state, n->version, notif_vote(n)};
    zab_vote v = notif_vote(n);
    if (n->election_epoch == z->el.logical_clock) {
        /* ZooKeeper stores this one without the version. */
        zab_ballot b = target;
        b.version = 0;
        box_put(z, z->el.recvset, sid, &b);
        if (has_quorum(z, z->el.recvset, &target) &&
            check_leader(z, z->el.recvset, n->leader, n->election_epoch)) {
            decide(z, &v);
            return;
        }
    }
    /* An established ensemble: a quorum follows one leader that says it
     * leads. Also holds votes of this round (ZOOKEEPER-1732). */
    box_put(z, z->el.outofelec, sid, &target);
    if (has_quorum(z, z->el.outofelec, &target) &&
        check_leader(z, z->el.outofelec, n->leader, n->election_epoch)) {
        z->el.logical_clock = n->election_epoch;
        decide(z, &v);
    }
}

static void look_looking(zab *z, int64_t sid, const wire_el_notif *n)
{
    zab_election *el = &z->el;
    zab_vote nv = notif_vote(n);
    if (init_vote(z).zxid == -1 || n->zxid == -1)
        return;
    if (n->election_epoch > el->logical_clock) {
        /* A newer round: start over in it with the better of its vote and
         * my own initial one. */
        el->logical_clock = n->election_epoch;
        box_clear(z, el->recvset);
        zab_vote mine = init_vote(z);
        el->proposal = zab_vote_newer(&nv, &mine) ? nv : mine;
        (void)send_notifications(z);
    } else if (n->election_epoch < el->logical_clock) {
        return;
    } else if (zab_vote_newer(&nv, &el->proposal)) {
        el->proposal = nv;
        (void)send_notifications(z);
    }
    zab_ballot b = {true, ZAB_ROLE_LOOKING, 0, nv};
    box_put(z, el->recvset, sid, &b);
    maybe_finalize(z);
}

/* One notification from a voter while LOOKING (what lookForLeader does
 * with what poll() returns). Lost sends are not reported: the timeout
 * resends. */
static void look_process(zab *z, int64_t sid, const wire_el_notif *n)
{
    zab_election *el = &z->el;
    if (el->is_finalizing) {
        /* The finalizeWait loop: a better vote goes back to the main loop,
         * anything else is dropped and the wait starts again. */
        zab_vote nv = notif_vote(n);
        if (!zab_vote_newer(&nv, &el->proposal)) {
            el->finalize_deadline_ms = z->now_ms + ZAB_FINALIZE_WAIT_MS;
            return;
        }
        el->is_finalizing = false;
    }
    /* poll() returned: the notification timeout starts again. */
    el->not_deadline_ms = z->now_ms + el->not_timeout_ms;
    if (!zab_is_voter(z, n->leader))
        return;
    switch (n->state) {
    case ZAB_ROLE_LOOKING:
        look_looking(z, sid, n);
        break;
    case ZAB_ROLE_FOLLOWING:
    case ZAB_ROLE_LEADING:
        look_following(z, sid, n);
        break;
    default: /* OBSERVING: an observer's vote does not count */
        break;
    }
}

/* ---- WorkerReceiver ---------------------------------------------------------------- */

int zab_el_receive(zab *z, const zab_msg *m)
{
    const wire_el_notif *n = &m->notif;
    if (n->state < ZAB_ROLE_LOOKING || n->state > ZAB_ROLE_OBSERVING)
        return ZERR_MARSHALLINGERROR; /* ZooKeeper drops it */
    if (!zab_is_voter(z, m->from)) {
        /* A non-voter (observer) gets my current vote and state at once
         * and its notification goes no further. */
        return zab_send_notif(z, m->from, z->role, &z->current_vote, z->el.logical_clock);
    }
    if (z->role != ZAB_ROLE_LOOKING) {
        /* Tell a LOOKING peer who leads. */
        if (n->state == ZAB_ROLE_LOOKING)
            return zab_send_notif(z, m->from, z->role, &z->current_vote,
                                  z->current_vote.election_epoch);
        return 0;
    }
    int rc = 0;
    /* A LOOKING peer of an older round gets my proposal in my round. */
    if (n->state == ZAB_ROLE_LOOKING && n->election_epoch < z->el.logical_clock)
        rc = zab_send_notif(z, m->from, ZAB_ROLE_LOOKING, &z->el.proposal, z->el.logical_clock);
    look_process(z, m->from, n);
    return rc;
}

int step_looking(zab *z, const zab_msg *m)
{
    if (m->type == ZAB_MSG_NOTIFICATION)
        return zab_el_receive(z, m);
    /* No quorum connection exists while looking: the host closes it when a
     * role ends. */
    return ZERR_BADARGUMENTS;
}

void tick_looking(zab *z)
{
    zab_election *el = &z->el;
    if (el->is_finalizing) {
        if (z->now_ms >= el->finalize_deadline_ms) {
            zab_vote v = el->proposal;
            v.election_epoch = el->logical_clock;
            decide(z, &v);
        }
        return;
    }
    if (z->now_ms >= el->not_deadline_ms) {
        (void)send_notifications(z);
        el->not_timeout_ms = el->not_timeout_ms * 2 < ZAB_MAX_NOTIFICATION_INTERVAL_MS
                                 ? el->not_timeout_ms * 2
                                 : ZAB_MAX_NOTIFICATION_INTERVAL_MS;
        el->not_deadline_ms = z->now_ms + el->not_timeout_ms;
    }
}
