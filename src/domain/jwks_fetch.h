/*
 * jwks_fetch - downloads a JWK Set from an identity provider's jwks_uri.
 *
 * The one place outside the sender that includes curl.h (the style guide's
 * accepted exception): a single bounded GET, no redirects followed, TLS
 * verified. Plain http:// is allowed only to a loopback host (a local
 * sidecar or a test), since keys fetched in the clear could be replaced.
 */
#ifndef HOOKSPOOL_JWKS_FETCH_H
#define HOOKSPOOL_JWKS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"
#include "util/buf.h"

/* Largest JWK Set accepted, and the whole fetch's time limit in seconds. */
#define JWKS_FETCH_MAX_BYTES (256 * 1024)
#define JWKS_FETCH_TIMEOUT 5

/* True if url is https://, or http:// to localhost, 127.0.0.1 or [::1]. */
bool jwks_fetch_url_ok(const char *url);

/*
 * GETs url into out (reset first), trusting cfg's tls_ca_file (libcurl's
 * default bundle if unset) and its resolve pins. Returns 0 on a 200 answer
 * of at most JWKS_FETCH_MAX_BYTES, else -1 with a reason in err.
 */
int jwks_fetch(const char *url, const struct config *cfg, struct buf *out, char *err,
               size_t errlen);

#endif
