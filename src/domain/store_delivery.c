/*
 * store_delivery - the delivery log: one record per delivery attempt.
 *
 * Key: tenant \0 webhook_id \0 then 16 bytes: the attempt time in Unix ms,
 * bitwise inverted and big-endian (so newer sorts first), the writer's pid
 * and a per-process counter (so two attempts in one millisecond never
 * collide). One tenant's attempts are a range scan, one webhook's attempts
 * a sub-range already in newest-first order. Value: a compact JSON object.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    KEY_TAIL = 16,              /* inverted time (8), pid (4), counter (4) */
};

/* Appends "tenant \0" and, if webhook_id is not NULL, "webhook_id \0" to key. */
static void
delivery_prefix(struct buf *key, const char *tenant, const char *webhook_id)
{
    buf_reset(key);
    buf_append(key, tenant, strlen(tenant) + 1);
    if (webhook_id != NULL)
        buf_append(key, webhook_id, strlen(webhook_id) + 1);
}

static void
delivery_key(struct buf *key, const struct delivery_attempt *a)
{
    static uint32_t counter;
    unsigned char tail[KEY_TAIL];

    delivery_prefix(key, a->ref.tenant, a->ref.webhook_id);
    store_put_be(tail, ~(uint64_t)a->time_ms, 8);
    store_put_be(tail + 8, (uint64_t)getpid(), 4);
    store_put_be(tail + 12, counter++, 4);
    buf_append(key, tail, sizeof tail);
}

/* The attempt time in a key, or -1 if the key is not one of ours. */
static long long
delivery_key_time(const unsigned char *k, size_t len)
{
    const unsigned char *tenant_end = memchr(k, '\0', len);
    if (tenant_end == NULL)
        return -1;
    size_t off = (size_t)(tenant_end - k) + 1;
    const unsigned char *hook_end = memchr(k + off, '\0', len - off);
    if (hook_end == NULL)
        return -1;
    off = (size_t)(hook_end - k) + 1;
    if (len - off != KEY_TAIL)
        return -1;
    return (long long)~store_get_be(k + off, 8);
}

json_object *
store_delivery_to_json(const struct delivery_attempt *a)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "time", json_object_new_int64(a->time_ms));
    json_object_object_add(o, "tenantId", json_object_new_string(a->ref.tenant));
    json_object_object_add(o, "webhookId", json_object_new_string(a->ref.webhook_id));
    json_object_object_add(o, "deliveryId", json_object_new_string(a->ref.delivery_id));
    json_object_object_add(o, "eventId", json_object_new_string(a->ref.event_id));
    json_object_object_add(o, "eventType", json_object_new_string(a->ref.event_type));
    json_object_object_add(o, "attempt", json_object_new_int(a->attempt));
    json_object_object_add(o, "status", json_object_new_int(a->status));
    json_object_object_add(o, "error", json_object_new_string(a->error));
    json_object_object_add(o, "durationMs", json_object_new_int64(a->duration_ms));
    return o;
}

static char *
delivery_encode_attempt(const struct delivery_attempt *a)
{
    json_object *o = store_delivery_to_json(a);
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));

    json_object_put(o);
    return s;
}

/* A stored string member into out; "" if absent or not a string that fits. */
static void
copy_member(json_object *o, const char *name, char *out, size_t cap)
{
    (void)json_member_copy(o, name, out, cap);
}

/* A stored integer member; 0 if absent. */
static long long
int_member(json_object *o, const char *name)
{
    int64_t n = 0;

    (void)json_member_int(o, name, INT64_MIN + 1, INT64_MAX, &n);
    return (long long)n;
}

/* Decodes a stored record; returns 0 or -1. */
static int
delivery_decode_attempt(struct delivery_attempt *a, const char *data, size_t len)
{
    json_object *o = json_read_object(data, len, JSON_READ_DEPTH, 0, NULL);

    if (o == NULL)
        return -1;
    memset(a, 0, sizeof *a);
    a->time_ms = int_member(o, "time");
    copy_member(o, "tenantId", a->ref.tenant, sizeof a->ref.tenant);
    copy_member(o, "webhookId", a->ref.webhook_id, sizeof a->ref.webhook_id);
    copy_member(o, "deliveryId", a->ref.delivery_id, sizeof a->ref.delivery_id);
    copy_member(o, "eventId", a->ref.event_id, sizeof a->ref.event_id);
    copy_member(o, "eventType", a->ref.event_type, sizeof a->ref.event_type);
    copy_member(o, "error", a->error, sizeof a->error);
    a->attempt = (int)int_member(o, "attempt");
    a->status = (int)int_member(o, "status");
    a->duration_ms = (long)int_member(o, "durationMs");
    json_object_put(o);
    return 0;
}

/* ---- append ---- */

int
store_delivery_log_put(struct store *s, DB_TXN *txn, const struct delivery_attempt *a)
{
    struct buf key;
    DBT k, v;
    char *json = delivery_encode_attempt(a);

    buf_init(&key);
    delivery_key(&key, a);
    store_dbt(&k, key.data, key.len);
    store_dbt(&v, json, strlen(json));
    int rc = store_result(s, s->deliveries->put(s->deliveries, txn, &k, &v, 0), "delivery append");
    free(json);
    buf_release(&key);
    return rc;
}

struct append_ctx {
    const struct delivery_attempt *a;
    size_t n;
};

static int
append_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct append_ctx *c = ctx;
    int rc = STORE_OK;

    for (size_t i = 0; i < c->n && rc == STORE_OK; i++)
        rc = store_delivery_log_put(s, txn, &c->a[i]);
    return rc;
}

enum store_status
store_delivery_append(struct store *s, const struct delivery_attempt *a, size_t n)
{
    struct append_ctx c = { .a = a, .n = n };

    if (n == 0)
        return STORE_OK;
    return store_run(s, "delivery append", append_body, &c);
}

/* ---- list ---- */

struct list_ctx {
    const char *tenant;
    const char *webhook_id;
    size_t limit;
    struct delivery_attempt *items;
    size_t n, cap;
};

static void
list_push(struct list_ctx *c, const DBT *val)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 32;
        c->items = xreallocarray(c->items, c->cap, sizeof *c->items);
    }
    if (delivery_decode_attempt(&c->items[c->n], val->data, val->size) == 0)
        c->n++;
    else
        log_error("list_push: delivery list: tenant %s: skipping a malformed record", c->tenant);
}

/*
 * Walks the tenant's range; within each webhook's sub-range takes at most
 * limit records (already newest first) and then jumps to the next webhook.
 */
static int
delivery_list_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_ctx *c = ctx;
    struct buf prefix, seek;
    DBC *cur;
    DBT key, val;
    int rc = STORE_OK;

    c->n = 0;
    int ret = s->deliveries->cursor(s->deliveries, txn, &cur, 0);
    if (ret != 0)
        return store_result(s, ret, "delivery list cursor");
    buf_init(&prefix);
    buf_init(&seek);
    delivery_prefix(&prefix, c->tenant, c->webhook_id);
    buf_append(&seek, prefix.data, prefix.len);
    size_t taken = 0;
    for (;;) {
        store_dbt(&key, seek.data, seek.len);
        key.flags = DB_DBT_MALLOC;
        store_dbt(&val, NULL, 0);
        val.flags = DB_DBT_MALLOC;
        ret = cur->get(cur, &key, &val, DB_SET_RANGE);
        bool jumped = false;
        while (ret == 0) {
            const unsigned char *k = key.data;
            bool in_range = key.size >= prefix.len && memcmp(k, prefix.data, prefix.len) == 0;
            if (!in_range) {
                free(key.data);
                free(val.data);
                ret = DB_NOTFOUND;
                break;
            }
            /* The webhook part of this key: from the end of the prefix to its \0. */
            size_t tenant_len = strlen(c->tenant) + 1;
            const unsigned char *hook_end = memchr(k + tenant_len, '\0', key.size - tenant_len);
            if (taken < c->limit) {
                list_push(c, &val);
                taken++;
            }
            if (taken >= c->limit) {
                if (c->webhook_id != NULL || hook_end == NULL) {
                    free(key.data);
                    free(val.data);
                    ret = DB_NOTFOUND;
                    break;
                }
                /* Seek past this webhook: "tenant \0 hook \1" sorts after all its keys. */
                buf_reset(&seek);
                buf_append(&seek, k, (size_t)(hook_end - k));
                buf_append(&seek, "\1", 1);
                free(key.data);
                free(val.data);
                taken = 0;
                jumped = true;
                break;
            }
            free(key.data);
            free(val.data);
            store_dbt(&key, NULL, 0);
            key.flags = DB_DBT_MALLOC;
            store_dbt(&val, NULL, 0);
            val.flags = DB_DBT_MALLOC;
            ret = cur->get(cur, &key, &val, DB_NEXT);
        }
        if (ret != 0 && ret != DB_NOTFOUND)
            rc = store_result(s, ret, "delivery list");
        if (!jumped)
            break;
    }
    cur->close(cur);
    buf_release(&prefix);
    buf_release(&seek);
    return rc;
}

static int
newest_first(const void *a, const void *b)
{
    const struct delivery_attempt *x = a, *y = b;

    return x->time_ms < y->time_ms ? 1 : x->time_ms > y->time_ms ? -1 : 0;
}

enum store_status
store_delivery_list(struct store *s, const char *tenant, const char *webhook_id, size_t limit,
                    struct delivery_attempt **out, size_t *n)
{
    struct list_ctx c = { .tenant = tenant, .webhook_id = webhook_id, .limit = limit };
    enum store_status st = limit > 0 ? store_run(s, "delivery list", delivery_list_body, &c)
                                     : STORE_OK;

    if (st != STORE_OK) {
        free(c.items);
        c.items = NULL;
        c.n = 0;
    }
    if (c.n > 1)
        qsort(c.items, c.n, sizeof *c.items, newest_first);
    if (c.n > limit)
        c.n = limit;
    *out = c.items;
    *n = c.n;
    return st;
}

/* An attempt older than the limit (its time is in the key). */
static int
prune_attempt(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *arg,
              bool *expired)
{
    const long long *before = arg;
    long long t = delivery_key_time(key->data, key->size);
    (void)s;
    (void)txn;
    (void)val;

    *expired = t >= 0 && t < *before;
    return STORE_OK;
}

enum store_status
store_delivery_prune(struct store *s, long long before_ms, size_t *removed)
{
    enum store_status st = store_prune_scan(s, s->deliveries, 0, prune_attempt, &before_ms,
                                            removed);

    /* The records, their order and payloads are kept as long as the attempts. */
    if (st == STORE_OK)
        st = store_delivery_record_prune(s, before_ms, NULL);
    return st;
}
