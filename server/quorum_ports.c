/*
 * server/quorum_ports.c: at startup in an ensemble, proves that this
 * server can have its client, quorum and election ports, by binding each
 * on its address (with SO_REUSEADDR, as the real listeners will) and
 * closing them again. ZooKeeper finds a taken port only when the listener
 * for it starts (the quorum port only once it leads); checking all three
 * first makes a mistake stop the start instead.
 *
 * Not done here: listening on them (server/peer.c, server/quorum.c and the
 * client listener do), quorumListenOnAllIPs.
 */
#include "server/config.h"
#include "server/net.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Binds host:port; returns the socket, or -1 with a message. */
static int bind_one(const char *what, const char *host, int32_t port, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    int sslen;
    char why[300];
    if (srv_net_resolve(host, port, &ss, &sslen, why, sizeof why) != 0) {
        snprintf(err, err_len, "%s port: %s", what, why);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0) {
        snprintf(err, err_len, "%s port %s%s%s:%d cannot be bound: %s", what,
                 host != NULL && strchr(host, ':') ? "[" : "", host != NULL ? host : "0.0.0.0",
                 host != NULL && strchr(host, ':') ? "]" : "", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    return fd;
}

int srv_quorum_check_ports(const srv_config *c, char *err, size_t err_len)
{
    const srv_quorum_server *me = c->quorum.me;
    if (me == NULL)
        return 0;
    int fds[3] = {-1, -1, -1}, rc = -1;
    char why[400];
    /* clientPortAddress unset: all addresses, as srv_listen binds. */
    if ((fds[0] = bind_one("client", c->client_port_address, c->client_port, why, sizeof why)) <
            0 ||
        (fds[1] = bind_one("quorum", me->host, me->quorum_port, why, sizeof why)) < 0 ||
        (fds[2] = bind_one("election", me->host, me->election_port, why, sizeof why)) < 0) {
        snprintf(err, err_len, "server.%" PRId64 " (this server, myid): %s", me->id, why);
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}
