/*
 * webhook - the webhook subscription, its identifiers and its JSON form.
 *
 * The JSON form (WebHookWithId) is both what the API returns and what the
 * store keeps, so there is exactly one codec.
 */
#ifndef HOOKSPOOL_WEBHOOK_H
#define HOOKSPOOL_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define WEBHOOK_ID_LEN 5
#define WEBHOOK_SECRET_LEN 64
#define WEBHOOK_TENANT_MAX 64
#define WEBHOOK_DESCRIPTION_MAX 1024   /* characters (code points) */
#define WEBHOOK_EVENTS_MAX 50
#define WEBHOOK_PATTERN_MAX 128
#define WEBHOOK_ENDPOINT_MAX 2048

struct webhook {
    char id[WEBHOOK_ID_LEN + 1];
    char *description;          /* NULL means JSON null */
    char **events;
    size_t n_events;
    char *endpoint;
    bool enabled;
    char secret[WEBHOOK_SECRET_LEN + 1];
    /*
     * The secret before the last rotation, which signs too until
     * previous_until (Unix seconds); "" and 0 when there is none. Not part
     * of the JSON form: it lives in the store's "previous_secrets" database
     * and only the sender (and the rotate answer) sees it.
     */
    char previous_secret[WEBHOOK_SECRET_LEN + 1];
    long long previous_until;
    /*
     * Set when the sender disabled it (410 Gone, or failing for
     * disable_after_days): stored as "disabledReason" and "disabledAt"
     * (RFC 3339), removed when it is enabled again. NULL otherwise.
     */
    char *disabled_reason;
    char *disabled_at;
};

/* Initialises an empty webhook (enabled, no events). */
void webhook_init(struct webhook *w);
/* Releases what w owns; w may be initialised again. Wipes the secret. */
void webhook_release(struct webhook *w);
/* Deep-copies src into dst (dst must be released or uninitialised). */
void webhook_copy(struct webhook *dst, const struct webhook *src);
/* Replaces w's events with a copy of n patterns. */
void webhook_set_events(struct webhook *w, const char *const *events, size_t n);

/* Disables w on the sender's behalf: enabled false, with the reason and the time (Unix ms). */
void webhook_disable(struct webhook *w, const char *reason, long long at_ms);
/* Forgets why the sender disabled w (when it is enabled again). */
void webhook_clear_disabled(struct webhook *w);

/* Draws a fresh id into w->id; returns 0 or -1 if the CSPRNG failed. */
int webhook_new_id(struct webhook *w);
/* Draws a fresh signature secret into w->secret; returns 0 or -1. */
int webhook_new_secret(struct webhook *w);

/* True if s is a tenant id: 1 to 64 characters of [A-Za-z0-9_-]. */
bool webhook_tenant_valid(const char *s);
/* True if s is a webhook id: exactly 5 characters of [A-Za-z0-9]. */
bool webhook_id_valid(const char *s);
/* True if s is an event pattern: 1 to 128 characters of [A-Za-z0-9._:*-]. */
bool webhook_pattern_valid(const char *s);

/*
 * Returns a new JSON object with exactly the WebHookWithId members, plus
 * disabledReason and disabledAt when the sender disabled it.
 */
json_object *webhook_to_json(const struct webhook *w);
/* Serialises w to a newly allocated compact JSON string. */
char *webhook_to_string(const struct webhook *w);
/*
 * Decodes a stored record into w (initialised by this call). Returns 0, or
 * -1 if the record is not a well-formed webhook (w is then released).
 */
int webhook_from_string(struct webhook *w, const char *data, size_t len);

#endif
