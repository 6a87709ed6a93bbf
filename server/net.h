/*
 * net.h: address helpers the peer ports share (server/net.c). Internal to
 * server/.
 */
#ifndef ZABD_SERVER_NET_H
#define ZABD_SERVER_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The first address of host:port (host NULL: the wildcard), as Java's
 * InetSocketAddress takes it. 0, or -1 with a message. May do DNS. */
int srv_net_resolve(const char *host, int32_t port, struct sockaddr_storage *ss, int *len,
                    char *err, size_t err_len);
/* "ip:port" of sa, numeric. */
void srv_net_addr_name(const struct sockaddr *sa, int socklen, char *out, size_t cap);

#endif
