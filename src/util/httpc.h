/*
 * httpc - the one place where hookspool's outgoing HTTP requests get their
 * hardening, shared by the sender's deliveries (src/sender/delivery.c) and
 * the JWKS fetch (src/domain/jwks_fetch.c), so that the two cannot drift
 * apart again.
 *
 * Every handle set up by httpc_harden: http and https only (also for
 * redirects, which are never followed), no proxy (the environment's
 * http_proxy and friends are ignored), TLS peer and host name verified
 * (against ca_file when given, else libcurl's default bundle), host names
 * pinned by resolve when given, no signals, the hookspool User-Agent and
 * libcurl's error text in errbuf. What differs between callers (method,
 * timeouts, body caps, the egress check of the connected address) is
 * theirs to set.
 *
 * Only httpc and its two callers include curl.h.
 */
#ifndef HOOKSPOOL_HTTPC_H
#define HOOKSPOOL_HTTPC_H

#include <stddef.h>

#include <curl/curl.h>

/* Initialises libcurl once per process (thread-safe); returns 0, or -1 (logged). */
int httpc_global_init(void);

/*
 * Applies the shared hardening to h. ca_file and resolve may be NULL;
 * both, and errbuf (CURL_ERROR_SIZE bytes), must outlive the handle's
 * transfers. Returns CURLE_OK or the first option libcurl refused.
 */
CURLcode httpc_harden(CURL *h, const char *ca_file, struct curl_slist *resolve, char *errbuf);

/*
 * Builds a libcurl list of n resolve pins ("host:port:address") into
 * *out (NULL when n is 0; free with curl_slist_free_all). Returns 0, or
 * -1 if libcurl could not copy one (nothing is left allocated).
 */
int httpc_resolve_list(const char *const *pins, size_t n, struct curl_slist **out);

#endif
