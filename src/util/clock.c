/*
 * clock - milliseconds from CLOCK_MONOTONIC and CLOCK_REALTIME (clock.h).
 */
#include "autoconfig.h"

#include "util/clock.h"

long long
clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);     /* fails only for an invalid clock id */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
