/*
 * commit - hands the attempts finished since the last batch to the
 * committer (one transaction of the delivery log) and settles them once it
 * is written: a success leaves the spool, a failure is scheduled for a
 * retry. See sender/state.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sender/state.h"

/*
 * Hands every attempt finished since the last batch to the committer (one
 * transaction in the delivery log), unless it is still writing one.
 */
void
commit_submit(struct sender *sd, long long now)
{
    if (sd->finished.n == 0 || committer_busy(sd->committer) || now < sd->commit_retry_ms)
        return;
    struct delivery_attempt *log = xcalloc(sd->finished.n, sizeof *log);
    size_t i = 0;
    for (struct job *j = sd->finished.head; j != NULL; j = j->next, i++) {
        struct delivery_attempt *a = &log[i];
        a->time_ms = j->started_ms;
        snprintf(a->tenant, sizeof a->tenant, "%s", j->item->tenant);
        snprintf(a->webhook_id, sizeof a->webhook_id, "%s", j->hook.id);
        snprintf(a->delivery_id, sizeof a->delivery_id, "%s", j->delivery_id);
        snprintf(a->event_id, sizeof a->event_id, "%s", j->item->event_id);
        snprintf(a->event_type, sizeof a->event_type, "%s", j->item->event_type);
        a->attempt = j->attempt;
        a->status = j->result.status;
        snprintf(a->error, sizeof a->error, "%s", j->result.error);
        a->duration_ms = j->result.duration_ms;
    }
    if (committer_submit(sd->committer, log, sd->finished.n) != 0) {
        free(log);
        return;
    }
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
    if (st != STORE_OK) {
        /* Once per episode: a full disk would otherwise log five lines a second. */
        if (!sd->commit_refused)
            log_error("sender: cannot record delivery attempts in the delivery log%s; the "
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
            log_error("sender: the database environment needs recovery: starting again");
            sd->stopping = sd->rejoin = true;
            sd->exit_code = EXIT_FAILURE;
        }
        if (sd->stopping)
            sd->stop_now = true;        /* what is unrecorded stays in active/ */
        return;
    }
    if (sd->commit_refused)
        log_info("sender: the delivery log records attempts again");
    sd->commit_refused = false;
    while (j != NULL) {
        struct job *next = j->next;
        if (j->result.ok) {
            sd->delivered++;
            log_debug("sender: delivery %s: webhook %s: attempt %d: HTTP %d in %ld ms",
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
