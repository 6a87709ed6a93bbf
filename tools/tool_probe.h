/*
 * tool_probe: one bare-socket getData against a server, for measuring how
 * long a restarted server takes until it serves reads.
 *
 * Why not the official C client: after a refused connect it waits a fraction
 * of the session timeout before retrying, which would blur the figure by
 * hundreds of milliseconds. This probe opens a fresh TCP connection, does the
 * ConnectRequest handshake and one GetData, and gives up on the first sign of
 * "not ready" so the caller can retry on its own schedule.
 */
#ifndef ZABD_TOOL_PROBE_H
#define ZABD_TOOL_PROBE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connects to 127.0.0.1-style host:port (numeric IPv4), opens a session and
 * reads `path`. Returns 0 once the server answered the read without error,
 * ZERR_CONNECTIONLOSS when the connection or handshake failed (server not up
 * or still loading), or the server's error code (e.g. ZERR_NONODE). Every
 * socket wait is bounded by timeout_ms. Sets *data_len_out to the length of
 * the data read on success. */
int tool_probe_get(const char *host, int port, const char *path, int timeout_ms,
                   int32_t *data_len_out);

#ifdef __cplusplus
}
#endif
#endif
