/*
 * store_health - the "health" database: one record per webhook whose
 * attempts have been failing, key "tenant \0 id" (as in "webhooks"), value
 * {"failingSince": ms, "failures": n, "lastFailure": ms, "disabled": bool}.
 *
 * A success removes the record, so a healthy webhook has none and a batch
 * of successes writes nothing. The sender's committer updates it once per
 * batch of attempts, right after the delivery log, so the streak survives
 * a restart. When a streak reaches the auto-disable threshold the webhook
 * is disabled in the same transaction and the record stays, marked
 * "disabled", until its Webhook:Disabled event is in the spool
 * (store_health_announced): a crash in between announces it again at the
 * next start (store_health_unannounced), under the same event id.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Failed attempts a streak needs, whatever its length, before it disables (SPEC 4.1). */
#define HEALTH_MIN_FAILURES 10

struct streak {
    long long since_ms;
    long long last_ms;
    long failures;
    bool disabled;              /* disabled by it; the event is not published yet */
};

static void
health_key(struct buf *key, const char *tenant, const char *id)
{
    buf_reset(key);
    buf_append(key, tenant, strlen(tenant) + 1);
    buf_puts(key, id);
}

static bool
streak_parse(struct streak *k, const void *data, size_t len)
{
    json_object *o = json_read_object(data, len, JSON_READ_DEPTH, 0, NULL);
    int64_t n;

    memset(k, 0, sizeof *k);
    if (o == NULL)
        return false;
    /* An absent member stays 0 or false. */
    if (json_member_int(o, "failingSince", INT64_MIN + 1, INT64_MAX, &n) == 0)
        k->since_ms = n;
    if (json_member_int(o, "lastFailure", INT64_MIN + 1, INT64_MAX, &n) == 0)
        k->last_ms = n;
    if (json_member_int(o, "failures", 0, LONG_MAX, &n) == 0)
        k->failures = (long)n;
    (void)json_member_bool(o, "disabled", &k->disabled);
    json_object_put(o);
    return k->since_ms > 0;
}

/* Reads the streak of (tenant, id) for update; STORE_NOTFOUND if it has none. */
static int
streak_get(struct store *s, DB_TXN *txn, const struct buf *key, struct streak *k)
{
    DBT dk, dv;

    store_dbt(&dk, key->data, key->len);
    store_dbt(&dv, NULL, 0);
    dv.flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->health->get(s->health, txn, &dk, &dv, txn ? DB_RMW : 0),
                          "health get");
    if (rc == STORE_OK) {
        if (!streak_parse(k, dv.data, dv.size)) {
            log_error("streak_get: a malformed health record: starting its streak again");
            rc = STORE_NOTFOUND;
        }
        free(dv.data);
    }
    return rc;
}

static int
streak_put(struct store *s, DB_TXN *txn, const struct buf *key, const struct streak *k)
{
    char val[160];
    DBT dk, dv;

    snprintf(val, sizeof val, "{\"failingSince\":%lld,\"failures\":%ld,\"lastFailure\":%lld,"
             "\"disabled\":%s}", k->since_ms, k->failures, k->last_ms,
             k->disabled ? "true" : "false");
    store_dbt(&dk, key->data, key->len);
    store_dbt(&dv, val, strlen(val));
    return store_result(s, s->health->put(s->health, txn, &dk, &dv, 0), "health put");
}

static int
streak_del(struct store *s, DB_TXN *txn, const struct buf *key)
{
    DBT dk;

    store_dbt(&dk, key->data, key->len);
    int rc = store_result(s, s->health->del(s->health, txn, &dk, 0), "health delete");
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* The webhook edit of an auto-disable: only an enabled webhook is disabled (and announced). */
struct disable_ctx {
    const char *reason;
    long long at_ms;
};

static int
disable_edit(struct webhook *w, void *arg)
{
    struct disable_ctx *d = arg;

    if (!w->enabled)
        return -1;
    webhook_disable(w, d->reason, d->at_ms);
    return 0;
}

/* The attempts of one webhook in a batch, folded. */
struct fold {
    const struct delivery_attempt *first;   /* names the webhook */
    const struct delivery_attempt *last_failure;
    bool success;               /* at least one attempt succeeded */
    long long since_ms;         /* the first failure after the last success */
    long failures;              /* failures after the last success */
};

static bool
attempt_ok(const struct delivery_attempt *a)
{
    return a->status >= 200 && a->status < 300 && a->error[0] == '\0';
}

static int
cmp_attempt(const void *x, const void *y)
{
    const struct delivery_attempt *a = *(const struct delivery_attempt *const *)x;
    const struct delivery_attempt *b = *(const struct delivery_attempt *const *)y;
    int c = strcmp(a->ref.tenant, b->ref.tenant);

    if (c == 0)
        c = strcmp(a->ref.webhook_id, b->ref.webhook_id);
    if (c == 0)
        c = a < b ? -1 : a > b;         /* the batch's order within one webhook */
    return c;
}

/* Groups a batch by webhook (one database read and write each); returns the folds. */
static struct fold *
fold_batch(const struct delivery_attempt *const *a, size_t n, size_t *n_folds)
{
    const struct delivery_attempt **order = xcalloc(n ? n : 1, sizeof *order);
    struct fold *f = xcalloc(n ? n : 1, sizeof *f);
    size_t m = 0;

    for (size_t i = 0; i < n; i++)
        order[i] = a[i];
    qsort(order, n, sizeof *order, cmp_attempt);
    for (size_t i = 0; i < n; i++) {
        const struct delivery_attempt *x = order[i];
        if (m == 0 || strcmp(f[m - 1].first->ref.tenant, x->ref.tenant) != 0 ||
            strcmp(f[m - 1].first->ref.webhook_id, x->ref.webhook_id) != 0)
            f[m++].first = x;
        struct fold *g = &f[m - 1];
        if (attempt_ok(x)) {
            g->success = true;
            g->failures = 0;
            g->since_ms = 0;
        } else {
            if (g->failures++ == 0 || x->time_ms < g->since_ms)
                g->since_ms = x->time_ms;
            g->last_failure = x;
        }
    }
    free(order);
    *n_folds = m;
    return f;
}

struct record_ctx {
    const struct delivery_attempt *const *a;
    size_t n;
    long long disable_after_ms;
    long long now_ms;
    struct health_trip *trips;
    size_t n_trips;
};

/* Applies one webhook's fold; may disable it (a trip). */
static int
apply_fold(struct store *s, DB_TXN *txn, struct record_ctx *c, const struct fold *g,
           struct buf *key)
{
    struct streak k;

    health_key(key, g->first->ref.tenant, g->first->ref.webhook_id);
    int rc = streak_get(s, txn, key, &k);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return rc;
    bool had = rc == STORE_OK;
    if (had && k.disabled)
        return STORE_OK;        /* disabled by it; announced soon: later attempts do not count */
    if (g->failures == 0)
        return had && g->success ? streak_del(s, txn, key) : STORE_OK;
    if (!had || g->success) {
        memset(&k, 0, sizeof k);
        k.since_ms = g->since_ms;
    }
    k.failures += g->failures;
    if (g->last_failure->time_ms > k.last_ms)
        k.last_ms = g->last_failure->time_ms;
    if (c->disable_after_ms > 0 && k.failures >= HEALTH_MIN_FAILURES &&
        k.last_ms - k.since_ms >= c->disable_after_ms) {
        struct health_trip *t = &c->trips[c->n_trips];
        char since[CLOCK_RFC3339_MAX];
        clock_rfc3339(k.since_ms, since);
        snprintf(t->reason, sizeof t->reason, "every attempt failed since %s (%ld attempts; the "
                 "last: %.100s)", since, k.failures,
                 g->last_failure->error[0] ? g->last_failure->error : "no answer");
        struct disable_ctx d = { t->reason, c->now_ms };
        rc = store_webhook_edit_txn(s, txn, g->first->ref.tenant, g->first->ref.webhook_id,
                                    disable_edit, &d);
        if (rc == STORE_NOTFOUND || rc == STORE_REJECTED)
            return streak_del(s, txn, key);     /* deleted, or disabled already */
        if (rc != STORE_OK)
            return rc;
        snprintf(t->tenant, sizeof t->tenant, "%s", g->first->ref.tenant);
        snprintf(t->webhook_id, sizeof t->webhook_id, "%s", g->first->ref.webhook_id);
        t->failing_since_ms = k.since_ms;
        c->n_trips++;
        k.disabled = true;
    }
    return streak_put(s, txn, key, &k);
}

static int
record_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct record_ctx *c = ctx;
    size_t m;
    struct fold *f = fold_batch(c->a, c->n, &m);
    struct buf key;
    int rc = STORE_OK;

    c->n_trips = 0;             /* a retried transaction starts over */
    buf_init(&key);
    for (size_t i = 0; i < m && rc == STORE_OK; i++)
        rc = apply_fold(s, txn, c, &f[i], &key);
    buf_release(&key);
    free(f);
    return rc;
}

enum store_status
store_health_record(struct store *s, const struct delivery_attempt *const *a, size_t n,
                    long long disable_after_ms, long long now_ms, struct health_trip **trips,
                    size_t *n_trips)
{
    struct record_ctx c = { a, n, disable_after_ms, now_ms, NULL, 0 };

    c.trips = xcalloc(n ? n : 1, sizeof *c.trips);
    enum store_status st = store_run(s, "health record", record_body, &c);
    if (st != STORE_OK)
        c.n_trips = 0;
    *trips = c.trips;
    *n_trips = c.n_trips;
    return st;
}

struct forget_ctx {
    const char *tenant, *id;
};

static int
forget_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct forget_ctx *c = ctx;
    struct buf key;

    buf_init(&key);
    health_key(&key, c->tenant, c->id);
    int rc = streak_del(s, txn, &key);
    buf_release(&key);
    return rc;
}

enum store_status
store_health_announced(struct store *s, const char *tenant, const char *id)
{
    struct forget_ctx c = { tenant, id };

    return store_run(s, "health announced", forget_body, &c);
}

void
store_health_forget(struct store *s, const char *tenant, const char *id)
{
    struct forget_ctx c = { tenant, id };
    enum store_status st = store_run(s, "health forget", forget_body, &c);

    if (st != STORE_OK)
        log_warn("store_health_forget: tenant %s webhook %s: cannot forget its failures "
                 "(status %d); they count towards its next auto-disable", tenant, id, (int)st);
}

struct pending_ctx {
    struct health_trip *trips;
    size_t n, cap;
};

/* Keeps one health record if its webhook is disabled but not announced yet. */
static int
pending_entry(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *ctx,
              bool *stop)
{
    struct pending_ctx *c = ctx;
    struct streak k;
    const char *tenant = key->data;
    size_t tlen = strnlen(tenant, key->size);

    (void)s;
    (void)txn;
    (void)stop;
    if (!streak_parse(&k, val->data, val->size) || !k.disabled || tlen >= key->size ||
        tlen > WEBHOOK_TENANT_MAX || key->size - tlen - 1 != WEBHOOK_ID_LEN)
        return STORE_OK;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->trips = xreallocarray(c->trips, c->cap, sizeof *c->trips);
    }
    struct health_trip *t = &c->trips[c->n++];
    memset(t, 0, sizeof *t);
    memcpy(t->tenant, tenant, tlen);
    memcpy(t->webhook_id, tenant + tlen + 1, WEBHOOK_ID_LEN);
    t->failing_since_ms = k.since_ms;
    return STORE_OK;
}

/* Collects the records of webhooks disabled but not announced yet. */
static int
pending_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct pending_ctx *c = ctx;

    c->n = 0;
    return store_scan(s, txn, s->health, NULL, 0, 0, 0, pending_entry, c, "health list");
}

enum store_status
store_health_unannounced(struct store *s, struct health_trip **trips, size_t *n)
{
    struct pending_ctx c = { NULL, 0, 0 };
    enum store_status st = store_read(s, "health list", pending_body, &c);

    if (st != STORE_OK) {
        free(c.trips);
        c.trips = NULL;
        c.n = 0;
    }
    *trips = c.trips;
    *n = c.n;
    return st;
}

enum store_status
store_webhook_disable(struct store *s, const char *tenant, const char *id, const char *reason,
                      long long at_ms)
{
    struct disable_ctx d = { reason, at_ms };
    struct webhook w;
    enum store_status st = store_webhook_update(s, tenant, id, disable_edit, &d, &w);

    if (st == STORE_OK)
        webhook_release(&w);
    return st;
}

struct count_ctx {
    size_t total, disabled;
};

/* Counts one webhook, and whether it is disabled, from the stored text (one fixed form). */
static int
count_entry(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *ctx, bool *stop)
{
    static const char off[] = "\"enabled\":false";
    struct count_ctx *c = ctx;

    (void)s;
    (void)txn;
    (void)key;
    (void)stop;
    c->total++;
    if (memmem(val->data, val->size, off, sizeof off - 1) != NULL)
        c->disabled++;
    return STORE_OK;
}

/* Counts webhooks and the disabled ones. */
static int
count_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct count_ctx *c = ctx;

    c->total = c->disabled = 0;
    return store_scan(s, txn, s->webhooks, NULL, 0, 0, 0, count_entry, c, "webhook count");
}

enum store_status
store_webhook_count(struct store *s, size_t *total, size_t *disabled)
{
    struct count_ctx c = { 0, 0 };
    enum store_status st = store_read(s, "webhook count", count_body, &c);

    *total = c.total;
    *disabled = c.disabled;
    return st;
}
