/*
 * fanout - which webhooks an event goes to and under which delivery ids
 * (SPEC section 4), and the short-lived cache of a tenant's webhooks that
 * the events claimed in one turn of the sender's loop share.
 */
#ifndef HOOKSPOOL_FANOUT_H
#define HOOKSPOOL_FANOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/store.h"
#include "domain/webhook.h"

/* A delivery id (domain/delivery.h: delivery_id_make). */
#define FANOUT_ID_LEN DELIVERY_ID_LEN

/*
 * Why webhook w (as just read; NULL if it is gone) takes no delivery of an
 * event of event_type: "was deleted", "is disabled", "no longer subscribes
 * to the event"; NULL if it takes one.
 */
const char *fanout_refusal(const struct webhook *w, const char *event_type);

/*
 * As fanout_refusal, for a delivery already made (a retry, a redeliver):
 * a ping (DELIVERY_PING_TYPE) is addressed to its webhook, so it goes on
 * whatever the webhook's patterns, as long as it exists and is enabled.
 */
const char *fanout_retry_refusal(const struct webhook *w, const char *event_type);

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
