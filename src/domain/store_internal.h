/*
 * store_internal - shared by the files of the store module only.
 */
#ifndef HOOKSPOOL_STORE_INTERNAL_H
#define HOOKSPOOL_STORE_INTERNAL_H

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
    int lock_fd;                /* shared flock on store.lock while attached */
    DB *webhooks;
    DB *apikeys;
    DB *deliveries;
    bool needs_restart;
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

/* Maps a Berkeley DB return code to a body result, logging real failures. */
int store_result(struct store *s, int ret, const char *what);

#endif
