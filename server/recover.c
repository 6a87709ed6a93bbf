/*
 * recover.c: start-up recovery (newest valid snapshot, then the log after
 * it) and taking snapshots every snapCount txns without stalling the loop
 * (storage forks; the child serialises the copy-on-write image).
 */
#include "server/srv_int.h"

#include <string.h>

static void warn_cb(void *arg, const char *msg)
{
    srv_log(SRV_LOG_WARN, "%s", msg);
}

static int add_session(void *arg, int64_t id, int32_t timeout_ms)
{
    srv *s = arg;
    return sess_add(s->sessions, id, timeout_ms, srv_now_ms());
}

static int replay_one(void *arg, uint64_t zxid, const uint8_t *txn, size_t len)
{
    return srv_replay_txn(arg, txn, len);
}

int srv_recover(srv *s, char *err, size_t err_len)
{
    uint64_t snap_zxid = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int64_t t0 = srv_now_ms();
    int rc = stor_snapshot_load(s->st, &snap_zxid, &bytes, &len, warn_cb, s);
    if (rc == 0) {
        zt_tree *t = NULL;
        rc = zt_snapshot_decode(bytes, len, INT32_MAX, add_session, s, &t);
        free(bytes);
        if (rc != 0) {
            snprintf(err, err_len, "snapshot 0x%" PRIx64 " is unreadable: %s", snap_zxid,
                     wire_err_name(rc));
            return rc;
        }
        zt_free(s->tree);
        s->tree = t;
        s->last_zxid = (int64_t)snap_zxid;
        srv_log(SRV_LOG_INFO, "loaded snapshot 0x%" PRIx64 ": %zu znodes, %zu sessions", snap_zxid,
                zt_node_count(t), sess_count(s->sessions));
    } else if (rc != ZERR_NONODE) {
        snprintf(err, err_len, "no usable snapshot in %s: %s", s->cfg.data_dir, wire_err_name(rc));
        return rc;
    }
    rc = stor_replay(s->st, snap_zxid, replay_one, s, err, err_len);
    if (rc != 0)
        return rc;
    if ((int64_t)stor_last_zxid(s->st) > s->last_zxid)
        s->last_zxid = (int64_t)stor_last_zxid(s->st);
    s->durable_zxid = s->last_zxid;
    srv_log(
        SRV_LOG_INFO, "recovered to zxid 0x%" PRIx64 " in %" PRId64 " ms: %zu znodes, %zu sessions",
        (uint64_t)s->last_zxid, srv_now_ms() - t0, zt_node_count(s->tree), sess_count(s->sessions));
    return 0;
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
    int rc = stor_snapshot_begin(s->st, (uint64_t)s->last_zxid, produce, s);
    if (rc == ZERR_CLOSING)
        return; /* one is still being written; try again on a later txn */
    if (rc != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start a snapshot at 0x%" PRIx64 ": %s",
                (uint64_t)s->last_zxid, wire_err_name(rc));
    } else {
        srv_log(SRV_LOG_INFO, "snapshot of 0x%" PRIx64 " started", (uint64_t)s->last_zxid);
    }
    s->txns_since_snap = 0;
    s->snap_trigger = next_trigger(s);
}
