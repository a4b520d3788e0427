/*
 * jobs - claimed files (items) and their deliveries (jobs): their lifetime,
 * the per-destination queues and the round-robin start within the
 * connection limits, parking (what sender/dest.h decides, written by
 * sender/parker.h or renamed as it is), retry records and dead letters,
 * and what happens to queued work at shutdown. See sender/state.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sender/state.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/xalloc.h"

void
item_free(struct item *it)
{
    if (it == NULL)
        return;
    if (it->fd >= 0)
        close(it->fd);
    free(it->name);
    free(it->body);
    free(it);
}

/* The last job of an item is done: the file leaves active/ unless it must stay. */
void
item_finish(struct sender *sd, struct item *it)
{
    if (!it->moved && !it->hold) {
        /*
         * A record is renamed out of the way at once (its name comes back with
         * the next retry of the delivery), then removed off the event loop.
         * No directory fsync: a removal lost in a crash means one more
         * delivery, never one less.
         */
        static unsigned long seq;
        char *path = spool_path(sd->cfg.spool_dir, SPOOL_ACTIVE, it->name);
        if (!it->is_record) {
            /* An event file's name never comes back within this process: remove it as is. */
            unlinker_add(sd->unlinker, path, it->fd);
            it->fd = -1;
            item_free(it);
            return;
        }
        char *done = xasprintf("%s/active/" SPOOL_DONE_PREFIX "%ld.%lu", sd->cfg.spool_dir,
                               (long)getpid(), seq++);
        if (rename(path, done) == 0) {
            unlinker_add(sd->unlinker, done, it->fd);
            it->fd = -1;
        } else {
            if (errno != ENOENT)
                log_error("item_finish: %s: cannot remove: %s", path, strerror(errno));
            free(done);
        }
        free(path);
    }
    item_free(it);
}

void
job_free(struct sender *sd, struct job *j)
{
    free(j->hook.endpoint);
    wipe(&j->hook.keys, sizeof j->hook.keys);
    free(j);
    sd->jobs_live--;
}

/* The job is settled (delivered, persisted for later, or dropped). */
void
job_done(struct sender *sd, struct job *j)
{
    struct item *it = j->item;

    job_free(sd, j);
    if (--it->pending == 0)
        item_finish(sd, it);
}

static struct host *
host_get(struct sender *sd, const char *key)
{
    for (size_t i = 0; i < sd->n_hosts; i++)
        if (strcmp(sd->hosts[i]->key, key) == 0)
            return sd->hosts[i];
    struct host *h = xcalloc(1, sizeof *h);
    snprintf(h->key, sizeof h->key, "%s", key);
    sd->hosts = xreallocarray(sd->hosts, sd->n_hosts + 1, sizeof *sd->hosts);
    sd->hosts[sd->n_hosts++] = h;
    return h;
}

/*
 * The destination of an endpoint, or NULL if it is not an http(s) URL. The
 * last few endpoints seen are remembered, so the URL is not parsed again
 * for every delivery.
 */
static struct host *
host_of(struct sender *sd, const char *endpoint, char *key, size_t cap)
{
    for (size_t i = 0; i < ENDPOINT_MEMO; i++) {
        struct endpoint_memo *m = &sd->endpoints[i];
        if (m->endpoint != NULL && strcmp(m->endpoint, endpoint) == 0)
            return m->host;
    }
    if (delivery_host_key(endpoint, key, cap) != 0)
        return NULL;
    struct endpoint_memo *m = &sd->endpoints[sd->endpoint_next++ % ENDPOINT_MEMO];
    free(m->endpoint);
    m->endpoint = xstrdup(endpoint);
    m->host = host_get(sd, key);
    return m->host;
}

/*
 * The text of the job's delivery as a record, the next attempt being
 * next_attempt; its file name goes to name. The caller frees the text.
 */
static char *
job_record(const struct job *j, int next_attempt, int tries, const char *last_error,
           char name[sizeof RECORD_PREFIX + DELIVERY_ID_MAX + 1])
{
    const struct item *it = j->item;
    struct record r = { .attempt = next_attempt, .tries = tries };

    item_delivery_ref(it, j->hook.id, j->delivery_id, &r.ref);
    snprintf(r.last_error, sizeof r.last_error, "%s", last_error);
    r.body = it->body;
    r.body_len = it->body_len;
    snprintf(name, sizeof RECORD_PREFIX + DELIVERY_ID_MAX + 1, RECORD_PREFIX "%s",
             j->delivery_id);
    return record_format(&r);
}

static int
job_persist(struct sender *sd, struct job *j, int next_attempt, int tries, const char *last_error,
            time_t due, const char *dead_reason)
{
    char name[sizeof RECORD_PREFIX + DELIVERY_ID_MAX + 1];
    char *data = job_record(j, next_attempt, tries, last_error, name);

    /* Straight into the sender's own directories: a record never passes through tmp/ or new/. */
    int rc = dead_reason != NULL
                 ? spool_store_failed(sd->cfg.spool_dir, name, data, strlen(data), dead_reason)
                 : spool_store_deferred(sd->cfg.spool_dir, name, data, strlen(data), due);
    if (rc != 0) {
        log_error("job_persist: %s: cannot store the delivery record: %s", name,
                  strerror(errno));
        j->item->hold = true;
    }
    free(data);
    return rc;
}

/*
 * Settles a job whose attempt failed: schedule the next one or dead-letter
 * it, as drawn when the attempt was recorded (commit.c), so that the
 * delivery record's nextAttemptAt is the retry record's time.
 */
void
job_failed(struct sender *sd, struct job *j)
{
    int tries = j->tries + 1;
    const char *why = j->result.error;

    if (j->stop) {
        log_info("job_failed: delivery %s: webhook %s (tenant %s): attempt %d failed: %s; the "
                 "webhook is disabled: no more attempts", j->delivery_id, j->hook.id,
                 j->item->tenant, j->attempt, why);
        sd->hstats.dropped++;
        job_done(sd, j);
        return;
    }
    if (j->retry_delay < 0) {
        char reason[DELIVERY_ERROR_MAX + DELIVERY_ID_MAX + 128];
        snprintf(reason, sizeof reason, "delivery %s to webhook %s: attempt %d failed: %s; no "
                 "attempts left", j->delivery_id, j->hook.id, j->attempt, why);
        log_warn("job_failed: delivery %s: webhook %s (tenant %s): attempt %d failed: %s; "
                 "giving up",
                 j->delivery_id, j->hook.id, j->item->tenant, j->attempt, why);
        job_persist(sd, j, j->attempt + 1, 0, why, 0, reason);
        sd->hstats.dead_lettered++;
    } else {
        log_info("job_failed: delivery %s: webhook %s (tenant %s): attempt %d failed: %s; next in "
                 "%llds%s", j->delivery_id, j->hook.id, j->item->tenant, j->attempt, why,
                 (long long)j->retry_due - now_ms() / 1000,
                 j->retry_due > j->retry_scheduled ? " (Retry-After)" : "");
        job_persist(sd, j, j->attempt + 1, tries, why, j->retry_due, NULL);
    }
    job_done(sd, j);
}

/*
 * Puts a job that was not attempted aside in deferred/ until until_ms,
 * keeping its attempt number: parking is not an attempt.
 */
static void
job_postpone(struct sender *sd, struct job *j, long long until_ms, const char *why)
{
    job_persist(sd, j, j->attempt, j->tries, why, schedule_due(until_ms, 0), NULL);
    job_done(sd, j);
}

/* The destination rules' view of the configuration. */
struct dest_limits
dest_limits_of(const struct sender *sd)
{
    struct dest_limits lim = { (size_t)sd->cfg.max_connections_per_host,
                               sd->cfg.delivery_timeout * 1000 };
    return lim;
}

/* Parks a job of a destination in trouble until until_ms. */
static void
job_park(struct sender *sd, struct job *j, long long until_ms)
{
    char why[DELIVERY_ERROR_MAX + 1];

    snprintf(why, sizeof why, "postponed: destination %.140s is %s", j->host->key,
             j->host->dest.state != DEST_ALIVE ? dest_state_name(j->host->dest.state)
                                               : "failing, slow or not answering");
    log_debug("job_park: delivery %s: %s; parked for %lld s", j->delivery_id, why,
              (until_ms - now_ms() + 999) / 1000);
    commit_postpone(sd, j, until_ms);
    if (sd->parker == NULL) {
        job_postpone(sd, j, until_ms, why);
        return;
    }
    /* Off the loop; the job stays in memory until its record is on disk (on_parked). */
    char name[sizeof RECORD_PREFIX + DELIVERY_ID_MAX + 1];
    char *data = job_record(j, j->attempt, j->tries, why, name);
    j->state = JOB_PARKING;
    parker_add(sd->parker, name, data, strlen(data), schedule_due(until_ms, 0), j);
}

/* A parked job's record is written (rc 0) or could not be: the job is settled either way. */
void
on_parked(void *ctx, int rc, void *arg)
{
    struct job *j = ctx;

    if (rc != 0)
        j->item->hold = true;           /* the file stays in active/ for the next start */
    job_done(arg, j);
}

void
job_list_push(struct job_list *l, struct job *j)
{
    j->next = NULL;
    if (l->tail != NULL)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static struct job *
job_list_pop(struct job_list *l)
{
    struct job *j = l->head;

    if (j != NULL) {
        l->head = j->next;
        if (l->head == NULL)
            l->tail = NULL;
        l->n--;
        j->next = NULL;
    }
    return j;
}

/* Empties l, returning its jobs as a chain. */
struct job *
job_list_take(struct job_list *l)
{
    struct job *chain = l->head;

    l->head = l->tail = NULL;
    l->n = 0;
    return chain;
}

/* Adds a job whose attempt ended to the batch waiting to be recorded. */
static void
finished_push(struct sender *sd, struct job *j)
{
    job_list_push(&sd->finished, j);
}

/* Queues an attempt of a delivery to webhook w (copied). */
void
job_add(struct sender *sd, struct item *it, const struct webhook *w, int attempt, int tries,
        const char *delivery_id)
{
    struct job *j = xcalloc(1, sizeof *j);
    char key[300];

    memcpy(j->hook.id, w->id, sizeof j->hook.id);
    memcpy(j->hook.keys.secret, w->secret, sizeof j->hook.keys.secret);
    memcpy(j->hook.keys.previous, w->previous_secret, sizeof j->hook.keys.previous);
    j->hook.keys.previous_until = w->previous_until;
    j->hook.keys.read_ms = now_ms();
    j->hook.endpoint = xstrdup(w->endpoint);
    j->item = it;
    j->attempt = attempt;
    j->tries = tries;
    snprintf(j->delivery_id, sizeof j->delivery_id, "%s", delivery_id);
    it->pending++;
    sd->jobs_live++;
    struct host *h = host_of(sd, w->endpoint, key, sizeof key);
    if (h == NULL) {
        /* The API only stores http(s) URLs; a bad one fails like an attempt, not silently. */
        j->state = JOB_FINISHED;
        j->started_ms = now_ms();
        snprintf(j->result.error, sizeof j->result.error, "the endpoint is not an http(s) URL");
        finished_push(sd, j);
        it->started++;
        return;
    }
    j->host = h;
    /* A destination in trouble may not fill memory: beyond a small queue its deliveries wait on disk. */
    struct dest_limits lim = dest_limits_of(sd);
    long long until = 0;
    switch (dest_admit(&h->dest, h->queue.n, now_ms(), &lim, &until)) {
    case DEST_PARK:
        if (it->fanning) {
            /* Decided once the item is complete: perhaps the whole file can wait as it is. */
            if (it->to_park.n == 0 || until < it->park_until)
                it->park_until = until;
            job_list_push(&it->to_park, j);
        } else {
            job_park(sd, j, until);
        }
        return;
    case DEST_PROBE:
        log_info("job_add: destination %s: probing it with delivery %s", h->key, j->delivery_id);
        break;
    case DEST_QUEUE:
        break;
    }
    j->state = JOB_QUEUED;
    job_list_push(&h->queue, j);
}

/*
 * Settles the jobs of an item that its destinations would not take now.
 * If they are all of its jobs, the file itself goes back to deferred/, due
 * when the first of them is (one rename: nothing is rewritten or fsynced,
 * and an event comes back to be fanned out again under the same delivery
 * ids, as attempt 1); else each is parked as a record.
 */
void
item_park(struct sender *sd, struct item *it)
{
    size_t n = it->to_park.n;
    struct job *chain = job_list_take(&it->to_park);

    if (n == 0)
        return;
    /* pending counts claim()'s guard too */
    if (it->started == 0 && it->pending == n + 1 &&
        spool_park(sd->cfg.spool_dir, it->name, it->fd, schedule_due(it->park_until, 0)) == 0) {
        it->moved = true;
        log_debug("item_park: %s: parked as it is until %lld", it->name, it->park_until / 1000);
        for (struct job *j = chain, *next; j != NULL; j = next) {
            next = j->next;
            commit_postpone(sd, j, it->park_until);
            job_done(sd, j);
        }
        return;
    }
    for (struct job *j = chain, *next; j != NULL; j = next) {
        next = j->next;
        job_park(sd, j, it->park_until);
    }
}

/*
 * Parks the queued jobs of h beyond what it may keep in memory now (all of
 * them once it is dead).
 */
void
host_spill(struct sender *sd, struct host *h, long long now)
{
    struct dest_limits lim = dest_limits_of(sd);
    size_t room = dest_room(&h->dest, now, &lim);

    if (h->queue.n <= room)
        return;
    /* The oldest stay queued: they were first. */
    struct job_list keep = { NULL, NULL, 0 };
    long long until = dest_park_until(&h->dest, now, &lim);
    for (struct job *j = job_list_take(&h->queue), *next; j != NULL; j = next) {
        next = j->next;
        if (keep.n < room)
            job_list_push(&keep, j);
        else
            job_park(sd, j, until);
    }
    h->queue = keep;
}

/* An attempt to h ended: its health follows, and a dead destination's queue goes to disk. */
static void
host_finished(struct sender *sd, struct host *h, const struct delivery_result *r)
{
    struct dest_limits lim = dest_limits_of(sd);
    long long now = now_ms();
    enum dest_state before = h->dest.state;

    if (dest_finished(&h->dest, now, r->status != 0, r->ok, r->duration_ms, &lim)) {
        log_warn("host_finished: destination %s: %s (%s); parking its deliveries, probing it again "
                 "in %lld s", h->key, before == DEST_PROBING ? "the probe got no answer"
                 : "attempts in a row got no answer", r->error,
                 h->dest.probe_wait_ms / 1000);
        host_spill(sd, h, now);
    } else if (before != DEST_ALIVE && h->dest.state == DEST_ALIVE) {
        log_info("host_finished: destination %s: answers again (HTTP %d); its parked deliveries "
                 "follow as they come due", h->key, r->status);
    }
}

void
on_done(void *ctx, const struct delivery_result *r, void *arg)
{
    struct sender *sd = arg;
    struct job *j = ctx;

    j->result = *r;
    j->state = JOB_FINISHED;
    sd->running--;
    host_finished(sd, j->host, r);
    if (r->status != 0)
        health_answer(sd, j);
    if (r->reused)
        sd->reused++;
    finished_push(sd, j);
}

/*
 * A job that waited in its destination's queue longer than SECRET_FRESH_MS
 * takes its webhook's secrets as they are now, so that a rotation reaches
 * queued deliveries too. One read serves every job of the webhook for
 * SECRET_FRESH_MS. If the store does not answer, the job keeps what it has.
 */
static void
job_refresh_secrets(struct sender *sd, struct job *j, long long now)
{
    const char *tenant = j->item->tenant;
    struct secret_memo *m = NULL;
    struct webhook w;

    if (now - j->hook.keys.read_ms <= SECRET_FRESH_MS)
        return;
    for (size_t i = 0; i < SECRET_MEMO && m == NULL; i++)
        if (strcmp(sd->secrets[i].id, j->hook.id) == 0 &&
            strcmp(sd->secrets[i].tenant, tenant) == 0)
            m = &sd->secrets[i];
    if (m == NULL || now - m->keys.read_ms > SECRET_FRESH_MS) {
        if (store_webhook_get(sd->store, tenant, j->hook.id, &w) != STORE_OK)
            return;
        if (m == NULL)
            m = &sd->secrets[sd->secret_next++ % SECRET_MEMO];
        snprintf(m->tenant, sizeof m->tenant, "%s", tenant);
        memcpy(m->id, j->hook.id, sizeof m->id);
        memcpy(m->keys.secret, w.secret, sizeof m->keys.secret);
        memcpy(m->keys.previous, w.previous_secret, sizeof m->keys.previous);
        m->keys.previous_until = w.previous_until;
        m->keys.read_ms = now;
        webhook_release(&w);
    }
    j->hook.keys = m->keys;
}

/*
 * Signs the job's body for this attempt: X-NEOSTORE-SIGNATURE with the
 * current secret, -PREVIOUS while a rotation's overlap lasts, and the
 * Standard Webhooks headers (both secrets likewise) unless they are off.
 */
static int
job_sign(const struct sender *sd, struct job *j)
{
    const struct item *it = j->item;
    const struct hook_secrets *k = &j->hook.keys;
    long long ts = j->started_ms / 1000;
    bool previous = k->previous[0] != '\0' && ts < k->previous_until;

    j->signature_previous[0] = j->webhook_timestamp[0] = j->webhook_signature[0] = '\0';
    if (signature_compute(k->secret, it->body, it->body_len, sd->cfg.signature_encoding,
                          j->signature) != 0 ||
        (previous && signature_compute(k->previous, it->body, it->body_len,
                                       sd->cfg.signature_encoding, j->signature_previous) != 0))
        return -1;
    if (!sd->cfg.standard_webhooks)
        return 0;
    char current[SIGNATURE_STANDARD_MAX], old[SIGNATURE_STANDARD_MAX];
    if (signature_standard(k->secret, j->delivery_id, ts, it->body, it->body_len, current) != 0 ||
        (previous && signature_standard(k->previous, j->delivery_id, ts, it->body, it->body_len,
                                        old) != 0))
        return -1;
    snprintf(j->webhook_timestamp, sizeof j->webhook_timestamp, "%lld", ts);
    /* Space-separated, as the Standard Webhooks libraries expect: any one may match. */
    snprintf(j->webhook_signature, sizeof j->webhook_signature, "%s%s%s", current,
             previous ? " " : "", previous ? old : "");
    return 0;
}

/* Starts one queued job; returns 0, or -1 if it failed to start (it is then finished). */
static void
job_start(struct sender *sd, struct job *j)
{
    struct item *it = j->item;
    char err[256];

    j->started_ms = now_ms();
    it->started++;
    job_refresh_secrets(sd, j, j->started_ms);
    struct delivery_request req = {
        .url = j->hook.endpoint, .body = it->body, .body_len = it->body_len,
        .signature = j->signature, .event_type = it->event_type, .webhook_id = j->hook.id,
        .delivery_id = j->delivery_id, .attempt = j->attempt, .ctx = j,
    };
    if (job_sign(sd, j) != 0) {
        snprintf(err, sizeof err, "cannot compute the signature");
    } else {
        req.signature_previous = j->signature_previous[0] != '\0' ? j->signature_previous : NULL;
        req.webhook_timestamp = j->webhook_timestamp[0] != '\0' ? j->webhook_timestamp : NULL;
        req.webhook_signature = j->webhook_signature[0] != '\0' ? j->webhook_signature : NULL;
        if (delivery_start(sd->engine, &req, err, sizeof err) == 0) {
            j->state = JOB_RUNNING;
            dest_started(&j->host->dest, j->started_ms);
            sd->running++;
            return;
        }
    }
    /* Not started: count it as a failed attempt so it is retried later. */
    struct delivery_result r = { .ok = false };
    snprintf(r.error, sizeof r.error, "%.*s", (int)sizeof r.error - 1, err);
    dest_started(&j->host->dest, j->started_ms);
    sd->running++;
    on_done(j, &r, sd);
}

/* Starts queued jobs, round-robin over destinations, within the connection limits. */
void
start_some(struct sender *sd)
{
    struct dest_limits lim = dest_limits_of(sd);
    size_t total = (size_t)sd->cfg.max_connections;
    bool progress = true;

    while (progress && sd->running < total && !sd->stopping) {
        progress = false;
        for (size_t k = 0; k < sd->n_hosts && sd->running < total; k++) {
            struct host *h = sd->hosts[(sd->host_cursor + k) % sd->n_hosts];
            if (h->queue.n == 0 || h->dest.running >= dest_concurrency(&h->dest, &lim) ||
                !dest_may_start(&h->dest))
                continue;
            job_start(sd, job_list_pop(&h->queue));
            progress = true;
        }
        if (sd->n_hosts > 0)
            sd->host_cursor = (sd->host_cursor + 1) % sd->n_hosts;
    }
}

/* A job given up without a result: its file stays in active/ for the next start. */
static void
job_abandon(struct sender *sd, struct job *j)
{
    j->item->hold = true;
    job_done(sd, j);
}

static void
on_cancel(void *ctx, void *arg)
{
    struct sender *sd = arg;
    struct job *j = ctx;

    dest_cancelled(&j->host->dest, now_ms());
    sd->running--;
    job_abandon(sd, j);
}

/* Second signal or an unusable store: drop everything in memory, leave the files. */
void
abandon_all(struct sender *sd)
{
    claimer_stop(sd->claimer);
    sd->claimer = NULL;
    delivery_cancel_all(sd->engine, on_cancel, sd);
    struct job *lists[] = { job_list_take(&sd->finished), sd->committing };
    sd->committing = NULL;
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        for (struct job *j = lists[k], *next; j != NULL; j = next) {
            next = j->next;
            job_abandon(sd, j);
        }
    }
    for (size_t i = 0; i < sd->n_hosts; i++) {
        struct host *h = sd->hosts[i];
        for (struct job *j = job_list_take(&h->queue), *next; j != NULL; j = next) {
            next = j->next;
            job_abandon(sd, j);
        }
    }
}

/* On shutdown: whatever has not started goes back to the spool untouched. */
void
put_back_queued(struct sender *sd)
{
    claimer_stop(sd->claimer);          /* what it claimed ahead goes back to new/ */
    sd->claimer = NULL;
    for (size_t i = 0; i < sd->n_hosts; i++) {
        struct host *h = sd->hosts[i];
        struct job *j = job_list_take(&h->queue);
        while (j != NULL) {
            struct job *next = j->next;
            struct item *it = j->item;
            if (it->started == 0 && !it->moved) {
                /* Nothing of it was tried: the whole file goes back where it came from. */
                if (spool_unclaim(sd->cfg.spool_dir, it->name) == 0)
                    it->moved = true;
                else
                    it->hold = true;
            }
            if (it->moved || it->hold)
                job_done(sd, j);
            else
                job_postpone(sd, j, now_ms(), "put back at shutdown");
            j = next;
        }
    }
}
