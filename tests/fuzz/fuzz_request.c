/*
 * libFuzzer target for what a request brings from outside: the path (the
 * router, as PATH_INFO and as REQUEST_URI), the query of a list of
 * deliveries and the JSON body (webhook_input in its three modes).
 *
 * Invariants: a route the router accepts has a valid tenant id; a query
 * that parses without errors has a status, a limit and a cursor in range; a body that
 * applies cleanly yields a webhook that is valid again (every pattern, the
 * endpoint, the description length) and survives the storage codec.
 * Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/router.h"
#include "domain/delivery.h"
#include "domain/webhook.h"
#include "domain/webhook_input.h"
#include "util/log.h"
#include "util/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_path(const char *text)
{
    struct route_match m;

    if (router_match("/api", text, NULL, &m) && !webhook_tenant_valid(m.tenant))
        abort();
    if (router_match("/api", NULL, text, &m) && !webhook_tenant_valid(m.tenant))
        abort();
    if (router_match("/api", "", text, &m) && (m.route == ROUTE_NONE || m.allowed == 0))
        abort();
}

static void
fuzz_query(const char *text)
{
    struct delivery_query q;
    json_object *errors = delivery_query_parse(text, &q);

    if (errors == NULL &&
        (q.status < -1 || q.status > DELIVERY_FAILED || q.limit < 1 ||
         q.limit > DELIVERY_LIMIT_MAX || (q.cursor[0] != '\0' && !delivery_cursor_valid(q.cursor))))
        abort();
    if (errors != NULL && json_object_object_length(errors) == 0)
        abort();                /* a refusal always names the parameter */
    json_object_put(errors);
}

static void
check_valid(const struct webhook *w, const struct endpoint_policy *policy)
{
    if (w->n_events < 1 || w->n_events > WEBHOOK_EVENTS_MAX || w->endpoint == NULL ||
        endpoint_check(w->endpoint, policy) != NULL)
        abort();
    for (size_t i = 0; i < w->n_events; i++)
        if (!webhook_pattern_valid(w->events[i]))
            abort();
}

static void
fuzz_body(const char *text, size_t size)
{
    static const enum webhook_input_mode modes[] = { WEBHOOK_INPUT_CREATE, WEBHOOK_INPUT_REPLACE,
                                                     WEBHOOK_INPUT_MERGE };
    const struct endpoint_policy policy = { false, false };
    json_object *errors = NULL;
    json_object *body = webhook_input_parse(text, size, &errors);

    if (body == NULL) {
        if (errors == NULL)
            abort();            /* a refusal always names what was wrong */
        json_object_put(errors);
        return;
    }
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        struct webhook w;
        webhook_init(&w);
        memcpy(w.id, "abcDE", 6);
        memset(w.secret, 'S', WEBHOOK_SECRET_LEN);
        w.endpoint = xstrdup("https://stored.example.com/");
        const char *stored[] = { "Pass:*" };
        webhook_set_events(&w, stored, 1);
        if (webhook_input_apply(&w, body, modes[m], &policy, &errors) == 0) {
            check_valid(&w, &policy);
            char *record = webhook_to_string(&w);
            struct webhook back;
            if (webhook_from_string(&back, record, strlen(record)) != 0 ||
                strcmp(back.endpoint, w.endpoint) != 0 || back.n_events != w.n_events ||
                strcmp(back.id, "abcDE") != 0)
                abort();
            webhook_release(&back);
            free(record);
        } else if (errors == NULL) {
            abort();
        }
        json_object_put(errors);
        errors = NULL;
        webhook_release(&w);
    }
    json_object_put(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_set_level(LOG_LVL_ERROR);
        quiet = 1;
    }
    char *text = xstrndup((const char *)data, size);
    fuzz_path(text);
    fuzz_query(text);
    fuzz_body((const char *)data, size);
    free(text);
    return 0;
}
