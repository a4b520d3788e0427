/*
 * api - the handlers of the webhook API (api.h): authentication, scopes,
 * tenant isolation and CRUD against the store, answered as JSON or
 * problem+json.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/router.h"
#include "domain/auth.h"
#include "domain/rotation.h"
#include "domain/scope.h"
#include "domain/webhook_input.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Everything one request needs, gathered as the checks pass. */
struct call {
    struct api_context *ctx;
    const struct http_request *req;
    struct http_response *res;
    struct route_match route;
    enum http_method method;
    json_object *body;          /* parsed request body, for writes */
};

static void
answer_unavailable(struct http_response *res)
{
    http_response_problem(res, 503, "The webhook store is unavailable; try again shortly.", NULL);
    http_response_header(res, "Retry-After", "1");
}

static void
answer_not_found(struct http_response *res)
{
    http_response_problem(res, 404, "No such webhook.", NULL);
}

/* Answers a store failure that is not a success; returns false if it did. */
static bool
store_ok(struct call *c, enum store_status st)
{
    switch (st) {
    case STORE_OK:
        return true;
    case STORE_NOTFOUND:
        answer_not_found(c->res);
        return false;
    case STORE_LIMIT: {
        char detail[128];
        snprintf(detail, sizeof detail, "The tenant already has the maximum of %ld webhooks.",
                 c->ctx->cfg->max_webhooks_per_tenant);
        http_response_problem(c->res, 409, detail, NULL);
        return false;
    }
    case STORE_NOSPACE:
        http_response_problem(c->res, 507, "The webhook store is out of disk space; nothing was "
                              "changed. Try again later.", NULL);
        http_response_header(c->res, "Retry-After", "30");
        return false;
    case STORE_REJECTED:
    case STORE_UNAVAILABLE:
        break;
    }
    answer_unavailable(c->res);
    return false;
}

static void
challenge(struct http_response *res, int status, const char *error, const char *description,
          const char *scope)
{
    struct buf v;

    buf_init(&v);
    buf_puts(&v, "Bearer realm=\"hookspool\"");
    if (error != NULL)
        buf_printf(&v, ", error=\"%s\", error_description=\"%s\"", error, description);
    if (scope != NULL)
        buf_printf(&v, ", scope=\"%s\"", scope);
    http_response_problem(res, status, description, NULL);
    http_response_header(res, "WWW-Authenticate", v.data);
    buf_release(&v);
}

/* 401/403 checks; returns true if the caller may go on. */
static bool
authorize(struct call *c)
{
    struct credentials cred = { c->req->api_key, c->req->authorization, c->ctx->bearer };
    struct principal who;
    const char *why;
    unsigned need = (c->method & (METHOD_GET | METHOD_HEAD)) ? SCOPE_READ : SCOPE_WRITE;

    switch (auth_authenticate(c->ctx->store, c->ctx->cfg, &cred, &who, &why)) {
    case AUTH_OK:
        break;
    case AUTH_MISSING:
        challenge(c->res, 401, NULL, why, NULL);
        return false;
    case AUTH_INVALID:
        challenge(c->res, 401, "invalid_token", why, NULL);
        return false;
    case AUTH_UNAVAILABLE:
        answer_unavailable(c->res);
        return false;
    case AUTH_AMBIGUOUS:
        challenge(c->res, 400, "invalid_request", why, NULL);
        return false;
    }
    bool ok = true;
    if (!auth_tenant_allowed(&who, c->route.tenant)) {
        challenge(c->res, 403, "insufficient_scope",
                  "The credentials do not grant access to this tenant.", scope_name(need));
        ok = false;
    } else if (!(who.scopes & need)) {
        char detail[96];
        snprintf(detail, sizeof detail, "The %s scope is required.", scope_name(need));
        challenge(c->res, 403, "insufficient_scope", detail, scope_name(need));
        ok = false;
    }
    principal_release(&who);
    return ok;
}

/* True for application/json, text/json, application/...+json, with any parameters. */
static bool
json_media_type(const char *content_type)
{
    if (content_type == NULL)
        return false;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t len = strcspn(content_type, "; \t");
    if ((len == 16 && strncasecmp(content_type, "application/json", 16) == 0) ||
        (len == 9 && strncasecmp(content_type, "text/json", 9) == 0))
        return true;
    return len > 17 && strncasecmp(content_type, "application/", 12) == 0 &&
           strncasecmp(content_type + len - 5, "+json", 5) == 0 &&
           memchr(content_type + 12, '/', len - 12) == NULL;
}

/* True if the request's content type is JSON; else answers 415. */
static bool
json_type_ok(struct call *c)
{
    if (json_media_type(c->req->content_type))
        return true;
    http_response_problem(c->res, 415,
                          "The request body must be JSON (application/json or "
                          "application/merge-patch+json).", NULL);
    return false;
}

/*
 * Reads and parses the JSON body (413, 415, 400 on failure); true if
 * c->body is set. With member not NULL the body is optional (none leaves
 * c->body NULL) and holds just that member, which a 400 for a malformed
 * body names too.
 */
static bool
read_json_body_opt(struct call *c, const char *member)
{
    bool optional = member != NULL;
    const long max = c->ctx->cfg->max_body_bytes;
    const struct http_request *req = c->req;
    char detail[96];

    snprintf(detail, sizeof detail, "The request body must be at most %ld bytes.", max);
    if (req->content_length > max) {
        /* Refuse before reading: a client must not make us buffer it. */
        http_response_problem(c->res, 413, detail, NULL);
        return false;
    }
    /* An optional body is read first: none at all is fine whatever the content type says. */
    if (!optional && !json_type_ok(c))
        return false;
    struct buf body;
    buf_init(&body);
    bool ok = true;
    for (;;) {
        buf_reserve(&body, 4096);
        ssize_t n = req->read_body(req->io, body.data + body.len, 4096);
        if (n < 0) {
            http_response_problem(c->res, 400, "The request body could not be read.", NULL);
            ok = false;
            break;
        }
        if (n == 0)
            break;
        body.len += (size_t)n;
        body.data[body.len] = '\0';
        if (body.len > (size_t)max) {
            http_response_problem(c->res, 413, detail, NULL);
            ok = false;
            break;
        }
    }
    if (ok && optional && body.len == 0) {
        buf_release(&body);
        return true;
    }
    if (ok && optional && !json_type_ok(c))
        ok = false;
    if (ok) {
        json_object *errors;
        c->body = webhook_input_parse(body.data, body.len, &errors);
        if (c->body == NULL) {
            json_object *why;
            if (member != NULL && json_object_object_get_ex(errors, "$", &why))
                json_object_object_add(errors, member, json_object_get(why));
            http_response_problem(c->res, 400, NULL, errors);
            ok = false;
        }
    }
    buf_release(&body);
    return ok;
}

static bool
read_json_body(struct call *c)
{
    return read_json_body_opt(c, NULL);
}

static struct endpoint_policy
policy_of(const struct config *cfg)
{
    return (struct endpoint_policy){ cfg->allow_http_endpoints, cfg->allow_private_targets };
}

/* The two reads hand the stored JSON out as it is: parsing it costs more than the rest. */
static void
list_webhooks(struct call *c)
{
    struct buf json;

    buf_init(&json);
    if (store_ok(c, store_webhook_list_json(c->ctx->store, c->route.tenant, &json))) {
        size_t len = json.len;
        http_response_json_text(c->res, 200, buf_detach(&json), len);
    }
    buf_release(&json);
}

static void
create_webhook(struct call *c)
{
    struct webhook w;
    json_object *errors;
    struct endpoint_policy policy = policy_of(c->ctx->cfg);

    webhook_init(&w);
    if (webhook_input_apply(&w, c->body, WEBHOOK_INPUT_CREATE, &policy, &errors) != 0) {
        http_response_problem(c->res, 400, NULL, errors);
    } else if (webhook_new_secret(&w) != 0) {
        log_error("create_webhook: tenant %s: CSPRNG failure", c->route.tenant);
        answer_unavailable(c->res);
    } else if (store_ok(c, store_webhook_create(c->ctx->store, c->route.tenant, &w,
                                                c->ctx->cfg->max_webhooks_per_tenant))) {
        char *location = xasprintf("%s/%s/webhooks/%s", c->ctx->cfg->base_path,
                                   c->route.tenant, w.id);
        http_response_json(c->res, 200, webhook_to_json(&w));
        http_response_header(c->res, "Location", location);
        free(location);
        log_info("create_webhook: tenant %s: created webhook %s", c->route.tenant, w.id);
    }
    webhook_release(&w);
}

static void
get_webhook(struct call *c)
{
    struct buf json;

    buf_init(&json);
    if (store_ok(c, store_webhook_get_json(c->ctx->store, c->route.tenant, c->route.id,
                                           &json))) {
        size_t len = json.len;
        http_response_json_text(c->res, 200, buf_detach(&json), len);
    }
    buf_release(&json);
}

struct edit_ctx {
    json_object *body;
    enum webhook_input_mode mode;
    struct endpoint_policy policy;
    json_object *errors;
    bool reenabled;             /* it was disabled and is enabled now */
};

static int
edit_webhook(struct webhook *w, void *arg)
{
    struct edit_ctx *e = arg;

    json_object_put(e->errors);     /* a retried transaction starts over */
    bool was_enabled = w->enabled;
    if (webhook_input_apply(w, e->body, e->mode, &e->policy, &e->errors) != 0)
        return -1;
    /* Enabled (again): why the sender disabled it no longer holds. */
    e->reenabled = !was_enabled && w->enabled;
    if (w->enabled)
        webhook_clear_disabled(w);
    return 0;
}

static void
update_webhook(struct call *c, enum webhook_input_mode mode)
{
    struct edit_ctx e = { c->body, mode, policy_of(c->ctx->cfg), NULL, false };
    struct webhook w;
    enum store_status st =
        store_webhook_update(c->ctx->store, c->route.tenant, c->route.id, edit_webhook, &e, &w);

    if (st == STORE_REJECTED) {
        http_response_problem(c->res, 400, NULL, e.errors);
        return;
    }
    json_object_put(e.errors);
    if (!store_ok(c, st))
        return;
    /* Its failures before it was disabled do not count towards the next auto-disable. */
    if (e.reenabled)
        store_health_forget(c->ctx->store, c->route.tenant, c->route.id);
    if (mode == WEBHOOK_INPUT_MERGE)
        http_response_json(c->res, 200, webhook_to_json(&w));
    else
        c->res->status = 200;
    webhook_release(&w);
    log_info("update_webhook: tenant %s: updated webhook %s", c->route.tenant, c->route.id);
}

static void
delete_webhook(struct call *c)
{
    if (!store_ok(c, store_webhook_delete(c->ctx->store, c->route.tenant, c->route.id)))
        return;
    store_health_forget(c->ctx->store, c->route.tenant, c->route.id);
    c->res->status = 200;
    log_info("delete_webhook: tenant %s: deleted webhook %s", c->route.tenant, c->route.id);
}

/*
 * POST .../rotate-secret: a new secret; the old one signs too for
 * overlapSeconds (optional body). The answer adds previousSecretExpiresAt.
 */
static void
rotate_secret(struct call *c)
{
    json_object *errors = NULL;
    long overlap;
    struct webhook w;

    if (!read_json_body_opt(c, "overlapSeconds"))
        return;
    if (rotation_overlap_from_body(c->body, &overlap, &errors) != 0) {
        http_response_problem(c->res, 400, NULL, errors);
        return;
    }
    long long now = (clock_ms(CLOCK_REALTIME) + 999) / 1000;   /* the overlap is never short */
    if (!store_ok(c, store_webhook_rotate(c->ctx->store, c->route.tenant, c->route.id, overlap,
                                          now, &w)))
        return;
    http_response_json(c->res, 200, rotation_to_json(&w));
    webhook_release(&w);
    log_info("rotate_secret: tenant %s: rotated the secret of webhook %s (the previous one "
             "signs for %ld s)",
             c->route.tenant, c->route.id, overlap);
}

static void
dispatch(struct call *c)
{
    bool writes = c->method & (METHOD_POST | METHOD_PUT | METHOD_PATCH);

    if (c->route.route != ROUTE_WEBHOOKS && !webhook_id_valid(c->route.id)) {
        answer_not_found(c->res);
        return;
    }
    if (c->route.route == ROUTE_ROTATE_SECRET) {
        rotate_secret(c);
        return;
    }
    if (api_deliveries_route(c->route.route)) {
        api_deliveries_handle(c->ctx, c->req, c->res, &c->route, c->method);
        return;
    }
    if (writes && !read_json_body(c))
        return;
    switch (c->method) {
    case METHOD_GET:
    case METHOD_HEAD:
        if (c->route.route == ROUTE_WEBHOOKS)
            list_webhooks(c);
        else
            get_webhook(c);
        break;
    case METHOD_POST:
        create_webhook(c);
        break;
    case METHOD_PUT:
        update_webhook(c, WEBHOOK_INPUT_REPLACE);
        break;
    case METHOD_PATCH:
        update_webhook(c, WEBHOOK_INPUT_MERGE);
        break;
    case METHOD_DELETE:
        delete_webhook(c);
        break;
    default:
        break;
    }
}

void
api_store_problem(struct api_context *ctx, struct http_response *res, enum store_status st,
                  const char *not_found)
{
    struct call c = { .ctx = ctx, .res = res };

    if (st == STORE_NOTFOUND)
        http_response_problem(res, 404, not_found, NULL);
    else
        store_ok(&c, st);
}

void
api_handle(struct api_context *ctx, const struct http_request *req, struct http_response *res)
{
    struct call c = { .ctx = ctx, .req = req, .res = res };

    if (!router_match(ctx->cfg->base_path, req->path_info, req->request_uri, &c.route)) {
        http_response_problem(res, 404, "No such resource.", NULL);
        return;
    }
    c.method = router_method(req->method);
    if (!(c.route.allowed & c.method)) {
        char allow[64];
        router_allow_header(c.route.allowed, allow, sizeof allow);
        http_response_problem(res, 405, NULL, NULL);
        http_response_header(res, "Allow", allow);
        return;
    }
    if (authorize(&c))
        dispatch(&c);
    json_object_put(c.body);
}
