/*
 * webhook - the webhook subscription and its stored JSON form, WebHookWithId
 * (webhook.h).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/webhook.h"
#include "util/digest.h"
#include "util/clock.h"
#include "util/random.h"
#include "util/xalloc.h"

void
webhook_init(struct webhook *w)
{
    memset(w, 0, sizeof *w);
    w->enabled = true;
}

static void
free_events(struct webhook *w)
{
    for (size_t i = 0; i < w->n_events; i++)
        free(w->events[i]);
    free(w->events);
    w->events = NULL;
    w->n_events = 0;
}

void
webhook_release(struct webhook *w)
{
    free(w->description);
    free(w->endpoint);
    free(w->disabled_reason);
    free(w->disabled_at);
    free_events(w);
    wipe(w->secret, sizeof w->secret);
    wipe(w->previous_secret, sizeof w->previous_secret);
    webhook_init(w);
}

void
webhook_set_events(struct webhook *w, const char *const *events, size_t n)
{
    char **copy = xcalloc(n, sizeof *copy);

    for (size_t i = 0; i < n; i++)
        copy[i] = xstrdup(events[i]);
    free_events(w);
    w->events = copy;
    w->n_events = n;
}

void
webhook_copy(struct webhook *dst, const struct webhook *src)
{
    webhook_init(dst);
    memcpy(dst->id, src->id, sizeof dst->id);
    memcpy(dst->secret, src->secret, sizeof dst->secret);
    memcpy(dst->previous_secret, src->previous_secret, sizeof dst->previous_secret);
    dst->previous_until = src->previous_until;
    dst->description = xstrdup(src->description);
    dst->endpoint = xstrdup(src->endpoint);
    dst->enabled = src->enabled;
    dst->disabled_reason = xstrdup(src->disabled_reason);
    dst->disabled_at = xstrdup(src->disabled_at);
    webhook_set_events(dst, (const char *const *)src->events, src->n_events);
}

void
webhook_disable(struct webhook *w, const char *reason, long long at_ms)
{
    char at[CLOCK_RFC3339_MAX];

    clock_rfc3339(at_ms, at);
    webhook_clear_disabled(w);
    w->enabled = false;
    w->disabled_reason = xstrdup(reason);
    w->disabled_at = xstrdup(at);
}

void
webhook_clear_disabled(struct webhook *w)
{
    free(w->disabled_reason);
    free(w->disabled_at);
    w->disabled_reason = w->disabled_at = NULL;
}

int
webhook_new_id(struct webhook *w)
{
    return random_alnum(w->id, WEBHOOK_ID_LEN);
}

int
webhook_new_secret(struct webhook *w)
{
    return random_alnum(w->secret, WEBHOOK_SECRET_LEN);
}

/* True if s has min..max bytes, each in the character class accept. */
static bool
charset_valid(const char *s, size_t min, size_t max, const char *extra)
{
    size_t len = strlen(s);

    if (len < min || len > max)
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9');
        if (!alnum && strchr(extra, *p) == NULL)
            return false;
    }
    return true;
}

bool
webhook_tenant_valid(const char *s)
{
    return charset_valid(s, 1, WEBHOOK_TENANT_MAX, "_-");
}

bool
webhook_id_valid(const char *s)
{
    return charset_valid(s, WEBHOOK_ID_LEN, WEBHOOK_ID_LEN, "");
}

bool
webhook_pattern_valid(const char *s)
{
    return charset_valid(s, 1, WEBHOOK_PATTERN_MAX, "._:*-");
}

json_object *
webhook_to_json(const struct webhook *w)
{
    json_object *o = json_object_new_object();
    json_object *events = json_object_new_array_ext((int)w->n_events);

    for (size_t i = 0; i < w->n_events; i++)
        json_object_array_add(events, json_object_new_string(w->events[i]));
    json_object_object_add(o, "id", json_object_new_string(w->id));
    json_object_object_add(o, "description",
                           w->description ? json_object_new_string(w->description) : NULL);
    json_object_object_add(o, "events", events);
    json_object_object_add(o, "endpoint", json_object_new_string(w->endpoint ? w->endpoint : ""));
    json_object_object_add(o, "enabled", json_object_new_boolean(w->enabled));
    json_object_object_add(o, "signatureSecret", json_object_new_string(w->secret));
    if (w->disabled_reason != NULL && w->disabled_at != NULL) {
        json_object_object_add(o, "disabledReason", json_object_new_string(w->disabled_reason));
        json_object_object_add(o, "disabledAt", json_object_new_string(w->disabled_at));
    }
    return o;
}

char *
webhook_to_string(const struct webhook *w)
{
    json_object *o = webhook_to_json(w);
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

/* Copies member key of o, which must be a string, into dst (cap bytes incl. NUL). */
static int
copy_fixed(json_object *o, const char *key, char *dst, size_t want_len)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
        (size_t)json_object_get_string_len(v) != want_len)
        return -1;
    memcpy(dst, json_object_get_string(v), want_len + 1);
    return 0;
}

int
webhook_from_string(struct webhook *w, const char *data, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, data, (int)len);
    json_object *v, *events;
    int rc = -1;

    webhook_init(w);
    if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(o, json_type_object))
        goto out;
    if (copy_fixed(o, "id", w->id, WEBHOOK_ID_LEN) != 0 ||
        copy_fixed(o, "signatureSecret", w->secret, WEBHOOK_SECRET_LEN) != 0)
        goto out;
    if (json_object_object_get_ex(o, "description", &v) && v != NULL)
        w->description = xstrdup(json_object_get_string(v));
    if (!json_object_object_get_ex(o, "endpoint", &v) || !json_object_is_type(v, json_type_string))
        goto out;
    w->endpoint = xstrdup(json_object_get_string(v));
    if (!json_object_object_get_ex(o, "enabled", &v) || !json_object_is_type(v, json_type_boolean))
        goto out;
    w->enabled = json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "disabledReason", &v) && json_object_is_type(v, json_type_string))
        w->disabled_reason = xstrdup(json_object_get_string(v));
    if (json_object_object_get_ex(o, "disabledAt", &v) && json_object_is_type(v, json_type_string))
        w->disabled_at = xstrdup(json_object_get_string(v));
    if (!json_object_object_get_ex(o, "events", &events) ||
        !json_object_is_type(events, json_type_array))
        goto out;
    size_t n = json_object_array_length(events);
    w->events = xcalloc(n, sizeof *w->events);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(events, i);
        if (!json_object_is_type(e, json_type_string))
            goto out;
        w->events[w->n_events++] = xstrdup(json_object_get_string(e));
    }
    rc = 0;
out:
    json_object_put(o);
    json_tokener_free(tok);
    if (rc != 0)
        webhook_release(w);
    return rc;
}
