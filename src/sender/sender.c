/*
 * hookspool-sender - the delivery daemon (SPEC sections 3 and 4).
 *
 * It owns one transition of the spool: a file in new/ is claimed into
 * active/ by rename, then either every delivery it stands for succeeded
 * (recorded in the delivery log first, then the file is removed) or the
 * failed ones were written as retry records (src/sender/record.h) into
 * deferred/ (mtime = next attempt) or failed/ (dead letters). Due records
 * are claimed from deferred/ into active/ in turn. It holds a lock on each
 * file it claimed until the file leaves active/ (spool_claim), so a killed
 * sender's files are recognised and given back (events to new/, records to
 * deferred/): by the next sender to start, or within seconds by a peer.
 *
 * Trust boundary (SPEC section 3): a file claimed from new/ is an event,
 * whatever its bytes say; only a file claimed from deferred/, which
 * producers cannot write, is a record, and even then every value in it is
 * checked before it reaches a path or a header (record_parse).
 *
 * One event loop: a libcurl multi handle (src/sender/delivery.h) with
 * inotify on new/, a signalfd and the helper threads' eventfds as extra
 * descriptors. Helpers: the claimer (claims and reads files ahead of the
 * loop), the committer (records attempts, group commit) and the unlinker
 * (removes finished files). Transfers are scheduled per destination
 * (scheme://host:port) so a slow or dead receiver only ever holds
 * max_connections_per_host of them.
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

#include <openssl/crypto.h>

#include "domain/config.h"
#include "domain/event.h"
#include "domain/signature.h"
#include "domain/spool.h"
#include "domain/store.h"
#include "domain/webhook.h"
#include "sender/claimer.h"
#include "sender/committer.h"
#include "sender/delivery.h"
#include "sender/dest.h"
#include "sender/fanout.h"
#include "sender/parker.h"
#include "sender/record.h"
#include "sender/schedule.h"
#include "sender/unlinker.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    RESCAN_MS = 5000,           /* new/ is listed at least this often (inotify is a hint) */
    RELEASE_MS = 1000,          /* deferred/ is listed for due records this often */
    RECOVER_MS = 5000,          /* active/ is checked for files of dead senders this often */
    MAINTAIN_MS = 1000,         /* store_maintain */
    PRUNE_MS = 24 * 3600 * 1000,/* delivery log pruning */
    MIN_JOBS = 256,             /* deliveries held in memory at once, at least */
    FD_RESERVE = 256,           /* descriptors for all but connections and claimed files */
    CACHE_MS = 50,              /* a tenant's webhook list serves claims this long at most */
    CLAIM_TURN = 32,            /* files claimed per turn of the loop, at most */
    ENDPOINT_MEMO = 16,         /* endpoint URLs whose destination is remembered */
    COMMIT_RETRY_MS = 200,      /* after the delivery log refused a batch */
    STORE_PAUSE_MS = 1000,      /* no claims this long after the store did not answer */
    RECOVERY_GRACE_S = 3,       /* to leave on our own before the watchdog ends us */
};

/* A FIFO of jobs linked through their next member. */
struct job_list {
    struct job *head, *tail;
    size_t n;
};

/* A claimed file in active/: an event to fan out, or one retry record. */
struct item {
    char *name;
    int fd;                     /* holds the claim's lock until the file leaves active/ */
    bool is_record;
    char *body;                 /* the delivery body, shared by the item's jobs */
    size_t body_len;
    char event_id[DELIVERY_EVENT_MAX + 1];
    char event_type[DELIVERY_EVENT_MAX + 1];
    char tenant[WEBHOOK_TENANT_MAX + 1];
    size_t pending;             /* jobs not finished yet */
    size_t started;             /* jobs that have begun an attempt */
    bool moved;                 /* the file is no longer in active/ under name */
    bool hold;                  /* something could not be persisted: leave the file for recovery */
    bool fanning;               /* its jobs are being added (claim) */
    struct job_list to_park;    /* while fanning: its jobs a destination would not take */
    long long park_until;       /* ...and the earliest time one of them is due */
};

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_FINISHED, JOB_PARKING };

/* What an attempt needs of its webhook. */
struct job_hook {
    char id[WEBHOOK_ID_LEN + 1];
    char *endpoint;
    char secret[WEBHOOK_SECRET_LEN + 1];
};

/* One delivery (event x webhook) and its current attempt. */
struct job {
    struct job *next;           /* in a host queue or in the finished batch */
    struct item *item;
    struct host *host;
    struct job_hook hook;       /* as re-read for this attempt */
    char delivery_id[DELIVERY_ID_MAX + 1];
    int attempt;                /* this attempt's number */
    int tries;                  /* failed tries before this one in the current round */
    char signature[SIGNATURE_MAX];
    long long started_ms;
    enum job_state state;
    struct delivery_result result;
};

/* A destination, scheme://host:port, with its queue of jobs and its health. */
struct host {
    char key[300];
    struct job_list queue;
    struct dest dest;           /* also counts its attempts in flight */
};

/* An endpoint URL and its destination. */
struct endpoint_memo {
    char *endpoint;
    struct host *host;
};

struct sender {
    struct config cfg;
    const char *config_path;
    bool once;
    struct store *store;
    struct delivery_engine *engine;
    struct unlinker *unlinker;
    struct parker *parker;      /* NULL: parked records are written on the loop */
    struct fanout_cache hooks_cache;    /* the tenant whose events are being claimed */
    struct endpoint_memo endpoints[ENDPOINT_MEMO];
    size_t endpoint_next;
    int inotify_fd, signal_fd;
    struct host **hosts;
    size_t n_hosts, host_cursor;
    size_t jobs_live;           /* jobs in memory, any state */
    size_t max_fds;             /* the descriptor limit */
    size_t running;
    struct job_list finished;   /* attempts ended, not yet handed to the committer */
    struct committer *committer;
    struct job *committing;     /* the batch the committer is writing */
    long long commit_retry_ms;  /* no batch before this time (after a refusal) */
    bool commit_refused;        /* the delivery log refused the last batch (logged once) */
    struct claimer *claimer;    /* NULL once stopping */
    long long claim_pause_until;    /* the store refused: claim nothing before this */
    bool stopping, stop_now;
    int exit_code;
    long long last_maintain, last_prune, last_recover;
    unsigned long long delivered, failed_attempts, reused;
};

/* Wall-clock milliseconds: also the time recorded for an attempt. */
static long long
now_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

/*
 * How many deliveries may be in memory. Each claimed file holds a
 * descriptor (its lock) until it is removed, so the descriptor limit, less
 * the connections and a reserve, bounds them too.
 */
static size_t
max_jobs(const struct sender *sd)
{
    size_t n = (size_t)sd->cfg.max_connections * 8;
    size_t other = (size_t)sd->cfg.max_connections + FD_RESERVE;
    size_t fds = sd->max_fds > other + MIN_JOBS ? sd->max_fds - other : MIN_JOBS;

    if (n < MIN_JOBS)
        n = MIN_JOBS;
    return n < fds ? n : fds;
}

/* Raises the soft descriptor limit to the hard one; returns the limit in force. */
static size_t
fd_limit_raise(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? 65536 : rl.rlim_max;
        struct rlimit raised = { want, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = want;
    }
    return rl.rlim_cur == RLIM_INFINITY ? 65536 : (size_t)rl.rlim_cur;
}

/* ---- items and jobs ---- */

static void
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
static void
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

static void
job_free(struct sender *sd, struct job *j)
{
    free(j->hook.endpoint);
    OPENSSL_cleanse(j->hook.secret, sizeof j->hook.secret);
    free(j);
    sd->jobs_live--;
}

/* The job is settled (delivered, persisted for later, or dropped). */
static void
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
 * Writes the job's delivery as a record into deferred/ (mtime = due), or
 * into failed/ with reason if dead. Returns 0, or -1 (the item is then
 * held in active/ for the next start).
 */
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

    snprintf(r.delivery_id, sizeof r.delivery_id, "%s", j->delivery_id);
    snprintf(r.webhook_id, sizeof r.webhook_id, "%s", j->hook.id);
    snprintf(r.tenant, sizeof r.tenant, "%s", it->tenant);
    snprintf(r.event_id, sizeof r.event_id, "%s", it->event_id);
    snprintf(r.event_type, sizeof r.event_type, "%s", it->event_type);
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

/* Settles a job whose attempt failed: schedule the next one or dead-letter it. */
static void
job_failed(struct sender *sd, struct job *j)
{
    int tries = j->tries + 1;
    const char *why = j->result.error;

    long delay = schedule_next(sd->cfg.retry_schedule, sd->cfg.retry_count, tries, random());
    if (delay < 0) {
        char reason[DELIVERY_ERROR_MAX + DELIVERY_ID_MAX + 128];
        snprintf(reason, sizeof reason, "delivery %s to webhook %s: attempt %d failed: %s; no "
                 "attempts left", j->delivery_id, j->hook.id, j->attempt, why);
        log_warn("sender: delivery %s: webhook %s (tenant %s): attempt %d failed: %s; giving up",
                 j->delivery_id, j->hook.id, j->item->tenant, j->attempt, why);
        job_persist(sd, j, j->attempt + 1, 0, why, 0, reason);
    } else {
        log_info("sender: delivery %s: webhook %s (tenant %s): attempt %d failed: %s; next in "
                 "%lds", j->delivery_id, j->hook.id, j->item->tenant, j->attempt, why, delay);
        job_persist(sd, j, j->attempt + 1, tries, why, schedule_due(now_ms(), delay * 1000LL),
                    NULL);
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
static struct dest_limits
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
    log_debug("sender: delivery %s: %s; parked for %lld s", j->delivery_id, why,
              (until_ms - now_ms() + 999) / 1000);
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
static void
on_parked(void *ctx, int rc, void *arg)
{
    struct job *j = ctx;

    if (rc != 0)
        j->item->hold = true;           /* the file stays in active/ for the next start */
    job_done(arg, j);
}

static void
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
static struct job *
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
static void
job_add(struct sender *sd, struct item *it, const struct webhook *w, int attempt, int tries,
        const char *delivery_id)
{
    struct job *j = xcalloc(1, sizeof *j);
    char key[300];

    memcpy(j->hook.id, w->id, sizeof j->hook.id);
    memcpy(j->hook.secret, w->secret, sizeof j->hook.secret);
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
        log_info("sender: destination %s: probing it with delivery %s", h->key, j->delivery_id);
        break;
    case DEST_QUEUE:
        break;
    }
    j->state = JOB_QUEUED;
    job_list_push(&h->queue, j);
}

/* ---- claiming ---- */

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
            fanout_delivery_id(it->tenant, it->event_id, hooks[i].id, ids[i]) != 0) {
            log_error("item_fan_out: %s: cannot compute a delivery id", it->name);
            free(ids);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i][0] != '\0')
            job_add(sd, it, &hooks[i], 1, 0, ids[i]);
    free(ids);
    return 0;
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
        log_warn("sender: %s: malformed delivery record: %s", it->name, err);
        if (spool_fail(sd->cfg.spool_dir, it->name, err) != 0)
            log_error("sender: %s: cannot move to failed/: %s", it->name, strerror(errno));
        return 1;
    }
    /* The id must be the one the sender makes for this event and webhook, as in fan-out. */
    char did[FANOUT_ID_LEN + 1];
    if (fanout_delivery_id(r.tenant, r.event_id, r.webhook_id, did) != 0) {
        log_error("item_from_record: %s: cannot compute a delivery id", it->name);
        record_release(&r);
        return -1;
    }
    if (strcmp(did, r.delivery_id) != 0) {
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
    snprintf(it->event_id, sizeof it->event_id, "%s", r.event_id);
    snprintf(it->event_type, sizeof it->event_type, "%s", r.event_type);
    snprintf(it->tenant, sizeof it->tenant, "%s", r.tenant);
    enum store_status st = store_webhook_get(sd->store, r.tenant, r.webhook_id, &w);
    if (st == STORE_UNAVAILABLE) {
        record_release(&r);
        return -1;
    }
    /* Re-read before every attempt: deleted, disabled or unsubscribed means no more requests. */
    const char *why = fanout_refusal(st == STORE_NOTFOUND ? NULL : &w, r.event_type);
    if (why != NULL)
        log_info("sender: delivery %s: webhook %s (tenant %s) %s: no more attempts",
                 r.delivery_id, r.webhook_id, r.tenant, why);
    else
        job_add(sd, it, &w, r.attempt, r.tries, r.delivery_id);
    if (st == STORE_OK)
        webhook_release(&w);
    record_release(&r);
    return 0;
}

/*
 * Settles the jobs of an item that its destinations would not take now.
 * If they are all of its jobs, the file itself goes back to deferred/, due
 * when the first of them is (one rename: nothing is rewritten or fsynced,
 * and an event comes back to be fanned out again under the same delivery
 * ids, as attempt 1); else each is parked as a record.
 */
static void
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
        log_debug("sender: %s: parked as it is until %lld", it->name, it->park_until / 1000);
        for (struct job *j = chain, *next; j != NULL; j = next) {
            next = j->next;
            job_done(sd, j);
        }
        return;
    }
    for (struct job *j = chain, *next; j != NULL; j = next) {
        next = j->next;
        job_park(sd, j, it->park_until);
    }
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
        log_debug("sender: event %s (%s, tenant %s): no matching webhook", it->event_id,
                  it->event_type, it->tenant);
    item_park(sd, it);
    if (--it->pending == 0)
        item_finish(sd, it);
    return 0;
}

/* Takes claimed files from the claimer while there is room. */
static void
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

/* ---- transfers ---- */

/*
 * Parks the queued jobs of h beyond what it may keep in memory now (all of
 * them once it is dead).
 */
static void
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
        log_warn("sender: destination %s: %s (%s); parking its deliveries, probing it again "
                 "in %lld s", h->key, before == DEST_PROBING ? "the probe got no answer"
                 : "attempts in a row got no answer", r->error,
                 h->dest.probe_wait_ms / 1000);
        host_spill(sd, h, now);
    } else if (before != DEST_ALIVE && h->dest.state == DEST_ALIVE) {
        log_info("sender: destination %s: answers again (HTTP %d); its parked deliveries "
                 "follow as they come due", h->key, r->status);
    }
}

static void
on_done(void *ctx, const struct delivery_result *r, void *arg)
{
    struct sender *sd = arg;
    struct job *j = ctx;

    j->result = *r;
    j->state = JOB_FINISHED;
    sd->running--;
    host_finished(sd, j->host, r);
    if (r->reused)
        sd->reused++;
    finished_push(sd, j);
}

/* Starts one queued job; returns 0, or -1 if it failed to start (it is then finished). */
static void
job_start(struct sender *sd, struct job *j)
{
    struct item *it = j->item;
    char err[256];

    j->started_ms = now_ms();
    it->started++;
    struct delivery_request req = {
        .url = j->hook.endpoint, .body = it->body, .body_len = it->body_len,
        .signature = j->signature, .event_type = it->event_type, .webhook_id = j->hook.id,
        .delivery_id = j->delivery_id, .attempt = j->attempt, .ctx = j,
    };
    if (signature_compute(j->hook.secret, it->body, it->body_len, sd->cfg.signature_encoding,
                          j->signature) != 0) {
        snprintf(err, sizeof err, "cannot compute the signature");
    } else if (delivery_start(sd->engine, &req, err, sizeof err) == 0) {
        j->state = JOB_RUNNING;
        dest_started(&j->host->dest, j->started_ms);
        sd->running++;
        return;
    }
    /* Not started: count it as a failed attempt so it is retried later. */
    struct delivery_result r = { .ok = false };
    snprintf(r.error, sizeof r.error, "%.*s", (int)sizeof r.error - 1, err);
    dest_started(&j->host->dest, j->started_ms);
    sd->running++;
    on_done(j, &r, sd);
}

/* Starts queued jobs, round-robin over destinations, within the connection limits. */
static void
start_some(struct sender *sd)
{
    size_t per_host = (size_t)sd->cfg.max_connections_per_host;
    size_t total = (size_t)sd->cfg.max_connections;
    bool progress = true;

    while (progress && sd->running < total && !sd->stopping) {
        progress = false;
        for (size_t k = 0; k < sd->n_hosts && sd->running < total; k++) {
            struct host *h = sd->hosts[(sd->host_cursor + k) % sd->n_hosts];
            if (h->queue.n == 0 || h->dest.running >= per_host || !dest_may_start(&h->dest))
                continue;
            job_start(sd, job_list_pop(&h->queue));
            progress = true;
        }
        if (sd->n_hosts > 0)
            sd->host_cursor = (sd->host_cursor + 1) % sd->n_hosts;
    }
}

/*
 * Hands every attempt finished since the last batch to the committer (one
 * transaction in the delivery log), unless it is still writing one.
 */
static void
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
static void
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
            log_error("sender: the database environment needs recovery: exiting to be "
                      "restarted");
            sd->stopping = true;
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
static void
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
static void
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

/* ---- signals, config, housekeeping ---- */

static int
signals_open(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void
reload(struct sender *sd)
{
    struct config cfg;
    char err[1024];

    if (config_load(&cfg, sd->config_path, err, sizeof err) != 0) {
        log_error("sender: reload: %s; keeping the old settings", err);
        config_free(&cfg);
        return;
    }
    /* The environment, the spool and the inotify watch stay: those need a restart. */
    if (strcmp(cfg.db_home, sd->cfg.db_home) != 0 || strcmp(cfg.spool_dir, sd->cfg.spool_dir) != 0)
        log_warn("sender: reload: db_home and spool_dir changes take effect after a restart");
    char *db_home = sd->cfg.db_home, *spool_dir = sd->cfg.spool_dir;
    sd->cfg.db_home = sd->cfg.spool_dir = NULL;
    free(cfg.db_home);
    free(cfg.spool_dir);
    cfg.db_home = db_home;
    cfg.spool_dir = spool_dir;
    config_free(&sd->cfg);
    sd->cfg = cfg;
    log_set_level(sd->cfg.log_level);
    delivery_engine_configure(sd->engine, &sd->cfg);
    if (sd->claimer != NULL)
        claimer_set_max_bytes(sd->claimer, (size_t)sd->cfg.max_event_bytes);
    log_info("sender: reloaded %s", sd->config_path);
}

static void
signals_read(struct sender *sd)
{
    struct signalfd_siginfo si;

    while (read(sd->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(sd);
        } else if (!sd->stopping) {
            log_info("sender: signal %u: finishing %zu deliveries in flight, then exiting",
                     si.ssi_signo, sd->running);
            sd->stopping = true;
        } else {
            sd->stop_now = true;
        }
    }
}

static void
inotify_drain(struct sender *sd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(sd->inotify_fd, buf, sizeof buf) > 0)
        ;
    if (sd->claimer != NULL)
        claimer_hint(sd->claimer);
}

/*
 * True if the delivery log was not pruned in the last day. A daemon keeps
 * time itself; --once runs (from cron, every minute) share the mtime of
 * spool_dir/.pruned, touched here when a prune is due.
 */
static bool
prune_due(struct sender *sd)
{
    if (!sd->once)
        return true;
    char *stamp = xasprintf("%s/.pruned", sd->cfg.spool_dir);
    struct stat st;
    bool due = true;
    /* Never through a symbolic link (O_NOFOLLOW), nor blocking on a FIFO put there. */
    int fd = open(stamp, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT)
        fd = open(stamp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0660);
    else if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        due = time(NULL) - st.st_mtime >= PRUNE_MS / 1000;
    if (fd < 0)
        log_warn("prune_due: %s: cannot open: %s", stamp, strerror(errno));
    else if (due && futimens(fd, NULL) != 0)
        log_warn("prune_due: %s: cannot touch: %s", stamp, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(stamp);
    return due;
}

/* What a killed sender (this one before a restart, or a peer) had claimed goes back to new/. */
static void
recover_active(struct sender *sd, bool at_start)
{
    size_t recovered = 0;

    if (spool_recover_active(sd->cfg.spool_dir, at_start, &recovered) != 0)
        log_error("sender: cannot put active/ back into new/: %s", strerror(errno));
    if (recovered > 0) {
        log_info("sender: put %zu interrupted files back into new/", recovered);
        if (sd->claimer != NULL)
            claimer_hint(sd->claimer);
    }
}

static void
housekeeping(struct sender *sd, long long now)
{
    /* A peer sharing the spool may have died holding files: they would wait for its restart. */
    if (!sd->once && !sd->stopping && now - sd->last_recover >= RECOVER_MS) {
        sd->last_recover = now;
        recover_active(sd, false);
    }
    if (now - sd->last_maintain >= MAINTAIN_MS) {
        sd->last_maintain = now;
        store_maintain(sd->store);
        if (store_recovery_pending(sd->store) && !sd->stop_now) {
            /*
             * Another process waits to recover the environment and needs every
             * process detached within seconds: drop what is in memory (the
             * files stay in active/ for the next start) and exit to be restarted.
             */
            log_error("sender: the database environment is being recovered: exiting to be "
                      "restarted");
            sd->stopping = sd->stop_now = true;
            sd->exit_code = EXIT_FAILURE;
        } else if (store_needs_restart(sd->store) && !sd->stopping) {
            log_error("sender: the database environment needs recovery: exiting to be restarted");
            sd->stopping = true;
            sd->exit_code = EXIT_FAILURE;
        }
    }
    if (now - sd->last_prune >= PRUNE_MS && prune_due(sd)) {
        sd->last_prune = now;
        size_t removed = 0;
        long long before = now - (long long)sd->cfg.delivery_log_days * 86400 * 1000;
        if (store_delivery_prune(sd->store, before, &removed) == STORE_OK && removed > 0)
            log_info("sender: delivery log: pruned %zu attempts older than %ld days", removed,
                     sd->cfg.delivery_log_days);
    }
}

/* True while parked records are being written. */
static bool
parker_busy(struct sender *sd)
{
    return sd->parker != NULL && parker_pending(sd->parker) > 0;
}

/* True when a --once run has nothing left to do. */
static bool
once_finished(struct sender *sd)
{
    return sd->jobs_live == 0 && (sd->claimer == NULL || claimer_drained(sd->claimer));
}

static int
run(struct sender *sd)
{

    for (;;) {
        long long now = now_ms();
        housekeeping(sd, now);
        commit_collect(sd);
        if (sd->parker != NULL)
            parker_collect(sd->parker, on_parked, sd);
        claim_some(sd, now);
        for (size_t i = 0; i < sd->n_hosts; i++)
            host_spill(sd, sd->hosts[i], now);
        start_some(sd);
        if (sd->stopping && !sd->stop_now)
            put_back_queued(sd);
        commit_submit(sd, now);
        if (sd->stop_now) {
            /* Still waits for the batch being written: its jobs are settled or kept. */
            while (committer_busy(sd->committer) || parker_busy(sd)) {
                usleep(10000);
                commit_collect(sd);
                if (sd->parker != NULL)
                    parker_collect(sd->parker, on_parked, sd);
            }
            abandon_all(sd);
            break;
        }
        bool idle = sd->running == 0 && sd->finished.n == 0 &&
                    !committer_busy(sd->committer) && !parker_busy(sd);
        if (sd->stopping && idle)
            break;
        if (sd->once && !sd->stopping && idle && once_finished(sd))
            break;
        /*
         * Sleep until the network, a signal, the committer, inotify or the
         * claimer (while there is room for more jobs) has something.
         */
        int fds[5] = { sd->signal_fd, committer_fd(sd->committer), -1, -1, -1 };
        size_t n_fds = 2, inotify_at = 0, claimer_at = 0;
        if (sd->parker != NULL)
            fds[n_fds++] = parker_fd(sd->parker);     /* collected at the top of the loop */
        if (sd->inotify_fd >= 0) {
            inotify_at = n_fds;
            fds[n_fds++] = sd->inotify_fd;
        }
        if (sd->claimer != NULL && sd->jobs_live < max_jobs(sd) &&
            now_ms() >= sd->claim_pause_until) {
            claimer_at = n_fds;
            fds[n_fds++] = claimer_fd(sd->claimer);
        }
        int timeout = 1000;
        /* A destination that stalls with more queued than it may then keep is trimmed on time. */
        struct dest_limits lim = dest_limits_of(sd);
        for (size_t i = 0; i < sd->n_hosts; i++) {
            struct host *h = sd->hosts[i];
            if (h->queue.n <= dest_queue_cap(&lim))
                continue;
            long long wait = dest_stall_at(&h->dest) - now_ms();
            if (wait < timeout)
                timeout = wait < 0 ? 0 : (int)wait;
        }
        if (sd->finished.n > 0 && !committer_busy(sd->committer)) {
            long long wait = sd->commit_retry_ms - now_ms();
            if (wait < timeout)
                timeout = wait < 0 ? 0 : (int)wait;
        }
        bool ready[5] = { false, false, false, false, false };
        if (delivery_run(sd->engine, fds, ready, n_fds, timeout, on_done, sd) != 0)
            usleep(100000);
        if (ready[0])
            signals_read(sd);
        if (inotify_at > 0 && ready[inotify_at])
            inotify_drain(sd);
        (void)claimer_at;       /* its files are taken at the top of the loop */
    }
    log_info("sender: exiting: %llu delivered, %llu failed attempts, %llu on reused connections",
             sd->delivered, sd->failed_attempts, sd->reused);
    return sd->exit_code;
}

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: hookspool-sender [--config FILE] [--once] [--foreground]\n"
                "  --config FILE   settings (default: $HOOKSPOOL_CONF, else %s/hookspool.conf)\n"
                "  --once          deliver what is due now, then exit (for cron)\n"
                "  --foreground    log to stderr instead of syslog\n",
            SYSCONFDIR);
}

/*
 * The event loop leaves on its own when another process waits to recover
 * the database (housekeeping), but a thread blocked for good on a mutex a
 * killed process held never gets there, and its handle keeps the recovery
 * waiting. This thread ends the process if the request stands for
 * RECOVERY_GRACE_S; the files it held are in active/ for the next start.
 */
static void *
recovery_watchdog(void *arg)
{
    static const char msg[] = "hookspool-sender: the database is being recovered and a thread "
                              "is stuck in it: exiting\n";
    int fd = (int)(intptr_t)arg;
    int seconds = 0;

    for (;;) {
        sleep(1);
        seconds = store_recovery_watch_pending(fd) ? seconds + 1 : 0;
        if (seconds >= RECOVERY_GRACE_S) {
            ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)ignored;
            _exit(EXIT_FAILURE);
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, 'o' },
        { "foreground", no_argument, NULL, 'f' },   { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },      { NULL, 0, NULL, 0 },
    };
    struct sender sd = { .inotify_fd = -1, .signal_fd = -1 };
    const char *config = NULL;
    bool foreground = false;
    int c;

    while ((c = getopt_long(argc, argv, "c:ofh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': sd.once = true; break;
        case 'f': foreground = true; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        case 'V': printf("hookspool-sender %s\n", PACKAGE_VERSION); return EXIT_SUCCESS;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    log_open("hookspool-sender", foreground);
    sd.config_path = config_choose_path(config);
    char err[1024] = "";
    if (config_load(&sd.cfg, sd.config_path, err, sizeof err) != 0) {
        log_error("sender: %s", err);
        config_free(&sd.cfg);
        return EXIT_FAILURE;
    }
    log_set_level(sd.cfg.log_level);
    srandom((unsigned)(time(NULL) ^ getpid()));
    int rc = EXIT_FAILURE;
    if (spool_init(sd.cfg.spool_dir) != 0)
        goto out;
    /* Producers write tmp/ and new/ only; what cannot be fixed is logged, and the sender runs. */
    if (spool_secure(sd.cfg.spool_dir) != 0)
        log_error("sender: %s: the sender's directories are open to others (see "
                  "docs/sender.md, \"Directory modes\")", sd.cfg.spool_dir);
    /*
     * Before any thread starts (store_open may start one): every thread
     * blocks the signals, only the signalfd sees them.
     */
    sd.max_fds = fd_limit_raise();
    sd.signal_fd = signals_open();
    if (sd.signal_fd < 0) {
        log_error("sender: signalfd: %s", strerror(errno));
        goto out;
    }
    sd.store = store_open(&sd.cfg, err, sizeof err);
    if (sd.store == NULL) {
        log_error("sender: %s", err);
        goto out;
    }
    int watch_fd = store_recovery_watch_open(&sd.cfg);
    pthread_t watchdog;
    if (watch_fd < 0 || pthread_create(&watchdog, NULL, recovery_watchdog,
                                       (void *)(intptr_t)watch_fd) != 0)
        log_warn("sender: cannot start the recovery watchdog");
    else
        pthread_detach(watchdog);
    sd.committer = committer_start(&sd.cfg, err, sizeof err);
    if (sd.committer == NULL) {
        log_error("sender: delivery log: %s", err);
        goto out;
    }
    sd.unlinker = unlinker_start();
    sd.parker = parker_start(sd.cfg.spool_dir);
    sd.engine = delivery_engine_new(&sd.cfg);
    if (sd.engine == NULL)
        goto out;
    sd.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    char *new_dir = spool_path(sd.cfg.spool_dir, SPOOL_NEW, NULL);
    if (sd.inotify_fd < 0 ||
        inotify_add_watch(sd.inotify_fd, new_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        log_warn("sender: %s: inotify unavailable (%s); rescanning every %d ms", new_dir,
                 strerror(errno), RESCAN_MS);
    free(new_dir);
    recover_active(&sd, true);
    /* --once takes the records due when it starts, and no more: a retry is for the next run. */
    sd.claimer = claimer_start(sd.cfg.spool_dir, (size_t)sd.cfg.max_event_bytes, RESCAN_MS,
                               sd.once ? 0 : RELEASE_MS);
    if (sd.claimer == NULL)
        goto out;
    long long now = now_ms();
    sd.last_maintain = sd.last_recover = now;
    sd.last_prune = now - PRUNE_MS;
    log_info("sender: started (spool %s, %ld connections, %ld per host)", sd.cfg.spool_dir,
             sd.cfg.max_connections, sd.cfg.max_connections_per_host);
    rc = run(&sd);
out:
    claimer_stop(sd.claimer);
    delivery_engine_free(sd.engine);
    committer_stop(sd.committer);
    parker_stop(sd.parker);
    unlinker_stop(sd.unlinker);
    for (size_t i = 0; i < sd.n_hosts; i++)
        free(sd.hosts[i]);
    for (size_t i = 0; i < ENDPOINT_MEMO; i++)
        free(sd.endpoints[i].endpoint);
    free(sd.hosts);
    if (sd.inotify_fd >= 0)
        close(sd.inotify_fd);
    if (sd.signal_fd >= 0)
        close(sd.signal_fd);
    store_close(sd.store);
    config_free(&sd.cfg);
    return rc;
}
