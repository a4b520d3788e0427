/*
 * signature - X-NEOSTORE-SIGNATURE: HMAC-SHA256 of the exact body bytes,
 * keyed with the webhook's 64 ASCII secret bytes, as lowercase hex or
 * standard base64; and the Standard Webhooks form of webhook-signature:
 * "v1," and the base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}",
 * keyed with the same 64 bytes.
 */
#ifndef HOOKSPOOL_SIGNATURE_H
#define HOOKSPOOL_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"

/* Big enough for either encoding plus NUL. */
#define SIGNATURE_MAX 65

/* Writes the signature of body into out (SIGNATURE_MAX bytes); returns 0 or -1. */
int signature_compute(const char *secret, const void *body, size_t len,
                      enum signature_encoding enc, char out[SIGNATURE_MAX]);

/*
 * True if presented is the signature of body under secret, in hex (any
 * case) or base64; compared in constant time.
 */
bool signature_verify(const char *secret, const void *body, size_t len, const char *presented);

/* "v1," + 44 base64 characters + NUL. */
#define SIGNATURE_STANDARD_MAX 48

/*
 * Writes "v1,<base64 HMAC-SHA256 of msg_id.timestamp.body>" into out
 * (SIGNATURE_STANDARD_MAX bytes); returns 0 or -1.
 */
int signature_standard(const char *secret, const char *msg_id, long long timestamp,
                       const void *body, size_t len, char out[SIGNATURE_STANDARD_MAX]);

#endif
