/*
 * ct_ext.c: the extended node types: containers and TTL nodes (the server
 * runs with extendedTypesEnabled=true), their ephemeralOwner encodings and
 * their removal by the server's container sweep.
 *
 * run.sh asks for a 100 ms sweep (znode.container.checkIntervalMs=100).
 * Apache ZooKeeper reads that only as a JVM property (default 60 s), which
 * server.sh passes on; should it not, a removal that has not happened within
 * the wait is reported as a skip against ZooKeeper. Against zabd it is
 * always asserted.
 */
#include "ct.h"

#include <stdio.h>
#include <string.h>

/* ZooKeeper stores a container's ephemeralOwner as Long.MIN_VALUE and a
 * TTL node's as 0xFF in the top byte plus the TTL (EphemeralType), but
 * hides both from clients: every Stat it sends says 0 for them
 * (DataTree.getClientEphemeralOwner). */
#define REMOVAL_WAIT_MS 10000

/* Waits for path to disappear; returns whether it did. */
static bool wait_gone(zhandle_t *zh, const char *path, int timeout_ms)
{
    struct Stat st;
    int64_t deadline = ct_now_ms() + timeout_ms;
    for (;;) {
        if (zoo_exists(zh, path, 0, &st) == ZNONODE)
            return true;
        if (ct_now_ms() >= deadline)
            return false;
        ct_sleep_ms(100);
    }
}

static void check_removed(const ct_env *env, zhandle_t *zh, const char *name,
                          const char *path)
{
    bool gone = wait_gone(zh, path, REMOVAL_WAIT_MS);
    if (!gone && env->is_zookeeper)
        ct_skip(name, "ZooKeeper's sweep interval (a JVM property) not set");
    else
        ct_check(name, gone, "expected %s removed within %d ms", path,
                 REMOVAL_WAIT_MS);
}

static void test_container(const ct_env *env, zhandle_t *zh)
{
    struct Stat st;
    char buf[64];
    int rc = zoo_create2(zh, "/ct/cont", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                         ZOO_CONTAINER, buf, sizeof buf, &st);
    if (!ct_eq_rc("container.create", ZOK, rc))
        return;
    ct_eq_str("container.path", "/ct/cont", buf);
    ct_eq_i64("container.create2_owner_hidden", 0, st.ephemeralOwner);
    zoo_exists(zh, "/ct/cont", 0, &st);
    ct_eq_i64("container.exists_owner_hidden", 0, st.ephemeralOwner);
    rc = zoo_create(zh, "/ct/cont2", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_CONTAINER, NULL, 0);
    ct_eq_rc("container.create_unused", ZOK, rc);
    ct_eq_rc("container.child", ZOK,
             zoo_create(zh, "/ct/cont/kid", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0));
    ct_eq_rc("container.child_delete", ZOK,
             zoo_delete(zh, "/ct/cont/kid", -1));
}

static void test_ttl(const ct_env *env, zhandle_t *zh)
{
    struct Stat st;
    char buf[64];
    int rc = zoo_create2_ttl(zh, "/ct/ttl", "t", 1, &ZOO_OPEN_ACL_UNSAFE,
                             ZOO_PERSISTENT_WITH_TTL, 500, buf, sizeof buf,
                             &st);
    if (ct_eq_rc("ttl.create", ZOK, rc)) {
        ct_eq_str("ttl.path", "/ct/ttl", buf);
        ct_eq_i64("ttl.create2_owner_hidden", 0, st.ephemeralOwner);
        zoo_exists(zh, "/ct/ttl", 0, &st);
        ct_eq_i64("ttl.exists_owner_hidden", 0, st.ephemeralOwner);
    }
    rc = zoo_create2_ttl(zh, "/ct/ttls-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                         ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 600000, buf,
                         sizeof buf, &st);
    if (ct_eq_rc("ttl.sequential_create", ZOK, rc)) {
        ct_check("ttl.sequential_suffix",
                 strncmp(buf, "/ct/ttls-", 9) == 0 && strlen(buf) == 19,
                 "expected /ct/ttls-NNNNNNNNNN got %s", buf);
        ct_eq_i64("ttl.sequential_owner_hidden", 0, st.ephemeralOwner);
    }
    ct_eq_rc("ttl.zero_is_ZBADARGUMENTS", ZBADARGUMENTS,
             zoo_create2_ttl(zh, "/ct/ttl0", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                             ZOO_PERSISTENT_WITH_TTL, 0, NULL, 0, &st));
    ct_eq_rc("ttl.with_plain_mode_is_ZBADARGUMENTS", ZBADARGUMENTS,
             zoo_create2_ttl(zh, "/ct/ttlp", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                             ZOO_PERSISTENT, 1000, NULL, 0, &st));
    ct_eq_rc("ttl.create_exists_is_ZNODEEXISTS", ZNODEEXISTS,
             zoo_create2_ttl(zh, "/ct/ttl", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                             ZOO_PERSISTENT_WITH_TTL, 500, NULL, 0, &st));
}

void ct_test_extended(const ct_env *env)
{
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect_ok(env, "ext.connect", &log);
    if (zh == NULL)
        return;
    test_container(env, zh);
    test_ttl(env, zh);
    /* Both sweeps are awaited together, after both nodes are set up. */
    check_removed(env, zh, "container.removed_when_emptied", "/ct/cont");
    check_removed(env, zh, "ttl.removed_after_expiry", "/ct/ttl");
    /* A container that never had a child is kept (its cversion is 0), and
     * so is a TTL node whose TTL has not run out. */
    struct Stat st;
    ct_eq_rc("container.never_used_is_kept", ZOK,
             zoo_exists(zh, "/ct/cont2", 0, &st));
    zookeeper_close(zh);
    ct_log_fini(&log);
}
