/*
 * schedule - when a failed delivery is tried again (SPEC section 4): the
 * steps of retry_schedule, each with a random extra so that retries
 * spread out, rounded up to the whole second that deferred/'s mtimes are
 * compared in; after the last step, no more attempts (dead letter).
 *
 * Pure arithmetic: the caller supplies the clock and the random numbers,
 * so the unit tests can check every case.
 */
#ifndef HOOKSPOOL_SCHEDULE_H
#define HOOKSPOOL_SCHEDULE_H

#include <stddef.h>
#include <time.h>

/*
 * delay seconds plus a random extra of up to a tenth of it (at least up to
 * 1 s), chosen by the non-negative random number r.
 */
long schedule_jitter(long delay, long r);

/*
 * The whole second (a file's mtime) from which something delay_ms after
 * now_ms is due: rounded up, so it never comes early.
 */
time_t schedule_due(long long now_ms, long long delay_ms);

/*
 * The wait in seconds, jitter included (r as for schedule_jitter), before
 * the next attempt once failed try number tries (1 for the first failure
 * of a round) has failed, with the steps schedule[0..count-1]; -1 if no
 * attempt is left.
 */
long schedule_next(const long *schedule, size_t count, int tries, long r);

#endif
