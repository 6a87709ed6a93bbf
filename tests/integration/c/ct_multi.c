/*
 * ct_multi.c: zoo_multi. A successful multi applies every op in one txn
 * (one zxid); a failed one applies none, and its per-op results are ZOK for
 * the ops before the failing one, the error for that op, and
 * ZRUNTIMEINCONSISTENCY for the ops after it.
 */
#include "ct.h"

#include <stdio.h>
#include <string.h>

static void test_success(zhandle_t *zh)
{
    zoo_op_t ops[5];
    zoo_op_result_t res[5];
    char path[64];
    struct Stat set_stat, st;

    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], "/ct/m/a", "1", 1, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, path, sizeof path);
    zoo_set_op_init(&ops[1], "/ct/m/a", "22", 2, 0, &set_stat);
    zoo_check_op_init(&ops[2], "/ct/m/a", 1);
    zoo_create_op_init(&ops[3], "/ct/m/b", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    zoo_delete_op_init(&ops[4], "/ct/m/b", -1);
    int rc = zoo_multi(zh, 5, ops, res);
    if (!ct_eq_rc("multi.mixed_ok", ZOK, rc))
        return;
    for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "multi.mixed_result_%d", i);
        ct_eq_rc(name, ZOK, res[i].err);
    }
    ct_eq_str("multi.create_result_path", "/ct/m/a", path);
    ct_eq_i64("multi.set_result_version", 1, set_stat.version);
    zoo_exists(zh, "/ct/m/a", 0, &st);
    ct_eq_stat("multi.set_result_stat", &st, &set_stat);
    ct_eq_i64("multi.one_txn_one_zxid", st.czxid, st.mzxid);
    char buf[8];
    int len = sizeof buf;
    zoo_get(zh, "/ct/m/a", 0, buf, &len, NULL);
    ct_check("multi.set_applied", len == 2 && memcmp(buf, "22", 2) == 0,
             "expected \"22\" got %d bytes", len);
    ct_eq_rc("multi.create_then_delete_leaves_nothing", ZNONODE,
             zoo_exists(zh, "/ct/m/b", 0, &st));
    zoo_exists(zh, "/ct/m", 0, &st);
    ct_eq_i64("multi.parent_cversion_counts_each_op", 3, st.cversion);
}

static void test_failure(zhandle_t *zh)
{
    zoo_op_t ops[3];
    zoo_op_result_t res[3];
    struct Stat st, before;

    zoo_exists(zh, "/ct/m", 0, &before);
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], "/ct/m/c", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    zoo_check_op_init(&ops[1], "/ct/m/a", 99);
    zoo_create_op_init(&ops[2], "/ct/m/d", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    int rc = zoo_multi(zh, 3, ops, res);
    ct_eq_rc("multi.failed_returns_first_error", ZBADVERSION, rc);
    ct_eq_rc("multi.failed_result_before_is_ZOK", ZOK, res[0].err);
    ct_eq_rc("multi.failed_result_failing_op", ZBADVERSION, res[1].err);
    ct_eq_rc("multi.failed_result_after_is_ZRUNTIMEINCONSISTENCY",
             ZRUNTIMEINCONSISTENCY, res[2].err);
    ct_eq_rc("multi.failed_is_all_or_nothing", ZNONODE,
             zoo_exists(zh, "/ct/m/c", 0, &st));
    zoo_exists(zh, "/ct/m", 0, &st);
    ct_eq_stat("multi.failed_parent_untouched", &before, &st);

    memset(res, 0, sizeof res);
    zoo_set_op_init(&ops[0], "/ct/m/a", "z", 1, -1, NULL);
    zoo_delete_op_init(&ops[1], "/ct/m/none", -1);
    rc = zoo_multi(zh, 2, ops, res);
    ct_eq_rc("multi.delete_missing_is_ZNONODE", ZNONODE, rc);
    ct_eq_rc("multi.delete_missing_result_0", ZOK, res[0].err);
    ct_eq_rc("multi.delete_missing_result_1", ZNONODE, res[1].err);
    zoo_exists(zh, "/ct/m/a", 0, &st);
    ct_eq_i64("multi.failed_set_not_applied", 1, st.version);

    /* A failing first op: everything after it is inconsistent. */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], "/ct/m/a", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    zoo_create_op_init(&ops[1], "/ct/m/e", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    rc = zoo_multi(zh, 2, ops, res);
    ct_eq_rc("multi.first_op_fails", ZNODEEXISTS, rc);
    ct_eq_rc("multi.first_op_fails_result_0", ZNODEEXISTS, res[0].err);
    ct_eq_rc("multi.first_op_fails_result_1", ZRUNTIMEINCONSISTENCY,
             res[1].err);

    /* Ops see the effects of earlier ops in the same multi. */
    memset(res, 0, sizeof res);
    zoo_create_op_init(&ops[0], "/ct/m/p", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    zoo_create_op_init(&ops[1], "/ct/m/p/q", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                       ZOO_PERSISTENT, NULL, 0);
    zoo_check_op_init(&ops[2], "/ct/m/p/q", 0);
    rc = zoo_multi(zh, 3, ops, res);
    ct_eq_rc("multi.later_ops_see_earlier_ones", ZOK, rc);
    ct_eq_rc("multi.nested_create_exists", ZOK,
             zoo_exists(zh, "/ct/m/p/q", 0, &st));
}

void ct_test_multi(const ct_env *env)
{
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect_ok(env, "multi.connect", &log);
    if (zh == NULL)
        return;
    zoo_create(zh, "/ct/m", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    test_success(zh);
    test_failure(zh);
    zookeeper_close(zh);
    ct_log_fini(&log);
}
