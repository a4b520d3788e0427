/*
 * intake - turns a claimed file into deliveries: an event file is parsed
 * (never rewritten) and fanned out to the tenant's matching webhooks, a
 * retry record is checked and its webhook re-read. See sender/state.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sender/state.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Fans a parsed event out to the tenant's matching webhooks. Returns 0, or -1 to retry later. */
static int
item_fan_out(struct sender *sd, struct item *it)
{
    const struct webhook *hooks;
    size_t n;

    /*
     * One read of the tenant's webhooks serves the events claimed in one
     * turn of the loop (a few milliseconds); later attempts re-read.
     */
    if (fanout_cache_get(&sd->hooks_cache, sd->store, it->tenant, now_ms(), CACHE_MS, &hooks,
                         &n) != 0)
        return -1;
    /* Every id first: a failure then leaves nothing half fanned out. */
    char (*ids)[FANOUT_ID_LEN + 1] = xcalloc(n > 0 ? n : 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        if (fanout_refusal(&hooks[i], it->event_type) == NULL &&
            delivery_id_make(it->tenant, it->event_id, hooks[i].id, ids[i]) != 0) {
            log_error("item_fan_out: %s: cannot compute a delivery id", it->name);
            free(ids);
            return -1;
        }
    }
    /* Each delivery's record exists from now on (written with the committer's next batch). */
    struct body_ref *body = NULL;
    long long now = now_ms();
    for (size_t i = 0; i < n; i++) {
        if (ids[i][0] == '\0')
            continue;
        if (body == NULL)
            body = body_ref_new(it->body, it->body_len);
        commit_create(sd, it, body, hooks[i].id, ids[i], now);
        job_add(sd, it, &hooks[i], 1, 0, ids[i]);
    }
    body_ref_drop(body);
    free(ids);
    return 0;
}

/* The identity of the delivery of the item's event to webhook_id, as *ref. */
void
item_delivery_ref(const struct item *it, const char *webhook_id, const char *delivery_id,
                  struct delivery_ref *ref)
{
    snprintf(ref->tenant, sizeof ref->tenant, "%s", it->tenant);
    snprintf(ref->webhook_id, sizeof ref->webhook_id, "%s", webhook_id);
    snprintf(ref->delivery_id, sizeof ref->delivery_id, "%s", delivery_id);
    snprintf(ref->event_id, sizeof ref->event_id, "%s", it->event_id);
    snprintf(ref->event_type, sizeof ref->event_type, "%s", it->event_type);
}

/*
 * Sets up the item for an event file. The file is never rewritten: an
 * absent eventId comes from its name, an absent timestamp from its mtime
 * (event_parse_file), so a re-fan-out after a crash gives the same bytes
 * under the same delivery ids. Returns 0, 1 if the file was dead-lettered,
 * -1 to retry later.
 */
static int
item_from_event(struct sender *sd, struct item *it, const struct buf *data)
{
    struct event ev;
    struct stat st;
    char err[256];

    if (fstat(it->fd, &st) != 0) {
        log_error("item_from_event: %s: cannot read the file's time: %s", it->name,
                  strerror(errno));
        return -1;              /* given back, tried again later */
    }
    if (event_parse_file(&ev, data->data, data->len, it->name, st.st_mtime, err,
                         sizeof err) != 0) {
        log_warn("item_from_event: %s: malformed event: %s", it->name, err);
        if (spool_fail(sd->cfg.spool_dir, it->name, err) != 0)
            log_error("item_from_event: %s: cannot move to failed/: %s", it->name,
                      strerror(errno));
        return 1;
    }
    it->body = event_body(&ev);
    it->body_len = strlen(it->body);
    snprintf(it->event_id, sizeof it->event_id, "%s", ev.id);
    snprintf(it->event_type, sizeof it->event_type, "%s", ev.type);
    snprintf(it->tenant, sizeof it->tenant, "%s", ev.tenant);
    event_release(&ev);
    return 0;
}

/* Sets up the item for a retry record. Returns 0, 1 if dead-lettered, -1 to retry later. */
static int
item_from_record(struct sender *sd, struct item *it, const struct buf *data)
{
    struct record r;
    struct webhook w;
    char err[256];

    if (record_parse(&r, data->data, data->len, err, sizeof err) != 0) {
        log_warn("item_from_record: %s: malformed delivery record: %s", it->name, err);
        if (spool_fail(sd->cfg.spool_dir, it->name, err) != 0)
            log_error("item_from_record: %s: cannot move to failed/: %s",
                      it->name, strerror(errno));
        return 1;
    }
    /* The id must be the one the sender makes for this event and webhook, as in fan-out. */
    char did[FANOUT_ID_LEN + 1];
    if (delivery_id_make(r.ref.tenant, r.ref.event_id, r.ref.webhook_id, did) != 0) {
        log_error("item_from_record: %s: cannot compute a delivery id", it->name);
        record_release(&r);
        return -1;
    }
    if (strcmp(did, r.ref.delivery_id) != 0) {
        log_warn("item_from_record: %s: the delivery id is not its event's and webhook's",
                 it->name);
        if (spool_fail(sd->cfg.spool_dir, it->name, "the delivery id is not its event's and "
                       "webhook's") != 0)
            log_error("item_from_record: %s: cannot move to failed/: %s", it->name,
                      strerror(errno));
        record_release(&r);
        return 1;
    }
    it->body = r.body;
    it->body_len = r.body_len;
    r.body = NULL;
    snprintf(it->event_id, sizeof it->event_id, "%s", r.ref.event_id);
    snprintf(it->event_type, sizeof it->event_type, "%s", r.ref.event_type);
    snprintf(it->tenant, sizeof it->tenant, "%s", r.ref.tenant);
    enum store_status st = store_webhook_get(sd->store, r.ref.tenant, r.ref.webhook_id, &w);
    if (st == STORE_UNAVAILABLE) {
        record_release(&r);
        return -1;
    }
    /* Re-read before every attempt: deleted, disabled or unsubscribed means no more requests. */
    const char *why = fanout_retry_refusal(st == STORE_NOTFOUND ? NULL : &w, r.ref.event_type);
    if (why != NULL) {
        log_info("item_from_record: delivery %s: webhook %s (tenant %s) %s: no more attempts",
                 r.ref.delivery_id, r.ref.webhook_id, r.ref.tenant, why);
        sd->hstats.dropped++;
        commit_stop(sd, r.ref.tenant, r.ref.webhook_id, r.ref.delivery_id);
    } else {
        job_add(sd, it, &w, r.attempt, r.tries, r.ref.delivery_id);
    }
    if (st == STORE_OK)
        webhook_release(&w);
    record_release(&r);
    return 0;
}

/* Turns a claimed file into jobs. Returns 0, or -1 if the store is unavailable. */
static int
claim(struct sender *sd, struct claimed *f)
{
    const char *name = f->name;
    struct item *it = xcalloc(1, sizeof *it);
    int rc;

    it->name = xstrdup(name);
    it->fd = f->fd;             /* the item holds the claim from now on */
    f->fd = -1;
    it->is_record = f->is_record;     /* where it was claimed from, never what it says */
    /* One extra count while jobs are added, so none of them can finish the item early. */
    it->pending = 1;
    it->fanning = true;
    rc = it->is_record ? item_from_record(sd, it, &f->data) : item_from_event(sd, it, &f->data);
    if (rc == 0 && !it->is_record)
        rc = item_fan_out(sd, it);
    it->fanning = false;
    if (rc < 0) {
        /* Nothing of it stays: jobs set aside to park go with the rest. */
        for (struct job *j = job_list_take(&it->to_park), *next; j != NULL; j = next) {
            next = j->next;
            job_free(sd, j);
        }
        /* The store did not answer: give the file back and try again shortly. */
        if (spool_unclaim(sd->cfg.spool_dir, name) < 0)
            it->hold = true;
        item_free(it);
        return -1;
    }
    if (rc == 1)
        it->moved = true;       /* dead-lettered */
    else if (it->pending == 1 && !it->is_record)
        log_debug("claim: event %s (%s, tenant %s): no matching webhook", it->event_id,
                  it->event_type, it->tenant);
    item_park(sd, it);
    if (--it->pending == 0)
        item_finish(sd, it);
    return 0;
}

/* Takes claimed files from the claimer while there is room. */
void
claim_some(struct sender *sd, long long now)
{
    struct claimed f;

    if (sd->claimer == NULL || now < sd->claim_pause_until)
        return;
    /* A few at a time, so that the transfers in flight are served in between. */
    for (int k = 0; k < CLAIM_TURN && sd->jobs_live < max_jobs(sd); k++) {
        if (!claimer_pop(sd->claimer, &f))
            break;
        int rc = claim(sd, &f);
        claimed_release(&f);
        if (rc != 0) {
            sd->claim_pause_until = now + STORE_PAUSE_MS;
            claimer_hint(sd->claimer);      /* the file went back into new/ */
            break;
        }
    }
    fanout_cache_clear(&sd->hooks_cache);
}
