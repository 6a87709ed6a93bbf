/*
 * ct_acl.c: ACL enforcement across sessions: digest auth and the creator
 * ACL, world read-only, ip ACLs (exact and CIDR), invalid ACL ids, and auth
 * with a scheme the server does not know.
 */
#include "ct.h"

#include <stdio.h>
#include <string.h>

/* base64(sha1("user:pass")), the id the digest provider stores. */
#define DIGEST_ID "user:smGaoVKd/cQkjm7b88GyorAUz20="

/* Adds auth and waits for its completion; returns its rc, or
 * ZOPERATIONTIMEOUT if none came. */
static int add_auth(zhandle_t *zh, const char *scheme, const char *cred)
{
    ct_log log;
    int rc;
    ct_log_init(&log);
    rc = zoo_add_auth(zh, scheme, cred, (int)strlen(cred), ct_void_done,
                      &log);
    if (rc == ZOK)
        rc = ct_log_wait(&log, CT_COMPLETION, NULL, 1, CT_WAIT_MS)
                 ? ct_log_last_state(&log, CT_COMPLETION)
                 : ZOPERATIONTIMEOUT;
    ct_log_fini(&log);
    return rc;
}

static void test_digest(const ct_env *env, zhandle_t *owner, zhandle_t *anon)
{
    struct ACL_vector acl = { 0, NULL };
    struct Stat st;
    char buf[16];
    int len;

    ct_eq_rc("auth.digest_ok", ZOK, add_auth(owner, "digest", "user:pass"));
    ct_eq_rc("auth.creator_acl_create", ZOK,
             zoo_create(owner, "/ct/sec", "s", 1, &ZOO_CREATOR_ALL_ACL,
                        ZOO_PERSISTENT, NULL, 0));
    int rc = zoo_get_acl(owner, "/ct/sec", &acl, &st);
    if (ct_eq_rc("auth.creator_acl_get", ZOK, rc) &&
        ct_eq_i64("auth.creator_acl_count", 1, acl.count)) {
        ct_eq_str("auth.creator_acl_scheme", "digest", acl.data[0].id.scheme);
        ct_eq_str("auth.creator_acl_id_is_hashed", DIGEST_ID,
                  acl.data[0].id.id);
        ct_eq_i64("auth.creator_acl_perms", ZOO_PERM_ALL, acl.data[0].perms);
    }
    deallocate_ACL_vector(&acl);
    len = sizeof buf;
    ct_eq_rc("auth.owner_reads", ZOK,
             zoo_get(owner, "/ct/sec", 0, buf, &len, &st));

    len = sizeof buf;
    ct_eq_rc("auth.other_get_is_ZNOAUTH", ZNOAUTH,
             zoo_get(anon, "/ct/sec", 0, buf, &len, &st));
    ct_eq_rc("auth.other_set_is_ZNOAUTH", ZNOAUTH,
             zoo_set(anon, "/ct/sec", "x", 1, -1));
    ct_eq_rc("auth.other_create_child_is_ZNOAUTH", ZNOAUTH,
             zoo_create(anon, "/ct/sec/c", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0));
    struct String_vector kids = { 0, NULL };
    ct_eq_rc("auth.other_children_is_ZNOAUTH", ZNOAUTH,
             zoo_get_children(anon, "/ct/sec", 0, &kids));
    ct_eq_rc("auth.other_set_acl_is_ZNOAUTH", ZNOAUTH,
             zoo_set_acl(anon, "/ct/sec", -1, &ZOO_OPEN_ACL_UNSAFE));
    /* exists needs no permission; getACL needs READ or ADMIN. */
    ct_eq_rc("auth.other_exists_ok", ZOK, zoo_exists(anon, "/ct/sec", 0, &st));
    ct_eq_rc("auth.other_get_acl_is_ZNOAUTH", ZNOAUTH,
             zoo_get_acl(anon, "/ct/sec", &acl, &st));

    /* Any digest credential is accepted; it just names another identity. */
    ct_log log;
    ct_log_init(&log);
    zhandle_t *wrong = ct_connect_ok(env, "auth.wrong_connect", &log);
    if (wrong != NULL) {
        ct_eq_rc("auth.wrong_digest_accepted", ZOK,
                 add_auth(wrong, "digest", "user:wrong"));
        len = sizeof buf;
        ct_eq_rc("auth.wrong_digest_get_is_ZNOAUTH", ZNOAUTH,
                 zoo_get(wrong, "/ct/sec", 0, buf, &len, &st));
        ct_eq_rc("auth.second_identity_added", ZOK,
                 add_auth(wrong, "digest", "user:pass"));
        len = sizeof buf;
        ct_eq_rc("auth.same_identity_other_session_reads", ZOK,
                 zoo_get(wrong, "/ct/sec", 0, buf, &len, &st));
        zookeeper_close(wrong);
    }
    ct_log_fini(&log);

    ct_eq_rc("auth.owner_deletes", ZOK, zoo_delete(owner, "/ct/sec", -1));
}

static void test_world_read(zhandle_t *zh)
{
    struct Stat st;
    char buf[16];
    int len = sizeof buf;
    zoo_create(zh, "/ct/ro", "r", 1, &ZOO_READ_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_eq_rc("acl.read_only_get", ZOK,
             zoo_get(zh, "/ct/ro", 0, buf, &len, &st));
    ct_eq_rc("acl.read_only_set_is_ZNOAUTH", ZNOAUTH,
             zoo_set(zh, "/ct/ro", "w", 1, -1));
    ct_eq_rc("acl.read_only_create_child_is_ZNOAUTH", ZNOAUTH,
             zoo_create(zh, "/ct/ro/c", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0));
    ct_eq_rc("acl.read_only_set_acl_is_ZNOAUTH", ZNOAUTH,
             zoo_set_acl(zh, "/ct/ro", -1, &ZOO_OPEN_ACL_UNSAFE));
    /* Deleting needs DELETE on the parent, not on the node itself. */
    ct_eq_rc("acl.read_only_node_deletable_via_parent", ZOK,
             zoo_delete(zh, "/ct/ro", -1));
}

static void test_ip(zhandle_t *zh)
{
    static const struct {
        const char *name;
        const char *id;
        int want;
    } cases[] = {
        { "acl.ip_exact_allows", "127.0.0.1", ZOK },
        { "acl.ip_cidr_allows", "127.0.0.0/8", ZOK },
        { "acl.ip_other_host_is_ZNOAUTH", "10.0.0.1", ZNOAUTH },
        { "acl.ip_other_net_is_ZNOAUTH", "10.0.0.0/8", ZNOAUTH },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ACL entry = { ZOO_PERM_ALL, { "ip", (char *)cases[i].id } };
        struct ACL_vector acl = { 1, &entry };
        char path[32], name[64], buf[8];
        int len = sizeof buf;
        struct Stat st;
        snprintf(path, sizeof path, "/ct/ip%zu", i);
        snprintf(name, sizeof name, "%s.create", cases[i].name);
        int rc = zoo_create(zh, path, "i", 1, &acl, ZOO_PERSISTENT, NULL, 0);
        if (ct_eq_rc(name, ZOK, rc))
            ct_eq_rc(cases[i].name, cases[i].want,
                     zoo_get(zh, path, 0, buf, &len, &st));
    }
    struct ACL bad = { ZOO_PERM_ALL, { "ip", "300.1.1.1" } };
    struct ACL_vector bad_acl = { 1, &bad };
    ct_eq_rc("acl.ip_invalid_is_ZINVALIDACL", ZINVALIDACL,
             zoo_create(zh, "/ct/ipbad", "", 0, &bad_acl, ZOO_PERSISTENT,
                        NULL, 0));
    struct ACL unknown = { ZOO_PERM_ALL, { "nosuch", "x" } };
    struct ACL_vector unknown_acl = { 1, &unknown };
    ct_eq_rc("acl.unknown_scheme_is_ZINVALIDACL", ZINVALIDACL,
             zoo_create(zh, "/ct/ipbad", "", 0, &unknown_acl, ZOO_PERSISTENT,
                        NULL, 0));
}

/* Auth with an unknown scheme: the server answers AUTHFAILED and closes the
 * connection; the handle ends in ZOO_AUTH_FAILED_STATE for good. */
static void test_bad_scheme(const ct_env *env)
{
    ct_log log, done;
    ct_log_init(&log);
    ct_log_init(&done);
    zhandle_t *zh = ct_connect_ok(env, "auth.bad_scheme_connect", &log);
    if (zh == NULL)
        goto out;
    int rc = zoo_add_auth(zh, "nosuch", "x", 1, ct_void_done, &done);
    ct_eq_rc("auth.bad_scheme_submit", ZOK, rc);
    if (ct_check("auth.bad_scheme_completes",
                 ct_log_wait(&done, CT_COMPLETION, NULL, 1, CT_WAIT_MS),
                 "expected a completion within %d ms", CT_WAIT_MS))
        ct_eq_rc("auth.bad_scheme_is_ZAUTHFAILED", ZAUTHFAILED,
                 ct_log_last_state(&done, CT_COMPLETION));
    ct_log_wait(&log, ZOO_SESSION_EVENT, NULL, 2, CT_WAIT_MS);
    ct_eq_i64("auth.bad_scheme_session_event", ZOO_AUTH_FAILED_STATE,
              ct_log_last_state(&log, ZOO_SESSION_EVENT));
    ct_eq_i64("auth.bad_scheme_state", ZOO_AUTH_FAILED_STATE, zoo_state(zh));
    struct Stat st;
    ct_eq_rc("auth.bad_scheme_handle_unusable", ZINVALIDSTATE,
             zoo_exists(zh, "/", 0, &st));
out:
    if (zh != NULL)
        zookeeper_close(zh);
    ct_log_fini(&done);
    ct_log_fini(&log);
}

void ct_test_acl(const ct_env *env)
{
    ct_log l1, l2;
    ct_log_init(&l1);
    ct_log_init(&l2);
    zhandle_t *owner = ct_connect_ok(env, "acl.owner_connect", &l1);
    zhandle_t *anon = ct_connect_ok(env, "acl.anon_connect", &l2);
    if (owner != NULL && anon != NULL) {
        test_digest(env, owner, anon);
        test_world_read(anon);
        test_ip(anon);
    }
    if (owner != NULL)
        zookeeper_close(owner);
    if (anon != NULL)
        zookeeper_close(anon);
    ct_log_fini(&l1);
    ct_log_fini(&l2);
    test_bad_scheme(env);
}
