/*
 * server/config: zoo.cfg, read the way Apache ZooKeeper 3.8 reads it.
 *
 * Use:
 *   srv_config c;
 *   if (argc > 1) {
 *       if (srv_config_load(&c, argv[1], warn_cb, NULL, err, sizeof err) != 0)
 *           die(err);                   // c was not written
 *   } else {
 *       srv_config_defaults(&c);
 *   }
 *   ...
 *   srv_config_fini(&c);
 *
 * Both srv_config_defaults and srv_config_load treat *c as output only: they
 * never read or free what it held. Call srv_config_fini before reusing one.
 *
 * This header is internal to server/; the struct is a plain value because
 * every part of the server reads its fields.
 */
#ifndef ZABD_SERVER_CONFIG_H
#define ZABD_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The ensemble (server/config_quorum.c) --------------------------------
 *
 * One "server.N=host:quorumPort:electionPort[:participant|observer]
 * [;[clientHost:]clientPort]" line of zoo.cfg, as QuorumPeer.QuorumServer
 * reads it. Visible on purpose: the ZAB layer and the startup checks read
 * these fields. Strings are heap copies owned by the srv_config. */
typedef struct srv_quorum_server {
    int64_t id;            /* N: any Java long */
    char *host;            /* as written; an IPv6 address without its brackets */
    int32_t quorum_port;   /* followers connect to the leader here */
    int32_t election_port; /* leader election */
    bool is_observer;      /* ":observer"; default participant */
    char *client_host;     /* client address of ";host:port"; "0.0.0.0" for ";port";
                            * NULL when the line has no client part */
    int32_t client_port;   /* 0 when the line has no client part */
    int line;              /* the zoo.cfg line, for messages */
} srv_quorum_server;

/* The quorum keys, and the mode they give (QuorumPeerConfig). */
typedef struct srv_quorum {
    srv_quorum_server *servers; /* in file order */
    int32_t n_servers;
    bool has_my_id;              /* dataDir/myid exists (read in every mode, as ZooKeeper does) */
    int64_t my_id;               /* its first line, Long.parseLong; 0 without a file */
    int32_t init_limit;          /* initLimit in ticks; 0 = not set (required for an ensemble) */
    int32_t sync_limit;          /* syncLimit in ticks; 0 = not set (required for an ensemble) */
    bool standalone_enabled;     /* standaloneEnabled, default true */
    bool peer_type_observer;     /* peerType=observer; the server line wins (with a warning) */
    int peer_type_line;          /* the line of peerType, 0 = not given */
    bool is_ensemble;            /* more than one voting member, or standaloneEnabled=false
                                  * (QuorumPeerConfig.isDistributed); false = standalone */
    const srv_quorum_server *me; /* this server's line in an ensemble, else NULL */
} srv_quorum;

/* Visible on purpose: a bag of settings that every server file reads.
 * Strings are heap copies owned by the struct (srv_config_fini frees them). */
typedef struct srv_config {
    int32_t tick_time_ms;           /* tickTime, default 2000 */
    char *data_dir;                 /* dataDir: required in a file; built-in default "./data".
                                     * A relative path is kept as written and is relative to
                                     * the current directory, as in ZooKeeper. */
    char *data_log_dir;             /* dataLogDir, default = data_dir */
    int32_t client_port;            /* clientPort, default 2181 */
    char *client_port_address;      /* clientPortAddress. NULL when the file does not set it:
                                     * the server then binds 0.0.0.0, as ZooKeeper does
                                     * (QuorumPeerConfig: new InetSocketAddress(port)). The
                                     * built-in default is "127.0.0.1". */
    int32_t max_client_cnxns;       /* maxClientCnxns per client IP, default 60, 0 = unlimited */
    int32_t min_session_timeout_ms; /* minSessionTimeout, default 2 * tickTime */
    int32_t max_session_timeout_ms; /* maxSessionTimeout, default 20 * tickTime */
    int32_t snap_count;             /* snapCount, default 100000 */
    int32_t autopurge_snap_retain_count; /* autopurge.snapRetainCount, default 3, raised to 3 */
    int32_t autopurge_purge_interval_h;  /* autopurge.purgeInterval, default 0 = off */
    int32_t jute_maxbuffer;              /* jute.maxbuffer, default 0xfffff */
    char *four_letter_whitelist;         /* 4lw.commands.whitelist, default "srvr"; "*" = all */
    char *super_digest;                  /* DigestAuthenticationProvider.superDigest, "super:base64"
                                          * or NULL */
    bool extended_types_enabled;         /* extendedTypesEnabled, default false */
    int32_t container_check_interval_ms; /* znode.container.checkIntervalMs, default 60000 */
    int32_t container_max_per_minute;    /* znode.container.maxPerMinute, default 10000 */
    bool reconfig_enabled;               /* reconfigEnabled, default false */
    bool enforce_quota;                  /* enforceQuota (zookeeper.enforceQuota), default false:
                                          * hard quota limits answer QUOTAEXCEEDED */
    int32_t global_outstanding_limit;    /* globalOutstandingLimit, default 1000 */
    bool force_sync;                     /* forceSync, default yes; only "no" turns the txn
                                          * log's sync off, as in ZooKeeper */
    /* SASL (docs/sasl.md). Each key is also read as the JVM system property
     * ZooKeeper reads (in brackets; "zk." = "zookeeper."), which zoo.cfg
     * overrides, as ZooKeeper sets "zookeeper.<key>" from zoo.cfg. */
    char *jaas_config;  /* jaasLoginConfig [java.security.auth.login.config]: the JAAS
                         * file, or NULL: no SASL exchange is offered */
    char *sasl_section; /* sasl.serverconfig [zk.sasl.serverconfig], default "Server" */
    bool sasl_provider; /* some authProvider.N [zk.authProvider.N] names
                         * org.apache.zookeeper.server.auth.SASLAuthenticationProvider:
                         * the "sasl" ACL scheme exists */
    char **super_users; /* superUser, superUser.X [zk.superUser...]: pairs of (key
                         * suffix, user); see srv_config_is_super_user */
    int32_t n_super_users;
    char *sasl_super_password;      /* SASLAuthenticationProvider.superPassword [zk.] or NULL */
    char *sasl_any_user_id;         /* letAnySaslUserDoX [zk.]: an ACL id every SASL user matches */
    bool allow_sasl_failed_clients; /* allowSaslFailedClients [zk.] */
    bool session_require_sasl;      /* sessionRequireClientSASLAuth [zk.] */
    bool enforce_auth_enabled;      /* enforce.auth.enabled [zk.] */
    char *enforce_auth_schemes;     /* enforce.auth.schemes [zk.]: comma-separated */
    bool kerberos_remove_host;      /* kerberos.removeHostFromPrincipal [zk.] */
    bool kerberos_remove_realm;     /* kerberos.removeRealmFromPrincipal [zk.] */
    srv_quorum quorum;              /* server.N, myid, initLimit, syncLimit, ... */
} srv_config;

/* JVM flags given the way zkServer.sh passes them to Java: the
 * SERVER_JVMFLAGS and JVMFLAGS environment strings (split at blanks, as
 * the shell splits them), then single -Dname=value arguments. Later ones
 * win. Only -D words naming a property zabd reads are used (see the
 * struct above); the rest (-Xmx..., -Dzookeeper.log.dir=...) are ignored. */
typedef struct srv_jvm_flags {
    const char *server_jvmflags, *jvmflags; /* may be NULL */
    char *const *args;                      /* each one "-Dname=value" */
    int n_args;
} srv_jvm_flags;

/* ---- Loading ------------------------------------------------------------- */

/* The built-in configuration, used when zabd starts without a file:
 * 127.0.0.1:2181, dataDir "./data", and every other field at its default.
 * Aborts on out-of-memory (there is nothing to run without a config). */
void srv_config_defaults(srv_config *c);

/* Parses the zoo.cfg at path. Syntax is Java properties: "key=value",
 * "key: value" or "key value"; lines starting with '#' or '!' are comments;
 * backslash escapes and a trailing backslash continuing the line are honoured;
 * keys and values are trimmed. A key given twice keeps its last value.
 *
 * Unknown keys, and keys ZooKeeper knows but zabd ignores (admin.*,
 * metricsProvider.*, quorumListenOnAllIPs, ...), are passed to
 * warn(warn_arg, msg) once per line, as is every value zabd corrects the way
 * ZooKeeper does (autopurge.snapRetainCount below 3, a relative dataDir).
 * warn may be NULL.
 *
 * The quorum keys (server.N, initLimit, syncLimit, peerType, electionAlg,
 * standaloneEnabled) and dataDir/myid fill c->quorum and decide the mode;
 * see srv_quorum_finish for what stops the start.
 *
 * Returns 0 and fills *c, or returns -1, leaves *c unwritten and puts a
 * message naming the file, the line and the key into err (always
 * NUL-terminated when err_len > 0): a missing file, a non-numeric or
 * out-of-range number, a non-boolean, no dataDir, minSessionTimeout larger
 * than maxSessionTimeout, ... Aborts on out-of-memory, like
 * srv_config_defaults. */
int srv_config_load(srv_config *c, const char *path, void (*warn)(void *arg, const char *msg),
                    void *warn_arg, char *err, size_t err_len);

/* srv_config_load, with the JVM flags applied first (zoo.cfg keys override
 * them); path NULL means the built-in configuration of srv_config_defaults.
 * flags may be NULL. Also checks the enforce.auth.* settings as
 * AuthenticationHelper does (an error when enabled without schemes or with
 * a scheme no provider serves). Errors in a flag name its source. */
int srv_config_load_flags(srv_config *c, const char *path, const srv_jvm_flags *flags,
                          void (*warn)(void *arg, const char *msg), void *warn_arg, char *err,
                          size_t err_len);

/* Whether id is named by zookeeper.superUser or zookeeper.superUser.<x>
 * (ZooKeeperServer.isSaslSuperUser). */
bool srv_config_is_super_user(const srv_config *c, const char *id);

/* Frees the strings and clears the pointers; safe to call twice. */
void srv_config_fini(srv_config *c);

/* ---- Quorum keys (server/config_quorum.c) ---------------------------------- */

/* Parses the value of one server.N line (already trimmed) into *out; the
 * caller sets out->id and out->line. Rules of QuorumPeer.QuorumServer: ';'
 * splits the server part from an optional client part ("port" or
 * "host:port"); the server part is "host:port:port" or "host:port:port:type"
 * with type participant or observer (any case); a host may be "[ipv6]";
 * ports are decimal 1..65535; the quorum and election ports differ. Several
 * '|'-separated addresses (multiAddress.enabled) are refused. Returns 0, or
 * -1 with a message (without file or line) in msg; *out is written only on
 * success. Aborts on out-of-memory. */
int srv_quorum_server_parse(const char *value, srv_quorum_server *out, char *msg, size_t msg_len);

/* Called by the zoo.cfg parser for each key: 0 when key is not one of
 * server.*, peerType, electionAlg (the caller handles it), 1 when it was
 * taken, -1 with a message in msg for a bad value (a malformed server line,
 * a server id given twice, an unknown peerType, electionAlg other than 3). */
int srv_quorum_key(srv_quorum *q, const char *key, const char *value, int line, char *msg,
                   size_t msg_len);

/* After every key is read: reads dataDir/myid when it is a regular file
 * (first line, as Long.parseLong reads it: no blanks), then decides the
 * mode as QuorumPeerConfig.isDistributed does and checks what ZooKeeper
 * checks, plus address clashes between the lines. Errors (-1, "path:line: "
 * message in err): an unreadable or non-numeric myid (in any mode, as in
 * ZooKeeper), observers without participants, standaloneEnabled=false with
 * no participant, two lines sharing a host:port, and in an ensemble: no
 * initLimit, no syncLimit, no myid file, a myid with no server line, a
 * clientPort/clientPortAddress that disagrees with this server's line, a
 * server id above 254 with extendedTypesEnabled. When myid names a line
 * with a client part, that becomes clientPort/clientPortAddress (also
 * standalone, as in ZooKeeper). A peerType that disagrees with the line
 * warns. client_port_given: the file set clientPort. */
int srv_quorum_finish(srv_config *c, const char *path, bool client_port_given,
                      void (*warn)(void *arg, const char *msg), void *warn_arg, char *err,
                      size_t err_len);

/* Frees the server lines; safe to call twice. */
void srv_quorum_fini(srv_quorum *q);

/* ---- Startup checks (server/quorum_ports.c) --------------------------------- */

/* In an ensemble: binds this server's client, quorum and election ports on
 * its addresses (the host is resolved here, so this may do DNS: call it
 * before the loop runs), all at once, then closes them again. Returns 0, or
 * -1 with a message naming the port, the address and the error in err. */
int srv_quorum_check_ports(const srv_config *c, char *err, size_t err_len);

/* ---- Reporting ----------------------------------------------------------- */

/* Writes the body of the "conf" four-letter word as ZooKeeper 3.8 prints it
 * for a standalone server (ZooKeeperServer.dumpConf): one "key=value\n" line
 * each for clientPort, secureClientPort (-1), dataDir, dataDirSize,
 * dataLogDir, dataLogSize, tickTime, maxClientCnxns, minSessionTimeout,
 * maxSessionTimeout, clientPortListenBacklog (-1) and serverId (0).
 * dataDir and dataLogDir are absolute and end in "/version-2" like
 * ZooKeeper's snapshot/log directories; the sizes are the bytes of the
 * regular files under data_dir and data_log_dir (walked a few levels deep,
 * 0 if absent), so this does directory I/O. Output is truncated to cap - 1
 * bytes and always NUL-terminated when cap > 0. */
void srv_config_format_conf(const srv_config *c, char *buf, size_t cap);

/* True when the four-letter word is allowed by 4lw.commands.whitelist:
 * a comma-separated list (entries trimmed) or "*". "srvr" is always allowed,
 * as in ZooKeeper 3.8 (FourLetterCommands: zkServer.sh depends on it). */
bool srv_config_4lw_enabled(const srv_config *c, const char *word);

#ifdef __cplusplus
}
#endif

#endif /* ZABD_SERVER_CONFIG_H */
