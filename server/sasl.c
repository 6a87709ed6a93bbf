/*
 * sasl.c: the DIGEST-MD5 server mechanism (RFC 2831) with ZooKeeper's
 * parameters, and the user table from the JAAS file. sasl.h describes the
 * exchange and what is and is not supported.
 *
 * Wire format this file owns (the SASL token bytes inside GetSASLRequest /
 * SetSASLResponse, which auth.c frames):
 *   challenge    realm="zk-sasl-md5",nonce="N",charset=utf-8,algorithm=md5-sess
 *                N: 40 characters, base64 (A-Z a-z 0-9 + /) of 30 random bytes
 *   client reply comma-separated directives (srv_dmd5_parse); the ones read
 *                are username, realm, nonce, cnonce, nonce-count, qop,
 *                digest-uri, response, maxbuf, charset, cipher, authzid
 *   final        rspauth=H, H = 32 lower-case hex digits
 * response-value = HEX(MD5(HEX(MD5(A1)) ":" nonce ":" "00000001" ":" cnonce
 *                  ":" qop ":" HEX(MD5(A2)))), with
 *   A1 = MD5(user ":" realm ":" password) ":" nonce ":" cnonce [":" authzid]
 *   A2 = "AUTHENTICATE:" digest-uri for the client's response, ":" digest-uri
 *        for rspauth.
 * The nonce count is always 1 (only initial authentication), which is why
 * Java computes with "00000001" whatever "nc" the client sent.
 *
 * Untrusted input: a token is at most SRV_SASL_MAX_RESP bytes; every value
 * is (pointer, length) into a copy; the digest is compared in constant time.
 */
#include "server/sasl.h"

#include "server/jaas.h"
#include "wire/wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIGEST_LOGIN_MODULE "org.apache.zookeeper.server.auth.DigestLoginModule"
#define SASL_REALM          "zk-sasl-md5"
#define SASL_DIGEST_URI     "zookeeper/" SASL_REALM
#define USER_PREFIX         "user_"

typedef struct sasl_user {
    char *name, *password;
} sasl_user;

struct srv_sasl {
    sasl_user *users;
    int n_users, cap_users;
    bool remove_host, remove_realm;
};

struct srv_sasl_conn {
    int step; /* Java's numbering: 1 before the challenge, 3 after it, 0 once over */
    char nonce[SRV_SASL_NONCE_LEN + 1];
    char *id;
    char user[129]; /* printable copy for log lines */
    char error[256];
};

/* ---- server-wide --------------------------------------------------------- */

static int add_user(srv_sasl *s, const char *name, const char *password)
{
    for (int i = 0; i < s->n_users; i++) {
        if (strcmp(s->users[i].name, name) == 0) {
            char *p = strdup(password);
            if (p == NULL)
                return ZERR_NOMEM;
            free(s->users[i].password);
            s->users[i].password = p;
            return 0;
        }
    }
    if (s->n_users == s->cap_users) {
        int cap = s->cap_users > 0 ? s->cap_users * 2 : 8;
        sasl_user *u = realloc(s->users, (size_t)cap * sizeof *u);
        if (u == NULL)
            return ZERR_NOMEM;
        s->users = u;
        s->cap_users = cap;
    }
    char *n = strdup(name), *p = strdup(password);
    if (n == NULL || p == NULL) {
        free(n);
        free(p);
        return ZERR_NOMEM;
    }
    s->users[s->n_users++] = (sasl_user){n, p};
    return 0;
}

static const sasl_user *find_user(const srv_sasl *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n_users; i++)
        if (strlen(s->users[i].name) == len && memcmp(s->users[i].name, name, len) == 0)
            return &s->users[i];
    return NULL;
}

void srv_sasl_free(srv_sasl *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->n_users; i++) {
        free(s->users[i].name);
        OPENSSL_cleanse(s->users[i].password, strlen(s->users[i].password));
        free(s->users[i].password);
    }
    free(s->users);
    free(s);
}

int srv_sasl_n_users(const srv_sasl *s)
{
    return s->n_users;
}

int srv_sasl_new(const srv_sasl_opts *o, srv_sasl **out, char *warn, size_t warn_len, char *err,
                 size_t err_len)
{
    srv_jaas *j = NULL;
    srv_sasl *s = NULL;
    if (warn_len > 0)
        warn[0] = '\0';
    if (err_len > 0)
        err[0] = '\0';
    int rc = srv_jaas_load(o->jaas_path, &j, err, err_len);
    if (rc != 0)
        goto out;
    int sec = srv_jaas_section(j, o->section);
    if (sec < 0) {
        snprintf(warn, warn_len,
                 "%s has no login module in a section named '%s': SASL authentication is not "
                 "offered",
                 o->jaas_path, o->section);
        *out = NULL;
        goto out;
    }
    rc = ZERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL)
        goto out;
    s->remove_host = o->remove_host;
    s->remove_realm = o->remove_realm;
    for (int m = 0; m < srv_jaas_n_modules(j, sec); m++) {
        const char *cls = srv_jaas_module_class(j, sec, m);
        if (strcmp(cls, DIGEST_LOGIN_MODULE) != 0) {
            snprintf(err, err_len,
                     "%s:%d: section '%s' uses login module %s; zabd serves only DIGEST-MD5 "
                     "through " DIGEST_LOGIN_MODULE,
                     o->jaas_path, srv_jaas_section_line(j, sec), o->section, cls);
            rc = -1;
            goto out;
        }
        for (int i = 0; i < srv_jaas_n_options(j, sec, m); i++) {
            const char *k, *v;
            srv_jaas_option(j, sec, m, i, &k, &v);
            if (strncmp(k, USER_PREFIX, strlen(USER_PREFIX)) == 0 &&
                add_user(s, k + strlen(USER_PREFIX), v) != 0)
                goto out;
        }
    }
    /* SaslServerCallbackHandler: the property replaces user_super's
     * password, and only when that user exists. */
    for (int i = 0; o->super_password != NULL && i < s->n_users; i++) {
        if (strcmp(s->users[i].name, "super") == 0) {
            char *p = strdup(o->super_password);
            if (p == NULL)
                goto out;
            free(s->users[i].password);
            s->users[i].password = p;
        }
    }
    if (s->n_users == 0)
        snprintf(warn, warn_len,
                 "%s: section '%s' has no user_<name>=\"<password>\" entry: every SASL login will "
                 "fail",
                 o->jaas_path, o->section);
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (rc == ZERR_NOMEM && err_len > 0)
        snprintf(err, err_len, "%s: out of memory", o->jaas_path);
    srv_sasl_free(s);
    srv_jaas_free(j);
    return rc;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int srv_sasl_nonce(char out[SRV_SASL_NONCE_LEN + 1])
{
    uint8_t raw[SRV_SASL_NONCE_LEN / 4 * 3];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    for (size_t i = 0, j = 0; i < sizeof raw; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int k = 3; k >= 0; k--)
            out[j++] = b64[v >> (6 * k) & 0x3f];
    }
    out[SRV_SASL_NONCE_LEN] = '\0';
    return 0;
}

/* ---- directives ------------------------------------------------------------ */

static const char *const dmd5_keys[DMD5_N_KEYS] = {
    "username",   "realm",    "nonce",  "cnonce",  "nonce-count", "qop",
    "digest-uri", "response", "maxbuf", "charset", "cipher",      "authzid",
};

static bool is_lws(uint8_t b)
{
    return b == '\r' || b == '\n' || b == ' ' || b == '\t';
}

static size_t skip_lws(const uint8_t *p, size_t len, size_t i)
{
    while (i < len && is_lws(p[i]))
        i++;
    return i;
}

static void fmt(char *err, size_t err_len, const char *f, ...)
{
    if (err_len == 0)
        return;
    va_list ap;
    va_start(ap, f);
    vsnprintf(err, err_len, f, ap);
    va_end(ap);
}

/* Printable and bounded, for messages: other bytes become '?'. */
static void printable(const char *p, size_t len, char *out, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)p[i] >= ' ' && (unsigned char)p[i] < 0x7f ? p[i] : '?';
    out[n] = '\0';
}

static int extract(const char *key, size_t klen, const char *v, size_t vlen,
                   srv_dmd5_value out[DMD5_N_KEYS], char *err, size_t err_len)
{
    for (int i = 0; i < DMD5_N_KEYS; i++) {
        if (strlen(dmd5_keys[i]) != klen || strncasecmp(dmd5_keys[i], key, klen) != 0)
            continue;
        if (out[i].p != NULL) {
            char pv[64];
            printable(v, vlen, pv, sizeof pv);
            fmt(err, err_len, "DIGEST-MD5: peer sent more than one %s directive: %s", dmd5_keys[i],
                pv);
            return -1;
        }
        out[i] = (srv_dmd5_value){v, vlen};
        return 0;
    }
    return 0; /* auth-param and anything unknown: ignored */
}

int srv_dmd5_parse(const uint8_t *p, size_t len, char *scratch, srv_dmd5_value out[DMD5_N_KEYS],
                   char *err, size_t err_len)
{
    memset(out, 0, DMD5_N_KEYS * sizeof *out);
    size_t o = 0, key_at = 0, key_len = 0, val_at = 0;
    bool getting_key = true, quoted = false, expect_sep = false;
    char pk[64];
    size_t i = skip_lws(p, len, 0);
    /* Keys and values are both copied into scratch: a key at key_at, then
     * its value at val_at. Together they never exceed the input. */
    while (i < len) {
        uint8_t c = p[i];
        if (getting_key) {
            if (c == ',') {
                if (key_len != 0) {
                    printable(scratch + key_at, key_len, pk, sizeof pk);
                    fmt(err, err_len, "Directive key contains a ',': %s", pk);
                    return -1;
                }
                i = skip_lws(p, len, i + 1);
            } else if (c == '=') {
                if (key_len == 0) {
                    fmt(err, err_len, "Empty directive key");
                    return -1;
                }
                getting_key = false;
                val_at = o;
                i = skip_lws(p, len, i + 1);
                if (i >= len) {
                    printable(scratch + key_at, key_len, pk, sizeof pk);
                    fmt(err, err_len, "Valueless directive found: %s", pk);
                    return -1;
                }
                if (p[i] == '"') {
                    quoted = true;
                    i++;
                }
            } else if (is_lws(c)) {
                i = skip_lws(p, len, i + 1);
                if (i >= len || p[i] != '=') {
                    printable(scratch + key_at, key_len, pk, sizeof pk);
                    fmt(err, err_len, "'=' expected after key: %s", pk);
                    return -1;
                }
            } else {
                if (key_len == 0)
                    key_at = o;
                scratch[o++] = (char)c;
                key_len++;
                i++;
            }
        } else if (quoted) {
            if (c == '\\') {
                if (++i >= len) {
                    fmt(err, err_len, "Unmatched quote found for directive");
                    return -1;
                }
                scratch[o++] = (char)p[i++];
            } else if (c == '"') {
                i++;
                quoted = false;
                expect_sep = true;
            } else {
                scratch[o++] = (char)c;
                i++;
            }
        } else if (is_lws(c) || c == ',') {
            if (extract(scratch + key_at, key_len, scratch + val_at, o - val_at, out, err,
                        err_len) != 0)
                return -1;
            key_len = 0;
            getting_key = true;
            quoted = expect_sep = false;
            i = skip_lws(p, len, i + 1);
        } else if (expect_sep) {
            fmt(err, err_len, "Expecting comma or linear whitespace after quoted string");
            return -1;
        } else {
            scratch[o++] = (char)c;
            i++;
        }
    }
    if (quoted) {
        fmt(err, err_len, "Unmatched quote found for directive");
        return -1;
    }
    /* The last pair (a key without '=' at the end is taken with an empty
     * value, as Java does). */
    if (key_len > 0)
        return extract(scratch + key_at, key_len, getting_key ? scratch + o : scratch + val_at,
                       getting_key ? 0 : o - val_at, out, err, err_len);
    return 0;
}

/* ---- digests ----------------------------------------------------------------- */

/* One UTF-8 character at p[0..n): its code point and length. A byte that
 * does not start a well-formed character counts as U+FFFD of length 1, as
 * Java's decoder replaces it. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t k = p[0] < 0x80             ? 1
               : (p[0] & 0xe0) == 0xc0 ? 2
               : (p[0] & 0xf0) == 0xe0 ? 3
               : (p[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    uint32_t c = k == 1 ? p[0] : k == 2 ? p[0] & 0x1fu : k == 3 ? p[0] & 0x0fu : p[0] & 0x07u;
    for (size_t i = 1; k > 1 && i < k; i++) {
        if (i >= n || (p[i] & 0xc0) != 0x80) {
            k = 0;
            break;
        }
        c = c << 6 | (p[i] & 0x3fu);
    }
    if (k == 0 || c < min_cp[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        *cp = 0xfffd;
        return 1;
    }
    *cp = c;
    return k;
}

/* DigestMD5Base.stringToByte_8859_1 on a UTF-8 string: ISO-8859-1 bytes
 * when every character is below U+0100, else UTF-8. */
static int md5_latin1_or_utf8(EVP_MD_CTX *md, srv_dmd5_value v)
{
    const uint8_t *p = (const uint8_t *)v.p;
    bool latin1 = true;
    uint32_t cp;
    for (size_t i = 0; i < v.len && latin1; i += utf8_next(p + i, v.len - i, &cp))
        latin1 = (utf8_next(p + i, v.len - i, &cp), cp <= 0xff);
    uint8_t *tmp = malloc(v.len * 3 + 1);
    if (tmp == NULL)
        return ZERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0, k; i < v.len; i += k) {
        k = utf8_next(p + i, v.len - i, &cp);
        if (latin1) {
            tmp[n++] = (uint8_t)cp;
        } else if (cp == 0xfffd && k == 1) {
            memcpy(tmp + n, "\xef\xbf\xbd", 3);
            n += 3;
        } else {
            memcpy(tmp + n, p + i, k);
            n += k;
        }
    }
    int rc = EVP_DigestUpdate(md, tmp, n) == 1 ? 0 : ZERR_NOMEM;
    OPENSSL_cleanse(tmp, n);
    free(tmp);
    return rc;
}

static bool md5_part(EVP_MD_CTX *md, const void *p, size_t n)
{
    return EVP_DigestUpdate(md, p, n) == 1;
}

static void to_hex(const uint8_t d[16], char hex[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[32] = '\0';
}

static bool md5_begin(EVP_MD_CTX *md)
{
    return EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1;
}

static bool md5_end(EVP_MD_CTX *md, uint8_t d[16])
{
    unsigned int n = 0;
    return EVP_DigestFinal_ex(md, d, &n) == 1 && n == 16;
}

int srv_dmd5_response_value(const srv_dmd5_in *in, bool for_client, char hex[33])
{
    int rc = ZERR_NOMEM;
    uint8_t d[16];
    char ha1[33], ha2[33];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL)
        goto out;
    /* A2 */
    const char *method = for_client ? "AUTHENTICATE:" : ":";
    if (!md5_begin(md) || !md5_part(md, method, strlen(method)) ||
        !md5_part(md, in->uri.p, in->uri.len) || !md5_end(md, d))
        goto out;
    to_hex(d, ha2);
    /* H(user:realm:password), then A1 */
    if (!md5_begin(md) || md5_latin1_or_utf8(md, in->user) != 0 || !md5_part(md, ":", 1) ||
        md5_latin1_or_utf8(md, in->realm) != 0 || !md5_part(md, ":", 1) ||
        md5_latin1_or_utf8(md, in->password) != 0 || !md5_end(md, d))
        goto out;
    if (!md5_begin(md) || !md5_part(md, d, 16) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->nonce.p, in->nonce.len) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->cnonce.p, in->cnonce.len))
        goto out;
    if (in->authzid.p != NULL &&
        (!md5_part(md, ":", 1) || !md5_part(md, in->authzid.p, in->authzid.len)))
        goto out;
    if (!md5_end(md, d))
        goto out;
    to_hex(d, ha1);
    /* KD */
    if (!md5_begin(md) || !md5_part(md, ha1, 32) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->nonce.p, in->nonce.len) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->nc.p, in->nc.len) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->cnonce.p, in->cnonce.len) || !md5_part(md, ":", 1) ||
        !md5_part(md, in->qop.p, in->qop.len) || !md5_part(md, ":", 1) || !md5_part(md, ha2, 32) ||
        !md5_end(md, d))
        goto out;
    to_hex(d, hex);
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    OPENSSL_cleanse(d, sizeof d);
    OPENSSL_cleanse(ha1, sizeof ha1);
    return rc;
}

/* ---- identities ---------------------------------------------------------------- */

int srv_sasl_authorized_id(const char *user, bool remove_host, bool remove_realm, char *out,
                           size_t cap)
{
    const char *at = strchr(user, '@');
    if (at == NULL || strchr(at + 1, '@') != NULL || strchr(at + 1, '/') != NULL) {
        /* KerberosName: no match of "s[/h]@r". Without '@' the name is
         * simple and kept whole; with one it is malformed. */
        if (at != NULL)
            return -1;
        snprintf(out, cap, "%s", user);
        return 0;
    }
    const char *slash = memchr(user, '/', (size_t)(at - user));
    if (slash != NULL && memchr(slash + 1, '/', (size_t)(at - slash - 1)) != NULL)
        return -1;
    if (at[1] != '\0') {
        /* A realm other than the (empty) default realm: no mapping rule
         * applies and ZooKeeper keeps the name. */
        snprintf(out, cap, "%s", user);
        return 0;
    }
    size_t svc = slash != NULL ? (size_t)(slash - user) : (size_t)(at - user);
    int n;
    if (slash != NULL && !remove_host)
        n = snprintf(out, cap, "%.*s/%.*s%s", (int)svc, user, (int)(at - slash - 1), slash + 1,
                     remove_realm ? "" : "@");
    else
        n = snprintf(out, cap, "%.*s%s", (int)svc, user, remove_realm ? "" : "@");
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

/* ---- the exchange ------------------------------------------------------------------ */

srv_sasl_conn *srv_sasl_conn_new(void)
{
    srv_sasl_conn *x = calloc(1, sizeof *x);
    if (x != NULL)
        x->step = 1;
    return x;
}

void srv_sasl_conn_free(srv_sasl_conn *x)
{
    if (x == NULL)
        return;
    free(x->id);
    free(x);
}

const char *srv_sasl_conn_id(const srv_sasl_conn *x)
{
    return x->id != NULL ? x->id : "";
}

const char *srv_sasl_conn_user(const srv_sasl_conn *x)
{
    return x->user;
}

const char *srv_sasl_conn_error(const srv_sasl_conn *x)
{
    return x->error;
}

static bool val_is(srv_dmd5_value v, const char *s)
{
    return v.p != NULL && v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* Integer.parseInt(s, radix): optional sign, one digit or more, int32. */
static bool java_parse_int(srv_dmd5_value v, int radix, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (v.len > 0 && (v.p[0] == '+' || v.p[0] == '-'))
        neg = v.p[i++] == '-';
    if (i == v.len)
        return false;
    int64_t n = 0;
    for (; i < v.len; i++) {
        int c = (unsigned char)v.p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (radix == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return false;
        n = n * radix + d;
        if (n > (int64_t)INT32_MAX + 1)
            return false;
    }
    n = neg ? -n : n;
    if (n > INT32_MAX)
        return false;
    *out = n;
    return true;
}

#define VIOLATION "DIGEST-MD5: digest response format violation. "

static enum srv_sasl_result refuse(srv_sasl_conn *x, enum srv_sasl_result r, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(x->error, sizeof x->error, f, ap);
    va_end(ap);
    return r;
}

/* DigestMD5Server.validateClientResponse, check for check. */
static enum srv_sasl_result validate(const srv_sasl *s, srv_sasl_conn *x, srv_dmd5_value *v,
                                     uint8_t *out, size_t *out_len)
{
    char pv[64];
    int64_t n;
#define SHOW(val) (printable((val).p, (val).len, pv, sizeof pv), pv)
    if (v[DMD5_CHARSET].p != NULL && !val_is(v[DMD5_CHARSET], "utf-8"))
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Incompatible charset value: %s",
                      SHOW(v[DMD5_CHARSET]));
    if (v[DMD5_MAXBUF].p != NULL && !java_parse_int(v[DMD5_MAXBUF], 10, &n))
        return refuse(x, SRV_SASL_BROKEN, "NumberFormatException: For input string: \"%s\"",
                      SHOW(v[DMD5_MAXBUF]));
    if (v[DMD5_USERNAME].p == NULL)
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Missing username.");
    printable(v[DMD5_USERNAME].p, v[DMD5_USERNAME].len, x->user, sizeof x->user);
    srv_dmd5_value realm = v[DMD5_REALM].p != NULL ? v[DMD5_REALM] : (srv_dmd5_value){"", 0};
    if (!val_is(realm, SASL_REALM))
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Nonexistent realm: %s", SHOW(realm));
    if (v[DMD5_NONCE].p == NULL)
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Missing nonce.");
    if (!val_is(v[DMD5_NONCE], x->nonce))
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Mismatched nonce.");
    if (v[DMD5_CNONCE].p == NULL)
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Missing cnonce.");
    if (v[DMD5_NONCE_COUNT].p != NULL) {
        if (!java_parse_int(v[DMD5_NONCE_COUNT], 16, &n))
            return refuse(x, SRV_SASL_BROKEN, "NumberFormatException: For input string: \"%s\"",
                          SHOW(v[DMD5_NONCE_COUNT]));
        if (n != 1)
            return refuse(x, SRV_SASL_FAILED, VIOLATION "Nonce count does not match: %s",
                          SHOW(v[DMD5_NONCE_COUNT]));
    }
    srv_dmd5_value qop = v[DMD5_QOP].p != NULL ? v[DMD5_QOP] : (srv_dmd5_value){"auth", 4};
    if (val_is(qop, "auth-int") || val_is(qop, "auth-conf"))
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: server does not support  qop: %s",
                      SHOW(qop));
    if (!val_is(qop, "auth"))
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Invalid QOP: %s", SHOW(qop));
    srv_dmd5_value uri = v[DMD5_DIGEST_URI];
    if (uri.p == NULL || uri.len != strlen(SASL_DIGEST_URI) ||
        strncasecmp(uri.p, SASL_DIGEST_URI, uri.len) != 0)
        return refuse(x, SRV_SASL_FAILED,
                      VIOLATION "Mismatched URI: %s; expecting: " SASL_DIGEST_URI,
                      uri.p != NULL ? SHOW(uri) : "null");
    if (v[DMD5_RESPONSE].p == NULL)
        return refuse(x, SRV_SASL_FAILED,
                      "DIGEST-MD5: digest response format  violation. "
                      "Missing response.");
    const sasl_user *u = find_user(s, v[DMD5_USERNAME].p, v[DMD5_USERNAME].len);
    if (u == NULL)
        return refuse(x, SRV_SASL_FAILED,
                      "DIGEST-MD5: cannot acquire password for %s in realm : " SASL_REALM
                      " (no user_%s entry)",
                      x->user, x->user);
    srv_dmd5_in in = {
        .user = v[DMD5_USERNAME],
        .realm = realm,
        .password = {u->password, strlen(u->password)},
        .nonce = v[DMD5_NONCE],
        .cnonce = v[DMD5_CNONCE],
        .nc = {"00000001", 8},
        .qop = qop,
        .uri = uri,
        .authzid = v[DMD5_AUTHZID],
    };
    char want[33];
    if (srv_dmd5_response_value(&in, true, want) != 0)
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: out of memory");
    bool match = v[DMD5_RESPONSE].len == 32 && CRYPTO_memcmp(v[DMD5_RESPONSE].p, want, 32) == 0;
    OPENSSL_cleanse(want, sizeof want);
    if (!match)
        return refuse(x, SRV_SASL_FAILED, VIOLATION "Mismatched response.");
    char id[SRV_SASL_MAX_RESP + 2];
    if (srv_sasl_authorized_id(u->name, s->remove_host, s->remove_realm, id, sizeof id) != 0)
        return refuse(x, SRV_SASL_BROKEN, "IllegalArgumentException: Malformed Kerberos name: %s",
                      x->user);
    if ((x->id = strdup(id)) == NULL)
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: out of memory");
    char rsp[33];
    if (srv_dmd5_response_value(&in, false, rsp) != 0)
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: out of memory");
    *out_len = (size_t)snprintf((char *)out, SRV_SASL_TOKEN_CAP, "rspauth=%s", rsp);
    return SRV_SASL_DONE;
#undef SHOW
}

enum srv_sasl_result srv_sasl_step(const srv_sasl *s, srv_sasl_conn *x, const uint8_t *tok,
                                   size_t len, const char *nonce, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    x->error[0] = '\0';
    if (len > SRV_SASL_MAX_RESP)
        return refuse(x, SRV_SASL_FAILED,
                      "DIGEST-MD5: Invalid digest response length. Got:  %zu Expected < %d", len,
                      SRV_SASL_MAX_RESP);
    if (x->step == 1) {
        /* A client's initial response is ignored (RFC 2831 2.2: no
         * subsequent authentication), as in Java. */
        memcpy(x->nonce, nonce, SRV_SASL_NONCE_LEN);
        x->nonce[SRV_SASL_NONCE_LEN] = '\0';
        *out_len = (size_t)snprintf((char *)out, SRV_SASL_TOKEN_CAP,
                                    "realm=\"" SASL_REALM "\",nonce=\"%s\",charset=utf-8,"
                                    "algorithm=md5-sess",
                                    x->nonce);
        x->step = 3;
        return SRV_SASL_CONTINUE;
    }
    if (x->step != 3)
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: Server at illegal state");
    x->step = 0; /* one try per challenge, whatever the outcome */
    char *scratch = malloc(len + 1);
    if (scratch == NULL)
        return refuse(x, SRV_SASL_FAILED, "DIGEST-MD5: out of memory");
    srv_dmd5_value v[DMD5_N_KEYS];
    enum srv_sasl_result r;
    if (srv_dmd5_parse(tok, len, scratch, v, x->error, sizeof x->error) != 0)
        r = SRV_SASL_FAILED;
    else
        r = validate(s, x, v, out, out_len);
    free(scratch);
    return r;
}
