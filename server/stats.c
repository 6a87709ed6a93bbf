/*
 * stats.c: the server's measured figures, as srvr/stat/mntr print them.
 * Each figure is recorded where the thing it counts happens; nothing here
 * is derived from configuration or printed as a constant.
 */
#include "server/srv_int.h"

void srv_stats_request_done(srv_stats *st, int64_t us)
{
    if (us < 0)
        us = 0;
    if (st->lat_count == 0 || us < st->lat_min_us)
        st->lat_min_us = us;
    if (us > st->lat_max_us)
        st->lat_max_us = us;
    st->lat_total_us += us;
    st->lat_count++;
}
