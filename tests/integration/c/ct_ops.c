/*
 * ct_ops.c: create (every plain mode and its errors), the Stat fields and
 * the relations ZooKeeper keeps between them, delete, exists, children,
 * getACL/setACL and sync. Everything lives under /ct.
 *
 * Several checks compare zxids exactly (a child's czxid is the parent's
 * pzxid, the next write's zxid is this one's plus one). That holds because
 * this program is the only writer and a standalone server numbers its txns
 * consecutively.
 */
#include "ct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mk(zhandle_t *zh, const char *path, const char *data, int mode)
{
    return zoo_create(zh, path, data, data ? (int)strlen(data) : -1,
                      &ZOO_OPEN_ACL_UNSAFE, mode, NULL, 0);
}

static void test_create(zhandle_t *zh, int64_t sid)
{
    char buf[256];
    struct Stat st;
    int rc;

    rc = zoo_create(zh, "/ct", "root", 4, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT, buf, sizeof buf);
    if (ct_eq_rc("create.persistent", ZOK, rc))
        ct_eq_str("create.returns_path", "/ct", buf);
    ct_eq_rc("create.exists_is_ZNODEEXISTS", ZNODEEXISTS,
             mk(zh, "/ct", "x", ZOO_PERSISTENT));
    ct_eq_rc("create.missing_parent_is_ZNONODE", ZNONODE,
             mk(zh, "/ct/no/child", "x", ZOO_PERSISTENT));

    ct_eq_rc("create.ephemeral", ZOK, mk(zh, "/ct/eph", "e", ZOO_EPHEMERAL));
    if (ct_eq_rc("create.ephemeral_exists", ZOK,
                 zoo_exists(zh, "/ct/eph", 0, &st)))
        ct_eq_i64("create.ephemeral_owner_is_session", sid,
                  st.ephemeralOwner);
    ct_eq_rc("create.under_ephemeral_is_ZNOCHILDRENFOREPHEMERALS",
             ZNOCHILDRENFOREPHEMERALS,
             mk(zh, "/ct/eph/c", "x", ZOO_PERSISTENT));
    ct_eq_rc("create.persistent_owner_zero", ZOK,
             zoo_exists(zh, "/ct", 0, &st));
    ct_eq_i64("create.persistent_owner_is_0", 0, st.ephemeralOwner);

    /* The C client validates paths itself (as ZooKeeper's PathUtils does), so
     * these never reach the server; they pin what a user of it sees. */
    static const char *bad_paths[] = { "a", "/a/", "/a//b", "/a/./b",
                                       "/a/../b", "", "/a/.", "/\x01" };
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "create.bad_path_%zu_is_ZBADARGUMENTS",
                 i);
        ct_eq_rc(name, ZBADARGUMENTS,
                 mk(zh, bad_paths[i], "x", ZOO_PERSISTENT));
    }

    struct ACL_vector empty = { 0, NULL };
    ct_eq_rc("create.empty_acl_is_ZINVALIDACL", ZINVALIDACL,
             zoo_create(zh, "/ct/noacl", "x", 1, &empty, ZOO_PERSISTENT,
                        NULL, 0));
    ct_eq_rc("create.creator_acl_without_auth_is_ZINVALIDACL", ZINVALIDACL,
             zoo_create(zh, "/ct/noauth", "x", 1, &ZOO_CREATOR_ALL_ACL,
                        ZOO_PERSISTENT, NULL, 0));
    ct_eq_rc("create.failed_creates_left_nothing", ZNONODE,
             zoo_exists(zh, "/ct/noacl", 0, &st));
}

/* ZooKeeper stores in a node's cversion the number of children ever
 * created under it, and names a sequential child after that count (%010d).
 * The cversion a client sees is derived: 2 * creates - numChildren, which
 * counts creates plus deletes (DataNode.copyStat). So deletes move the
 * reported cversion but not the sequence counter. */
static void test_sequential(zhandle_t *zh, int64_t sid)
{
    char buf[256];
    struct Stat st;
    int rc;

    mk(zh, "/ct/seq", NULL, ZOO_PERSISTENT);
    rc = zoo_create(zh, "/ct/seq/a-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    if (ct_eq_rc("seq.create", ZOK, rc))
        ct_eq_str("seq.first_suffix", "/ct/seq/a-0000000000", buf);
    mk(zh, "/ct/seq/x", "", ZOO_PERSISTENT);
    zoo_delete(zh, "/ct/seq/x", -1);
    zoo_exists(zh, "/ct/seq", 0, &st);
    ct_eq_i64("seq.cversion_counts_create_and_delete", 3, st.cversion);
    rc = zoo_create(zh, "/ct/seq/b-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    if (ct_eq_rc("seq.create_after_delete", ZOK, rc))
        ct_eq_str("seq.suffix_counts_creates_only", "/ct/seq/b-0000000002",
                  buf);
    rc = zoo_create(zh, "/ct/seq/e-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_EPHEMERAL_SEQUENTIAL, buf, sizeof buf);
    if (ct_eq_rc("seq.ephemeral_sequential", ZOK, rc)) {
        ct_eq_str("seq.ephemeral_suffix", "/ct/seq/e-0000000003", buf);
        zoo_exists(zh, buf, 0, &st);
        ct_eq_i64("seq.ephemeral_owner", sid, st.ephemeralOwner);
    }
    /* A trailing slash is allowed with the sequential flag: the name is
     * only the counter. */
    rc = zoo_create(zh, "/ct/seq/", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    if (ct_eq_rc("seq.trailing_slash_allowed", ZOK, rc))
        ct_eq_str("seq.trailing_slash_name", "/ct/seq/0000000004", buf);
    mk(zh, "/ct/seq/y", "", ZOO_PERSISTENT);
    zoo_delete(zh, "/ct/seq/y", -1);
    rc = zoo_create(zh, "/ct/seq/a-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT_SEQUENTIAL, buf, sizeof buf);
    if (ct_eq_rc("seq.same_prefix_again", ZOK, rc))
        ct_eq_str("seq.same_prefix_new_name", "/ct/seq/a-0000000006", buf);
    /* 7 creates, 5 children left: 2 * 7 - 5. */
    zoo_exists(zh, "/ct/seq", 0, &st);
    ct_eq_i64("seq.parent_cversion_is_2_creates_minus_children", 9,
              st.cversion);
    ct_eq_i64("seq.parent_children", 5, st.numChildren);
}

static void test_stat(zhandle_t *zh)
{
    struct Stat s0, s1, c1, p1, s2, p3, s4, st;
    int64_t now = ct_now_ms();
    int rc;

    rc = zoo_create2(zh, "/ct/st", "hello", 5, &ZOO_OPEN_ACL_UNSAFE,
                     ZOO_PERSISTENT, NULL, 0, &s0);
    if (!ct_eq_rc("stat.create2", ZOK, rc))
        return;
    ct_check("stat.new_czxid_positive", s0.czxid > 0, "got czxid %lld",
             (long long)s0.czxid);
    ct_eq_i64("stat.new_mzxid_is_czxid", s0.czxid, s0.mzxid);
    ct_eq_i64("stat.new_pzxid_is_czxid", s0.czxid, s0.pzxid);
    ct_eq_i64("stat.new_mtime_is_ctime", s0.ctime, s0.mtime);
    ct_check("stat.new_ctime_is_now", llabs(s0.ctime - now) < 10000,
             "expected ctime within 10 s of %lld got %lld", (long long)now,
             (long long)s0.ctime);
    ct_eq_i64("stat.new_version", 0, s0.version);
    ct_eq_i64("stat.new_cversion", 0, s0.cversion);
    ct_eq_i64("stat.new_aversion", 0, s0.aversion);
    ct_eq_i64("stat.new_owner", 0, s0.ephemeralOwner);
    ct_eq_i64("stat.new_data_length", 5, s0.dataLength);
    ct_eq_i64("stat.new_num_children", 0, s0.numChildren);
    zoo_exists(zh, "/ct/st", 0, &s1);
    ct_eq_stat("stat.exists_matches_create2", &s0, &s1);

    /* A child create moves the parent's cversion, numChildren and pzxid,
     * and nothing else. */
    rc = zoo_create2(zh, "/ct/st/c1", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                     ZOO_PERSISTENT, NULL, 0, &c1);
    ct_eq_rc("stat.child_create", ZOK, rc);
    ct_eq_i64("stat.next_txn_zxid_plus_one", s0.czxid + 1, c1.czxid);
    zoo_exists(zh, "/ct/st", 0, &p1);
    st = s0;
    st.cversion = 1;
    st.numChildren = 1;
    st.pzxid = c1.czxid;
    ct_eq_stat("stat.parent_after_child_create", &st, &p1);

    rc = zoo_set2(zh, "/ct/st", "world!", 6, 0, &s2);
    ct_eq_rc("stat.set", ZOK, rc);
    st = p1;
    st.mzxid = c1.czxid + 1;
    st.version = 1;
    st.dataLength = 6;
    st.mtime = s2.mtime;
    ct_eq_stat("stat.after_set", &st, &s2);
    ct_check("stat.set_mtime_not_before_ctime", s2.mtime >= s2.ctime,
             "expected mtime >= ctime got %lld < %lld", (long long)s2.mtime,
             (long long)s2.ctime);

    /* A child delete moves pzxid to the delete's zxid; mzxid stays. */
    ct_eq_rc("stat.child_delete", ZOK, zoo_delete(zh, "/ct/st/c1", 0));
    zoo_exists(zh, "/ct/st", 0, &p3);
    st = s2;
    st.cversion = 2;
    st.numChildren = 0;
    st.pzxid = s2.mzxid + 1;
    ct_eq_stat("stat.parent_after_child_delete", &st, &p3);

    /* setACL bumps only aversion: mzxid and mtime stay. */
    ct_eq_rc("stat.set_acl", ZOK,
             zoo_set_acl(zh, "/ct/st", 0, &ZOO_OPEN_ACL_UNSAFE));
    zoo_exists(zh, "/ct/st", 0, &s4);
    st = p3;
    st.aversion = 1;
    ct_eq_stat("stat.after_set_acl", &st, &s4);

    /* getData and getChildren2 report the same Stat. */
    char data[16];
    int len = sizeof data;
    zoo_get(zh, "/ct/st", 0, data, &len, &st);
    ct_eq_stat("stat.get_matches_exists", &s4, &st);
    struct String_vector kids = { 0, NULL };
    zoo_get_children2(zh, "/ct/st", 0, &kids, &st);
    deallocate_String_vector(&kids);
    ct_eq_stat("stat.children2_matches_exists", &s4, &st);
}

static void test_delete(zhandle_t *zh)
{
    struct Stat st;
    mk(zh, "/ct/del", "d", ZOO_PERSISTENT);
    ct_eq_rc("delete.bad_version_is_ZBADVERSION", ZBADVERSION,
             zoo_delete(zh, "/ct/del", 5));
    mk(zh, "/ct/del/kid", "k", ZOO_PERSISTENT);
    ct_eq_rc("delete.with_children_is_ZNOTEMPTY", ZNOTEMPTY,
             zoo_delete(zh, "/ct/del", -1));
    ct_eq_rc("delete.child", ZOK, zoo_delete(zh, "/ct/del/kid", -1));
    ct_eq_rc("delete.exact_version", ZOK, zoo_delete(zh, "/ct/del", 0));
    ct_eq_rc("delete.gone", ZNONODE, zoo_exists(zh, "/ct/del", 0, &st));
    ct_eq_rc("delete.missing_is_ZNONODE", ZNONODE,
             zoo_delete(zh, "/ct/del", -1));
    mk(zh, "/ct/del", "d", ZOO_PERSISTENT);
    zoo_set(zh, "/ct/del", "1", 1, -1);
    zoo_set(zh, "/ct/del", "2", 1, -1);
    ct_eq_rc("delete.any_version", ZOK, zoo_delete(zh, "/ct/del", -1));
    ct_eq_rc("delete.root_is_ZBADARGUMENTS", ZBADARGUMENTS,
             zoo_delete(zh, "/", -1));
    ct_eq_rc("delete.zookeeper_is_ZBADARGUMENTS", ZBADARGUMENTS,
             zoo_delete(zh, "/zookeeper", -1));
    ct_eq_rc("exists.missing_is_ZNONODE", ZNONODE,
             zoo_exists(zh, "/ct/nope", 0, &st));
    ct_eq_rc("exists.root", ZOK, zoo_exists(zh, "/", 0, &st));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_children(zhandle_t *zh)
{
    struct String_vector kids = { 0, NULL };
    struct Stat st, ex;

    mk(zh, "/ct/ch", NULL, ZOO_PERSISTENT);
    mk(zh, "/ct/ch/b", "", ZOO_PERSISTENT);
    mk(zh, "/ct/ch/a", "", ZOO_PERSISTENT);
    mk(zh, "/ct/ch/c", "", ZOO_EPHEMERAL);
    int rc = zoo_get_children(zh, "/ct/ch", 0, &kids);
    if (ct_eq_rc("children.get", ZOK, rc) &&
        ct_eq_i64("children.count", 3, kids.count)) {
        qsort(kids.data, kids.count, sizeof kids.data[0], cmp_str);
        char joined[64];
        snprintf(joined, sizeof joined, "%s,%s,%s", kids.data[0],
                 kids.data[1], kids.data[2]);
        ct_eq_str("children.names_are_relative", "a,b,c", joined);
    }
    deallocate_String_vector(&kids);
    rc = zoo_get_children2(zh, "/ct/ch", 0, &kids, &st);
    ct_eq_rc("children.get2", ZOK, rc);
    ct_eq_i64("children.get2_count", 3, kids.count);
    deallocate_String_vector(&kids);
    zoo_exists(zh, "/ct/ch", 0, &ex);
    ct_eq_stat("children.get2_stat", &ex, &st);
    rc = zoo_get_children(zh, "/ct/ch/a", 0, &kids);
    ct_eq_rc("children.leaf", ZOK, rc);
    ct_eq_i64("children.leaf_empty", 0, kids.count);
    deallocate_String_vector(&kids);
    ct_eq_rc("children.missing_is_ZNONODE", ZNONODE,
             zoo_get_children(zh, "/ct/none", 0, &kids));
    ct_eq_rc("children2.missing_is_ZNONODE", ZNONODE,
             zoo_get_children2(zh, "/ct/none", 0, &kids, &st));
}

static void test_acl_ops(zhandle_t *zh)
{
    struct ACL_vector acl = { 0, NULL };
    struct Stat st;
    struct ACL ra_entry = { ZOO_PERM_READ | ZOO_PERM_ADMIN,
                            { "world", "anyone" } };
    struct ACL_vector read_admin = { 1, &ra_entry };

    mk(zh, "/ct/acl", "a", ZOO_PERSISTENT);
    int rc = zoo_get_acl(zh, "/ct/acl", &acl, &st);
    if (ct_eq_rc("acl.get", ZOK, rc) && ct_eq_i64("acl.count", 1, acl.count)) {
        ct_eq_i64("acl.perms_all", ZOO_PERM_ALL, acl.data[0].perms);
        ct_eq_str("acl.scheme", "world", acl.data[0].id.scheme);
        ct_eq_str("acl.id", "anyone", acl.data[0].id.id);
    }
    ct_eq_i64("acl.aversion_0", 0, st.aversion);
    deallocate_ACL_vector(&acl);

    ct_eq_rc("acl.set_v0", ZOK, zoo_set_acl(zh, "/ct/acl", 0, &read_admin));
    rc = zoo_get_acl(zh, "/ct/acl", &acl, &st);
    if (ct_eq_rc("acl.get_after_set", ZOK, rc) && acl.count == 1)
        ct_eq_i64("acl.perms_after_set", ZOO_PERM_READ | ZOO_PERM_ADMIN,
                  acl.data[0].perms);
    ct_eq_i64("acl.aversion_1", 1, st.aversion);
    deallocate_ACL_vector(&acl);
    ct_eq_rc("acl.set_stale_version_is_ZBADVERSION", ZBADVERSION,
             zoo_set_acl(zh, "/ct/acl", 0, &ZOO_OPEN_ACL_UNSAFE));
    ct_eq_rc("acl.set_without_write_perm_is_ZNOAUTH", ZNOAUTH,
             zoo_set(zh, "/ct/acl", "b", 1, -1));
    ct_eq_rc("acl.set_any_version", ZOK,
             zoo_set_acl(zh, "/ct/acl", -1, &ZOO_OPEN_ACL_UNSAFE));
    zoo_exists(zh, "/ct/acl", 0, &st);
    ct_eq_i64("acl.aversion_2", 2, st.aversion);
    ct_eq_i64("acl.version_untouched", 0, st.version);
    struct ACL_vector empty = { 0, NULL };
    ct_eq_rc("acl.set_empty_is_ZINVALIDACL", ZINVALIDACL,
             zoo_set_acl(zh, "/ct/acl", -1, &empty));
    ct_eq_rc("acl.set_missing_is_ZNONODE", ZNONODE,
             zoo_set_acl(zh, "/ct/none", -1, &ZOO_OPEN_ACL_UNSAFE));
    ct_eq_rc("acl.get_missing_is_ZNONODE", ZNONODE,
             zoo_get_acl(zh, "/ct/none", &acl, &st));
}

static void test_sync(zhandle_t *zh)
{
    ct_log log;
    ct_log_init(&log);
    int rc = zoo_async(zh, "/ct", ct_string_done, &log);
    ct_eq_rc("sync.submit", ZOK, rc);
    if (ct_check("sync.completes",
                 ct_log_wait(&log, CT_COMPLETION, NULL, 1, CT_WAIT_MS),
                 "expected a completion within %d ms", CT_WAIT_MS)) {
        ct_eq_rc("sync.rc", ZOK, ct_log_last_state(&log, CT_COMPLETION));
        ct_eq_str("sync.path", "/ct", log.str);
    }
    ct_log_fini(&log);
    ct_log_init(&log);
    zoo_async(zh, "/ct/none", ct_string_done, &log);
    ct_log_wait(&log, CT_COMPLETION, NULL, 1, CT_WAIT_MS);
    ct_eq_rc("sync.missing_path_ok", ZOK,
             ct_log_last_state(&log, CT_COMPLETION));
    ct_log_fini(&log);
}

/* ZooKeeper gives a failed write a zxid too: it logs an error txn. */
static void test_failed_write_zxid(zhandle_t *zh)
{
    struct Stat a, b;
    zoo_create2(zh, "/ct/z1", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                NULL, 0, &a);
    ct_eq_rc("zxid.failed_create", ZNODEEXISTS,
             mk(zh, "/ct/z1", "", ZOO_PERSISTENT));
    zoo_create2(zh, "/ct/z2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                NULL, 0, &b);
    ct_eq_i64("zxid.failed_write_consumes_zxid", a.czxid + 2, b.czxid);
    struct Stat c;
    zoo_exists(zh, "/ct/z2", 0, &c);
    zoo_create2(zh, "/ct/z3", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                NULL, 0, &c);
    ct_eq_i64("zxid.reads_consume_none", b.czxid + 1, c.czxid);
}

void ct_test_ops(const ct_env *env)
{
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect_ok(env, "ops.connect", &log);
    if (zh == NULL)
        return;
    int64_t sid = zoo_client_id(zh)->client_id;
    test_create(zh, sid);
    test_sequential(zh, sid);
    test_stat(zh);
    test_delete(zh);
    test_children(zh);
    test_acl_ops(zh);
    test_sync(zh);
    test_failed_write_zxid(zh);
    zookeeper_close(zh);
    ct_log_fini(&log);
}
