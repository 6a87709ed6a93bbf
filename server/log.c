/*
 * log.c: log lines on stderr: "2026-11-22 23:01:02,345 [LEVEL] message",
 * close to ZooKeeper's console layout so operators' greps keep working.
 */
#include "server/srv_int.h"

#include <stdarg.h>
#include <sys/time.h>
#include <time.h>

void srv_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (!srv_log_on(level))
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s,%03d [%s] %s\n", ts, (int)(tv.tv_usec / 1000), names[level], line);
}
