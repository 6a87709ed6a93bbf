/*
 * ct_session.c: connect, negotiated timeouts, resuming a session with its
 * id and password, and a wrong password.
 *
 * A session must outlive the handle that made it for the resume test, and
 * the C client has no "detach" call (zookeeper_close ends the session). So
 * a forked child creates the session and an ephemeral, hands its clientid
 * through a pipe and _exits without closing: the server only sees the TCP
 * connection drop, and keeps the session until its timeout.
 */
#include "ct.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESUME_EPH "/ct-resume-eph"

/* Runs in the forked child: no checks, only an exit code. */
static void hold_session(const ct_env *env, int fd)
{
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect(env, 10000, NULL, &log);
    if (zh == NULL || zoo_state(zh) != ZOO_CONNECTED_STATE)
        _exit(2);
    if (zoo_create(zh, RESUME_EPH, "e", 1, &ZOO_OPEN_ACL_UNSAFE,
                   ZOO_EPHEMERAL, NULL, 0) != ZOK)
        _exit(3);
    clientid_t cid = *zoo_client_id(zh);
    if (write(fd, &cid, sizeof cid) != (ssize_t)sizeof cid)
        _exit(4);
    _exit(0); /* deliberately no zookeeper_close */
}

static bool held_session(const ct_env *env, clientid_t *cid)
{
    int fds[2];
    bool got = false;
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        hold_session(env, fds[1]);
    }
    close(fds[1]);
    struct pollfd p = { .fd = fds[0], .events = POLLIN };
    if (poll(&p, 1, 15000) == 1 &&
        read(fds[0], cid, sizeof *cid) == (ssize_t)sizeof *cid)
        got = true;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_resume(const ct_env *env)
{
    clientid_t cid;
    ct_log log;
    if (!ct_check("session.hold_in_child", held_session(env, &cid),
                  "expected the child to create a session and an ephemeral"))
        return;
    ct_check("session.id_nonzero", cid.client_id != 0,
             "expected a non-zero session id got 0");

    /* A wrong password is refused as an expired session, but must not end
     * the real session. */
    clientid_t bad = cid;
    bad.passwd[0] ^= 0x5a;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect(env, 10000, &bad, &log);
    ct_eq_i64("session.wrong_password_expired_state",
              ZOO_EXPIRED_SESSION_STATE, zh ? zoo_state(zh) : 0);
    ct_eq_i64("session.wrong_password_expired_event",
              ZOO_EXPIRED_SESSION_STATE,
              ct_log_last_state(&log, ZOO_SESSION_EVENT));
    if (zh != NULL)
        zookeeper_close(zh);
    ct_log_fini(&log);

    ct_log_init(&log);
    zh = ct_connect(env, 10000, &cid, &log);
    if (!ct_eq_i64("session.resume_connected", ZOO_CONNECTED_STATE,
                   zh ? zoo_state(zh) : 0))
        goto out;
    ct_eq_i64("session.resume_same_id", cid.client_id,
              zoo_client_id(zh)->client_id);
    ct_check("session.resume_same_password",
             memcmp(cid.passwd, zoo_client_id(zh)->passwd,
                    sizeof cid.passwd) == 0,
             "expected the password to be kept got a different one");
    ct_eq_i64("session.resume_timeout", 10000, zoo_recv_timeout(zh));
    struct Stat st;
    int rc = zoo_exists(zh, RESUME_EPH, 0, &st);
    if (ct_eq_rc("session.resume_keeps_ephemeral", ZOK, rc))
        ct_eq_i64("session.resume_ephemeral_owner", cid.client_id,
                  st.ephemeralOwner);
    zookeeper_close(zh);
    zh = NULL;

    /* Closing the resumed session removes the ephemeral the child made. */
    ct_log_fini(&log);
    ct_log_init(&log);
    zh = ct_connect_ok(env, "session.observer_connect", &log);
    if (zh != NULL)
        ct_eq_rc("session.close_removes_ephemeral", ZNONODE,
                 zoo_exists(zh, RESUME_EPH, 0, &st));
out:
    if (zh != NULL)
        zookeeper_close(zh);
    ct_log_fini(&log);
}

/* The server clamps a requested timeout into [2, 20] ticks. */
static void test_timeouts(const ct_env *env)
{
    static const struct {
        const char *name;
        int ask_ms;
        int ticks;
    } cases[] = {
        { "session.timeout_clamped_up", 1000, 2 },
        { "session.timeout_clamped_down", 100000, 20 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ct_log log;
        ct_log_init(&log);
        zhandle_t *zh = ct_connect(env, cases[i].ask_ms, NULL, &log);
        char name[96];
        snprintf(name, sizeof name, "%s.connected", cases[i].name);
        if (ct_eq_i64(name, ZOO_CONNECTED_STATE, zh ? zoo_state(zh) : 0))
            ct_eq_i64(cases[i].name, (int64_t)cases[i].ticks * env->tick_ms,
                      zoo_recv_timeout(zh));
        if (zh != NULL)
            zookeeper_close(zh);
        ct_log_fini(&log);
    }
    /* Within the bounds the request is granted as asked. */
    ct_log log;
    ct_log_init(&log);
    zhandle_t *zh = ct_connect(env, 3 * env->tick_ms, NULL, &log);
    if (zh != NULL) {
        ct_eq_i64("session.timeout_in_range_kept", 3 * env->tick_ms,
                  zoo_recv_timeout(zh));
        ct_eq_i64("session.connected_event", ZOO_CONNECTED_STATE,
                  ct_log_last_state(&log, ZOO_SESSION_EVENT));
        zookeeper_close(zh);
    }
    ct_log_fini(&log);
}

void ct_test_session(const ct_env *env)
{
    test_resume(env);
    test_timeouts(env);
}
