/*
 * clock - milliseconds from CLOCK_MONOTONIC and CLOCK_REALTIME (clock.h).
 */
#include "autoconfig.h"

#include <stdio.h>

#include "util/clock.h"

long long
clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);     /* fails only for an invalid clock id */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
clock_rfc3339(long long ms, char out[CLOCK_RFC3339_MAX])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char secs[24];

    gmtime_r(&t, &tm);
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, CLOCK_RFC3339_MAX, "%.20s.%03dZ", secs, (int)(ms % 1000));
}
