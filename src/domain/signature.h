/*
 * signature - X-NEOSTORE-SIGNATURE: HMAC-SHA256 of the exact body bytes,
 * keyed with the webhook's 64 ASCII secret bytes, as lowercase hex or
 * standard base64.
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

#endif
