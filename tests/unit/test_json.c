/* Unit tests for src/util/json (the strict reader, the member readers) and the decoders on it. */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "domain/apikey.h"
#include "domain/jwks.h"
#include "domain/webhook.h"
#include "unit.h"
#include "util/json.h"
#include "util/xalloc.h"

static void
test_read_object(void)
{
    static const struct {
        const char *in;
        size_t len;             /* 0: strlen(in) */
        int depth;
        unsigned flags;
        enum json_read_status want;
        size_t at;              /* checked unless OK / NOT_OBJECT / TRUNCATED */
    } cases[] = {
        { "{}", 0, 8, 0, JSON_READ_OK, 0 },
        { " {\"a\":1} \r\n\t", 0, 8, 0, JSON_READ_OK, 0 },
        { "{\"a\":[1,{\"b\":null}]}", 0, 8, 0, JSON_READ_OK, 0 },
        { "{} x", 0, 8, 0, JSON_READ_SYNTAX, 3 },
        { "{}{}", 0, 8, 0, JSON_READ_SYNTAX, 2 },
        { "{}\0 ", 4, 8, 0, JSON_READ_TRAILING, 2 },
        { "{\"a\":1", 0, 8, 0, JSON_READ_TRUNCATED, 0 },
        { "", 0, 8, 0, JSON_READ_TRUNCATED, 0 },
        { "12", 0, 8, 0, JSON_READ_TRUNCATED, 0 },       /* an object reader waits for more */
        { "[1]", 0, 8, 0, JSON_READ_NOT_OBJECT, 0 },
        { "\"s\"", 0, 8, 0, JSON_READ_NOT_OBJECT, 0 },
        { "null", 0, 8, 0, JSON_READ_TRUNCATED, 0 },
        { " null\r", 0, 8, 0, JSON_READ_NOT_OBJECT, 0 },
        { "{'a':1}", 0, 8, 0, JSON_READ_SYNTAX, 1 },      /* json-c takes it even when strict */
        { "{\"it's\":1}", 0, 8, 0, JSON_READ_OK, 0 },
        { "{\"a\\\"'\":1}", 0, 8, 0, JSON_READ_OK, 0 },
        { "{\"a\":1,}", 0, 8, 0, JSON_READ_SYNTAX, 7 },  /* trailing comma */
        { "{\"a\":NaN}", 0, 8, 0, JSON_READ_NUMBER, 0 },
        { "{\"a\":[1.]}", 0, 8, 0, JSON_READ_NUMBER, 0 },
        { "{\"a\":-Infinity}", 0, 8, 0, JSON_READ_NUMBER, 0 },
        { "{\"a\":99999999999999999999}", 0, 8, 0, JSON_READ_NUMBER, 0 },
        { "{\"a\":18446744073709551614,\"b\":-1.5e-3}", 0, 8, 0, JSON_READ_OK, 0 },
        { "{\"a\":01}", 0, 8, 0, JSON_READ_SYNTAX, 7 },
        { "{/*c*/}", 0, 8, 0, JSON_READ_SYNTAX, 1 },
        { "{\"a\":{\"b\":{}}}", 0, 3, 0, JSON_READ_OK, 0 },
        { "{\"a\":{\"b\":{\"c\":{}}}}", 0, 3, 0, JSON_READ_SYNTAX, 15 },
        { "{\"a\":\"\xff\"}", 0, 8, 0, JSON_READ_OK, 0 },
        { "{\"a\":\"\xff\"}", 0, 8, JSON_READ_UTF8, JSON_READ_SYNTAX, 6 },
        { "{\"a\":\"\xc3\xa9\"}", 0, 8, JSON_READ_UTF8, JSON_READ_OK, 0 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].in);
        struct json_read_error e;
        json_object *o = json_read_object(cases[i].in, len, cases[i].depth, cases[i].flags, &e);
        CHECK(e.status == cases[i].want, "case %zu: status %d, want %d (%s)", i, (int)e.status,
              (int)cases[i].want, e.desc);
        CHECK((o != NULL) == (cases[i].want == JSON_READ_OK), "case %zu: value iff OK", i);
        CHECK(e.desc != NULL && e.desc[0] != '\0', "case %zu: says why", i);
        if (e.status == JSON_READ_SYNTAX || e.status == JSON_READ_TRAILING)
            CHECK(e.at == cases[i].at, "case %zu: at %zu, want %zu", i, e.at, cases[i].at);
        json_object_put(o);
    }
    json_object *o = json_read_object("{}", 2, 8, 0, NULL);
    CHECK(o != NULL, "parses with no error report");
    json_object_put(o);
    CHECK(json_read_object("{", 1, 8, 0, NULL) == NULL, "fails with no error report");
}

static void
test_read_value(void)
{
    static const struct {
        const char *in;
        enum json_read_status want;
        enum json_type type;
    } cases[] = {
        { "42", JSON_READ_OK, json_type_int },
        { " -1.5e3 \n", JSON_READ_OK, json_type_double },
        { "true", JSON_READ_OK, json_type_boolean },
        { "null", JSON_READ_OK, json_type_null },
        { "[1,2]", JSON_READ_OK, json_type_array },
        { "\"x\"", JSON_READ_OK, json_type_string },
        { "{\"a\":1}", JSON_READ_OK, json_type_object },
        { "[1", JSON_READ_TRUNCATED, json_type_null },
        { "", JSON_READ_TRUNCATED, json_type_null },
        { "tru", JSON_READ_TRUNCATED, json_type_null },
        { "1 2", JSON_READ_SYNTAX, json_type_null },
        { "'x'", JSON_READ_SYNTAX, json_type_null },
        { "NaN", JSON_READ_NUMBER, json_type_null },
        { "-99999999999999999999", JSON_READ_NUMBER, json_type_null },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_read_error e;
        json_object *v = json_read_value(cases[i].in, strlen(cases[i].in), 8, JSON_READ_UTF8, &e);
        CHECK(e.status == cases[i].want, "value case %zu (%s): status %d (%s)", i, cases[i].in,
              (int)e.status, e.desc);
        if (cases[i].want == JSON_READ_OK)     /* json-c's null is NULL */
            CHECK(json_object_is_type(v, cases[i].type), "value case %zu: type", i);
        else
            CHECK(v == NULL, "value case %zu: no value", i);
        json_object_put(v);
    }
}

static void
test_members(void)
{
    static const char doc[] =
        "{\"s\":\"abc\",\"nul\":\"a\\u0000b\",\"n\":7,\"neg\":-3,\"big\":18446744073709551614,"
        "\"max\":9223372036854775807,\"d\":1.5,\"ns\":\"7\",\"t\":true,\"z\":null}";
    json_object *o = json_read_object(doc, strlen(doc), 8, JSON_READ_UTF8, NULL);
    char buf[4];
    size_t len = 0;
    int64_t n = -1;
    bool b = false;

    CHECK(o != NULL, "member test document parses");
    if (o == NULL)
        return;
    CHECK(json_member_string(o, "s", &len) != NULL && len == 3, "string member and length");
    CHECK(json_member_string(o, "n", NULL) == NULL, "a number is not a string");
    CHECK(json_member_string(o, "absent", NULL) == NULL, "absent string");
    CHECK(json_member_string(o, "z", NULL) == NULL, "null is not a string");

    CHECK(json_member_copy(o, "s", buf, sizeof buf) == 0 && strcmp(buf, "abc") == 0,
          "copy that just fits");
    CHECK(json_member_copy(o, "s", buf, 3) == -1 && buf[0] == '\0', "copy one byte short: refused, empty");
    CHECK(json_member_copy(o, "nul", buf, sizeof buf) == -1, "a string holding a NUL is refused");
    CHECK(json_member_copy(o, "n", buf, sizeof buf) == -1, "copy of a number is refused");
    CHECK(json_member_copy(o, "absent", buf, sizeof buf) == -1 && buf[0] == '\0', "copy of absent");

    CHECK(json_member_int(o, "n", 0, 10, &n) == 0 && n == 7, "int in range");
    CHECK(json_member_int(o, "n", 0, 6, &n) == -1 && n == 7, "int above max refused, out untouched");
    CHECK(json_member_int(o, "neg", 0, 10, &n) == -1, "int below min refused");
    CHECK(json_member_int(o, "neg", -3, -3, &n) == 0 && n == -3, "int at both bounds");
    CHECK(json_member_int(o, "max", INT64_MIN, INT64_MAX, &n) == 0 && n == INT64_MAX, "INT64_MAX");
    CHECK(json_member_int(o, "big", INT64_MIN, INT64_MAX, &n) == -1, "above INT64_MAX refused");
    CHECK(json_member_int(o, "d", INT64_MIN, INT64_MAX, &n) == -1, "a double is not an integer");
    CHECK(json_member_int(o, "ns", INT64_MIN, INT64_MAX, &n) == -1, "a string is not an integer");
    CHECK(json_member_int(o, "absent", INT64_MIN, INT64_MAX, &n) == -1, "absent integer");

    CHECK(json_member_bool(o, "t", &b) == 0 && b, "boolean");
    CHECK(json_member_bool(o, "n", &b) == -1, "a number is not a boolean");
    CHECK(json_member_bool(o, "absent", &b) == -1, "absent boolean");
    json_object_put(o);
}

/* text with suffix appended, in a new string */
static char *
with(const char *text, const char *suffix)
{
    char *s = xmalloc(strlen(text) + strlen(suffix) + 1);

    strcpy(s, text);
    strcat(s, suffix);
    return s;
}

/*
 * The stored-record decoders read what their writer writes, and now refuse
 * what they once let through: trailing bytes and json-c's lax syntax.
 */
static void
test_stored_records(void)
{
    static const char *const bad_tails[] = { " x", "{}", "\0" };
    struct webhook w, back;
    struct apikey rec, kback;
    char key[APIKEY_LEN + 1];

    webhook_init(&w);
    memset(w.id, 'a', WEBHOOK_ID_LEN);
    memset(w.secret, 's', WEBHOOK_SECRET_LEN);
    w.endpoint = xstrdup("https://e.example/hook");
    w.events = xcalloc(1, sizeof *w.events);
    w.events[w.n_events++] = xstrdup("A:B");
    w.description = xstrdup("caf\xc3\xa9 'quoted'");
    char *text = webhook_to_string(&w);
    CHECK(webhook_from_string(&back, text, strlen(text)) == 0 &&
              strcmp(back.description, w.description) == 0 && back.n_events == 1,
          "webhook: reads what it writes: %s", text);
    webhook_release(&back);
    for (size_t i = 0; i < sizeof bad_tails / sizeof bad_tails[0]; i++) {
        char *t = with(text, bad_tails[i]);
        size_t len = strlen(t) + (strcmp(bad_tails[i], "\0") == 0 ? 1 : 0);
        CHECK(webhook_from_string(&back, t, len) == -1, "webhook: trailing %zu refused", i);
        free(t);
    }
    CHECK(webhook_from_string(&back, text, strlen(text) - 1) == -1, "webhook: truncated refused");
    free(text);
    webhook_release(&w);

    CHECK(apikey_generate(&rec, key, "acme", 3, "l\xe9gacy") == 0, "apikey generated");
    text = apikey_to_string(&rec);
    CHECK(apikey_from_string(&kback, text, strlen(text)) == 0 && kback.scopes == 3 &&
              strcmp(kback.label, rec.label) == 0,
          "apikey: reads what it writes, a label that is not UTF-8 too");
    char *t = with(text, " x");
    CHECK(apikey_from_string(&kback, t, strlen(t)) == -1, "apikey: trailing bytes refused");
    free(t);
    CHECK(apikey_from_string(&kback, text, strlen(text) - 1) == -1, "apikey: truncated refused");
    t = with(text, "");
    t[strlen(t) - 1] = ',';     /* json-c's lax mode takes a trailing comma */
    char *lax = with(t, "}");
    CHECK(apikey_from_string(&kback, lax, strlen(lax)) == -1, "apikey: trailing comma refused");
    free(lax);
    free(t);
    free(text);
}

/* JWK Sets from an identity provider: lax syntax json-c would take is refused. */
static void
test_jwks_strict(void)
{
    static const char *const bad[] = {
        "{\"keys\":[],}", "{'keys':[]}", "{\"keys\":[]} x", "{\"keys\":[NaN]}",
        "{\"keys\":[\"\xff\"]}",
    };
    char err[128];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jwks *set = jwks_new();
        err[0] = '\0';
        CHECK(jwks_parse(set, bad[i], strlen(bad[i]), 0, err, sizeof err) == -1 &&
                  strcmp(err, "not valid JSON") == 0,
              "jwks: %s refused (%s)", bad[i], err);
        jwks_free(set);
    }
    struct jwks *set = jwks_new();
    CHECK(jwks_parse(set, "[]", 2, 0, err, sizeof err) == -1 && strcmp(err, "not a JSON object") == 0,
          "jwks: an array is not an object (%s)", err);
    jwks_free(set);
}

int
main(void)
{
    test_read_object();
    test_read_value();
    test_members();
    test_stored_records();
    test_jwks_strict();
    return unit_summary("unit json");
}
