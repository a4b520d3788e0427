/*
 * event - an event as published into the spool, and the delivery body.
 *
 * An event file is one JSON object: eventType and tenantId required,
 * eventId and timestamp (RFC 3339) optional, data any JSON value
 * (default {}). The body POSTed to receivers is the compact object
 * {"eventId","eventType","tenantId","timestamp","data"} in that order,
 * produced once so every attempt sends (and signs) the same bytes.
 */
#ifndef HOOKSPOOL_EVENT_H
#define HOOKSPOOL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#define EVENT_ID_MAX 128
#define EVENT_TYPE_MAX 128

struct event {
    char id[EVENT_ID_MAX + 1];
    char type[EVENT_TYPE_MAX + 1];
    char tenant[65];
    char timestamp[40];         /* RFC 3339, UTC */
    json_object *data;          /* owned */
};

/* True if s is a valid event type: 1 to 128 of [A-Za-z0-9._:-], no '*'. */
bool event_type_valid(const char *s);
/* True if s is a valid event id: 1 to 128 of [A-Za-z0-9._:-]. */
bool event_id_valid(const char *s);

/*
 * Parses an event file's bytes into *ev, filling a generated id and the
 * current time where absent. Returns 0, or -1 with a reason in err.
 */
int event_parse(struct event *ev, const char *data, size_t len, char *err, size_t errlen);

/*
 * As event_parse, for an event file in the spool (SPEC section 3, identity
 * without rewriting): an absent eventId is derived from the file's name
 * (the name itself if it is a valid id, else "file_" and 32 hex digits of
 * SHA-256(name)), an absent timestamp is mtime. So every parse of the same
 * file, after a crash or a requeue, gives the same event.
 */
int event_parse_file(struct event *ev, const char *data, size_t len, const char *file_name,
                     time_t mtime, char *err, size_t errlen);

/*
 * Parses len bytes as exactly one JSON value of any type (UTF-8 checked,
 * nothing but whitespace after it), as event_parse reads "data". On 0,
 * *out holds the value (NULL for JSON null; json_object_put it). Returns
 * -1 with a reason in err.
 */
int event_data_parse(const char *text, size_t len, json_object **out, char *err,
                     size_t errlen);

/* Serialises *ev as the delivery body (caller frees). */
char *event_body(const struct event *ev);

/* Releases what ev owns. */
void event_release(struct event *ev);

#endif
