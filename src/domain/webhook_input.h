/*
 * webhook_input - turns a request body into changes to a webhook,
 * collecting every validation error by member name.
 */
#ifndef HOOKSPOOL_WEBHOOK_INPUT_H
#define HOOKSPOOL_WEBHOOK_INPUT_H

#include <json-c/json.h>

#include "domain/endpoint.h"
#include "domain/webhook.h"

enum webhook_input_mode {
    WEBHOOK_INPUT_CREATE,       /* POST: endpoint and events required */
    WEBHOOK_INPUT_REPLACE,      /* PUT: endpoint and events required, absent description clears */
    WEBHOOK_INPUT_MERGE,        /* PATCH: RFC 7396 over the updatable members */
};

/*
 * Parses a request body as one JSON object (strict JSON, valid UTF-8).
 * Returns the object (caller puts it), or NULL with *errors set to a new
 * errors object ({"$": [...]}) that the caller puts.
 */
json_object *webhook_input_parse(const char *body, size_t len, json_object **errors);

/*
 * Applies body to w according to mode. w holds the stored webhook for
 * REPLACE and MERGE, a fresh one for CREATE. id and signatureSecret in
 * the body, and unknown members, are ignored. Returns 0, or -1 with
 * *errors set to a new object mapping member names to arrays of messages
 * (w is then partly changed: discard it).
 */
int webhook_input_apply(struct webhook *w, json_object *body, enum webhook_input_mode mode,
                        const struct endpoint_policy *policy, json_object **errors);

#endif
