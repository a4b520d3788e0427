/*
 * dest - a destination's health and the limits that follow from it (see
 * dest.h for the rules). Plain decisions on plain numbers: no I/O, no
 * clock of its own, so that the unit tests can walk every transition.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdint.h>

#include "sender/dest.h"

/* Attempts in a row without an answer that make a destination dead. */
static int
dest_dead_after(const struct dest_limits *lim)
{
    return lim->per_host < (size_t)DEST_DEAD_AFTER ? (int)lim->per_host : DEST_DEAD_AFTER;
}

size_t
dest_queue_cap(const struct dest_limits *lim)
{
    size_t cap = lim->per_host * 4;

    return cap < DEST_QUEUE_MIN ? DEST_QUEUE_MIN : cap;
}

long long
dest_stall_at(const struct dest *d)
{
    if (d->running == 0)
        return LLONG_MAX;
    return d->progress_ms + (d->answered ? DEST_STALL_MS : DEST_PROBATION_MS);
}

bool
dest_stalled(const struct dest *d, long long now_ms)
{
    return now_ms >= dest_stall_at(d);
}

size_t
dest_room(const struct dest *d, long long now_ms, const struct dest_limits *lim)
{
    switch (d->state) {
    case DEST_DEAD:
        return 0;
    case DEST_PROBING:
        return d->running == 0 ? 1 : 0;     /* the probe itself, until it starts */
    case DEST_ALIVE:
        break;
    }
    if (d->degraded || dest_stalled(d, now_ms))
        return dest_queue_cap(lim);
    return SIZE_MAX;
}

long long
dest_park_until(const struct dest *d, long long now_ms, const struct dest_limits *lim)
{
    switch (d->state) {
    case DEST_DEAD:
        return (d->probe_ms > now_ms ? d->probe_ms : now_ms) + DEST_PARK_GRACE_MS;
    case DEST_PROBING:
        return now_ms + lim->timeout_ms + DEST_PARK_GRACE_MS;
    case DEST_ALIVE:
        break;
    }
    return now_ms + DEST_PARK_MS;
}

enum dest_verdict
dest_admit(struct dest *d, size_t queued, long long now_ms, const struct dest_limits *lim,
           long long *until_ms)
{
    if (d->state == DEST_DEAD && now_ms >= d->probe_ms && d->running == 0 && queued == 0) {
        d->state = DEST_PROBING;
        return DEST_PROBE;
    }
    if (queued < dest_room(d, now_ms, lim))
        return DEST_QUEUE;
    *until_ms = dest_park_until(d, now_ms, lim);
    return DEST_PARK;
}

bool
dest_may_start(const struct dest *d)
{
    return d->state == DEST_ALIVE || (d->state == DEST_PROBING && d->running == 0);
}

void
dest_started(struct dest *d, long long now_ms)
{
    if (d->running++ == 0)
        d->progress_ms = now_ms;
}

/* Makes d dead until the probe, wait_ms from now. */
static void
dest_die(struct dest *d, long long now_ms, long long wait_ms)
{
    if (wait_ms > DEST_PROBE_MAX_MS)
        wait_ms = DEST_PROBE_MAX_MS;
    d->state = DEST_DEAD;
    d->probe_wait_ms = wait_ms;
    d->probe_ms = now_ms + wait_ms;
}

bool
dest_finished(struct dest *d, long long now_ms, bool answered, bool ok, long duration_ms,
              const struct dest_limits *lim)
{
    if (d->running > 0)
        d->running--;
    if (answered) {
        d->answered = true;
        d->silent = 0;
        d->progress_ms = now_ms;
        d->degraded = !ok || duration_ms > DEST_SLOW_MS;
        d->state = DEST_ALIVE;
        d->probe_wait_ms = 0;
        if (ok && d->cap > 0 && ++d->cap >= lim->per_host)
            d->cap = 0;         /* grown back to the full number */
        return false;
    }
    d->degraded = true;
    d->silent++;
    if (d->state == DEST_PROBING) {
        long long wait = d->probe_wait_ms * 2;
        dest_die(d, now_ms, wait < DEST_PROBE_MIN_MS ? DEST_PROBE_MIN_MS : wait);
        return true;
    }
    if (d->state == DEST_ALIVE && d->silent >= dest_dead_after(lim)) {
        dest_die(d, now_ms, DEST_PROBE_MIN_MS);
        return true;
    }
    return false;
}

void
dest_cancelled(struct dest *d, long long now_ms)
{
    if (d->running > 0)
        d->running--;
    if (d->state == DEST_PROBING) {
        /* The probe never ended: the next delivery probes again, the wait unchanged. */
        long long wait = d->probe_wait_ms;
        dest_die(d, now_ms, 0);
        d->probe_wait_ms = wait;
    }
}

size_t
dest_concurrency(const struct dest *d, const struct dest_limits *lim)
{
    size_t full = lim->per_host > 0 ? lim->per_host : 1;

    return d->cap > 0 && d->cap < full ? d->cap : full;
}

void
dest_throttle(struct dest *d, const struct dest_limits *lim)
{
    size_t now = dest_concurrency(d, lim);

    d->cap = now > 1 ? now / 2 : 1;
}

const char *
dest_state_name(enum dest_state s)
{
    switch (s) {
    case DEST_ALIVE: return "alive";
    case DEST_DEAD: return "dead";
    case DEST_PROBING: return "probing";
    }
    return "?";
}
