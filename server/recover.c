/*
 * recover.c: start-up recovery and snapshots.
 *
 * Recovery reads what Apache ZooKeeper 3.8 would, then our own log:
 *   1. the newest snapshot.<zxid> whose framing is valid and whose DataTree
 *      decodes (ours or ZooKeeper's: the same format), older ones if not;
 *   2. every txn after it in ZooKeeper's log.<zxid> files, if the directory
 *      was ZooKeeper's (or has been since);
 *   3. every txn after that in our RocksDB log.
 * While replaying ZooKeeper's files the tree digest is checked as ZooKeeper
 * checks it: against the snapshot's ZxidDigest once its zxid is reached,
 * then against each entry's TxnDigest. A mismatch is logged, not fatal
 * (ZooKeeper only reports it too).
 *
 * Snapshots are taken every snapCount txns without stalling the loop
 * (storage forks; the child serialises the copy-on-write image), and once
 * more at a clean stop so that the newest snapshot covers every committed
 * txn: Apache ZooKeeper started on the directory then needs nothing else.
 */
#include "server/srv_int.h"

#include <stdio.h>
#include <string.h>

static void warn_cb(void *arg, const char *msg)
{
    srv_log(SRV_LOG_WARN, "%s", msg);
}

typedef struct snap_sessions {
    zt_session_rec *v;
    size_t n, cap;
} snap_sessions;

static int collect_session(void *arg, int64_t id, int32_t timeout_ms)
{
    snap_sessions *ss = arg;
    if (wire_reserve((void **)&ss->v, &ss->cap, ss->n, sizeof *ss->v) != 0)
        return ZERR_NOMEM;
    ss->v[ss->n++] = (zt_session_rec){id, timeout_ms};
    return 0;
}

/* Digest checks while replaying (DataTree.compareSnapshotDigests and
 * compareDigest). */
typedef struct replay_ctx {
    srv *s;
    bool has_snap_digest; /* waiting for the snapshot's digest zxid */
    stor_snap_digest snap_digest;
    uint64_t n_txns, n_checked, n_mismatch;
} replay_ctx;

static void check_digest(replay_ctx *c, uint64_t zxid, const char *what, int64_t want)
{
    int64_t got = zt_digest(c->s->tree);
    c->n_checked++;
    if (got == want)
        return;
    if (c->n_mismatch++ == 0)
        srv_log(SRV_LOG_WARN,
                "digest mismatch at zxid 0x%" PRIx64 " (%s): ZooKeeper recorded %" PRId64
                ", our tree gives %" PRId64,
                zxid, what, want, got);
}

static void snap_digest_due(replay_ctx *c, uint64_t zxid)
{
    if (c->has_snap_digest && (uint64_t)c->snap_digest.zxid == zxid) {
        check_digest(c, zxid, "snapshot digest", c->snap_digest.digest);
        c->has_snap_digest = false;
    }
}

static int replay_zk(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    replay_ctx *c = arg;
    srv_txn_digest dg;
    int rc = srv_replay_txn(c->s, txn, len, &dg);
    if (rc != 0)
        return rc;
    c->n_txns++;
    /* ZooKeeper compares the txn digests only once it has reached the
     * snapshot's digest zxid (out of the fuzzy range). */
    if (!c->has_snap_digest && dg.has && dg.version == ZT_DIGEST_VERSION)
        check_digest(c, zxid, "txn digest", dg.digest);
    snap_digest_due(c, zxid);
    return 0;
}

static int replay_own(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    replay_ctx *c = arg;
    int rc = srv_replay_txn(c->s, txn, len, NULL);
    snap_digest_due(c, zxid);
    return rc;
}

/* Loads the newest snapshot that decodes: 0 (*snap_zxid = 0 when there is
 * none at all), or an error with err written. */
static int load_snapshot(srv *s, replay_ctx *c, uint64_t *snap_zxid, char *err, size_t err_len)
{
    uint64_t before = UINT64_MAX;
    for (;;) {
        uint8_t *file = NULL;
        stor_snapfile sf;
        uint64_t zxid = 0;
        snap_sessions ss = {0};
        zt_tree *t = NULL;
        int rc = stor_snapshot_load(s->st, before, &zxid, &file, &sf, warn_cb, s);
        if (rc == ZERR_NONODE && before == UINT64_MAX) {
            *snap_zxid = 0;
            return 0;
        }
        if (rc != 0) {
            snprintf(err, err_len, "no usable snapshot in %s/version-2: %s", s->cfg.data_dir,
                     wire_err_name(rc == ZERR_NONODE ? ZERR_CORRUPT : rc));
            return rc == ZERR_NONODE ? ZERR_CORRUPT : rc;
        }
        rc = zt_snapshot_decode(sf.body, sf.body_len, INT32_MAX, (int64_t)zxid, collect_session,
                                &ss, &t);
        if (rc == 0) {
            for (size_t i = 0; i < ss.n && rc == 0; i++)
                rc = sess_add(s->sessions, ss.v[i].id, ss.v[i].timeout_ms, srv_now_ms());
        }
        free(ss.v);
        if (rc == 0)
            rc = zt_index_use(t, srv_index_mem());
        if (rc == ZERR_NOMEM || (rc != 0 && t != NULL)) {
            free(file);
            zt_free(t);
            snprintf(err, err_len, "out of memory loading snapshot 0x%" PRIx64, zxid);
            return ZERR_NOMEM;
        }
        if (rc != 0) {
            free(file);
            srv_log(SRV_LOG_WARN, "skipping snapshot 0x%" PRIx64 ": its tree does not decode (%s)",
                    zxid, wire_err_name(rc));
            before = zxid;
            continue;
        }
        zt_free(s->tree);
        s->tree = t;
        s->last_zxid = (int64_t)zxid;
        *snap_zxid = zxid;
        /* A digest older than the snapshot cannot be checked (ZooKeeper
         * ignores it too); zxid 0 means "none". */
        if (sf.has_digest && sf.digest.zxid != 0 && (uint64_t)sf.digest.zxid >= zxid &&
            sf.digest.version == ZT_DIGEST_VERSION) {
            c->has_snap_digest = true;
            c->snap_digest = sf.digest;
        }
        free(file);
        /* The digest's zxid is where the fuzzy part of the snapshot ends:
         * txns up to it may already be in the tree. */
        char digest_at[40] = "";
        if (c->has_snap_digest)
            snprintf(digest_at, sizeof digest_at, ", digest at 0x%" PRIx64,
                     (uint64_t)c->snap_digest.zxid);
        srv_log(SRV_LOG_INFO, "loaded snapshot 0x%" PRIx64 ": %zu znodes, %zu sessions%s", zxid,
                zt_node_count(t), sess_count(s->sessions), digest_at);
        snap_digest_due(c, zxid);
        return 0;
    }
}

int srv_recover(srv *s, char *err, size_t err_len)
{
    uint64_t snap_zxid = 0, zk_last = 0;
    replay_ctx c = {.s = s};
    int64_t t0 = srv_now_ms();
    int rc = load_snapshot(s, &c, &snap_zxid, err, err_len);
    if (rc != 0)
        return rc;
    rc = stor_zklog_replay(s->st, snap_zxid, replay_zk, &c, &zk_last, warn_cb, s, err, err_len);
    if (rc != 0)
        return rc;
    if (c.n_txns > 0)
        srv_log(SRV_LOG_INFO,
                "replayed %" PRIu64 " txns from ZooKeeper's log files up to 0x%" PRIx64
                "; digests checked: %" PRIu64 ", mismatched: %" PRIu64,
                c.n_txns, zk_last, c.n_checked, c.n_mismatch);
    rc =
        stor_replay(s->st, zk_last > snap_zxid ? zk_last : snap_zxid, replay_own, &c, err, err_len);
    if (rc != 0)
        return rc;
    if (c.has_snap_digest)
        srv_log(SRV_LOG_WARN,
                "the log does not reach the snapshot digest's zxid 0x%" PRIx64
                ": the tree may be inconsistent",
                (uint64_t)c.snap_digest.zxid);
    if ((int64_t)stor_last_zxid(s->st) > s->last_zxid)
        s->last_zxid = (int64_t)stor_last_zxid(s->st);
    s->durable_zxid = s->last_zxid;
    s->release_zxid = s->last_zxid;
    srv_log(SRV_LOG_INFO,
            "recovered to zxid 0x%" PRIx64 " in %" PRId64 " ms: %zu znodes, %zu sessions, "
            "digest %" PRId64,
            (uint64_t)s->last_zxid, srv_now_ms() - t0, zt_node_count(s->tree),
            sess_count(s->sessions), zt_digest(s->tree));
    return 0;
}

int srv_rebuild(srv *s, char *err, size_t err_len)
{
    zt_tree *t = zt_new();
    sess_table *st =
        sess_new(s->cfg.tick_time_ms, s->cfg.quorum.is_ensemble ? s->cfg.quorum.my_id : 1);
    if (t == NULL || st == NULL || zt_index_use(t, srv_index_mem()) != 0) {
        zt_free(t);
        sess_free(st);
        snprintf(err, err_len, "out of memory rebuilding the tree");
        return ZERR_NOMEM;
    }
    sess_id_init(st, srv_wall_ms());
    zt_free(s->tree);
    sess_free(s->sessions);
    s->tree = t;
    s->sessions = st;
    s->last_zxid = 0;
    s->txns_since_snap = 0;
    return srv_recover(s, err, err_len);
}

/* Runs in the forked child. */
static int produce(void *arg, int (*emit)(void *ea, const void *p, size_t n), void *ea)
{
    srv *s = arg;
    snap_sessions ss = {0};
    int rc = sess_foreach(s->sessions, collect_session, &ss);
    if (rc == 0)
        rc = zt_snapshot_encode(s->tree, ss.v, ss.n, emit, ea);
    free(ss.v);
    return rc;
}

int srv_snapshot_stream(srv *s, int (*emit)(void *ea, const void *p, size_t n), void *ea)
{
    return produce(s, emit, ea);
}

typedef struct stream_bytes {
    const uint8_t *p;
    size_t len;
} stream_bytes;

/* Runs in the forked child: the stream as it came. */
static int produce_bytes(void *arg, int (*emit)(void *ea, const void *p, size_t n), void *ea)
{
    const stream_bytes *b = arg;
    return emit(ea, b->p, b->len);
}

int srv_install_snapshot(srv *s, int64_t zxid, const uint8_t *stream, size_t len, char *err,
                         size_t err_len)
{
    zt_tree *t = NULL;
    int rc = zt_snapshot_decode(stream, len, s->cfg.jute_maxbuffer, zxid, NULL, NULL, &t);
    if (rc != 0) {
        snprintf(err, err_len, "the snapshot does not decode (%s)", wire_err_name(rc));
        return rc;
    }
    stor_snap_digest dg = {zxid, ZT_DIGEST_VERSION, zt_digest(t)};
    zt_free(t);
    /* First the log loses what the snapshot supersedes, and older-history
     * snapshots newer than it are set aside (recovery must load this one);
     * then the snapshot is written and synced; then the state is what a
     * restart would rebuild. */
    if ((rc = stor_truncate_after(s->st, (uint64_t)zxid, err, err_len)) != 0)
        return rc;
    stream_bytes b = {stream, len};
    if ((rc = stor_snapshot_sync(s->st, (uint64_t)zxid, &dg, produce_bytes, &b)) != 0) {
        snprintf(err, err_len, "cannot write snapshot.%" PRIx64 " (%s)", (uint64_t)zxid,
                 wire_err_name(rc));
        return rc;
    }
    if ((rc = srv_rebuild(s, err, err_len)) != 0)
        return rc;
    if (s->last_zxid != zxid) {
        snprintf(err, err_len, "recovery after the snapshot reached 0x%" PRIx64 ", not 0x%" PRIx64,
                 (uint64_t)s->last_zxid, (uint64_t)zxid);
        return ZERR_CORRUPT;
    }
    return 0;
}

static stor_snap_digest digest_now(const srv *s)
{
    return (stor_snap_digest){s->last_zxid, ZT_DIGEST_VERSION, zt_digest(s->tree)};
}

static int64_t next_trigger(srv *s)
{
    /* ZooKeeper snapshots after snapCount/2 + rand(snapCount/2) txns so
     * that an ensemble's servers do not all snapshot at once. */
    int64_t half = s->cfg.snap_count / 2 > 0 ? s->cfg.snap_count / 2 : 1;
    s->rng = s->rng * 1103515245u + 12345u;
    return half + (int64_t)((s->rng >> 8) % (uint32_t)half);
}

void srv_maybe_snapshot(srv *s)
{
    if (s->snap_trigger == 0)
        s->snap_trigger = next_trigger(s);
    if (s->txns_since_snap < s->snap_trigger)
        return;
    stor_snap_digest dg = digest_now(s);
    int rc = stor_snapshot_begin(s->st, (uint64_t)s->last_zxid, &dg, produce, s);
    if (rc == ZERR_CLOSING) {
        /* SyncRequestProcessor: the count starts over and this one is
         * skipped, rather than starting the next snapshot the moment the
         * current one ends (back to back under a heavy write load). */
        srv_log(SRV_LOG_WARN, "too busy to snap at 0x%" PRIx64 ", skipping",
                (uint64_t)s->last_zxid);
    } else if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start a snapshot at 0x%" PRIx64 ": %s",
                (uint64_t)s->last_zxid, wire_err_name(rc));
    } else {
        srv_log(SRV_LOG_INFO, "snapshot of 0x%" PRIx64 " started", (uint64_t)s->last_zxid);
    }
    s->txns_since_snap = 0;
    s->snap_trigger = next_trigger(s);
}

void srv_snapshot_final(srv *s)
{
    if (s->st == NULL || s->tree == NULL || s->log_failed)
        return;
    /* Every txn in the tree was queued to the log before it was applied:
     * once the queue is durable the tree is exactly the committed state. */
    int rc = stor_flush(s->st);
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "txn log not drained at stop: no final snapshot");
        return;
    }
    if (stor_snapshot_newest(s->st) == (uint64_t)s->last_zxid && s->last_zxid != 0) {
        srv_log(SRV_LOG_INFO, "final snapshot: snapshot.%" PRIx64 " already covers every txn",
                (uint64_t)s->last_zxid);
        return;
    }
    stor_snap_digest dg = digest_now(s);
    int64_t t0 = srv_now_ms();
    rc = stor_snapshot_sync(s->st, (uint64_t)s->last_zxid, &dg, produce, s);
    if (rc != 0)
        srv_log(SRV_LOG_ERROR, "final snapshot of 0x%" PRIx64 " failed: %s", (uint64_t)s->last_zxid,
                wire_err_name(rc));
    else
        srv_log(SRV_LOG_INFO, "final snapshot of 0x%" PRIx64 " written in %" PRId64 " ms",
                (uint64_t)s->last_zxid, srv_now_ms() - t0);
}
