/*
 * router - maps a request path to a route of the webhook API.
 *
 * The path comes from PATH_INFO (already decoded by the server; with or
 * without the base path, depending on how the program is mounted) or,
 * when that is empty, from REQUEST_URI (raw: the query is dropped and each
 * segment percent-decoded). SCRIPT_NAME is never used.
 */
#ifndef HOOKSPOOL_ROUTER_H
#define HOOKSPOOL_ROUTER_H

#include <stdbool.h>

#include "domain/webhook.h"

enum route_id {
    ROUTE_NONE = 0,
    ROUTE_WEBHOOKS,             /* /{tenant}/webhooks */
    ROUTE_WEBHOOK,              /* /{tenant}/webhooks/{id} */
    ROUTE_ROTATE_SECRET,        /* /{tenant}/webhooks/{id}/rotate-secret */
    /* delivery operations (SPEC 1.1; src/api/api_deliveries.c) */
    ROUTE_DELIVERIES,           /* /{tenant}/webhooks/{id}/deliveries */
    ROUTE_DELIVERY,             /* /{tenant}/webhooks/{id}/deliveries/{deliveryId} */
    ROUTE_REDELIVER,            /* /{tenant}/webhooks/{id}/deliveries/{deliveryId}/redeliver */
    ROUTE_PING,                 /* /{tenant}/webhooks/{id}/ping */
};

enum http_method {
    METHOD_GET = 1 << 0,
    METHOD_HEAD = 1 << 1,
    METHOD_POST = 1 << 2,
    METHOD_PUT = 1 << 3,
    METHOD_PATCH = 1 << 4,
    METHOD_DELETE = 1 << 5,
    METHOD_OTHER = 1 << 6,
};

struct route_match {
    enum route_id route;
    unsigned allowed;                       /* METHOD_* bits the route accepts */
    char tenant[WEBHOOK_TENANT_MAX + 1];
    char id[64];                            /* raw {id} segment, not yet validated */
    char delivery_id[72];                   /* raw {deliveryId} segment, not yet validated */
};

/* The METHOD_* bit for a request method name (METHOD_OTHER if unknown). */
enum http_method router_method(const char *name);

/* Writes the Allow header value for a METHOD_* set into out (cap bytes). */
void router_allow_header(unsigned allowed, char *out, size_t cap);

/*
 * Matches path_info or request_uri under base_path. Returns true and fills
 * *m for a known route with a valid tenant id; false for anything else
 * (the caller answers 404).
 */
bool router_match(const char *base_path, const char *path_info, const char *request_uri,
                  struct route_match *m);

#endif
