/*
 * net.c: what the server's peer ports share (the election port, peer.c;
 * the quorum port, quorum.c; the start-up port check, quorum_ports.c):
 * looking up a server line's address and naming the far end of a
 * connection. libc only, so the zoo.cfg tests can link it.
 */
#include "server/net.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int srv_net_resolve(const char *host, int32_t port, struct sockaddr_storage *ss, int *len,
                    char *err, size_t err_len)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (host == NULL)
        hints.ai_flags = AI_PASSIVE; /* the wildcard address */
    int gai = getaddrinfo(host, service, &hints, &ai);
    if (gai != 0) {
        snprintf(err, err_len, "cannot resolve %s: %s", host != NULL ? host : "*",
                 gai_strerror(gai));
        return -1;
    }
    /* The first address, as Java's InetSocketAddress(host, port) takes it. */
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (int)ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

void srv_net_addr_name(const struct sockaddr *sa, int socklen, char *out, size_t cap)
{
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    getnameinfo(sa, (socklen_t)socklen, host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(out, cap, "%s:%s", host, serv);
}
