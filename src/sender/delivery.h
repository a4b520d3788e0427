/*
 * delivery - the HTTP side of the sender: signed POSTs through one libcurl
 * multi handle.
 *
 * Connections are kept alive and reused across deliveries, bounded by
 * max_connections and max_connections_per_host. Every transfer: POST only,
 * http/https only, TLS verified (against tls_ca_file when set, else
 * libcurl's default bundle; a failed verification's error names the
 * bundle), host names pinned by the resolve key honoured (read at start
 * only), no proxy, redirects never followed, a
 * timeout of delivery_timeout seconds, the response body read to at most
 * 64 KiB and discarded, and the address actually connected (after DNS)
 * checked with netaddr_restricted() unless allow_private_targets = yes.
 *
 * The hardening every request shares with the JWKS fetch (protocols, no
 * redirects, no proxy, TLS verification, CA file, pins) is util/httpc's;
 * this module adds the method, the egress check and the limits.
 */
#ifndef HOOKSPOOL_DELIVERY_H
#define HOOKSPOOL_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"
#include "domain/store.h"

/* How many bytes of a response body are read before the rest is dropped. */
#define DELIVERY_RESPONSE_CAP 65536

/* One POST to start. Every pointer is borrowed and must stay valid until it completes. */
struct delivery_request {
    const char *url;
    const char *body;
    size_t body_len;
    const char *signature;      /* X-NEOSTORE-SIGNATURE */
    const char *signature_previous;     /* X-NEOSTORE-SIGNATURE-PREVIOUS, or NULL */
    const char *webhook_timestamp;      /* Standard Webhooks: webhook-timestamp, or NULL */
    const char *webhook_signature;      /* ...and webhook-signature (webhook-id: delivery_id) */
    const char *event_type;     /* X-NEOSTORE-EVENT */
    const char *webhook_id;     /* X-NEOSTORE-WEBHOOK */
    const char *delivery_id;    /* X-NEOSTORE-DELIVERY */
    int attempt;                /* X-NEOSTORE-ATTEMPT */
    void *ctx;                  /* handed back on completion */
};

/* How one POST ended. */
struct delivery_result {
    bool ok;                    /* a 2xx answer arrived in time */
    int status;                 /* HTTP status, 0 if none was received */
    char error[DELIVERY_ERROR_MAX + 1]; /* why it failed; "" when ok */
    long duration_ms;
    bool reused;                /* sent on a connection kept from an earlier transfer */
    long long retry_at_ms;      /* a 429 or 503 with Retry-After: the time it named; else 0 */
};

/* Called once for every finished request, with its ctx. */
typedef void (*delivery_done_fn)(void *ctx, const struct delivery_result *result, void *arg);

struct delivery_engine;

/* Initialises libcurl and a multi handle set up from cfg; NULL on failure (logged). */
struct delivery_engine *delivery_engine_new(const struct config *cfg);
/* Applies changed limits, timeout and egress policy (after SIGHUP) to later transfers. */
void delivery_engine_configure(struct delivery_engine *e, const struct config *cfg);
/* Aborts what is still running (without callbacks) and frees the engine; NULL is allowed. */
void delivery_engine_free(struct delivery_engine *e);

/* Aborts every request in flight, handing each ctx to cancel instead of a result. */
void delivery_cancel_all(struct delivery_engine *e, void (*cancel)(void *ctx, void *arg),
                         void *arg);

/*
 * Starts one POST. Returns 0, or -1 if it could not be started (the reason
 * is written to err; no callback will come for it).
 */
int delivery_start(struct delivery_engine *e, const struct delivery_request *req, char *err,
                   size_t errlen);
/* Number of requests started and not yet reported. */
size_t delivery_running(const struct delivery_engine *e);

/*
 * Waits up to timeout_ms for network activity or for one of the extra file
 * descriptors to become readable (ready[i] is set for those), then drives
 * the transfers and calls done for each one that finished. Returns 0 or -1.
 */
int delivery_run(struct delivery_engine *e, const int *fds, bool *ready, size_t n_fds,
                 int timeout_ms, delivery_done_fn done, void *arg);

/*
 * Writes "scheme://host:port" of url into out (cap bytes), the key by which
 * connections are shared and counted. Returns 0, or -1 if url is not an
 * absolute http or https URL.
 */
int delivery_host_key(const char *url, char *out, size_t cap);

#endif
