/*
 * server/sasl: SASL DIGEST-MD5 (RFC 2831) the way Apache ZooKeeper 3.8's
 * server speaks it (Java's DigestMD5Server created with protocol
 * "zookeeper", server name "zk-sasl-md5" and no properties).
 *
 * Use:
 *   srv_sasl *s;                                  // once, at start-up
 *   srv_sasl_opts o = {.jaas_path = "jaas.conf", .section = "Server"};
 *   if (srv_sasl_new(&o, &s, warn, sizeof warn, err, sizeof err) != 0) die(err);
 *   // s is NULL when the file has no such section: ZooKeeper then offers
 *   // no SASL either, and warn says why.
 *
 *   srv_sasl_conn *x = srv_sasl_conn_new();       // per connection
 *   char nonce[SRV_SASL_NONCE_LEN + 1];
 *   srv_sasl_nonce(nonce);
 *   uint8_t tok[SRV_SASL_TOKEN_CAP]; size_t n;
 *   switch (srv_sasl_step(s, x, in, in_len, nonce, tok, &n)) { ... }
 *   srv_sasl_conn_free(x);
 *
 * The exchange, as ZooKeeper runs it:
 *   1. The client's first token (Java and kazoo send it empty; anything is
 *      accepted, as Java ignores an initial response) gets the challenge
 *        realm="zk-sasl-md5",nonce="<40 base64 chars>",charset=utf-8,algorithm=md5-sess
 *      (no qop directive: only "auth" is offered).
 *   2. The client's digest-response is checked in DigestMD5Server's order;
 *      success answers "rspauth=<32 hex>" and names the authorised id,
 *      which becomes the connection's ("sasl", id).
 *   3. Any further token fails ("illegal state"), as in Java.
 *
 * Supported: qop=auth only (auth-int and auth-conf are refused, as a
 * ZooKeeper server with default properties refuses them), charset=utf-8,
 * authzid (bound into A1; the authorised id is still the authenticated
 * user, as ZooKeeper's callback handler makes it), usernames and passwords
 * in UTF-8 (hashed as ISO-8859-1 when every character fits, as Java does).
 * Not supported: subsequent authentication (RFC 2831 2.2), integrity and
 * confidentiality layers, GSSAPI/Kerberos, Kerberos name mapping rules
 * (auth_to_local). Responses over 4096 bytes are refused, as in Java.
 */
#ifndef ZABD_SERVER_SASL_H
#define ZABD_SERVER_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SRV_SASL_NONCE_LEN = 40,  /* base64 of 30 random bytes, as Java makes it */
    SRV_SASL_TOKEN_CAP = 256, /* room for any token srv_sasl_step writes */
    SRV_SASL_MAX_RESP = 4096, /* DigestMD5Base.MAX_RESPONSE_LENGTH */
};

/* ---- Server-wide state --------------------------------------------------- */

typedef struct srv_sasl srv_sasl; /* layout in sasl.c */

typedef struct srv_sasl_opts {
    const char *jaas_path;      /* the JAAS file */
    const char *section;        /* its section: zookeeper.sasl.serverconfig, default "Server" */
    const char *super_password; /* zookeeper.SASLAuthenticationProvider.superPassword, or NULL:
                                 * replaces the password of user_super when that exists */
    bool remove_host;           /* zookeeper.kerberos.removeHostFromPrincipal */
    bool remove_realm;          /* zookeeper.kerberos.removeRealmFromPrincipal */
} srv_sasl_opts;

/* Reads the JAAS file and the user_<name>="<password>" options of every
 * login module in the section (a later module's entry for the same user
 * wins, as in ZooKeeper's SaslServerCallbackHandler).
 * Returns 0 and sets *out; *out is NULL when the file has no such section
 * (ZooKeeper then starts without SASL): warn says so. warn also notes a
 * section without any user_ entry (every login will fail). Returns -1 with
 * err naming the file (and line) when it cannot be read or parsed, or when
 * the section uses a login module other than ZooKeeper's DigestLoginModule;
 * ZERR_NOMEM when out of memory. warn and err are always NUL-terminated. */
int srv_sasl_new(const srv_sasl_opts *o, srv_sasl **out, char *warn, size_t warn_len, char *err,
                 size_t err_len);
void srv_sasl_free(srv_sasl *s); /* NULL is a no-op */
int srv_sasl_n_users(const srv_sasl *s);

/* SRV_SASL_NONCE_LEN base64 characters from 30 bytes of RAND_bytes,
 * NUL-terminated. Returns 0, or -1 when OpenSSL has no randomness. */
int srv_sasl_nonce(char out[SRV_SASL_NONCE_LEN + 1]);

/* ---- One connection's exchange -------------------------------------------- */

typedef struct srv_sasl_conn srv_sasl_conn; /* layout in sasl.c */

srv_sasl_conn *srv_sasl_conn_new(void);    /* NULL when out of memory */
void srv_sasl_conn_free(srv_sasl_conn *x); /* NULL is a no-op */

enum srv_sasl_result {
    SRV_SASL_CONTINUE, /* send out[0..n) and wait for the client's next token */
    SRV_SASL_DONE,     /* authenticated: send out[0..n); srv_sasl_conn_id names the id */
    SRV_SASL_FAILED,   /* where Java's SaslServer throws SaslException: ZooKeeper
                        * answers AUTHFAILED and closes */
    SRV_SASL_BROKEN,   /* where Java throws something else (a malformed maxbuf or
                        * nonce-count number, a malformed Kerberos name): ZooKeeper
                        * closes the connection without a reply */
};

/* Feeds the client's token tok[0..len). nonce (SRV_SASL_NONCE_LEN chars) is
 * used only if this step issues the challenge. Writes at most
 * SRV_SASL_TOKEN_CAP bytes to out and their count to *out_len. O(len). */
enum srv_sasl_result srv_sasl_step(const srv_sasl *s, srv_sasl_conn *x, const uint8_t *tok,
                                   size_t len, const char *nonce, uint8_t *out, size_t *out_len);

/* After SRV_SASL_DONE: the authorised id, NUL-terminated. */
const char *srv_sasl_conn_id(const srv_sasl_conn *x);
/* The username of the last digest-response ("" if none), for log lines. */
const char *srv_sasl_conn_user(const srv_sasl_conn *x);
/* Why the last step failed, in Java's words where it has them. */
const char *srv_sasl_conn_error(const srv_sasl_conn *x);

/* ---- The pieces, exposed for unit tests and fuzzing ------------------------- */

/* Directives of a digest-response, in DigestMD5Server's order. */
enum srv_dmd5_key {
    DMD5_USERNAME,
    DMD5_REALM,
    DMD5_NONCE,
    DMD5_CNONCE,
    DMD5_NONCE_COUNT, /* "nonce-count": Java's table never names "nc", so nc is ignored */
    DMD5_QOP,
    DMD5_DIGEST_URI,
    DMD5_RESPONSE,
    DMD5_MAXBUF,
    DMD5_CHARSET,
    DMD5_CIPHER,
    DMD5_AUTHZID,
    DMD5_N_KEYS
};

typedef struct srv_dmd5_value {
    const char *p; /* into the caller's scratch; NULL when the directive is absent */
    size_t len;
} srv_dmd5_value;

/* Parses "key=value,key="quoted",..." as DigestMD5Base.parseDirectives does:
 * keys case-insensitive, linear white space around tokens, backslash quoting
 * inside quotes, empty elements skipped, unknown keys ignored, a known key
 * twice is an error. Values are unescaped into scratch (len bytes).
 * Returns 0, or -1 with a message in err. */
int srv_dmd5_parse(const uint8_t *p, size_t len, char *scratch, srv_dmd5_value out[DMD5_N_KEYS],
                   char *err, size_t err_len);

/* The 32 lower-case hex digits of an RFC 2831 response-value. Strings are
 * (pointer, length); user, realm and password are UTF-8 and hashed as
 * ISO-8859-1 when every character fits. authzid may be NULL. for_client
 * chooses A2 = "AUTHENTICATE:" uri (the client's response) or ":" uri
 * (the server's rspauth). qop must be "auth". */
typedef struct srv_dmd5_in {
    srv_dmd5_value user, realm, password, nonce, cnonce, nc, qop, uri, authzid;
} srv_dmd5_in;
int srv_dmd5_response_value(const srv_dmd5_in *in, bool for_client, char hex[33]);

/* ZooKeeper's canonical form of an authenticated user name (its callback
 * handler's KerberosName rules, without a Kerberos configuration): the
 * name itself when it holds no '@'; "name[/host]@" when its realm part is
 * empty (host and '@' dropped by the remove_* flags); the name as given
 * when the realm is not empty. Returns 0, or -1 for a name with '@' that
 * is not a Kerberos name (Java throws IllegalArgumentException). */
int srv_sasl_authorized_id(const char *user, bool remove_host, bool remove_realm, char *out,
                           size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ZABD_SERVER_SASL_H */
