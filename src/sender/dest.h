/*
 * dest - the health of one destination (scheme://host:port) and the rules
 * that bound what it may cost the others (SPEC section 4.1), after
 * Postfix's queue manager (qmgr): per-destination limits in memory,
 * dead-destination detection, parking, and one probe before the backlog
 * is let through again.
 *
 * This module owns the decisions only; the jobs themselves, their queues
 * and the spool stay with the caller, who reports every start and end of
 * an attempt (dest_started, dest_finished) and asks, for each delivery
 * that arrives, whether to queue it in memory or park it in deferred/
 * (dest_admit), and, each turn, how many queued deliveries a destination
 * may keep (dest_room; the rest are parked). A parked delivery is not an
 * attempt: it keeps its attempt number and is not in the delivery log.
 *
 * States:
 *  - alive: deliveries queue in memory. While the destination is in
 *    trouble (its last attempt failed or took longer than DEST_SLOW_MS, or
 *    it is stalled: busy with no answer for DEST_STALL_MS, or for
 *    DEST_PROBATION_MS if it has never answered: "connected, no answer"),
 *    it may keep at most dest_queue_cap() deliveries queued; the rest are
 *    parked for DEST_PARK_MS. The short probation is what keeps a receiver
 *    that never answers from filling the sender's memory with its share of
 *    a backlog before anything else is known of it.
 *  - dead: DEST_DEAD_AFTER attempts in a row (fewer when
 *    max_connections_per_host is smaller) ended with no HTTP answer at all
 *    (timeout, refused, reset, TLS failure). Nothing is queued or started;
 *    everything that arrives is parked until just after the next probe
 *    time. The first wait is DEST_PROBE_MIN_MS, doubling after every
 *    failed probe up to DEST_PROBE_MAX_MS.
 *  - probing: once the probe time has come, one delivery is let through.
 *    Any HTTP answer (even a 500: the host answers) makes the destination
 *    alive again and the parked backlog goes through as it comes due; no
 *    answer makes it dead again. While the probe is out the others are
 *    parked for delivery_timeout plus DEST_PARK_GRACE_MS.
 *
 * Any HTTP answer, from any attempt in flight, counts: a destination that
 * was only slow comes back by itself.
 *
 * Concurrency: a destination may have max_connections_per_host attempts in
 * flight, fewer once it answered 429 or 503 (dest_throttle halves the
 * number, down to 1); every success adds one back, up to the full number.
 */
#ifndef HOOKSPOOL_DEST_H
#define HOOKSPOOL_DEST_H

#include <stdbool.h>
#include <stddef.h>

enum {
    DEST_SLOW_MS = 2000,        /* an answer slower than this is not a prompt one */
    DEST_STALL_MS = 1000,       /* busy with no answer this long: connected, no answer */
    DEST_PROBATION_MS = 200,    /* ...for a destination that has never answered */
    DEST_PARK_MS = 10000,       /* an alive destination's overflow waits this long */
    DEST_PARK_GRACE_MS = 1000,  /* parked deliveries come back this long after the probe */
    DEST_PROBE_MIN_MS = 5000,   /* a dead destination is probed after this, first */
    DEST_PROBE_MAX_MS = 300000, /* ...and at least this often */
    DEST_DEAD_AFTER = 2,        /* attempts in a row without an answer that make it dead */
    DEST_QUEUE_MIN = 32,        /* queued deliveries a limited destination keeps, at least */
};

enum dest_state { DEST_ALIVE, DEST_DEAD, DEST_PROBING };

/* What the rules need of the configuration. */
struct dest_limits {
    size_t per_host;            /* max_connections_per_host */
    long timeout_ms;            /* delivery_timeout */
};

/* One destination's health; all zero is a new, alive destination. */
struct dest {
    enum dest_state state;
    size_t running;             /* attempts in flight */
    bool answered;              /* it has answered at least once */
    bool degraded;              /* its last attempt failed or was slow */
    int silent;                 /* attempts in a row that ended without an answer */
    long long progress_ms;      /* its last answer, or when it became busy */
    long long probe_ms;         /* dead: when one delivery may try it again */
    long long probe_wait_ms;    /* the wait before that, doubled by each failed probe */
    size_t cap;                 /* attempts in flight allowed after a 429/503; 0: per_host */
};

/* What to do with a delivery that arrives for a destination. */
enum dest_verdict {
    DEST_QUEUE,                 /* queue it in memory */
    DEST_PROBE,                 /* queue it: it is the probe of a dead destination */
    DEST_PARK,                  /* park it in deferred/ until *until_ms, not counted as an attempt */
};

/* How many deliveries a destination that is not known to answer promptly may keep queued. */
size_t dest_queue_cap(const struct dest_limits *lim);

/* True if d is busy and has not answered for DEST_STALL_MS (DEST_PROBATION_MS if never). */
bool dest_stalled(const struct dest *d, long long now_ms);

/* When d will count as stalled if nothing answers meanwhile; LLONG_MAX if it is idle. */
long long dest_stall_at(const struct dest *d);

/* How many queued deliveries d may keep in memory now (SIZE_MAX: no limit of its own). */
size_t dest_room(const struct dest *d, long long now_ms, const struct dest_limits *lim);

/* When a delivery parked for d now comes back (milliseconds, wall clock). */
long long dest_park_until(const struct dest *d, long long now_ms, const struct dest_limits *lim);

/*
 * Decides for a delivery arriving for d, which has queued deliveries in
 * memory already; DEST_PROBE turns d to probing. *until_ms is set for
 * DEST_PARK.
 */
enum dest_verdict dest_admit(struct dest *d, size_t queued, long long now_ms,
                             const struct dest_limits *lim, long long *until_ms);

/* True if a queued delivery of d may be started now (connection limits aside). */
bool dest_may_start(const struct dest *d);

/* An attempt to d has started. */
void dest_started(struct dest *d, long long now_ms);

/*
 * An attempt to d has ended: answered is true if an HTTP answer came back
 * (whatever its status), ok if it was a 2xx in time. Returns true if this
 * made d dead (the caller then parks what d has queued).
 */
bool dest_finished(struct dest *d, long long now_ms, bool answered, bool ok, long duration_ms,
                   const struct dest_limits *lim);

/* An attempt to d was abandoned without a result (shutdown). */
void dest_cancelled(struct dest *d, long long now_ms);

/* How many attempts d may have in flight now (at least 1). */
size_t dest_concurrency(const struct dest *d, const struct dest_limits *lim);

/* d answered 429 or 503: halves what it may have in flight (at least 1). */
void dest_throttle(struct dest *d, const struct dest_limits *lim);

/* "alive", "dead" or "probing". */
const char *dest_state_name(enum dest_state s);

#endif
