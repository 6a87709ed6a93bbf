// Quorum and election messages: layouts pinned by bytes captured from a real
// Apache ZooKeeper 3.8 ensemble (quorum_capture.inc, made by
// capture/capture_quorum.py), each decoded, checked field by field and
// re-encoded to the same bytes; then round trips and every bad input.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <stdint.h>
#include <string.h>
#include <string>
#include <vector>

#include "quorum_capture.inc"

static const int32_t k_max = 2 * WIRE_MAXBUFFER_DEFAULT;
static const int64_t k_session = 0x010000ca6f630000LL; /* the capture's session */

static std::string str(wire_str s)
{
    return s.len > 0 ? std::string(s.p, (size_t)s.len) : std::string();
}

static std::string str(wire_buf b)
{
    return b.len > 0 ? std::string((const char *)b.p, (size_t)b.len) : std::string();
}

static wire_buf buf(const void *p, size_t n)
{
    wire_buf b = {(const uint8_t *)p, (int32_t)n};
    return b;
}

TEST_GROUP(WireQuorum)
{
    wire_wr w;
    wire_qp q;
    void setup() override
    {
        wire_wr_init(&w);
        memset(&q, 0, sizeof q);
    }
    void teardown() override
    {
        wire_qp_fini(&q);
        wire_wr_fini(&w);
    }
    /* Decodes a captured packet, which must be exactly one whole packet,
     * and checks that encoding it again gives the same bytes. */
    void decode(const uint8_t *p, size_t n)
    {
        size_t len = 0;
        LONGS_EQUAL(1, wire_qp_peek(p, n, k_max, &len));
        LONGS_EQUAL(n, len);
        for (size_t cut = 0; cut < n; cut++)
            LONGS_EQUAL(0, wire_qp_peek(p, cut, k_max, &len));
        wire_rd r;
        wire_rd_init(&r, p, n, k_max);
        LONGS_EQUAL(0, wire_qp_decode(&r, &q));
        LONGS_EQUAL(n, r.off);
        wire_wr_reset(&w);
        wire_qp_encode(&w, &q);
        LONGS_EQUAL(0, wire_wr_err(&w));
        LONGS_EQUAL(n, w.len);
        MEMCMP_EQUAL(p, w.p, n);
    }
    /* Encodes data with fill, then checks it equals the packet's data. */
    template <typename F> void same_data(F fill)
    {
        wire_wr d;
        wire_wr_init(&d);
        fill(&d);
        LONGS_EQUAL(q.data.len, d.len);
        if (d.len > 0)
            MEMCMP_EQUAL(q.data.p, d.p, d.len);
        wire_wr_fini(&d);
    }
};

/* ---- captured quorum packets -------------------------------------------------- */

TEST(WireQuorum, CapturedFollowerInfoIsLearnerInfo)
{
    decode(k_cap_followerinfo, sizeof k_cap_followerinfo);
    LONGS_EQUAL(WIRE_QP_FOLLOWERINFO, q.type);
    LONGS_EQUAL(0, q.zxid); /* acceptedEpoch 0 << 32 */
    LONGS_EQUAL(-1, q.n_auth);
    LONGS_EQUAL(20, q.data.len);
    wire_learner_info li;
    LONGS_EQUAL(0, wire_learner_info_decode(q.data, &li));
    LONGS_EQUAL(1, li.server_id);
    LONGS_EQUAL(WIRE_QP_PROTOCOL_VERSION, li.protocol_version);
    LONGS_EQUAL(0, li.config_version);
    CHECK(li.has_protocol_version && li.has_config_version);
    same_data([&](wire_wr *d) { wire_learner_info_encode(d, &li); });
}

TEST(WireQuorum, CapturedLeaderInfoCarriesProtocolVersion)
{
    decode(k_cap_leaderinfo, sizeof k_cap_leaderinfo);
    LONGS_EQUAL(WIRE_QP_LEADERINFO, q.type);
    CHECK(q.zxid == 0x100000000LL); /* new epoch 1 */
    int32_t v = 0;
    LONGS_EQUAL(0, wire_qp_data_i32(q.data, &v));
    LONGS_EQUAL(0x10000, v);
    same_data([&](wire_wr *d) { wire_wr_i32(d, v); });
}

TEST(WireQuorum, CapturedAckEpochCarriesCurrentEpoch)
{
    decode(k_cap_ackepoch, sizeof k_cap_ackepoch);
    LONGS_EQUAL(WIRE_QP_ACKEPOCH, q.type);
    LONGS_EQUAL(0, q.zxid); /* last logged zxid of an empty log */
    int32_t epoch = -5;
    LONGS_EQUAL(0, wire_qp_data_i32(q.data, &epoch));
    LONGS_EQUAL(0, epoch);
}

TEST(WireQuorum, CapturedDiffNewLeaderAckUptodate)
{
    decode(k_cap_diff, sizeof k_cap_diff);
    LONGS_EQUAL(WIRE_QP_DIFF, q.type);
    LONGS_EQUAL(0, q.zxid);
    LONGS_EQUAL(-1, q.data.len);
    wire_qp_fini(&q);

    decode(k_cap_newleader, sizeof k_cap_newleader);
    LONGS_EQUAL(WIRE_QP_NEWLEADER, q.type);
    CHECK(q.zxid == 0x100000000LL);
    std::string cfg = str(q.data); /* the leader's QuorumVerifier.toString */
    CHECK(cfg.rfind("server.1=127.0.0.1:", 0) == 0);
    CHECK(cfg.find(":participant\nserver.2=") != std::string::npos);
    CHECK(cfg.size() > 10 && cfg.compare(cfg.size() - 10, 10, "\nversion=0") == 0);
    wire_qp_fini(&q);

    decode(k_cap_ack, sizeof k_cap_ack);
    LONGS_EQUAL(WIRE_QP_ACK, q.type);
    CHECK(q.zxid == 0x100000000LL); /* the ACK of NEWLEADER */
    LONGS_EQUAL(-1, q.data.len);
    wire_qp_fini(&q);

    decode(k_cap_uptodate, sizeof k_cap_uptodate);
    LONGS_EQUAL(WIRE_QP_UPTODATE, q.type);
    LONGS_EQUAL(-1, q.zxid);
    LONGS_EQUAL(-1, q.data.len);
}

TEST(WireQuorum, CapturedRequestCarriesCreateAndAuth)
{
    decode(k_cap_request_create, sizeof k_cap_request_create);
    LONGS_EQUAL(WIRE_QP_REQUEST, q.type);
    LONGS_EQUAL(-1, q.zxid);
    LONGS_EQUAL(1, q.n_auth);
    STRCMP_EQUAL("ip", str(q.auth[0].scheme).c_str());
    STRCMP_EQUAL("127.0.0.1", str(q.auth[0].id).c_str());
    wire_qp_request rq;
    LONGS_EQUAL(0, wire_qp_request_decode(q.data, &rq));
    CHECK(rq.session_id == k_session);
    LONGS_EQUAL(1, rq.cxid);
    LONGS_EQUAL(WIRE_OP_CREATE, rq.type);
    wire_rd r;
    wire_rd_init(&r, rq.record.p, (size_t)rq.record.len, k_max);
    wire_write_req wq;
    LONGS_EQUAL(0, wire_write_req_decode(&r, rq.type, &wq));
    LONGS_EQUAL(rq.record.len, r.off);
    STRCMP_EQUAL("/qcap", str(wq.path).c_str());
    STRCMP_EQUAL("hello", str(wq.data).c_str());
    LONGS_EQUAL(1, wq.n_acl);
    LONGS_EQUAL(WIRE_PERM_ALL, wq.acl[0].perms);
    LONGS_EQUAL(WIRE_MODE_PERSISTENT, wq.flags);
    wire_write_req_fini(&wq);
    same_data([&](wire_wr *d) { wire_qp_request_encode(d, &rq); });
}

TEST(WireQuorum, CapturedLearnerSyncIsRequestAndLeaderAnswersSync)
{
    decode(k_cap_request_sync, sizeof k_cap_request_sync);
    LONGS_EQUAL(WIRE_QP_REQUEST, q.type);
    wire_qp_request rq;
    LONGS_EQUAL(0, wire_qp_request_decode(q.data, &rq));
    CHECK(rq.session_id == k_session);
    LONGS_EQUAL(4, rq.cxid);
    LONGS_EQUAL(WIRE_OP_SYNC, rq.type);
    wire_rd r;
    wire_rd_init(&r, rq.record.p, (size_t)rq.record.len, k_max);
    STRCMP_EQUAL("/qcap", str(wire_rd_str(&r)).c_str()); /* SyncRequest */
    LONGS_EQUAL(0, wire_rd_left(&r));
    wire_qp_fini(&q);

    decode(k_cap_sync, sizeof k_cap_sync);
    LONGS_EQUAL(WIRE_QP_SYNC, q.type);
    LONGS_EQUAL(0, q.zxid);
    LONGS_EQUAL(-1, q.data.len);
    LONGS_EQUAL(-1, q.n_auth);
}

TEST(WireQuorum, CapturedProposalAndCommitOfCreate)
{
    decode(k_cap_proposal_create, sizeof k_cap_proposal_create);
    LONGS_EQUAL(WIRE_QP_PROPOSAL, q.type);
    CHECK(q.zxid == 0x100000002LL);
    wire_qp_txn t;
    LONGS_EQUAL(0, wire_qp_txn_decode(q.type, q.data, k_max, &t));
    CHECK(t.hdr.client_id == k_session);
    LONGS_EQUAL(1, t.hdr.cxid);
    CHECK(t.hdr.zxid == q.zxid);
    CHECK(t.hdr.time_ms == 0x000001a23197fd6eLL);
    LONGS_EQUAL(WIRE_OP_CREATE, t.hdr.type);
    STRCMP_EQUAL("/qcap", str(t.txn.path).c_str());
    STRCMP_EQUAL("hello", str(t.txn.data).c_str());
    LONGS_EQUAL(1, t.txn.n_acl);
    STRCMP_EQUAL("world", str(t.txn.acl[0].scheme).c_str());
    STRCMP_EQUAL("anyone", str(t.txn.acl[0].id).c_str());
    CHECK_FALSE(t.txn.ephemeral);
    LONGS_EQUAL(1, t.txn.parent_cversion);
    CHECK(t.has_digest); /* 3.8 proposes with digest.enabled */
    LONGS_EQUAL(2, t.digest_version);
    CHECK(t.digest == 0x000000022e0bdac4LL);
    /* The whole data is the log entry. */
    POINTERS_EQUAL(q.data.p, t.entry.p);
    LONGS_EQUAL(q.data.len, t.entry.len);
    same_data([&](wire_wr *d) { wire_qp_txn_encode(d, q.type, &t); });
    wire_qp_txn_fini(&t);
    wire_qp_fini(&q);

    decode(k_cap_commit, sizeof k_cap_commit);
    LONGS_EQUAL(WIRE_QP_COMMIT, q.type);
    CHECK(q.zxid == 0x100000002LL);
    LONGS_EQUAL(-1, q.data.len);
}

TEST(WireQuorum, CapturedPingsFromEachSide)
{
    decode(k_cap_ping_leader, sizeof k_cap_ping_leader);
    LONGS_EQUAL(WIRE_QP_PING, q.type);
    CHECK(q.zxid == 0x100000004LL); /* the leader's last proposed */
    LONGS_EQUAL(-1, q.data.len);    /* null from the leader */
    wire_qp_fini(&q);

    decode(k_cap_ping_learner, sizeof k_cap_ping_learner);
    LONGS_EQUAL(WIRE_QP_PING, q.type);
    LONGS_EQUAL(0, q.data.len); /* empty, not null, from a learner */
    LONGS_EQUAL(0, wire_qp_touch_count(q.data));
    wire_qp_fini(&q);

    decode(k_cap_ping_learner_touch, sizeof k_cap_ping_learner_touch);
    LONGS_EQUAL(WIRE_QP_PING, q.type);
    CHECK(q.zxid == 0x100000004LL); /* echoes the leader's */
    LONGS_EQUAL(1, wire_qp_touch_count(q.data));
    wire_qp_touch t = wire_qp_touch_get(q.data, 0);
    CHECK(t.session_id == k_session);
    LONGS_EQUAL(10000, t.timeout_ms);
    same_data([&](wire_wr *d) { wire_qp_touch_encode(d, t.session_id, t.timeout_ms); });
}

TEST(WireQuorum, CapturedRevalidateRequestAndAnswer)
{
    decode(k_cap_revalidate_req, sizeof k_cap_revalidate_req);
    LONGS_EQUAL(WIRE_QP_REVALIDATE, q.type);
    LONGS_EQUAL(-1, q.zxid);
    int64_t id = 0;
    int32_t to = 0;
    LONGS_EQUAL(0, wire_qp_revalidate_req_decode(q.data, &id, &to));
    CHECK(id == k_session);
    LONGS_EQUAL(10000, to);
    same_data([&](wire_wr *d) { wire_qp_revalidate_req_encode(d, id, to); });
    wire_qp_fini(&q);

    decode(k_cap_revalidate_resp, sizeof k_cap_revalidate_resp);
    LONGS_EQUAL(WIRE_QP_REVALIDATE, q.type);
    LONGS_EQUAL(-1, q.zxid);
    LONGS_EQUAL(9, q.data.len); /* no timeout in the answer */
    bool valid = false;
    LONGS_EQUAL(0, wire_qp_revalidate_resp_decode(q.data, &id, &valid));
    CHECK(id == k_session);
    CHECK(valid);
    same_data([&](wire_wr *d) { wire_qp_revalidate_resp_encode(d, id, valid); });
}

TEST(WireQuorum, PacketsFollowEachOtherWithoutFrames)
{
    std::vector<uint8_t> s(k_cap_proposal_create,
                           k_cap_proposal_create + sizeof k_cap_proposal_create);
    s.insert(s.end(), k_cap_commit, k_cap_commit + sizeof k_cap_commit);
    wire_rd r;
    wire_rd_init(&r, s.data(), s.size(), k_max);
    LONGS_EQUAL(0, wire_qp_decode(&r, &q));
    LONGS_EQUAL(WIRE_QP_PROPOSAL, q.type);
    wire_qp_fini(&q);
    LONGS_EQUAL(0, wire_qp_decode(&r, &q));
    LONGS_EQUAL(WIRE_QP_COMMIT, q.type);
    LONGS_EQUAL(0, wire_rd_left(&r));
}

/* ---- captured election messages ------------------------------------------------ */

TEST(WireQuorum, CapturedElectionInitialMessage)
{
    const uint8_t *p = k_cap_election_init;
    size_t n = sizeof k_cap_election_init, used = 0;
    wire_el_init m;
    LONGS_EQUAL(1, wire_el_init_decode(p, n, &m, &used));
    LONGS_EQUAL(n, used);
    CHECK(m.protocol_version == WIRE_EL_PROTOCOL_V1);
    CHECK(m.protocol_version == (int64_t)(int32_t)0xffff0000u);
    LONGS_EQUAL(3, m.sid);
    std::string addr = str(m.addr);
    CHECK(addr.rfind("127.0.0.1:", 0) == 0);
    for (size_t cut = 0; cut < n; cut++)
        LONGS_EQUAL(0, wire_el_init_decode(p, cut, &m, &used));
    wire_el_init_encode(&w, &m);
    LONGS_EQUAL(n, w.len);
    MEMCMP_EQUAL(p, w.p, n);
}

TEST(WireQuorum, CapturedNotificationIn38Format)
{
    const uint8_t *p = k_cap_notification;
    size_t n = sizeof k_cap_notification;
    int32_t body = 0;
    LONGS_EQUAL(1, wire_el_frame_peek(p, n, &body));
    LONGS_EQUAL(n - 4, body);
    LONGS_EQUAL(0, wire_el_frame_peek(p, n - 1, &body));
    wire_el_notif m;
    LONGS_EQUAL(0, wire_el_notif_decode(p + 4, (size_t)body, &m));
    LONGS_EQUAL(WIRE_EL_LOOKING, m.state);
    LONGS_EQUAL(1, m.leader);
    LONGS_EQUAL(0, m.zxid);
    LONGS_EQUAL(1, m.election_epoch);
    LONGS_EQUAL(0, m.peer_epoch);
    LONGS_EQUAL(WIRE_EL_NOTIFICATION_VERSION, m.version);
    LONGS_EQUAL(body - 44, m.config.len);
    std::string cfg = str(m.config);
    CHECK(cfg.rfind("server.1=127.0.0.1:", 0) == 0);
    CHECK(cfg.compare(cfg.size() - 10, 10, "\nversion=0") == 0);
    wire_el_notif_encode(&w, &m);
    LONGS_EQUAL(n, w.len);
    MEMCMP_EQUAL(p, w.p, n);
}

/* ---- round trips ------------------------------------------------------------------ */

TEST(WireQuorum, PacketRoundTripsNullEmptyAndAuth)
{
    static const uint8_t data[] = {9, 8, 7};
    wire_id ids[] = {{{"digest", 6}, {"u:x", 3}}, {{"ip", 2}, {"", 0}}};
    wire_qp in[] = {
        {WIRE_QP_ACK, 0x500000007LL, {NULL, -1}, NULL, -1},
        {WIRE_QP_PING, -1, {data, 0}, NULL, 0},
        {WIRE_QP_REQUEST, -1, {data, 3}, ids, 2},
    };
    for (const wire_qp &x : in) {
        wire_wr_reset(&w);
        wire_qp_encode(&w, &x);
        size_t len = 0;
        LONGS_EQUAL(1, wire_qp_peek(w.p, w.len, k_max, &len));
        LONGS_EQUAL(w.len, len);
        wire_rd r;
        wire_rd_init(&r, w.p, w.len, k_max);
        wire_qp_fini(&q);
        LONGS_EQUAL(0, wire_qp_decode(&r, &q));
        LONGS_EQUAL(x.type, q.type);
        CHECK(x.zxid == q.zxid);
        LONGS_EQUAL(x.data.len, q.data.len);
        LONGS_EQUAL(x.n_auth, q.n_auth);
        for (int32_t i = 0; i < x.n_auth; i++) {
            CHECK(wire_str_eq(x.auth[i].scheme, q.auth[i].scheme));
            CHECK(wire_str_eq(x.auth[i].id, q.auth[i].id));
        }
    }
}

TEST(WireQuorum, InformAndActivateCarriesLeaderThenEntry)
{
    wire_qp_txn t;
    memset(&t, 0, sizeof t);
    t.designated_leader = 3;
    t.hdr = {k_session, 7, 0x200000005LL, 1700000000000LL, WIRE_OP_SETDATA};
    t.txn.type = WIRE_OP_SETDATA;
    t.txn.path = wire_str_c("/zookeeper/config");
    t.txn.data = buf("server.1=a:1:2", 14);
    t.txn.version = 4;
    const int32_t types[] = {WIRE_QP_PROPOSAL, WIRE_QP_INFORM, WIRE_QP_INFORMANDACTIVATE};
    for (int32_t type : types) {
        for (bool digest : {false, true}) {
            t.has_digest = digest;
            t.digest_version = 2;
            t.digest = 0x1234;
            wire_wr_reset(&w);
            wire_qp_txn_encode(&w, type, &t);
            wire_qp_txn o;
            LONGS_EQUAL(0, wire_qp_txn_decode(type, buf(w.p, w.len), k_max, &o));
            LONGS_EQUAL(type == WIRE_QP_INFORMANDACTIVATE ? 3 : 0, o.designated_leader);
            LONGS_EQUAL(type == WIRE_QP_INFORMANDACTIVATE ? 8 : 0, o.entry.p - w.p);
            LONGS_EQUAL(w.len - (size_t)(o.entry.p - w.p), o.entry.len);
            CHECK(o.hdr.zxid == t.hdr.zxid);
            STRCMP_EQUAL("/zookeeper/config", str(o.txn.path).c_str());
            LONGS_EQUAL(4, o.txn.version);
            CHECK(o.has_digest == digest);
            wire_qp_txn_fini(&o);
        }
    }
    LONGS_EQUAL(ZERR_BADARGUMENTS, wire_qp_txn_decode(WIRE_QP_COMMIT, buf(w.p, w.len), k_max, &t));
}

TEST(WireQuorum, CommitAndActivateCarriesDesignatedLeader)
{
    wire_wr_i64(&w, 2);
    int64_t leader = 0;
    LONGS_EQUAL(0, wire_qp_data_i64(buf(w.p, w.len), &leader));
    LONGS_EQUAL(2, leader);
    LONGS_EQUAL(ZERR_SHORT, wire_qp_data_i64(buf(w.p, 7), &leader));
}

TEST(WireQuorum, TouchesRoundTrip)
{
    for (int32_t i = 0; i < 5; i++)
        wire_qp_touch_encode(&w, 0x100 + i, 4000 + i);
    wire_buf d = buf(w.p, w.len);
    LONGS_EQUAL(5, wire_qp_touch_count(d));
    for (int32_t i = 0; i < 5; i++) {
        wire_qp_touch t = wire_qp_touch_get(d, i);
        LONGS_EQUAL(0x100 + i, t.session_id);
        LONGS_EQUAL(4000 + i, t.timeout_ms);
    }
    wire_buf null_data = {NULL, -1};
    LONGS_EQUAL(0, wire_qp_touch_count(null_data));
}

TEST(WireQuorum, ShortLearnerInfoFormsStillRegister)
{
    wire_learner_info li = {7, WIRE_QP_PROTOCOL_VERSION, 0x100000000LL, true, true};
    wire_learner_info_encode(&w, &li);
    wire_learner_info o;
    LONGS_EQUAL(0, wire_learner_info_decode(buf(w.p, 8), &o)); /* sid only */
    LONGS_EQUAL(7, o.server_id);
    CHECK_FALSE(o.has_protocol_version);
    LONGS_EQUAL(1, o.protocol_version);
    LONGS_EQUAL(0, wire_learner_info_decode(buf(w.p, 12), &o));
    CHECK(o.has_protocol_version);
    CHECK_FALSE(o.has_config_version);
    LONGS_EQUAL(0, wire_learner_info_decode(buf(w.p, 19), &o));
    CHECK_FALSE(o.has_config_version);
    LONGS_EQUAL(0, wire_learner_info_decode(buf(w.p, 20), &o));
    CHECK(o.config_version == 0x100000000LL);
}

TEST(WireQuorum, OldNotificationFormsDecode)
{
    /* 28 bytes: no peerEpoch (taken from the zxid) and no version. */
    wire_wr_i32(&w, WIRE_EL_FOLLOWING);
    wire_wr_i64(&w, 3);
    wire_wr_i64(&w, 0x500000009LL);
    wire_wr_i64(&w, 6);
    wire_el_notif m;
    LONGS_EQUAL(0, wire_el_notif_decode(w.p, w.len, &m));
    LONGS_EQUAL(WIRE_EL_FOLLOWING, m.state);
    LONGS_EQUAL(3, m.leader);
    LONGS_EQUAL(6, m.election_epoch);
    LONGS_EQUAL(5, m.peer_epoch);
    LONGS_EQUAL(0, m.version);
    LONGS_EQUAL(-1, m.config.len);
    /* 40 bytes: peerEpoch, then 4 bytes read as nothing: 3.4.6's buildMsg
     * wrote version 1 there, and the receiver still takes a 40-byte body
     * as the form without a version. */
    wire_wr_i64(&w, 4);
    wire_wr_i32(&w, 1);
    LONGS_EQUAL(0, wire_el_notif_decode(w.p, w.len, &m));
    LONGS_EQUAL(4, m.peer_epoch);
    LONGS_EQUAL(0, m.version);
    /* 41 bytes and more: the version is read; 1 means no config. Trailing
     * bytes are ignored. */
    wire_wr_i32(&w, 99);
    LONGS_EQUAL(0, wire_el_notif_decode(w.p, 41, &m));
    LONGS_EQUAL(1, m.version);
    LONGS_EQUAL(-1, m.config.len);
    LONGS_EQUAL(0, wire_el_notif_decode(w.p, 44, &m));
    LONGS_EQUAL(1, m.version);
    /* 29..39 bytes underflow. */
    for (size_t n = 29; n < 40; n++)
        LONGS_EQUAL(ZERR_SHORT, wire_el_notif_decode(w.p, n, &m));
}

TEST(WireQuorum, NotificationRoundTripsEveryState)
{
    for (int32_t st = WIRE_EL_LOOKING; st <= WIRE_EL_OBSERVING; st++) {
        wire_el_notif in = {st, 2, 0x300000001LL, 9, 3, 2, buf("version=0", 9)};
        wire_wr_reset(&w);
        wire_el_notif_encode(&w, &in);
        int32_t body = 0;
        LONGS_EQUAL(1, wire_el_frame_peek(w.p, w.len, &body));
        LONGS_EQUAL(44 + 9, body);
        wire_el_notif o;
        LONGS_EQUAL(0, wire_el_notif_decode(w.p + 4, (size_t)body, &o));
        LONGS_EQUAL(st, o.state);
        CHECK(o.zxid == in.zxid);
        LONGS_EQUAL(3, o.peer_epoch);
        STRCMP_EQUAL("version=0", str(o.config).c_str());
    }
}

TEST(WireQuorum, InitialMessageFormsRoundTrip)
{
    wire_el_init in[] = {
        {WIRE_EL_PROTOCOL_V1, 5, wire_str_c("127.0.0.1:3888")},
        {WIRE_EL_PROTOCOL_V2, 6, wire_str_c("[::1]:3888|127.0.0.1:3889|h:0")},
        {0, 7, {NULL, 0}}, /* pre-3.5: the sid alone */
    };
    for (const wire_el_init &x : in) {
        wire_wr_reset(&w);
        wire_el_init_encode(&w, &x);
        wire_el_init o;
        size_t used = 0;
        LONGS_EQUAL(1, wire_el_init_decode(w.p, w.len, &o, &used));
        LONGS_EQUAL(w.len, used);
        CHECK(o.protocol_version == x.protocol_version);
        LONGS_EQUAL(x.sid, o.sid);
        CHECK(wire_str_eq(x.addr, o.addr));
    }
    LONGS_EQUAL(8, w.len);
}

/* ---- bad input ---------------------------------------------------------------------- */

TEST(WireQuorum, EveryTruncatedCapturedPacketIsRefused)
{
    const struct {
        const uint8_t *p;
        size_t n;
    } caps[] = {
        {k_cap_followerinfo, sizeof k_cap_followerinfo},
        {k_cap_newleader, sizeof k_cap_newleader},
        {k_cap_request_create, sizeof k_cap_request_create},
        {k_cap_proposal_create, sizeof k_cap_proposal_create},
        {k_cap_revalidate_resp, sizeof k_cap_revalidate_resp},
    };
    for (const auto &c : caps) {
        for (size_t cut = 0; cut < c.n; cut++) {
            std::vector<uint8_t> b(c.p, c.p + cut); /* exact size: ASan sees overreads */
            wire_rd r;
            wire_rd_init(&r, b.data(), b.size(), k_max);
            wire_qp o;
            LONGS_EQUAL(ZERR_SHORT, wire_qp_decode(&r, &o));
        }
    }
}

TEST(WireQuorum, BadPacketLengthsAndCountsAreRefused)
{
    /* data length -2, and one past max_len */
    for (int32_t bad : {-2, k_max + 1, INT32_MIN}) {
        wire_wr_reset(&w);
        wire_wr_i32(&w, WIRE_QP_PROPOSAL);
        wire_wr_i64(&w, 1);
        wire_wr_i32(&w, bad);
        wire_wr_i32(&w, -1);
        size_t len;
        LONGS_EQUAL(ZERR_TOOBIG, wire_qp_peek(w.p, w.len, k_max, &len));
        wire_rd r;
        wire_rd_init(&r, w.p, w.len, k_max);
        wire_qp o;
        LONGS_EQUAL(ZERR_TOOBIG, wire_qp_decode(&r, &o));
    }
    /* authinfo count -2, huge, or more Ids than bytes */
    for (int32_t bad : {-2, INT32_MAX, 3}) {
        wire_wr_reset(&w);
        wire_wr_i32(&w, WIRE_QP_REQUEST);
        wire_wr_i64(&w, -1);
        wire_wr_i32(&w, -1);
        wire_wr_i32(&w, bad);
        wire_wr_cstr(&w, "ip");
        wire_wr_cstr(&w, "x");
        size_t len;
        int rc = wire_qp_peek(w.p, w.len, k_max, &len);
        CHECK(rc == ZERR_TOOBIG || rc == 0);
        wire_rd r;
        wire_rd_init(&r, w.p, w.len, k_max);
        wire_qp o;
        rc = wire_qp_decode(&r, &o);
        CHECK(rc == ZERR_TOOBIG || rc == ZERR_SHORT);
    }
}

TEST(WireQuorum, ShortPayloadsAreRefused)
{
    static const uint8_t z[20] = {0};
    wire_buf null_data = {NULL, -1};
    wire_learner_info li;
    LONGS_EQUAL(ZERR_SHORT, wire_learner_info_decode(null_data, &li));
    LONGS_EQUAL(ZERR_SHORT, wire_learner_info_decode(buf(z, 7), &li));
    int32_t v;
    LONGS_EQUAL(ZERR_SHORT, wire_qp_data_i32(null_data, &v));
    LONGS_EQUAL(ZERR_SHORT, wire_qp_data_i32(buf(z, 3), &v));
    wire_qp_request rq;
    LONGS_EQUAL(ZERR_SHORT, wire_qp_request_decode(buf(z, 15), &rq));
    LONGS_EQUAL(0, wire_qp_request_decode(buf(z, 16), &rq));
    LONGS_EQUAL(0, rq.record.len);
    int64_t id;
    int32_t to;
    bool ok;
    LONGS_EQUAL(ZERR_SHORT, wire_qp_revalidate_req_decode(buf(z, 11), &id, &to));
    LONGS_EQUAL(ZERR_SHORT, wire_qp_revalidate_resp_decode(buf(z, 8), &id, &ok));
    for (int32_t n = 1; n < 24; n++)
        if (n % 12 != 0)
            LONGS_EQUAL(ZERR_SHORT, wire_qp_touch_count(buf(z, (size_t)n)));
}

TEST(WireQuorum, BadProposalDataIsRefused)
{
    wire_rd r;
    wire_rd_init(&r, k_cap_proposal_create, sizeof k_cap_proposal_create, k_max);
    LONGS_EQUAL(0, wire_qp_decode(&r, &q));
    std::vector<uint8_t> d(q.data.p, q.data.p + q.data.len);
    wire_qp_txn t;
    /* Every cut but the one that drops exactly the digest. */
    for (size_t cut = 0; cut < d.size(); cut++) {
        std::vector<uint8_t> b(d.begin(), d.begin() + (long)cut);
        int rc = wire_qp_txn_decode(WIRE_QP_PROPOSAL, buf(b.data(), b.size()), k_max, &t);
        if (cut == d.size() - 12) {
            LONGS_EQUAL(0, rc);
            CHECK_FALSE(t.has_digest);
            wire_qp_txn_fini(&t);
        } else {
            CHECK(rc != 0);
        }
    }
    /* Bytes past the digest. */
    d.push_back(0);
    LONGS_EQUAL(ZERR_CORRUPT,
                wire_qp_txn_decode(WIRE_QP_PROPOSAL, buf(d.data(), d.size()), k_max, &t));
    /* A path longer than max_len. */
    LONGS_EQUAL(ZERR_TOOBIG, wire_qp_txn_decode(WIRE_QP_PROPOSAL, q.data, 4, &t));
    wire_buf null_data = {NULL, -1};
    LONGS_EQUAL(ZERR_SHORT, wire_qp_txn_decode(WIRE_QP_INFORM, null_data, k_max, &t));
}

TEST(WireQuorum, BadElectionFramesAreRefused)
{
    uint8_t f[4];
    int32_t body;
    for (int32_t bad : {0, -1, INT32_MIN, WIRE_EL_PACKET_MAX + 1}) {
        wire_put_be32(f, (uint32_t)bad);
        LONGS_EQUAL(ZERR_TOOBIG, wire_el_frame_peek(f, 4, &body));
    }
    wire_put_be32(f, WIRE_EL_PACKET_MAX);
    LONGS_EQUAL(0, wire_el_frame_peek(f, 4, &body));
    LONGS_EQUAL(0, wire_el_frame_peek(f, 3, &body));
}

TEST(WireQuorum, BadNotificationsAreRefused)
{
    const uint8_t *cap = k_cap_notification + 4;
    size_t n = sizeof k_cap_notification - 4;
    wire_el_notif m;
    /* Every length the receiver would underflow on. */
    for (size_t cut = 0; cut < n; cut++) {
        std::vector<uint8_t> b(cap, cap + cut);
        int rc = wire_el_notif_decode(b.data(), b.size(), &m);
        if (cut == 28 || cut == 40)
            LONGS_EQUAL(0, rc); /* the old forms */
        else if (cut >= 44 && cut < 138)
            LONGS_EQUAL(ZERR_TOOBIG, rc); /* config length 138 past the body */
        else
            LONGS_EQUAL(ZERR_SHORT, rc);
    }
    std::vector<uint8_t> b(cap, cap + n);
    /* Unknown states. */
    for (int32_t st : {-1, 4, 0x7fffffff}) {
        wire_put_be32(b.data(), (uint32_t)st);
        LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_el_notif_decode(b.data(), b.size(), &m));
    }
    wire_put_be32(b.data(), WIRE_EL_LEADING);
    /* Config lengths: negative, past the body, past the bytes left. */
    for (int32_t bad : {-1, INT32_MIN, (int32_t)n + 1}) {
        wire_put_be32(b.data() + 40, (uint32_t)bad);
        LONGS_EQUAL(ZERR_TOOBIG, wire_el_notif_decode(b.data(), b.size(), &m));
    }
    wire_put_be32(b.data() + 40, (uint32_t)(n - 44 + 1));
    LONGS_EQUAL(ZERR_SHORT, wire_el_notif_decode(b.data(), b.size(), &m));
    wire_put_be32(b.data() + 40, (uint32_t)(n - 44));
    LONGS_EQUAL(0, wire_el_notif_decode(b.data(), b.size(), &m));
    LONGS_EQUAL(WIRE_EL_LEADING, m.state);
}

TEST(WireQuorum, BadInitialMessagesAreRefused)
{
    wire_el_init m;
    size_t used;
    /* Unknown protocol versions. */
    for (int64_t pv : {(int64_t)-1, (int64_t)-65537, (int64_t)-65534, INT64_MIN}) {
        wire_wr_reset(&w);
        wire_wr_i64(&w, pv);
        wire_wr_i64(&w, 1);
        wire_wr_cstr(&w, "127.0.0.1:1");
        LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_el_init_decode(w.p, w.len, &m, &used));
    }
    /* Address lengths outside 1..2048, checked before the bytes arrive. */
    for (int32_t bad : {0, -1, INT32_MIN, WIRE_EL_ADDR_MAX + 1}) {
        wire_wr_reset(&w);
        wire_wr_i64(&w, WIRE_EL_PROTOCOL_V1);
        wire_wr_i64(&w, 1);
        wire_wr_i32(&w, bad);
        LONGS_EQUAL(ZERR_TOOBIG, wire_el_init_decode(w.p, w.len, &m, &used));
    }
    /* Badly formed addresses. */
    const char *bad_addrs[] = {"127.0.0.1", "h:",        "h:x1",      "h:65536", "h:123456",
                               "::1:3888",  "[::1]3888", "[::1:3888", "h:1|",    "|h:1",
                               "h:1||h:2",  "h:-1",      "[::1]:"};
    for (const char *a : bad_addrs) {
        wire_wr_reset(&w);
        wire_wr_i64(&w, WIRE_EL_PROTOCOL_V2);
        wire_wr_i64(&w, 1);
        wire_wr_cstr(&w, a);
        LONGS_EQUAL(ZERR_MARSHALLINGERROR, wire_el_init_decode(w.p, w.len, &m, &used));
    }
    /* Exactly 2048 bytes of address is accepted. */
    std::string big(2048 - 5, 'a');
    big += ":3888";
    wire_wr_reset(&w);
    wire_wr_i64(&w, WIRE_EL_PROTOCOL_V1);
    wire_wr_i64(&w, 1);
    wire_wr_cstr(&w, big.c_str());
    LONGS_EQUAL(1, wire_el_init_decode(w.p, w.len, &m, &used));
}
