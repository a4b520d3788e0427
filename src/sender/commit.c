/*
 * commit - hands the attempts finished since the last batch to the
 * committer (one transaction of the delivery log) and settles them once it
 * is written: a success leaves the spool, a failure is scheduled for a
 * retry. See sender/state.h.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sender/state.h"
#include "util/log.h"
#include "util/xalloc.h"

struct body_ref *
body_ref_new(const char *data, size_t len)
{
    struct body_ref *b = xmalloc(sizeof *b + len);

    b->refs = 1;
    b->len = len;
    memcpy(b->data, data, len);
    return b;
}

void
body_ref_drop(struct body_ref *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}

void
commit_create(struct sender *sd, const struct item *it, struct body_ref *body,
              const char *webhook_id, const char *delivery_id, long long now)
{
    struct create_list *l = &sd->creates;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->nw = xreallocarray(l->nw, l->cap, sizeof *l->nw);
        l->bodies = xreallocarray(l->bodies, l->cap, sizeof *l->bodies);
    }
    struct delivery_new *nw = &l->nw[l->n];
    memset(nw, 0, sizeof *nw);
    item_delivery_ref(it, webhook_id, delivery_id, &nw->ref);
    nw->created_ms = now;
    nw->payload = body->data;
    nw->payload_len = body->len;
    body->refs++;
    l->bodies[l->n++] = body;
}

/* Empties l, dropping its body references. */
static void
create_list_clear(struct create_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        body_ref_drop(l->bodies[i]);
    l->n = 0;
}

/* Puts front's entries before back's, leaving front empty. */
static void
create_list_prepend(struct create_list *back, struct create_list *front)
{
    if (front->n == 0)
        return;
    struct create_list all = { NULL, NULL, 0, 0 };
    all.cap = all.n = front->n + back->n;
    all.nw = xreallocarray(NULL, all.cap, sizeof *all.nw);
    all.bodies = xreallocarray(NULL, all.cap, sizeof *all.bodies);
    memcpy(all.nw, front->nw, front->n * sizeof *all.nw);
    memcpy(all.bodies, front->bodies, front->n * sizeof *all.bodies);
    if (back->n > 0) {
        memcpy(all.nw + front->n, back->nw, back->n * sizeof *all.nw);
        memcpy(all.bodies + front->n, back->bodies, back->n * sizeof *all.bodies);
    }
    free(back->nw);
    free(back->bodies);
    *back = all;
    front->n = 0;
}

/* Queues a change of a delivery's record without an attempt (attempt number 0). */
static void
commit_change(struct sender *sd, const char *tenant, const char *webhook_id,
              const char *delivery_id, enum delivery_status status, long long next_ms)
{
    sd->changes = xreallocarray(sd->changes, sd->n_changes + 1, sizeof *sd->changes);
    struct delivery_outcome *o = &sd->changes[sd->n_changes++];
    memset(o, 0, sizeof *o);
    snprintf(o->attempt.ref.tenant, sizeof o->attempt.ref.tenant, "%s", tenant);
    snprintf(o->attempt.ref.webhook_id, sizeof o->attempt.ref.webhook_id, "%s", webhook_id);
    snprintf(o->attempt.ref.delivery_id, sizeof o->attempt.ref.delivery_id, "%s", delivery_id);
    o->status = status;
    o->next_attempt_ms = next_ms;
}

void
commit_stop(struct sender *sd, const char *tenant, const char *webhook_id,
            const char *delivery_id)
{
    commit_change(sd, tenant, webhook_id, delivery_id, DELIVERY_FAILED, 0);
}

void
commit_postpone(struct sender *sd, const struct job *j, long long until_ms)
{
    commit_change(sd, j->item->tenant, j->hook.id, j->delivery_id, DELIVERY_PENDING, until_ms);
}

void
commit_drop_creates(struct sender *sd)
{
    create_list_clear(&sd->creates);
    create_list_clear(&sd->creating);
    free(sd->creates.nw);
    free(sd->creates.bodies);
    free(sd->creating.nw);
    free(sd->creating.bodies);
    memset(&sd->creates, 0, sizeof sd->creates);
    memset(&sd->creating, 0, sizeof sd->creating);
    free(sd->changes);
    sd->changes = NULL;
    sd->n_changes = sd->changes_submitted = 0;
}

/*
 * What the job's attempt makes of its delivery. A failed attempt's next
 * time is drawn here, so that the record shows when it will be; job_failed
 * uses the same draw.
 */
static void
job_outcome(struct sender *sd, struct job *j, long long now, struct delivery_outcome *o)
{
    struct delivery_attempt *a = &o->attempt;

    a->time_ms = j->started_ms;
    item_delivery_ref(j->item, j->hook.id, j->delivery_id, &a->ref);
    a->attempt = j->attempt;
    a->status = j->result.status;
    snprintf(a->error, sizeof a->error, "%s", j->result.error);
    a->duration_ms = j->result.duration_ms;
    o->payload = j->item->body;
    o->payload_len = j->item->body_len;
    if (j->result.ok) {
        o->status = DELIVERY_SUCCEEDED;
        return;
    }
    j->retry_delay = j->stop ? -1 : schedule_next(sd->cfg.retry_schedule, sd->cfg.retry_count,
                                                  j->tries + 1, random());
    if (j->retry_delay < 0) {
        o->status = DELIVERY_FAILED;       /* no attempts left, or its webhook was disabled */
        return;
    }
    /* A 429/503's Retry-After may move it later: never earlier than it says, at most 1 h. */
    j->retry_scheduled = schedule_due(now, j->retry_delay * 1000LL);
    j->retry_due = retry_after_apply(j->retry_scheduled, j->result.retry_at_ms);
    o->status = DELIVERY_PENDING;
    o->next_attempt_ms = (long long)j->retry_due * 1000;
}

/*
 * Hands the records fanned out and every attempt finished since the last
 * batch to the committer (one transaction), unless it is still writing one.
 */
void
commit_submit(struct sender *sd, long long now)
{
    if ((sd->finished.n == 0 && sd->creates.n == 0 && sd->n_changes == 0) ||
        committer_busy(sd->committer) || now < sd->commit_retry_ms)
        return;
    size_t n = sd->finished.n + sd->n_changes;
    struct delivery_outcome *out = xcalloc(n > 0 ? n : 1, sizeof *out);
    size_t i = 0;
    for (struct job *j = sd->finished.head; j != NULL; j = j->next, i++)
        job_outcome(sd, j, now, &out[i]);
    if (sd->n_changes > 0)
        memcpy(out + i, sd->changes, sd->n_changes * sizeof *out);
    if (committer_submit(sd->committer, sd->creates.nw, sd->creates.n, out, n) != 0) {
        free(out);
        return;
    }
    sd->changes_submitted = sd->n_changes;
    sd->outcomes = out;
    /* The list handed over becomes the one being written; the empty one takes new entries. */
    struct create_list spare = sd->creating;
    sd->creating = sd->creates;
    sd->creates = spare;
    sd->committing = job_list_take(&sd->finished);
}

/*
 * Settles the jobs of a batch the committer finished: a success leaves the
 * spool only now that it is recorded; a failure is scheduled for a retry.
 */
void
commit_collect(struct sender *sd)
{
    enum store_status st;

    if (!committer_collect(sd->committer, &st))
        return;
    struct job *j = sd->committing;
    sd->committing = NULL;
    free(sd->outcomes);
    sd->outcomes = NULL;
    if (st != STORE_OK) {
        /* The records too go back in front, to be written with the next batch. */
        create_list_prepend(&sd->creates, &sd->creating);
        /* Once per episode: a full disk would otherwise log five lines a second. */
        if (!sd->commit_refused)
            log_error("commit_collect: cannot record delivery attempts in the delivery log%s; the "
                      "deliveries stay in active/ and are recorded as soon as it can",
                      st == STORE_NOSPACE ? " (the disk is full)" : "");
        sd->commit_refused = true;
        /* Back to the front of the batch, in order. */
        struct job_list retry = { NULL, NULL, 0 };
        for (struct job *next; j != NULL; j = next) {
            next = j->next;
            job_list_push(&retry, j);
        }
        for (struct job *later = job_list_take(&sd->finished), *next; later != NULL;
             later = next) {
            next = later->next;
            job_list_push(&retry, later);
        }
        sd->finished = retry;
        sd->commit_retry_ms = now_ms() + COMMIT_RETRY_MS;
        if (committer_needs_restart(sd->committer) && !sd->stopping) {
            log_error("commit_collect: the database environment needs recovery: starting again");
            sd->stopping = sd->rejoin = true;
            sd->exit_code = EXIT_FAILURE;
        }
        if (sd->stopping)
            sd->stop_now = true;        /* what is unrecorded stays in active/ */
        return;
    }
    create_list_clear(&sd->creating);
    /* The changes written are dropped; those added meanwhile move to the front. */
    if (sd->changes_submitted > 0) {
        memmove(sd->changes, sd->changes + sd->changes_submitted,
                (sd->n_changes - sd->changes_submitted) * sizeof *sd->changes);
        sd->n_changes -= sd->changes_submitted;
        sd->changes_submitted = 0;
    }
    if (sd->commit_refused)
        log_info("commit_collect: the delivery log records attempts again");
    sd->commit_refused = false;
    while (j != NULL) {
        struct job *next = j->next;
        if (j->result.ok) {
            sd->delivered++;
            log_debug("commit_collect: delivery %s: webhook %s: attempt %d: HTTP %d in %ld ms",
                      j->delivery_id, j->hook.id, j->attempt, j->result.status,
                      j->result.duration_ms);
            job_done(sd, j);
        } else {
            sd->failed_attempts++;
            job_failed(sd, j);
        }
        j = next;
    }
}
