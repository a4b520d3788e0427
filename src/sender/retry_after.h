/*
 * retry_after - the Retry-After header of a 429 or 503 answer (SPEC
 * section 4.1): delta-seconds or an HTTP-date (IMF-fixdate, and the
 * obsolete RFC 850 and asctime forms RFC 9110 says a recipient accepts),
 * and how far it may move a delivery's next attempt: never earlier than it
 * says, never more than RETRY_AFTER_MAX_S later than the schedule would.
 *
 * Pure functions: the caller supplies the clock, so the unit tests can
 * check every case.
 */
#ifndef HOOKSPOOL_RETRY_AFTER_H
#define HOOKSPOOL_RETRY_AFTER_H

#include <time.h>

/* The most a Retry-After moves an attempt past the retry schedule's time. */
#define RETRY_AFTER_MAX_S 3600

/*
 * Parses value, received at now_ms (Unix ms), into the time it names
 * (*at_ms, Unix ms; a date in the past gives a time before now_ms).
 * Returns 0, or -1 if value is neither form.
 */
int retry_after_parse(const char *value, long long now_ms, long long *at_ms);

/*
 * The whole second from which an attempt the schedule puts at due (a
 * deferred/ mtime) may be made once a Retry-After named at_ms (0: none):
 * not before at_ms (rounded up), at most RETRY_AFTER_MAX_S after due.
 */
time_t retry_after_apply(time_t due, long long at_ms);

#endif
