/*
 * fanout - which webhooks an event goes to and under which delivery ids
 * (SPEC section 4), and the short-lived cache of a tenant's webhooks that
 * the events claimed in one turn of the sender's loop share.
 *
 * A delivery id is the first 128 bits, in hex, of SHA-256(tenant NUL
 * eventId NUL webhookId): the same however often an event is fanned out
 * again (after a crash, a requeue), so receivers can dedupe on it.
 */
#ifndef HOOKSPOOL_FANOUT_H
#define HOOKSPOOL_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/store.h"
#include "domain/webhook.h"

/* A delivery id: 32 lowercase hex digits. */
#define FANOUT_ID_LEN 32

/*
 * Writes the delivery id of (tenant, event_id, webhook_id) into out.
 * Returns 0.
 */
int fanout_delivery_id(const char *tenant, const char *event_id, const char *webhook_id,
                       char out[FANOUT_ID_LEN + 1]);

/*
 * Why webhook w (as just read; NULL if it is gone) takes no delivery of an
 * event of event_type: "was deleted", "is disabled", "no longer subscribes
 * to the event"; NULL if it takes one.
 */
const char *fanout_refusal(const struct webhook *w, const char *event_type);

/* The webhooks of one tenant, read at most max_age_ms ago. */
struct fanout_cache {
    bool valid;
    char tenant[WEBHOOK_TENANT_MAX + 1];
    struct webhook *hooks;
    size_t n;
    long long read_ms;
};

/*
 * Points *hooks and *n at the webhooks of tenant, read from st unless the
 * cache holds them from less than max_age_ms before now_ms. The list is
 * the cache's (valid until the next call or clear). Returns 0, or -1 if
 * the store did not answer.
 */
int fanout_cache_get(struct fanout_cache *c, struct store *st, const char *tenant,
                     long long now_ms, long long max_age_ms, const struct webhook **hooks,
                     size_t *n);

/* Forgets what the cache holds. */
void fanout_cache_clear(struct fanout_cache *c);

#endif
