/*
 * api_internal - what the API's handler files share (src/api/api.c and
 * src/api/api_deliveries.c); not for other modules.
 */
#ifndef HOOKSPOOL_API_INTERNAL_H
#define HOOKSPOOL_API_INTERNAL_H

#include <stdbool.h>

#include "api/api.h"
#include "api/router.h"

/*
 * Answers a store status that is not STORE_OK as the API does everywhere
 * (503 with Retry-After, 507, 409 for the webhook limit), STORE_NOTFOUND
 * as a 404 with detail not_found.
 */
void api_store_problem(struct api_context *ctx, struct http_response *res, enum store_status st,
                       const char *not_found);

/* True for the routes of the delivery operations (SPEC 1.1). */
bool api_deliveries_route(enum route_id route);

/*
 * Answers one of those routes; the route, method, credentials, scope and
 * tenant have been checked. Redeliver and ping take no body: one sent is
 * ignored.
 */
void api_deliveries_handle(struct api_context *ctx, const struct http_request *req,
                           struct http_response *res, const struct route_match *route,
                           enum http_method method);

#endif
