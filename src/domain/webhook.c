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
#include "util/json.h"
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

/* Copies string member key of o, exactly want_len bytes long, into dst (want_len + 1 bytes). */
static int
copy_fixed(json_object *o, const char *key, char *dst, size_t want_len)
{
    return json_member_copy(o, key, dst, want_len + 1) == 0 && strlen(dst) == want_len ? 0 : -1;
}

int
webhook_from_string(struct webhook *w, const char *data, size_t len)
{
    json_object *o = json_read_object(data, len, JSON_READ_DEPTH, 0, NULL);
    json_object *events;
    const char *s;
    int rc = -1;

    webhook_init(w);
    if (o == NULL)
        goto out;
    if (copy_fixed(o, "id", w->id, WEBHOOK_ID_LEN) != 0 ||
        copy_fixed(o, "signatureSecret", w->secret, WEBHOOK_SECRET_LEN) != 0)
        goto out;
    if ((s = json_member_string(o, "description", NULL)) != NULL)
        w->description = xstrdup(s);
    if ((s = json_member_string(o, "endpoint", NULL)) == NULL)
        goto out;
    w->endpoint = xstrdup(s);
    if (json_member_bool(o, "enabled", &w->enabled) != 0)
        goto out;
    if ((s = json_member_string(o, "disabledReason", NULL)) != NULL)
        w->disabled_reason = xstrdup(s);
    if ((s = json_member_string(o, "disabledAt", NULL)) != NULL)
        w->disabled_at = xstrdup(s);
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
    if (rc != 0)
        webhook_release(w);
    return rc;
}
