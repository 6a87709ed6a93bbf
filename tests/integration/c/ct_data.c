/*
 * ct_data.c: getData/setData: versions, binary data, empty and null data,
 * the largest value that fits in jute.maxbuffer (1 MiB - 1 by default) and
 * what happens to a request larger than that.
 */
#include "ct.h"

#include <stdlib.h>
#include <string.h>

/* A value this size fits: its request and its getData reply both stay
 * under the default jute.maxbuffer of 0xfffff bytes. */
#define BIG_LEN (1024 * 1024 - 100)
/* A setData request carrying this much is over jute.maxbuffer. */
#define HUGE_LEN (1024 * 1024 + 16)

static void test_basic(zhandle_t *zh)
{
    char buf[64];
    int len;
    struct Stat st;
    static const char bin[] = { 'a', 0, 'b', 0, 'c', (char)0xff };

    int rc = zoo_create(zh, "/ct/data", bin, sizeof bin, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0);
    ct_eq_rc("data.create_binary", ZOK, rc);
    len = sizeof buf;
    rc = zoo_get(zh, "/ct/data", 0, buf, &len, &st);
    ct_eq_rc("data.get_binary", ZOK, rc);
    ct_eq_i64("data.binary_length", sizeof bin, len);
    ct_check("data.binary_bytes_kept",
             len == sizeof bin && memcmp(buf, bin, sizeof bin) == 0,
             "expected the bytes a\\0b\\0c\\xff back unchanged");
    ct_eq_i64("data.binary_stat_length", sizeof bin, st.dataLength);

    ct_eq_rc("data.set_bad_version_is_ZBADVERSION", ZBADVERSION,
             zoo_set(zh, "/ct/data", "x", 1, 7));
    ct_eq_rc("data.set_version_0", ZOK, zoo_set(zh, "/ct/data", "x", 1, 0));
    ct_eq_rc("data.set_version_0_again_is_ZBADVERSION", ZBADVERSION,
             zoo_set(zh, "/ct/data", "y", 1, 0));
    ct_eq_rc("data.set_any_version", ZOK,
             zoo_set(zh, "/ct/data", "y", 1, -1));

    ct_eq_rc("data.set_empty", ZOK, zoo_set(zh, "/ct/data", "", 0, -1));
    len = sizeof buf;
    zoo_get(zh, "/ct/data", 0, buf, &len, &st);
    ct_eq_i64("data.empty_length", 0, len);
    ct_eq_i64("data.empty_stat_length", 0, st.dataLength);
    ct_eq_i64("data.version_after_three_sets", 3, st.version);

    /* Null data (length -1 on the wire) reads back as null and counts as
     * zero bytes in the Stat. */
    ct_eq_rc("data.set_null", ZOK, zoo_set(zh, "/ct/data", NULL, -1, -1));
    len = sizeof buf;
    zoo_get(zh, "/ct/data", 0, buf, &len, &st);
    ct_eq_i64("data.null_reads_back_as_minus_1", -1, len);
    ct_eq_i64("data.null_stat_length", 0, st.dataLength);
    rc = zoo_create(zh, "/ct/nulldata", NULL, -1, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT, NULL, 0);
    ct_eq_rc("data.create_null", ZOK, rc);
    len = sizeof buf;
    zoo_get(zh, "/ct/nulldata", 0, buf, &len, &st);
    ct_eq_i64("data.create_null_reads_minus_1", -1, len);

    len = sizeof buf;
    ct_eq_rc("data.get_missing_is_ZNONODE", ZNONODE,
             zoo_get(zh, "/ct/none", 0, buf, &len, &st));
    ct_eq_rc("data.set_missing_is_ZNONODE", ZNONODE,
             zoo_set(zh, "/ct/none", "x", 1, -1));
}

static void test_big(zhandle_t *zh)
{
    char *big = malloc(BIG_LEN);
    char *back = malloc(BIG_LEN + 16);
    struct Stat st;
    if (big == NULL || back == NULL)
        goto out;
    for (int i = 0; i < BIG_LEN; i++)
        big[i] = (char)(i * 7 + 3);
    int rc = zoo_create(zh, "/ct/big", big, BIG_LEN, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, NULL, 0);
    ct_eq_rc("data.create_1MiB_minus_100", ZOK, rc);
    int len = BIG_LEN + 16;
    rc = zoo_get(zh, "/ct/big", 0, back, &len, &st);
    ct_eq_rc("data.get_1MiB_minus_100", ZOK, rc);
    ct_check("data.big_bytes_kept",
             len == BIG_LEN && memcmp(big, back, BIG_LEN) == 0,
             "expected %d identical bytes got %d", BIG_LEN, len);
    ct_eq_i64("data.big_stat_length", BIG_LEN, st.dataLength);
out:
    free(big);
    free(back);
}

/* ZooKeeper reads the 4-byte frame length first and, when it exceeds
 * jute.maxbuffer, drops the connection without a reply: the client sees
 * ZCONNECTIONLOSS, reconnects, and the session and the node are untouched.
 * The reconnect also re-registers the watches the client held (SetWatches),
 * which the last checks prove by firing them from another session. */
static void test_huge(const ct_env *env)
{
    ct_log log, wl, wlog;
    char *huge = calloc(1, HUGE_LEN);
    struct Stat before, after;
    struct String_vector kids = { 0, NULL };
    zhandle_t *writer = NULL;
    ct_log_init(&log);
    ct_log_init(&wl);
    ct_log_init(&wlog);
    zhandle_t *zh = ct_connect_ok(env, "data.huge_connect", &log);
    if (zh == NULL || huge == NULL)
        goto out;
    int64_t sid = zoo_client_id(zh)->client_id;
    zoo_wexists(zh, "/ct/big", ct_watcher, &wl, &before);
    zoo_wexists(zh, "/ct/big-later", ct_watcher, &wl, &after);
    zoo_wget_children(zh, "/ct", ct_watcher, &wl, &kids);
    deallocate_String_vector(&kids);
    int rc = zoo_set(zh, "/ct/big", huge, HUGE_LEN, -1);
    ct_eq_rc("data.over_maxbuffer_is_ZCONNECTIONLOSS", ZCONNECTIONLOSS, rc);
    int64_t deadline = ct_now_ms() + 15000;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE && ct_now_ms() < deadline)
        ct_sleep_ms(50);
    ct_eq_i64("data.over_maxbuffer_reconnects", ZOO_CONNECTED_STATE,
              zoo_state(zh));
    ct_eq_i64("data.over_maxbuffer_same_session", sid,
              zoo_client_id(zh)->client_id);
    rc = zoo_exists(zh, "/ct/big", 0, &after);
    ct_eq_rc("data.over_maxbuffer_node_still_there", ZOK, rc);
    ct_eq_stat("data.over_maxbuffer_node_unchanged", &before, &after);
    rc = zoo_create(zh, "/ct/huge", huge, HUGE_LEN, &ZOO_OPEN_ACL_UNSAFE,
                    ZOO_PERSISTENT, NULL, 0);
    ct_eq_rc("data.create_over_maxbuffer_is_ZCONNECTIONLOSS",
             ZCONNECTIONLOSS, rc);
    deadline = ct_now_ms() + 15000;
    while (zoo_state(zh) != ZOO_CONNECTED_STATE && ct_now_ms() < deadline)
        ct_sleep_ms(50);
    ct_eq_rc("data.create_over_maxbuffer_created_nothing", ZNONODE,
             zoo_exists(zh, "/ct/huge", 0, &after));

    writer = ct_connect_ok(env, "data.rewatch_writer_connect", &wlog);
    if (writer == NULL)
        goto out;
    zoo_set(writer, "/ct/big", "small", 5, -1);
    ct_check("data.reconnect_keeps_data_watch",
             ct_log_wait(&wl, ZOO_CHANGED_EVENT, "/ct/big", 1, CT_WAIT_MS),
             "expected ZOO_CHANGED_EVENT on /ct/big after the reconnect");
    zoo_create(writer, "/ct/big-later", "", 0, &ZOO_OPEN_ACL_UNSAFE,
               ZOO_PERSISTENT, NULL, 0);
    ct_check("data.reconnect_keeps_exists_watch",
             ct_log_wait(&wl, ZOO_CREATED_EVENT, "/ct/big-later", 1,
                         CT_WAIT_MS),
             "expected ZOO_CREATED_EVENT on /ct/big-later");
    ct_check("data.reconnect_keeps_child_watch",
             ct_log_wait(&wl, ZOO_CHILD_EVENT, "/ct", 1, CT_WAIT_MS),
             "expected ZOO_CHILD_EVENT on /ct");
out:
    if (writer != NULL)
        zookeeper_close(writer);
    if (zh != NULL)
        zookeeper_close(zh);
    free(huge);
    ct_log_fini(&wlog);
    ct_log_fini(&wl);
    ct_log_fini(&log);
}

void ct_test_data(const ct_env *env)
{
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect_ok(env, "data.connect", &log);
    if (zh == NULL)
        return;
    test_basic(zh);
    test_big(zh);
    zookeeper_close(zh);
    ct_log_fini(&log);
    test_huge(env);
}
