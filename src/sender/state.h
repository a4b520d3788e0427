/*
 * state - what the sender's modules share: the loop's state (struct
 * sender), claimed files (items), deliveries (jobs) and destinations
 * (hosts), and the functions each module offers the others. Internal to
 * hookspool-sender; the modules are
 *   sender.c  the event loop, signals, configuration, housekeeping, main;
 *   jobs.c    claimed files and deliveries: their lifetime, per-destination
 *             queues (started round-robin within the connection limits),
 *             parking (sender/dest.h decides, sender/parker.h writes), retry
 *             records;
 *   intake.c  turns a claimed file into deliveries: event or record, fan-out;
 *   commit.c  hands new delivery records and finished attempts to the
 *             committer, settles them after.
 * Ownership: an item owns its name, body and claim descriptor and lives
 * until its last job is done (job_done); a job lives in exactly one of a
 * host's queue, the engine (running), the finished batch, the batch being
 * committed, an item's to_park list or the parker.
 */
#ifndef HOOKSPOOL_SENDER_STATE_H
#define HOOKSPOOL_SENDER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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
#include "sender/health.h"
#include "sender/metrics.h"
#include "sender/parker.h"
#include "sender/record.h"
#include "sender/requests.h"
#include "sender/retry_after.h"
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
    SECRET_FRESH_MS = 1000,     /* a queued job's secrets older than this are read again */
    SECRET_MEMO = 16,           /* webhooks whose secrets as read again are remembered */
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

/* The secrets that sign a webhook's deliveries, and when they were read. */
struct hook_secrets {
    char secret[WEBHOOK_SECRET_LEN + 1];
    char previous[WEBHOOK_SECRET_LEN + 1];  /* "" when none */
    long long previous_until;               /* Unix seconds: it signs before then */
    long long read_ms;
};

/* What an attempt needs of its webhook. */
struct job_hook {
    char id[WEBHOOK_ID_LEN + 1];
    char *endpoint;
    struct hook_secrets keys;
};

/* A webhook's secrets as read again for a job that waited (jobs.c). */
struct secret_memo {
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char id[WEBHOOK_ID_LEN + 1];
    struct hook_secrets keys;
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
    char signature_previous[SIGNATURE_MAX];     /* "" outside a rotation's overlap */
    char webhook_timestamp[24];                 /* Standard Webhooks, "" when off */
    char webhook_signature[2 * SIGNATURE_STANDARD_MAX];
    long long started_ms;
    enum job_state state;
    struct delivery_result result;
    bool stop;                  /* its webhook was disabled by this answer: no retry */
    long retry_delay;           /* after a failed attempt: seconds to the next, -1 for none */
    time_t retry_scheduled;     /* ...its time by retry_schedule */
    time_t retry_due;           /* ...and its time, Retry-After applied */
};

/* An event's body, shared by the records its fan-out creates until they are written. */
struct body_ref {
    size_t refs;
    size_t len;
    char data[];
};

/* Delivery records to create (fan-out), each with a reference on its body. */
struct create_list {
    struct delivery_new *nw;
    struct body_ref **bodies;
    size_t n, cap;
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
    struct secret_memo secrets[SECRET_MEMO];
    size_t secret_next;
    int inotify_fd, signal_fd;
    struct host **hosts;
    size_t n_hosts, host_cursor;
    size_t jobs_live;           /* jobs in memory, any state */
    size_t max_fds;             /* the descriptor limit */
    size_t running;
    struct job_list finished;   /* attempts ended, not yet handed to the committer */
    struct committer *committer;
    struct job *committing;     /* the batch the committer is writing */
    struct create_list creates;     /* records fanned out, not yet handed to the committer */
    struct create_list creating;    /* ...those in the batch being written */
    struct delivery_outcome *outcomes;  /* the batch's attempts, as handed over */
    struct delivery_outcome *changes;   /* records changed without an attempt (commit_stop, ...) */
    size_t n_changes, changes_submitted;
    struct requests *requests;  /* the API's redeliver and ping requests */
    long long commit_retry_ms;  /* no batch before this time (after a refusal) */
    bool commit_refused;        /* the delivery log refused the last batch (logged once) */
    struct claimer *claimer;    /* NULL once stopping */
    long long claim_pause_until;    /* the store refused: claim nothing before this */
    bool stopping, stop_now;
    int exit_code;
    bool rejoin;                /* left for a recovery: start again once detached */
    long long last_maintain, last_prune, last_recover;
    unsigned long long delivered, failed_attempts, reused;
    struct health_stats hstats; /* sender/health.h: for the metrics file */
    struct metrics *metrics;    /* sender/metrics.h: NULL if it could not start */
    long long last_metrics;
};

/* ---- sender.c: the loop, signals, configuration, housekeeping ---- */

/* Wall-clock milliseconds: also the time recorded for an attempt. */
long long now_ms(void);

/*
 * How many deliveries may be in memory. Each claimed file holds a
 * descriptor (its lock) until it is removed, so the descriptor limit, less
 * the connections and a reserve, bounds them too.
 */
size_t max_jobs(const struct sender *sd);

/* ---- jobs.c: claimed files, deliveries, per-destination queues and parking ---- */

/* Closes the item's claim descriptor and frees it (no file is moved); NULL is allowed. */
void item_free(struct item *it);

/* The last job of an item is done: the file leaves active/ unless it must stay. */
void item_finish(struct sender *sd, struct item *it);

/* Frees a job (its secret wiped) and uncounts it; its item is not touched. */
void job_free(struct sender *sd, struct job *j);

/* The job is settled (delivered, persisted for later, or dropped). */
void job_done(struct sender *sd, struct job *j);

/* Settles a job whose attempt failed: schedule the next one or dead-letter it. */
void job_failed(struct sender *sd, struct job *j);

/* The destination rules' view of the configuration. */
struct dest_limits dest_limits_of(const struct sender *sd);

/* A parked job's record is written (rc 0) or could not be: the job is settled either way. */
void on_parked(void *ctx, int rc, void *arg);

/* Appends j to l. */
void job_list_push(struct job_list *l, struct job *j);

/* Empties l, returning its jobs as a chain. */
struct job *job_list_take(struct job_list *l);

/* Queues an attempt of a delivery to webhook w (copied). */
void job_add(struct sender *sd, struct item *it, const struct webhook *w, int attempt, int tries,
             const char *delivery_id);

/*
 * Settles the jobs of an item that its destinations would not take now.
 * If they are all of its jobs, the file itself goes back to deferred/, due
 * when the first of them is (one rename: nothing is rewritten or fsynced,
 * and an event comes back to be fanned out again under the same delivery
 * ids, as attempt 1); else each is parked as a record.
 */
void item_park(struct sender *sd, struct item *it);

/*
 * Parks the queued jobs of h beyond what it may keep in memory now (all of
 * them once it is dead).
 */
void host_spill(struct sender *sd, struct host *h, long long now);

/* The engine's callback for a finished transfer (ctx the job, arg the sender). */
void on_done(void *ctx, const struct delivery_result *r, void *arg);

/* Starts queued jobs, round-robin over destinations, within the connection limits. */
void start_some(struct sender *sd);

/* Second signal or an unusable store: drop everything in memory, leave the files. */
void abandon_all(struct sender *sd);

/* On shutdown: whatever has not started goes back to the spool untouched. */
void put_back_queued(struct sender *sd);

/* ---- intake.c: claimed files into deliveries (parse, fan out) ---- */

/* Takes claimed files from the claimer while there is room. */
void claim_some(struct sender *sd, long long now);

/* Sets *ref to the identity of the delivery of the item's event to webhook_id (id delivery_id). */
void item_delivery_ref(const struct item *it, const char *webhook_id, const char *delivery_id,
                       struct delivery_ref *ref);

/* ---- health.c: answers that steer (410, 429, 503) ---- */

/* An attempt of j ended with an HTTP answer: 410 disables its webhook, 429/503 slow its destination. */
void health_answer(struct sender *sd, struct job *j);

/* ---- metrics.c: the loop's part of the metrics file ---- */

/* Hands the metrics writer a fresh snapshot of the loop's counters and destinations. */
void metrics_tick(struct sender *sd);

/* ---- commit.c: recording attempts and settling them ---- */

/* A new reference on len bytes of body (copied). */
struct body_ref *body_ref_new(const char *data, size_t len);
/* Drops a reference; NULL is allowed. */
void body_ref_drop(struct body_ref *b);

/* Records that the delivery delivery_id of item it to webhook_id exists (pending). */
void commit_create(struct sender *sd, const struct item *it, struct body_ref *body,
                   const char *webhook_id, const char *delivery_id, long long now);

/*
 * Records that a delivery ends without a further attempt (its webhook was
 * deleted, disabled or unsubscribed): it becomes failed.
 */
void commit_stop(struct sender *sd, const char *tenant, const char *webhook_id,
                 const char *delivery_id);

/*
 * Records that a job was parked, not attempted, until until_ms: its record
 * stays pending and shows that time as its next attempt.
 */
void commit_postpone(struct sender *sd, const struct job *j, long long until_ms);

/* Drops the records not yet written (their files stay: a re-fan-out makes them again). */
void commit_drop_creates(struct sender *sd);

/*
 * Hands every attempt finished since the last batch to the committer (one
 * transaction in the delivery log), unless it is still writing one.
 */
void commit_submit(struct sender *sd, long long now);

/*
 * Settles the jobs of a batch the committer finished: a success leaves the
 * spool only now that it is recorded; a failure is scheduled for a retry.
 */
void commit_collect(struct sender *sd);

#endif
