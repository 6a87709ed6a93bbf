/*
 * server/config.c: zoo.cfg parsing, defaults, validation and the "conf"
 * four-letter word body.
 *
 * The file format is java.util.Properties (what ZooKeeper's
 * QuorumPeerConfig.parse loads): natural lines end in \n, \r or \r\n; a
 * line whose first non-blank character is '#' or '!' is a comment; a line
 * ending in an odd number of backslashes continues on the next one (whose
 * leading blanks are dropped); the key ends at the first unescaped '=', ':'
 * or blank, after which blanks and one '=' or ':' are skipped; \t \n \r \f
 * and \uXXXX are escapes and any other backslash just quotes the next
 * character. ZooKeeper then trims key and value, and so do we.
 *
 * Keys are matched by a table. Keys that ZooKeeper turns into "zookeeper.*"
 * system properties (snapCount, jute.maxbuffer, globalOutstandingLimit, ...)
 * are read by Java with Integer.decode, so those also take 0x hex here.
 *
 * The quorum keys (server.N, peerType, electionAlg, myid and the mode)
 * are config_quorum.c's. Not done here: binding, resolving
 * clientPortAddress, creating dataDir.
 */
#include "server/config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/wire.h"

#define CFG_MAX_FILE_BYTES (4u << 20)
enum cfg_kind {
    CFG_INT,     /* decimal int32, Integer.parseInt */
    CFG_INT_DEC, /* decimal or 0x hex, Integer.decode (system properties) */
    CFG_BOOL,    /* true/false, any case */
    CFG_YESNO,   /* a "zookeeper.*" yes/no property: only "no" is false */
    CFG_STR,     /* non-empty string */
    CFG_STR_ANY, /* string, may be empty */
    CFG_DIR,     /* non-empty path; relative ones get a warning */
    CFG_DIGEST,  /* "user:digest" */
    CFG_JBOOL,   /* Java's Boolean.parseBoolean: "true" in any case, anything else false */
};

typedef struct cfg_key {
    const char *name;
    enum cfg_kind kind;
    size_t off;
    int64_t min, max; /* for ints */
} cfg_key;

#define F(field) offsetof(srv_config, field)
#define IMAX     INT32_MAX

/* Session timeouts accept -1: ZooKeeper's own "unset" marker. */
static const cfg_key keys[] = {
    {"tickTime", CFG_INT, F(tick_time_ms), 1, IMAX},
    {"dataDir", CFG_DIR, F(data_dir), 0, 0},
    {"dataLogDir", CFG_DIR, F(data_log_dir), 0, 0},
    {"clientPort", CFG_INT, F(client_port), 1, 65535},
    {"clientPortAddress", CFG_STR, F(client_port_address), 0, 0},
    {"maxClientCnxns", CFG_INT, F(max_client_cnxns), 0, IMAX},
    {"minSessionTimeout", CFG_INT, F(min_session_timeout_ms), -1, IMAX},
    {"maxSessionTimeout", CFG_INT, F(max_session_timeout_ms), -1, IMAX},
    {"snapCount", CFG_INT_DEC, F(snap_count), 2, IMAX},
    {"autopurge.snapRetainCount", CFG_INT, F(autopurge_snap_retain_count), INT32_MIN, IMAX},
    {"autopurge.purgeInterval", CFG_INT, F(autopurge_purge_interval_h), INT32_MIN, IMAX},
    {"jute.maxbuffer", CFG_INT_DEC, F(jute_maxbuffer), 1, IMAX},
    {"4lw.commands.whitelist", CFG_STR_ANY, F(four_letter_whitelist), 0, 0},
    {"DigestAuthenticationProvider.superDigest", CFG_DIGEST, F(super_digest), 0, 0},
    {"extendedTypesEnabled", CFG_BOOL, F(extended_types_enabled), 0, 0},
    {"znode.container.checkIntervalMs", CFG_INT_DEC, F(container_check_interval_ms), 1, IMAX},
    {"znode.container.maxPerMinute", CFG_INT_DEC, F(container_max_per_minute), 1, IMAX},
    {"reconfigEnabled", CFG_BOOL, F(reconfig_enabled), 0, 0},
    {"enforceQuota", CFG_BOOL, F(enforce_quota), 0, 0},
    {"globalOutstandingLimit", CFG_INT_DEC, F(global_outstanding_limit), 1, IMAX},
    {"forceSync", CFG_YESNO, F(force_sync), 0, 0},
    {"jaasLoginConfig", CFG_STR, F(jaas_config), 0, 0},
    {"sasl.serverconfig", CFG_STR, F(sasl_section), 0, 0},
    {"SASLAuthenticationProvider.superPassword", CFG_STR_ANY, F(sasl_super_password), 0, 0},
    {"letAnySaslUserDoX", CFG_STR_ANY, F(sasl_any_user_id), 0, 0},
    {"allowSaslFailedClients", CFG_JBOOL, F(allow_sasl_failed_clients), 0, 0},
    {"sessionRequireClientSASLAuth", CFG_JBOOL, F(session_require_sasl), 0, 0},
    {"enforce.auth.enabled", CFG_JBOOL, F(enforce_auth_enabled), 0, 0},
    {"enforce.auth.schemes", CFG_STR_ANY, F(enforce_auth_schemes), 0, 0},
    {"kerberos.removeHostFromPrincipal", CFG_JBOOL, F(kerberos_remove_host), 0, 0},
    {"kerberos.removeRealmFromPrincipal", CFG_JBOOL, F(kerberos_remove_realm), 0, 0},
    {"initLimit", CFG_INT, F(quorum.init_limit), 0, IMAX},
    {"syncLimit", CFG_INT, F(quorum.sync_limit), 0, IMAX},
    {"standaloneEnabled", CFG_BOOL, F(quorum.standalone_enabled), 0, 0},
};

/* JVM system properties ZooKeeper reads that map to zoo.cfg keys above. The
 * ones ZooKeeper reads as "zookeeper.<key>" are the keys after the first
 * entries here. */
static const char *const jvm_props[][2] = {
    {"java.security.auth.login.config", "jaasLoginConfig"},
    {"jute.maxbuffer", "jute.maxbuffer"},
    {"znode.container.checkIntervalMs", "znode.container.checkIntervalMs"},
    {"znode.container.maxPerMinute", "znode.container.maxPerMinute"},
};
static const char *const zk_props[] = {
    "extendedTypesEnabled",
    "snapCount",
    "globalOutstandingLimit",
    "forceSync",
    "DigestAuthenticationProvider.superDigest",
    "sasl.serverconfig",
    "SASLAuthenticationProvider.superPassword",
    "letAnySaslUserDoX",
    "allowSaslFailedClients",
    "sessionRequireClientSASLAuth",
    "enforce.auth.enabled",
    "enforce.auth.schemes",
    "kerberos.removeHostFromPrincipal",
    "kerberos.removeRealmFromPrincipal",
};

#define SASL_PROVIDER "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

/* Keys ZooKeeper 3.8 understands that zabd ignores. Entries ending in '.'
 * match as prefixes. */
static const char *const unused_keys[] = {
    "clientPortListenBacklog",
    "secureClientPort",
    "secureClientPortAddress",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "observerMasterPort",
    "connectToLearnerMasterLimit",
    "electionPortBindRetry",
    "quorumListenOnAllIPs",
    "syncEnabled",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "oraclePath",
    "preAllocSize",
    "maxCnxns",
    "serverCnxnFactory",
    "leaderServes",
    "cnxTimeout",
    "skipACL",
    "fsync.warningthresholdms",
    "tcpKeepAlive",
    "clientTcpKeepAlive",
    "maxResponseCacheSize",
    "maxGetChildrenResponseCacheSize",
    "snapSizeLimitInKb",
    "txnLogSizeLimitInKb",
    "digest.enabled",
    "audit.enable",
    "group.",
    "weight.",
    "admin.",
    "metricsProvider.",
    "quorum.",
    "jvm.pause.",
    "multiAddress.",
    "ssl.",
    "zookeeper.",
};

typedef struct parse_ctx {
    const char *path;
    void (*warn)(void *arg, const char *msg);
    void *warn_arg;
    char *err;
    size_t err_len;
    int line_of[sizeof keys / sizeof keys[0]]; /* 0 = not given */
} parse_ctx;

/* ---- Small helpers ------------------------------------------------------- */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    ZK_ASSERT(d != NULL, "out of memory copying config string");
    return d;
}

static void fail(parse_ctx *p, int line, const char *fmt, ...)
{
    if (p->err == NULL || p->err_len == 0)
        return;
    int n = line > 0 ? snprintf(p->err, p->err_len, "%s:%d: ", p->path, line)
                     : snprintf(p->err, p->err_len, "%s: ", p->path);
    if (n < 0 || (size_t)n >= p->err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
    va_end(ap);
}

static void warnf(parse_ctx *p, int line, const char *fmt, ...)
{
    if (p->warn == NULL)
        return;
    char msg[512];
    int n = line > 0 ? snprintf(msg, sizeof msg, "%s:%d: ", p->path, line)
                     : snprintf(msg, sizeof msg, "%s: ", p->path);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    p->warn(p->warn_arg, msg);
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\f';
}

/* Java's String.trim: drops every char <= ' ' at both ends, in place. */
static char *trim(char *s)
{
    while (*s != '\0' && (unsigned char)*s <= ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        s[--n] = '\0';
    return s;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decodes Properties escapes of s[0..len) into out (at most len + 1 bytes
 * are needed: \uXXXX is 6 bytes in and at most 3 UTF-8 bytes out). */
static int unescape(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\' || i + 1 == len) {
            out[o++] = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) {
        case 't':
            out[o++] = '\t';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) {
                int h = i + 1 < len ? hexval(s[++i]) : -1;
                if (h < 0)
                    return -1; /* Java: "Malformed \uxxxx encoding" */
                cp = cp << 4 | (unsigned)h;
            }
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xc0 | cp >> 6);
                out[o++] = (char)(0x80 | (cp & 0x3f));
            } else {
                out[o++] = (char)(0xe0 | cp >> 12);
                out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
                out[o++] = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            out[o++] = e;
            break;
        }
    }
    out[o] = '\0';
    return 0;
}

/* Integer.parseInt (decimal, optional sign) or, with allow_hex, the 0x/0X/#
 * forms Integer.decode also takes. */
static bool parse_int(const char *s, bool allow_hex, int64_t *out)
{
    const char *q = s;
    bool neg = false;
    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    int base = 10;
    if (allow_hex && (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))) {
        base = 16;
        q += 2;
    } else if (allow_hex && q[0] == '#') {
        base = 16;
        q += 1;
    }
    if (*q == '\0')
        return false;
    int64_t v = 0;
    for (; *q != '\0'; q++) {
        int d = base == 16 ? hexval(*q) : (*q >= '0' && *q <= '9' ? *q - '0' : -1);
        if (d < 0)
            return false;
        v = v * base + d;
        if (v > (int64_t)INT32_MAX + 1)
            return false;
    }
    v = neg ? -v : v;
    if (v > INT32_MAX || v < INT32_MIN)
        return false;
    *out = v;
    return true;
}

/* ---- One key ------------------------------------------------------------- */

static bool is_unused_key(const char *k)
{
    for (size_t i = 0; i < sizeof unused_keys / sizeof unused_keys[0]; i++) {
        const char *u = unused_keys[i];
        size_t n = strlen(u);
        if (u[n - 1] == '.' ? strncmp(k, u, n) == 0 && k[n] != '\0' : strcmp(k, u) == 0)
            return true;
    }
    return false;
}

static void set_str(srv_config *c, size_t off, const char *v)
{
    char **slot = (char **)((char *)c + off);
    free(*slot);
    *slot = xstrdup(v);
}

/* authProvider.N and superUser[.X]: keys with a suffix. Returns 1 when k
 * is one of them (handled), 0 when it is not. */
static int apply_prefixed(parse_ctx *p, srv_config *c, int line, const char *k, const char *v)
{
    if (strncmp(k, "authProvider.", 13) == 0) {
        static const char *const builtin[] = {
            "org.apache.zookeeper.server.auth.IPAuthenticationProvider",
            "org.apache.zookeeper.server.auth.DigestAuthenticationProvider"};
        if (strcmp(v, SASL_PROVIDER) == 0)
            c->sasl_provider = true;
        else if (strcmp(v, builtin[0]) != 0 && strcmp(v, builtin[1]) != 0)
            warnf(p, line, "%s: zabd has no authentication provider %s; ignored", k, v);
        return 1;
    }
    if (strncmp(k, "superUser", 9) != 0 || (k[9] != '\0' && k[9] != '.'))
        return 0;
    int32_t i = 0;
    while (i < c->n_super_users && strcmp(c->super_users[2 * i], k) != 0)
        i++;
    if (i == c->n_super_users) {
        c->super_users = realloc(c->super_users, (size_t)(i + 1) * 2 * sizeof(char *));
        ZK_ASSERT(c->super_users != NULL, "out of memory reading superUser");
        c->super_users[2 * i] = xstrdup(k);
        c->super_users[2 * i + 1] = NULL;
        c->n_super_users++;
    }
    free(c->super_users[2 * i + 1]);
    c->super_users[2 * i + 1] = xstrdup(v);
    return 1;
}

static int apply_key(parse_ctx *p, srv_config *c, int line, const char *k, const char *v)
{
    if (apply_prefixed(p, c, line, k, v) != 0)
        return 0;
    char msg[512];
    int taken = srv_quorum_key(&c->quorum, k, v, line, msg, sizeof msg);
    if (taken != 0) {
        if (taken < 0)
            fail(p, line, "%s", msg);
        return taken < 0 ? -1 : 0;
    }
    const cfg_key *ck = NULL;
    size_t idx = 0;
    for (; idx < sizeof keys / sizeof keys[0]; idx++) {
        if (strcmp(keys[idx].name, k) == 0) {
            ck = &keys[idx];
            break;
        }
    }
    if (ck == NULL) {
        if (is_unused_key(k))
            warnf(p, line, "'%s' is a ZooKeeper setting zabd does not use; ignored", k);
        else
            warnf(p, line, "unknown key '%s' ignored", k);
        return 0;
    }
    p->line_of[idx] = line;
    switch (ck->kind) {
    case CFG_INT:
    case CFG_INT_DEC: {
        int64_t n;
        if (!parse_int(v, ck->kind == CFG_INT_DEC, &n)) {
            fail(p, line, "%s: '%s' is not a valid integer", k, v);
            return -1;
        }
        if (n < ck->min || n > ck->max) {
            fail(p, line, "%s: %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", k, n,
                 ck->min, ck->max);
            return -1;
        }
        *(int32_t *)((char *)c + ck->off) = (int32_t)n;
        return 0;
    }
    case CFG_BOOL: {
        bool b;
        if (strcasecmp(v, "true") == 0)
            b = true;
        else if (strcasecmp(v, "false") == 0)
            b = false;
        else {
            fail(p, line, "%s: '%s' is not a boolean (use true or false)", k, v);
            return -1;
        }
        *(bool *)((char *)c + ck->off) = b;
        return 0;
    }
    case CFG_YESNO:
        /* FileTxnLog: forceSync = !"no".equals(System.getProperty("zookeeper.forceSync")),
         * so "false" or "off" silently mean yes there; here they warn. */
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            warnf(p, line, "%s: '%s' is neither yes nor no; ZooKeeper reads it as yes", k, v);
        *(bool *)((char *)c + ck->off) = strcmp(v, "no") != 0;
        return 0;
    case CFG_JBOOL:
        *(bool *)((char *)c + ck->off) = strcasecmp(v, "true") == 0;
        return 0;
    case CFG_DIGEST: {
        const char *colon = strchr(v, ':');
        if (colon == NULL || colon == v || colon[1] == '\0') {
            fail(p, line, "%s: '%s' is not of the form user:base64digest", k, v);
            return -1;
        }
        set_str(c, ck->off, v);
        return 0;
    }
    case CFG_DIR:
        /* QuorumPeerConfig warns for relative paths too (VerifyingFileFactory). */
        if (v[0] != '\0' && v[0] != '/')
            warnf(p, line, "%s '%s' is relative to the current directory", k, v);
        /* fall through */
    case CFG_STR:
        if (v[0] == '\0') {
            fail(p, line, "%s: empty value", k);
            return -1;
        }
        /* fall through */
    case CFG_STR_ANY:
        set_str(c, ck->off, v);
        return 0;
    }
    return 0;
}

/* ---- The file ------------------------------------------------------------ */

static int read_file(parse_ctx *p, char **out, size_t *len_out)
{
    int rc = -1;
    char *buf = NULL;
    FILE *f = fopen(p->path, "rb");
    if (f == NULL) {
        fail(p, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    buf = malloc(CFG_MAX_FILE_BYTES + 1);
    ZK_ASSERT(buf != NULL, "out of memory reading %s", p->path);
    size_t n = fread(buf, 1, CFG_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        fail(p, 0, "read error: %s", strerror(errno));
        goto out;
    }
    if (n > CFG_MAX_FILE_BYTES) {
        fail(p, 0, "larger than %u bytes", CFG_MAX_FILE_BYTES);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len_out = n;
    buf = NULL;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return rc;
}

/* Splits one logical line (continuations already joined, escapes intact)
 * into key and value and applies it. */
static int handle_line(parse_ctx *p, srv_config *c, int line, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] != '=' && s[i] != ':' && !is_blank(s[i]))
        i += s[i] == '\\' && i + 1 < len ? 2 : 1;
    size_t key_end = i;
    while (i < len && is_blank(s[i]))
        i++;
    if (i < len && (s[i] == '=' || s[i] == ':'))
        i++;
    while (i < len && is_blank(s[i]))
        i++;

    int rc = -1;
    char *key = malloc(key_end + 1), *val = malloc(len - i + 1);
    ZK_ASSERT(key != NULL && val != NULL, "out of memory parsing %s", p->path);
    if (unescape(s, key_end, key) != 0 || unescape(s + i, len - i, val) != 0) {
        fail(p, line, "malformed \\uXXXX escape");
        goto out;
    }
    char *k = trim(key);
    if (*k == '\0') {
        fail(p, line, "a value without a key");
        goto out;
    }
    rc = apply_key(p, c, line, k, trim(val));
out:
    free(key);
    free(val);
    return rc;
}

static int parse_text(parse_ctx *p, srv_config *c, const char *t, size_t len)
{
    int rc = 0;
    size_t cap = 256, n = 0;
    char *logical = malloc(cap);
    ZK_ASSERT(logical != NULL, "out of memory parsing %s", p->path);
    int line = 0, start_line = 0;
    bool continuing = false;
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        /* One natural line: [pos, end). */
        size_t end = pos;
        while (end < len && t[end] != '\n' && t[end] != '\r')
            end++;
        size_t next = end;
        if (next < len && t[next] == '\r')
            next++;
        if (next < len && t[next] == '\n' && (next == end || t[end] == '\r'))
            next++;
        line++;

        size_t b = pos;
        while (b < end && is_blank(t[b]))
            b++;
        pos = next;
        if (!continuing) {
            if (b == end || t[b] == '#' || t[b] == '!')
                continue;
            n = 0;
            start_line = line;
        }
        size_t nbs = 0;
        while (nbs < end - b && t[end - 1 - nbs] == '\\')
            nbs++;
        continuing = nbs % 2 == 1;
        size_t take = end - b - (continuing ? 1 : 0);
        if (n + take + 1 > cap) {
            while (n + take + 1 > cap)
                cap *= 2;
            logical = realloc(logical, cap);
            ZK_ASSERT(logical != NULL, "out of memory parsing %s", p->path);
        }
        memcpy(logical + n, t + b, take);
        n += take;
        if (!continuing)
            rc = handle_line(p, c, start_line, logical, n);
    }
    if (rc == 0 && continuing)
        rc = handle_line(p, c, start_line, logical, n);
    free(logical);
    return rc;
}

/* The line that last set key, 0 if none did. */
static int key_line(const parse_ctx *p, const char *name)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].name, name) == 0)
            return p->line_of[i];
    return 0;
}

/* Cross-key rules and derived defaults, after every line is read
 * (QuorumPeerConfig.parseProperties does them in this order). */
static int finish(parse_ctx *p, srv_config *c)
{
    const int line_retain = key_line(p, "autopurge.snapRetainCount");
    const int line_min = key_line(p, "minSessionTimeout");
    const int line_max = key_line(p, "maxSessionTimeout");
    if (c->autopurge_snap_retain_count < 3) {
        warnf(p, line_retain, "autopurge.snapRetainCount %d is below the minimum; using 3",
              c->autopurge_snap_retain_count);
        c->autopurge_snap_retain_count = 3;
    }
    if (c->autopurge_purge_interval_h < 0)
        c->autopurge_purge_interval_h = 0; /* ZooKeeper: <= 0 means no purge task */
    if (key_line(p, "dataDir") == 0) {
        fail(p, 0, "dataDir is not set");
        return -1;
    }
    if (c->data_log_dir == NULL)
        c->data_log_dir = xstrdup(c->data_dir);

    int64_t tick = c->tick_time_ms;
    if (c->min_session_timeout_ms == -1)
        c->min_session_timeout_ms = (int32_t)(tick * 2 > INT32_MAX ? INT32_MAX : tick * 2);
    if (c->max_session_timeout_ms == -1)
        c->max_session_timeout_ms = (int32_t)(tick * 20 > INT32_MAX ? INT32_MAX : tick * 20);
    if (c->min_session_timeout_ms > c->max_session_timeout_ms) {
        fail(p, line_min ? line_min : line_max,
             "minSessionTimeout (%d) must not be larger than maxSessionTimeout (%d)",
             c->min_session_timeout_ms, c->max_session_timeout_ms);
        return -1;
    }
    return srv_quorum_finish(c, p->path, key_line(p, "clientPort") != 0, p->warn, p->warn_arg,
                             p->err, p->err_len);
}

/* ---- JVM flags and auth settings ------------------------------------------- */

/* One -Dname=value word (Java sets "name" to "" when there is no '='). */
static int apply_flag(parse_ctx *p, srv_config *c, const char *word, size_t len)
{
    if (len < 3 || word[0] != '-' || word[1] != 'D')
        return 0;
    char *w = malloc(len - 1);
    ZK_ASSERT(w != NULL, "out of memory reading JVM flags");
    memcpy(w, word + 2, len - 2);
    w[len - 2] = '\0';
    char *eq = strchr(w, '='), *v = eq != NULL ? eq + 1 : w + strlen(w);
    if (eq != NULL)
        *eq = '\0';
    const char *key = NULL;
    for (size_t i = 0; i < sizeof jvm_props / sizeof jvm_props[0] && key == NULL; i++)
        if (strcmp(w, jvm_props[i][0]) == 0)
            key = jvm_props[i][1];
    const char *zk = strncmp(w, "zookeeper.", 10) == 0 ? w + 10 : NULL;
    for (size_t i = 0; zk != NULL && i < sizeof zk_props / sizeof zk_props[0] && key == NULL; i++)
        if (strcmp(zk, zk_props[i]) == 0)
            key = zk;
    if (zk != NULL && key == NULL &&
        (strncmp(zk, "authProvider.", 13) == 0 || strncmp(zk, "superUser", 9) == 0))
        key = zk;
    /* Java reads "=FILE" as "FILE, and no other login configuration", and
     * takes file: URLs. */
    if (key != NULL && strcmp(key, "jaasLoginConfig") == 0) {
        v += *v == '=';
        v += strncmp(v, "file://", 7) == 0 ? 7 : strncmp(v, "file:", 5) == 0 ? 5 : 0;
    }
    /* A feature the user asked for and will not get is said, not
     * dropped (Boolean.getBoolean: only "true", in any case, turns it on). */
    if (strcmp(w, "readonlymode.enabled") == 0 && strcasecmp(v, "true") == 0)
        warnf(p, 0, "readonlymode.enabled=true: zabd has no read-only mode; an ensemble member "
                    "without a quorum serves no client");
    int rc = key != NULL ? apply_key(p, c, 0, key, v) : 0;
    free(w);
    return rc;
}

static int apply_flags(parse_ctx *outer, srv_config *c, const srv_jvm_flags *f)
{
    const char *envs[2] = {f->server_jvmflags, f->jvmflags};
    const char *names[2] = {"SERVER_JVMFLAGS", "JVMFLAGS"};
    for (int e = 0; e < 2; e++) {
        parse_ctx p = *outer;
        p.path = names[e];
        for (const char *q = envs[e]; q != NULL && *q != '\0';) {
            size_t n = 0;
            while (q[n] != '\0' && q[n] != ' ' && q[n] != '\t' && q[n] != '\n')
                n++;
            if (apply_flag(&p, c, q, n) != 0)
                return -1;
            q += n;
            while (*q == ' ' || *q == '\t' || *q == '\n')
                q++;
        }
    }
    parse_ctx p = *outer;
    p.path = "command line";
    for (int i = 0; i < f->n_args; i++)
        if (apply_flag(&p, c, f->args[i], strlen(f->args[i])) != 0)
            return -1;
    return 0;
}

/* AuthenticationHelper: enforcement needs schemes, each served by a
 * provider (ip and digest always, sasl with the SASL provider). */
static int check_auth(parse_ctx *p, srv_config *c)
{
    if (!c->session_require_sasl && !c->enforce_auth_enabled)
        return 0;
    /* sessionRequireClientSASLAuth means ["sasl"], whatever else is set. */
    const char *schemes = c->session_require_sasl ? "sasl" : c->enforce_auth_schemes;
    char *list = xstrdup(schemes != NULL ? schemes : ""), *save;
    int rc = -1, n = 0;
    for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save), n++) {
        t = trim(t);
        if (strcmp(t, "ip") != 0 && strcmp(t, "digest") != 0 &&
            !(strcmp(t, "sasl") == 0 && c->sasl_provider)) {
            fail(p, 0, "enforce.auth.schemes: authentication scheme '%s' is not available", t);
            goto out;
        }
    }
    if (n == 0)
        fail(p, 0, "enforce.auth.enabled is true, so enforce.auth.schemes must be configured");
    rc = n == 0 ? -1 : 0;
out:
    free(list);
    return rc;
}

bool srv_config_is_super_user(const srv_config *c, const char *id)
{
    for (int32_t i = 0; id[0] != '\0' && i < c->n_super_users; i++)
        if (strcmp(c->super_users[2 * i + 1], id) == 0)
            return true;
    return false;
}

/* ---- Public -------------------------------------------------------------- */

static void defaults_common(srv_config *c)
{
    memset(c, 0, sizeof *c);
    c->tick_time_ms = 2000;
    c->client_port = 2181;
    c->max_client_cnxns = 60;
    c->min_session_timeout_ms = -1;
    c->max_session_timeout_ms = -1;
    c->snap_count = 100000;
    c->autopurge_snap_retain_count = 3;
    c->autopurge_purge_interval_h = 0;
    c->jute_maxbuffer = 0xfffff;
    c->four_letter_whitelist = xstrdup("srvr");
    c->extended_types_enabled = false;
    c->container_check_interval_ms = 60000;
    c->container_max_per_minute = 10000;
    c->reconfig_enabled = false;
    c->enforce_quota = false;
    c->global_outstanding_limit = 1000;
    c->force_sync = true;
    c->sasl_section = xstrdup("Server");
    c->quorum.standalone_enabled = true;
}

void srv_config_defaults(srv_config *c)
{
    defaults_common(c);
    c->data_dir = xstrdup("./data");
    c->data_log_dir = xstrdup("./data");
    c->client_port_address = xstrdup("127.0.0.1");
    c->min_session_timeout_ms = 2 * c->tick_time_ms;
    c->max_session_timeout_ms = 20 * c->tick_time_ms;
}

int srv_config_load(srv_config *c, const char *path, void (*warn)(void *arg, const char *msg),
                    void *warn_arg, char *err, size_t err_len)
{
    return srv_config_load_flags(c, path, NULL, warn, warn_arg, err, err_len);
}

int srv_config_load_flags(srv_config *c, const char *path, const srv_jvm_flags *flags,
                          void (*warn)(void *arg, const char *msg), void *warn_arg, char *err,
                          size_t err_len)
{
    parse_ctx p = {.path = path != NULL ? path : "built-in configuration",
                   .warn = warn,
                   .warn_arg = warn_arg,
                   .err = err,
                   .err_len = err_len};
    srv_config tmp;
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (path != NULL)
        defaults_common(&tmp);
    else
        srv_config_defaults(&tmp);
    if (flags != NULL && apply_flags(&p, &tmp, flags) != 0)
        goto out;
    if (path != NULL && (read_file(&p, &text, &len) != 0 || parse_text(&p, &tmp, text, len) != 0 ||
                         finish(&p, &tmp) != 0))
        goto out;
    if (check_auth(&p, &tmp) != 0)
        goto out;
    *c = tmp;
    memset(&tmp, 0, sizeof tmp); /* c owns the strings now */
    rc = 0;
out:
    srv_config_fini(&tmp);
    free(text);
    return rc;
}

void srv_config_fini(srv_config *c)
{
    free(c->data_dir);
    free(c->data_log_dir);
    free(c->client_port_address);
    free(c->four_letter_whitelist);
    free(c->super_digest);
    c->data_dir = c->data_log_dir = c->client_port_address = NULL;
    c->four_letter_whitelist = c->super_digest = NULL;
    char **strs[] = {&c->jaas_config, &c->sasl_section, &c->sasl_super_password,
                     &c->sasl_any_user_id, &c->enforce_auth_schemes};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (int32_t i = 0; i < 2 * c->n_super_users; i++)
        free(c->super_users[i]);
    free(c->super_users);
    c->super_users = NULL;
    c->n_super_users = 0;
    srv_quorum_fini(&c->quorum);
}
