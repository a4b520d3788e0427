/*
 * store_internal - shared by the files of the store module only.
 */
#ifndef HOOKSPOOL_STORE_INTERNAL_H
#define HOOKSPOOL_STORE_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <db.h>

#include "domain/store.h"

/* Result of one try of a transaction body: a store_status or this. */
enum { STORE_RETRY = -1 };

/* An API-key record as stored and as parsed: a lookup that reads the same bytes skips the parse. */
enum { STORE_APIKEY_MEMO = 8 };
struct apikey_memo {
    char *raw;                  /* NULL: an empty slot */
    size_t len;
    struct apikey rec;
};

struct store {
    DB_ENV *env;
    int lock_fd;                /* store.lock, ATTACHED read-locked while attached */
    DB *webhooks;
    DB *apikeys;
    DB *deliveries;
    DB *previous_secrets;       /* src/domain/store_secret.c */
    DB *health;                 /* per-webhook failure streaks (store_health.c) */
    DB *records;                /* delivery records (store_delivery_record.c) */
    DB *order;                  /* ...their order, newest first, with their status */
    DB *payloads;               /* ...the bodies they send */
    DB *requests;               /* redeliver and ping requests for the sender */
    DB *retired_ids;            /* ids of deleted webhooks, not drawn again (store_webhook.c) */
    char *home;                 /* db_home, for its free space */
    bool space_low;             /* the last write found db_home (nearly) full */
    bool needs_restart;
    bool commit_unsure;         /* a commit failed in a way that may have made it durable */
    bool wrote;                 /* committed since the last checkpoint check */
    bool lock_timed_out;        /* the last retry was a lock timeout, not a deadlock */
    time_t last_failchk;
    struct apikey_memo apikey_memo[STORE_APIKEY_MEMO];
    unsigned apikey_memo_next; /* the slot a miss replaces */
};

/*
 * One transaction body: does its reads and writes in txn and returns
 * STORE_OK to commit, STORE_RETRY after a deadlock, or another status to
 * abort with.
 */
typedef int (*store_txn_body)(struct store *s, DB_TXN *txn, void *ctx);

/* Runs body in a transaction, retrying after deadlocks; "what" names it in logs. */
enum store_status store_run(struct store *s, const char *what, store_txn_body body, void *ctx);
/*
 * Runs a read-only body with no transaction (txn NULL: each Berkeley DB
 * call is atomic on its own), retrying after deadlocks. For the reads every
 * request makes, where begin and commit cost more than the read itself.
 */
enum store_status store_read(struct store *s, const char *what, store_txn_body body, void *ctx);

/* Points dbt at len bytes of data (a key or value to read or write). */
static inline void
store_dbt(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof *dbt);
    dbt->data = (void *)data;
    dbt->size = (u_int32_t)len;
}

/* Big-endian unsigned values of bytes (at most 8) bytes: stored times sort as keys. */
static inline void
store_put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t
store_get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Builds the key "tenant \0 id" of "webhooks", "previous_secrets" and
 * "retired_ids" (id "" starts a range).
 */
static inline void
store_webhook_key(struct buf *key, const char *tenant, const char *id)
{
    buf_reset(key);
    buf_append(key, tenant, strlen(tenant) + 1);
    buf_puts(key, id);
}

/* Draws a new webhook's id: webhook_new_id, replaced by unit tests that need a given id. */
extern int (*store_draw_webhook_id)(struct webhook *w);

/* ---- the previous_secrets database (src/domain/store_secret.c) ---- */

/* Keeps secret as tenant's webhook id's previous secret, signing until until (Unix s). */
int store_secret_put(struct store *s, DB_TXN *txn, const char *tenant, const char *id,
                     const char *secret, long long until);
/* Forgets the webhook's previous secret (none is not an error). */
int store_secret_del(struct store *s, DB_TXN *txn, const char *tenant, const char *id);
/* Sets w's previous secret (w->id, of tenant) from the database, if it has one. */
int store_secret_get(struct store *s, DB_TXN *txn, const char *tenant, struct webhook *w);
/* The same for n webhooks of tenant, with one range scan. */
int store_secret_fill(struct store *s, DB_TXN *txn, const char *tenant, struct webhook *items,
                      size_t n);

/* ---- db_home/store.lock (src/domain/store_lock.c) ---- */

enum store_lock_byte { STORE_LOCK_ATTACHED = 0, STORE_LOCK_RECOVERING = 1 };
enum { STORE_LOCK_POLL_MS = 5 };

/* Opens (creating) db_home/store.lock; returns the descriptor or -1. */
int store_lock_open(const char *db_home);
/*
 * Takes a lock of type (F_RDLCK, F_WRLCK) on byte, or converts the one this
 * descriptor holds, waiting up to wait_ms; 0, or -1 with errno (EWOULDBLOCK
 * when the wait ran out).
 */
int store_lock_take(int fd, enum store_lock_byte byte, short type, int wait_ms);
/* Releases this descriptor's lock on byte. */
void store_lock_drop(int fd, enum store_lock_byte byte);
/* True if another descriptor holds a write lock on byte. Async-signal-safe. */
bool store_lock_held_elsewhere(int fd, enum store_lock_byte byte);
/* True if a recovery started and never finished (it was killed). */
bool store_lock_interrupted(int fd);
/* Records that a recovery starts (true) or has finished (false), durably; 0 or -1. */
int store_lock_mark(int fd, bool recovering);

/* ---- delivery log and records (store_delivery.c, store_delivery_record.c) ---- */

/* Writes one attempt into the delivery log, in txn. */
int store_delivery_log_put(struct store *s, DB_TXN *txn, const struct delivery_attempt *a);

/*
 * What store_scan calls for each entry under the prefix: returns STORE_OK
 * to go on (setting *stop to end the walk there) or a status that ends it
 * and that store_scan returns. key and val are store_scan's, valid until
 * fn returns.
 */
typedef int (*store_scan_fn)(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val,
                             void *arg, bool *stop);
/*
 * In txn, walks db from the first key at or after seek (seek_len bytes;
 * none: the first key) for as long as keys start with the first
 * prefix_len bytes of seek, calling fn on each. flags go with every get
 * (DB_RMW). Returns STORE_OK, fn's status, or the store's error logged
 * under what.
 */
int store_scan(struct store *s, DB_TXN *txn, DB *db, const void *seek, size_t seek_len,
               size_t prefix_len, u_int32_t flags, store_scan_fn fn, void *arg,
               const char *what);

/*
 * Decides whether one entry (its key, and the first bytes of its value)
 * has expired; may delete what goes with it in txn. Returns a body result.
 */
typedef int (*store_prune_fn)(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val,
                              void *arg, bool *expired);
/*
 * Walks db in small transactions, deleting the entries expired says have
 * expired; reads value_bytes of each value. Counts them in *removed.
 */
enum store_status store_prune_scan(struct store *s, DB *db, u_int32_t value_bytes,
                                   store_prune_fn expired, void *arg, size_t *removed);
/*
 * Prunes records, their order entries and payloads created before
 * before_ms, and the retired webhook ids deleted before it.
 */
enum store_status store_delivery_record_prune(struct store *s, long long before_ms,
                                              size_t *removed);

/*
 * Inside txn: reads tenant's webhook id (write-locked), lets edit change it
 * and writes it back. STORE_OK, STORE_NOTFOUND, STORE_REJECTED (edit
 * returned non-zero: nothing written) or a body result.
 */
int store_webhook_edit_txn(struct store *s, DB_TXN *txn, const char *tenant, const char *id,
                           store_webhook_edit_fn edit, void *ctx);

/* Maps a Berkeley DB return code to a body result, logging real failures. */
int store_result(struct store *s, int ret, const char *what);

#endif
