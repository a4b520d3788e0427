/*
 * delivery - the delivery record of SPEC section 1.1: one per event and
 * webhook, created when the event is fanned out, updated with every
 * attempt. Its identity, its stored form and the JSON the API shows.
 *
 * A delivery id is the first 128 bits, in hex, of SHA-256(tenant NUL
 * eventId NUL webhookId): the same however often an event is fanned out
 * again (after a crash, a requeue), so receivers can dedupe on it.
 *
 * Stored form (binary, big-endian; tenant, webhook and delivery id are in
 * the key): format 1 (1 byte), status 'p' 's' or 'f' (1), createdMs (8),
 * nextMs (8, 0 for none), eventId and eventType (a length byte and the
 * bytes each), the number of attempts (2), then per attempt: its number
 * (4), atMs (8), durationMs (4), statusCode (2, 0 for none), error (a
 * length byte and the bytes). Read and written on every attempt by the
 * sender's committer, so it costs no parse.
 */
#ifndef HOOKSPOOL_DOMAIN_DELIVERY_H
#define HOOKSPOOL_DOMAIN_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "domain/webhook.h"

#define DELIVERY_ID_MAX 64
#define DELIVERY_ID_LEN 32              /* as the sender makes them: lowercase hex */
#define DELIVERY_ERROR_MAX 200
#define DELIVERY_EVENT_MAX 128
#define DELIVERY_PING_TYPE "Webhook:Ping"

enum delivery_status { DELIVERY_PENDING, DELIVERY_SUCCEEDED, DELIVERY_FAILED };

/* One attempt as a delivery record keeps it. */
struct delivery_try {
    int attempt;                            /* X-NEOSTORE-ATTEMPT */
    long long at_ms;                        /* when it started, Unix ms */
    long duration_ms;
    int status_code;                        /* HTTP status, 0 if none was received */
    char error[DELIVERY_ERROR_MAX + 1];     /* "" when it succeeded */
};

/* Which delivery: one event (its id and type) sent to one webhook of a tenant. */
struct delivery_ref {
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char webhook_id[WEBHOOK_ID_LEN + 1];
    char delivery_id[DELIVERY_ID_MAX + 1];
    char event_id[DELIVERY_EVENT_MAX + 1];
    char event_type[DELIVERY_EVENT_MAX + 1];
};

struct delivery {
    struct delivery_ref ref;
    enum delivery_status status;
    long long created_ms;
    long long next_attempt_ms;              /* 0: none planned */
    struct delivery_try *tries;             /* owned, oldest first */
    size_t n_tries;
};

/* A delivery as fan-out (or a ping) creates it: pending, no attempt yet. */
struct delivery_new {
    struct delivery_ref ref;
    long long created_ms;
    const char *payload;        /* the body it sends (borrowed) */
    size_t payload_len;
};

/*
 * A ping's delivery for webhook_id of tenant (SPEC 1.1): the event
 * {"eventType":"Webhook:Ping","data":{"webhookId":...}} with a new eventId,
 * the tenant and now, its body in *body (the caller frees it; nw->payload
 * points into it). Returns 0, or -1 if the CSPRNG or libcrypto failed.
 */
int delivery_ping_new(const char *tenant, const char *webhook_id, struct delivery_new *nw,
                      char **body);

/*
 * Writes the delivery id of (tenant, event_id, webhook_id) into out: the
 * first 16 bytes of SHA-256 over the three, in hex. Returns 0 (SHA-256
 * aborts, like xmalloc, only when libcrypto cannot allocate).
 */
int delivery_id_make(const char *tenant, const char *event_id, const char *webhook_id,
                     char out[DELIVERY_ID_LEN + 1]);

/* True if id looks like a delivery id: 32 lowercase hex digits. */
bool delivery_id_valid(const char *id);

/* A position in a webhook's deliveries (store_delivery_page): 48 lowercase hex digits. */
#define DELIVERY_CURSOR_LEN 48
/* True if cursor has the form of one (whatever position it names). */
bool delivery_cursor_valid(const char *cursor);

enum { DELIVERY_LIMIT_DEFAULT = 50, DELIVERY_LIMIT_MAX = 250 };

/* The query of a list of deliveries (SPEC 1.1). */
struct delivery_query {
    int status;                             /* an enum delivery_status, -1 for any */
    long limit;                             /* 1 to DELIVERY_LIMIT_MAX */
    char cursor[DELIVERY_CURSOR_LEN + 1];   /* "" from the newest */
};

/*
 * Parses a query string ("status=failed&limit=10&cursor=..."; raw, percent
 * escapes and '+' decoded here) into *q, defaults where absent, unknown
 * parameters ignored. Returns NULL, or the validation errors (a new object:
 * {"limit": ["..."]}, one member per bad parameter) for a 400.
 */
json_object *delivery_query_parse(const char *query, struct delivery_query *q);

/* "pending", "succeeded", "failed". */
const char *delivery_status_name(enum delivery_status s);
/* The status named s; -1 if s names none. */
int delivery_status_parse(const char *s);

/* The attempt number the next try of d carries: one more than the last recorded. */
int delivery_next_attempt(const struct delivery *d);

/* Appends a try (copied) to d. */
void delivery_add_try(struct delivery *d, const struct delivery_try *t);

/* The stored form of d (see above), *len bytes; the caller frees it. */
char *delivery_encode(const struct delivery *d, size_t *len);
/*
 * Decodes a stored form into *d (zeroed first; the ids are not in it: the
 * caller sets them from the key). Returns 0, or -1 (nothing to release) if
 * it is not one.
 */
int delivery_decode(struct delivery *d, const char *data, size_t len);

/*
 * The API's delivery object: deliveryId, webhookId, eventId, eventType,
 * status, attemptCount, createdAt, lastAttemptAt, lastStatusCode,
 * lastError, nextAttemptAt; with_attempts adds "attempts" (oldest first).
 */
json_object *delivery_to_json(const struct delivery *d, bool with_attempts);

/* Formats Unix ms as RFC 3339 UTC with milliseconds ("2026-12-01T10:00:00.123Z"). */
void delivery_time_format(long long ms, char *out, size_t cap);

/* Releases what d owns; NULL is allowed. */
void delivery_release(struct delivery *d);

#endif
