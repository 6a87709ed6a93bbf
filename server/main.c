/*
 * main.c: zabd [-Dname=value ...] [zoo.cfg]
 *
 * Runs a standalone server in the foreground, as ZooKeeper's
 * `zkServer.sh start-foreground` does. Without a file it uses the
 * built-in configuration: 127.0.0.1:2181, data in ./data. JVM system
 * properties ZooKeeper reads (the JAAS file for SASL, for one) come from
 * the SERVER_JVMFLAGS and JVMFLAGS environment variables, as zkServer.sh
 * passes them, and from -D arguments (server/config.h lists them).
 * An ensemble configuration (server/config.h: srv_quorum) is validated,
 * its ports included; the server then runs ZAB with the other members
 * (server/ensemble.c) and serves clients once synced with a leader.
 * Exit codes: 0 after SIGTERM/SIGINT, 1 when the txn log fails, 2 for an
 * invalid configuration, a port that cannot be bound or an unusable data
 * directory.
 */
#include "server/srv_int.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void warn_cb(void *arg, const char *msg)
{
    srv_log(SRV_LOG_WARN, "%s", msg);
}

int main(int argc, char **argv)
{
    static srv s; /* large; lives for the whole process */
    char err[1024] = "";
    const char *cfg_path = NULL;
    srv_jvm_flags flags = {getenv("SERVER_JVMFLAGS"), getenv("JVMFLAGS"), argv + 1, 0};
    int argi = 1;
    while (argi < argc && strncmp(argv[argi], "-D", 2) == 0)
        argi++;
    flags.n_args = argi - 1;
    if (argi < argc)
        cfg_path = argv[argi++];
    if (argi < argc ||
        (cfg_path != NULL && (strcmp(cfg_path, "-h") == 0 || strcmp(cfg_path, "--help") == 0))) {
        fprintf(stderr, "usage: %s [-Dname=value ...] [zoo.cfg]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "zabd: libevent has no pthreads support\n");
        return 2;
    }
    if (srv_config_load_flags(&s.cfg, cfg_path, &flags, warn_cb, NULL, err, sizeof err) != 0) {
        srv_log(SRV_LOG_ERROR, "invalid configuration: %s", err);
        return 2;
    }
    if (cfg_path == NULL)
        srv_log(SRV_LOG_INFO, "no zoo.cfg given: using 127.0.0.1:%d, dataDir %s", s.cfg.client_port,
                s.cfg.data_dir);
    if (srv_auth_sasl_setup(&s, err, sizeof err) != 0) {
        srv_log(SRV_LOG_ERROR, "invalid configuration: %s", err);
        srv_config_fini(&s.cfg);
        return 2;
    }
    if (s.cfg.quorum.is_ensemble && srv_quorum_check_ports(&s.cfg, err, sizeof err) != 0) {
        srv_log(SRV_LOG_ERROR, "cannot start: %s", err);
        srv_sasl_free(s.sasl);
        srv_config_fini(&s.cfg);
        return 2;
    }
    s.rng = (uint32_t)srv_wall_ms() ^ (uint32_t)getpid();
    if (srv_open(&s, err, sizeof err) != 0 || srv_serve(&s, err, sizeof err) != 0 ||
        (s.cfg.quorum.is_ensemble && srv_ens_start(&s, err, sizeof err) != 0)) {
        srv_log(SRV_LOG_ERROR, "cannot start: %s", err[0] ? err : "event loop");
        srv_close(&s);
        return 2;
    }
    event_base_dispatch(s.base);
    srv_snapshot_final(&s);
    bool failed = s.log_failed;
    srv_close(&s);
    srv_log(SRV_LOG_INFO, "stopped");
    return failed ? 1 : 0;
}
