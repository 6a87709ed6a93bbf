/*
 * znode-tree: ZooKeeper's data tree, its ACLs, and the two steps every write
 * goes through.
 *
 *   prep  (request -> txn): validates a write request against the tree (path,
 *         ACL, version, existence, sequential naming) and encodes the txn
 *         ZooKeeper would log (TxnHeader + body). A request that fails still
 *         yields a txn: an ErrorTxn that spends the zxid, as ZooKeeper's
 *         PrepRequestProcessor does. prep never changes the tree.
 *   apply (txn -> tree): mutates the tree deterministically and reports per
 *         op results and the watch events (type, path) the change triggers.
 *         Replaying a log is nothing but apply.
 *
 * The server preps and applies each write at once, in order, so the tree is
 * always "committed + pending" and prep needs no overlay of its own except
 * inside a multi, where later ops must see earlier ones (prep.c keeps that
 * overlay). What a client may observe is gated by the server, which sends no
 * reply or event before the txn behind it is durable.
 *
 * Pure: no I/O, no clock (times come in the txn header), no globals.
 */
#ifndef ZABD_ZT_H
#define ZABD_ZT_H

#include "wire/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zt_tree zt_tree; /* layout in znode-tree/zt_int.h */
typedef struct zt_node zt_node; /* read-only handle, valid until the next apply */

/* ephemeralOwner markers (ZooKeeper's EphemeralType). */
#define ZT_OWNER_CONTAINER     ((int64_t)INT64_MIN)
#define ZT_OWNER_EXTENDED_MASK ((int64_t)0xff00000000000000LL)
#define ZT_TTL_MAX             ((int64_t)0x000000ffffffffffLL)

/* ---- Lifetime ------------------------------------------------------------- */

/* A tree holding "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config"
 * with the stats and ACLs Apache ZooKeeper 3.8 shows for them. NULL on ENOMEM. */
zt_tree *zt_new(void);
void zt_free(zt_tree *t);

/* Where the path index lives: the tree's one large table (16 bytes per
 * slot, at least two slots per node), which nothing but lookups reads; a
 * snapshot walks the tree's own links. A server that forks for snapshots
 * can keep it out of the child (MADV_WIPEONFORK), so that the index writes
 * of every create or delete while a child runs copy no pages. zalloc
 * returns zeroed memory or NULL; free is given the same size back. */
typedef struct zt_index_mem {
    void *(*zalloc)(size_t bytes);
    void (*free)(void *p, size_t bytes);
} zt_index_mem;

/* Moves t's index into mem (which must outlive t); later growth uses it
 * too. 0 or ZERR_NOMEM (t unchanged). O(nodes). */
int zt_index_use(zt_tree *t, const zt_index_mem *mem);

/* ---- Reads ---------------------------------------------------------------- */

const zt_node *zt_lookup(const zt_tree *t, wire_str path);
void zt_node_stat(const zt_node *n, wire_stat *st);
wire_buf zt_node_data(const zt_node *n);
wire_str zt_node_path(const zt_node *n);
wire_str zt_node_name(const zt_node *n); /* last component */
int64_t zt_node_owner(const zt_node *n);
/* Children in no particular order. */
const zt_node *zt_node_first_child(const zt_node *n);
const zt_node *zt_node_next_sibling(const zt_node *n);
/* Children in the order ZooKeeper lists them (its HashSet's: tree.c); *out
 * is malloc'd (caller frees; NULL when there are none). O(k log k) for k
 * children. ZERR_NOMEM or 0. */
int zt_node_children(const zt_node *n, const zt_node ***out, int32_t *n_out);
void zt_node_acl(const zt_tree *t, const zt_node *n, const wire_acl **acl, int32_t *n_acl);
/* Every node below n, not counting n. O(subtree). */
int64_t zt_count_descendants(const zt_node *n);
size_t zt_node_count(const zt_tree *t);
int64_t zt_last_zxid(const zt_tree *t); /* highest zxid applied */
/* Bytes of paths and data, as ZooKeeper's "approximate data size". */
int64_t zt_data_size(const zt_tree *t);

/* Ephemerals of one session (session == 0: every session's). Calls fn for
 * each; stops when fn returns non-zero (and returns its value). One
 * session's come in ZooKeeper's order (a clone of its HashSet: tree.c);
 * ZERR_NOMEM if that order cannot be computed. */
int zt_ephemerals(const zt_tree *t, int64_t session,
                  int (*fn)(void *arg, int64_t owner, const zt_node *n), void *arg);
size_t zt_ephemeral_count(const zt_tree *t);

/* ---- Paths and ACLs ------------------------------------------------------- */

/* ZooKeeper's PathUtils.validatePath: 0 or ZERR_BADARGUMENTS. */
int zt_path_validate(wire_str path);

/* What a connection is authenticated as: its (scheme, id) pairs, including
 * ("ip", address) which every connection has, and whether it is the super
 * user. perms of the ids are ignored. */
typedef struct zt_auth {
    const wire_acl *ids;
    int32_t n_ids;
    bool is_super;
    /* The "sasl" scheme (SASLAuthenticationProvider) is configured: sasl ACLs
     * are valid and match the connection's ("sasl", id), which also matches
     * every sasl ACL when it is "super", and the ACL id sasl_any_id
     * (zookeeper.letAnySaslUserDoX; NULL for none) whatever it is. */
    bool has_sasl;
    const char *sasl_any_id;
} zt_auth;

/* 0 if auth may do `perm` on n, else ZERR_NOAUTH (ZooKeeperServer.checkACL). */
int zt_check_acl(const zt_tree *t, const zt_node *n, int32_t perm, const zt_auth *auth);
/* "ip" ACL ids as ZooKeeper 3.8's IPAuthenticationProvider reads them: an
 * IPv4 address of four Integer.parseInt parts ("+1", "010" and "-0" parse)
 * with an optional "/bits" (0..32). IPv6 is neither valid nor matched.
 * zt_ip_valid: whether acl_id is one; zt_ip_matches: whether it matches a
 * client's address. */
bool zt_ip_valid(wire_str acl_id);
bool zt_ip_matches(wire_str acl_id, wire_str addr);

/* ---- prep: request -> txn --------------------------------------------------- */

/* A quota limit a write goes past (ZooKeeperServer.checkQuota), for the
 * server to log: "Quota exceeded: <root> [current count=<value>,
 * softCountLimit=<limit>]". prep cannot log, so it fills these in. */
enum {
    ZT_QUOTA_COUNT = 1,
    ZT_QUOTA_BYTES,
    ZT_QUOTA_UNREADABLE /* limits/stats not a StatsTrack */
};
typedef struct zt_quota_note {
    int32_t kind;
    bool is_hard;
    int64_t value, limit;
    wire_str root; /* the quota root; valid until the next zt_apply */
    wire_str path; /* the request's path (a sequential create's without suffix) */
} zt_quota_note;

typedef struct zt_quota_notes {
    zt_quota_note v[4];
    size_t n;
    size_t dropped; /* notes past v[] */
} zt_quota_notes;

typedef struct zt_prep_ctx {
    int64_t session_id;
    int32_t cxid;
    int64_t zxid;
    int64_t time_ms;
    const zt_auth *auth;
    bool extended_types; /* extendedTypesEnabled: TTL nodes allowed */
    /* zookeeper.enforceQuota: a write past a hard limit (countHardLimit,
     * byteHardLimit) becomes an ErrorTxn with QUOTAEXCEEDED, and unreadable
     * limits MARSHALLINGERROR. Soft limits, and hard ones when this is off,
     * only produce notes. */
    bool enforce_quota;
    zt_quota_notes *quota_notes; /* NULL, or where prep adds its notes (caller zeroes) */
} zt_prep_ctx;

/* Appends TxnHeader + body for req to out. Returns 0 when the txn carries the
 * requested op, or the (negative) error that turned it into an ErrorTxn: that
 * txn is written too and must be logged and applied like any other.
 * ZERR_NOMEM is the only code after which out holds nothing usable. */
int zt_prep(const zt_tree *t, const zt_prep_ctx *c, const wire_write_req *req, wire_wr *out);
/* multi: all ops are prepped against the tree as changed by the earlier ones,
 * create sub-ops first re-derived from their flags as ZooKeeper's
 * MultiOperationRecord does. Returns 0, or the error of the first op that
 * failed (a MultiTxn with ErrorTxns), or ZERR_MARSHALLINGERROR when
 * ZooKeeper's prep would throw on an op: then the txn is one ErrorTxn. */
int zt_prep_multi(const zt_tree *t, const zt_prep_ctx *c, const wire_multi_req *m, wire_wr *out);
/* createSession / closeSession (the latter lists the session's ephemerals). */
int zt_prep_create_session(const zt_prep_ctx *c, int32_t timeout_ms, wire_wr *out);
int zt_prep_close_session(const zt_tree *t, const zt_prep_ctx *c, wire_wr *out);
/* deleteContainer for a container or TTL node (ContainerManager's request). */
int zt_prep_delete_container(const zt_tree *t, const zt_prep_ctx *c, wire_str path, wire_wr *out);

/* Containers that are empty after having had children, and TTL nodes without
 * children not modified for their TTL, as of now_ms: paths are appended to
 * out, each NUL-terminated; returns how many (at most max). O(containers +
 * TTL nodes). */
size_t zt_containers_due(const zt_tree *t, int64_t now_ms, size_t max, wire_wr *out);

/* ---- apply: txn -> tree ----------------------------------------------------- */

typedef struct zt_result {
    int32_t type;                /* the op (WIRE_OP_*), WIRE_OP_ERROR for a failed one */
    int32_t err;                 /* 0 or the error */
    uint32_t path_off, path_len; /* created path, in zt_out.strs */
    wire_stat stat;              /* the node's stat after the op (create, setData, setACL) */
} zt_result;

/* A watch event, with a copy of the ACL of the node it is about, taken
 * when the change was applied (a deleted node's ACL is gone from the tree
 * by the time events are delivered). ZooKeeper (CVE-2024-23944, fixed in
 * 3.8.4 and 3.9.2) delivers an event only to watchers that may READ that
 * node: the created, deleted or changed node itself, and the parent for
 * NodeChildrenChanged. zt_event_check_acl tells. */
typedef struct zt_event {
    int32_t type; /* WIRE_EVENT_* */
    uint32_t path_off, path_len;
    uint32_t acl_off, n_acl; /* entries in zt_out.acls */
} zt_event;

/* One copied ACL entry; its strings live in zt_out.strs. */
typedef struct zt_out_acl {
    int32_t perms;
    uint32_t scheme_off, scheme_len, id_off, id_len;
} zt_out_acl;

/* Per-apply output; reuse one across applies (zt_out_reset). results[0] is
 * the txn's own result; for a multi, results[1..] are its ops. */
typedef struct zt_out {
    zt_result *res;
    size_t n_res, cap_res;
    zt_event *ev;
    size_t n_ev, cap_ev;
    zt_out_acl *acls;
    size_t n_acls, cap_acls;
    wire_wr strs;
} zt_out;

void zt_out_init(zt_out *o);
void zt_out_reset(zt_out *o);
void zt_out_fini(zt_out *o);
static inline wire_str zt_out_str(const zt_out *o, uint32_t off, uint32_t len)
{
    wire_str s = {(const char *)o->strs.p + off, (int32_t)len};
    return s;
}

/* 0 if auth may do perm on the node event e is about, as its ACL stood
 * when e was produced; ZERR_NOAUTH if not. O(ACL entries). */
int zt_event_check_acl(const zt_out *o, const zt_event *e, int32_t perm, const zt_auth *auth);

/* Applies one txn (header + decoded body). Op failures land in the results
 * (a replayed create of an existing node, for instance); the return value is
 * 0, or ZERR_NOMEM / ZERR_CORRUPT for a txn that cannot be applied at all. */
int zt_apply(zt_tree *t, const wire_txn_hdr *h, const wire_txn *txn, zt_out *out);

/* ---- snapshots ---------------------------------------------------------------- */

/* The DataTree stream of an Apache ZooKeeper 3.8 snapshot file: sessions,
 * the ACL cache, every node from the root (written as "") down, then the
 * "/" end marker. Its layout, field by field, is at the top of
 * znode-tree/snapshot.c. The file around it (FileHeader, checksums, the
 * digest record) is storage's. */
typedef struct zt_session_rec {
    int64_t id;
    int32_t timeout_ms;
} zt_session_rec;

/* emit() is called with successive chunks; a non-zero return aborts and is
 * returned. O(nodes + ACL lists + sessions); allocates 64 KiB at most. */
int zt_snapshot_encode(const zt_tree *t, const zt_session_rec *sessions, size_t n_sessions,
                       int (*emit)(void *arg, const void *p, size_t n), void *arg);
/* Builds a tree from a DataTree stream, which must fill p[0..len) exactly;
 * zxid (the snapshot file's) becomes zt_last_zxid. Sessions are handed to fn
 * (NULL: ignored), which may abort with a non-zero return. Malformed input
 * yields ZERR_CORRUPT and no tree; max_len bounds every length read. */
int zt_snapshot_decode(const uint8_t *p, size_t len, int32_t max_len, int64_t zxid,
                       int (*fn)(void *arg, int64_t id, int32_t timeout_ms), void *arg,
                       zt_tree **out);

/* Finds where a DataTree stream ends, for a reader that gets it in pieces
 * (a SNAP sync streams one after its packet, with nothing marking its
 * length). Zero *sc, then call with the bytes so far, always from the
 * stream's first byte (p may move between calls; avail only grows): 1 with
 * *len set once p[0..avail) holds the whole stream, 0 when more bytes are
 * needed, ZERR_CORRUPT for bytes that cannot be one (a length past max_len,
 * a count below 0). Each call resumes where the last stopped, so the cost
 * over the whole stream is linear. */
typedef struct zt_snapshot_scanner {
    int32_t phase; /* sessions, ACL lists, nodes */
    int64_t left;  /* sessions or ACL lists still to pass */
    size_t off;    /* the end of what was passed */
} zt_snapshot_scanner;
int zt_snapshot_scan(zt_snapshot_scanner *sc, const uint8_t *p, size_t avail, int32_t max_len,
                     size_t *len);

/* ---- digest --------------------------------------------------------------------- */

/* ZooKeeper 3.8's tree digest (DataTree.getTreeDigest, digest version 2),
 * kept up to date by every apply and snapshot load: O(1) to read. The exact
 * definition is at the top of znode-tree/digest.c. ZooKeeper logs it after
 * each txn (TxnDigest) and writes it into snapshots (ZxidDigest); equal
 * digests on two servers mean equal trees outside /zookeeper/. */
#define ZT_DIGEST_VERSION 2
int64_t zt_digest(const zt_tree *t);
/* The same value by a whole-tree walk, for tests and checks. O(nodes + data). */
int64_t zt_digest_recompute(const zt_tree *t);
/* One node's term (0 for a node the digest leaves out); path "/" hashes as
 * "", as ZooKeeper's does. */
uint32_t zt_digest_calc(const char *path, size_t path_len, const uint8_t *data, int32_t data_len,
                        const wire_stat *st);
bool zt_digest_excluded(const char *path, size_t path_len);

/* ZooKeeper's digest history (DataTree.getDigestLog, the `hash` word): the
 * tree digest after each applied txn whose zxid is a multiple of
 * ZT_DIGEST_LOG_INTERVAL, the newest ZT_DIGEST_LOG_LIMIT of them. Writes up
 * to cap entries, oldest first, and returns how many. */
#define ZT_DIGEST_LOG_INTERVAL 128
#define ZT_DIGEST_LOG_LIMIT    1024
typedef struct zt_zxid_digest {
    int64_t zxid;
    int64_t digest;
} zt_zxid_digest;
size_t zt_digest_history(const zt_tree *t, zt_zxid_digest *out, size_t cap);

/* ---- The ensemble's configuration node ----------------------------------- */

/* Sets /zookeeper/config's data outside any txn, as an ensemble member does
 * at start and after each sync (ZKDatabase.initConfigInZKDatabase): data is
 * the QuorumVerifier string, zxid its version, mtime the wall clock; the
 * version becomes -1. The node is outside the digest. 0, ZERR_NONODE (no
 * such node) or ZERR_NOMEM (unchanged). */
int zt_config_node_set(zt_tree *t, const uint8_t *data, int32_t len, int64_t zxid,
                       int64_t mtime_ms);

#ifdef __cplusplus
}
#endif
#endif
