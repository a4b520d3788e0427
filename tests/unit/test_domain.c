/* Unit tests for src/domain: configuration, validation, endpoints, codecs, keys, store. */
#include "autoconfig.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "domain/apikey.h"
#include "domain/config.h"
#include "domain/endpoint.h"
#include "domain/rotation.h"
#include "domain/scope.h"
#include "domain/store.h"
#include "domain/store_internal.h"
#include "domain/webhook.h"
#include "domain/webhook_input.h"
#include "unit.h"
#include "util/clock.h"
#include "util/xalloc.h"

static char *scratch;

static char *
write_temp(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", scratch, name);
    FILE *fp = fopen(path, "w");
    if (fp != NULL) {
        fputs(text, fp);
        fclose(fp);
    }
    return path;
}

static void
test_config(void)
{
    struct config cfg;
    char err[512];

    char *good = write_temp("good.conf",
                            "# comment\n\n"
                            "base_path = /hooks/api/   # trailing slash dropped\n"
                            "db_home = /var/x\n"
                            "durability = nosync\n"
                            "max_body_bytes = 2048\n"
                            "allow_http_endpoints = yes\n"
                            "retry_schedule = 1s, 2m,3h ,1d\n"
                            "signature_encoding = base64\n"
                            "standard_webhooks = no\n"
                            "log_level = debug\n");
    CHECK(config_load(&cfg, good, err, sizeof err) == 0, "good config loads: %s", err);
    CHECK(strcmp(cfg.base_path, "/hooks/api") == 0, "base_path %s", cfg.base_path);
    CHECK(strcmp(cfg.db_home, "/var/x") == 0, "db_home");
    CHECK(cfg.durability == DURABILITY_NOSYNC, "durability");
    CHECK(cfg.max_body_bytes == 2048, "max_body_bytes");
    CHECK(cfg.allow_http_endpoints && !cfg.allow_private_targets, "booleans");
    CHECK(cfg.retry_count == 4 && cfg.retry_schedule[0] == 1 && cfg.retry_schedule[1] == 120 &&
              cfg.retry_schedule[2] == 10800 && cfg.retry_schedule[3] == 86400,
          "retry_schedule parsed");
    CHECK(cfg.signature_encoding == SIGNATURE_BASE64, "signature_encoding");
    CHECK(!cfg.standard_webhooks, "standard_webhooks = no");
    CHECK(cfg.log_level == LOG_LVL_DEBUG, "log_level");
    CHECK(cfg.max_webhooks_per_tenant == 100 && cfg.delivery_timeout == 30 &&
              cfg.max_event_bytes == 1048576 && cfg.delivery_log_days == 30,
          "defaults kept for keys not set");
    config_release(&cfg);
    free(good);

    /* tls_ca_file must hold a PEM certificate; resolve is a list of host:port:address. */
    char *ca = write_temp("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                    "-----END CERTIFICATE-----\n");
    char *text = xasprintf("tls_ca_file = %s\n"
                           "resolve = hooks.test:8443:127.0.0.1, idp.test:443:[::1]\n", ca);
    char *tls = write_temp("tls.conf", text);
    CHECK(config_load(&cfg, tls, err, sizeof err) == 0, "tls config loads: %s", err);
    CHECK(cfg.tls_ca_file != NULL && strcmp(cfg.tls_ca_file, ca) == 0, "tls_ca_file kept");
    CHECK(cfg.resolve_count == 2 && strcmp(cfg.resolve[0], "hooks.test:8443:127.0.0.1") == 0 &&
              strcmp(cfg.resolve[1], "idp.test:443:[::1]") == 0,
          "resolve entries split");
    config_release(&cfg);
    CHECK(cfg.tls_ca_file == NULL && cfg.resolve_count == 0, "config_release clears tls keys");
    free(tls);
    free(text);
    free(ca);

    config_defaults(&cfg);
    CHECK(cfg.tls_ca_file == NULL && cfg.resolve_count == 0,
          "no tls_ca_file or resolve by default");
    CHECK(cfg.retry_count == 7 && cfg.retry_schedule[0] == 5 && cfg.retry_schedule[6] == 36000,
          "default schedule 5s,5m,30m,2h,5h,10h,10h");
    CHECK(strcmp(cfg.base_path, "/api") == 0 && cfg.max_body_bytes == 65536 &&
              cfg.durability == DURABILITY_SYNC && cfg.signature_encoding == SIGNATURE_HEX &&
              cfg.standard_webhooks,
          "documented defaults");
    config_release(&cfg);

    static const struct {
        const char *text;
        const char *want;       /* substring of the error */
    } bad[] = {
        { "db_home = /x\nbogus = 1\n", "bad.conf:2: unknown key \"bogus\"" },
        { "durability = fast\n", "bad.conf:1: durability" },
        { "max_body_bytes = 12abc\n", "bad.conf:1: max_body_bytes" },
        { "max_body_bytes = 99999999999\n", "bad.conf:1: max_body_bytes" },
        { "\n\nallow_http_endpoints = perhaps\n", "bad.conf:3: allow_http_endpoints" },
        { "retry_schedule = 5s,soon\n", "bad.conf:1: retry_schedule" },
        { "just words\n", "bad.conf:1: expected" },
        { " = value\n", "bad.conf:1: missing key" },
        { "base_path = api\n", "bad.conf:1: base_path" },
        { "signature_encoding = hex64\n", "bad.conf:1: signature_encoding" },
        { "standard_webhooks = maybe\n", "bad.conf:1: standard_webhooks" },
        { "log_level = loud\n", "bad.conf:1: log_level" },
        { "\ntls_ca_file = /nonexistent/ca.pem\n",
          "bad.conf:2: tls_ca_file: /nonexistent/ca.pem: cannot read" },
        { "tls_ca_file = ca.pem\n", "bad.conf:1: tls_ca_file: \"ca.pem\" is not an absolute" },
        { "tls_ca_file = /dev/null\n", "bad.conf:1: tls_ca_file: /dev/null: no PEM certificate" },
        { "resolve = hooks.test:443\n", "bad.conf:1: resolve: \"hooks.test:443\"" },
        { "resolve = hooks.test:0:127.0.0.1\n", "bad.conf:1: resolve" },
        { "resolve = hooks.test:443:example.com\n", "bad.conf:1: resolve" },
        { "resolve = :443:127.0.0.1\n", "bad.conf:1: resolve" },
        { "resolve = a:1:127.0.0.1,b:2:::1\n", "bad.conf:1: resolve: \"b:2:::1\"" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = write_temp("bad.conf", bad[i].text);
        err[0] = '\0';
        int rc = config_load(&cfg, path, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad[i].want) != NULL, "case %zu: error \"%s\" names \"%s\"",
              i, err, bad[i].want);
        config_release(&cfg);
        free(path);
    }
    CHECK(config_load(&cfg, "/nonexistent/hookspool.conf", err, sizeof err) == -1 &&
              strstr(err, "/nonexistent/hookspool.conf") != NULL,
          "missing file named: %s", err);
    config_release(&cfg);

    setenv("HOOKSPOOL_CONF", "/from/env.conf", 1);
    CHECK(strcmp(config_choose_path(NULL), "/from/env.conf") == 0, "HOOKSPOOL_CONF used");
    CHECK(strcmp(config_choose_path("/explicit"), "/explicit") == 0, "--config wins");
    unsetenv("HOOKSPOOL_CONF");
    CHECK(strstr(config_choose_path(NULL), "hookspool.conf") != NULL, "installed default");
}

static void
test_endpoint(void)
{
    const struct endpoint_policy strict = { false, false }, dev = { true, true };
    static const struct {
        const char *url;
        bool ok_strict, ok_dev;
    } cases[] = {
        { "https://example.com/hooks", true, true },
        { "https://example.com", true, true },
        { "HTTPS://Example.COM:8443/a?b=c", true, true },
        { "https://user:pw@example.com/x", true, true },
        { "http://example.com/hooks", false, true },
        { "ftp://example.com/x", false, false },
        { "example.com/hooks", false, false },
        { "https://", false, false },
        { "https:///path", false, false },
        { "https://example.com/x#frag", false, false },
        { "https://exa mple.com/", false, false },
        { "https://example.com:0/", false, false },
        { "https://example.com:65536/", false, false },
        { "https://example.com:8x/", false, false },
        { "https://127.0.0.1/", false, true },
        { "https://10.0.0.8/", false, true },
        { "https://169.254.169.254/latest", false, true },
        { "https://[::1]/", false, true },
        { "https://[::ffff:127.0.0.1]/", false, true },
        { "https://[fe80::1]:443/", false, true },
        { "https://localhost/", false, true },
        { "https://api.localhost./", false, true },
        { "https://0x7f000001/", false, true },
        { "https://8.8.8.8/", true, true },
        { "https://[2606:4700::1111]/", true, true },
        { "https://[nonsense]/", false, false },
        { "https://exa_mple.com/", true, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *s = endpoint_check(cases[i].url, &strict);
        const char *d = endpoint_check(cases[i].url, &dev);
        CHECK((s == NULL) == cases[i].ok_strict, "strict %s: %s", cases[i].url, s ? s : "ok");
        CHECK((d == NULL) == cases[i].ok_dev, "dev %s: %s", cases[i].url, d ? d : "ok");
    }
    char *long_url = xmalloc(2100);
    strcpy(long_url, "https://example.com/");
    memset(long_url + 20, 'a', 2029);
    long_url[2049] = '\0';
    CHECK(endpoint_check(long_url, &strict) != NULL, "2049 characters refused");
    long_url[2048] = '\0';
    CHECK(endpoint_check(long_url, &strict) == NULL, "2048 characters accepted");
    free(long_url);
}

/* Applies body (JSON text) in mode to a copy of base; returns the error members or "ok". */
static char *
apply(const char *body, enum webhook_input_mode mode, const struct webhook *base,
      struct webhook *out)
{
    const struct endpoint_policy policy = { false, false };
    json_object *errors = NULL;
    json_object *o = webhook_input_parse(body, strlen(body), &errors);
    char *result;

    webhook_copy(out, base);
    if (o == NULL || webhook_input_apply(out, o, mode, &policy, &errors) != 0) {
        result = xstrdup("");
        json_object_object_foreach(errors, key, val) {
            (void)val;
            char *next = xasprintf("%s%s%s", result, result[0] ? "," : "", key);
            free(result);
            result = next;
        }
    } else {
        result = xstrdup("ok");
    }
    json_object_put(errors);
    json_object_put(o);
    return result;
}

static void
test_validation(void)
{
    struct webhook base, w;
    webhook_init(&base);
    strcpy(base.id, "abcDE");
    base.description = xstrdup("old");
    base.endpoint = xstrdup("https://old.example.com/");
    base.enabled = false;
    const char *ev[] = { "Pass:Created" };
    webhook_set_events(&base, ev, 1);
    memset(base.secret, 'S', WEBHOOK_SECRET_LEN);

    char *long_desc = xmalloc(1100), *desc_1024 = xmalloc(1100), *pattern_129 = xmalloc(200);
    snprintf(long_desc, 1100, "{\"description\":\"%01025d\"}", 0);
    snprintf(desc_1024, 1100, "{\"description\":\"%01024d\"}", 0);
    snprintf(pattern_129, 200, "{\"events\":[\"%0129d\"]}", 0);
    char events_51[600] = "{\"events\":[";
    for (int i = 0; i < 51; i++)
        strcat(events_51, i ? ",\"a\"" : "\"a\"");
    strcat(events_51, "]}");

    static const char ok_create[] = "{\"endpoint\":\"https://e.com/\",\"events\":[\"*\"]}";
    const struct {
        const char *body;
        enum webhook_input_mode mode;
        const char *want;
    } cases[] = {
        { ok_create, WEBHOOK_INPUT_CREATE, "ok" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[\"a\"],\"id\":\"x\",\"signatureSecret\":1,"
          "\"unknown\":[1]}", WEBHOOK_INPUT_CREATE, "ok" },
        { "{}", WEBHOOK_INPUT_CREATE, "events,endpoint" },
        { "{\"events\":[\"a\"]}", WEBHOOK_INPUT_CREATE, "endpoint" },
        { "{\"endpoint\":\"https://e.com/\"}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[]}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":\"a\"}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[1]}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[\"a b\"]}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[\"\"]}", WEBHOOK_INPUT_CREATE, "events" },
        { "{\"endpoint\":5,\"events\":[\"a\"]}", WEBHOOK_INPUT_CREATE, "endpoint" },
        { "{\"endpoint\":\"http://e.com/\",\"events\":[\"a\"]}", WEBHOOK_INPUT_CREATE, "endpoint" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[\"a\"],\"enabled\":\"yes\"}",
          WEBHOOK_INPUT_CREATE, "enabled" },
        { "{\"endpoint\":\"https://e.com/\",\"events\":[\"a\"],\"description\":7}",
          WEBHOOK_INPUT_CREATE, "description" },
        { "[1]", WEBHOOK_INPUT_CREATE, "$" },
        { "{\"a\":", WEBHOOK_INPUT_CREATE, "$" },
        { "{} x", WEBHOOK_INPUT_CREATE, "$" },
        { "", WEBHOOK_INPUT_CREATE, "$" },
        { "{'a':1}", WEBHOOK_INPUT_CREATE, "$" },
        { "{\"description\":\"\xff\xfe\"}", WEBHOOK_INPUT_MERGE, "$" },
        { "{\"events\":[\"a\"]} \n", WEBHOOK_INPUT_MERGE, "ok" },
        { long_desc, WEBHOOK_INPUT_MERGE, "description" },
        { desc_1024, WEBHOOK_INPUT_MERGE, "ok" },
        { pattern_129, WEBHOOK_INPUT_MERGE, "events" },
        { events_51, WEBHOOK_INPUT_MERGE, "events" },
        { "{\"events\":null}", WEBHOOK_INPUT_MERGE, "events" },
        { "{\"endpoint\":null}", WEBHOOK_INPUT_MERGE, "endpoint" },
        { "{\"enabled\":null}", WEBHOOK_INPUT_MERGE, "enabled" },
        { "{\"description\":null}", WEBHOOK_INPUT_MERGE, "ok" },
        { "{\"description\":\"a\\u0000b\"}", WEBHOOK_INPUT_MERGE, "description" },
        { "{\"events\":[\"Pass\\u0000:*\"]}", WEBHOOK_INPUT_MERGE, "events" },
        { "{\"endpoint\":\"https://e.com/\\u0000x\"}", WEBHOOK_INPUT_MERGE, "endpoint" },
        { "{}", WEBHOOK_INPUT_MERGE, "ok" },
        { "{}", WEBHOOK_INPUT_REPLACE, "events,endpoint" },
        { ok_create, WEBHOOK_INPUT_REPLACE, "ok" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = apply(cases[i].body, cases[i].mode, &base, &w);
        CHECK(strcmp(got, cases[i].want) == 0, "case %zu: errors \"%s\", want \"%s\"", i, got,
              cases[i].want);
        free(got);
        webhook_release(&w);
    }

    /* Semantics of each mode on the stored values. */
    char *r = apply("{\"description\":null}", WEBHOOK_INPUT_MERGE, &base, &w);
    CHECK(w.description == NULL && strcmp(w.endpoint, base.endpoint) == 0 && !w.enabled,
          "PATCH description null clears it and keeps the rest");
    free(r);
    webhook_release(&w);
    r = apply(ok_create, WEBHOOK_INPUT_REPLACE, &base, &w);
    CHECK(w.description == NULL && !w.enabled && strcmp(w.endpoint, "https://e.com/") == 0 &&
              w.n_events == 1 && strcmp(w.events[0], "*") == 0,
          "PUT: absent description becomes null, absent enabled kept");
    CHECK(strcmp(w.id, "abcDE") == 0 && w.secret[0] == 'S', "PUT keeps id and secret");
    free(r);
    webhook_release(&w);

    free(long_desc);
    free(desc_1024);
    free(pattern_129);
    webhook_release(&base);
}

static void
test_webhook_codec(void)
{
    struct webhook w, back;
    webhook_init(&w);
    CHECK(webhook_new_id(&w) == 0 && webhook_id_valid(w.id), "new id is valid: %s", w.id);
    CHECK(webhook_new_secret(&w) == 0 && strlen(w.secret) == 64, "new secret has 64 characters");
    w.description = xstrdup("CRM \"sync\" / ünïcode");
    w.endpoint = xstrdup("https://crm.example.com/hooks");
    const char *ev[] = { "Pass:Created", "Customer:*" };
    webhook_set_events(&w, ev, 2);

    char *text = webhook_to_string(&w);
    CHECK(webhook_from_string(&back, text, strlen(text)) == 0, "round trip parses");
    CHECK(strcmp(back.id, w.id) == 0 && strcmp(back.secret, w.secret) == 0 &&
              strcmp(back.description, w.description) == 0 &&
              strcmp(back.endpoint, w.endpoint) == 0 && back.enabled && back.n_events == 2 &&
              strcmp(back.events[1], "Customer:*") == 0,
          "round trip keeps every member");
    json_object *o = json_tokener_parse(text);
    CHECK(json_object_object_length(o) == 6, "exactly six members");
    const char *members[] = { "id", "description", "events", "endpoint", "enabled",
                              "signatureSecret" };
    for (size_t i = 0; i < 6; i++)
        CHECK(json_object_object_get_ex(o, members[i], NULL), "member %s", members[i]);
    json_object_put(o);
    free(text);
    webhook_release(&back);
    CHECK(webhook_from_string(&back, "{\"id\":\"abc\"}", 12) == -1, "malformed record refused");

    CHECK(webhook_tenant_valid("acme") && webhook_tenant_valid("a_b-C9") &&
              !webhook_tenant_valid("") && !webhook_tenant_valid("a.b") &&
              !webhook_tenant_valid("a/b") && !webhook_tenant_valid(".."),
          "tenant rules");
    char t64[66];
    memset(t64, 'a', 65);
    t64[64] = '\0';
    CHECK(webhook_tenant_valid(t64), "64-character tenant");
    t64[64] = 'a';
    t64[65] = '\0';
    CHECK(!webhook_tenant_valid(t64), "65-character tenant");
    CHECK(webhook_id_valid("aZ3k9") && !webhook_id_valid("aZ3k") && !webhook_id_valid("aZ3k9x") &&
              !webhook_id_valid("aZ-k9"),
          "id rules");
    webhook_release(&w);
}

static void
test_apikey_and_scope(void)
{
    struct apikey rec, back;
    char key[APIKEY_LEN + 1], id[APIKEY_ID_LEN + 1];

    CHECK(apikey_generate(&rec, key, "acme", SCOPE_READ, "ci") == 0, "generate");
    CHECK(strncmp(key, "hs_", 3) == 0 && strlen(key) == APIKEY_LEN, "key format %s", key);
    CHECK(apikey_parse_id(key, id) == 0 && strcmp(id, rec.id) == 0, "id embedded in key");
    CHECK(apikey_matches(&rec, key), "key matches its record");
    key[APIKEY_LEN - 1] ^= 1;
    CHECK(!apikey_matches(&rec, key), "one changed character does not match");
    CHECK(apikey_parse_id("hs_short", id) == -1 && apikey_parse_id("", id) == -1,
          "malformed keys refused");
    char *text = apikey_to_string(&rec);
    CHECK(strstr(text, key) == NULL, "the key itself is not in the stored record");
    CHECK(apikey_from_string(&back, text, strlen(text)) == 0 &&
              memcmp(back.hash, rec.hash, 32) == 0 && strcmp(back.tenant, "acme") == 0 &&
              back.scopes == SCOPE_READ && !back.revoked,
          "record round trip");
    free(text);

    unsigned s;
    CHECK(scope_parse_list("Webhook.Read,Webhook.Write", &s) == 0 && s == (SCOPE_READ | SCOPE_WRITE),
          "both scopes");
    CHECK(scope_parse_list("Webhook.Write", &s) == 0 && s == SCOPE_WRITE, "one scope");
    CHECK(scope_parse_list("webhook.read", &s) == -1, "scope names are exact");
    CHECK(scope_parse_list("Webhook.Admin", &s) == -1, "unknown scope refused");
}

/* A webhook to store: endpoint https://e.com/, every event, a new secret. */
static void
sample_webhook(struct webhook *w)
{
    const char *ev[] = { "*" };

    webhook_init(w);
    w->endpoint = xstrdup("https://e.com/");
    webhook_set_events(w, ev, 1);
    webhook_new_secret(w);
}

/* Ids store_webhook_create draws, in turn (store_draw_webhook_id); NULL ends them. */
static const char *const *draw_script;

static int
draw_scripted(struct webhook *w)
{
    if (*draw_script == NULL)
        return -1;
    snprintf(w->id, sizeof w->id, "%s", *draw_script++);
    return 0;
}

/* Creates a webhook of tenant drawing the ids in script; its id, or "" if refused. */
static void
create_drawing(struct store *s, const char *tenant, const char *const *script, char id[6])
{
    struct webhook w;

    sample_webhook(&w);
    draw_script = script;
    store_draw_webhook_id = draw_scripted;
    snprintf(id, 6, "%s", store_webhook_create(s, tenant, &w, 10) == STORE_OK ? w.id : "");
    store_draw_webhook_id = webhook_new_id;
    webhook_release(&w);
}

static void
test_store(void)
{
    struct config cfg;

    struct store *s = unit_store_open(&cfg, scratch, "db", "store opens");
    if (s == NULL)
        return;
    char ids[3][6];
    for (int i = 0; i < 3; i++) {
        struct webhook w;
        sample_webhook(&w);
        CHECK(store_webhook_create(s, i < 2 ? "acme" : "acme2", &w, 2) == STORE_OK, "create %d", i);
        strcpy(ids[i], w.id);
        if (i == 1)
            CHECK(store_webhook_create(s, "acme", &w, 2) == STORE_LIMIT, "limit reached");
        webhook_release(&w);
    }
    struct webhook *list;
    size_t n;
    CHECK(store_webhook_list(s, "acme", &list, &n) == STORE_OK && n == 2, "acme has 2");
    CHECK(n == 2 && strcmp(list[0].id, list[1].id) < 0, "listed in id order");
    store_webhook_list_free(list, n);
    CHECK(store_webhook_list(s, "acm", &list, &n) == STORE_OK && n == 0,
          "a tenant that is a prefix of another sees nothing");
    store_webhook_list_free(list, n);

    struct webhook got;
    CHECK(store_webhook_get(s, "acme2", ids[0], &got) == STORE_NOTFOUND,
          "another tenant's id is not found");
    CHECK(store_webhook_get(s, "acme", ids[0], &got) == STORE_OK, "get");
    webhook_release(&got);
    CHECK(store_webhook_delete(s, "acme", ids[0]) == STORE_OK, "delete");
    CHECK(store_webhook_delete(s, "acme", ids[0]) == STORE_NOTFOUND, "delete twice");

    /* A deleted webhook's id is not drawn again until the prune forgets it with its deliveries. */
    const char *again[] = { ids[0], "Zz9Zz", NULL }, *first[] = { ids[0], NULL };
    char drawn[6];
    create_drawing(s, "acme", again, drawn);
    CHECK(strcmp(drawn, "Zz9Zz") == 0, "a deleted id is drawn again: another is taken (%s)", drawn);
    create_drawing(s, "acme2", first, drawn);
    CHECK(strcmp(drawn, ids[0]) == 0, "another tenant may have the id (%s)", drawn);
    CHECK(store_webhook_delete(s, "acme", "Zz9Zz") == STORE_OK &&
              store_delivery_prune(s, clock_ms(CLOCK_REALTIME) + 1000, &n) == STORE_OK,
          "delete, then prune everything");
    create_drawing(s, "acme", first, drawn);
    CHECK(strcmp(drawn, ids[0]) == 0, "after the prune the id is free again (%s)", drawn);

    struct apikey rec, back;
    char key[APIKEY_LEN + 1];
    apikey_generate(&rec, key, "acme", SCOPE_READ | SCOPE_WRITE, "");
    CHECK(store_apikey_add(s, &rec) == STORE_OK, "apikey add");
    CHECK(store_apikey_get(s, rec.id, &back) == STORE_OK && !back.revoked, "apikey get");
    CHECK(store_apikey_revoke(s, rec.id) == STORE_OK, "revoke");
    CHECK(store_apikey_get(s, rec.id, &back) == STORE_OK && back.revoked, "revoked stays revoked");
    CHECK(store_apikey_revoke(s, "nonexistent12") == STORE_NOTFOUND, "revoke unknown");
    struct apikey *keys;
    CHECK(store_apikey_list(s, "acme", &keys, &n) == STORE_OK && n == 1, "list keys by tenant");
    free(keys);
    store_close(s);
    config_release(&cfg);
}

/* The delivery record's stored form: a round trip, and every damaged copy refused. */
static void
test_delivery_codec(void)
{
    struct delivery d, back;
    struct delivery_try tries[] = {
        { 1, 1700000000123LL, 12, 500, "HTTP 500" },
        { 2, 1700000005123LL, 30001, 0, "Operation timed out after 30001 milliseconds" },
        { 3, 1700000305123LL, 3, 204, "" },
    };

    memset(&d, 0, sizeof d);
    snprintf(d.ref.event_id, sizeof d.ref.event_id, "evt_%0120d", 7);
    snprintf(d.ref.event_type, sizeof d.ref.event_type, "Pass:Created");
    d.status = DELIVERY_SUCCEEDED;
    d.created_ms = 1700000000000LL;
    d.next_attempt_ms = 0;
    for (size_t i = 0; i < 3; i++)
        delivery_add_try(&d, &tries[i]);
    size_t len;
    char *data = delivery_encode(&d, &len);
    CHECK(delivery_decode(&back, data, len) == 0 && back.status == DELIVERY_SUCCEEDED &&
              back.created_ms == d.created_ms && strcmp(back.ref.event_id, d.ref.event_id) == 0 &&
              back.n_tries == 3 && back.tries[1].duration_ms == 30001 &&
              back.tries[1].status_code == 0 && strcmp(back.tries[1].error, tries[1].error) == 0 &&
              back.tries[2].status_code == 204 && delivery_next_attempt(&back) == 4,
          "delivery codec: round trip");
    delivery_release(&back);
    bool refused = true;
    for (size_t cut = 0; cut < len; cut++) {
        if (delivery_decode(&back, data, cut) == 0) {
            refused = false;
            delivery_release(&back);
        }
    }
    CHECK(refused, "delivery codec: every truncated copy is refused");
    char *longer = xmalloc(len + 1);
    memcpy(longer, data, len);
    longer[len] = 'x';
    CHECK(delivery_decode(&back, longer, len + 1) != 0, "delivery codec: trailing bytes refused");
    longer[0] = 2;
    CHECK(delivery_decode(&back, longer, len) != 0, "delivery codec: another format refused");
    free(longer);
    free(data);
    delivery_release(&d);
}

/* The list query of the delivery operations: defaults, values, and the member a 400 names. */
static void
test_delivery_query(void)
{
    static const char cur[] = "0123456789abcdef0123456789abcdef0123456789abcdef";
    static const struct {
        const char *query;
        const char *bad;        /* the members errors names, comma-separated; NULL: none */
        int status;
        long limit;
        bool cursor;
    } cases[] = {
        { "", NULL, -1, 50, false },
        { NULL, NULL, -1, 50, false },
        { "status=failed", NULL, DELIVERY_FAILED, 50, false },
        { "status=pending&limit=1", NULL, DELIVERY_PENDING, 1, false },
        { "limit=250&status=succeeded", NULL, DELIVERY_SUCCEEDED, 250, false },
        { "limit=%32%35%30", NULL, -1, 250, false },
        { "cursor=0123456789abcdef0123456789abcdef0123456789abcdef", NULL, -1, 50, true },
        { "other=1&&=&x", NULL, -1, 50, false },
        { "status=Failed", "status", -1, 50, false },
        { "status=", "status", -1, 50, false },
        { "status", "status", -1, 50, false },
        { "status=fail%00ed", "status", -1, 50, false },
        { "limit=0", "limit", -1, 0, false },
        { "limit=251", "limit", -1, 0, false },
        { "limit=-1", "limit", -1, 0, false },
        { "limit=+5", "limit", -1, 0, false },
        { "limit=99999", "limit", -1, 0, false },
        { "limit=5x", "limit", -1, 0, false },
        { "cursor=abc", "cursor", -1, 50, false },
        { "cursor=0123456789ABCDEF0123456789abcdef0123456789abcdef", "cursor", -1, 50, false },
        { "status=x&limit=0&cursor=y", "cursor,limit,status", -1, 0, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct delivery_query q;
        json_object *errors = delivery_query_parse(cases[i].query, &q);
        char names[64] = "";
        if (errors != NULL) {
            /* json-c keeps insertion order: sort the three names by hand. */
            static const char *const all[] = { "cursor", "limit", "status" };
            for (size_t k = 0; k < 3; k++)
                if (json_object_object_get_ex(errors, all[k], NULL))
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             names[0] ? "," : "", all[k]);
        }
        CHECK(cases[i].bad == NULL ? errors == NULL : strcmp(names, cases[i].bad) == 0,
              "query %zu (%s): errors name \"%s\"", i, cases[i].query ? cases[i].query : "-",
              names);
        if (errors == NULL)
            CHECK(q.status == cases[i].status && q.limit == cases[i].limit &&
                      (q.cursor[0] != '\0') == cases[i].cursor &&
                      (!cases[i].cursor || strcmp(q.cursor, cur) == 0),
                  "query %zu: status %d limit %ld", i, q.status, q.limit);
        json_object_put(errors);
    }
}

/* overlapSeconds, the rotate answer, and the previous secret in the store. */
static void
test_rotation(void)
{
    static const struct {
        const char *body;       /* NULL: no body */
        int rc;
        long overlap;
    } cases[] = {
        { NULL, 0, 86400 }, { "{}", 0, 86400 }, { "{\"overlapSeconds\":0}", 0, 0 },
        { "{\"overlapSeconds\":604800}", 0, 604800 }, { "{\"other\":1}", 0, 86400 },
        { "{\"overlapSeconds\":604801}", -1, 0 }, { "{\"overlapSeconds\":-1}", -1, 0 },
        { "{\"overlapSeconds\":60.0}", -1, 0 }, { "{\"overlapSeconds\":\"60\"}", -1, 0 },
        { "{\"overlapSeconds\":null}", -1, 0 }, { "{\"overlapSeconds\":true}", -1, 0 },
        { "{\"overlapSeconds\":99999999999999999999999}", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *body = cases[i].body ? json_tokener_parse(cases[i].body) : NULL, *errors;
        long overlap = -2;
        int rc = rotation_overlap_from_body(body, &overlap, &errors);
        CHECK(rc == cases[i].rc && (rc != 0 || overlap == cases[i].overlap) &&
                  (rc == 0) == (errors == NULL) &&
                  (errors == NULL || json_object_object_get_ex(errors, "overlapSeconds", NULL)),
              "overlap case %zu (%s): rc %d overlap %ld", i, cases[i].body, rc, overlap);
        json_object_put(errors);
        json_object_put(body);
    }

    struct config cfg;
    struct store *s = unit_store_open(&cfg, scratch, "db-rotation", "store opens");
    if (s == NULL)
        return;
    struct webhook w, got, *list;
    size_t n;
    char first[WEBHOOK_SECRET_LEN + 1], second[WEBHOOK_SECRET_LEN + 1];
    sample_webhook(&w);
    CHECK(store_webhook_create(s, "acme", &w, 10) == STORE_OK, "create");
    char id[WEBHOOK_ID_LEN + 1];
    memcpy(id, w.id, sizeof id);
    memcpy(first, w.secret, sizeof first);
    webhook_release(&w);

    CHECK(store_webhook_rotate(s, "acme", id, 60, 1000, &w) == STORE_OK &&
              strcmp(w.secret, first) != 0 && strcmp(w.previous_secret, first) == 0 &&
              w.previous_until == 1060, "rotate: a new secret, the old one until now + 60");
    memcpy(second, w.secret, sizeof second);
    json_object *o = rotation_to_json(&w);
    CHECK(strcmp(json_object_get_string(json_object_object_get(o, "previousSecretExpiresAt")),
                 "1970-01-01T00:17:40Z") == 0 && json_object_object_length(o) == 7,
          "the answer: WebHookWithId and previousSecretExpiresAt: %s", json_object_get_string(o));
    json_object_put(o);
    webhook_release(&w);
    CHECK(store_webhook_get(s, "acme", id, &got) == STORE_OK &&
              strcmp(got.secret, second) == 0 && strcmp(got.previous_secret, first) == 0 &&
              got.previous_until == 1060, "get loads the previous secret");
    webhook_release(&got);
    CHECK(store_webhook_list(s, "acme", &list, &n) == STORE_OK && n == 1 &&
              strcmp(list[0].previous_secret, first) == 0, "list loads the previous secret");
    store_webhook_list_free(list, n);
    struct buf json;
    buf_init(&json);
    CHECK(store_webhook_get_json(s, "acme", id, &json) == STORE_OK &&
              strstr(json.data, first) == NULL && strstr(json.data, second) != NULL &&
              strstr(json.data, "previous") == NULL, "the stored record is the WebHookWithId");
    buf_release(&json);

    CHECK(store_webhook_rotate(s, "acme", id, 30, 2000, &w) == STORE_OK &&
              strcmp(w.previous_secret, second) == 0 && w.previous_until == 2030,
          "a second rotation replaces the older previous secret");
    webhook_release(&w);
    size_t removed = 9;
    CHECK(store_secret_prune(s, 2029, &removed) == STORE_OK && removed == 0, "prune keeps it");
    CHECK(store_secret_prune(s, 2030, &removed) == STORE_OK && removed == 1, "prune at expiry");
    CHECK(store_webhook_get(s, "acme", id, &got) == STORE_OK && got.previous_secret[0] == '\0' &&
              got.previous_until == 0, "pruned: no previous secret");
    webhook_release(&got);

    CHECK(store_webhook_rotate(s, "acme", id, 60, 3000, &w) == STORE_OK, "rotate again");
    webhook_release(&w);
    CHECK(store_webhook_rotate(s, "acme", id, 0, 3001, &w) == STORE_OK &&
              w.previous_secret[0] == '\0' && w.previous_until == 0, "overlap 0: none");
    o = rotation_to_json(&w);
    CHECK(json_object_object_get_ex(o, "previousSecretExpiresAt", NULL) &&
              json_object_object_get(o, "previousSecretExpiresAt") == NULL,
          "overlap 0: previousSecretExpiresAt is null");
    json_object_put(o);
    webhook_release(&w);
    CHECK(store_webhook_get(s, "acme", id, &got) == STORE_OK && got.previous_secret[0] == '\0',
          "overlap 0 removed the previous secret");
    webhook_release(&got);

    CHECK(store_webhook_rotate(s, "acme", id, 60, 4000, &w) == STORE_OK, "rotate before delete");
    webhook_release(&w);
    CHECK(store_webhook_delete(s, "acme", id) == STORE_OK &&
              store_secret_prune(s, 1LL << 40, &removed) == STORE_OK && removed == 0,
          "delete takes the previous secret with it");
    CHECK(store_webhook_rotate(s, "acme", id, 60, 5000, &w) == STORE_NOTFOUND, "rotate unknown");
    CHECK(store_webhook_rotate(s, "other", id, 60, 5000, &w) == STORE_NOTFOUND,
          "rotate another tenant's id");
    store_close(s);
    config_release(&cfg);
}

/* The edit callback of a process that is killed inside its transaction. */
static int
stall_in_txn(struct webhook *w, void *ctx)
{
    int *ready = ctx;

    (void)w;
    if (write(*ready, "x", 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

static int
set_description(struct webhook *w, void *ctx)
{
    free(w->description);
    w->description = xstrdup(ctx);
    return 0;
}

/* True once pid is a zombie: ended, not yet reaped. */
static bool
is_zombie(pid_t pid)
{
    char path[64], buf[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *end = strrchr(buf, ')');
    return end != NULL && end[1] == ' ' && end[2] == 'Z';
}

/*
 * A process killed inside a write transaction and not yet reaped (its
 * parent is slow, or it is an orphan waiting for init) holds nothing: the
 * next process's failchk must free its locks, not take it for alive and
 * leave every writer waiting on them.
 */
static void
test_store_zombie_holds_nothing(void)
{
    struct config cfg;
    char err[512] = "";
    int ready[2];

    struct store *s = unit_store_open(&cfg, scratch, "db-zombie", "zombie: store opens");
    if (s == NULL)
        return;
    if (pipe(ready) != 0) {
        store_close(s);
        config_release(&cfg);
        return;
    }
    struct webhook w;
    sample_webhook(&w);
    CHECK(store_webhook_create(s, "acme", &w, 10) == STORE_OK, "zombie: create");
    store_close(s);

    pid_t child = fork();
    if (child == 0) {
        struct store *mine = store_open(&cfg, err, sizeof err);
        struct webhook unused;
        if (mine != NULL)
            store_webhook_update(mine, "acme", w.id, stall_in_txn, &ready[1], &unused);
        _exit(2);
    }
    close(ready[1]);
    char byte;
    bool stalled = child > 0 && read(ready[0], &byte, 1) == 1;
    CHECK(stalled, "zombie: the child holds the record's write lock");
    if (child > 0)
        kill(child, SIGKILL);
    for (int i = 0; i < 500 && child > 0 && !is_zombie(child); i++)
        usleep(10000);
    CHECK(child > 0 && is_zombie(child), "zombie: the killed child is not reaped yet");

    time_t start = time(NULL);
    s = store_open(&cfg, err, sizeof err);
    CHECK(s != NULL, "zombie: store opens beside the zombie: %s", err);
    struct webhook out;
    enum store_status st = s == NULL ? STORE_UNAVAILABLE
                                     : store_webhook_update(s, "acme", w.id, set_description,
                                                            "after", &out);
    CHECK(st == STORE_OK, "zombie: the record it locked can be written (status %d after %lds)",
          (int)st, (long)(time(NULL) - start));
    if (st == STORE_OK) {
        CHECK(out.description != NULL && strcmp(out.description, "after") == 0,
              "zombie: the write is what is stored");
        webhook_release(&out);
    }
    int status = 0;
    CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFSIGNALED(status),
          "zombie: reaped at last");
    store_close(s);
    webhook_release(&w);
    close(ready[0]);
    config_release(&cfg);
}

int
main(void)
{
    if ((scratch = unit_scratch_new("domain")) == NULL)
        return 1;
    test_config();
    test_endpoint();
    test_validation();
    test_webhook_codec();
    test_apikey_and_scope();
    test_store();
    test_delivery_query();
    test_delivery_codec();
    test_store_zombie_holds_nothing();
    test_rotation();
    unit_scratch_remove(scratch);
    return unit_summary("unit domain");
}
