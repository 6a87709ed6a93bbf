/*
 * ct_watch.c: one-shot data, exists and child watches, what a delete
 * fires, the order of a watch event against the reply of the write that
 * caused it, removing watches, and the watches a closing session's
 * ephemerals fire.
 *
 * Session a watches, session b writes. To check that an event did NOT come,
 * a does a round trip after b's write: the server queues any event for a
 * before a's later reply, and the client delivers both in order, so no
 * sleep is needed.
 *
 * Not covered: persistent and persistent-recursive watches (addWatch) and
 * whoAmI, which the 3.8 C client does not offer.
 */
#include "ct.h"

#include <string.h>

static void test_data_watch(zhandle_t *a, ct_log *ga, zhandle_t *b)
{
    ct_log wl;
    char buf[16];
    int len = sizeof buf;
    struct Stat st;

    ct_log_init(&wl);
    zoo_create(b, "/ct/w/d", "0", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_eq_rc("watch.data_wget", ZOK,
             zoo_wget(a, "/ct/w/d", ct_watcher, &wl, buf, &len, &st));
    zoo_set(b, "/ct/w/d", "1", 1, -1);
    ct_check("watch.data_changed_fires",
             ct_log_wait(&wl, ZOO_CHANGED_EVENT, "/ct/w/d", 1, CT_WAIT_MS),
             "expected ZOO_CHANGED_EVENT on /ct/w/d within %d ms",
             CT_WAIT_MS);
    ct_eq_i64("watch.data_event_state", ZOO_CONNECTED_STATE,
              ct_log_last_state(&wl, ZOO_CHANGED_EVENT));
    zoo_set(b, "/ct/w/d", "2", 1, -1);
    ct_roundtrip(a);
    ct_eq_i64("watch.data_is_one_shot", 1, ct_log_size(&wl));
    ct_log_fini(&wl);

    /* watch=1 routes the event to the handle's default watcher. */
    len = sizeof buf;
    zoo_get(a, "/ct/w/d", 1, buf, &len, &st);
    zoo_set(b, "/ct/w/d", "3", 1, -1);
    ct_check("watch.default_watcher_fires",
             ct_log_wait(ga, ZOO_CHANGED_EVENT, "/ct/w/d", 1, CT_WAIT_MS),
             "expected ZOO_CHANGED_EVENT on the default watcher");

    /* A data watch does not fire for a child change, and an exists watch on
     * an existing node fires on change like a data watch. */
    ct_log_init(&wl);
    zoo_wexists(a, "/ct/w/d", ct_watcher, &wl, &st);
    zoo_create(b, "/ct/w/d/kid", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_roundtrip(a);
    ct_eq_i64("watch.data_ignores_child_create", 0, ct_log_size(&wl));
    zoo_set(b, "/ct/w/d", "4", 1, -1);
    ct_check("watch.exists_on_existing_fires_changed",
             ct_log_wait(&wl, ZOO_CHANGED_EVENT, "/ct/w/d", 1, CT_WAIT_MS),
             "expected ZOO_CHANGED_EVENT");
    ct_log_fini(&wl);
}

static void test_exists_watch(zhandle_t *a, zhandle_t *b)
{
    ct_log wl;
    struct Stat st;
    ct_log_init(&wl);
    ct_eq_rc("watch.exists_missing", ZNONODE,
             zoo_wexists(a, "/ct/w/e", ct_watcher, &wl, &st));
    zoo_create(b, "/ct/w/e", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_check("watch.exists_created_fires",
             ct_log_wait(&wl, ZOO_CREATED_EVENT, "/ct/w/e", 1, CT_WAIT_MS),
             "expected ZOO_CREATED_EVENT on /ct/w/e");
    zoo_delete(b, "/ct/w/e", -1);
    ct_roundtrip(a);
    ct_eq_i64("watch.exists_is_one_shot", 1, ct_log_size(&wl));
    ct_log_fini(&wl);

    ct_log_init(&wl);
    zoo_create(b, "/ct/w/e", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    zoo_wexists(a, "/ct/w/e", ct_watcher, &wl, &st);
    zoo_delete(b, "/ct/w/e", -1);
    ct_check("watch.exists_deleted_fires",
             ct_log_wait(&wl, ZOO_DELETED_EVENT, "/ct/w/e", 1, CT_WAIT_MS),
             "expected ZOO_DELETED_EVENT on /ct/w/e");
    ct_log_fini(&wl);
}

static void test_child_watch(zhandle_t *a, zhandle_t *b)
{
    ct_log wl;
    struct String_vector kids = { 0, NULL };
    ct_log_init(&wl);
    zoo_create(b, "/ct/w/p", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_eq_rc("watch.child_wget", ZOK,
             zoo_wget_children(a, "/ct/w/p", ct_watcher, &wl, &kids));
    deallocate_String_vector(&kids);
    zoo_set(b, "/ct/w/p", "x", 1, -1);
    ct_roundtrip(a);
    ct_eq_i64("watch.child_ignores_data_change", 0, ct_log_size(&wl));
    zoo_create(b, "/ct/w/p/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_check("watch.child_fires_on_create",
             ct_log_wait(&wl, ZOO_CHILD_EVENT, "/ct/w/p", 1, CT_WAIT_MS),
             "expected ZOO_CHILD_EVENT on /ct/w/p");
    zoo_delete(b, "/ct/w/p/c", -1);
    ct_roundtrip(a);
    ct_eq_i64("watch.child_is_one_shot", 1, ct_log_size(&wl));
    ct_log_fini(&wl);

    ct_log_init(&wl);
    struct Stat st;
    zoo_create(b, "/ct/w/p/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    zoo_wget_children2(a, "/ct/w/p", ct_watcher, &wl, &kids, &st);
    deallocate_String_vector(&kids);
    zoo_set(b, "/ct/w/p/c", "y", 1, -1);
    ct_roundtrip(a);
    ct_eq_i64("watch.child_ignores_grandchild_data", 0, ct_log_size(&wl));
    zoo_delete(b, "/ct/w/p/c", -1);
    ct_check("watch.child_fires_on_delete",
             ct_log_wait(&wl, ZOO_CHILD_EVENT, "/ct/w/p", 1, CT_WAIT_MS),
             "expected ZOO_CHILD_EVENT on /ct/w/p");
    ct_log_fini(&wl);
}

/* Deleting a node fires DELETED for its data and child watchers and CHILD
 * for its parent's child watchers. */
static void test_delete_fires(zhandle_t *a, zhandle_t *b)
{
    ct_log data_l, child_l, parent_l;
    char buf[8];
    int len = sizeof buf;
    struct Stat st;
    struct String_vector kids = { 0, NULL };
    ct_log_init(&data_l);
    ct_log_init(&child_l);
    ct_log_init(&parent_l);
    zoo_create(b, "/ct/w/x", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    zoo_wget(a, "/ct/w/x", ct_watcher, &data_l, buf, &len, &st);
    zoo_wget_children(a, "/ct/w/x", ct_watcher, &child_l, &kids);
    deallocate_String_vector(&kids);
    zoo_wget_children(a, "/ct/w", ct_watcher, &parent_l, &kids);
    deallocate_String_vector(&kids);
    zoo_delete(b, "/ct/w/x", -1);
    ct_check("watch.delete_fires_data_watch",
             ct_log_wait(&data_l, ZOO_DELETED_EVENT, "/ct/w/x", 1, CT_WAIT_MS),
             "expected ZOO_DELETED_EVENT for the data watcher");
    ct_check("watch.delete_fires_child_watch",
             ct_log_wait(&child_l, ZOO_DELETED_EVENT, "/ct/w/x", 1,
                         CT_WAIT_MS),
             "expected ZOO_DELETED_EVENT for the child watcher");
    ct_check("watch.delete_fires_parent_child_watch",
             ct_log_wait(&parent_l, ZOO_CHILD_EVENT, "/ct/w", 1, CT_WAIT_MS),
             "expected ZOO_CHILD_EVENT on /ct/w");
    ct_roundtrip(a);
    ct_eq_i64("watch.delete_one_event_per_watcher", 3,
              ct_log_size(&data_l) + ct_log_size(&child_l) +
                  ct_log_size(&parent_l));
    ct_log_fini(&data_l);
    ct_log_fini(&child_l);
    ct_log_fini(&parent_l);
}

/* A session that writes a node it watches gets the event before the reply
 * to its write. */
static void test_ordering(zhandle_t *a)
{
    ct_log wl;
    char buf[8];
    int len = sizeof buf;
    struct Stat st;
    ct_log_init(&wl);
    zoo_create(a, "/ct/w/o", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    zoo_wget(a, "/ct/w/o", ct_watcher, &wl, buf, &len, &st);
    ct_eq_rc("watch.order_aset", ZOK,
             zoo_aset(a, "/ct/w/o", "z", 1, -1, ct_stat_done, &wl));
    ct_log_wait(&wl, CT_COMPLETION, NULL, 1, CT_WAIT_MS);
    int ev = ct_log_index(&wl, ZOO_CHANGED_EVENT, "/ct/w/o");
    int reply = ct_log_index(&wl, CT_COMPLETION, NULL);
    ct_check("watch.event_before_own_write_reply",
             ev >= 0 && reply >= 0 && ev < reply,
             "expected event before reply got event at %d, reply at %d", ev,
             reply);
    ct_log_fini(&wl);

    ct_log_init(&wl);
    zoo_wexists(a, "/ct/w/o2", ct_watcher, &wl, &st);
    zoo_acreate(a, "/ct/w/o2", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                ct_string_done, &wl);
    ct_log_wait(&wl, CT_COMPLETION, NULL, 1, CT_WAIT_MS);
    ev = ct_log_index(&wl, ZOO_CREATED_EVENT, "/ct/w/o2");
    reply = ct_log_index(&wl, CT_COMPLETION, NULL);
    ct_check("watch.created_before_own_create_reply",
             ev >= 0 && reply >= 0 && ev < reply,
             "expected event before reply got event at %d, reply at %d", ev,
             reply);
    ct_log_fini(&wl);
}

static void test_remove(zhandle_t *a, zhandle_t *b)
{
    ct_log wl;
    char buf[8];
    int len = sizeof buf;
    struct Stat st;
    struct String_vector kids = { 0, NULL };
    ct_log_init(&wl);
    ct_eq_rc("watch.remove_none_is_ZNOWATCHER", ZNOWATCHER,
             zoo_remove_all_watches(a, "/ct/w/r", ZWATCHTYPE_ANY, 0));
    zoo_create(b, "/ct/w/r", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    zoo_wget(a, "/ct/w/r", ct_watcher, &wl, buf, &len, &st);
    ct_eq_rc("watch.remove_child_when_only_data_is_ZNOWATCHER", ZNOWATCHER,
             zoo_remove_all_watches(a, "/ct/w/r", ZWATCHTYPE_CHILD, 0));
    ct_eq_rc("watch.remove_data", ZOK,
             zoo_remove_watches(a, "/ct/w/r", ZWATCHTYPE_DATA, ct_watcher,
                                &wl, 0));
    zoo_set(b, "/ct/w/r", "q", 1, -1);
    ct_roundtrip(a);
    /* The 3.8 C client tells a removed watcher nothing (no
     * ZOO_NOTWATCHING_EVENT), and the change no longer reaches it. */
    ct_eq_i64("watch.removed_data_does_not_fire", 0, ct_log_size(&wl));
    ct_eq_rc("watch.remove_data_again_is_ZNOWATCHER", ZNOWATCHER,
             zoo_remove_watches(a, "/ct/w/r", ZWATCHTYPE_DATA, ct_watcher,
                                &wl, 0));

    zoo_wget_children(a, "/ct/w/r", ct_watcher, &wl, &kids);
    deallocate_String_vector(&kids);
    ct_eq_rc("watch.remove_all_children", ZOK,
             zoo_remove_all_watches(a, "/ct/w/r", ZWATCHTYPE_CHILD, 0));
    zoo_create(b, "/ct/w/r/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_roundtrip(a);
    ct_eq_i64("watch.removed_child_does_not_fire", 0,
              ct_log_count(&wl, ZOO_CHILD_EVENT, NULL));
    ct_eq_rc("watch.remove_all_again_is_ZNOWATCHER", ZNOWATCHER,
             zoo_remove_all_watches(a, "/ct/w/r", ZWATCHTYPE_ANY, 0));
    ct_log_fini(&wl);
}

/* Closing a session deletes its ephemerals and fires the watches other
 * sessions hold on them. */
static void test_session_close(const ct_env *env, zhandle_t *a)
{
    ct_log bl, node_l, parent_l;
    struct Stat st;
    struct String_vector kids = { 0, NULL };
    ct_log_init(&bl);
    ct_log_init(&node_l);
    ct_log_init(&parent_l);
    zhandle_t *b = ct_connect_ok(env, "watch.closer_connect", &bl);
    if (b == NULL)
        goto out;
    zoo_create(a, "/ct/w/s", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
               NULL, 0);
    ct_eq_rc("watch.close_ephemeral", ZOK,
             zoo_create(b, "/ct/w/s/eph", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_EPHEMERAL, NULL, 0));
    zoo_wexists(a, "/ct/w/s/eph", ct_watcher, &node_l, &st);
    zoo_wget_children(a, "/ct/w/s", ct_watcher, &parent_l, &kids);
    deallocate_String_vector(&kids);
    zookeeper_close(b);
    ct_check("watch.close_fires_deleted",
             ct_log_wait(&node_l, ZOO_DELETED_EVENT, "/ct/w/s/eph", 1,
                         CT_WAIT_MS),
             "expected ZOO_DELETED_EVENT on /ct/w/s/eph");
    ct_check("watch.close_fires_parent_child",
             ct_log_wait(&parent_l, ZOO_CHILD_EVENT, "/ct/w/s", 1,
                         CT_WAIT_MS),
             "expected ZOO_CHILD_EVENT on /ct/w/s");
    ct_eq_rc("watch.close_removed_ephemeral", ZNONODE,
             zoo_exists(a, "/ct/w/s/eph", 0, &st));
out:
    ct_log_fini(&bl);
    ct_log_fini(&node_l);
    ct_log_fini(&parent_l);
}

void ct_test_watch(const ct_env *env)
{
    ct_log ga, gb;
    ct_log_init(&ga);
    ct_log_init(&gb);
    zhandle_t *a = ct_connect_ok(env, "watch.a_connect", &ga);
    zhandle_t *b = ct_connect_ok(env, "watch.b_connect", &gb);
    if (a != NULL && b != NULL) {
        zoo_create(b, "/ct/w", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
                   NULL, 0);
        test_data_watch(a, &ga, b);
        test_exists_watch(a, b);
        test_child_watch(a, b);
        test_delete_fires(a, b);
        test_ordering(a);
        test_remove(a, b);
        test_session_close(env, a);
    }
    if (a != NULL)
        zookeeper_close(a);
    if (b != NULL)
        zookeeper_close(b);
    ct_log_fini(&ga);
    ct_log_fini(&gb);
}
