/*
 * store - the Berkeley DB transactional environment in db_home and its
 * databases: "webhooks" (key tenant \0 id), "apikeys" (key: key id),
 * "deliveries" (the delivery log), "previous_secrets" (key tenant \0 id:
 * a rotated webhook's previous secret while it still signs) and "health"
 * (webhooks' failure streaks).
 *
 * Every API process, the sender and the CLI open it at once. Each process
 * joins without recovery and runs failchk (dead processes' transactions
 * aborted, their locks freed) at open and every few seconds; full recovery
 * runs only when failchk says it is needed, by one process at a time, once
 * every other has detached (docs/recovery.md). Every operation is one
 * transaction, retried here, and only here, after a deadlock. A write is
 * acknowledged (STORE_OK) only after its commit. A write is refused
 * (STORE_NOSPACE) before it starts when db_home's file system has less than
 * STORE_RESERVE_BYTES free, so that Berkeley DB never meets a full disk in
 * the middle of a log or page write; reads go on.
 *
 * Only this module includes db.h.
 */
#ifndef HOOKSPOOL_STORE_H
#define HOOKSPOOL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/apikey.h"
#include "domain/config.h"
#include "domain/delivery.h"
#include "domain/webhook.h"
#include "util/buf.h"

enum store_status {
    STORE_OK = 0,
    STORE_NOTFOUND,             /* no such record */
    STORE_LIMIT,                /* the tenant has max_webhooks_per_tenant webhooks */
    STORE_REJECTED,             /* an update callback refused the change */
    STORE_UNAVAILABLE,          /* storage failure or deadlock retries exhausted */
    STORE_NOSPACE,              /* db_home's file system is (nearly) full: nothing was written */
};

/* Free space below which writes are refused, leaving room for checkpoints and aborts. */
#define STORE_RESERVE_BYTES (1024L * 1024)

struct store;

/*
 * Opens (creating if needed) the environment in cfg->db_home. Returns the
 * handle, or NULL with a reason in err.
 */
struct store *store_open(const struct config *cfg, char *err, size_t errlen);
/* Closes the environment; NULL is allowed. */
void store_close(struct store *s);
/*
 * Housekeeping for long-lived processes, cheap to call often: runs failchk
 * at most every few seconds and checkpoints when enough log has grown.
 */
void store_maintain(struct store *s);
/*
 * True while another process waits to recover the environment: an idle
 * process should close the store (or exit) so the recovery can run. One
 * fcntl(2) on db_home/store.lock, so it is safe in a signal handler.
 */
bool store_recovery_pending(const struct store *s);
/*
 * The same flag without a store handle, for a watchdog that must not touch
 * one: store_recovery_watch_open returns a read-only descriptor (close it)
 * or -1; store_recovery_watch_pending reads the flag through it.
 */
int store_recovery_watch_open(const struct config *cfg);
/*
 * True while this process is inside store_open's join or store_close,
 * attached, and another process waits to recover: a join or close that
 * does not end within a grace period is blocked on a dead process's mutex,
 * and only ending the process frees the recovery. Async-signal-safe, for a
 * timer.
 */
bool store_join_blocks_recovery(void);
bool store_recovery_watch_pending(int fd);
/* True once the environment reported DB_RUNRECOVERY: close and reopen the store. */
bool store_needs_restart(const struct store *s);
/*
 * True when the store needs a restart and no commit was cut short since it
 * was opened: every operation that failed changed nothing, so it may be run
 * again on the reopened store. False after a commit that failed half way
 * (its outcome is known only after recovery).
 */
bool store_may_retry(const struct store *s);

/* Loads all of tenant's webhooks, ordered by id, into a new array (*out, *n). */
enum store_status store_webhook_list(struct store *s, const char *tenant, struct webhook **out,
                                     size_t *n);
/*
 * Replaces out's contents with tenant's webhooks as one JSON array, ordered
 * by id: the stored WebHookWithId records verbatim, with no parsing, for the
 * API's list (its hottest read). Records that do not look like their own are
 * skipped and logged.
 */
enum store_status store_webhook_list_json(struct store *s, const char *tenant, struct buf *out);
/* Replaces out's contents with one webhook's stored WebHookWithId JSON, verbatim. */
enum store_status store_webhook_get_json(struct store *s, const char *tenant, const char *id,
                                         struct buf *out);
/* Frees an array from store_webhook_list. */
void store_webhook_list_free(struct webhook *list, size_t n);
/* Loads one webhook into *out (initialised by this call on STORE_OK). */
enum store_status store_webhook_get(struct store *s, const char *tenant, const char *id,
                                    struct webhook *out);
/*
 * Inserts w for tenant under a fresh id (written into w->id), unless the
 * tenant already has max_count webhooks (STORE_LIMIT).
 */
enum store_status store_webhook_create(struct store *s, const char *tenant, struct webhook *w,
                                       long max_count);

/*
 * Called inside the update transaction with the stored webhook; changes it
 * and returns 0 to write it, or non-zero to abort (STORE_REJECTED). May run
 * more than once if the transaction is retried.
 */
typedef int (*store_webhook_edit_fn)(struct webhook *w, void *ctx);
/* Reads, edits and writes one webhook atomically; on STORE_OK *out holds the result. */
enum store_status store_webhook_update(struct store *s, const char *tenant, const char *id,
                                       store_webhook_edit_fn edit, void *ctx,
                                       struct webhook *out);
/* Deletes one webhook. */
enum store_status store_webhook_delete(struct store *s, const char *tenant, const char *id);

/* ---- secret rotation (src/domain/store_webhook.c, store_secret.c) ---- */

/*
 * Gives the webhook a new random secret in one transaction. With overlap
 * seconds > 0 the secret it had becomes its previous one, signing until
 * now + overlap (Unix seconds; an older previous secret is replaced); with
 * 0 nothing else signs. On STORE_OK *out holds the webhook with both.
 * store_webhook_list and store_webhook_get load the previous secret too.
 */
enum store_status store_webhook_rotate(struct store *s, const char *tenant, const char *id,
                                       long overlap, long long now, struct webhook *out);
/* Forgets previous secrets whose overlap ended by now (Unix seconds); counts them. */
enum store_status store_secret_prune(struct store *s, long long now, size_t *removed);

/* Adds a new API key record. */
enum store_status store_apikey_add(struct store *s, const struct apikey *rec);
/* Loads the key record with the given id. */
enum store_status store_apikey_get(struct store *s, const char *id, struct apikey *out);
/* Loads all key records, or those of tenant if not NULL, into a new array. */
enum store_status store_apikey_list(struct store *s, const char *tenant, struct apikey **out,
                                    size_t *n);
/* Marks a key revoked. */
enum store_status store_apikey_revoke(struct store *s, const char *id);

/* ---- delivery log (sender; src/domain/store_delivery.c) ---- */

/* One delivery attempt as recorded in the "deliveries" database. */
struct delivery_attempt {
    struct delivery_ref ref;
    long long time_ms;                      /* when the attempt started, Unix ms */
    int attempt;                            /* 1, 2, ... */
    int status;                             /* HTTP status, 0 if none was received */
    char error[DELIVERY_ERROR_MAX + 1];     /* "" when the receiver answered 2xx */
    long duration_ms;
};

/* Appends n attempts in one transaction (one commit for the whole batch). */
enum store_status store_delivery_append(struct store *s, const struct delivery_attempt *a,
                                        size_t n);
/*
 * Loads at most limit attempts of tenant (of one webhook if webhook_id is
 * not NULL), newest first, into a new array (*out, free(3) it) of *n.
 */
enum store_status store_delivery_list(struct store *s, const char *tenant,
                                      const char *webhook_id, size_t limit,
                                      struct delivery_attempt **out, size_t *n);
/*
 * The attempt as a JSON object (the stored form): time (Unix ms), tenantId,
 * webhookId, deliveryId, eventId, eventType, attempt, status, error,
 * durationMs. The caller puts the reference.
 */
json_object *store_delivery_to_json(const struct delivery_attempt *a);
/*
 * Deletes attempts older than before_ms (Unix ms), and delivery records
 * (with their payloads) created before it, in small transactions; counts
 * the attempts.
 */
enum store_status store_delivery_prune(struct store *s, long long before_ms, size_t *removed);

/* ---- delivery records (SPEC 1.1; src/domain/store_delivery_record.c) ---- */

/*
 * An attempt and what it made of its delivery; attempt number 0: none, a
 * change of status only (and, pending, of the next attempt's time).
 */
struct delivery_outcome {
    struct delivery_attempt attempt;
    enum delivery_status status;        /* after this attempt */
    long long next_attempt_ms;          /* when pending: the next attempt's time */
    const char *payload;                /* the body (borrowed), should the record be missing */
    size_t payload_len;
};

/*
 * The sender's batch, one transaction: creates the records in nw (an
 * existing one is left as it is) with their payloads, then for each outcome
 * logs the attempt and adds it to its record (created if missing).
 */
enum store_status store_delivery_commit(struct store *s, const struct delivery_new *nw,
                                        size_t n_new, const struct delivery_outcome *out,
                                        size_t n_out);
/*
 * Loads one delivery (*out, delivery_release it) and, if payload is not
 * NULL, the body it sends (empty if it was not kept).
 */
enum store_status store_delivery_get(struct store *s, const char *tenant, const char *webhook_id,
                                     const char *delivery_id, struct delivery *out,
                                     struct buf *payload);

/* A position in a webhook's deliveries (domain/delivery.h). */
#define STORE_CURSOR_LEN DELIVERY_CURSOR_LEN
/*
 * Loads at most limit deliveries of one webhook, newest first, with status
 * (an enum delivery_status, or -1 for any), after cursor (NULL: from the
 * newest). next is set to the cursor of the following page, or "" when
 * none follows. Free *out with store_delivery_list_free.
 */
enum store_status store_delivery_page(struct store *s, const char *tenant, const char *webhook_id,
                                      int status, const char *cursor, size_t limit,
                                      struct delivery **out, size_t *n,
                                      char next[STORE_CURSOR_LEN + 1]);
void store_delivery_list_free(struct delivery *list, size_t n);
/*
 * Makes a delivery pending again, due now, and asks the sender for a new
 * attempt (one transaction). *out is the record as written.
 */
enum store_status store_delivery_redeliver(struct store *s, const char *tenant,
                                           const char *webhook_id, const char *delivery_id,
                                           long long now_ms, struct delivery *out);
/*
 * Finds a delivery by its id alone (the CLI): a scan of tenant's records
 * (all records if tenant is NULL; of one webhook if webhook_id is not
 * NULL too). As store_delivery_get otherwise.
 */
enum store_status store_delivery_find(struct store *s, const char *tenant, const char *webhook_id,
                                      const char *delivery_id, struct delivery *out,
                                      struct buf *payload);
/* Creates a ping's delivery (nw) and asks the sender to send it; *out is the record. */
enum store_status store_delivery_ping(struct store *s, const struct delivery_new *nw,
                                      struct delivery *out);

/* A request the API left for the sender: one new attempt of a delivery, as soon as it can. */
struct store_request {
    unsigned char key[8 + DELIVERY_ID_LEN];
    bool valid;                 /* false: unreadable, only to be deleted */
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char webhook_id[WEBHOOK_ID_LEN + 1];
    char delivery_id[DELIVERY_ID_LEN + 1];
};
/* Loads at most max waiting requests, oldest first, into a new array (free(3) it). */
enum store_status store_requests_list(struct store *s, size_t max, struct store_request **out,
                                      size_t *n);
/* Deletes a request that has been acted on. */
enum store_status store_request_done(struct store *s, const struct store_request *r);

/* ---- endpoint health (sender and API; src/domain/store_health.c) ---- */

/* A webhook a batch of attempts disabled, whose Webhook:Disabled event is due. */
struct health_trip {
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char webhook_id[WEBHOOK_ID_LEN + 1];
    long long failing_since_ms;
    char reason[256];           /* "" when listed by store_health_unannounced */
};

/*
 * Updates the failure streaks of the webhooks of n attempts (a[0..n-1], in
 * the order they ended: pointers, so that they may sit inside larger
 * records) in one
 * transaction (the "health" database: a success ends a streak). A webhook
 * whose streak has lasted disable_after_ms (0: never) with at least 10
 * failed attempts is disabled in the same transaction, as at now_ms; those
 * are returned in *trips (a new array, free(3) it, of *n_trips) and must be
 * announced, then passed to store_health_announced.
 */
enum store_status store_health_record(struct store *s, const struct delivery_attempt *const *a,
                                      size_t n, long long disable_after_ms, long long now_ms,
                                      struct health_trip **trips, size_t *n_trips);
/* The Webhook:Disabled event of a trip is in the spool: its streak is closed. */
enum store_status store_health_announced(struct store *s, const char *tenant, const char *id);
/* Trips whose announcement a crash interrupted (reason ""), in a new array. */
enum store_status store_health_unannounced(struct store *s, struct health_trip **trips,
                                           size_t *n);
/* Forgets a webhook's failure streak (enabled again, or deleted); failures are logged. */
void store_health_forget(struct store *s, const char *tenant, const char *id);
/*
 * Disables an enabled webhook on the sender's behalf (webhook_disable);
 * STORE_REJECTED if it was disabled already.
 */
enum store_status store_webhook_disable(struct store *s, const char *tenant, const char *id,
                                        const char *reason, long long at_ms);
/* Counts every tenant's webhooks, and the disabled ones among them. */
enum store_status store_webhook_count(struct store *s, size_t *total, size_t *disabled);

/* Checks every database's structure (DB->verify); returns 0 or -1. */
int store_verify(const struct config *cfg, char *err, size_t errlen);
/* Writes a hot backup of the environment into dir; returns 0 or -1. */
int store_backup(struct store *s, const char *dir, char *err, size_t errlen);

#endif
