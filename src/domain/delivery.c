/* delivery - the delivery record: identity, stored form, API form (see delivery.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "domain/delivery.h"
#include "domain/event.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/buf.h"
#include "util/xalloc.h"

static const char *const status_names[] = { "pending", "succeeded", "failed" };
static const char status_codes[] = "psf";      /* the stored form, same order */

int
delivery_id_make(const char *tenant, const char *event_id, const char *webhook_id,
                 char out[DELIVERY_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    struct buf in;
    int rc = -1;

    buf_init(&in);
    buf_append(&in, tenant, strlen(tenant) + 1);
    buf_append(&in, event_id, strlen(event_id) + 1);
    buf_puts(&in, webhook_id);
    out[0] = '\0';
    if (EVP_Digest(in.data, in.len, md, &md_len, EVP_sha256(), NULL) == 1 &&
        md_len >= DELIVERY_ID_LEN / 2) {
        for (unsigned int i = 0; i < DELIVERY_ID_LEN / 2; i++) {
            out[2 * i] = hex[md[i] >> 4];
            out[2 * i + 1] = hex[md[i] & 15];
        }
        out[DELIVERY_ID_LEN] = '\0';
        rc = 0;
    }
    buf_release(&in);
    return rc;
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
    snprintf(nw->tenant, sizeof nw->tenant, "%s", ev.tenant);
    snprintf(nw->webhook_id, sizeof nw->webhook_id, "%s", webhook_id);
    snprintf(nw->event_id, sizeof nw->event_id, "%s", ev.id);
    snprintf(nw->event_type, sizeof nw->event_type, "%s", ev.type);
    nw->created_ms = clock_ms(CLOCK_REALTIME);
    *body = event_body(&ev);
    nw->payload = *body;
    nw->payload_len = strlen(*body);
    event_release(&ev);
    if (delivery_id_make(nw->tenant, nw->event_id, nw->webhook_id, nw->delivery_id) != 0) {
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

char *
delivery_encode(const struct delivery *d)
{
    json_object *o = json_object_new_object();
    json_object *a = json_object_new_array_ext((int)d->n_tries);

    json_object_object_add(o, "e", json_object_new_string(d->event_id));
    json_object_object_add(o, "t", json_object_new_string(d->event_type));
    json_object_object_add(o, "s", json_object_new_string_len(&status_codes[d->status], 1));
    json_object_object_add(o, "c", json_object_new_int64(d->created_ms));
    json_object_object_add(o, "n", json_object_new_int64(d->next_attempt_ms));
    for (size_t i = 0; i < d->n_tries; i++) {
        const struct delivery_try *t = &d->tries[i];
        json_object *row = json_object_new_array_ext(5);
        json_object_array_add(row, json_object_new_int(t->attempt));
        json_object_array_add(row, json_object_new_int64(t->at_ms));
        json_object_array_add(row, json_object_new_int64(t->duration_ms));
        json_object_array_add(row, json_object_new_int(t->status_code));
        json_object_array_add(row, json_object_new_string(t->error));
        json_object_array_add(a, row);
    }
    json_object_object_add(o, "a", a);
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

static void
copy_string(json_object *v, char *out, size_t cap)
{
    const char *s = v != NULL ? json_object_get_string(v) : NULL;

    snprintf(out, cap, "%s", s != NULL ? s : "");
}

static json_object *
member(json_object *o, const char *name)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, name, &v) ? v : NULL;
}

int
delivery_decode(struct delivery *d, const char *data, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = tok != NULL ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
    bool ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
              json_object_is_type(o, json_type_object);

    json_tokener_free(tok);
    memset(d, 0, sizeof *d);
    json_object *tries = ok ? member(o, "a") : NULL;
    if (!ok || tries == NULL || !json_object_is_type(tries, json_type_array)) {
        json_object_put(o);
        return -1;
    }
    copy_string(member(o, "e"), d->event_id, sizeof d->event_id);
    copy_string(member(o, "t"), d->event_type, sizeof d->event_type);
    const char *s = json_object_get_string(member(o, "s"));
    const char *code = s != NULL && s[0] != '\0' ? strchr(status_codes, s[0]) : NULL;
    d->status = code != NULL ? (enum delivery_status)(code - status_codes) : DELIVERY_PENDING;
    d->created_ms = json_object_get_int64(member(o, "c"));
    d->next_attempt_ms = json_object_get_int64(member(o, "n"));
    size_t n = json_object_array_length(tries);
    d->tries = n > 0 ? xcalloc(n, sizeof *d->tries) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_object *row = json_object_array_get_idx(tries, i);
        if (!json_object_is_type(row, json_type_array) || json_object_array_length(row) != 5)
            continue;
        struct delivery_try *t = &d->tries[d->n_tries++];
        t->attempt = json_object_get_int(json_object_array_get_idx(row, 0));
        t->at_ms = json_object_get_int64(json_object_array_get_idx(row, 1));
        t->duration_ms = (long)json_object_get_int64(json_object_array_get_idx(row, 2));
        t->status_code = json_object_get_int(json_object_array_get_idx(row, 3));
        copy_string(json_object_array_get_idx(row, 4), t->error, sizeof t->error);
    }
    json_object_put(o);
    return 0;
}

void
delivery_time_format(long long ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char whole[32];

    gmtime_r(&secs, &tm);
    strftime(whole, sizeof whole, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", whole, (int)(ms % 1000));
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

    json_object_object_add(o, "deliveryId", json_object_new_string(d->delivery_id));
    json_object_object_add(o, "webhookId", json_object_new_string(d->webhook_id));
    json_object_object_add(o, "eventId", json_object_new_string(d->event_id));
    json_object_object_add(o, "eventType", json_object_new_string(d->event_type));
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
