/*
 * zt_int.h: the tree's layout, shared by the files of znode-tree only.
 *
 * Nodes are indexed by full path in one open-addressing table of (hash,
 * node) slots: a lookup compares hashes in the table and touches a node only
 * on a match, and growing the table rewrites the table alone, never the
 * nodes (a rewrite of every node while a forked snapshot child shares the
 * pages would copy the whole heap). Each node links to
 * its parent and its siblings (an intrusive doubly linked list), so adding and
 * removing a child is O(1) however many children there are. ACL lists are
 * interned in a reference-counted table (ZooKeeper's ReferenceCountedACLCache)
 * so a million nodes sharing one ACL store it once.
 */
#ifndef ZABD_ZT_INT_H
#define ZABD_ZT_INT_H

#include "znode-tree/zt.h"

typedef struct zt_quota zt_quota; /* layout in quota.c */

typedef struct zt_slot {
    zt_node *n;
    uint32_t hash;
} zt_slot;

struct zt_node {
    zt_node *parent;
    zt_node *child; /* first child */
    zt_node *next, *prev;
    uint8_t *data;
    int32_t data_len; /* -1: null */
    uint32_t acl;     /* index into zt_tree.acls */
    int64_t czxid, mzxid, pzxid, ctime, mtime, owner;
    int32_t version, cversion, aversion, num_children;
    int32_t peak_children; /* most children ever at once: sizes ZooKeeper's child set */
    uint32_t hash;
    uint32_t digest;        /* this node's term of the tree digest (digest.c), 0 if not counted */
    uint32_t digest_prefix; /* CRC-32 of path and data, valid if has_digest_prefix */
    uint32_t path_len;
    uint32_t name_off;
    uint32_t inline_cap;    /* data bytes room after path[]; data points there while it fits */
    bool has_digest_prefix; /* cleared whenever the data changes (zt_node_set_data) */
    char path[];            /* NUL-terminated */
};

typedef struct zt_acl_entry {
    wire_acl *acl; /* owned, strings in blob */
    int32_t n;
    char *blob;
    int64_t refs; /* 0: free slot */
    uint32_t hash;
    int32_t open_perms; /* granted to anyone: world:anyone's perms, all for an empty list */
} zt_acl_entry;

/* A growable array of node pointers (ephemerals of one session, containers, TTL nodes). */
typedef struct zt_nodevec {
    zt_node **v;
    size_t n, cap;
} zt_nodevec;

/* One session's ephemerals in creation order (ZooKeeper's per-session
 * HashSet iterates in an order that depends on it), and the most it ever
 * held at once (that set's table never shrinks). */
typedef struct zt_eph {
    int64_t owner;
    zt_nodevec nodes;
    size_t peak;
} zt_eph;

struct zt_tree {
    zt_slot *slots;                /* linear probing; n == NULL is empty */
    size_t n_slots;                /* power of two, at least twice n_nodes */
    const zt_index_mem *index_mem; /* where slots come from; NULL: calloc/free */
    size_t n_nodes;
    zt_node *root;
    zt_acl_entry *acls;
    size_t n_acls, cap_acls;
    zt_eph *eph; /* open addressing by owner, owner 0 = empty */
    size_t eph_cap, eph_used, n_ephemeral;
    zt_nodevec containers, ttls;
    int64_t last_zxid;
    int64_t data_size;
    uint64_t digest;            /* ZooKeeper's tree digest: sum of the nodes' digests, mod 2^64 */
    zt_zxid_digest *digest_log; /* ring of ZT_DIGEST_LOG_LIMIT, allocated on first use */
    size_t digest_log_head, digest_log_n;
    zt_quota *quota; /* quota roots (quota.c); NULL until a zookeeper_limits node exists */
};

/* Java int arithmetic: versions and cversions wrap at INT32_MAX, as
 * ZooKeeper's do, without C's undefined signed overflow. */
static inline int32_t zt_inc32(int32_t v)
{
    return (int32_t)((uint32_t)v + 1u);
}

/* tree.c */
uint32_t zt_hash(const char *p, size_t n);
zt_node *zt_find(const zt_tree *t, const char *path, size_t len);
/* Creates a node under parent (which must exist), owning a copy of path and
 * data, both in the node's own allocation (setData reuses that room while
 * the new data fits). */
zt_node *zt_node_insert(zt_tree *t, zt_node *parent, const char *path, size_t len,
                        const uint8_t *data, int32_t data_len);
void zt_node_unlink(zt_tree *t, zt_node *n); /* removes and frees a leaf */
int zt_node_set_data(zt_tree *t, zt_node *n, const uint8_t *data, int32_t len);
/* Parent path of an absolute path: "/a/b" -> "/a", "/a" -> "/". */
size_t zt_parent_len(const char *path, size_t len);

/* Ownership indexes. */
int zt_index_add(zt_tree *t, zt_node *n);
void zt_index_remove(zt_tree *t, zt_node *n);
bool zt_owner_is_session(int64_t owner); /* EphemeralType.NORMAL */
bool zt_owner_is_ttl(int64_t owner);

/* digest.c: call sub before changing a node's path, data or stat and add
 * after (add also for a new node once its stat is set; sub before freeing). */
void zt_digest_add(zt_tree *t, zt_node *n);
/* After applying the txn at zxid: records the digest if zxid is on the interval. */
void zt_digest_log_txn(zt_tree *t, int64_t zxid);
void zt_digest_sub(zt_tree *t, const zt_node *n);

/* statstrack.c: StatsTrack strings (the format is in that file). Reading
 * returns 0 or ZERR_MARSHALLINGERROR where Java's parser throws. */
typedef struct zt_stats_track {
    int64_t count, bytes, count_hard, bytes_hard; /* -1: not set */
} zt_stats_track;
int zt_stats_read(const uint8_t *p, size_t n, zt_stats_track *out);
/* Appends p with the diffs added to count and bytes, other keys kept
 * (sorted): 0, ZERR_MARSHALLINGERROR or ZERR_NOMEM. */
int zt_stats_rewrite(const uint8_t *p, size_t n, int64_t count_diff, int64_t bytes_diff,
                     wire_wr *out);
void zt_stats_write(wire_wr *out, int64_t count, int64_t bytes); /* "count=<c>,bytes=<b>" */
int64_t zt_add64(int64_t a, int64_t b);                          /* Java long addition: wraps */

/* quota.c: DataTree's quota upkeep, called by apply for every node it
 * creates (after linking it), deletes (before unlinking it) or rewrites
 * (after, with the old length); by snapshot decode once the tree is whole;
 * and by prep before a create or setData. 0 or ZERR_NOMEM, except
 * zt_quota_check (0, ZERR_QUOTAEXCEEDED, ZERR_MARSHALLINGERROR). */
int zt_quota_on_create(zt_tree *t, zt_node *n);
int zt_quota_on_delete(zt_tree *t, zt_node *n);
int zt_quota_on_set_data(zt_tree *t, zt_node *n, int32_t old_len);
int zt_quota_setup(zt_tree *t);
/* path: the node written (a sequential create's final name); req_path:
 * the request's, borrowed by the notes. */
int zt_quota_check(const zt_tree *t, const zt_prep_ctx *c, wire_str path, wire_str req_path,
                   int64_t bytes_diff, int64_t count_diff);
void zt_quota_free(zt_quota *q);

/* acl.c */
int zt_acl_intern(zt_tree *t, const wire_acl *acl, int32_t n, uint32_t *idx_out);
void zt_acl_release(zt_tree *t, uint32_t idx);
void zt_acl_retain(zt_tree *t, uint32_t idx);
bool zt_acl_check(const wire_acl *acl, int32_t n, int32_t perm, const zt_auth *a);
/* Whether one entry grants perm to a (the per-entry step of zt_acl_check,
 * which also lets the super user and an empty list through). */
bool zt_acl_entry_grants(const wire_acl *e, int32_t perm, const zt_auth *a);

#endif
