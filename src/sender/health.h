/*
 * health - what receivers' answers do to their webhooks and destinations
 * (SPEC section 4.1), beside the per-destination rules of dest.h:
 *
 *  - 410 Gone disables the webhook at once (enabled false, with
 *    "disabledReason" and "disabledAt" in its stored JSON); the attempt is
 *    not retried and its deliveries queued in memory are dropped; the rest
 *    stop at their next re-read, as for any disabled webhook.
 *  - 429 and 503 halve the destination's concurrency (dest_throttle);
 *    successes give it back. Their Retry-After moves that delivery's next
 *    attempt (retry_after.h, applied where the retry is scheduled).
 *  - auto-disable: the committer thread hands every batch of recorded
 *    attempts to health_batch, which keeps each webhook's failure streak
 *    in the store's "health" database (so it survives a restart) and, for
 *    a webhook that has failed every attempt for disable_after_days with
 *    at least 10 failures, disables it and publishes Webhook:Disabled for
 *    its tenant into the spool, like any producer.
 */
#ifndef HOOKSPOOL_HEALTH_H
#define HOOKSPOOL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"
#include "domain/store.h"

/* What the sender counts for the metrics file, since it started. */
struct health_stats {
    unsigned long long dead_lettered;   /* deliveries with no attempts left (failed/) */
    unsigned long long dropped;         /* stopped: webhook disabled, deleted or unsubscribed */
    unsigned long long disabled_gone;   /* webhooks disabled after a 410 */
    unsigned long long throttled;       /* 429/503 answers that reduced a destination */
};

/* ---- on the committer's thread ---- */

struct health;

/* The auto-disable side, for the committer (its own store handle). */
struct health *health_new(const struct config *cfg);
void health_free(struct health *hl);

/*
 * Records the failure streaks of a batch that is in the delivery log,
 * disables the webhooks that reached the threshold and announces them.
 * At the first call, announces what a crash left unannounced (call it
 * with n 0 to do only that).
 */
void health_batch(struct health *hl, struct store *st, const struct delivery_attempt *const *a,
                  size_t n);

/* Webhooks disabled for failing, since start (any thread). */
unsigned long long health_auto_disabled(const struct health *hl);

#endif
