/*
 * rotation - rotating a webhook's signature secret (POST .../rotate-secret,
 * hookspool rotate-secret): the request's overlapSeconds and the answer,
 * the webhook with its new secret and until when the previous one signs.
 */
#ifndef HOOKSPOOL_ROTATION_H
#define HOOKSPOOL_ROTATION_H

#include <json-c/json.h>

#include "domain/webhook.h"

#define ROTATION_OVERLAP_DEFAULT 86400L     /* seconds: one day */
#define ROTATION_OVERLAP_MAX 604800L        /* seconds: one week */

/*
 * Reads overlapSeconds from a request body (NULL: no body) into *overlap:
 * an integer from 0 to ROTATION_OVERLAP_MAX, ROTATION_OVERLAP_DEFAULT when
 * absent; other members are ignored. Returns 0, or -1 with *errors set to
 * a new {"overlapSeconds": [...]} object that the caller puts.
 */
int rotation_overlap_from_body(json_object *body, long *overlap, json_object **errors);

/*
 * The answer to a rotation: w's WebHookWithId members plus
 * "previousSecretExpiresAt", the RFC 3339 time (UTC) until which the
 * previous secret signs, or null when none does. The caller puts it.
 */
json_object *rotation_to_json(const struct webhook *w);

#endif
