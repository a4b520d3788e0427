/* Unit tests for src/api: routing, status and problem mapping, and the handlers over a real store. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/router.h"
#include "unit.h"
#include "util/xalloc.h"

static void
test_routing(void)
{
    static const struct {
        const char *path_info, *request_uri;
        enum route_id route;
        const char *tenant, *id;
    } cases[] = {
        /* PATH_INFO when mounted at /api, and after a rewrite to webhooks.fcgi/api/... */
        { "/acme/webhooks", NULL, ROUTE_WEBHOOKS, "acme", "" },
        { "/api/acme/webhooks", NULL, ROUTE_WEBHOOKS, "acme", "" },
        { "/acme/webhooks/aZ3k9", NULL, ROUTE_WEBHOOK, "acme", "aZ3k9" },
        { "/api/acme/webhooks/aZ3k9", NULL, ROUTE_WEBHOOK, "acme", "aZ3k9" },
        { "/acme/webhooks/", NULL, ROUTE_WEBHOOKS, "acme", "" },
        { "/acme/webhooks/aZ3k9/rotate-secret", NULL, ROUTE_ROTATE_SECRET, "acme", "aZ3k9" },
        { NULL, "/api/acme/webhooks/aZ3k9/rotate-secret?x", ROUTE_ROTATE_SECRET, "acme", "aZ3k9" },
        /* a tenant called "api" */
        { "/api/webhooks", NULL, ROUTE_WEBHOOKS, "api", "" },
        { "/api/api/webhooks", NULL, ROUTE_WEBHOOKS, "api", "" },
        /* REQUEST_URI only (nginx): raw, with a query, percent-decoded per segment */
        { "", "/api/acme/webhooks?x=1", ROUTE_WEBHOOKS, "acme", "" },
        { NULL, "/api/ac%6De/webhooks/aZ3k9", ROUTE_WEBHOOK, "acme", "aZ3k9" },
        { NULL, "/api/acme/webhooks/a%2Fb", ROUTE_WEBHOOK, "acme", "a/b" },
        /* delivery operations */
        { "/acme/webhooks/aZ3k9/deliveries", NULL, ROUTE_DELIVERIES, "acme", "aZ3k9" },
        { "", "/api/acme/webhooks/aZ3k9/deliveries?status=failed&limit=5", ROUTE_DELIVERIES,
          "acme", "aZ3k9" },
        { "/api/acme/webhooks/aZ3k9/deliveries/0123456789abcdef0123456789abcdef", NULL,
          ROUTE_DELIVERY, "acme", "aZ3k9" },
        { NULL, "/api/acme/webhooks/aZ3k9/deliveries/0123456789abcdef0123456789abcdef/redeliver",
          ROUTE_REDELIVER, "acme", "aZ3k9" },
        { "/acme/webhooks/aZ3k9/ping", NULL, ROUTE_PING, "acme", "aZ3k9" },
        /* not routes */
        { NULL, "/api/acme/webhooks/aZ3k9/deliveries/x/y", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/webhooks/aZ3k9/pings", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/webhooks/aZ3k9/ping/x", ROUTE_NONE, NULL, NULL },
        { NULL, "/acme/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/webhooks/a/b", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/webhooks/aZ3k9/rotate", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/webhooks/aZ3k9/rotate-secret/x", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme%00/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/%zz/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/../webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/../acme/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api//acme/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/a.b/webhooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme/hooks", ROUTE_NONE, NULL, NULL },
        { NULL, "/api/acme", ROUTE_NONE, NULL, NULL },
        { NULL, "/api", ROUTE_NONE, NULL, NULL },
        { NULL, "", ROUTE_NONE, NULL, NULL },
        { NULL, NULL, ROUTE_NONE, NULL, NULL },
        { "/acme/webhooks%2Fx", NULL, ROUTE_NONE, NULL, NULL },
        { "/../acme/webhooks", NULL, ROUTE_NONE, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct route_match m;
        bool found = router_match("/api", cases[i].path_info, cases[i].request_uri, &m);
        CHECK(found == (cases[i].route != ROUTE_NONE) && m.route == cases[i].route,
              "case %zu (%s | %s): route %d, want %d", i,
              cases[i].path_info ? cases[i].path_info : "-",
              cases[i].request_uri ? cases[i].request_uri : "-", m.route, cases[i].route);
        if (found && cases[i].tenant != NULL)
            CHECK(strcmp(m.tenant, cases[i].tenant) == 0 && strcmp(m.id, cases[i].id) == 0,
                  "case %zu: tenant %s id %s", i, m.tenant, m.id);
    }

    /* 65-character tenant and very long segments are not routes. */
    char *uri = xmalloc(20000);
    strcpy(uri, "/api/");
    memset(uri + 5, 'a', 65);
    strcpy(uri + 70, "/webhooks");
    struct route_match m;
    CHECK(!router_match("/api", NULL, uri, &m), "65-character tenant");
    memset(uri + 5, 'a', 10000);
    strcpy(uri + 10005, "/webhooks");
    CHECK(!router_match("/api", NULL, uri, &m), "10000-character segment");
    free(uri);

    CHECK(router_match("/hooks/v1", NULL, "/hooks/v1/acme/webhooks", &m), "deeper base path");
    CHECK(router_match("/api", "/acme/webhooks/aZ3k9/deliveries/0123/redeliver", NULL, &m) &&
              m.route == ROUTE_REDELIVER && strcmp(m.delivery_id, "0123") == 0 &&
              (m.allowed & (METHOD_POST | METHOD_GET)) == METHOD_POST,
          "the delivery id segment, POST only");
    CHECK(router_method("GET") == METHOD_GET && router_method("PATCH") == METHOD_PATCH &&
              router_method("get") == METHOD_OTHER && router_method("BREW") == METHOD_OTHER,
          "method names are exact");
    char allow[64];
    router_allow_header(METHOD_GET | METHOD_HEAD | METHOD_POST, allow, sizeof allow);
    CHECK(strcmp(allow, "GET, HEAD, POST") == 0, "Allow: %s", allow);
}

static void
test_problems(void)
{
    static const struct {
        int status;
        const char *section, *title;
    } cases[] = {
        { 400, "15.5.1", "One or more validation errors occurred." },
        { 401, "15.5.2", "Unauthorized" },
        { 403, "15.5.4", "Forbidden" },
        { 404, "15.5.5", "Not Found" },
        { 405, "15.5.6", "Method Not Allowed" },
        { 409, "15.5.10", "Conflict" },
        { 413, "15.5.14", "Content Too Large" },
        { 415, "15.5.16", "Unsupported Media Type" },
        { 503, "15.6.4", "Service Unavailable" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        http_response_init(&r);
        http_response_problem(&r, cases[i].status, "why", NULL);
        json_object *o = json_tokener_parse(r.body);
        json_object *v;
        char type[80];
        snprintf(type, sizeof type, "https://tools.ietf.org/html/rfc9110#section-%s",
                 cases[i].section);
        CHECK(r.status == cases[i].status && strstr(r.content_type, "application/problem+json"),
              "%d: status and content type", cases[i].status);
        CHECK(json_object_object_get_ex(o, "type", &v) && strcmp(json_object_get_string(v), type) == 0,
              "%d: type", cases[i].status);
        CHECK(json_object_object_get_ex(o, "title", &v) &&
                  strcmp(json_object_get_string(v), cases[i].title) == 0,
              "%d: title", cases[i].status);
        CHECK(json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) == cases[i].status,
              "%d: status member", cases[i].status);
        json_object_put(o);
        http_response_release(&r);
    }
}

/* A request body held in memory. */
struct mem_body {
    const char *data;
    size_t len, pos;
};

static ssize_t
mem_read(void *io, char *buf, size_t n)
{
    struct mem_body *b = io;
    size_t left = b->len - b->pos;

    if (n > left)
        n = left;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    return (ssize_t)n;
}

struct exchange {
    const char *method, *uri, *content_type, *key, *body;
    long long content_length;   /* 0 = use the body's length */
};

/* Runs one request through api_handle; returns the status, with the response in *res. */
static int
call(struct api_context *ctx, const struct exchange *x, struct http_response *res)
{
    struct mem_body body = { x->body ? x->body : "", x->body ? strlen(x->body) : 0, 0 };
    struct http_request req = {
        .method = x->method,
        .request_uri = x->uri,
        .content_type = x->content_type,
        .content_length = x->content_length ? x->content_length : (long long)body.len,
        .api_key = x->key,
        .read_body = mem_read,
        .io = &body,
    };
    http_response_init(res);
    api_handle(ctx, &req, res);
    return res->status;
}

static const char *
header(const struct http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void
test_handlers(void)
{
    char *dir = unit_scratch_new("api");
    struct config cfg;

    if (dir == NULL)
        return;
    struct store *s = unit_store_open(&cfg, dir, "db", "store");
    if (s == NULL) {
        unit_scratch_remove(dir);
        return;
    }
    cfg.max_body_bytes = 2048;          /* read by the handlers, not by the store */
    cfg.max_webhooks_per_tenant = 2;
    struct api_context ctx = { .cfg = &cfg, .store = s };

    struct apikey rw, ro;
    char key_rw[APIKEY_LEN + 1], key_ro[APIKEY_LEN + 1];
    apikey_generate(&rw, key_rw, "acme", SCOPE_READ | SCOPE_WRITE, "");
    apikey_generate(&ro, key_ro, "acme", SCOPE_READ, "");
    store_apikey_add(s, &rw);
    store_apikey_add(s, &ro);

    const char *json = "application/json";
    const char *good = "{\"endpoint\":\"https://e.com/\",\"events\":[\"Pass:*\"]}";
    char big[4096];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = '{';
    big[sizeof big - 2] = '}';

    /* The order of checks: route, method, credentials, scope/tenant, size, type, body. */
    const struct {
        struct exchange x;
        int want;
        const char *want_header;
    } cases[] = {
        { { "GET", "/api/acme/nothing", NULL, key_rw, NULL, 0 }, 404, NULL },
        { { "GET", "/api/acme/nothing", NULL, NULL, NULL, 0 }, 404, NULL },
        { { "DELETE", "/api/acme/webhooks", NULL, NULL, NULL, 0 }, 405, "Allow" },
        { { "BREW", "/api/acme/webhooks/abcde", NULL, key_rw, NULL, 0 }, 405, "Allow" },
        { { "GET", "/api/acme/webhooks", NULL, NULL, NULL, 0 }, 401, "WWW-Authenticate" },
        { { "GET", "/api/acme/webhooks", NULL, "hs_nonsense", NULL, 0 }, 401, "WWW-Authenticate" },
        { { "GET", "/api/other/webhooks", NULL, key_rw, NULL, 0 }, 403, "WWW-Authenticate" },
        { { "POST", "/api/acme/webhooks", json, key_ro, good, 0 }, 403, "WWW-Authenticate" },
        { { "POST", "/api/acme/webhooks", json, key_rw, good, 1 << 20 }, 413, NULL },
        { { "POST", "/api/acme/webhooks", json, key_rw, big, -1 }, 413, NULL },
        { { "POST", "/api/acme/webhooks", "text/plain", key_rw, good, 0 }, 415, NULL },
        { { "POST", "/api/acme/webhooks", NULL, key_rw, good, 0 }, 415, NULL },
        { { "POST", "/api/acme/webhooks", "application/xml+json/x", key_rw, good, 0 }, 415, NULL },
        { { "POST", "/api/acme/webhooks", json, key_rw, "{", 0 }, 400, NULL },
        { { "GET", "/api/acme/webhooks/bad-id", NULL, key_rw, NULL, 0 }, 404, NULL },
        { { "GET", "/api/acme/webhooks/zzzzz", NULL, key_rw, NULL, 0 }, 404, NULL },
        { { "POST", "/api/acme/webhooks", "Application/JSON; charset=utf-8", key_rw, good, 0 },
          200, "Location" },
        { { "POST", "/api/acme/webhooks", "application/vnd.hookspool+json", key_rw, good, 0 },
          200, "Location" },
        { { "POST", "/api/acme/webhooks", "text/json", key_rw, good, 0 }, 409, NULL },
        { { "GET", "/api/acme/webhooks", NULL, key_ro, NULL, 0 }, 200, NULL },
        { { "HEAD", "/api/acme/webhooks", NULL, key_ro, NULL, 0 }, 200, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        int got = call(&ctx, &cases[i].x, &r);
        CHECK(got == cases[i].want, "case %zu: %s %s: %d, want %d (%s)", i, cases[i].x.method,
              cases[i].x.uri, got, cases[i].want, r.body ? r.body : "");
        if (cases[i].want_header != NULL)
            CHECK(header(&r, cases[i].want_header) != NULL, "case %zu: header %s", i,
                  cases[i].want_header);
        http_response_release(&r);
    }

    /* Create, read back through Location, patch, put, delete. */
    struct http_response r;
    struct exchange list = { "GET", "/api/acme/webhooks", NULL, key_rw, NULL, 0 };
    CHECK(call(&ctx, &list, &r) == 200, "list");
    json_object *array = json_tokener_parse(r.body);
    CHECK(json_object_array_length(array) == 2, "two webhooks listed");
    const char *id = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(array, 0), "id"));
    char *uri = xasprintf("/api/acme/webhooks/%s", id);
    http_response_release(&r);

    struct exchange patch = { "PATCH", uri, "application/merge-patch+json", key_rw,
                              "{\"enabled\":false,\"description\":\"d\"}", 0 };
    CHECK(call(&ctx, &patch, &r) == 200 && strstr(r.body, "\"enabled\":false") &&
              strstr(r.body, "\"description\":\"d\""),
          "PATCH returns the updated webhook: %s", r.body);
    http_response_release(&r);
    struct exchange put = { "PUT", uri, json, key_rw,
                            "{\"endpoint\":\"https://f.com/\",\"events\":[\"*\"]}", 0 };
    CHECK(call(&ctx, &put, &r) == 200 && r.body == NULL, "PUT answers 200 with no body");
    http_response_release(&r);
    struct exchange get = { "GET", uri, NULL, key_ro, NULL, 0 };
    CHECK(call(&ctx, &get, &r) == 200 && strstr(r.body, "\"description\":null") &&
              strstr(r.body, "\"enabled\":false") && strstr(r.body, "https://f.com/"),
          "PUT cleared description, kept enabled: %s", r.body);
    http_response_release(&r);
    struct exchange bad_put = { "PUT", uri, json, key_rw, "{\"events\":[]}", 0 };
    CHECK(call(&ctx, &bad_put, &r) == 400 && strstr(r.body, "\"events\"") &&
              strstr(r.body, "\"endpoint\""),
          "invalid PUT names both members: %s", r.body);
    http_response_release(&r);
    struct exchange del = { "DELETE", uri, NULL, key_rw, NULL, 0 };
    CHECK(call(&ctx, &del, &r) == 200 && r.body == NULL, "DELETE");
    http_response_release(&r);
    CHECK(call(&ctx, &get, &r) == 404, "gone after DELETE");
    http_response_release(&r);
    CHECK(call(&ctx, &del, &r) == 404, "DELETE again is 404");
    http_response_release(&r);

    struct apikey other;
    char key_other[APIKEY_LEN + 1];
    apikey_generate(&other, key_other, "other", SCOPE_READ | SCOPE_WRITE, "");
    store_apikey_add(s, &other);
    const char *existing = json_object_get_string(
        json_object_object_get(json_object_array_get_idx(array, 1), "id"));
    char *cross = xasprintf("/api/acme/webhooks/%s", existing);
    struct exchange steal = { "GET", cross, NULL, key_other, NULL, 0 };
    CHECK(call(&ctx, &steal, &r) == 403, "another tenant's key: 403 for an existing id");
    http_response_release(&r);
    struct exchange probe = { "GET", "/api/acme/webhooks/zzzzz", NULL, key_other, NULL, 0 };
    CHECK(call(&ctx, &probe, &r) == 403, "and 403 for a missing one");
    http_response_release(&r);
    store_apikey_revoke(s, rw.id);
    CHECK(call(&ctx, &list, &r) == 401, "revoked key: 401");
    http_response_release(&r);

    free(cross);
    free(uri);
    json_object_put(array);
    store_close(s);
    config_release(&cfg);
    unit_scratch_remove(dir);
}

int
main(void)
{
    test_routing();
    test_problems();
    test_handlers();
    return unit_summary("unit api");
}
