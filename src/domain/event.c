/*
 * event - event files (event.h): parsing and validating a producer's JSON,
 * and the exact body that is signed and sent.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


#include "domain/event.h"
#include "domain/webhook.h"
#include "util/digest.h"
#include "util/json.h"
#include "util/log.h"
#include "util/random.h"
#include "util/xalloc.h"

#define EVENT_ID_PREFIX "evt_"
#define EVENT_FILE_ID_PREFIX "file_"    /* an id derived from a file name that is none */
enum {
    EVENT_ID_RANDOM = 24,       /* alnum characters after the prefix */
    EVENT_JSON_DEPTH = 64,      /* nesting allowed in an event file */
    EVENT_FRACTION_MAX = 9,     /* digits of a fraction of a second kept */
};

/* Event types and ids are event patterns without a '*': one character class. */
_Static_assert(EVENT_TYPE_MAX == WEBHOOK_PATTERN_MAX && EVENT_ID_MAX == WEBHOOK_PATTERN_MAX,
               "event types, ids and patterns share their length limit");

bool
event_type_valid(const char *s)
{
    return s != NULL && webhook_pattern_valid(s) && strchr(s, '*') == NULL;
}

bool
event_id_valid(const char *s)
{
    return event_type_valid(s);
}

/* Reads exactly n decimal digits at *p into *out, advancing *p; returns 0 or -1. */
static int
event_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static bool
event_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Parses an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM))
 * and writes the same instant in UTC, "YYYY-MM-DDTHH:MM:SS[.frac]Z", into
 * out (cap bytes). Returns 0 or -1.
 */
static int
event_timestamp_normalise(const char *in, char *out, size_t cap)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *p = in;
    int year, mon, day, hour, min, sec, off_h = 0, off_m = 0, sign = 0;
    const char *frac = NULL;
    size_t frac_len = 0;

    if (event_digits(&p, 4, &year) != 0 || *p++ != '-' || event_digits(&p, 2, &mon) != 0 ||
        *p++ != '-' || event_digits(&p, 2, &day) != 0 || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (event_digits(&p, 2, &hour) != 0 || *p++ != ':' || event_digits(&p, 2, &min) != 0 ||
        *p++ != ':' || event_digits(&p, 2, &sec) != 0)
        return -1;
    if (*p == '.') {
        frac = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        frac_len = (size_t)(p - frac);
        if (frac_len < 1 || frac_len > EVENT_FRACTION_MAX)
            return -1;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (event_digits(&p, 2, &off_h) != 0 || *p++ != ':' || event_digits(&p, 2, &off_m) != 0 ||
            off_h > 23 || off_m > 59)
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 60)
        return -1;
    int dim = mdays[mon - 1] + (mon == 2 && event_leap_year(year) ? 1 : 0);
    if (day > dim)
        return -1;

    struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                     .tm_hour = hour, .tm_min = min, .tm_sec = sec };
    time_t t = timegm(&tm) - (time_t)sign * (off_h * 3600 + off_m * 60);
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return -1;
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%s%.*sZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     frac != NULL ? "." : "", (int)frac_len, frac != NULL ? frac : "");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The current time as RFC 3339 UTC with whole seconds. */
static void
event_timestamp_at(time_t when, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&when, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
event_timestamp_now(char *out, size_t cap)
{
    event_timestamp_at(time(NULL), out, cap);
}

/*
 * The id of an event file that has none: its name if that is a valid id,
 * else "file_" and 32 hex digits of SHA-256(name).
 */
static void
event_id_from_name(const char *name, char out[EVENT_ID_MAX + 1])
{
    if (event_id_valid(name)) {
        snprintf(out, EVENT_ID_MAX + 1, "%s", name);
        return;
    }
    size_t n = sizeof EVENT_FILE_ID_PREFIX - 1;
    memcpy(out, EVENT_FILE_ID_PREFIX, n);
    digest_sha256_hex(name, strlen(name), 16, out + n);
}

/* Fetches member name as a string: 1 present, 0 absent or null, -1 wrong type. */
static int
event_member_string(json_object *obj, const char *name, const char **out)
{
    json_object *v;

    *out = NULL;
    if (!json_object_object_get_ex(obj, name, &v) || v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *out = json_object_get_string(v);
    return 1;
}

/* Parses len bytes as exactly one JSON value (UTF-8 checked); NULL with err on failure. */
static json_object *
event_json(const char *data, size_t len, bool *ok, char *err, size_t errlen)
{
    struct json_read_error e;
    json_object *root = json_read_value(data, len, EVENT_JSON_DEPTH, JSON_READ_UTF8, &e);

    *ok = e.status == JSON_READ_OK;
    switch (e.status) {
    case JSON_READ_OK:
        break;
    case JSON_READ_TOO_LARGE:
        snprintf(err, errlen, "the event is too large");
        break;
    case JSON_READ_NOMEM:
        snprintf(err, errlen, "out of memory");
        break;
    case JSON_READ_TRUNCATED:
        snprintf(err, errlen, "the JSON ends too early");
        break;
    case JSON_READ_TRAILING:
        snprintf(err, errlen, "unexpected bytes after the JSON value at byte %zu", e.at);
        break;
    case JSON_READ_NUMBER:
        snprintf(err, errlen, "not valid JSON: %s", e.desc);
        break;
    default:
        snprintf(err, errlen, "not valid JSON: %s at byte %zu", e.desc, e.at);
        break;
    }
    return root;
}

int
event_data_parse(const char *text, size_t len, json_object **out, char *err, size_t errlen)
{
    bool ok;

    if (errlen > 0)
        err[0] = '\0';
    *out = event_json(text, len, &ok, err, errlen);
    return ok ? 0 : -1;
}

/*
 * event_parse and event_parse_file: file_name NULL fills an absent id with
 * a random one and an absent timestamp with now; else from the file's name
 * and mtime.
 */
static int
event_parse_from(struct event *ev, const char *data, size_t len, const char *file_name,
                 time_t mtime, char *err, size_t errlen)
{
    const char *type, *tenant, *id, *ts;
    json_object *data_member;
    bool ok;

    memset(ev, 0, sizeof *ev);
    if (errlen > 0)
        err[0] = '\0';
    json_object *root = event_json(data, len, &ok, err, errlen);
    if (!ok)
        return -1;
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "the event is not a JSON object");
        goto fail;
    }

    int rc = event_member_string(root, "eventType", &type);
    if (rc <= 0) {
        snprintf(err, errlen, rc < 0 ? "eventType must be a string" : "eventType is required");
        goto fail;
    }
    if (!event_type_valid(type)) {
        snprintf(err, errlen, "eventType must be 1 to %d characters of A-Z, a-z, 0-9, '.', ':', "
                 "'_' and '-'", EVENT_TYPE_MAX);
        goto fail;
    }
    rc = event_member_string(root, "tenantId", &tenant);
    if (rc <= 0) {
        snprintf(err, errlen, rc < 0 ? "tenantId must be a string" : "tenantId is required");
        goto fail;
    }
    if (!webhook_tenant_valid(tenant)) {
        snprintf(err, errlen, "tenantId must be 1 to %d characters of A-Z, a-z, 0-9, '_' and '-'",
                 WEBHOOK_TENANT_MAX);
        goto fail;
    }
    rc = event_member_string(root, "eventId", &id);
    if (rc < 0 || (rc > 0 && !event_id_valid(id))) {
        snprintf(err, errlen, "eventId must be 1 to %d characters of A-Z, a-z, 0-9, '.', ':', "
                 "'_' and '-'", EVENT_ID_MAX);
        goto fail;
    }
    rc = event_member_string(root, "timestamp", &ts);
    if (rc < 0 || (rc > 0 && event_timestamp_normalise(ts, ev->timestamp,
                                                      sizeof ev->timestamp) != 0)) {
        snprintf(err, errlen, "timestamp must be an RFC 3339 date-time such as "
                 "2026-11-28T18:00:00Z");
        goto fail;
    }
    if (rc == 0 && file_name != NULL)
        event_timestamp_at(mtime, ev->timestamp, sizeof ev->timestamp);
    else if (rc == 0)
        event_timestamp_now(ev->timestamp, sizeof ev->timestamp);
    if (id != NULL) {
        snprintf(ev->id, sizeof ev->id, "%s", id);
    } else if (file_name != NULL) {
        event_id_from_name(file_name, ev->id);
    } else {
        memcpy(ev->id, EVENT_ID_PREFIX, sizeof EVENT_ID_PREFIX - 1);
        if (random_alnum(ev->id + sizeof EVENT_ID_PREFIX - 1, EVENT_ID_RANDOM) != 0) {
            snprintf(err, errlen, "the random number generator failed");
            goto fail;
        }
    }
    snprintf(ev->type, sizeof ev->type, "%s", type);
    snprintf(ev->tenant, sizeof ev->tenant, "%s", tenant);
    /* Absent data is {}; an explicit null stays null (ev->data == NULL). */
    if (json_object_object_get_ex(root, "data", &data_member))
        ev->data = json_object_get(data_member);
    else
        ev->data = json_object_new_object();
    json_object_put(root);
    return 0;

fail:
    json_object_put(root);
    event_release(ev);
    return -1;
}

int
event_parse(struct event *ev, const char *data, size_t len, char *err, size_t errlen)
{
    return event_parse_from(ev, data, len, NULL, 0, err, errlen);
}

int
event_parse_file(struct event *ev, const char *data, size_t len, const char *file_name,
                 time_t mtime, char *err, size_t errlen)
{
    return event_parse_from(ev, data, len, file_name, mtime, err, errlen);
}

char *
event_body(const struct event *ev)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "eventId", json_object_new_string(ev->id));
    json_object_object_add(o, "eventType", json_object_new_string(ev->type));
    json_object_object_add(o, "tenantId", json_object_new_string(ev->tenant));
    json_object_object_add(o, "timestamp", json_object_new_string(ev->timestamp));
    json_object_object_add(o, "data", json_object_get(ev->data));
    char *body = xstrdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return body;
}

void
event_release(struct event *ev)
{
    if (ev == NULL)
        return;
    json_object_put(ev->data);
    memset(ev, 0, sizeof *ev);
}
