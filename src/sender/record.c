/*
 * record - a delivery to try again later, as the sender's own spool file
 * (record.h): its format, written and read back strictly.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "domain/event.h"
#include "domain/webhook.h"
#include "sender/record.h"
#include "util/json.h"
#include "util/xalloc.h"

/* True if id is a delivery id as the sender makes them: 32 lowercase hex digits. */
static bool
record_delivery_id_valid(const char *id)
{
    char name[sizeof RECORD_PREFIX + SPOOL_RECORD_ID_LEN];

    if (strlen(id) != SPOOL_RECORD_ID_LEN)
        return false;
    memcpy(name, RECORD_PREFIX, sizeof RECORD_PREFIX - 1);
    memcpy(name + sizeof RECORD_PREFIX - 1, id, SPOOL_RECORD_ID_LEN + 1);
    return spool_record_name(name);
}

/*
 * True if body is the delivery body the sender makes for the record's
 * event: one it parses, of the record's event, and serialised exactly so.
 */
static bool
record_body_valid(const struct record *r, const char *body, size_t len)
{
    struct event ev;
    char err[256];

    if (event_parse(&ev, body, len, err, sizeof err) != 0)
        return false;
    char *again = event_body(&ev);
    bool ok = strcmp(ev.id, r->ref.event_id) == 0 && strcmp(ev.type, r->ref.event_type) == 0 &&
              strcmp(ev.tenant, r->ref.tenant) == 0 && strlen(again) == len &&
              memcmp(again, body, len) == 0;
    free(again);
    event_release(&ev);
    return ok;
}

static int
record_int(json_object *o, const char *name, int min, int *out)
{
    int64_t n;

    if (json_member_int(o, name, min, 1000000, &n) != 0)
        return -1;
    *out = (int)n;
    return 0;
}

int
record_parse(struct record *r, const char *data, size_t len, char *err, size_t errlen)
{
    json_object *o = json_read_object(data, len, JSON_READ_DEPTH, 0, NULL);
    const char *body;
    size_t body_len;

    memset(r, 0, sizeof *r);
    if (o == NULL) {
        snprintf(err, errlen, "the delivery record is not one JSON object");
        return -1;
    }
    if (json_member_copy(o, "deliveryId", r->ref.delivery_id, sizeof r->ref.delivery_id) != 0 ||
        !record_delivery_id_valid(r->ref.delivery_id) ||
        json_member_copy(o, "webhookId", r->ref.webhook_id, sizeof r->ref.webhook_id) != 0 ||
        !webhook_id_valid(r->ref.webhook_id) ||
        json_member_copy(o, "tenantId", r->ref.tenant, sizeof r->ref.tenant) != 0 ||
        !webhook_tenant_valid(r->ref.tenant) ||
        json_member_copy(o, "eventId", r->ref.event_id, sizeof r->ref.event_id) != 0 ||
        !event_id_valid(r->ref.event_id) ||
        json_member_copy(o, "eventType", r->ref.event_type, sizeof r->ref.event_type) != 0 ||
        !event_type_valid(r->ref.event_type) ||
        record_int(o, "attempt", 1, &r->attempt) != 0 ||
        record_int(o, "tries", 0, &r->tries) != 0 ||
        json_member_copy(o, "lastError", r->last_error, sizeof r->last_error) != 0 ||
        (body = json_member_string(o, "body", &body_len)) == NULL) {
        snprintf(err, errlen, "the delivery record lacks a member or has a bad one");
        json_object_put(o);
        return -1;
    }
    if (!record_body_valid(r, body, body_len)) {
        snprintf(err, errlen, "the delivery record's body is not its event's delivery body");
        json_object_put(o);
        return -1;
    }
    r->body_len = body_len;
    r->body = xmalloc(r->body_len + 1);
    memcpy(r->body, body, r->body_len + 1);
    json_object_put(o);
    return 0;
}

char *
record_format(const struct record *r)
{
    json_object *o = json_object_new_object();

    /* The magic member first: json-c keeps insertion order. */
    json_object_object_add(o, "hookspoolDelivery", json_object_new_int(1));
    json_object_object_add(o, "deliveryId", json_object_new_string(r->ref.delivery_id));
    json_object_object_add(o, "webhookId", json_object_new_string(r->ref.webhook_id));
    json_object_object_add(o, "tenantId", json_object_new_string(r->ref.tenant));
    json_object_object_add(o, "eventId", json_object_new_string(r->ref.event_id));
    json_object_object_add(o, "eventType", json_object_new_string(r->ref.event_type));
    json_object_object_add(o, "attempt", json_object_new_int(r->attempt));
    json_object_object_add(o, "tries", json_object_new_int(r->tries));
    json_object_object_add(o, "lastError", json_object_new_string(r->last_error));
    json_object_object_add(o, "body", json_object_new_string_len(r->body, (int)r->body_len));
    char *s = xstrdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

void
record_release(struct record *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}
