/*
 * server/config_quorum.c: the quorum keys of zoo.cfg (server.N, peerType,
 * electionAlg; initLimit, syncLimit and standaloneEnabled are plain table
 * keys of config.c), the dataDir/myid file, and the mode they decide.
 *
 * What ZooKeeper 3.8 does, and so do we (QuorumPeerConfig, QuorumMaj,
 * QuorumPeer.QuorumServer, ConfigUtils.getHostAndPort):
 *   - every key starting "server." is a server line; the rest of the key is
 *     the id, a Java long;
 *   - myid is read whenever dataDir/myid is a regular file, in every mode:
 *     its first line, without trimming, as Long.parseLong;
 *   - the mode is an ensemble when standaloneEnabled is false or there is
 *     more than one participant; otherwise zabd is standalone and the quorum
 *     and election ports are not used;
 *   - an ensemble needs initLimit, syncLimit and a myid that names a line.
 *
 * Stricter than ZooKeeper, because each is a mistake it either ignores or
 * resolves in hash order: a server id given twice (ZooKeeper keeps one of
 * the lines), two lines sharing host:port (checked by string, without DNS),
 * a host that is not a name or an IP, a port of 0. Not done here: DNS and
 * binding (quorum_ports.c does that at startup), dynamicConfigFile, group.*
 * and weight.* (hierarchical quorums), multiAddress.
 */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "wire/wire.h"

#define SERVER_FORM "host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]"
/* EphemeralType.MAX_EXTENDED_SERVER_ID: the id must fit the TTL bits. */
#define MAX_EXTENDED_SERVER_ID 254

typedef struct seg {
    const char *p;
    size_t n;
} seg;

static char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    ZK_ASSERT(d != NULL, "out of memory copying config string");
    return d;
}

static void msgf(char *msg, size_t cap, const char *fmt, ...)
{
    if (msg == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

/* "path:line: " then the message, as config.c writes its errors. */
static void locf(char *out, size_t cap, const char *path, int line, const char *fmt, ...)
{
    if (out == NULL || cap == 0)
        return;
    int n = line > 0 ? snprintf(out, cap, "%s:%d: ", path, line) : snprintf(out, cap, "%s: ", path);
    if (n < 0 || (size_t)n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* String.split(sep) as Java does it: trailing empty pieces are dropped.
 * Returns the number of pieces (which may exceed cap; only cap are kept). */
static size_t split(const char *s, size_t len, char sep, seg *out, size_t cap)
{
    size_t n = 0, start = 0, last_nonempty = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != sep)
            continue;
        if (n < cap)
            out[n] = (seg){s + start, i - start};
        n++;
        if (i > start)
            last_nonempty = n;
        start = i + 1;
    }
    return n == 1 ? 1 : last_nonempty; /* no separator: the string itself */
}

/* ConfigUtils.getHostAndPort: "[v6]:a:b..." keeps the bracketed host whole,
 * anything else splits at every ':'. Returns the piece count, or -1 with a
 * message. *bracketed tells whether the host was in brackets. */
static int host_and_port(seg s, seg *out, size_t cap, bool *bracketed, char *msg, size_t msg_len)
{
    *bracketed = s.n > 0 && s.p[0] == '[';
    if (!*bracketed)
        return (int)split(s.p, s.n, ':', out, cap);
    const char *close = memchr(s.p, ']', s.n);
    if (close == NULL) {
        msgf(msg, msg_len, "'%.*s' starts with '[' but has no matching ']'", (int)s.n, s.p);
        return -1;
    }
    size_t i = (size_t)(close - s.p);
    if (i + 2 > s.n) {
        out[0] = (seg){s.p + 1, i - 1};
        return 1;
    }
    if (i + 2 == s.n || s.p[i + 1] != ':') {
        msgf(msg, msg_len, "'%.*s' has no port after ']:'", (int)s.n, s.p);
        return -1;
    }
    out[0] = (seg){s.p + 1, i - 1};
    return 1 + (int)split(s.p + i + 2, s.n - i - 2, ':', out + 1, cap - 1);
}

static bool host_ok(seg h, bool bracketed)
{
    if (h.n == 0)
        return false;
    bool has_colon = false;
    for (size_t i = 0; i < h.n; i++) {
        unsigned char ch = (unsigned char)h.p[i];
        if (bracketed) {
            if (ch == '%') /* a zone: fe80::1%eth0 */
                return has_colon && i + 1 < h.n;
            has_colon |= ch == ':';
            if (!isxdigit(ch) && ch != ':' && ch != '.')
                return false;
        } else if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_') {
            return false;
        }
    }
    return !bracketed || has_colon;
}

/* Long.parseLong (decimal, optional sign). */
static bool parse_long(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int parse_port(seg s, const char *what, int32_t *out, char *msg, size_t msg_len)
{
    int64_t v;
    if (!parse_long(s.p, s.n, &v) || v < 1 || v > 65535) {
        msgf(msg, msg_len, "%s port '%.*s' is not a port number (1..65535)", what, (int)s.n, s.p);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* ---- One server line ----------------------------------------------------- */

int srv_quorum_server_parse(const char *value, srv_quorum_server *out, char *msg, size_t msg_len)
{
    srv_quorum_server q = {.id = out->id, .line = out->line};
    size_t len = strlen(value);
    seg parts[3], sp[5], cp[3];
    bool br;
    size_t n_parts = split(value, len, ';', parts, 3);
    if (n_parts == 0 || n_parts > 2)
        goto bad_form;
    if (n_parts == 2) {
        int n = host_and_port(parts[1], cp, 3, &br, msg, msg_len);
        if (n < 0)
            return -1;
        if (n > 2)
            goto bad_form;
        if (n == 2 && !host_ok(cp[0], br)) {
            msgf(msg, msg_len, "client address '%.*s' is not a host name or IP address",
                 (int)cp[0].n, cp[0].p);
            return -1;
        }
        if (parse_port(cp[n - 1], "client", &q.client_port, msg, msg_len) != 0)
            return -1;
        q.client_host = n == 2 ? xstrndup(cp[0].p, cp[0].n) : xstrndup("0.0.0.0", 7);
    }
    if (memchr(parts[0].p, '|', parts[0].n) != NULL) {
        msgf(msg, msg_len, "several '|'-separated addresses (multiAddress) are not supported");
        goto fail;
    }
    int n = host_and_port(parts[0], sp, 5, &br, msg, msg_len);
    if (n < 0)
        goto fail;
    if (n < 3 || n > 4)
        goto bad_form;
    if (!host_ok(sp[0], br)) {
        msgf(msg, msg_len, "'%.*s' is not a host name or IP address", (int)sp[0].n, sp[0].p);
        goto fail;
    }
    if (parse_port(sp[1], "quorum", &q.quorum_port, msg, msg_len) != 0 ||
        parse_port(sp[2], "election", &q.election_port, msg, msg_len) != 0)
        goto fail;
    if (q.quorum_port == q.election_port) {
        msgf(msg, msg_len, "the quorum and election ports must differ (both %d)", q.quorum_port);
        goto fail;
    }
    if (n == 4) {
        char type[16];
        seg t = sp[3];
        while (t.n > 0 && (unsigned char)t.p[0] <= ' ')
            t.p++, t.n--;
        while (t.n > 0 && (unsigned char)t.p[t.n - 1] <= ' ')
            t.n--;
        if (t.n < sizeof type) {
            memcpy(type, t.p, t.n);
            type[t.n] = '\0';
        }
        if (t.n >= sizeof type ||
            (strcasecmp(type, "observer") != 0 && strcasecmp(type, "participant") != 0)) {
            msgf(msg, msg_len, "unknown server type '%.*s' (participant or observer)", (int)sp[3].n,
                 sp[3].p);
            goto fail;
        }
        q.is_observer = strcasecmp(type, "observer") == 0;
    }
    q.host = xstrndup(sp[0].p, sp[0].n);
    *out = q;
    return 0;
bad_form:
    msgf(msg, msg_len, "'%s' is not of the form " SERVER_FORM, value);
fail:
    free(q.client_host);
    return -1;
}

static void server_fini(srv_quorum_server *s)
{
    free(s->host);
    free(s->client_host);
    s->host = s->client_host = NULL;
}

void srv_quorum_fini(srv_quorum *q)
{
    for (int32_t i = 0; i < q->n_servers; i++)
        server_fini(&q->servers[i]);
    free(q->servers);
    q->servers = NULL;
    q->n_servers = 0;
    q->me = NULL;
}

/* ---- Keys ---------------------------------------------------------------- */

int srv_quorum_key(srv_quorum *q, const char *key, const char *value, int line, char *msg,
                   size_t msg_len)
{
    if (strcmp(key, "peerType") == 0) {
        if (strcasecmp(value, "observer") != 0 && strcasecmp(value, "participant") != 0) {
            msgf(msg, msg_len, "peerType: unknown type '%s' (participant or observer)", value);
            return -1;
        }
        q->peer_type_observer = strcasecmp(value, "observer") == 0;
        q->peer_type_line = line;
        return 1;
    }
    if (strcmp(key, "electionAlg") == 0) {
        int64_t alg;
        if (!parse_long(value, strlen(value), &alg) || alg < INT32_MIN || alg > INT32_MAX) {
            msgf(msg, msg_len, "electionAlg: '%s' is not a valid integer", value);
            return -1;
        }
        if (alg != 3) {
            msgf(msg, msg_len,
                 "electionAlg: %" PRId64 " is not supported; only 3 (fast leader election) is, "
                 "as in ZooKeeper 3.8",
                 alg);
            return -1;
        }
        return 1;
    }
    if (strcmp(key, "dynamicConfigFile") == 0) {
        /* Running standalone because the server lines are elsewhere would
         * be the worst reading of such a file. */
        msgf(msg, msg_len, "dynamicConfigFile is not supported: put the server.N lines in zoo.cfg");
        return -1;
    }
    if (strncmp(key, "server.", 7) != 0)
        return 0;
    srv_quorum_server s = {.line = line};
    if (!parse_long(key + 7, strlen(key + 7), &s.id)) {
        msgf(msg, msg_len, "%s: '%s' is not a server id (a number)", key, key + 7);
        return -1;
    }
    for (int32_t i = 0; i < q->n_servers; i++) {
        if (q->servers[i].id == s.id) {
            msgf(msg, msg_len, "%s: server id %" PRId64 " is already given on line %d", key, s.id,
                 q->servers[i].line);
            return -1;
        }
    }
    char why[400];
    if (srv_quorum_server_parse(value, &s, why, sizeof why) != 0) {
        msgf(msg, msg_len, "%s: %s", key, why);
        return -1;
    }
    q->servers = realloc(q->servers, (size_t)(q->n_servers + 1) * sizeof *q->servers);
    ZK_ASSERT(q->servers != NULL, "out of memory reading %s", key);
    q->servers[q->n_servers++] = s;
    return 1;
}

/* ---- myid ---------------------------------------------------------------- */

/* QuorumPeerConfig.setupMyId: absent (or not a regular file) is fine here;
 * checkValidity decides whether it was needed. */
static int read_my_id(srv_config *c, char *err, size_t err_len)
{
    size_t dl = strlen(c->data_dir);
    char *path = malloc(dl + 6);
    ZK_ASSERT(path != NULL, "out of memory reading myid");
    snprintf(path, dl + 6, "%s%smyid", c->data_dir,
             dl > 0 && c->data_dir[dl - 1] == '/' ? "" : "/");
    int rc = -1;
    char buf[64];
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = 0;
        goto out;
    }
    if ((f = fopen(path, "rb")) == NULL) {
        locf(err, err_len, path, 0, "cannot read the myid file: %s", strerror(errno));
        goto out;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    if (ferror(f)) {
        locf(err, err_len, path, 0, "cannot read the myid file: %s", strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    size_t line = strcspn(buf, "\r\n"); /* BufferedReader.readLine */
    buf[line] = '\0';
    if (!parse_long(buf, line, &c->quorum.my_id)) {
        locf(err, err_len, path, 1, "'%s%s' is not a server id (a number, alone on the line)", buf,
             line == sizeof buf - 1 ? "..." : "");
        goto out;
    }
    c->quorum.has_my_id = true;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    free(path);
    return rc;
}

/* ---- The whole configuration --------------------------------------------- */

static bool is_wildcard(const char *host)
{
    return host == NULL || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* One address a server line asks for; a wildcard client address is taken
 * as its server's own host, since that is the machine that binds it. */
typedef struct endpoint {
    const srv_quorum_server *s;
    const char *what, *host;
    int32_t port;
} endpoint;

/* Two lines asking for one host:port; with extra, only extra against the
 * lines (this server's client address when its line has none). */
static int check_clashes(const srv_quorum *q, const endpoint *extra, const char *path, char *err,
                         size_t err_len)
{
    size_t n = 0;
    endpoint *e = malloc((3 * (size_t)q->n_servers + 1) * sizeof *e);
    ZK_ASSERT(e != NULL, "out of memory checking server lines");
    for (int32_t i = 0; i < q->n_servers; i++) {
        const srv_quorum_server *s = &q->servers[i];
        e[n++] = (endpoint){s, "quorum", s->host, s->quorum_port};
        e[n++] = (endpoint){s, "election", s->host, s->election_port};
        if (s->client_host != NULL)
            e[n++] = (endpoint){s, "client", is_wildcard(s->client_host) ? s->host : s->client_host,
                                s->client_port};
    }
    if (extra != NULL)
        e[n++] = *extra;
    int rc = 0;
    for (size_t j = extra != NULL ? n - 1 : 1; j < n && rc == 0; j++) {
        for (size_t i = 0; i < j && rc == 0; i++) {
            if (e[i].port != e[j].port || strcasecmp(e[i].host, e[j].host) != 0)
                continue;
            locf(err, err_len, path, e[j].s->line,
                 "server.%" PRId64 ": %s port %s:%d is already the %s port of server.%" PRId64
                 " (line %d)",
                 e[j].s->id, e[j].what, e[j].host, e[j].port, e[i].what, e[i].s->id, e[i].s->line);
            rc = -1;
        }
    }
    free(e);
    return rc;
}

static const srv_quorum_server *find(const srv_quorum *q, int64_t id)
{
    for (int32_t i = 0; i < q->n_servers; i++)
        if (q->servers[i].id == id)
            return &q->servers[i];
    return NULL;
}

/* QuorumPeerConfig.parseDynamicConfig: the counts that decide the mode. */
static int decide_mode(srv_quorum *q, const char *path, void (*warn)(void *, const char *),
                       void *warn_arg, char *err, size_t err_len)
{
    char w[256];
    int32_t voting = 0, observers = 0;
    for (int32_t i = 0; i < q->n_servers; i++)
        q->servers[i].is_observer ? observers++ : voting++;
    const int first = q->n_servers > 0 ? q->servers[0].line : 0;
    if (voting == 0 && !q->standalone_enabled) {
        locf(err, err_len, path, 0,
             "standaloneEnabled is false, so a participant server.N line "
             "is needed");
        return -1;
    }
    if (voting <= 1 && observers > 0 && (voting == 0 || q->standalone_enabled)) {
        locf(err, err_len, path, first,
             "observers need an ensemble of participants (%d "
             "participant line%s)",
             voting, voting == 1 ? "" : "s");
        return -1;
    }
    q->is_ensemble = !q->standalone_enabled || voting > 1;
    if (voting == 1 && q->standalone_enabled && warn != NULL) {
        locf(w, sizeof w, path, first,
             "only one server line: running standalone, as ZooKeeper "
             "does (standaloneEnabled=true); its ports are not used");
        warn(warn_arg, w);
    } else if (q->is_ensemble && warn != NULL && (voting <= 2 || voting % 2 == 0)) {
        locf(w, sizeof w, path, 0, "%d participants: %s", voting,
             voting <= 2 ? "no server failure is tolerated; use at least 3"
                         : "an odd number tolerates as many failures with one server less");
        warn(warn_arg, w);
    }
    return 0;
}

/* QuorumPeerConfig.setupClientPort: this server's client address comes
 * from its line when the line has one, and must agree with clientPort. */
static int setup_client_port(srv_config *c, const srv_quorum_server *me, const char *path,
                             bool client_port_given, char *err, size_t err_len)
{
    if (me == NULL || me->client_host == NULL)
        return 0;
    const char *st = c->client_port_address;
    if (client_port_given && (c->client_port != me->client_port ||
                              (!is_wildcard(st) && strcasecmp(st, me->client_host) != 0))) {
        locf(err, err_len, path, me->line,
             "server.%" PRId64 ": client address %s:%d differs from clientPortAddress/clientPort "
             "%s:%d",
             me->id, me->client_host, me->client_port, st != NULL ? st : "0.0.0.0", c->client_port);
        return -1;
    }
    free(c->client_port_address);
    c->client_port_address = is_wildcard(me->client_host) ? NULL : strdup(me->client_host);
    ZK_ASSERT(is_wildcard(me->client_host) || c->client_port_address != NULL, "out of memory");
    c->client_port = me->client_port;
    return 0;
}

int srv_quorum_finish(srv_config *c, const char *path, bool client_port_given,
                      void (*warn)(void *arg, const char *msg), void *warn_arg, char *err,
                      size_t err_len)
{
    srv_quorum *q = &c->quorum;
    if (check_clashes(q, NULL, path, err, err_len) != 0 ||
        decide_mode(q, path, warn, warn_arg, err, err_len) != 0 || read_my_id(c, err, err_len) != 0)
        return -1;
    const srv_quorum_server *me = q->has_my_id ? find(q, q->my_id) : NULL;
    if (setup_client_port(c, me, path, client_port_given, err, err_len) != 0)
        return -1;
    /* QuorumPeerConfig.setupPeerType: the server list wins. */
    bool listed_observer = me != NULL && me->is_observer;
    if (listed_observer != q->peer_type_observer && warn != NULL) {
        char w[256];
        locf(w, sizeof w, path, q->peer_type_line,
             "peerType is %s but the server list makes this server a%s; using the server list, "
             "as ZooKeeper does",
             q->peer_type_observer ? "observer" : "participant",
             listed_observer ? "n observer" : " participant");
        warn(warn_arg, w);
    }
    if (!q->is_ensemble)
        return 0;
    /* QuorumPeerConfig.checkValidity, then QuorumPeer.start. */
    if (q->init_limit == 0 || q->sync_limit == 0) {
        locf(err, err_len, path, 0, "%s is not set; an ensemble needs it (in ticks)",
             q->init_limit == 0 ? "initLimit" : "syncLimit");
        return -1;
    }
    if (!q->has_my_id) {
        locf(err, err_len, path, 0,
             "the myid file is missing: an ensemble needs %s/myid holding "
             "this server's id",
             c->data_dir);
        return -1;
    }
    if (me == NULL) {
        locf(err, err_len, path, 0, "myid %" PRId64 " (%s/myid) has no server.%" PRId64 " line",
             q->my_id, c->data_dir, q->my_id);
        return -1;
    }
    if (c->extended_types_enabled && q->my_id > MAX_EXTENDED_SERVER_ID) {
        locf(err, err_len, path, 0,
             "extendedTypesEnabled is true, so myid %" PRId64 " must not be above %d", q->my_id,
             MAX_EXTENDED_SERVER_ID);
        return -1;
    }
    if (me->client_host == NULL) {
        endpoint mine = {me, "client",
                         is_wildcard(c->client_port_address) ? me->host : c->client_port_address,
                         c->client_port};
        if (check_clashes(q, &mine, path, err, err_len) != 0)
            return -1;
    }
    q->me = me;
    return 0;
}
