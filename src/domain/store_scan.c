/*
 * store_scan - the cursor walks the store's modules share: every entry
 * under a key prefix (store_scan), and pruning a database in small
 * transactions (store_prune_scan). See store_internal.h.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/digest.h"

enum { PRUNE_BATCH = 500 };     /* records examined per prune transaction */

int
store_scan(struct store *s, DB_TXN *txn, DB *db, const void *seek, size_t seek_len,
           size_t prefix_len, u_int32_t flags, store_scan_fn fn, void *arg, const char *what)
{
    char what_cursor[128];
    DBC *cur;
    DBT key, val;
    int rc = STORE_OK;

    int ret = db->cursor(db, txn, &cur, 0);
    if (ret != 0) {
        snprintf(what_cursor, sizeof what_cursor, "%s cursor", what);
        return store_result(s, ret, what_cursor);
    }
    /* DB_DBT_MALLOC: every key and value returned, even by DB_SET_RANGE, is ours to free. */
    store_dbt(&key, seek, seek_len);
    key.flags = DB_DBT_MALLOC;
    store_dbt(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC;
    bool stop = false;
    for (u_int32_t op = seek_len > 0 ? DB_SET_RANGE : DB_FIRST; !stop; op = DB_NEXT) {
        ret = cur->get(cur, &key, &val, op | flags);
        if (ret != 0)
            break;
        bool in_range = prefix_len == 0 ||
                        (key.size >= prefix_len && memcmp(key.data, seek, prefix_len) == 0);
        if (in_range)
            rc = fn(s, txn, &key, &val, arg, &stop);
        /* A value may be a secret (previous_secrets): none is freed unwiped. */
        free(key.data);
        wipe(val.data, val.size);
        free(val.data);
        store_dbt(&key, NULL, 0);
        key.flags = DB_DBT_MALLOC;
        store_dbt(&val, NULL, 0);
        val.flags = DB_DBT_MALLOC;
        if (!in_range || rc != STORE_OK)
            break;
    }
    cur->close(cur);
    if (rc == STORE_OK && ret != 0 && ret != DB_NOTFOUND)
        rc = store_result(s, ret, what);
    return rc;
}

struct prune_ctx {
    DB *db;
    u_int32_t value_bytes;      /* how much of each value the test needs */
    store_prune_fn expired;
    void *arg;
    struct buf resume;          /* the key to continue from; empty = start */
    bool done;
    size_t removed;             /* in the current transaction */
};

static int
prune_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct prune_ctx *c = ctx;
    DBC *cur;
    DBT key, val;
    int rc = STORE_OK;

    c->removed = 0;
    c->done = false;
    int ret = c->db->cursor(c->db, txn, &cur, 0);
    if (ret != 0)
        return store_result(s, ret, "prune cursor");
    store_dbt(&key, c->resume.data, c->resume.len);
    key.flags = DB_DBT_MALLOC;
    store_dbt(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC | DB_DBT_PARTIAL;   /* only the bytes the test needs */
    val.dlen = c->value_bytes;
    u_int32_t op = c->resume.len > 0 ? DB_SET_RANGE : DB_FIRST;
    struct buf next;
    buf_init(&next);
    for (int i = 0; i < PRUNE_BATCH; i++) {
        ret = cur->get(cur, &key, &val, op | DB_RMW);
        op = DB_NEXT;
        if (ret == DB_NOTFOUND) {
            c->done = true;
            break;
        }
        if (ret != 0) {
            rc = store_result(s, ret, "prune");
            break;
        }
        bool expired = false;
        rc = c->expired(s, txn, &key, &val, c->arg, &expired);
        buf_reset(&next);
        buf_append(&next, key.data, key.size);
        free(key.data);
        free(val.data);
        store_dbt(&key, NULL, 0);
        key.flags = DB_DBT_MALLOC;
        store_dbt(&val, NULL, 0);
        val.flags = DB_DBT_MALLOC | DB_DBT_PARTIAL;
        val.dlen = c->value_bytes;
        if (rc != STORE_OK)
            break;
        if (expired) {
            ret = cur->del(cur, 0);
            if (ret != 0) {
                rc = store_result(s, ret, "prune delete");
                break;
            }
            c->removed++;
        }
    }
    cur->close(cur);
    if (rc == STORE_OK && !c->done) {
        /* Continue after the last key seen: append a byte so DB_SET_RANGE moves past it. */
        buf_append(&next, "", 1);
        buf_reset(&c->resume);
        buf_append(&c->resume, next.data, next.len);
    }
    buf_release(&next);
    return rc;
}

enum store_status
store_prune_scan(struct store *s, DB *db, u_int32_t value_bytes, store_prune_fn expired,
                 void *arg, size_t *removed)
{
    struct prune_ctx c = { .db = db, .value_bytes = value_bytes, .expired = expired, .arg = arg };
    enum store_status st = STORE_OK;
    size_t total = 0;

    buf_init(&c.resume);
    while (!c.done) {
        st = store_run(s, "prune", prune_body, &c);
        if (st != STORE_OK)
            break;
        total += c.removed;
    }
    buf_release(&c.resume);
    if (removed != NULL)
        *removed = total;
    return st;
}
