/* fanout - delivery ids, who takes an event, and the webhook cache (see fanout.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "domain/pattern.h"
#include "sender/fanout.h"

const char *
fanout_refusal(const struct webhook *w, const char *event_type)
{
    if (w == NULL)
        return "was deleted";
    if (!w->enabled)
        return "is disabled";
    if (!pattern_match_any((const char *const *)w->events, w->n_events, event_type))
        return "no longer subscribes to the event";
    return NULL;
}

const char *
fanout_retry_refusal(const struct webhook *w, const char *event_type)
{
    if (w != NULL && w->enabled && strcmp(event_type, DELIVERY_PING_TYPE) == 0)
        return NULL;
    return fanout_refusal(w, event_type);
}

void
fanout_cache_clear(struct fanout_cache *c)
{
    store_webhook_list_free(c->hooks, c->n);
    c->hooks = NULL;
    c->n = 0;
    c->valid = false;
}

int
fanout_cache_get(struct fanout_cache *c, struct store *st, const char *tenant,
                 long long now_ms, long long max_age_ms, const struct webhook **hooks,
                 size_t *n)
{
    if (!c->valid || strcmp(c->tenant, tenant) != 0 || now_ms - c->read_ms > max_age_ms) {
        fanout_cache_clear(c);
        if (store_webhook_list(st, tenant, &c->hooks, &c->n) != STORE_OK)
            return -1;
        snprintf(c->tenant, sizeof c->tenant, "%s", tenant);
        c->read_ms = now_ms;
        c->valid = true;
    }
    *hooks = c->hooks;
    *n = c->n;
    return 0;
}
