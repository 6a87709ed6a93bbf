/*
 * loop.c: the libevent side of the process: the listening socket, the
 * timers (session expiry and snapshot reaping, container cleanup), the
 * wake-up from the log thread, and signals.
 */
#include "server/srv_int.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>

/* How often expiry and snapshot completion are checked. ZooKeeper's
 * expiry buckets are tickTime wide; this keeps the delay well inside one. */
enum { HOUSEKEEPING_MS = 50 };

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg)
{
    srv *s = arg;
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
        port = ntohs(in6->sin6_port);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    srv_conn_accept(s, fd, addr, port);
}

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
    srv *s = arg;
    int64_t expired[64];
    size_t n;
    /* A member that does not serve logs no txn of its own: sessions are
     * the leader's to expire. */
    while (srv_owns_writes(s) && (n = sess_expire(s->sessions, srv_now_ms(), expired, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            srv_log(SRV_LOG_INFO, "expiring session 0x%016" PRIx64, (uint64_t)expired[i]);
            srv_commit_close_session(s, NULL, 0, expired[i]);
        }
        if (n < 64)
            break;
    }
    int rc = stor_snapshot_poll(s->st);
    if (rc == 1)
        srv_log(SRV_LOG_INFO, "snapshot written");
    else if (rc < 0)
        srv_log(SRV_LOG_ERROR, "snapshot failed: %s", wire_err_name(rc));
}

static void on_container_check(evutil_socket_t fd, short what, void *arg)
{
    srv *s = arg;
    if (!srv_owns_writes(s))
        return; /* containers are the leader's to delete */
    wire_wr paths;
    wire_wr_init(&paths);
    /* znode.container.maxPerMinute bounds how many go per check. */
    int64_t per_check =
        (int64_t)s->cfg.container_max_per_minute * s->cfg.container_check_interval_ms / 60000;
    if (per_check < 1)
        per_check = 1;
    size_t n = zt_containers_due(s->tree, srv_wall_ms(), (size_t)per_check, &paths);
    const char *p = (const char *)paths.p;
    for (size_t i = 0; i < n; i++) {
        srv_commit_delete_container(s, p);
        p += strlen(p) + 1;
    }
    wire_wr_fini(&paths);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    srv_conn_reap(arg);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    srv_conn_run_resumed(arg);
}

static void on_submit(evutil_socket_t fd, short what, void *arg)
{
    srv *s = arg;
    s->is_submit_pending = false;
    stor_submit(s->st);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    srv_conn_flush_all(arg);
}

static void on_durable_event(evutil_socket_t fd, short what, void *arg)
{
    srv *s = arg;
    pthread_mutex_lock(&s->durable_mu);
    int64_t upto = s->durable_posted;
    pthread_mutex_unlock(&s->durable_mu);
    if (upto > s->durable_zxid) {
        s->durable_zxid = upto;
        s->stats.fsync_batches++;
        if (s->ens == NULL) {
            s->release_zxid = upto;
            srv_outq_drain(s);
        }
        srv_ens_durable(s, upto);
    }
}

void srv_on_durable(void *arg, uint64_t zxid)
{
    srv *s = arg;
    pthread_mutex_lock(&s->durable_mu);
    if ((int64_t)zxid > s->durable_posted)
        s->durable_posted = (int64_t)zxid;
    pthread_mutex_unlock(&s->durable_mu);
    event_active(s->durable_ev, EV_READ, 0);
}

void srv_on_log_error(void *arg, const char *msg)
{
    srv *s = arg;
    srv_log(SRV_LOG_ERROR, "txn log write failed: %s", msg);
    /* Called on the log thread: only flag it and wake the loop, which stops. */
    pthread_mutex_lock(&s->durable_mu);
    s->log_failed = true;
    pthread_mutex_unlock(&s->durable_mu);
    event_base_loopbreak(s->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    srv *s = arg;
    srv_log(SRV_LOG_INFO, "received signal %d, shutting down", (int)sig);
    srv_stop(s);
}

void srv_stop(srv *s)
{
    event_base_loopbreak(s->base);
}

static struct event *periodic(srv *s, int64_t ms, event_callback_fn fn)
{
    struct event *ev = event_new(s->base, -1, EV_PERSIST, fn, s);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (ev != NULL)
        event_add(ev, &tv);
    return ev;
}

int srv_events_init(srv *s, char *err, size_t err_len)
{
    s->durable_ev = event_new(s->base, -1, 0, on_durable_event, s);
    s->reap_ev = event_new(s->base, -1, 0, on_reap, s);
    s->resume_ev = event_new(s->base, -1, 0, on_resume, s);
    s->submit_ev = event_new(s->base, -1, 0, on_submit, s);
    s->flush_ev = event_new(s->base, -1, 0, on_flush, s);
    s->tick_ev = periodic(s, HOUSEKEEPING_MS, on_housekeeping);
    s->container_ev = periodic(s, s->cfg.container_check_interval_ms, on_container_check);
    if (s->durable_ev == NULL || s->reap_ev == NULL || s->resume_ev == NULL ||
        s->submit_ev == NULL || s->flush_ev == NULL || s->tick_ev == NULL ||
        s->container_ev == NULL) {
        snprintf(err, err_len, "out of memory setting up the event loop");
        return ZERR_NOMEM;
    }
    return 0;
}

int srv_listen(srv *s, char *err, size_t err_len)
{
    const char *host = s->cfg.client_port_address ? s->cfg.client_port_address : "0.0.0.0";
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    char spec[300];
    snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, s->cfg.client_port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
        snprintf(err, err_len, "clientPortAddress %s is not an IP address", host);
        return ZERR_BADARGUMENTS;
    }
    s->listener =
        evconnlistener_new_bind(s->base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                -1, (struct sockaddr *)&ss, sslen);
    if (s->listener == NULL) {
        snprintf(err, err_len, "cannot listen on %s: %s", spec, strerror(errno));
        return ZERR_IO;
    }
    s->sigterm_ev = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sigint_ev = evsignal_new(s->base, SIGINT, on_signal, s);
    if (s->sigterm_ev == NULL || s->sigint_ev == NULL) {
        snprintf(err, err_len, "out of memory setting up the event loop");
        return ZERR_NOMEM;
    }
    event_add(s->sigterm_ev, NULL);
    event_add(s->sigint_ev, NULL);
    srv_log(SRV_LOG_INFO, "serving clients on %s", spec);
    return 0;
}
