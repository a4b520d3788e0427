/*
 * clock - milliseconds, for intervals (CLOCK_MONOTONIC) and timestamps
 * (CLOCK_REALTIME).
 */
#ifndef HOOKSPOOL_CLOCK_H
#define HOOKSPOOL_CLOCK_H

#include <time.h>

/* The time on clock id in milliseconds. */
long long clock_ms(clockid_t id);

#endif
