/* schedule - retry times (see schedule.h). */
#include "autoconfig.h"

#include "sender/schedule.h"

long
schedule_jitter(long delay, long r)
{
    long span = delay / 10;

    if (span < 1)
        span = 1;
    return delay + (r < 0 ? -r : r) % (span + 1);
}

time_t
schedule_due(long long now_ms, long long delay_ms)
{
    return (time_t)((now_ms + delay_ms + 999) / 1000);
}

long
schedule_next(const long *schedule, size_t count, int tries, long r)
{
    if (tries < 1 || (size_t)tries > count)
        return -1;
    return schedule_jitter(schedule[tries - 1], r);
}
