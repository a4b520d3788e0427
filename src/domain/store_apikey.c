/*
 * store_apikey - the "apikeys" database: key records (tenant, scopes,
 * SHA-256 of the key), keyed by key id, with a small memo of parsed records
 * for the lookup every API request makes.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

struct apikey_ctx {
    const char *id;
    const char *tenant;
    const struct apikey *in;
    struct apikey *out;
    struct apikey *items;
    size_t n;
    size_t cap;                 /* items allocated */
};

static int
apikey_write(struct store *s, DB_TXN *txn, const struct apikey *rec, u_int32_t flags)
{
    char *json = apikey_to_string(rec);
    DBT key, val;

    store_dbt(&key, rec->id, strlen(rec->id));
    store_dbt(&val, json, strlen(json));
    int ret = s->apikeys->put(s->apikeys, txn, &key, &val, flags);
    free(json);
    return store_result(s, ret, "apikey put");
}

static int
apikey_add_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;

    return apikey_write(s, txn, c->in, DB_NOOVERWRITE);
}

enum store_status
store_apikey_add(struct store *s, const struct apikey *rec)
{
    struct apikey_ctx c = { .in = rec };

    return store_run(s, "apikey add", apikey_add_body, &c);
}

/*
 * Parses a stored API-key record, remembering the last few: every request
 * authenticates, and the JSON parse cost more than the lookup. Keyed by the
 * stored bytes, so a revoked (rewritten) record never matches its old entry.
 */
static int
apikey_parse_memo(struct store *s, const char *raw, size_t len, struct apikey *out)
{
    for (size_t i = 0; i < STORE_APIKEY_MEMO; i++) {
        struct apikey_memo *m = &s->apikey_memo[i];
        if (m->raw != NULL && m->len == len && memcmp(m->raw, raw, len) == 0) {
            *out = m->rec;
            return 0;
        }
    }
    if (apikey_from_string(out, raw, len) != 0)
        return -1;
    struct apikey_memo *m = &s->apikey_memo[s->apikey_memo_next++ % STORE_APIKEY_MEMO];
    free(m->raw);
    m->raw = xmalloc(len);
    memcpy(m->raw, raw, len);
    m->len = len;
    m->rec = *out;
    return 0;
}

static int
apikey_read(struct store *s, DB_TXN *txn, const char *id, struct apikey *out, u_int32_t flags)
{
    DBT key, val;

    store_dbt(&key, id, strlen(id));
    store_dbt(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->apikeys->get(s->apikeys, txn, &key, &val, flags), "apikey get");
    if (rc == STORE_OK) {
        if (apikey_parse_memo(s, val.data, val.size, out) != 0) {
            log_error("apikey_read: apikey %s: malformed record", id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

static int
apikey_get_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;

    return apikey_read(s, txn, c->id, c->out, 0);
}

enum store_status
store_apikey_get(struct store *s, const char *id, struct apikey *out)
{
    struct apikey_ctx c = { .id = id, .out = out };

    return store_read(s, "apikey get", apikey_get_body, &c);
}

static int
apikey_revoke_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;
    struct apikey rec;
    int rc = apikey_read(s, txn, c->id, &rec, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    rec.revoked = true;
    return apikey_write(s, txn, &rec, 0);
}

enum store_status
store_apikey_revoke(struct store *s, const char *id)
{
    struct apikey_ctx c = { .id = id };

    return store_run(s, "apikey revoke", apikey_revoke_body, &c);
}

/* One stored key: kept if it parses and belongs to the tenant asked for (any if NULL). */
static int
apikey_entry(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *ctx, bool *stop)
{
    struct apikey_ctx *c = ctx;

    (void)s;
    (void)txn;
    (void)key;
    (void)stop;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = xreallocarray(c->items, c->cap, sizeof *c->items);
    }
    if (apikey_from_string(&c->items[c->n], val->data, val->size) == 0 &&
        (c->tenant == NULL || strcmp(c->items[c->n].tenant, c->tenant) == 0))
        c->n++;
    return STORE_OK;
}

static int
apikey_list_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;

    free(c->items);
    c->items = NULL;
    c->n = c->cap = 0;
    return store_scan(s, txn, s->apikeys, NULL, 0, 0, 0, apikey_entry, c, "apikey list");
}

enum store_status
store_apikey_list(struct store *s, const char *tenant, struct apikey **out, size_t *n)
{
    struct apikey_ctx c = { .tenant = tenant };
    enum store_status st = store_run(s, "apikey list", apikey_list_body, &c);

    if (st != STORE_OK) {
        free(c.items);
        c.items = NULL;
        c.n = 0;
    }
    *out = c.items;
    *n = c.n;
    return st;
}
