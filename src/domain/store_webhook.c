/*
 * store_webhook - the "webhooks" database: one record per webhook, key
 * "tenant \0 id", value the WebHookWithId JSON, so one tenant's webhooks are
 * one range scan in id order; and "retired_ids" (same key, value the time
 * of the delete): a deleted webhook's id is not drawn again while its
 * deliveries are kept, so that a new webhook never shows them as its own.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/xalloc.h"

struct list_ctx {
    const char *tenant;
    struct webhook *items;
    size_t n;
    size_t count_only_limit;    /* for counting: stop early at this many; 0 = load all */
    bool count_only;
    u_int32_t lock_flags;       /* DB_RMW to serialise writers of one tenant */
    size_t cap;                 /* items allocated */
};

/*
 * True if a stored record starts with its own id and ends an object, as
 * webhook_to_string writes it: the check that lets the read paths hand
 * records out verbatim instead of parsing and re-serialising each one.
 */
static bool
record_plausible(const void *id, size_t id_len, const void *data, size_t len)
{
    static const char head[] = "{\"id\":\"";
    const char *v = data;

    return len > sizeof head + id_len && memcmp(v, head, sizeof head - 1) == 0 &&
           memcmp(v + sizeof head - 1, id, id_len) == 0 && v[sizeof head - 1 + id_len] == '"' &&
           v[len - 1] == '}';
}

static void
list_ctx_clear(struct list_ctx *c)
{
    store_webhook_list_free(c->items, c->n);
    c->items = NULL;
    c->n = 0;
}

/* One of the tenant's webhooks: loads it (or counts it); stops at the count's limit. */
static int
list_entry(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *ctx, bool *stop)
{
    struct list_ctx *c = ctx;

    (void)s;
    (void)txn;
    (void)key;
    if (c->count_only) {
        c->n++;
        *stop = c->n >= c->count_only_limit;
        return STORE_OK;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->items = xreallocarray(c->items, c->cap, sizeof *c->items);
    }
    if (webhook_from_string(&c->items[c->n], val->data, val->size) == 0)
        c->n++;
    else
        log_error("list_entry: webhook list: tenant %s: skipping a malformed record", c->tenant);
    return STORE_OK;
}

/* Walks the tenant's key range, loading (or counting) its webhooks. */
static int
list_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_ctx *c = ctx;
    struct buf prefix;

    list_ctx_clear(c);
    c->cap = 0;
    buf_init(&prefix);
    store_webhook_key(&prefix, c->tenant, "");
    int rc = store_scan(s, txn, s->webhooks, prefix.data, prefix.len, prefix.len, c->lock_flags,
                        list_entry, c, "webhook list");
    buf_release(&prefix);
    return rc;
}

/* The tenant's webhooks with their previous secrets, for the sender. */
static int
list_full_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_ctx *c = ctx;
    int rc = list_body(s, txn, c);

    return rc == STORE_OK ? store_secret_fill(s, txn, c->tenant, c->items, c->n) : rc;
}

enum store_status
store_webhook_list(struct store *s, const char *tenant, struct webhook **out, size_t *n)
{
    struct list_ctx c = { .tenant = tenant };
    enum store_status st = store_run(s, "webhook list", list_full_body, &c);

    if (st != STORE_OK)
        list_ctx_clear(&c);
    *out = c.items;
    *n = c.n;
    return st;
}

struct list_json_ctx {
    const char *tenant;
    struct buf *out;
    void *bulk;                 /* the bulk-read buffer, kept across retries */
    size_t bulk_len;            /* a multiple of 1 KiB, as Berkeley DB requires */
};

/* Appends the records of one bulk read that are in range; false once past the range. */
static bool
append_bulk(struct list_json_ctx *c, DBT *data, const struct buf *prefix, size_t *n)
{
    void *p, *k, *v;
    u_int32_t klen, vlen;

    DB_MULTIPLE_INIT(p, data);
    for (;;) {
        DB_MULTIPLE_KEY_NEXT(p, data, k, klen, v, vlen);
        if (p == NULL)
            return true;
        if (klen < prefix->len || memcmp(k, prefix->data, prefix->len) != 0)
            return false;
        if (!record_plausible((char *)k + prefix->len, klen - prefix->len, v, vlen)) {
            log_error("append_bulk: webhook list: tenant %s: skipping a malformed record",
                      c->tenant);
            continue;
        }
        if ((*n)++ > 0)
            buf_puts(c->out, ",");
        buf_append(c->out, v, vlen);
    }
}

/* Copies the tenant's key range into a JSON array, many records per cursor call. */
static int
list_json_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_json_ctx *c = ctx;
    struct buf prefix;
    DBC *cur;
    DBT key, data;
    size_t n = 0;
    int rc = STORE_OK;

    buf_reset(c->out);
    buf_puts(c->out, "[");
    int ret = s->webhooks->cursor(s->webhooks, txn, &cur, 0);
    if (ret != 0)
        return store_result(s, ret, "webhook list cursor");
    buf_init(&prefix);
    store_webhook_key(&prefix, c->tenant, "");
    u_int32_t op = DB_SET_RANGE;
    for (;;) {
        store_dbt(&key, prefix.data, prefix.len);
        store_dbt(&data, c->bulk, 0);
        data.ulen = (u_int32_t)c->bulk_len;
        data.flags = DB_DBT_USERMEM;
        ret = cur->get(cur, &key, &data, op | DB_MULTIPLE_KEY);
        if (ret == DB_BUFFER_SMALL) {
            /* One record is larger than the buffer: grow it and try again. */
            c->bulk_len = ((size_t)data.size + 1023) / 1024 * 1024;
            c->bulk = xrealloc(c->bulk, c->bulk_len);
            continue;
        }
        if (ret == DB_NOTFOUND)
            break;
        if (ret != 0) {
            rc = store_result(s, ret, "webhook list");
            break;
        }
        op = DB_NEXT;
        if (!append_bulk(c, &data, &prefix, &n))
            break;
    }
    cur->close(cur);
    buf_release(&prefix);
    buf_puts(c->out, "]");
    return rc;
}

enum store_status
store_webhook_list_json(struct store *s, const char *tenant, struct buf *out)
{
    struct list_json_ctx c = { .tenant = tenant, .out = out, .bulk_len = 64 * 1024 };

    c.bulk = xmalloc(c.bulk_len);
    enum store_status st = store_read(s, "webhook list", list_json_body, &c);
    free(c.bulk);
    return st;
}

void
store_webhook_list_free(struct webhook *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        webhook_release(&list[i]);
    free(list);
}

struct one_ctx {
    const char *tenant;
    const char *id;
    struct webhook *w;
    bool loaded;
    store_webhook_edit_fn edit;
    void *edit_ctx;
    long max_count;
};

/* Reads the stored record of tenant's webhook id into *val (malloc'd on STORE_OK). */
static int
get_record(struct store *s, DB_TXN *txn, const char *tenant, const char *id, u_int32_t flags,
           DBT *val)
{
    struct buf k;
    DBT key;

    buf_init(&k);
    store_webhook_key(&k, tenant, id);
    store_dbt(&key, k.data, k.len);
    store_dbt(val, NULL, 0);
    val->flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->webhooks->get(s->webhooks, txn, &key, val, flags), "webhook get");
    buf_release(&k);
    return rc;
}

/* Reads one webhook record into c->w (released first if loaded before). */
static int
read_one(struct store *s, DB_TXN *txn, struct one_ctx *c, u_int32_t flags)
{
    DBT val;

    if (c->loaded)
        webhook_release(c->w);
    c->loaded = false;
    int rc = get_record(s, txn, c->tenant, c->id, flags, &val);
    if (rc == STORE_OK) {
        if (webhook_from_string(c->w, val.data, val.size) == 0) {
            c->loaded = true;
        } else {
            log_error("read_one: tenant %s webhook %s: malformed record", c->tenant, c->id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

static int
write_one(struct store *s, DB_TXN *txn, const char *tenant, const struct webhook *w,
          u_int32_t flags)
{
    struct buf k;
    DBT key, val;
    char *json = webhook_to_string(w);

    buf_init(&k);
    store_webhook_key(&k, tenant, w->id);
    store_dbt(&key, k.data, k.len);
    store_dbt(&val, json, strlen(json));
    int ret = s->webhooks->put(s->webhooks, txn, &key, &val, flags);
    buf_release(&k);
    free(json);
    if (ret == DB_KEYEXIST)
        return ret;
    return store_result(s, ret, "webhook put");
}

static int
get_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    int rc = read_one(s, txn, c, 0);

    return rc == STORE_OK ? store_secret_get(s, txn, c->tenant, c->w) : rc;
}

enum store_status
store_webhook_get(struct store *s, const char *tenant, const char *id, struct webhook *out)
{
    struct one_ctx c = { .tenant = tenant, .id = id, .w = out };
    enum store_status st = store_run(s, "webhook get", get_body, &c);

    if (st != STORE_OK && c.loaded)
        webhook_release(out);
    return st;
}

struct json_ctx {
    const char *tenant;
    const char *id;
    struct buf *out;
};

static int
get_json_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct json_ctx *c = ctx;
    DBT val;
    int rc = get_record(s, txn, c->tenant, c->id, 0, &val);

    if (rc == STORE_OK) {
        if (record_plausible(c->id, strlen(c->id), val.data, val.size)) {
            buf_reset(c->out);
            buf_append(c->out, val.data, val.size);
        } else {
            log_error("get_json_body: tenant %s webhook %s: malformed record", c->tenant, c->id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

enum store_status
store_webhook_get_json(struct store *s, const char *tenant, const char *id, struct buf *out)
{
    struct json_ctx c = { tenant, id, out };

    return store_read(s, "webhook get", get_json_body, &c);
}

int (*store_draw_webhook_id)(struct webhook *w) = webhook_new_id;

/*
 * STORE_OK if tenant's webhook id was deleted less than delivery_log_days
 * ago (the prune forgets it with its deliveries), STORE_NOTFOUND if not.
 */
static int
id_retired(struct store *s, DB_TXN *txn, const char *tenant, const char *id)
{
    struct buf k;
    DBT key, val;

    buf_init(&k);
    store_webhook_key(&k, tenant, id);
    store_dbt(&key, k.data, k.len);
    store_dbt(&val, NULL, 0);
    val.flags = DB_DBT_PARTIAL;         /* dlen 0: whether it is there, not its value */
    int rc = store_result(s, s->retired_ids->get(s->retired_ids, txn, &key, &val, 0),
                          "retired id get");
    buf_release(&k);
    return rc;
}

/* Keeps a deleted webhook's id, with the time, out of later draws. */
static int
id_retire(struct store *s, DB_TXN *txn, const char *tenant, const char *id)
{
    struct buf k;
    unsigned char when[8];
    DBT key, val;

    buf_init(&k);
    store_webhook_key(&k, tenant, id);
    store_put_be(when, (uint64_t)clock_ms(CLOCK_REALTIME), 8);
    store_dbt(&key, k.data, k.len);
    store_dbt(&val, when, sizeof when);
    int rc = store_result(s, s->retired_ids->put(s->retired_ids, txn, &key, &val, 0),
                          "retired id put");
    buf_release(&k);
    return rc;
}

static int
create_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    /* Counting with write locks makes concurrent creates for one tenant take turns. */
    struct list_ctx count = { .tenant = c->tenant, .count_only = true,
                              .count_only_limit = (size_t)c->max_count, .lock_flags = DB_RMW };
    int rc = list_body(s, txn, &count);

    if (rc != STORE_OK)
        return rc;
    if ((long)count.n >= c->max_count)
        return STORE_LIMIT;
    for (int i = 0; i < 16; i++) {
        if (store_draw_webhook_id(c->w) != 0) {
            log_error("create_body: random webhook id: CSPRNG failure");
            return STORE_UNAVAILABLE;
        }
        /* Not an id deleted lately: its deliveries are still kept under it. */
        rc = id_retired(s, txn, c->tenant, c->w->id);
        if (rc == STORE_OK)
            continue;
        if (rc != STORE_NOTFOUND)
            return rc;
        rc = write_one(s, txn, c->tenant, c->w, DB_NOOVERWRITE);
        if (rc != DB_KEYEXIST)
            return rc;
    }
    log_error("create_body: tenant %s: no free webhook id after 16 draws", c->tenant);
    return STORE_UNAVAILABLE;
}

enum store_status
store_webhook_create(struct store *s, const char *tenant, struct webhook *w, long max_count)
{
    struct one_ctx c = { .tenant = tenant, .w = w, .max_count = max_count };

    return store_run(s, "webhook create", create_body, &c);
}

static int
update_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    int rc = read_one(s, txn, c, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    if (c->edit(c->w, c->edit_ctx) != 0)
        return STORE_REJECTED;
    return write_one(s, txn, c->tenant, c->w, 0);
}

int
store_webhook_edit_txn(struct store *s, DB_TXN *txn, const char *tenant, const char *id,
                       store_webhook_edit_fn edit, void *ctx)
{
    struct webhook w;
    struct one_ctx c = { .tenant = tenant, .id = id, .w = &w };
    int rc = read_one(s, txn, &c, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    rc = edit(&w, ctx) != 0 ? STORE_REJECTED : write_one(s, txn, tenant, &w, 0);
    webhook_release(&w);
    return rc;
}

enum store_status
store_webhook_update(struct store *s, const char *tenant, const char *id,
                     store_webhook_edit_fn edit, void *ctx, struct webhook *out)
{
    struct one_ctx c = { .tenant = tenant, .id = id, .w = out, .edit = edit, .edit_ctx = ctx };
    enum store_status st = store_run(s, "webhook update", update_body, &c);

    if (st != STORE_OK && c.loaded)
        webhook_release(out);
    return st;
}

static int
delete_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    struct buf k;
    DBT key;

    buf_init(&k);
    store_webhook_key(&k, c->tenant, c->id);
    store_dbt(&key, k.data, k.len);
    int ret = s->webhooks->del(s->webhooks, txn, &key, 0);
    buf_release(&k);
    int rc = store_result(s, ret, "webhook delete");
    /* Its previous secret goes with it; its id stays taken while its deliveries are kept. */
    if (rc == STORE_OK)
        rc = store_secret_del(s, txn, c->tenant, c->id);
    return rc == STORE_OK ? id_retire(s, txn, c->tenant, c->id) : rc;
}

enum store_status
store_webhook_delete(struct store *s, const char *tenant, const char *id)
{
    struct one_ctx c = { .tenant = tenant, .id = id };

    return store_run(s, "webhook delete", delete_body, &c);
}

struct rotate_ctx {
    struct one_ctx one;
    long overlap;
    long long now;
};

/* Draws the new secret; the old one becomes the previous one, or nothing with no overlap. */
static int
rotate_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct rotate_ctx *c = ctx;
    struct webhook *w = c->one.w;
    int rc = read_one(s, txn, &c->one, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    memcpy(w->previous_secret, w->secret, sizeof w->previous_secret);
    w->previous_until = c->overlap > 0 ? c->now + c->overlap : 0;
    if (webhook_new_secret(w) != 0) {
        log_error("rotate_body: tenant %s webhook %s: CSPRNG failure", c->one.tenant,
                  c->one.id);
        return STORE_UNAVAILABLE;
    }
    if (c->overlap > 0)
        rc = store_secret_put(s, txn, c->one.tenant, c->one.id, w->previous_secret,
                              w->previous_until);
    else
        rc = store_secret_del(s, txn, c->one.tenant, c->one.id);
    if (c->overlap <= 0)
        wipe(w->previous_secret, sizeof w->previous_secret);
    return rc == STORE_OK ? write_one(s, txn, c->one.tenant, w, 0) : rc;
}

enum store_status
store_webhook_rotate(struct store *s, const char *tenant, const char *id, long overlap,
                     long long now, struct webhook *out)
{
    struct rotate_ctx c = { .one = { .tenant = tenant, .id = id, .w = out }, .overlap = overlap,
                            .now = now };
    enum store_status st = store_run(s, "webhook rotate", rotate_body, &c);

    if (st != STORE_OK && c.one.loaded)
        webhook_release(out);
    return st;
}
