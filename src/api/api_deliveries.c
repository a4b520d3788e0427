/*
 * api_deliveries - the delivery operations of SPEC section 1.1: a webhook's
 * deliveries (list with status, limit, cursor and a Link to the next page),
 * one delivery with its attempts and payload, redeliver and ping. Reached
 * from api.c once the route, credentials, scope and tenant have passed.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

static const char no_webhook[] = "No such webhook.";
static const char no_delivery[] = "No such delivery.";

bool
api_deliveries_route(enum route_id route)
{
    return route == ROUTE_DELIVERIES || route == ROUTE_DELIVERY || route == ROUTE_REDELIVER ||
           route == ROUTE_PING;
}

/* One request's view. */
struct dcall {
    struct api_context *ctx;
    const struct http_request *req;
    struct http_response *res;
    const struct route_match *route;
};

/* True if host is safe to echo into a link: letters, digits, '.', '-', ':', '[', ']'. */
static bool
host_plain(const char *host)
{
    size_t n = strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]");

    return n > 0 && n <= 255 && host[n] == '\0';
}

/* Link: <URL of the next page>; rel="next" (absolute when the Host is known). */
static void
add_next_link(struct dcall *d, const struct delivery_query *q, const char *next)
{
    struct buf v;
    const char *host = d->req->host;

    buf_init(&v);
    buf_puts(&v, "<");
    if (host != NULL && host_plain(host))
        buf_printf(&v, "%s://%s", d->req->scheme != NULL ? d->req->scheme : "http", host);
    buf_printf(&v, "%s/%s/webhooks/%s/deliveries?", d->ctx->cfg->base_path, d->route->tenant,
               d->route->id);
    if (q->status >= 0)
        buf_printf(&v, "status=%s&", delivery_status_name((enum delivery_status)q->status));
    buf_printf(&v, "limit=%ld&cursor=%s>; rel=\"next\"", q->limit, next);
    http_response_header(d->res, "Link", v.data);
    buf_release(&v);
}

/* ---- handlers ---- */

/* The query string: QUERY_STRING, else what follows '?' in REQUEST_URI. */
static char *
query_text(const struct http_request *req)
{
    if (req->query_string != NULL)
        return xstrdup(req->query_string);
    const char *q = req->request_uri != NULL ? strchr(req->request_uri, '?') : NULL;
    return q != NULL ? xstrndup(q + 1, strcspn(q + 1, "#")) : xstrdup("");
}

static void
list_deliveries(struct dcall *d)
{
    struct delivery_query q;
    char *text = query_text(d->req);
    json_object *errors = delivery_query_parse(text, &q);

    free(text);
    if (errors != NULL) {
        http_response_problem(d->res, 400, NULL, errors);
        return;
    }
    struct delivery *list;
    size_t n;
    char next[STORE_CURSOR_LEN + 1];
    enum store_status st = store_delivery_page(d->ctx->store, d->route->tenant, d->route->id,
                                               q.status, q.cursor[0] != '\0' ? q.cursor : NULL,
                                               (size_t)q.limit, &list, &n, next);
    if (st != STORE_OK) {
        api_store_problem(d->ctx, d->res, st, no_webhook);
    } else {
        json_object *a = json_object_new_array_ext((int)n);
        for (size_t i = 0; i < n; i++)
            json_object_array_add(a, delivery_to_json(&list[i], false));
        http_response_json(d->res, 200, a);
        if (next[0] != '\0')
            add_next_link(d, &q, next);
    }
    store_delivery_list_free(list, n);
}

/*
 * One delivery with its attempts and "payload": the body exactly as sent,
 * spliced in as it is (it is one JSON value; parsing and printing it again
 * could change its bytes).
 */
static void
get_delivery(struct dcall *d)
{
    struct delivery dl;
    struct buf payload, text;

    buf_init(&payload);
    enum store_status st = store_delivery_get(d->ctx->store, d->route->tenant, d->route->id,
                                              d->route->delivery_id, &dl, &payload);
    if (st != STORE_OK) {
        api_store_problem(d->ctx, d->res, st, no_delivery);
        buf_release(&payload);
        return;
    }
    json_object *o = delivery_to_json(&dl, true);
    const char *obj = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    buf_init(&text);
    buf_append(&text, obj, strlen(obj) - 1);       /* all but the closing brace */
    buf_puts(&text, ",\"payload\":");
    if (payload.len > 0)
        buf_append(&text, payload.data, payload.len);
    else
        buf_puts(&text, "null");
    buf_puts(&text, "}");
    size_t len = text.len;
    http_response_json_text(d->res, 200, buf_detach(&text), len);
    buf_release(&text);
    json_object_put(o);
    delivery_release(&dl);
    buf_release(&payload);
}

/* 409 for a webhook that receives nothing. */
static void
answer_disabled(struct dcall *d)
{
    http_response_problem(d->res, 409, "The webhook is disabled: it receives nothing. Enable it "
                          "first.", NULL);
}

static void
redeliver(struct dcall *d, const struct webhook *w)
{
    struct delivery dl;
    struct api_context *ctx = d->ctx;
    enum store_status st = store_delivery_get(ctx->store, d->route->tenant, d->route->id,
                                              d->route->delivery_id, &dl, NULL);

    if (st != STORE_OK) {
        api_store_problem(ctx, d->res, st, no_delivery);
        return;
    }
    delivery_release(&dl);
    if (!w->enabled) {
        answer_disabled(d);
        return;
    }
    st = store_delivery_redeliver(ctx->store, d->route->tenant, d->route->id,
                                  d->route->delivery_id, clock_ms(CLOCK_REALTIME), &dl);
    if (st != STORE_OK) {
        api_store_problem(ctx, d->res, st, no_delivery);
        return;
    }
    http_response_json(d->res, 202, delivery_to_json(&dl, false));
    log_info("redeliver: tenant %s: webhook %s: delivery %s: redeliver requested", d->route->tenant,
             d->route->id, dl.ref.delivery_id);
    delivery_release(&dl);
}

static void
ping(struct dcall *d, const struct webhook *w)
{
    struct api_context *ctx = d->ctx;
    struct delivery_new nw;
    struct delivery dl;
    char *body;

    if (!w->enabled) {
        answer_disabled(d);
        return;
    }
    enum store_status st = STORE_UNAVAILABLE;
    if (delivery_ping_new(d->route->tenant, d->route->id, &nw, &body) == 0)
        st = store_delivery_ping(ctx->store, &nw, &dl);
    if (st != STORE_OK) {
        api_store_problem(ctx, d->res, st, no_webhook);
    } else {
        char *location = xasprintf("%s/%s/webhooks/%s/deliveries/%s", ctx->cfg->base_path,
                                   nw.ref.tenant, nw.ref.webhook_id, nw.ref.delivery_id);
        http_response_json(d->res, 202, delivery_to_json(&dl, false));
        http_response_header(d->res, "Location", location);
        free(location);
        log_info("ping: tenant %s: webhook %s: ping %s requested", nw.ref.tenant, nw.ref.webhook_id,
                 nw.ref.delivery_id);
        delivery_release(&dl);
    }
    free(body);
}

void
api_deliveries_handle(struct api_context *ctx, const struct http_request *req,
                      struct http_response *res, const struct route_match *route,
                      enum http_method method)
{
    struct dcall d = { ctx, req, res, route };
    struct webhook w;
    (void)method;               /* each route has one operation (GET and HEAD alike) */

    if (!webhook_id_valid(route->id)) {
        http_response_problem(res, 404, no_webhook, NULL);
        return;
    }
    bool by_id = route->route == ROUTE_DELIVERY || route->route == ROUTE_REDELIVER;
    if (by_id && !delivery_id_valid(route->delivery_id)) {
        http_response_problem(res, 404, no_delivery, NULL);
        return;
    }
    /* The webhook first: its deliveries are no one's once it is deleted. */
    enum store_status st = store_webhook_get(ctx->store, route->tenant, route->id, &w);
    if (st != STORE_OK) {
        api_store_problem(ctx, res, st, no_webhook);
        return;
    }
    switch (route->route) {
    case ROUTE_DELIVERIES:
        list_deliveries(&d);
        break;
    case ROUTE_DELIVERY:
        get_delivery(&d);
        break;
    case ROUTE_REDELIVER:
        redeliver(&d, &w);
        break;
    case ROUTE_PING:
        ping(&d, &w);
        break;
    default:
        break;
    }
    webhook_release(&w);
}
