/*
 * zksnapdump [-d] FILE: prints a snapshot file, Apache ZooKeeper 3.8's or
 * zabd's (the same format), as ZooKeeper's zkSnapShotToolkit.sh
 * (SnapshotFormatter) does: every node with its stored stat and its data
 * length (-d: its data, base64), then the sessions with their timeouts and
 * ephemeral counts, the digest the file records and the last zxid. Two
 * lines are ours: "Tree digest" (recomputed from the nodes, which a healthy
 * exact snapshot matches) and the ACL of each node.
 *
 * Children are printed in byte order, so two dumps of equal trees are
 * equal text. It reads the file only. Exit status: 0, 1 for a file that is
 * not a valid snapshot (the reason on stderr), 2 for bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/stor.h"
#include "wire/wire.h"
#include "znode-tree/zt.h"

typedef struct sess {
    int64_t id;
    int32_t timeout_ms;
} sess;

typedef struct sess_list {
    sess *v;
    size_t n, cap;
} sess_list;

static int add_session(void *arg, int64_t id, int32_t timeout_ms)
{
    sess_list *l = arg;
    if (wire_reserve((void **)&l->v, &l->cap, l->n, sizeof *l->v) != 0)
        return ZERR_NOMEM;
    l->v[l->n++] = (sess){id, timeout_ms};
    return 0;
}

/* java.util.Date.toString, in UTC. */
static void print_time(const char *name, int64_t ms)
{
    char buf[64];
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, sizeof buf, "%a %b %d %H:%M:%S UTC %Y", &tm);
    printf("  %s = %s\n", name, buf);
}

static void print_base64(const uint8_t *p, int32_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int32_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        putchar(tbl[v >> 18 & 63]);
        putchar(tbl[v >> 12 & 63]);
        putchar(i + 1 < n ? tbl[v >> 6 & 63] : '=');
        putchar(i + 2 < n ? tbl[v & 63] : '=');
    }
}

static int cmp_node(const void *a, const void *b)
{
    wire_str x = zt_node_name(*(const zt_node *const *)a);
    wire_str y = zt_node_name(*(const zt_node *const *)b);
    int32_t n = x.len < y.len ? x.len : y.len;
    int c = memcmp(x.p, y.p, (size_t)n);
    return c != 0 ? c : (x.len > y.len) - (x.len < y.len);
}

static int64_t print_node(const zt_tree *t, const zt_node *n, bool dump_data)
{
    wire_stat st;
    zt_node_stat(n, &st);
    wire_str path = zt_node_path(n);
    printf("----\n%.*s\n", path.len, path.p);
    printf("  cZxid = 0x%" PRIx64 "\n", (uint64_t)st.czxid);
    print_time("ctime", st.ctime);
    printf("  mZxid = 0x%" PRIx64 "\n", (uint64_t)st.mzxid);
    print_time("mtime", st.mtime);
    printf("  pZxid = 0x%" PRIx64 "\n", (uint64_t)st.pzxid);
    /* StatPersisted holds child creations; clients see 2 * that - children. */
    printf("  cversion = %" PRId32 "\n", (int32_t)(((int64_t)st.cversion + st.num_children) / 2));
    printf("  dataVersion = %" PRId32 "\n", st.version);
    printf("  aclVersion = %" PRId32 "\n", st.aversion);
    printf("  ephemeralOwner = 0x%" PRIx64 "\n", (uint64_t)zt_node_owner(n));
    wire_buf data = zt_node_data(n);
    if (dump_data) {
        printf("  data = ");
        print_base64(data.p, data.len > 0 ? data.len : 0);
        putchar('\n');
    } else {
        printf("  dataLength = %" PRId32 "\n", data.len > 0 ? data.len : 0);
    }
    const wire_acl *acl;
    int32_t n_acl;
    zt_node_acl(t, n, &acl, &n_acl);
    printf("  acl =");
    for (int32_t i = 0; i < n_acl; i++)
        printf(" %.*s:%.*s:%" PRId32, acl[i].scheme.len, acl[i].scheme.p, acl[i].id.len,
               acl[i].id.p, acl[i].perms);
    putchar('\n');
    int64_t zxid = st.mzxid > st.pzxid ? st.mzxid : st.pzxid;
    size_t k = 0;
    for (const zt_node *c = zt_node_first_child(n); c != NULL; c = zt_node_next_sibling(c))
        k++;
    const zt_node **kids = calloc(k ? k : 1, sizeof *kids);
    if (kids == NULL) {
        fprintf(stderr, "zksnapdump: out of memory\n");
        exit(1);
    }
    k = 0;
    for (const zt_node *c = zt_node_first_child(n); c != NULL; c = zt_node_next_sibling(c))
        kids[k++] = c;
    qsort(kids, k, sizeof *kids, cmp_node);
    for (size_t i = 0; i < k; i++) {
        int64_t z = print_node(t, kids[i], dump_data);
        zxid = z > zxid ? z : zxid;
    }
    free(kids);
    return zxid;
}

static int count_eph(void *arg, int64_t owner, const zt_node *n)
{
    (void)owner;
    (void)n;
    ++*(size_t *)arg;
    return 0;
}

static uint64_t zxid_of_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    if (strncmp(base, "snapshot.", 9) != 0)
        return 0;
    return strtoull(base + 9, NULL, 16);
}

int main(int argc, char **argv)
{
    bool dump_data = false;
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "-d") == 0) {
        dump_data = true;
        i++;
    }
    if (argc != i + 1) {
        fprintf(stderr, "usage: %s [-d] snapshot-file\n", argv[0]);
        return 2;
    }
    const char *path = argv[i];
    uint8_t *file = NULL;
    stor_snapfile sf;
    char why[256] = "";
    int rc = stor_snapfile_read(path, &file, &sf, why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "zksnapdump: %s: %s\n", path, why[0] ? why : wire_err_name(rc));
        return 1;
    }
    uint64_t name_zxid = zxid_of_name(path);
    sess_list sl = {0};
    zt_tree *t = NULL;
    rc = zt_snapshot_decode(sf.body, sf.body_len, INT32_MAX, (int64_t)name_zxid, add_session, &sl,
                            &t);
    if (rc != 0) {
        fprintf(stderr, "zksnapdump: %s: the DataTree does not decode: %s\n", path,
                wire_err_name(rc));
        free(file);
        free(sl.v);
        return 1;
    }
    printf("ZNode Details (count=%zu):\n", zt_node_count(t));
    int64_t top = print_node(t, zt_lookup(t, wire_str_c("/")), dump_data);
    printf("----\n");
    printf("Session Details (sid, timeout, ephemeralCount):\n");
    for (size_t k = 0; k < sl.n; k++) {
        size_t n_eph = 0;
        zt_ephemerals(t, sl.v[k].id, count_eph, &n_eph);
        printf("%#016" PRIx64 ", %" PRId32 ", %zu\n", (uint64_t)sl.v[k].id, sl.v[k].timeout_ms,
               n_eph);
    }
    if (sf.has_digest && sf.digest.zxid != 0)
        printf("Target zxid digest is: %" PRIx64 ", %" PRId64 "\n", (uint64_t)sf.digest.zxid,
               sf.digest.digest);
    printf("Tree digest: %" PRId64 "\n", zt_digest(t));
    printf("----\nLast zxid: 0x%" PRIx64 "\n",
           (uint64_t)((int64_t)name_zxid > top ? (int64_t)name_zxid : top));
    zt_free(t);
    free(sl.v);
    free(file);
    return 0;
}
