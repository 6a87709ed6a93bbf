/*
 * auth.c: what a connection is authenticated as. Every connection starts as
 * ("ip", its address); addauth adds ("digest", "user:base64(sha1(user:pw))"),
 * and ("super", "") when that digest equals the configured superDigest
 * (DigestAuthenticationProvider). Other schemes fail with AUTHFAILED.
 *
 * SASL (opcode 102, ZooKeeperServer.processSasl): each GetSASLRequest
 * {buffer token} is answered with ReplyHeader(xid, zxid 0, err) and
 * SetSASLResponse {buffer token}; the mechanism is in sasl.c. Success adds
 * ("sasl", authorised id), and ("super", "") when zookeeper.superUser names
 * it. A failed login answers AUTHFAILED (SESSIONCLOSEDREQUIRESASLAUTH when
 * SASL is required) with a null token and closes the connection.
 *
 * Order. ZooKeeper keeps a connection's ids in a set backed by a
 * ConcurrentHashMap, and clients see its iteration order: whoAmI lists the
 * ids in it, and an "auth" ACL expands into them in it (so getACL shows
 * it). c->auth is kept in that order: chm_order() replays the insertions
 * into a model of the map's bins (Java's Id.hashCode and the map's hash
 * spreading, 16 bins, doubling at 3/4 full with the map's bin split).
 * c->auth_blob keeps insertion order, which the model needs.
 */
#include "server/srv_int.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* The hash ConcurrentHashMap files an Id under: the jute record's
 * hashCode (17, then 37 * result + each field's hashCode), spread. */
static uint32_t id_hash(wire_str scheme, wire_str id)
{
    uint32_t h = 17;
    h = 37u * h + wire_java_hash(scheme.p, (size_t)scheme.len);
    h = 37u * h + wire_java_hash(id.p, (size_t)id.len);
    return (h ^ (h >> 16)) & 0x7fffffffu;
}

/* Iteration order of a ConcurrentHashMap after inserting n keys with
 * hashes h[] in index order; writes the permutation to out. Bins are
 * singly linked through next[]; on a resize each bin splits as the map's
 * transfer does it (the tail that stays together keeps its order, the
 * nodes before it are pushed onto the fronts). Returns ZERR_NOMEM or 0. */
static int chm_order(const uint32_t *h, int32_t n, int32_t *out)
{
    int rc = ZERR_NOMEM;
    size_t cap = 16;
    int32_t *head = malloc(cap * sizeof *head);
    int32_t *next = malloc((size_t)(n > 0 ? n : 1) * sizeof *next);
    int32_t *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    if (head == NULL || next == NULL || tmp == NULL)
        goto out;
    for (size_t b = 0; b < cap; b++)
        head[b] = -1;
    for (int32_t i = 0; i < n; i++) {
        int32_t *link = &head[h[i] & (cap - 1)];
        while (*link >= 0)
            link = &next[*link];
        *link = i;
        next[i] = -1;
        if ((size_t)i + 1 < cap - cap / 4)
            continue;
        int32_t *grown = malloc(2 * cap * sizeof *grown);
        if (grown == NULL)
            goto out;
        for (size_t b = 0; b < cap; b++) {
            int32_t f = head[b], ln = -1, hn = -1;
            if (f >= 0) {
                uint32_t run_bit = h[f] & cap;
                int32_t last_run = f;
                for (int32_t p = next[f]; p >= 0; p = next[p])
                    if ((h[p] & cap) != run_bit) {
                        run_bit = h[p] & cap;
                        last_run = p;
                    }
                *(run_bit == 0 ? &ln : &hn) = last_run;
                int32_t k = 0;
                for (int32_t p = f; p != last_run; p = next[p])
                    tmp[k++] = p;
                for (int32_t j = 0; j < k; j++) {
                    int32_t p = tmp[j];
                    int32_t *list = (h[p] & cap) == 0 ? &ln : &hn;
                    next[p] = *list;
                    *list = p;
                }
            }
            grown[b] = ln;
            grown[b + cap] = hn;
        }
        free(head);
        head = grown;
        cap *= 2;
    }
    int32_t k = 0;
    for (size_t b = 0; b < cap; b++)
        for (int32_t p = head[b]; p >= 0; p = next[p])
            out[k++] = p;
    rc = 0;
out:
    free(head);
    free(next);
    free(tmp);
    return rc;
}

/* Each c->auth_blob[i] holds scheme, NUL, the id's length (4 bytes, host
 * order), the id and a NUL: ids may hold NULs (Java strings do). */
static wire_acl blob_id(const char *blob)
{
    size_t ls = strlen(blob);
    uint32_t li;
    memcpy(&li, blob + ls + 1, sizeof li);
    return (wire_acl){0, {blob, (int32_t)ls}, {blob + ls + 1 + sizeof li, (int32_t)li}};
}

/* Rebuilds c->auth, in the map's order, from c->auth_blob. */
static int auth_reorder(conn *c)
{
    int rc = ZERR_NOMEM;
    int32_t n = c->n_auth;
    uint32_t *h = malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
    int32_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (h == NULL || order == NULL)
        goto out;
    for (int32_t i = 0; i < n; i++) {
        wire_acl a = blob_id(c->auth_blob[i]);
        h[i] = id_hash(a.scheme, a.id);
    }
    if ((rc = chm_order(h, n, order)) != 0)
        goto out;
    for (int32_t i = 0; i < n; i++)
        c->auth[i] = blob_id(c->auth_blob[order[i]]);
out:
    free(h);
    free(order);
    return rc;
}

/* Adds (scheme, id[0..li)) unless the connection has it. */
static int auth_add(conn *c, const char *scheme, const char *id, size_t li)
{
    size_t ls = strlen(scheme);
    for (int32_t i = 0; i < c->n_auth; i++)
        if (wire_str_eqc(c->auth[i].scheme, scheme) && (size_t)c->auth[i].id.len == li &&
            memcmp(c->auth[i].id.p, id, li) == 0)
            return 0;
    if (li > INT32_MAX)
        return ZERR_NOMEM;
    wire_acl *a = realloc(c->auth, (size_t)(c->n_auth + 1) * sizeof *a);
    if (a == NULL)
        return ZERR_NOMEM;
    c->auth = a;
    char **b = realloc(c->auth_blob, (size_t)(c->n_auth + 1) * sizeof *b);
    if (b == NULL)
        return ZERR_NOMEM;
    c->auth_blob = b;
    uint32_t len32 = (uint32_t)li;
    char *blob = malloc(ls + 1 + sizeof len32 + li + 1);
    if (blob == NULL)
        return ZERR_NOMEM;
    memcpy(blob, scheme, ls + 1);
    memcpy(blob + ls + 1, &len32, sizeof len32);
    memcpy(blob + ls + 1 + sizeof len32, id, li);
    blob[ls + 1 + sizeof len32 + li] = '\0';
    c->auth_blob[c->n_auth] = blob;
    c->auth[c->n_auth] = blob_id(blob);
    c->n_auth++;
    /* On failure the ids stay, in insertion order: still the right set. */
    return auth_reorder(c);
}

int srv_auth_add(conn *c, const char *scheme, const char *id)
{
    return auth_add(c, scheme, id, strlen(id));
}

void srv_auth_free(conn *c)
{
    for (int32_t i = 0; i < c->n_auth; i++)
        free(c->auth_blob[i]);
    free(c->auth_blob);
    free(c->auth);
    c->auth_blob = NULL;
    c->auth = NULL;
    c->n_auth = 0;
    srv_sasl_conn_free(c->sasl);
    c->sasl = NULL;
}

void srv_auth_view(const conn *c, zt_auth *out)
{
    *out = (zt_auth){c->auth, c->n_auth, c->is_super, c->s->cfg.sasl_provider,
                     c->s->cfg.sasl_any_user_id};
}

/* DigestAuthenticationProvider.handleAuthentication: the id is decoded
 * into a Java string; the digest is user + ":" + base64(sha1(its UTF-8)),
 * user being what precedes the first colon, or all of it without one
 * (generateDigest's split(":", 2)[0]). *out is malloc'd (Java's form of the
 * user, so whoAmI and "auth" ACLs show what ZooKeeper shows); *len its
 * length. A null auth throws there: AUTHFAILED. */
static int digest_of(wire_buf auth, char **out, size_t *len)
{
    if (auth.len < 0)
        return ZERR_AUTHFAILED;
    const char *p = (const char *)auth.p;
    size_t n = (size_t)auth.len;
    const char *colon = n > 0 ? memchr(p, ':', n) : NULL;
    size_t user_len = colon != NULL ? (size_t)(colon - p) : n;
    char *utf8 = malloc(4 * n + 1);
    char *d = malloc(3 * user_len + 2 + 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1);
    if (utf8 == NULL || d == NULL) {
        free(utf8);
        free(d);
        return ZERR_NOMEM;
    }
    uint8_t sha[SHA_DIGEST_LENGTH];
    SHA1((const uint8_t *)utf8, wire_java_str(p, n, utf8, false), sha);
    free(utf8);
    size_t k = wire_java_str(p, user_len, d, true);
    d[k++] = ':';
    k += (size_t)EVP_EncodeBlock((unsigned char *)d + k, sha, SHA_DIGEST_LENGTH);
    d[k] = '\0';
    *out = d;
    *len = k;
    return 0;
}

int srv_auth_packet(conn *c, wire_str scheme, wire_buf auth)
{
    srv *s = c->s;
    int rc = ZERR_AUTHFAILED;
    if (wire_str_eqc(scheme, "digest")) {
        char *digest = NULL;
        size_t len = 0;
        rc = digest_of(auth, &digest, &len);
        if (rc == 0) {
            if (s->cfg.super_digest != NULL && strlen(s->cfg.super_digest) == len &&
                memcmp(digest, s->cfg.super_digest, len) == 0) {
                c->is_super = true;
                rc = srv_auth_add(c, "super", "");
            }
            if (rc == 0)
                rc = auth_add(c, "digest", digest, len);
        }
        free(digest);
    } else if (wire_str_eqc(scheme, "ip")) {
        rc = srv_auth_add(c, "ip", c->addr);
    }
    if (rc != 0) {
        srv_log(SRV_LOG_WARN, "authentication with scheme %.*s failed for session 0x%016" PRIx64,
                scheme.len > 0 ? scheme.len : 0, scheme.p, (uint64_t)c->session_id);
        return ZERR_AUTHFAILED;
    }
    return 0;
}

/* ---- SASL --------------------------------------------------------------------- */

int srv_auth_sasl_setup(srv *s, char *err, size_t err_len)
{
    const srv_config *c = &s->cfg;
    if (c->jaas_config == NULL) {
        if (c->sasl_provider)
            srv_log(SRV_LOG_WARN,
                    "authProvider names SASLAuthenticationProvider but no JAAS file is configured "
                    "(-Djava.security.auth.login.config=FILE in SERVER_JVMFLAGS, or "
                    "jaasLoginConfig=FILE): SASL logins are not offered");
        return 0;
    }
    srv_sasl_opts o = {c->jaas_config, c->sasl_section, c->sasl_super_password,
                       c->kerberos_remove_host, c->kerberos_remove_realm};
    char warn[1024];
    int rc = srv_sasl_new(&o, &s->sasl, warn, sizeof warn, err, err_len);
    if (rc != 0)
        return rc;
    if (warn[0] != '\0')
        srv_log(SRV_LOG_WARN, "%s", warn);
    if (s->sasl != NULL)
        srv_log(SRV_LOG_INFO, "SASL DIGEST-MD5 logins offered: section '%s' of %s, %d user(s)%s",
                c->sasl_section, c->jaas_config, srv_sasl_n_users(s->sasl),
                c->sasl_provider ? ""
                                 : "; no authProvider names SASLAuthenticationProvider, so sasl "
                                   "ACLs are refused");
    return 0;
}

/* Whether scheme is in a comma-separated list (entries trimmed). */
static bool in_list(const char *list, wire_str scheme)
{
    for (const char *p = list != NULL ? list : ""; *p != '\0';) {
        const char *end = strchr(p, ',');
        const char *e = end != NULL ? end : p + strlen(p);
        while (p < e && (unsigned char)*p <= ' ')
            p++;
        const char *b = e;
        while (b > p && (unsigned char)b[-1] <= ' ')
            b--;
        if (b - p == scheme.len && memcmp(p, scheme.p, (size_t)scheme.len) == 0)
            return true;
        p = end != NULL ? end + 1 : e;
    }
    return false;
}

/* AuthenticationHelper: sessionRequireClientSASLAuth means ["sasl"] and
 * wins over enforce.auth.*. */
static const char *enforced_schemes(const srv_config *cfg)
{
    if (cfg->session_require_sasl)
        return "sasl";
    return cfg->enforce_auth_enabled ? cfg->enforce_auth_schemes : NULL;
}

bool srv_auth_enforced_ok(const conn *c)
{
    const char *list = enforced_schemes(&c->s->cfg);
    if (list == NULL)
        return true;
    for (int32_t i = 0; i < c->n_auth; i++)
        if (in_list(list, c->auth[i].scheme))
            return true;
    return false;
}

static void sasl_reply(conn *c, int32_t xid, int32_t err, const uint8_t *tok, size_t n, bool close)
{
    srv *s = c->s;
    /* processSasl answers outside the request pipeline, with zxid 0. */
    srv_reply_begin(&s->reply, xid, 0, err);
    wire_wr_buf(&s->reply, (wire_buf){tok, tok != NULL ? (int32_t)n : -1});
    srv_reply_end(&s->reply);
    srv_send(s, c, s->last_zxid, &s->reply, close);
}

static void sasl_done(conn *c, int32_t xid, const uint8_t *tok, size_t n)
{
    srv *s = c->s;
    const char *id = srv_sasl_conn_id(c->sasl);
    srv_log(SRV_LOG_INFO,
            "session 0x%016" PRIx64 " (%s:%d): SASL DIGEST-MD5 login of '%s' as sasl id '%s'",
            (uint64_t)c->session_id, c->addr, c->port, srv_sasl_conn_user(c->sasl), id);
    int rc = srv_auth_add(c, "sasl", id);
    if (rc == 0 && srv_config_is_super_user(&s->cfg, id)) {
        c->is_super = true;
        rc = srv_auth_add(c, "super", "");
        srv_log(SRV_LOG_INFO, "session 0x%016" PRIx64 ": sasl id '%s' is a super user",
                (uint64_t)c->session_id, id);
    }
    if (rc != 0) {
        srv_conn_close(c, "out of memory adding a SASL id");
        return;
    }
    sasl_reply(c, xid, 0, tok, n, false);
}

/* The username the client named, quoted, for log lines. */
static const char *user_of(const conn *c, char *buf, size_t cap)
{
    const char *u = srv_sasl_conn_user(c->sasl);
    snprintf(buf, cap, u[0] != '\0' ? "'%s'" : "(none named)", u);
    return buf;
}

static void sasl_failed(conn *c, int32_t xid)
{
    const srv_config *cfg = &c->s->cfg;
    bool required = in_list(enforced_schemes(cfg), (wire_str){"sasl", 4});
    char u[160];
    c->s->stats.auth_failures++;
    srv_log(SRV_LOG_WARN,
            "client %s:%d (session 0x%016" PRIx64 ") failed to SASL authenticate as user %s: %s",
            c->addr, c->port, (uint64_t)c->session_id, user_of(c, u, sizeof u),
            srv_sasl_conn_error(c->sasl));
    if (cfg->allow_sasl_failed_clients && !required) {
        srv_log(SRV_LOG_WARN, "keeping the connection despite the SASL failure "
                              "(allowSaslFailedClients)");
        sasl_reply(c, xid, 0, NULL, 0, false);
        return;
    }
    sasl_reply(c, xid, required ? ZERR_SESSIONCLOSEDREQUIRESASLAUTH : ZERR_AUTHFAILED, NULL, 0,
               true);
}

void srv_auth_sasl(conn *c, int32_t xid, wire_buf token)
{
    srv *s = c->s;
    if (token.len < 0) {
        /* processSasl reads the token's length first: a null token throws
         * and ZooKeeper closes the connection without a reply. */
        srv_log(SRV_LOG_WARN,
                "session 0x%016" PRIx64 " (%s:%d) sent a SASL request with a null "
                "token; closing the connection",
                (uint64_t)c->session_id, c->addr, c->port);
        srv_conn_close(c, "null SASL token");
        return;
    }
    if (s->sasl == NULL) {
        /* ZooKeeper without a SASL login logs that the connection's
         * saslServer is null and answers OK with a null token. */
        srv_log(SRV_LOG_ERROR,
                "session 0x%016" PRIx64 " (%s:%d) sent a SASL token but SASL is "
                "not configured (no JAAS Server section); answered with no token",
                (uint64_t)c->session_id, c->addr, c->port);
        sasl_reply(c, xid, 0, NULL, 0, false);
        return;
    }
    char nonce[SRV_SASL_NONCE_LEN + 1];
    if ((c->sasl == NULL && (c->sasl = srv_sasl_conn_new()) == NULL) ||
        srv_sasl_nonce(nonce) != 0) {
        srv_log(SRV_LOG_ERROR, "session 0x%016" PRIx64 ": no memory or randomness for SASL",
                (uint64_t)c->session_id);
        srv_conn_close(c, "SASL set-up failed");
        return;
    }
    uint8_t out[SRV_SASL_TOKEN_CAP];
    size_t n = 0;
    switch (srv_sasl_step(s->sasl, c->sasl, token.p, (size_t)token.len, nonce, out, &n)) {
    case SRV_SASL_CONTINUE:
        sasl_reply(c, xid, 0, out, n, false);
        break;
    case SRV_SASL_DONE:
        sasl_done(c, xid, out, n);
        break;
    case SRV_SASL_FAILED:
        sasl_failed(c, xid);
        break;
    case SRV_SASL_BROKEN: {
        /* Java throws outside SaslException here; the worker thread drops
         * the connection without an answer. */
        char u[160];
        srv_log(SRV_LOG_WARN,
                "client %s:%d (session 0x%016" PRIx64 ") sent a SASL response for user %s that "
                "ZooKeeper cannot process (%s); closing without a reply",
                c->addr, c->port, (uint64_t)c->session_id, user_of(c, u, sizeof u),
                srv_sasl_conn_error(c->sasl));
        srv_conn_close(c, "unprocessable SASL response");
        break;
    }
    }
}
