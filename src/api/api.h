/*
 * api - the webhook API: one parsed request in, one response out.
 *
 * Order of checks: route (404), method (405), credentials (401), scope
 * and tenant (403), body size (413), content type (415), body (400), then
 * the operation (404, 409, 503). Knows nothing of FastCGI.
 */
#ifndef HOOKSPOOL_API_H
#define HOOKSPOOL_API_H

#include "api/http.h"
#include "domain/config.h"
#include "domain/store.h"

struct bearer;

struct api_context {
    const struct config *cfg;
    struct store *store;
    struct bearer *bearer;      /* token verifier kept across requests, or NULL */
};

/* Answers req into res (initialised by the caller; released by the caller). */
void api_handle(struct api_context *ctx, const struct http_request *req, struct http_response *res);

#endif
