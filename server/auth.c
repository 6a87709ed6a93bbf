/*
 * auth.c: what a connection is authenticated as. Every connection starts as
 * ("ip", its address); addauth adds ("digest", "user:base64(sha1(user:pw))"),
 * and ("super", "") when that digest equals the configured superDigest
 * (DigestAuthenticationProvider). Other schemes fail with AUTHFAILED.
 */
#include "server/srv_int.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

int srv_auth_add(conn *c, const char *scheme, const char *id)
{
    size_t ls = strlen(scheme), li = strlen(id);
    for (int32_t i = 0; i < c->n_auth; i++)
        if (wire_str_eqc(c->auth[i].scheme, scheme) && wire_str_eqc(c->auth[i].id, id))
            return 0;
    wire_acl *a = realloc(c->auth, (size_t)(c->n_auth + 1) * sizeof *a);
    if (a == NULL)
        return ZERR_NOMEM;
    c->auth = a;
    char **b = realloc(c->auth_blob, (size_t)(c->n_auth + 1) * sizeof *b);
    if (b == NULL)
        return ZERR_NOMEM;
    c->auth_blob = b;
    char *blob = malloc(ls + li + 2);
    if (blob == NULL)
        return ZERR_NOMEM;
    memcpy(blob, scheme, ls + 1);
    memcpy(blob + ls + 1, id, li + 1);
    c->auth_blob[c->n_auth] = blob;
    c->auth[c->n_auth] = (wire_acl){0, {blob, (int32_t)ls}, {blob + ls + 1, (int32_t)li}};
    c->n_auth++;
    return 0;
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
}

void srv_auth_view(const conn *c, zt_auth *out)
{
    out->ids = c->auth;
    out->n_ids = c->n_auth;
    out->is_super = c->is_super;
}

/* "user:password" -> "user:" + base64(sha1("user:password")) */
static int digest_of(wire_buf auth, char *out, size_t cap)
{
    const char *p = (const char *)auth.p;
    const char *colon = auth.len > 0 ? memchr(p, ':', (size_t)auth.len) : NULL;
    if (colon == NULL)
        return ZERR_AUTHFAILED;
    size_t user_len = (size_t)(colon - p);
    uint8_t sha[SHA_DIGEST_LENGTH];
    SHA1(auth.p, (size_t)auth.len, sha);
    if (user_len + 1 + 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1 > cap)
        return ZERR_AUTHFAILED;
    memcpy(out, p, user_len);
    out[user_len] = ':';
    EVP_EncodeBlock((unsigned char *)out + user_len + 1, sha, SHA_DIGEST_LENGTH);
    return 0;
}

int srv_auth_packet(conn *c, wire_str scheme, wire_buf auth)
{
    srv *s = c->s;
    int rc = ZERR_AUTHFAILED;
    if (wire_str_eqc(scheme, "digest")) {
        char digest[512];
        rc = digest_of(auth, digest, sizeof digest);
        if (rc == 0) {
            if (s->cfg.super_digest != NULL && strcmp(digest, s->cfg.super_digest) == 0) {
                c->is_super = true;
                rc = srv_auth_add(c, "super", "");
            }
            if (rc == 0)
                rc = srv_auth_add(c, "digest", digest);
        }
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
