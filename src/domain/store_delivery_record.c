/*
 * store_delivery_record - delivery records (SPEC section 1.1), their order,
 * their payloads, and the requests (redeliver, ping) the API leaves for the
 * sender. Four databases:
 *
 *   delivery_records   tenant \0 webhook \0 deliveryId -> the stored form
 *                      (binary: domain/delivery.h)
 *   delivery_order     tenant \0 webhook \0 ~createdMs (8 bytes, big-endian,
 *                      so newer sorts first) deliveryId -> status (1 byte).
 *                      One webhook's deliveries newest first, and a status
 *                      filter that reads no record it does not return.
 *   delivery_payloads  tenant \0 eventId \0 chunk (2 bytes) -> createdMs (8
 *                      bytes) and up to PAYLOAD_CHUNK bytes of the body: one
 *                      copy per event, however many webhooks it went to.
 *   requests           requestMs (8 bytes) deliveryId -> tenant \0 webhook
 *                      \0 deliveryId: the sender turns each into a retry
 *                      record due at once, then deletes it.
 *
 * createdMs never changes, so a page's position (the order key's tail) is
 * stable: following the cursor gives no delivery twice and none skipped.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store_internal.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    ORDER_TAIL = 8 + DELIVERY_ID_LEN,   /* ~createdMs, deliveryId */
    REQUEST_KEY = 8 + DELIVERY_ID_LEN,  /* requestMs, deliveryId */
    TIME_BYTES = 8,
    PAYLOAD_CHUNK = 3072,               /* body bytes per payload item: on-page on 16 KiB pages */
};

static const char status_bytes[] = "psf";   /* enum delivery_status, as stored in the order */

/* "tenant \0 webhook \0" */
static void
hook_prefix(struct buf *k, const char *tenant, const char *webhook_id)
{
    buf_reset(k);
    buf_append(k, tenant, strlen(tenant) + 1);
    buf_append(k, webhook_id, strlen(webhook_id) + 1);
}

static void
record_key(struct buf *k, const char *tenant, const char *webhook_id, const char *delivery_id)
{
    hook_prefix(k, tenant, webhook_id);
    buf_puts(k, delivery_id);
}

static void
order_key(struct buf *k, const struct delivery *d)
{
    unsigned char t[TIME_BYTES];

    hook_prefix(k, d->ref.tenant, d->ref.webhook_id);
    store_put_be(t, ~(uint64_t)d->created_ms, 8);
    buf_append(k, t, sizeof t);
    buf_append(k, d->ref.delivery_id, DELIVERY_ID_LEN);
}

/* "tenant \0 eventId \0" and, if chunk >= 0, the chunk's number (2 bytes). */
static void
payload_key(struct buf *k, const char *tenant, const char *event_id, int chunk)
{
    buf_reset(k);
    buf_append(k, tenant, strlen(tenant) + 1);
    buf_append(k, event_id, strlen(event_id) + 1);
    if (chunk >= 0) {
        unsigned char n[2] = { (unsigned char)(chunk >> 8), (unsigned char)chunk };
        buf_append(k, n, sizeof n);
    }
}

/* ---- one-record operations, inside a transaction (or none, for reads) ---- */

/* Loads the record of (tenant, webhook, delivery) into *d; rmw locks it for writing. */
static int
record_load(struct store *s, DB_TXN *txn, const char *tenant, const char *webhook_id,
            const char *delivery_id, bool rmw, struct delivery *d)
{
    struct buf key;
    DBT k, v;

    buf_init(&key);
    record_key(&key, tenant, webhook_id, delivery_id);
    store_dbt(&k, key.data, key.len);
    store_dbt(&v, NULL, 0);
    v.flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->records->get(s->records, txn, &k, &v, rmw ? DB_RMW : 0),
                          "delivery record get");
    buf_release(&key);
    if (rc != STORE_OK)
        return rc;
    if (delivery_decode(d, v.data, v.size) != 0) {
        log_error("record_load: delivery %s: malformed record", delivery_id);
        free(v.data);
        return STORE_NOTFOUND;
    }
    free(v.data);
    snprintf(d->ref.tenant, sizeof d->ref.tenant, "%s", tenant);
    snprintf(d->ref.webhook_id, sizeof d->ref.webhook_id, "%s", webhook_id);
    snprintf(d->ref.delivery_id, sizeof d->ref.delivery_id, "%s", delivery_id);
    return STORE_OK;
}

/*
 * Writes d's record and, with order, its place in the order (with its
 * status). With create, an existing record is kept as it is (a re-fan-out
 * after a crash or a requeue); *created says whether this one was written.
 */
static int
record_save(struct store *s, DB_TXN *txn, const struct delivery *d, bool create, bool order,
            bool *created)
{
    struct buf key;
    DBT k, v;
    size_t len;
    char *data = delivery_encode(d, &len);

    buf_init(&key);
    record_key(&key, d->ref.tenant, d->ref.webhook_id, d->ref.delivery_id);
    store_dbt(&k, key.data, key.len);
    store_dbt(&v, data, len);
    int ret = s->records->put(s->records, txn, &k, &v, create ? DB_NOOVERWRITE : 0);
    free(data);
    if (created != NULL)
        *created = ret == 0;
    int rc = ret == DB_KEYEXIST ? STORE_OK : store_result(s, ret, "delivery record put");
    if (rc == STORE_OK && ret == 0 && order) {
        order_key(&key, d);
        store_dbt(&k, key.data, key.len);
        store_dbt(&v, &status_bytes[d->status], 1);
        rc = store_result(s, s->order->put(s->order, txn, &k, &v, 0), "delivery order put");
    }
    buf_release(&key);
    return rc;
}

/*
 * Keeps the event's body, once per event (the first one stays), in chunks
 * of at most PAYLOAD_CHUNK bytes: each stays on its page, where a larger
 * item would take whole overflow pages of its own.
 */
static int
payload_save(struct store *s, DB_TXN *txn, const char *tenant, const char *event_id,
             long long created_ms, const char *body, size_t len)
{
    struct buf key, val;
    DBT k, v;
    unsigned char t[TIME_BYTES];
    int rc = STORE_OK;

    if (len > (size_t)PAYLOAD_CHUNK * 65535)
        return STORE_OK;        /* beyond any event a producer may publish: not kept */
    buf_init(&key);
    buf_init(&val);
    store_put_be(t, (uint64_t)created_ms, 8);
    for (size_t off = 0, chunk = 0; rc == STORE_OK && (off < len || chunk == 0); chunk++) {
        size_t n = len - off < PAYLOAD_CHUNK ? len - off : PAYLOAD_CHUNK;
        payload_key(&key, tenant, event_id, (int)chunk);
        buf_reset(&val);
        buf_append(&val, t, sizeof t);
        buf_append(&val, body + off, n);
        store_dbt(&k, key.data, key.len);
        store_dbt(&v, val.data, val.len);
        int ret = s->payloads->put(s->payloads, txn, &k, &v, DB_NOOVERWRITE);
        if (ret == DB_KEYEXIST && chunk == 0)
            break;              /* kept already */
        rc = store_result(s, ret, "delivery payload put");
        off += n;
    }
    buf_release(&key);
    buf_release(&val);
    return rc;
}

/* Leaves a request for the sender: a new attempt of d as soon as it can. */
static int
request_save(struct store *s, DB_TXN *txn, const struct delivery *d, long long now_ms)
{
    unsigned char kb[REQUEST_KEY];
    struct buf val;
    DBT k, v;

    store_put_be(kb, (uint64_t)now_ms, 8);
    memcpy(kb + TIME_BYTES, d->ref.delivery_id, DELIVERY_ID_LEN);
    buf_init(&val);
    record_key(&val, d->ref.tenant, d->ref.webhook_id, d->ref.delivery_id);
    store_dbt(&k, kb, sizeof kb);
    store_dbt(&v, val.data, val.len);
    int rc = store_result(s, s->requests->put(s->requests, txn, &k, &v, 0), "request put");
    buf_release(&val);
    return rc;
}

static void
delivery_from_new(struct delivery *d, const struct delivery_new *nw)
{
    memset(d, 0, sizeof *d);
    d->ref = nw->ref;
    d->status = DELIVERY_PENDING;
    d->created_ms = nw->created_ms;
    d->next_attempt_ms = nw->created_ms;
}

/* Adds an attempt's outcome (attempt number > 0) to d. */
static void
add_attempt(struct delivery *d, const struct delivery_outcome *o)
{
    const struct delivery_attempt *a = &o->attempt;
    struct delivery_try t = { .attempt = a->attempt, .at_ms = a->time_ms,
                              .duration_ms = a->duration_ms, .status_code = a->status };

    snprintf(t.error, sizeof t.error, "%s", a->error);
    delivery_add_try(d, &t);
    d->status = o->status;
    d->next_attempt_ms = o->status == DELIVERY_PENDING ? o->next_attempt_ms : 0;
}

/*
 * Creates the record of a fanned-out delivery unless it exists, and keeps
 * its payload. With first (its first attempt, in the same batch) the record
 * is written once, as it stands after that attempt; *merged then says
 * whether first is in it (not when the record existed already).
 */
static int
create_one(struct store *s, DB_TXN *txn, const struct delivery_new *nw,
           const struct delivery_outcome *first, bool *merged)
{
    struct delivery d;
    bool created;

    delivery_from_new(&d, nw);
    if (first != NULL)
        add_attempt(&d, first);
    int rc = record_save(s, txn, &d, true, true, &created);
    if (rc == STORE_OK && created)
        rc = payload_save(s, txn, nw->ref.tenant, nw->ref.event_id, nw->created_ms, nw->payload,
                          nw->payload_len);
    if (first != NULL)
        *merged = created;
    delivery_release(&d);
    return rc;
}

/*
 * Rewrites an existing record after a change of attempts or status; its
 * order entry (same key) only if the status changed from was.
 */
static int
record_update(struct store *s, DB_TXN *txn, const struct delivery *d, enum delivery_status was)
{
    return record_save(s, txn, d, false, d->status != was, NULL);
}

/*
 * Adds an attempt's outcome to its record, creating the record if it is
 * missing. Attempt number 0 is no attempt: only the status changes (and,
 * pending, the next attempt's time: a parked delivery), of a record that
 * exists.
 */
static int
outcome_one(struct store *s, DB_TXN *txn, const struct delivery_outcome *o)
{
    const struct delivery_attempt *a = &o->attempt;
    struct delivery d;
    int rc = record_load(s, txn, a->ref.tenant, a->ref.webhook_id, a->ref.delivery_id, true, &d);

    if (a->attempt == 0) {
        if (rc != STORE_OK)
            return rc == STORE_NOTFOUND ? STORE_OK : rc;
        enum delivery_status was = d.status;
        d.status = o->status;
        d.next_attempt_ms = o->status == DELIVERY_PENDING ? o->next_attempt_ms : 0;
        rc = record_update(s, txn, &d, was);
        delivery_release(&d);
        return rc;
    }
    bool fresh = rc == STORE_NOTFOUND;
    if (fresh) {
        /* Fanned out before records existed, or its creation was lost in a crash. */
        struct delivery_new nw = { .created_ms = a->time_ms, .payload = o->payload,
                                   .payload_len = o->payload_len };
        nw.ref = a->ref;
        delivery_from_new(&d, &nw);
        if (o->payload != NULL)
            rc = payload_save(s, txn, a->ref.tenant, a->ref.event_id, a->time_ms, o->payload,
                              o->payload_len);
        else
            rc = STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    enum delivery_status was = d.status;
    add_attempt(&d, o);
    rc = record_save(s, txn, &d, false, fresh || d.status != was, NULL);
    delivery_release(&d);
    return rc;
}

/* ---- the sender's batch ---- */

struct commit_ctx {
    const struct delivery_new *nw;
    size_t n_new;
    const struct delivery_outcome *out;
    size_t n_out;
};

/* An outcome of the batch, by delivery (outcome_index). */
struct outcome_ref {
    const struct delivery_attempt *a;
    size_t index;               /* in the batch */
};

static int
outcome_ref_cmp(const void *x, const void *y)
{
    const struct outcome_ref *p = x, *q = y;
    int c = strcmp(p->a->ref.delivery_id, q->a->ref.delivery_id);

    if (c == 0)
        c = strcmp(p->a->ref.webhook_id, q->a->ref.webhook_id);
    if (c == 0)
        c = strcmp(p->a->ref.tenant, q->a->ref.tenant);
    if (c == 0)
        c = (p->index > q->index) - (p->index < q->index);
    return c;
}

/* The batch's outcomes sorted by delivery, then by their place in the batch. */
static struct outcome_ref *
outcome_index(const struct delivery_outcome *out, size_t n)
{
    struct outcome_ref *refs = xreallocarray(NULL, n, sizeof *refs);

    for (size_t i = 0; i < n; i++)
        refs[i] = (struct outcome_ref){ &out[i].attempt, i };
    qsort(refs, n, sizeof *refs, outcome_ref_cmp);
    return refs;
}

/* The first outcome in the batch of nw's delivery, if it is an attempt; NULL otherwise. */
static const struct outcome_ref *
first_attempt(const struct commit_ctx *c, const struct outcome_ref *refs,
              const struct delivery_new *nw)
{
    struct delivery_attempt key;
    struct outcome_ref probe = { &key, 0 };
    size_t lo = 0, hi = c->n_out;

    key.ref = nw->ref;
    while (lo < hi) {                   /* the first entry not before (nw, index 0) */
        size_t mid = lo + (hi - lo) / 2;
        if (outcome_ref_cmp(&refs[mid], &probe) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->n_out || strcmp(refs[lo].a->ref.delivery_id, nw->ref.delivery_id) != 0 ||
        strcmp(refs[lo].a->ref.webhook_id, nw->ref.webhook_id) != 0 ||
        strcmp(refs[lo].a->ref.tenant, nw->ref.tenant) != 0 || refs[lo].a->attempt == 0)
        return NULL;
    return &refs[lo];
}

/*
 * Creates the batch's records, then logs its attempts and adds them to
 * their records. Fan-out and the first attempt often finish within one
 * batch (the loop hands over all that finished while the last was being
 * written): such a record is written once, with its attempt, rather than
 * created, read back and rewritten.
 */
static int
commit_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct commit_ctx *c = arg;
    struct outcome_ref *refs = c->n_new > 0 && c->n_out > 0 ? outcome_index(c->out, c->n_out)
                                                            : NULL;
    bool *merged = xcalloc(c->n_out + 1, sizeof *merged);
    int rc = STORE_OK;

    for (size_t i = 0; i < c->n_new && rc == STORE_OK; i++) {
        const struct outcome_ref *first = refs != NULL ? first_attempt(c, refs, &c->nw[i]) : NULL;
        rc = create_one(s, txn, &c->nw[i], first != NULL ? &c->out[first->index] : NULL,
                        first != NULL ? &merged[first->index] : NULL);
    }
    for (size_t i = 0; i < c->n_out && rc == STORE_OK; i++) {
        if (c->out[i].attempt.attempt > 0)
            rc = store_delivery_log_put(s, txn, &c->out[i].attempt);
        if (rc == STORE_OK && !merged[i])
            rc = outcome_one(s, txn, &c->out[i]);
    }
    free(refs);
    free(merged);
    return rc;
}

enum store_status
store_delivery_commit(struct store *s, const struct delivery_new *nw, size_t n_new,
                      const struct delivery_outcome *out, size_t n_out)
{
    struct commit_ctx c = { nw, n_new, out, n_out };

    if (n_new == 0 && n_out == 0)
        return STORE_OK;
    return store_run(s, "delivery commit", commit_body, &c);
}

/* ---- reads for the API and the CLI ---- */

struct get_ctx {
    const char *tenant, *webhook_id, *delivery_id;
    struct delivery *d;
    struct buf *payload;
};

struct payload_ctx {
    size_t key_len;             /* a chunk's key: the prefix and a 2-byte index */
    struct buf *out;
    size_t chunks;
};

/* Appends one chunk of the payload; ends the walk at the first key that is not one. */
static int
payload_chunk(struct store *s, DB_TXN *txn, const DBT *k, const DBT *v, void *arg, bool *stop)
{
    struct payload_ctx *c = arg;

    (void)s;
    (void)txn;
    if (k->size != c->key_len || v->size < TIME_BYTES) {
        *stop = true;
        return STORE_OK;
    }
    buf_append(c->out, (char *)v->data + TIME_BYTES, v->size - TIME_BYTES);
    c->chunks++;
    return STORE_OK;
}

static int
payload_load(struct store *s, DB_TXN *txn, const char *tenant, const char *event_id,
             struct buf *out)
{
    struct buf prefix;

    buf_reset(out);
    buf_init(&prefix);
    payload_key(&prefix, tenant, event_id, -1);
    struct payload_ctx c = { .key_len = prefix.len + 2, .out = out };
    int rc = store_scan(s, txn, s->payloads, prefix.data, prefix.len, prefix.len, 0,
                        payload_chunk, &c, "delivery payload");
    buf_release(&prefix);
    if (rc != STORE_OK)
        return rc;
    return c.chunks > 0 ? STORE_OK : STORE_NOTFOUND;
}

static int
get_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct get_ctx *c = arg;

    delivery_release(c->d);
    int rc = record_load(s, txn, c->tenant, c->webhook_id, c->delivery_id, false, c->d);
    if (rc == STORE_OK && c->payload != NULL) {
        rc = payload_load(s, txn, c->tenant, c->d->ref.event_id, c->payload);
        if (rc == STORE_NOTFOUND)
            rc = STORE_OK;      /* pruned, or never kept: an empty payload */
    }
    return rc;
}

enum store_status
store_delivery_get(struct store *s, const char *tenant, const char *webhook_id,
                   const char *delivery_id, struct delivery *out, struct buf *payload)
{
    struct get_ctx c = { tenant, webhook_id, delivery_id, out, payload };

    memset(out, 0, sizeof *out);
    if (payload != NULL)
        buf_reset(payload);
    enum store_status st = store_read(s, "delivery get", get_body, &c);
    if (st != STORE_OK)
        delivery_release(out);
    return st;
}

/* The order key tail (ORDER_TAIL bytes) a cursor stands for. */
static void
cursor_tail(const char *cursor, unsigned char tail[ORDER_TAIL])
{
    for (int i = 0; i < TIME_BYTES; i++)
        tail[i] = (unsigned char)(hex_digit(cursor[2 * i]) * 16 + hex_digit(cursor[2 * i + 1]));
    memcpy(tail + TIME_BYTES, cursor + 2 * TIME_BYTES, DELIVERY_ID_LEN);
}

static void
cursor_of(const unsigned char *tail, char out[STORE_CURSOR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";

    for (int i = 0; i < TIME_BYTES; i++) {
        out[2 * i] = hex[tail[i] >> 4];
        out[2 * i + 1] = hex[tail[i] & 15];
    }
    memcpy(out + 2 * TIME_BYTES, tail + TIME_BYTES, DELIVERY_ID_LEN);
    out[STORE_CURSOR_LEN] = '\0';
}

struct page_ctx {
    const char *tenant, *webhook_id;
    int status;                 /* -1: any */
    const char *after;          /* a cursor, or NULL */
    size_t limit;
    struct delivery *items;
    size_t n;
    char *next;                 /* STORE_CURSOR_LEN + 1; "" when no page follows */
    /* The walk's own: */
    size_t plen;                            /* the webhook's key prefix */
    unsigned char after_tail[ORDER_TAIL];   /* after's key tail, if after */
    unsigned char last[ORDER_TAIL];         /* the key tail last taken */
};

static void
page_reset(struct page_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        delivery_release(&c->items[i]);
    c->n = 0;
    c->next[0] = '\0';
}

/* Takes the delivery an order entry (its key tail) stands for, if it still exists. */
static int
page_take(struct store *s, DB_TXN *txn, struct page_ctx *c, const unsigned char *tail)
{
    char id[DELIVERY_ID_LEN + 1];

    memcpy(id, tail + TIME_BYTES, DELIVERY_ID_LEN);
    id[DELIVERY_ID_LEN] = '\0';
    int rc = record_load(s, txn, c->tenant, c->webhook_id, id, false, &c->items[c->n]);
    if (rc == STORE_OK)
        c->n++;
    return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/* One order entry under the page's prefix: takes it, or notes that one more follows. */
static int
page_entry(struct store *s, DB_TXN *txn, const DBT *k, const DBT *v, void *arg, bool *stop)
{
    struct page_ctx *c = arg;
    const unsigned char *key = k->data;

    if (k->size != c->plen + ORDER_TAIL) {
        *stop = true;
        return STORE_OK;
    }
    if (c->after != NULL && memcmp(key + c->plen, c->after_tail, ORDER_TAIL) == 0)
        return STORE_OK;        /* the cursor's own entry: the page starts after it */
    if (v->size != 1 || (c->status >= 0 && ((const char *)v->data)[0] != status_bytes[c->status]))
        return STORE_OK;
    if (c->n == c->limit) {
        /* One more exists: the page ends at the last one taken. */
        cursor_of(c->last, c->next);
        *stop = true;
        return STORE_OK;
    }
    memcpy(c->last, key + c->plen, ORDER_TAIL);
    return page_take(s, txn, c, key + c->plen);
}

static int
page_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct page_ctx *c = arg;
    struct buf seek;

    page_reset(c);
    buf_init(&seek);
    hook_prefix(&seek, c->tenant, c->webhook_id);
    c->plen = seek.len;
    if (c->after != NULL) {
        cursor_tail(c->after, c->after_tail);
        buf_append(&seek, c->after_tail, sizeof c->after_tail);
    }
    int rc = store_scan(s, txn, s->order, seek.data, seek.len, c->plen, 0, page_entry, c,
                        "delivery page");
    buf_release(&seek);
    return rc;
}

enum store_status
store_delivery_page(struct store *s, const char *tenant, const char *webhook_id, int status,
                    const char *cursor, size_t limit, struct delivery **out, size_t *n,
                    char next[STORE_CURSOR_LEN + 1])
{
    struct page_ctx c = { .tenant = tenant, .webhook_id = webhook_id, .status = status,
                          .after = cursor, .limit = limit, .next = next };

    c.items = xcalloc(limit > 0 ? limit : 1, sizeof *c.items);
    next[0] = '\0';
    enum store_status st = store_read(s, "delivery page", page_body, &c);
    if (st != STORE_OK)
        page_reset(&c);
    *out = c.items;
    *n = c.n;
    return st;
}

void
store_delivery_list_free(struct delivery *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        delivery_release(&list[i]);
    free(list);
}

/* ---- the API's requests ---- */

struct redeliver_ctx {
    const char *tenant, *webhook_id, *delivery_id;
    long long now_ms;
    struct delivery *d;
};

static int
redeliver_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct redeliver_ctx *c = arg;

    delivery_release(c->d);
    int rc = record_load(s, txn, c->tenant, c->webhook_id, c->delivery_id, true, c->d);
    if (rc != STORE_OK)
        return rc;
    enum delivery_status was = c->d->status;
    c->d->status = DELIVERY_PENDING;
    c->d->next_attempt_ms = c->now_ms;
    rc = record_update(s, txn, c->d, was);
    if (rc == STORE_OK)
        rc = request_save(s, txn, c->d, c->now_ms);
    return rc;
}

enum store_status
store_delivery_redeliver(struct store *s, const char *tenant, const char *webhook_id,
                         const char *delivery_id, long long now_ms, struct delivery *out)
{
    struct redeliver_ctx c = { tenant, webhook_id, delivery_id, now_ms, out };

    memset(out, 0, sizeof *out);
    enum store_status st = store_run(s, "delivery redeliver", redeliver_body, &c);
    if (st != STORE_OK)
        delivery_release(out);
    return st;
}

struct ping_ctx {
    const struct delivery_new *nw;
    struct delivery *d;
};

static int
ping_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct ping_ctx *c = arg;
    int rc = create_one(s, txn, c->nw, NULL, NULL);

    if (rc == STORE_OK)
        rc = request_save(s, txn, c->d, c->nw->created_ms);
    return rc;
}

enum store_status
store_delivery_ping(struct store *s, const struct delivery_new *nw, struct delivery *out)
{
    struct ping_ctx c = { nw, out };

    delivery_from_new(out, nw);
    return store_run(s, "delivery ping", ping_body, &c);
}

/* ---- the sender's side of the requests ---- */

struct requests_ctx {
    size_t max;
    struct store_request *items;
    size_t n;
};

/* Splits "tenant \0 webhook \0 deliveryId" into r; returns 0 or -1. */
static int
request_parse(struct store_request *r, const char *v, size_t len)
{
    const char *t_end = memchr(v, '\0', len);
    const char *w_end = t_end != NULL ? memchr(t_end + 1, '\0', len - (size_t)(t_end + 1 - v))
                                      : NULL;
    if (w_end == NULL)
        return -1;
    size_t id_len = len - (size_t)(w_end + 1 - v);
    if ((size_t)(t_end - v) > WEBHOOK_TENANT_MAX ||
        (size_t)(w_end - t_end - 1) > WEBHOOK_ID_LEN || id_len != DELIVERY_ID_LEN)
        return -1;
    memcpy(r->tenant, v, (size_t)(t_end - v) + 1);
    memcpy(r->webhook_id, t_end + 1, (size_t)(w_end - t_end));
    memcpy(r->delivery_id, w_end + 1, id_len);
    r->delivery_id[id_len] = '\0';
    return 0;
}

/* Hands out one request (a malformed one too, to be deleted); stops at max. */
static int
request_entry(struct store *s, DB_TXN *txn, const DBT *k, const DBT *v, void *arg, bool *stop)
{
    struct requests_ctx *c = arg;
    struct store_request *r = &c->items[c->n];

    (void)s;
    (void)txn;
    memset(r, 0, sizeof *r);
    if (k->size == sizeof r->key) {
        memcpy(r->key, k->data, sizeof r->key);
        if (request_parse(r, v->data, v->size) == 0)
            r->valid = true;
        c->n++;
    }
    *stop = c->n == c->max;
    return STORE_OK;
}

static int
requests_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct requests_ctx *c = arg;

    c->n = 0;
    if (c->max == 0)
        return STORE_OK;
    return store_scan(s, txn, s->requests, NULL, 0, 0, 0, request_entry, c, "requests");
}

enum store_status
store_requests_list(struct store *s, size_t max, struct store_request **out, size_t *n)
{
    struct requests_ctx c = { max, xcalloc(max > 0 ? max : 1, sizeof *c.items), 0 };
    enum store_status st = store_read(s, "requests list", requests_body, &c);

    if (st != STORE_OK)
        c.n = 0;
    *out = c.items;
    *n = c.n;
    return st;
}

static int
request_done_body(struct store *s, DB_TXN *txn, void *arg)
{
    const struct store_request *r = arg;
    DBT k;

    store_dbt(&k, r->key, sizeof r->key);
    int ret = s->requests->del(s->requests, txn, &k, 0);
    return ret == DB_NOTFOUND ? STORE_OK : store_result(s, ret, "request delete");
}

enum store_status
store_request_done(struct store *s, const struct store_request *r)
{
    return store_run(s, "request done", request_done_body, (void *)r);
}

/* ---- pruning ---- */

/* An order entry older than the limit: it goes, with its record. */
static int
prune_order(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *arg,
            bool *expired)
{
    const long long *before = arg;
    const unsigned char *k = key->data;
    (void)val;

    *expired = false;
    if (key->size < ORDER_TAIL + 4)
        return STORE_OK;
    const unsigned char *tail = k + key->size - ORDER_TAIL;
    long long created = (long long)~store_get_be(tail, 8);
    if (created >= *before)
        return STORE_OK;
    *expired = true;
    /* The record's key: the same prefix, then the delivery id. */
    struct buf rk;
    buf_init(&rk);
    buf_append(&rk, k, key->size - ORDER_TAIL);
    buf_append(&rk, tail + TIME_BYTES, DELIVERY_ID_LEN);
    DBT r;
    store_dbt(&r, rk.data, rk.len);
    int ret = s->records->del(s->records, txn, &r, 0);
    buf_release(&rk);
    return ret == DB_NOTFOUND ? STORE_OK : store_result(s, ret, "delivery record prune");
}

/* An entry older than the limit: a payload or a retired id (its value starts with its time). */
static int
prune_by_time(struct store *s, DB_TXN *txn, const DBT *key, const DBT *val, void *arg,
              bool *expired)
{
    const long long *before = arg;
    (void)s;
    (void)txn;
    (void)key;

    *expired = val->size >= TIME_BYTES && (long long)store_get_be(val->data, 8) < *before;
    return STORE_OK;
}

enum store_status
store_delivery_record_prune(struct store *s, long long before_ms, size_t *removed)
{
    size_t records = 0, payloads = 0;
    enum store_status st = store_prune_scan(s, s->order, 1, prune_order, &before_ms, &records);

    if (st == STORE_OK)
        st = store_prune_scan(s, s->payloads, TIME_BYTES, prune_by_time, &before_ms, &payloads);
    /* Its records are gone: a webhook deleted before the limit may give its id away. */
    if (st == STORE_OK)
        st = store_prune_scan(s, s->retired_ids, TIME_BYTES, prune_by_time, &before_ms, NULL);
    if (removed != NULL)
        *removed = records;
    return st;
}

/* ---- lookup by id alone (the CLI) ---- */

struct find_ctx {
    const char *tenant, *webhook_id, *delivery_id;
    char found_tenant[WEBHOOK_TENANT_MAX + 1];
    char found_webhook[WEBHOOK_ID_LEN + 1];
};

/* Splits a record key into its tenant and webhook if it ends in delivery_id. */
static bool
find_match(struct find_ctx *c, const char *k, size_t len)
{
    size_t id_len = strlen(c->delivery_id);
    const char *t_end = memchr(k, '\0', len);
    const char *w_end = t_end != NULL ? memchr(t_end + 1, '\0', len - (size_t)(t_end + 1 - k))
                                      : NULL;

    if (w_end == NULL || len - (size_t)(w_end + 1 - k) != id_len ||
        memcmp(w_end + 1, c->delivery_id, id_len) != 0 ||
        (size_t)(t_end - k) > WEBHOOK_TENANT_MAX || (size_t)(w_end - t_end - 1) > WEBHOOK_ID_LEN)
        return false;
    memcpy(c->found_tenant, k, (size_t)(t_end - k) + 1);
    memcpy(c->found_webhook, t_end + 1, (size_t)(w_end - t_end));
    return true;
}

/* Stops the walk at the record whose key ends in the delivery id sought. */
static int
find_entry(struct store *s, DB_TXN *txn, const DBT *k, const DBT *v, void *arg, bool *stop)
{
    (void)s;
    (void)txn;
    (void)v;
    *stop = find_match(arg, k->data, k->size);
    return STORE_OK;
}

static int
find_body(struct store *s, DB_TXN *txn, void *arg)
{
    struct find_ctx *c = arg;
    struct buf prefix;

    c->found_tenant[0] = '\0';
    buf_init(&prefix);
    if (c->tenant != NULL && c->webhook_id != NULL)
        hook_prefix(&prefix, c->tenant, c->webhook_id);
    else if (c->tenant != NULL)
        buf_append(&prefix, c->tenant, strlen(c->tenant) + 1);
    int rc = store_scan(s, txn, s->records, prefix.data, prefix.len, prefix.len, 0, find_entry,
                        c, "delivery find");
    buf_release(&prefix);
    if (rc == STORE_OK && c->found_tenant[0] == '\0')
        rc = STORE_NOTFOUND;
    return rc;
}

enum store_status
store_delivery_find(struct store *s, const char *tenant, const char *webhook_id,
                    const char *delivery_id, struct delivery *out, struct buf *payload)
{
    struct find_ctx c = { .tenant = tenant, .webhook_id = webhook_id,
                          .delivery_id = delivery_id };

    memset(out, 0, sizeof *out);
    enum store_status st = store_read(s, "delivery find", find_body, &c);
    if (st != STORE_OK)
        return st;
    return store_delivery_get(s, c.found_tenant, c.found_webhook, delivery_id, out, payload);
}
