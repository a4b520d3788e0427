/*
 * health - 410 Gone, 429/503 back-off, auto-disable (see health.h). The
 * loop's part (health_answer) is declared in state.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "sender/health.h"
#include "sender/state.h"

/* ---- the loop: answers that steer ---- */

/* Drops the deliveries to webhook (tenant, id) queued for h: the webhook is disabled. */
static void
host_drop_webhook(struct sender *sd, struct host *h, const char *tenant, const char *id)
{
    struct job_list keep = { NULL, NULL, 0 };

    for (struct job *j = job_list_take(&h->queue), *next; j != NULL; j = next) {
        next = j->next;
        if (strcmp(j->hook.id, id) == 0 && strcmp(j->item->tenant, tenant) == 0) {
            sd->hstats.dropped++;
            commit_stop(sd, tenant, id, j->delivery_id);    /* its record: failed */
            job_done(sd, j);
        } else {
            job_list_push(&keep, j);
        }
    }
    h->queue = keep;
}

/* The endpoint answered 410 Gone: the webhook is disabled, as by PATCH {"enabled": false}. */
static void
answer_gone(struct sender *sd, struct job *j)
{
    const char *tenant = j->item->tenant;
    char reason[DELIVERY_ERROR_MAX + 64];

    snprintf(reason, sizeof reason, "the endpoint answered 410 Gone (delivery %s, attempt %d)",
             j->delivery_id, j->attempt);
    enum store_status st = store_webhook_disable(sd->store, tenant, j->hook.id, reason, now_ms());
    if (st == STORE_OK) {
        log_warn("answer_gone: webhook %s (tenant %s): disabled: %s", j->hook.id, tenant, reason);
        sd->hstats.disabled_gone++;
    } else if (st == STORE_REJECTED || st == STORE_NOTFOUND) {
        log_info("answer_gone: webhook %s (tenant %s): 410 Gone; it is disabled or deleted already",
                 j->hook.id, tenant);
    } else {
        /* Not disabled: the attempt is retried as a failure and the next 410 tries again. */
        log_error("answer_gone: webhook %s (tenant %s): 410 Gone, but it cannot be disabled now "
                  "(the store refused)", j->hook.id, tenant);
        return;
    }
    j->stop = true;
    fanout_cache_clear(&sd->hooks_cache);
    host_drop_webhook(sd, j->host, tenant, j->hook.id);
}

void
health_answer(struct sender *sd, struct job *j)
{
    int status = j->result.status;

    if (status == 410) {
        answer_gone(sd, j);
    } else if (status == 429 || status == 503) {
        struct dest_limits lim = dest_limits_of(sd);
        size_t before = dest_concurrency(&j->host->dest, &lim);
        dest_throttle(&j->host->dest, &lim);
        sd->hstats.throttled++;
        if (dest_concurrency(&j->host->dest, &lim) < before)
            log_info("health_answer: destination %s: HTTP %d: at most %zu attempts in flight "
                     "now (was "
                     "%zu); successes raise it again", j->host->key, status,
                     dest_concurrency(&j->host->dest, &lim), before);
    }
}

/* ---- the committer's thread: failure streaks and auto-disable ---- */

struct health {
    char *spool_dir;
    long long disable_after_ms;     /* 0: never */
    bool recovered;                 /* what a crash left unannounced was announced */
    bool refused;                   /* the last batch's streaks could not be written (logged) */
    _Atomic unsigned long long disabled;
};

struct health *
health_new(const struct config *cfg)
{
    struct health *hl = xcalloc(1, sizeof *hl);

    hl->spool_dir = xstrdup(cfg->spool_dir);
    hl->disable_after_ms = (long long)(cfg->disable_after_days * 86400.0 * 1000.0);
    return hl;
}

void
health_free(struct health *hl)
{
    if (hl == NULL)
        return;
    free(hl->spool_dir);
    free(hl);
}

unsigned long long
health_auto_disabled(const struct health *hl)
{
    return hl != NULL ? atomic_load(&hl->disabled) : 0;
}

/*
 * Publishes Webhook:Disabled for trip t into the spool. Its eventId comes
 * from the webhook and the start of the streak, so announcing it again
 * after a crash gives the same delivery ids. Returns 0 or -1.
 */
static int
announce(struct health *hl, struct store *st, const struct health_trip *t)
{
    char since[CLOCK_RFC3339_MAX], now[CLOCK_RFC3339_MAX], id[96], name[128];
    struct webhook w;
    const char *reason = t->reason;
    bool loaded = false;

    if (reason[0] == '\0' && store_webhook_get(st, t->tenant, t->webhook_id, &w) == STORE_OK) {
        loaded = true;
        reason = w.disabled_reason != NULL ? w.disabled_reason : "every attempt failed";
    }
    clock_rfc3339(t->failing_since_ms, since);
    clock_rfc3339(clock_ms(CLOCK_REALTIME), now);
    snprintf(id, sizeof id, "webhook-disabled-%s-%lld", t->webhook_id, t->failing_since_ms);
    json_object *data = json_object_new_object();
    json_object_object_add(data, "webhookId", json_object_new_string(t->webhook_id));
    json_object_object_add(data, "reason", json_object_new_string(reason));
    json_object_object_add(data, "failingSince", json_object_new_string(since));
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "eventId", json_object_new_string(id));
    json_object_object_add(ev, "eventType", json_object_new_string("Webhook:Disabled"));
    json_object_object_add(ev, "tenantId", json_object_new_string(t->tenant));
    json_object_object_add(ev, "timestamp", json_object_new_string(now));
    json_object_object_add(ev, "data", data);
    const char *text = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = spool_publish(hl->spool_dir, text, strlen(text), name, sizeof name);
    if (rc != 0)
        log_error("announce: webhook %s (tenant %s): cannot publish Webhook:Disabled: %s; "
                  "published at the next start", t->webhook_id, t->tenant, strerror(errno));
    else
        log_info("announce: webhook %s (tenant %s): published Webhook:Disabled (event %s)",
                 t->webhook_id, t->tenant, id);
    json_object_put(ev);
    if (loaded)
        webhook_release(&w);
    return rc;
}

/* Announces each trip, then closes its streak. */
static void
announce_all(struct health *hl, struct store *st, const struct health_trip *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (announce(hl, st, &t[i]) == 0 &&
            store_health_announced(st, t[i].tenant, t[i].webhook_id) != STORE_OK)
            log_error("announce_all: webhook %s (tenant %s): announced, but its streak stays open: "
                      "announced again at the next start", t[i].webhook_id, t[i].tenant);
}

void
health_batch(struct health *hl, struct store *st, const struct delivery_attempt *const *a,
             size_t n)
{
    struct health_trip *trips = NULL;
    size_t n_trips = 0;

    if (!hl->recovered && store_health_unannounced(st, &trips, &n_trips) == STORE_OK) {
        hl->recovered = true;
        announce_all(hl, st, trips, n_trips);
        free(trips);
        trips = NULL;
    }
    if (n == 0)
        return;
    enum store_status rc = store_health_record(st, a, n, hl->disable_after_ms,
                                               clock_ms(CLOCK_REALTIME), &trips, &n_trips);
    if (rc != STORE_OK) {
        /* Once per episode; these attempts do not count towards an auto-disable. */
        if (!hl->refused)
            log_error("health_batch: cannot record failure streaks (status %d): auto-disable "
                      "counts from the next batch that can be", (int)rc);
        hl->refused = true;
        free(trips);
        return;
    }
    hl->refused = false;
    for (size_t i = 0; i < n_trips; i++) {
        log_warn("health_batch: webhook %s (tenant %s): disabled: %s", trips[i].webhook_id,
                 trips[i].tenant, trips[i].reason);
        atomic_fetch_add(&hl->disabled, 1);
    }
    announce_all(hl, st, trips, n_trips);
    free(trips);
}
