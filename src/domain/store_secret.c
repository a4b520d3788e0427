/*
 * store_secret - the "previous_secrets" database: for a webhook whose
 * secret was rotated with an overlap, the secret it had before and until
 * when that one still signs. Key "tenant \0 id", as in "webhooks"; value
 * "UNTIL SECRET" (Unix seconds, a space, the 64 characters).
 *
 * A database of its own so that the "webhooks" records stay exactly the
 * WebHookWithId the API serves without parsing; it is read only by the
 * sender (joined into the webhooks it loads) and written only by a
 * rotation and a delete, in their transactions.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/digest.h"
#include "util/log.h"

enum { VALUE_MAX = 24 + WEBHOOK_SECRET_LEN };

/* Decodes a stored value into w's previous secret; returns 0, or -1 if it is not one. */
static int
secret_decode(const void *data, size_t len, struct webhook *w)
{
    char text[VALUE_MAX + 1];
    char *end;

    if (len > VALUE_MAX || len < WEBHOOK_SECRET_LEN + 2)
        return -1;
    memcpy(text, data, len);
    text[len] = '\0';
    long long until = strtoll(text, &end, 10);
    int rc = -1;
    if (end != text && *end == ' ' && until > 0 && strlen(end + 1) == WEBHOOK_SECRET_LEN) {
        memcpy(w->previous_secret, end + 1, WEBHOOK_SECRET_LEN + 1);
        w->previous_until = until;
        rc = 0;
    }
    wipe(text, sizeof text);
    return rc;
}

int
store_secret_put(struct store *s, DB_TXN *txn, const char *tenant, const char *id,
                 const char *secret, long long until)
{
    struct buf k;
    char value[VALUE_MAX + 1];
    DBT key, val;
    int n = snprintf(value, sizeof value, "%lld %s", until, secret);

    if (n < 0 || (size_t)n >= sizeof value)
        return STORE_UNAVAILABLE;
    buf_init(&k);
    store_webhook_key(&k, tenant, id);
    store_dbt(&key, k.data, k.len);
    store_dbt(&val, value, (size_t)n);
    int rc = store_result(s, s->previous_secrets->put(s->previous_secrets, txn, &key, &val, 0),
                          "previous secret put");
    buf_release(&k);
    wipe(value, sizeof value);
    return rc;
}

int
store_secret_del(struct store *s, DB_TXN *txn, const char *tenant, const char *id)
{
    struct buf k;
    DBT key;

    buf_init(&k);
    store_webhook_key(&k, tenant, id);
    store_dbt(&key, k.data, k.len);
    int rc = store_result(s, s->previous_secrets->del(s->previous_secrets, txn, &key, 0),
                          "previous secret delete");
    buf_release(&k);
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

int
store_secret_get(struct store *s, DB_TXN *txn, const char *tenant, struct webhook *w)
{
    struct buf k;
    DBT key, val;

    buf_init(&k);
    store_webhook_key(&k, tenant, w->id);
    store_dbt(&key, k.data, k.len);
    store_dbt(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->previous_secrets->get(s->previous_secrets, txn, &key, &val, 0),
                          "previous secret get");
    buf_release(&k);
    if (rc == STORE_NOTFOUND)
        return STORE_OK;
    if (rc == STORE_OK) {
        if (secret_decode(val.data, val.size, w) != 0)
            log_error("store_secret_get: previous secret of tenant %s webhook %s: malformed "
                      "record; ignored", tenant, w->id);
        wipe(val.data, val.size);
        free(val.data);
    }
    return rc;
}

/* The webhook of items (sorted by id, as the list is) whose id is id[0..len), or NULL. */
static struct webhook *
find_hook(struct webhook *items, size_t n, const char *id, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(items[i].id) == len && memcmp(items[i].id, id, len) == 0)
            return &items[i];
    return NULL;
}

struct fill_ctx {
    const char *tenant;
    size_t prefix_len;
    struct webhook *items;
    size_t n;
};

/* Puts one previous secret into its webhook among the items, if it is there. */
static int
fill_one(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *arg, bool *stop)
{
    struct fill_ctx *c = arg;
    struct webhook *w = find_hook(c->items, c->n, (char *)key->data + c->prefix_len,
                                  key->size - c->prefix_len);

    (void)s;
    (void)txn;
    (void)stop;
    if (w != NULL && secret_decode(val->data, val->size, w) != 0)
        log_error("fill_one: previous secret of tenant %s webhook %s: malformed record; ignored",
                  c->tenant, w->id);
    return STORE_OK;            /* store_scan wipes the value */
}

int
store_secret_fill(struct store *s, DB_TXN *txn, const char *tenant, struct webhook *items,
                  size_t n)
{
    struct buf prefix;

    buf_init(&prefix);
    store_webhook_key(&prefix, tenant, "");
    struct fill_ctx c = { .tenant = tenant, .prefix_len = prefix.len, .items = items, .n = n };
    /* Usually the tenant has no record at all: one cursor call that lands past its range. */
    int rc = store_scan(s, txn, s->previous_secrets, prefix.data, prefix.len, prefix.len, 0,
                        fill_one, &c, "previous secret list");
    buf_release(&prefix);
    return rc;
}

/*
 * store_prune_scan's test for a previous secret: expired once its overlap
 * has ended, or when it cannot be read. The value is wiped after.
 */
static int
secret_expired(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *arg,
               bool *expired)
{
    const long long *now = arg;
    struct webhook w;

    (void)s;
    (void)txn;
    (void)key;
    webhook_init(&w);
    *expired = secret_decode(val->data, val->size, &w) != 0 || w.previous_until <= *now;
    webhook_release(&w);
    wipe(val->data, val->size);
    return STORE_OK;
}

enum store_status
store_secret_prune(struct store *s, long long now, size_t *removed)
{
    size_t n = 0;
    /* VALUE_MAX + 1 bytes, so that an overlong record still reads as one. */
    enum store_status st = store_prune_scan(s, s->previous_secrets, VALUE_MAX + 1,
                                            secret_expired, &now, &n);

    if (removed != NULL)
        *removed = st == STORE_OK ? n : 0;
    return st;
}
