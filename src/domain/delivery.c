/* delivery - the delivery record: identity, stored form, API form (see delivery.h). */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/delivery.h"
#include "domain/event.h"
#include "util/clock.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const char *const status_names[] = { "pending", "succeeded", "failed" };
static const char status_codes[] = "psf";      /* the stored form, same order */

enum { DELIVERY_FORMAT = 1 };                 /* the stored form's first byte */

int
delivery_id_make(const char *tenant, const char *event_id, const char *webhook_id,
                 char out[DELIVERY_ID_LEN + 1])
{
    struct buf in;

    buf_init(&in);
    buf_append(&in, tenant, strlen(tenant) + 1);
    buf_append(&in, event_id, strlen(event_id) + 1);
    buf_puts(&in, webhook_id);
    digest_sha256_hex(in.data, in.len, DELIVERY_ID_LEN / 2, out);
    buf_release(&in);
    return 0;
}

int
delivery_ping_new(const char *tenant, const char *webhook_id, struct delivery_new *nw,
                  char **body)
{
    json_object *o = json_object_new_object();
    json_object *data = json_object_new_object();
    struct event ev;
    char err[256];

    *body = NULL;
    memset(nw, 0, sizeof *nw);
    json_object_object_add(o, "eventType", json_object_new_string(DELIVERY_PING_TYPE));
    json_object_object_add(o, "tenantId", json_object_new_string(tenant));
    json_object_object_add(data, "webhookId", json_object_new_string(webhook_id));
    json_object_object_add(o, "data", data);
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* event_parse draws the new eventId and takes the time, as for a published event. */
    int rc = event_parse(&ev, text, strlen(text), err, sizeof err);
    json_object_put(o);
    if (rc != 0) {
        log_error("delivery_ping_new: tenant %s: %s", tenant, err);
        return -1;
    }
    struct delivery_ref *ref = &nw->ref;
    snprintf(ref->tenant, sizeof ref->tenant, "%s", ev.tenant);
    snprintf(ref->webhook_id, sizeof ref->webhook_id, "%s", webhook_id);
    snprintf(ref->event_id, sizeof ref->event_id, "%s", ev.id);
    snprintf(ref->event_type, sizeof ref->event_type, "%s", ev.type);
    nw->created_ms = clock_ms(CLOCK_REALTIME);
    *body = event_body(&ev);
    nw->payload = *body;
    nw->payload_len = strlen(*body);
    event_release(&ev);
    if (delivery_id_make(ref->tenant, ref->event_id, ref->webhook_id, ref->delivery_id) != 0) {
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

bool
delivery_id_valid(const char *id)
{
    size_t n = strspn(id, "0123456789abcdef");

    return n == DELIVERY_ID_LEN && id[n] == '\0';
}

const char *
delivery_status_name(enum delivery_status s)
{
    return (unsigned)s < 3 ? status_names[s] : "pending";
}

int
delivery_status_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

int
delivery_next_attempt(const struct delivery *d)
{
    int last = 0;

    for (size_t i = 0; i < d->n_tries; i++)
        if (d->tries[i].attempt > last)
            last = d->tries[i].attempt;
    return last + 1;
}

void
delivery_add_try(struct delivery *d, const struct delivery_try *t)
{
    d->tries = xreallocarray(d->tries, d->n_tries + 1, sizeof *d->tries);
    d->tries[d->n_tries++] = *t;
}

/* ---- the stored form (see delivery.h) ---- */

static void
put_uint(struct buf *b, uint64_t v, int bytes)
{
    unsigned char p[8];

    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    buf_append(b, p, (size_t)bytes);
}

/* A string (at most 255 bytes are kept; ours are shorter): its length, then its bytes. */
static void
put_short_string(struct buf *b, const char *s)
{
    size_t n = strlen(s);

    if (n > 255)
        n = 255;
    put_uint(b, n, 1);
    buf_append(b, s, n);
}

char *
delivery_encode(const struct delivery *d, size_t *len)
{
    struct buf b;

    buf_init(&b);
    put_uint(&b, DELIVERY_FORMAT, 1);
    put_uint(&b, (uint64_t)status_codes[d->status], 1);
    put_uint(&b, (uint64_t)d->created_ms, 8);
    put_uint(&b, (uint64_t)d->next_attempt_ms, 8);
    put_short_string(&b, d->ref.event_id);
    put_short_string(&b, d->ref.event_type);
    put_uint(&b, d->n_tries, 2);
    for (size_t i = 0; i < d->n_tries; i++) {
        const struct delivery_try *t = &d->tries[i];
        put_uint(&b, (uint32_t)t->attempt, 4);
        put_uint(&b, (uint64_t)t->at_ms, 8);
        put_uint(&b, (uint32_t)t->duration_ms, 4);
        put_uint(&b, (uint16_t)t->status_code, 2);
        put_short_string(&b, t->error);
    }
    *len = b.len;
    return buf_detach(&b);
}

/* Reads from a stored form, every read checked against its end. */
struct reader {
    const unsigned char *p, *end;
    bool bad;
};

static uint64_t
get_uint(struct reader *r, int bytes)
{
    uint64_t v = 0;

    if (r->bad || r->end - r->p < bytes) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | *r->p++;
    return v;
}

static void
get_short_string(struct reader *r, char *out, size_t cap)
{
    size_t n = (size_t)get_uint(r, 1);

    if (r->bad || (size_t)(r->end - r->p) < n || n >= cap) {
        r->bad = true;
        out[0] = '\0';
        return;
    }
    memcpy(out, r->p, n);
    out[n] = '\0';
    r->p += n;
}

int
delivery_decode(struct delivery *d, const char *data, size_t len)
{
    struct reader r = { (const unsigned char *)data, (const unsigned char *)data + len, false };

    memset(d, 0, sizeof *d);
    if (get_uint(&r, 1) != DELIVERY_FORMAT)
        return -1;
    int byte = (int)get_uint(&r, 1);
    const char *code = byte != 0 ? strchr(status_codes, byte) : NULL;
    d->status = code != NULL ? (enum delivery_status)(code - status_codes) : DELIVERY_PENDING;
    d->created_ms = (long long)get_uint(&r, 8);
    d->next_attempt_ms = (long long)get_uint(&r, 8);
    get_short_string(&r, d->ref.event_id, sizeof d->ref.event_id);
    get_short_string(&r, d->ref.event_type, sizeof d->ref.event_type);
    size_t n = (size_t)get_uint(&r, 2);
    /* Each attempt takes at least 19 bytes: a count the rest cannot hold is corrupt. */
    if (r.bad || n > (size_t)(r.end - r.p) / 19)
        return -1;
    d->tries = n > 0 ? xcalloc(n, sizeof *d->tries) : NULL;
    for (size_t i = 0; i < n && !r.bad; i++) {
        struct delivery_try *t = &d->tries[d->n_tries++];
        t->attempt = (int)get_uint(&r, 4);
        t->at_ms = (long long)get_uint(&r, 8);
        t->duration_ms = (long)get_uint(&r, 4);
        t->status_code = (int)get_uint(&r, 2);
        get_short_string(&r, t->error, sizeof t->error);
    }
    if (r.bad || r.p != r.end) {
        delivery_release(d);
        return -1;
    }
    return 0;
}

void
delivery_time_format(long long ms, char *out, size_t cap)
{
    char text[CLOCK_RFC3339_MAX];

    clock_rfc3339(ms, text);
    snprintf(out, cap, "%s", text);
}

/* A time member: RFC 3339, or null for 0. */
static json_object *
time_or_null(long long ms)
{
    char when[40];

    if (ms <= 0)
        return NULL;
    delivery_time_format(ms, when, sizeof when);
    return json_object_new_string(when);
}

static json_object *
string_or_null(const char *s)
{
    return s[0] != '\0' ? json_object_new_string(s) : NULL;
}

static json_object *
code_or_null(int code)
{
    return code > 0 ? json_object_new_int(code) : NULL;
}

static json_object *
tries_to_json(const struct delivery *d)
{
    json_object *a = json_object_new_array_ext((int)d->n_tries);

    for (size_t i = 0; i < d->n_tries; i++) {
        const struct delivery_try *t = &d->tries[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "attempt", json_object_new_int(t->attempt));
        json_object_object_add(o, "at", time_or_null(t->at_ms));
        json_object_object_add(o, "durationMs", json_object_new_int64(t->duration_ms));
        json_object_object_add(o, "statusCode", code_or_null(t->status_code));
        json_object_object_add(o, "error", string_or_null(t->error));
        json_object_array_add(a, o);
    }
    return a;
}

json_object *
delivery_to_json(const struct delivery *d, bool with_attempts)
{
    json_object *o = json_object_new_object();
    const struct delivery_try *last = d->n_tries > 0 ? &d->tries[d->n_tries - 1] : NULL;

    json_object_object_add(o, "deliveryId", json_object_new_string(d->ref.delivery_id));
    json_object_object_add(o, "webhookId", json_object_new_string(d->ref.webhook_id));
    json_object_object_add(o, "eventId", json_object_new_string(d->ref.event_id));
    json_object_object_add(o, "eventType", json_object_new_string(d->ref.event_type));
    json_object_object_add(o, "status", json_object_new_string(delivery_status_name(d->status)));
    json_object_object_add(o, "attemptCount", json_object_new_int((int)d->n_tries));
    json_object_object_add(o, "createdAt", time_or_null(d->created_ms));
    json_object_object_add(o, "lastAttemptAt", last != NULL ? time_or_null(last->at_ms) : NULL);
    json_object_object_add(o, "lastStatusCode", last != NULL ? code_or_null(last->status_code)
                                                             : NULL);
    json_object_object_add(o, "lastError", last != NULL ? string_or_null(last->error) : NULL);
    json_object_object_add(o, "nextAttemptAt", d->status == DELIVERY_PENDING
                                                   ? time_or_null(d->next_attempt_ms) : NULL);
    if (with_attempts)
        json_object_object_add(o, "attempts", tries_to_json(d));
    return o;
}

void
delivery_release(struct delivery *d)
{
    if (d == NULL)
        return;
    free(d->tries);
    d->tries = NULL;
    d->n_tries = 0;
}
