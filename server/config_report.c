/*
 * config_report.c: what zoo.cfg settings look like from outside: the "conf"
 * four-letter word's body (ZooKeeperServer.dumpConf, with the directory
 * sizes it walks the disk for) and the 4lw.commands.whitelist check.
 * Parsing is config.c's.
 */
#include "server/config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* a zoo.cfg is a few hundred bytes */
#define CFG_DIR_WALK_DEPTH 6

/* File.getAbsolutePath() + "/version-2": prefixes the working directory to a
 * relative path without resolving "." or "..", and drops trailing slashes. */
static void abs_version_dir(const char *dir, char *out, size_t cap)
{
    char cwd[4096] = "";
    if (dir[0] != '/' && getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = '\0';
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(out, cap, "%s%s%.*s/version-2", cwd, dir[0] == '/' ? "" : "/", (int)n, dir);
}

/* ZooKeeperServer.getDirSize: the sum of regular file lengths below dir. */
static uint64_t dir_size(const char *dir, int depth)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[4096];
        if ((size_t)snprintf(child, sizeof child, "%s/%s", dir, e->d_name) >= sizeof child)
            continue;
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
        else if (S_ISDIR(st.st_mode) && depth > 0)
            total += dir_size(child, depth - 1);
    }
    closedir(d);
    return total;
}

void srv_config_format_conf(const srv_config *c, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    char data[4200], log[4200];
    abs_version_dir(c->data_dir, data, sizeof data);
    abs_version_dir(c->data_log_dir, log, sizeof log);
    snprintf(buf, cap,
             "clientPort=%d\n"
             "secureClientPort=-1\n"
             "dataDir=%s\n"
             "dataDirSize=%" PRIu64 "\n"
             "dataLogDir=%s\n"
             "dataLogSize=%" PRIu64 "\n"
             "tickTime=%d\n"
             "maxClientCnxns=%d\n"
             "minSessionTimeout=%d\n"
             "maxSessionTimeout=%d\n"
             "clientPortListenBacklog=-1\n"
             "serverId=0\n",
             c->client_port, data, dir_size(c->data_dir, CFG_DIR_WALK_DEPTH), log,
             dir_size(c->data_log_dir, CFG_DIR_WALK_DEPTH), c->tick_time_ms, c->max_client_cnxns,
             c->min_session_timeout_ms, c->max_session_timeout_ms);
}

bool srv_config_4lw_enabled(const srv_config *c, const char *word)
{
    if (strcmp(word, "srvr") == 0)
        return true;
    const char *s = c->four_letter_whitelist != NULL ? c->four_letter_whitelist : "";
    size_t wlen = strlen(word);
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        const char *end = comma != NULL ? comma : s + strlen(s);
        const char *a = s, *b = end;
        while (a < b && (unsigned char)*a <= ' ')
            a++;
        while (b > a && (unsigned char)b[-1] <= ' ')
            b--;
        if (b - a == 1 && *a == '*')
            return true;
        if ((size_t)(b - a) == wlen && strncmp(a, word, wlen) == 0)
            return true;
        s = comma != NULL ? comma + 1 : end;
    }
    return false;
}
