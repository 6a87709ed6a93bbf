/*
 * digest.c: ZooKeeper 3.8's tree digest (DigestCalculator, NodeHashMapImpl,
 * AdHash), kept up to date as txns apply instead of walking the tree.
 *
 * Definition (digest version 2). Each node n whose path does not start with
 * "/zookeeper/" has a node digest: the CRC-32 (java.util.zip.CRC32, the same
 * function as zlib's crc32) of
 *
 *   path bytes       the node's path; the root's is "" (not "/")
 *   data bytes       its data (nothing for null or empty data)
 *   60 stat bytes    big-endian: czxid, mzxid, pzxid, ctime, mtime (8 each),
 *                    version, cversion, aversion (4 each), ephemeralOwner (8)
 *
 * taken as an unsigned 32-bit value. The tree digest is the sum of the node
 * digests in 64-bit two's-complement arithmetic (AdHash: a change subtracts
 * the node's old digest and adds its new one). "/zookeeper" itself counts;
 * "/zookeeper/quota", "/zookeeper/config" and everything below them do not
 * (ZooKeeper excludes them because quota nodes are updated locally). The
 * ACL, numChildren and dataLength are not hashed.
 *
 * Every change to a counted node goes through zt_digest_sub() before and
 * zt_digest_add() after (apply.c, snapshot.c, tree.c). Each node caches its
 * digest so that subtracting costs nothing; adding hashes the node's path
 * and data once.
 *
 * The CRC table duplicates storage/crc.c's: znode-tree may not use storage.
 */
#include "znode-tree/zt_int.h"

#include <string.h>

bool zt_digest_excluded(const char *path, size_t len)
{
    static const char sub[] = "/zookeeper/";
    return len >= sizeof sub - 1 && memcmp(path, sub, sizeof sub - 1) == 0;
}

/* The 60 stat bytes: czxid, mzxid, pzxid, ctime, mtime, version, cversion,
 * aversion, ephemeralOwner, big-endian. */
static void stat_bytes(uint8_t b[60], const wire_stat *st)
{
    wire_put_be64(b, (uint64_t)st->czxid);
    wire_put_be64(b + 8, (uint64_t)st->mzxid);
    wire_put_be64(b + 16, (uint64_t)st->pzxid);
    wire_put_be64(b + 24, (uint64_t)st->ctime);
    wire_put_be64(b + 32, (uint64_t)st->mtime);
    wire_put_be32(b + 40, (uint32_t)st->version);
    wire_put_be32(b + 44, (uint32_t)st->cversion);
    wire_put_be32(b + 48, (uint32_t)st->aversion);
    wire_put_be64(b + 52, (uint64_t)st->ephemeral_owner);
}

static uint32_t prefix_calc(const char *path, size_t path_len, const uint8_t *data,
                            int32_t data_len)
{
    /* DataTree files the root under "" and "/"; the digest always hashes "". */
    if (path_len == 1 && path[0] == '/')
        path_len = 0;
    uint32_t crc = wire_crc32(0, path, path_len);
    return data_len > 0 ? wire_crc32(crc, data, (size_t)data_len) : crc;
}

uint32_t zt_digest_calc(const char *path, size_t path_len, const uint8_t *data, int32_t data_len,
                        const wire_stat *st)
{
    uint8_t b[60];
    stat_bytes(b, st);
    return wire_crc32(prefix_calc(path, path_len, data, data_len), b, sizeof b);
}

static void node_stat(const zt_node *n, wire_stat *st)
{
    *st = (wire_stat){
        .czxid = n->czxid,
        .mzxid = n->mzxid,
        .pzxid = n->pzxid,
        .ctime = n->ctime,
        .mtime = n->mtime,
        .version = n->version,
        .cversion = n->cversion,
        .aversion = n->aversion,
        .ephemeral_owner = n->owner,
    };
}

/* CRC-32 continues from any earlier result, so a node's term is its cached
 * path-and-data CRC continued over the stat: a change to the stat alone
 * (a parent's on every child create or delete) hashes 60 bytes, not the
 * node's data again. */
static uint32_t node_calc(zt_node *n)
{
    if (!n->has_digest_prefix) {
        n->digest_prefix = prefix_calc(n->path, n->path_len, n->data, n->data_len);
        n->has_digest_prefix = true;
    }
    wire_stat st;
    node_stat(n, &st);
    uint8_t b[60];
    stat_bytes(b, &st);
    return wire_crc32(n->digest_prefix, b, sizeof b);
}

void zt_digest_add(zt_tree *t, zt_node *n)
{
    if (zt_digest_excluded(n->path, n->path_len)) {
        n->digest = 0;
        return;
    }
    n->digest = node_calc(n);
    t->digest += n->digest;
}

void zt_digest_sub(zt_tree *t, const zt_node *n)
{
    t->digest -= n->digest;
}

int64_t zt_digest(const zt_tree *t)
{
    return (int64_t)t->digest;
}

int64_t zt_digest_recompute(const zt_tree *t)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < t->n_slots; i++) {
        const zt_node *n = t->slots[i].n;
        if (n == NULL || zt_digest_excluded(n->path, n->path_len))
            continue;
        /* from scratch, not from the cached prefixes it checks */
        wire_stat st;
        node_stat(n, &st);
        sum += zt_digest_calc(n->path, n->path_len, n->data, n->data_len, &st);
    }
    return (int64_t)sum;
}

void zt_digest_log_txn(zt_tree *t, int64_t zxid)
{
    /* DataTree.logZxidDigest: every txn's digest becomes the last one; those
     * on the interval join the history, which keeps the newest LIMIT. */
    if (zxid % ZT_DIGEST_LOG_INTERVAL != 0)
        return;
    if (t->digest_log == NULL &&
        (t->digest_log = malloc(ZT_DIGEST_LOG_LIMIT * sizeof *t->digest_log)) == NULL)
        return; /* the history is a diagnostic: losing it fails nothing */
    size_t at = (t->digest_log_head + t->digest_log_n) % ZT_DIGEST_LOG_LIMIT;
    t->digest_log[at] = (zt_zxid_digest){zxid, (int64_t)t->digest};
    if (t->digest_log_n < ZT_DIGEST_LOG_LIMIT)
        t->digest_log_n++;
    else
        t->digest_log_head = (t->digest_log_head + 1) % ZT_DIGEST_LOG_LIMIT;
}

size_t zt_digest_history(const zt_tree *t, zt_zxid_digest *out, size_t cap)
{
    size_t n = t->digest_log_n < cap ? t->digest_log_n : cap;
    for (size_t i = 0; i < n; i++)
        out[i] = t->digest_log[(t->digest_log_head + i) % ZT_DIGEST_LOG_LIMIT];
    return n;
}
