/*
 * clock - milliseconds, for intervals (CLOCK_MONOTONIC) and timestamps
 * (CLOCK_REALTIME).
 */
#ifndef HOOKSPOOL_CLOCK_H
#define HOOKSPOOL_CLOCK_H

#include <time.h>

/* The time on clock id in milliseconds. */
long long clock_ms(clockid_t id);

/* Room for clock_rfc3339's text: "2026-12-01T10:00:00.000Z" and a NUL. */
#define CLOCK_RFC3339_MAX 32

/* Unix milliseconds (not negative) as RFC 3339 UTC with milliseconds. */
void clock_rfc3339(long long ms, char out[CLOCK_RFC3339_MAX]);

#endif
