/*
 * zklogdump PATH: prints a txn log one line per txn, like ZooKeeper's
 * zkTxnLogToolkit.sh (TxnLogToolkit):
 *
 *   <time, UTC ISO 8601> session 0x<id> cxid 0x<cxid> zxid 0x<zxid> <type> <details>
 *
 * where details start with the path (create*, delete*, setData, setACL,
 * check), or give the timeout (createSession), the ephemerals removed
 * (closeSession), the error code (error) or each sub-txn in brackets
 * (multi); a TxnDigest ZooKeeper logged after the txn ends the line as
 * "digest <version>:<value>".
 *
 * PATH is either a ZooKeeper log file (version-2/log.<zxid>; its header is
 * printed first, and how it ends: padding, a torn record, or a damaged one)
 * or zabd's RocksDB txn log: the txnlog directory itself, its version-2
 * parent or the data (dataLogDir) directory above that. zabd must be stopped
 * for the latter (RocksDB allows one process). Files are only read.
 * Exit status: 0, 1 for damaged or unreadable input, 2 for bad usage.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "storage/stor.h"
#include "wire/wire.h"

static const char *op_name(int32_t type)
{
    switch (type) {
    case WIRE_OP_CREATE:
        return "create";
    case WIRE_OP_DELETE:
        return "delete";
    case WIRE_OP_SETDATA:
        return "setData";
    case WIRE_OP_SETACL:
        return "setACL";
    case WIRE_OP_CHECK:
        return "check";
    case WIRE_OP_MULTI:
        return "multi";
    case WIRE_OP_CREATE2:
        return "create2";
    case WIRE_OP_RECONFIG:
        return "reconfig";
    case WIRE_OP_CREATECONTAINER:
        return "createContainer";
    case WIRE_OP_DELETECONTAINER:
        return "deleteContainer";
    case WIRE_OP_CREATETTL:
        return "createTTL";
    case WIRE_OP_CREATESESSION:
        return "createSession";
    case WIRE_OP_CLOSESESSION:
        return "closeSession";
    case WIRE_OP_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

static void print_details(const wire_txn *t)
{
    switch (t->type) {
    case WIRE_OP_CREATE:
    case WIRE_OP_CREATE2:
    case WIRE_OP_CREATECONTAINER:
    case WIRE_OP_CREATETTL:
        printf("%.*s dataLength=%" PRId32 " acls=%" PRId32, t->path.len, t->path.p,
               t->data.len > 0 ? t->data.len : 0, t->n_acl);
        if (t->ephemeral)
            printf(" ephemeral");
        if (t->type == WIRE_OP_CREATETTL)
            printf(" ttl=%" PRId64, t->ttl);
        printf(" parentCVersion=%" PRId32, t->parent_cversion);
        break;
    case WIRE_OP_DELETE:
    case WIRE_OP_DELETECONTAINER:
        printf("%.*s", t->path.len, t->path.p);
        break;
    case WIRE_OP_SETDATA:
        printf("%.*s dataLength=%" PRId32 " version=%" PRId32, t->path.len, t->path.p,
               t->data.len > 0 ? t->data.len : 0, t->version);
        break;
    case WIRE_OP_SETACL:
        printf("%.*s acls=%" PRId32 " version=%" PRId32, t->path.len, t->path.p, t->n_acl,
               t->version);
        break;
    case WIRE_OP_CHECK:
        printf("%.*s version=%" PRId32, t->path.len, t->path.p, t->version);
        break;
    case WIRE_OP_CREATESESSION:
        printf("timeout=%" PRId32, t->timeout_ms);
        break;
    case WIRE_OP_CLOSESESSION:
        printf("ephemerals=[");
        for (int32_t i = 0; i < t->n_paths; i++)
            printf("%s%.*s", i ? "," : "", t->paths[i].len, t->paths[i].p);
        printf("]");
        break;
    case WIRE_OP_ERROR:
        printf("err=%" PRId32 " (%s)", t->err, wire_err_name(t->err));
        break;
    case WIRE_OP_MULTI:
        for (int32_t i = 0; i < t->n_sub; i++) {
            printf("%s[%s ", i ? " " : "", op_name(t->sub[i].type));
            print_details(&t->sub[i]);
            printf("]");
        }
        break;
    default:
        break;
    }
}

/* Prints one txn; 0, or ZERR_CORRUPT for bytes that do not decode. */
static int print_txn(void *arg, uint64_t zxid, const uint8_t *p, size_t len)
{
    (void)arg;
    (void)zxid;
    wire_rd r;
    wire_txn_hdr h;
    wire_txn t;
    wire_rd_init(&r, p, len, INT32_MAX);
    wire_txn_hdr_decode(&r, &h);
    if (r.err != 0 || wire_txn_body_decode(&r, h.type, &t) != 0) {
        printf("undecodable txn of %zu bytes at zxid 0x%" PRIx64 "\n", len, zxid);
        return ZERR_CORRUPT;
    }
    char when[64];
    time_t s = (time_t)(h.time_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + k, sizeof when - k, ".%03dZ", (int)(((h.time_ms % 1000) + 1000) % 1000));
    printf("%s session 0x%" PRIx64 " cxid 0x%" PRIx32 " zxid 0x%" PRIx64 " %s ", when,
           (uint64_t)h.client_id, (uint32_t)h.cxid, (uint64_t)h.zxid, op_name(h.type));
    print_details(&t);
    wire_txn_fini(&t);
    bool has = false;
    int32_t version = 0;
    int64_t digest = 0;
    if (wire_txn_entry_digest(p, len, &has, &version, &digest) == 0 && has)
        printf(" digest %" PRId32 ":%" PRId64, version, digest);
    putchar('\n');
    return 0;
}

static int dump_zk_file(const char *path)
{
    const uint8_t *p = NULL;
    size_t len = 0;
    if (stor_zklog_map(path, &p, &len) != 0) {
        perror(path);
        return 1;
    }
    int32_t version;
    int64_t dbid;
    int rc = 1;
    if (stor_zklog_header(p, len, &version, &dbid) != 0) {
        fprintf(stderr, "zklogdump: %s: not a ZooKeeper txn log (bad magic)\n", path);
        goto out;
    }
    printf("ZooKeeper Transactional Log File with dbid %" PRId64 " txnlog format version %" PRId32
           "\n",
           dbid, version);
    size_t off = 16, count = 0;
    for (;;) {
        stor_zklog_entry e;
        bool torn;
        int r = stor_zklog_next(p, len, &off, INT32_MAX, &e, &torn);
        if (r < 0) {
            printf("damaged entry at offset %zu (checksum or length) after %zu txns.\n", off,
                   count);
            goto out;
        }
        if (r == 0) {
            if (torn)
                printf("torn record at offset %zu: end after %zu txns.\n", off, count);
            else
                printf("EOF reached after %zu txns.\n", count);
            break;
        }
        if (print_txn(NULL, e.zxid, e.txn, e.len) != 0)
            goto out;
        count++;
    }
    rc = 0;
out:
    stor_zklog_unmap(p, len);
    return rc;
}

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The data dir whose version-2/txnlog is the RocksDB log PATH names. */
static int find_data_dir(const char *path, char *out, size_t cap)
{
    char buf[PATH_MAX + 32];
    snprintf(buf, sizeof buf, "%s/CURRENT", path);
    struct stat sb;
    if (stat(buf, &sb) == 0) { /* the RocksDB directory itself */
        snprintf(out, cap, "%s/../..", path);
        return 0;
    }
    snprintf(buf, sizeof buf, "%s/txnlog/CURRENT", path);
    if (stat(buf, &sb) == 0) {
        snprintf(out, cap, "%s/..", path);
        return 0;
    }
    snprintf(buf, sizeof buf, "%s/version-2/txnlog/CURRENT", path);
    if (stat(buf, &sb) == 0) {
        snprintf(out, cap, "%s", path);
        return 0;
    }
    return -1;
}

static int dump_own_log(const char *path)
{
    char data_dir[PATH_MAX + 16], err[1024] = "";
    if (find_data_dir(path, data_dir, sizeof data_dir) != 0) {
        fprintf(stderr, "zklogdump: %s holds no zabd txn log (version-2/txnlog)\n", path);
        return 1;
    }
    stor_config c = {.data_dir = data_dir};
    stor *st = NULL;
    if (stor_open(&c, &st, err, sizeof err) != 0) {
        fprintf(stderr, "zklogdump: %s\n", err);
        return 1;
    }
    printf("zabd txn log %s/version-2/txnlog\n", data_dir);
    int rc = stor_replay(st, 0, print_txn, NULL, err, sizeof err);
    if (rc != 0 && err[0] != '\0')
        printf("%s\n", err);
    stor_close(st);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s version-2/log.<zxid> | zabd-txnlog-dir\n", argv[0]);
        return 2;
    }
    return is_dir(argv[1]) ? dump_own_log(argv[1]) : dump_zk_file(argv[1]);
}
