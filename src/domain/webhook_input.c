/*
 * webhook_input - a request body to changes of a webhook, with every
 * validation error named by member (webhook_input.h).
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/webhook_input.h"
#include "util/json.h"
#include "util/xalloc.h"

static void
add_error(json_object **errors, const char *member, const char *message)
{
    json_object *list;

    if (*errors == NULL)
        *errors = json_object_new_object();
    if (!json_object_object_get_ex(*errors, member, &list)) {
        list = json_object_new_array();
        json_object_object_add(*errors, member, list);
    }
    json_object_array_add(list, json_object_new_string(message));
}

json_object *
webhook_input_parse(const char *body, size_t len, json_object **errors)
{
    struct json_read_error e;
    json_object *o = json_read_object(body, len, 64, JSON_READ_UTF8, &e);

    *errors = NULL;
    if (e.status == JSON_READ_NOT_OBJECT) {
        add_error(errors, "$", "The request body must be a JSON object.");
    } else if (o == NULL) {
        /* Trailing bytes after the value are as malformed as a truncated value. */
        const char *why = len == 0                            ? "the body is empty"
                          : e.status == JSON_READ_TRUNCATED   ? "the body ends before the value does"
                          : e.status == JSON_READ_TRAILING    ? "unexpected character"
                                                              : e.desc;
        char msg[160];
        snprintf(msg, sizeof msg, "The request body is not valid JSON: %s.", why);
        add_error(errors, "$", msg);
    }
    return o;
}

/* Number of Unicode code points in the valid UTF-8 string s. */
static size_t
utf8_length(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* True if the JSON string v holds a NUL (\u0000), which C strings would cut at. */
static bool
has_nul(json_object *v)
{
    return (size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v));
}

static void
apply_description(struct webhook *w, json_object *v, json_object **errors)
{
    if (v == NULL) {
        free(w->description);
        w->description = NULL;
    } else if (!json_object_is_type(v, json_type_string)) {
        add_error(errors, "description", "The description must be a string or null.");
    } else if (has_nul(v)) {
        add_error(errors, "description", "The description must not contain NUL characters.");
    } else if (utf8_length(json_object_get_string(v)) > WEBHOOK_DESCRIPTION_MAX) {
        add_error(errors, "description", "The description must be at most 1024 characters.");
    } else {
        free(w->description);
        w->description = xstrdup(json_object_get_string(v));
    }
}

static void
apply_events(struct webhook *w, json_object *v, json_object **errors)
{
    if (v == NULL || !json_object_is_type(v, json_type_array)) {
        add_error(errors, "events", "The events must be an array of event patterns.");
        return;
    }
    size_t n = json_object_array_length(v);
    if (n == 0) {
        add_error(errors, "events", "At least one event pattern is required.");
        return;
    }
    if (n > WEBHOOK_EVENTS_MAX) {
        add_error(errors, "events", "At most 50 event patterns are allowed.");
        return;
    }
    const char **patterns = xcalloc(n, sizeof *patterns);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char msg[200];
        if (!json_object_is_type(e, json_type_string)) {
            snprintf(msg, sizeof msg, "Event pattern %zu must be a string.", i);
            add_error(errors, "events", msg);
            ok = false;
        } else if (has_nul(e) || !webhook_pattern_valid(json_object_get_string(e))) {
            snprintf(msg, sizeof msg,
                     "Event pattern %zu must be 1 to 128 characters of A-Z, a-z, 0-9, '.', "
                     "'_', ':', '*' and '-'.", i);
            add_error(errors, "events", msg);
            ok = false;
        } else {
            patterns[i] = json_object_get_string(e);
        }
    }
    if (ok)
        webhook_set_events(w, patterns, n);
    free(patterns);
}

static void
apply_endpoint(struct webhook *w, json_object *v, const struct endpoint_policy *policy,
               json_object **errors)
{
    if (v == NULL || !json_object_is_type(v, json_type_string)) {
        add_error(errors, "endpoint", "The endpoint must be a URL string.");
        return;
    }
    const char *url = json_object_get_string(v);
    if (has_nul(v)) {
        add_error(errors, "endpoint", "The endpoint must not contain NUL characters.");
        return;
    }
    const char *reason = endpoint_check(url, policy);
    if (reason != NULL) {
        add_error(errors, "endpoint", reason);
        return;
    }
    free(w->endpoint);
    w->endpoint = xstrdup(url);
}

static void
apply_enabled(struct webhook *w, json_object *v, json_object **errors)
{
    if (v == NULL || !json_object_is_type(v, json_type_boolean))
        add_error(errors, "enabled", "The enabled field must be true or false.");
    else
        w->enabled = json_object_get_boolean(v);
}

int
webhook_input_apply(struct webhook *w, json_object *body, enum webhook_input_mode mode,
                    const struct endpoint_policy *policy, json_object **errors)
{
    json_object *v;
    bool merge = mode == WEBHOOK_INPUT_MERGE;

    *errors = NULL;
    if (json_object_object_get_ex(body, "description", &v))
        apply_description(w, v, errors);
    else if (mode == WEBHOOK_INPUT_REPLACE)
        apply_description(w, NULL, errors);

    if (json_object_object_get_ex(body, "events", &v))
        apply_events(w, v, errors);
    else if (!merge)
        add_error(errors, "events", "The events field is required.");

    if (json_object_object_get_ex(body, "endpoint", &v))
        apply_endpoint(w, v, policy, errors);
    else if (!merge)
        add_error(errors, "endpoint", "The endpoint field is required.");

    if (json_object_object_get_ex(body, "enabled", &v))
        apply_enabled(w, v, errors);

    return *errors == NULL ? 0 : -1;
}
