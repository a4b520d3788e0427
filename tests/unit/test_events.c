/*
 * test_events - the event side of the sender: pattern matching, signatures,
 * event files and the spool, each from a table of cases.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/event.h"
#include "domain/pattern.h"
#include "domain/signature.h"
#include "domain/spool.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "unit.h"

static void
test_patterns(void)
{
    static const struct {
        const char *pattern, *type;
        bool match;
    } cases[] = {
        /* the examples of the specification */
        { "Customer:*", "customer.upserted", true },
        { "Customer:*", "Customer:Upserted", true },
        { "customer.*", "Customer:Upserted", true },
        { "store.*.updated", "Store:Product:Updated", true },
        { "store.*.updated", "store.product.updated", true },
        { "*", "Pass:Created", true },
        { "*", "x", true },
        /* exact, case and separator equivalence */
        { "Pass:Created", "Pass:Created", true },
        { "Pass:Created", "pass:created", true },
        { "PASS.CREATED", "pass:created", true },
        { "pass.created", "Pass:Created", true },
        { "a:b.c", "A.B:C", true },
        /* no match */
        { "Pass:Created", "Pass:Installed", false },
        { "Pass:Created", "Pass:CreatedX", false },
        { "Pass:Created", "Pass:Create", false },
        { "Pass:Created", "XPass:Created", false },
        { "Customer:*", "Customers:Upserted", false },
        { "Customer:*", "Customer", false },
        { "Customer:*", "Pass:Customer", false },
        { "store.*.updated", "store.product.created", false },
        { "store.*.updated", "store.updated", false },
        { "Pass-Created", "Pass:Created", false },
        { "Pass_Created", "Pass:Created", false },
        /* '*' spans separators and may be empty */
        { "Customer:*", "Customer:", true },
        { "store.*.updated", "store..updated", true },
        { "store.*.updated", "store.a.b.c.updated", true },
        { "*:Created", "Pass:Created", true },
        { "*:Created", "Pass:Created:Again", false },
        { "*Created", "Created", true },
        { "Pass*", "Pass", true },
        { "Pa*ed", "Pass:Created", true },
        /* several stars */
        { "*.*", "Pass:Created", true },
        { "*.*", "PassCreated", false },
        { "**", "anything", true },
        { "a*b*c", "aXXbYYc", true },
        { "a*b*c", "abc", true },
        { "a*b*c", "acb", false },
        { "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
        { "*b*b", "abab", true },
        { "*:*:*", "a:b", false },
        { "*:*:*", "a:b:c", true },
        /* empty segments are literal */
        { "store..updated", "store::updated", true },
        { "store..updated", "store.x.updated", false },
        { ":Created", ".created", true },
        { "Pass:", "pass.", true },
        /* empty strings */
        { "", "", true },
        { "", "Pass:Created", false },
        { "*", "", true },
        { "Pass", "", false },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(pattern_match(cases[i].pattern, cases[i].type) == cases[i].match,
              "pattern \"%s\" vs \"%s\" should %s", cases[i].pattern, cases[i].type,
              cases[i].match ? "match" : "not match");

    const char *const list[] = { "Pass:Created", "Customer:*" };
    CHECK(pattern_match_any(list, 2, "customer.deleted"), "second pattern of a list matches");
    CHECK(pattern_match_any(list, 2, "PASS:CREATED"), "first pattern of a list matches");
    CHECK(!pattern_match_any(list, 2, "Pass:Installed"), "no pattern of a list matches");
    CHECK(!pattern_match_any(list, 0, "Pass:Created"), "an empty list matches nothing");
    CHECK(!pattern_match(NULL, "x") && !pattern_match("x", NULL), "NULL matches nothing");
}

/* webhook-signature (Standard Webhooks): vectors computed with Python's hmac and base64. */
static void
test_standard_signatures(void)
{
    static const struct {
        const char *secret, *msg_id;
        long long ts;
        const char *body, *want;
    } vectors[] = {
        { "0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ0123",
          "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, "{\"test\": 2432232314}",
          "v1,OLuPeqlw824Py2MnhmJ9SdDlxq12aYadjUUr/3SB8/o=" },
        /* an empty body: the signed content still ends with the second dot */
        { "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01",
          "0123456789abcdef0123456789abcdef", 1764583200, "",
          "v1,pfamWHhiG1Po3WXc/2K9sQT5xBgkVn84pXafLAmfEG8=" },
    };
    char out[SIGNATURE_STANDARD_MAX];

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        CHECK(signature_standard(vectors[i].secret, vectors[i].msg_id, vectors[i].ts,
                                 vectors[i].body, strlen(vectors[i].body), out) == 0 &&
                  strcmp(out, vectors[i].want) == 0,
              "standard vector %zu: got %s", i, out);
        CHECK(signature_standard(vectors[i].secret, vectors[i].msg_id, vectors[i].ts + 1,
                                 vectors[i].body, strlen(vectors[i].body), out) == 0 &&
                  strcmp(out, vectors[i].want) != 0,
              "standard vector %zu: another timestamp signs differently", i);
    }
    CHECK(signature_standard(NULL, "id", 1, "", 0, out) == -1 && out[0] == '\0',
          "no secret: no signature");
}

static void
test_signatures(void)
{
    /* Expected values computed with `openssl dgst -sha256 -hmac` and Python's hmac. */
    static const struct {
        const char *secret, *body, *hex, *base64;
    } vectors[] = {
        { "aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9aZ3k9abcd",
          "{\"eventId\":\"evt_1\",\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
          "\"timestamp\":\"2026-11-28T18:00:00Z\",\"data\":{\"passId\":\"p-1\"}}",
          "828bbaaa10e3c7bf86ad3fee01d5e73ee34e40fa4324fb0a956754b6224297f2",
          "gou6qhDjx7+GrT/uAdXnPuNOQPpDJPsKlWdUtiJCl/I=" },
        { "key", "The quick brown fox jumps over the lazy dog",
          "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
          "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=" },
        /* RFC 4231 test case 2 */
        { "Jefe", "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", NULL },
        /* an empty body */
        { "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01", "",
          "616720bab2c21b76dadcbf7e6f056b8e012f479fdb3ca3f14c724b9e89a831e4",
          "YWcgurLCG3ba3L9+bwVrjgEvR5/bPKPxTHJLnomoMeQ=" },
    };

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *secret = vectors[i].secret, *body = vectors[i].body;
        size_t len = strlen(body);
        char out[SIGNATURE_MAX];

        CHECK(signature_compute(secret, body, len, SIGNATURE_HEX, out) == 0, "vector %zu hex", i);
        CHECK(strcmp(out, vectors[i].hex) == 0, "vector %zu hex: got %s", i, out);
        CHECK(signature_verify(secret, body, len, vectors[i].hex), "vector %zu verifies (hex)", i);
        if (vectors[i].base64 != NULL) {
            CHECK(signature_compute(secret, body, len, SIGNATURE_BASE64, out) == 0,
                  "vector %zu base64", i);
            CHECK(strcmp(out, vectors[i].base64) == 0, "vector %zu base64: got %s", i, out);
            CHECK(signature_verify(secret, body, len, vectors[i].base64),
                  "vector %zu verifies (base64)", i);
        }
        /* Upper-case hex is the same signature. */
        char upper[SIGNATURE_MAX];
        snprintf(upper, sizeof upper, "%s", vectors[i].hex);
        for (char *p = upper; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
        CHECK(signature_verify(secret, body, len, upper), "vector %zu verifies (upper hex)", i);
        /* One changed body byte, secret byte or signature digit fails. */
        if (len > 0) {
            char *changed = xstrdup(body);
            changed[len / 2] ^= 0x01;
            CHECK(!signature_verify(secret, changed, len, vectors[i].hex),
                  "vector %zu: changed body refused", i);
            free(changed);
        }
        char *other_secret = xstrdup(secret);
        other_secret[0] ^= 0x01;
        CHECK(!signature_verify(other_secret, body, len, vectors[i].hex),
              "vector %zu: other secret refused", i);
        free(other_secret);
        char wrong[SIGNATURE_MAX];
        snprintf(wrong, sizeof wrong, "%s", vectors[i].hex);
        wrong[63] = wrong[63] == '0' ? '1' : '0';
        CHECK(!signature_verify(secret, body, len, wrong), "vector %zu: wrong digit refused", i);
    }

    const char *secret = "key", *body = "The quick brown fox jumps over the lazy dog";
    static const char *const refused[] = {
        "", "f7bc83f4", "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8 ",
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd",
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
        "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg", /* unpadded */
        "g7yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        CHECK(!signature_verify(secret, body, strlen(body), refused[i]),
              "signature \"%s\" refused", refused[i]);
    CHECK(!signature_verify(secret, body, strlen(body), NULL), "NULL signature refused");
}

/* True if s looks like YYYY-MM-DDTHH:MM:SSZ. */
static bool
is_utc_seconds(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

    if (strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return false;
    return true;
}

static void
test_event_parse(void)
{
    static const struct {
        const char *json, *why;
    } bad[] = {
        { "", "empty" },
        { "   ", "blank" },
        { "{", "truncated" },
        { "[]", "not an object" },
        { "\"Pass:Created\"", "a string" },
        { "null", "null" },
        { "42", "a number" },
        { "{\"tenantId\":\"acme\"}", "missing eventType" },
        { "{\"eventType\":\"Pass:Created\"}", "missing tenantId" },
        { "{\"eventType\":null,\"tenantId\":\"acme\"}", "null eventType" },
        { "{\"eventType\":7,\"tenantId\":\"acme\"}", "numeric eventType" },
        { "{\"eventType\":[\"Pass:Created\"],\"tenantId\":\"acme\"}", "array eventType" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":1}", "numeric tenantId" },
        { "{\"eventType\":\"\",\"tenantId\":\"acme\"}", "empty eventType" },
        { "{\"eventType\":\"Pass:*\",\"tenantId\":\"acme\"}", "star in eventType" },
        { "{\"eventType\":\"Pass Created\",\"tenantId\":\"acme\"}", "space in eventType" },
        { "{\"eventType\":\"Pass:Créé\",\"tenantId\":\"acme\"}", "non-ASCII eventType" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"\"}", "empty tenantId" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"ac me\"}", "space in tenantId" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme.corp\"}", "dot in tenantId" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"../x\"}", "path in tenantId" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":"
          "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
          "65-character tenantId" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"eventId\":5}", "numeric id" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"eventId\":\"\"}", "empty id" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"eventId\":\"a/b\"}",
          "slash in id" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"timestamp\":12}",
          "numeric timestamp" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"timestamp\":\"yesterday\"}",
          "timestamp in words" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
          "\"timestamp\":\"2026-11-28 18:00:00\"}", "timestamp without T and zone" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
          "\"timestamp\":\"2026-02-30T18:00:00Z\"}", "30 February" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
          "\"timestamp\":\"2026-11-28T24:00:00Z\"}", "hour 24" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
          "\"timestamp\":\"2026-11-28T18:00:00+0100\"}", "offset without colon" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\"} x", "trailing garbage" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\"}{}", "two objects" },
        { "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\",\"data\":\"\xff\"}",
          "invalid UTF-8" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":NaN}", "NaN" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":[-Infinity]}", "Infinity" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":{\"x\":1.}}", "1." },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":{\"x\":[01]}}", "01" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":[1,]}", "trailing comma" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":123456789012345678901}",
          "integer beyond 64 bits" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",\"data\":[-9223372036854775809]}",
          "integer below -2^63" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"acme\",/* c */\"data\":1}", "comment" },
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct event ev;
        char err[256] = "";
        int rc = event_parse(&ev, bad[i].json, strlen(bad[i].json), err, sizeof err);
        CHECK(rc == -1, "%s should be refused", bad[i].why);
        CHECK(err[0] != '\0', "%s: a reason is given", bad[i].why);
        CHECK(ev.data == NULL, "%s: nothing owned after a failure", bad[i].why);
        event_release(&ev);
    }

    /* A minimal event: generated id, current time, data {}. */
    struct event ev;
    char err[256];
    const char *min = "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\"}";
    time_t before = time(NULL);
    CHECK(event_parse(&ev, min, strlen(min), err, sizeof err) == 0, "minimal event: %s", err);
    CHECK(strncmp(ev.id, "evt_", 4) == 0 && strlen(ev.id) == 28, "generated id %s", ev.id);
    CHECK(event_id_valid(ev.id), "generated id is a valid id");
    CHECK(is_utc_seconds(ev.timestamp), "generated timestamp %s", ev.timestamp);
    struct tm tm = { 0 };
    CHECK(strptime(ev.timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL, "timestamp parses");
    time_t stamped = timegm(&tm);
    CHECK(stamped >= before && stamped <= time(NULL), "timestamp is now (%s)", ev.timestamp);
    CHECK(strcmp(ev.type, "Pass:Created") == 0 && strcmp(ev.tenant, "acme") == 0,
          "type and tenant kept");
    char *body = event_body(&ev);
    char want[256];
    snprintf(want, sizeof want,
             "{\"eventId\":\"%s\",\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
             "\"timestamp\":\"%s\",\"data\":{}}", ev.id, ev.timestamp);
    CHECK(strcmp(body, want) == 0, "minimal body: %s", body);
    free(body);

    /* Two parses of the same id-less file draw different ids. */
    struct event ev2;
    CHECK(event_parse(&ev2, min, strlen(min), err, sizeof err) == 0, "second parse");
    CHECK(strcmp(ev.id, ev2.id) != 0, "generated ids differ (%s, %s)", ev.id, ev2.id);
    event_release(&ev2);
    event_release(&ev);

    /* Everything given: members reordered, whitespace, unknown members ignored. */
    const char *full =
        "\n{ \"data\" : {\"passId\": \"p-1\", \"n\": [1, 2.50, true, null], \"url\": \"a/b\","
        " \"s\": \"caf\xc3\xa9 \\\"q\\\" \\u00e9\"},\n"
        "  \"timestamp\": \"2026-11-28T19:30:15.250+01:30\", \"extra\": 1,\n"
        "  \"tenantId\": \"acme_1-x\", \"eventType\": \"store.product.updated\","
        " \"eventId\": \"ord-42:v1\" }\n";
    CHECK(event_parse(&ev, full, strlen(full), err, sizeof err) == 0, "full event: %s", err);
    CHECK(strcmp(ev.id, "ord-42:v1") == 0, "given id kept: %s", ev.id);
    CHECK(strcmp(ev.timestamp, "2026-11-28T18:00:15.250Z") == 0, "timestamp in UTC: %s",
          ev.timestamp);
    body = event_body(&ev);
    const char *want_full =
        "{\"eventId\":\"ord-42:v1\",\"eventType\":\"store.product.updated\","
        "\"tenantId\":\"acme_1-x\",\"timestamp\":\"2026-11-28T18:00:15.250Z\","
        "\"data\":{\"passId\":\"p-1\",\"n\":[1,2.50,true,null],\"url\":\"a/b\","
        "\"s\":\"caf\xc3\xa9 \\\"q\\\" \xc3\xa9\"}}";
    CHECK(strcmp(body, want_full) == 0, "full body:\n got  %s\n want %s", body, want_full);
    /* The body is itself an event file that parses back to the same body. */
    struct event again;
    CHECK(event_parse(&again, body, strlen(body), err, sizeof err) == 0, "body re-parses");
    char *body2 = event_body(&again);
    CHECK(strcmp(body, body2) == 0, "body is stable across re-parsing: %s", body2);
    free(body2);
    event_release(&again);
    free(body);
    event_release(&ev);

    /* Timestamps: zones, lower case, leap day, day rollover. */
    static const struct {
        const char *in, *out;
    } stamps[] = {
        { "2026-11-28T18:00:00Z", "2026-11-28T18:00:00Z" },
        { "2026-11-28t18:00:00z", "2026-11-28T18:00:00Z" },
        { "2026-11-28T18:00:00+00:00", "2026-11-28T18:00:00Z" },
        { "2026-11-28T18:00:00-00:00", "2026-11-28T18:00:00Z" },
        { "2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z" },
        { "2028-02-29T00:10:00+00:20", "2028-02-28T23:50:00Z" },
        { "2026-11-28T18:00:00.123456789Z", "2026-11-28T18:00:00.123456789Z" },
    };
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"eventType\":\"A:B\",\"tenantId\":\"t\",\"timestamp\":\"%s\"}", stamps[i].in);
        int rc = event_parse(&ev, json, strlen(json), err, sizeof err);
        CHECK(rc == 0 && strcmp(ev.timestamp, stamps[i].out) == 0, "timestamp %s -> %s, got %s",
              stamps[i].in, stamps[i].out, rc == 0 ? ev.timestamp : err);
        event_release(&ev);
    }

    /* data: any JSON value; explicit null stays null. */
    static const struct {
        const char *data, *out;
    } datas[] = {
        { "null", "null" }, { "[]", "[]" }, { "\"text\"", "\"text\"" }, { "0", "0" },
        { "-1.5e3", "-1.5e3" }, { "false", "false" }, { "[0.5,-0,1E+2,2e-3]", "[0.5,0,1E+2,2e-3]" },
        { "[9223372036854775807,18446744073709551614,-9223372036854775807]",
          "[9223372036854775807,18446744073709551614,-9223372036854775807]" }, { "{\"a\":{\"b\":{}}}", "{\"a\":{\"b\":{}}}" },
    };
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        char json[256], expect[256];
        snprintf(json, sizeof json,
                 "{\"eventId\":\"e1\",\"eventType\":\"A:B\",\"tenantId\":\"t\","
                 "\"timestamp\":\"2026-01-01T00:00:00Z\",\"data\":%s}", datas[i].data);
        snprintf(expect, sizeof expect,
                 "{\"eventId\":\"e1\",\"eventType\":\"A:B\",\"tenantId\":\"t\","
                 "\"timestamp\":\"2026-01-01T00:00:00Z\",\"data\":%s}", datas[i].out);
        CHECK(event_parse(&ev, json, strlen(json), err, sizeof err) == 0, "data %s: %s",
              datas[i].data, err);
        body = event_body(&ev);
        CHECK(strcmp(body, expect) == 0, "data %s: body %s", datas[i].data, body);
        free(body);
        event_release(&ev);
    }

    /* event_data_parse: one JSON value of any type. */
    json_object *value = NULL;
    CHECK(event_data_parse(" [1, 2] ", 8, &value, err, sizeof err) == 0 &&
          json_object_is_type(value, json_type_array), "data array parses");
    json_object_put(value);
    CHECK(event_data_parse("null", 4, &value, err, sizeof err) == 0 && value == NULL,
          "data null parses to NULL");
    CHECK(event_data_parse("{} {}", 5, &value, err, sizeof err) == -1 && value == NULL &&
          err[0] != '\0', "two values refused: %s", err);
    CHECK(event_data_parse("", 0, &value, err, sizeof err) == -1, "empty data refused");
    CHECK(event_data_parse("[1,", 3, &value, err, sizeof err) == -1, "truncated data refused");

    /* Validators at their limits. */
    char longest[EVENT_TYPE_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[EVENT_TYPE_MAX] = '\0';
    CHECK(event_type_valid(longest) && event_id_valid(longest), "128 characters accepted");
    longest[EVENT_TYPE_MAX] = 'a';
    longest[EVENT_TYPE_MAX + 1] = '\0';
    CHECK(!event_type_valid(longest) && !event_id_valid(longest), "129 characters refused");
    CHECK(event_type_valid("Redirect:Redirected") && event_type_valid("store.product.updated"),
          "examples of the specification are valid types");
    CHECK(!event_type_valid("*") && !event_type_valid(""), "'*' and empty are not types");
    event_release(NULL);
}

/* Counts the entries of dir that are not "." or "..". */
static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;

    if (d == NULL)
        return -1;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* True if path exists. */
static bool
exists(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    struct stat st;
    bool ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

/* dir/name in a static buffer, for the calls that need a path once. */
static const char *
p_link(const char *dir, const char *name)
{
    static char path[4096];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void
test_spool(void)
{
    char *root = unit_scratch_new("spool");
    CHECK(root != NULL, "mkdtemp: %s", strerror(errno));
    if (root == NULL)
        return;
    char *spool = xasprintf("%s/a/b/spool", root);
    char *tmp = spool_path(spool, SPOOL_TMP, NULL), *new = spool_path(spool, SPOOL_NEW, NULL);
    char *active = spool_path(spool, SPOOL_ACTIVE, NULL);
    char *deferred = spool_path(spool, SPOOL_DEFERRED, NULL);
    char *failed = spool_path(spool, SPOOL_FAILED, NULL);

    CHECK(spool_create_dirs(spool) == 0, "spool_create_dirs creates missing parents: %s", strerror(errno));
    CHECK(spool_create_dirs(spool) == 0, "spool_create_dirs again is fine");
    CHECK(count_entries(tmp) == 0 && count_entries(new) == 0 && count_entries(active) == 0 &&
          count_entries(deferred) == 0 && count_entries(failed) == 0, "five empty directories");

    const char *data = "{\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\"}";
    char name[128], name2[128];
    CHECK(spool_publish(spool, data, strlen(data), name, sizeof name) == 0, "publish");
    CHECK(spool_publish(spool, data, strlen(data), name2, sizeof name2) == 0, "publish again");
    CHECK(strcmp(name, name2) != 0, "unique names %s %s", name, name2);
    CHECK(strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".json") == 0, "name %s", name);
    CHECK(count_entries(new) == 2, "two files in new/");
    CHECK(count_entries(tmp) == 0, "nothing left in tmp/");
    struct buf b;
    buf_init(&b);
    char *path = spool_path(spool, SPOOL_NEW, name);
    CHECK(fileio_read(path, 1 << 20, &b) == 0 && b.len == strlen(data) &&
          memcmp(b.data, data, b.len) == 0, "file holds exactly the bytes published");
    free(path);
    buf_release(&b);
    char small[4];
    CHECK(spool_publish(spool, data, strlen(data), small, sizeof small) == -1 && errno == ERANGE,
          "too small a name buffer is an error");
    CHECK(spool_publish("/nonexistent/spool", data, 1, name2, sizeof name2) == -1,
          "publishing into a missing spool fails");

    char **names;
    size_t n;
    CHECK(spool_list(spool, SPOOL_NEW, &names, &n) == 0 && n == 3, "list new/: %zu", n);
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(names[i - 1], names[i]) < 0, "sorted");
    spool_names_free(names, n);

    /* claim: the first wins, the second sees "gone". */
    CHECK(spool_claim(spool, name, NULL) == 0, "claim");
    CHECK(spool_claim(spool, name, NULL) == 1, "second claim finds it gone");
    CHECK(exists(active, name) && !exists(new, name), "claimed file is in active/");
    CHECK(spool_claim(spool, "../x", NULL) == -1 && errno == EINVAL, "path names refused");
    CHECK(spool_claim(spool, ".hidden", NULL) == -1 && errno == EINVAL, "dot names refused");

    /* A record is written straight into deferred/ and claimed from there when due. */
    time_t now = time(NULL);
    size_t moved = 99;
    static const char rec[] = "dlv-0123456789abcdef0123456789abcdef";
    CHECK(spool_record_name(rec) && !spool_record_name("dlv-0123456789ABCDEF0123456789abcdef") &&
              !spool_record_name("dlv-0123") && !spool_record_name(name) &&
              !spool_record_name("dlv-0123456789abcdef0123456789abcdef.event"),
          "record names are dlv- and 32 lowercase hex digits");
    CHECK(spool_store_deferred(spool, name, "x", 1, now) == -1 && errno == EINVAL,
          "only a record's name is stored as a record");
    CHECK(spool_store_deferred(spool, rec, "{}", 2, now + 3600) == 0, "store a record");
    CHECK(exists(deferred, rec) && count_entries(tmp) == 0 && count_entries(deferred) == 1,
          "in deferred/ only, nothing in tmp/");
    CHECK(spool_list_due(spool, now, &names, &n) == 0 && n == 0, "not yet due: %zu", n);
    spool_names_free(names, n);
    time_t next_due = 1;
    CHECK(spool_list_due_next(spool, now, &names, &n, &next_due) == 0 && n == 0 &&
              next_due == now + 3600, "nothing due: the earliest time to come is %lld",
          (long long)next_due);
    spool_names_free(names, n);
    CHECK(spool_list_due_next(spool, now + 3600, &names, &n, &next_due) == 0 && n == 1 &&
              next_due == 0, "something due: look again at once (%lld)", (long long)next_due);
    spool_names_free(names, n);
    CHECK(spool_claim_due(spool, rec, now, NULL) == 1 && exists(deferred, rec),
          "a record not due is not claimed");
    CHECK(spool_list_due(spool, now + 3600, &names, &n) == 0 && n == 1, "due: %zu", n);
    spool_names_free(names, n);
    CHECK(spool_claim_due(spool, rec, now + 3600, NULL) == 0 && exists(active, rec),
          "a due record is claimed into active/");
    CHECK(spool_claim_due(spool, "../new/x", now, NULL) == -1 && errno == EINVAL &&
              spool_claim_due(spool, ".tmp.x", now, NULL) == -1 && errno == EINVAL,
          "only valid names are claimed from deferred/ (no path, no temporary file)");
    CHECK(spool_claim_due(spool, name, now, NULL) == 1,
          "a parked event that is not in deferred/ is not claimed (1: gone)");
    CHECK(spool_unclaim(spool, rec) == 0 && exists(deferred, rec) && !exists(new, rec),
          "a record given back goes to deferred/, never to new/");
    CHECK(spool_list_due(spool, time(NULL), &names, &n) == 0 && n == 1, "due at once");
    spool_names_free(names, n);
    CHECK(spool_claim_due(spool, rec, time(NULL), NULL) == 0, "claimed again");
    CHECK(spool_store_deferred(spool, rec, "{}", 2, now + 3600) == 0, "a newer record");
    CHECK(spool_recover_active(spool, true, &moved) == 0 && !exists(active, rec) &&
              exists(deferred, rec),
          "recovery keeps the newer record and drops the claimed one");
    struct stat st;
    path = spool_path(spool, SPOOL_DEFERRED, rec);
    CHECK(stat(path, &st) == 0 && st.st_mtime == now + 3600 && st.st_size == 2,
          "the newer record kept its time");
    free(path);
    CHECK(spool_store_failed(spool, rec, "{}", 2, "no attempts left") == 0 &&
              exists(failed, rec) && exists(failed, "dlv-0123456789abcdef0123456789abcdef.reason"),
          "a dead record and its reason in failed/");
    CHECK(spool_remove(spool, SPOOL_DEFERRED, rec) == 0, "remove the deferred one");
    CHECK(spool_requeue(spool, rec) == 0 && exists(deferred, rec) && !exists(new, rec) &&
              count_entries(failed) == 0,
          "a requeued record goes to deferred/, due");
    CHECK(spool_remove(spool, SPOOL_DEFERRED, rec) == 0, "remove it");
    CHECK(spool_list_due_next(spool, now, &names, &n, &next_due) == 0 && n == 0 &&
              next_due == (time_t)-1, "deferred/ empty: no time to come (%lld)",
          (long long)next_due);
    spool_names_free(names, n);

    /* An event parked as it is: same name in deferred/, due at its mtime, claimed back. */
    {
        char parked[128];
        int pfd = -1;
        CHECK(spool_publish(spool, data, strlen(data), parked, sizeof parked) == 0 &&
                  spool_claim(spool, parked, &pfd) == 0, "claim an event to park");
        char *pactive = spool_active_name(parked);
        CHECK(spool_park(spool, pactive, pfd, now + 60) == 0 && exists(deferred, pactive) &&
                  !exists(active, pactive), "parked into deferred/ under its active/ name");
        if (pfd >= 0)
            close(pfd);
        path = spool_path(spool, SPOOL_DEFERRED, pactive);
        CHECK(stat(path, &st) == 0 && st.st_mtime == now + 60, "its mtime is its due time");
        free(path);
        CHECK(spool_list_due(spool, now, &names, &n) == 0 && n == 0, "not listed before");
        spool_names_free(names, n);
        CHECK(spool_list_due(spool, now + 60, &names, &n) == 0 && n == 1 &&
                  strcmp(names[0], pactive) == 0, "listed when due");
        spool_names_free(names, n);
        CHECK(spool_claim_due(spool, pactive, now + 60, NULL) == 0 && exists(active, pactive),
              "claimed back into active/ under the same name");
        CHECK(spool_park(spool, "../x", 0, now) == -1 && errno == EINVAL, "no path is parked");
        CHECK(spool_recover_active(spool, true, &moved) == 0 && exists(new, parked),
              "recovery gives the event back to new/");
        CHECK(spool_remove(spool, SPOOL_NEW, parked) == 0, "remove it");
        free(pactive);
    }

    /* A producer's file named like a record is an event file, under another name. */
    path = spool_path(spool, SPOOL_NEW, rec);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && close(fd) == 0, "a producer writes new/%s", rec);
    free(path);
    CHECK(spool_claim(spool, rec, NULL) == 0 && !exists(active, rec) &&
              exists(active, "dlv-0123456789abcdef0123456789abcdef.event"),
          "claimed as NAME.event");
    CHECK(spool_recover_active(spool, true, &moved) == 0 &&
              exists(new, "dlv-0123456789abcdef0123456789abcdef.event") &&
              count_entries(deferred) == 0,
          "and given back to new/, never to deferred/");
    CHECK(spool_remove(spool, SPOOL_NEW, "dlv-0123456789abcdef0123456789abcdef.event") == 0,
          "remove it");

    /* Symbolic links are never followed. */
    CHECK(symlink("/etc/hostname", p_link(new, "link.json")) == 0, "a link in new/");
    CHECK(spool_claim(spool, "link.json", NULL) == -1 && errno == ELOOP &&
              !exists(active, "link.json"),
          "a symbolic link is not claimed");
    unlink(p_link(new, "link.json"));

    /* A name too long for NAME.reason still gets a reason file, of at most 255 bytes. */
    char long_name[251], short_reason[SPOOL_REASON_NAME_MAX + 1], other[SPOOL_REASON_NAME_MAX + 1];
    memset(long_name, 'a', 250);
    long_name[250] = '\0';
    spool_reason_name(long_name, short_reason);
    CHECK(strlen(short_reason) == 255 && strncmp(short_reason, long_name, 200) == 0 &&
              strcmp(short_reason + 248, ".reason") == 0,
          "shortened reason name %s", short_reason);
    long_name[249] = 'b';
    spool_reason_name(long_name, other);
    CHECK(strcmp(short_reason, other) != 0, "two long names differing at the end differ");
    spool_reason_name("short.json", other);
    CHECK(strcmp(other, "short.json.reason") == 0, "short names keep NAME.reason");
    path = spool_path(spool, SPOOL_NEW, long_name);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && close(fd) == 0, "a file with a 250-byte name");
    free(path);
    CHECK(spool_claim(spool, long_name, NULL) == 0 && spool_fail(spool, long_name, "bad") == 0,
          "dead-lettered: %s", strerror(errno));
    spool_reason_name(long_name, other);
    CHECK(exists(failed, long_name) && exists(failed, other), "with its reason");
    CHECK(spool_requeue(spool, long_name) == 0 && !exists(failed, other) &&
              spool_remove(spool, SPOOL_NEW, long_name) == 0,
          "requeue removes the shortened reason");

    /* fail: reason beside the file; requeue puts it back and removes the reason. */
    CHECK(spool_claim(spool, name, NULL) == 0, "claim again");
    CHECK(spool_fail(spool, name, "malformed JSON\nat byte 3") == 0, "fail");
    char *reason_name = xasprintf("%s.reason", name);
    CHECK(exists(failed, name) && exists(failed, reason_name), "file and reason in failed/");
    buf_init(&b);
    path = spool_path(spool, SPOOL_FAILED, reason_name);
    CHECK(fileio_read(path, 4096, &b) == 0 && strcmp(b.data, "malformed JSON at byte 3\n") == 0,
          "reason is one line: %s", b.data);
    free(path);
    buf_release(&b);
    CHECK(spool_list(spool, SPOOL_FAILED, &names, &n) == 0 && n == 1 &&
          strcmp(names[0], name) == 0, "failed/ lists the file, not its reason");
    spool_names_free(names, n);
    CHECK(spool_fail(spool, "no-such-file.json", "x") == 1, "failing a missing file says gone");
    CHECK(!exists(failed, "no-such-file.json.reason"), "no orphan reason");
    CHECK(count_entries(tmp) == 0, "tmp/ still empty");
    CHECK(spool_requeue_failed(spool, &moved) == 0 && moved == 1, "requeue: %zu", moved);
    CHECK(count_entries(failed) == 0, "failed/ empty after requeue");
    CHECK(exists(new, name), "requeued file in new/");
    free(reason_name);

    /* recover: leftovers in active/ go back to new/. */
    CHECK(spool_claim(spool, name, NULL) == 0, "claim one");
    CHECK(spool_recover_active(spool, true, &moved) == 0 && moved == 1, "recover: %zu", moved);
    CHECK(count_entries(active) == 0 && count_entries(new) == 3, "all back in new/");

    /* A file another sender holds is neither claimed nor recovered; one it left is. */
    char p0[4096], p1[4096], done_path[4096];
    CHECK(spool_list(spool, SPOOL_NEW, &names, &n) == 0 && n == 3, "three in new/");
    snprintf(p0, sizeof p0, "%s/%s", active, names[0]);
    snprintf(p1, sizeof p1, "%s/%s", new, names[1]);
    snprintf(done_path, sizeof done_path, "%s/" SPOOL_DONE_PREFIX "1.1", active);
    int held = -1, peer = open(p1, O_RDONLY | O_CLOEXEC);
    CHECK(peer >= 0 && flock(peer, LOCK_EX) == 0, "a peer locks %s", names[1]);
    CHECK(spool_claim(spool, names[1], NULL) == 1 && exists(new, names[1]),
          "a file a peer holds is not claimed");
    close(peer);
    CHECK(spool_claim(spool, names[0], &held) == 0 && held >= 0, "claim and hold");
    int probe = open(p0, O_RDONLY | O_CLOEXEC);
    CHECK(probe >= 0 && flock(probe, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK,
          "the claim holds the lock");
    close(probe);
    CHECK(spool_claim(spool, names[1], NULL) == 0, "claim and let go (a dead sender)");
    int done_fd = open(done_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(done_fd >= 0 && close(done_fd) == 0, "a finished file left for removal");
    CHECK(spool_recover_active(spool, true, &moved) == 0 && moved == 1, "recover: %zu", moved);
    CHECK(exists(active, names[0]) && exists(new, names[1]) && !exists(active, names[1]),
          "only the file nobody holds goes back");
    CHECK(access(done_path, F_OK) != 0, "a finished file nobody holds is removed");
    close(held);
    CHECK(spool_recover_active(spool, true, &moved) == 0 && moved == 1 && count_entries(active) == 0,
          "released when its holder is gone: %zu", moved);
    spool_names_free(names, n);

    /* requeue one by name; several due at once, one not yet due. */
    CHECK(spool_claim(spool, name, NULL) == 0 && spool_fail(spool, name, "x") == 0, "fail again");
    CHECK(spool_requeue(spool, name) == 0, "requeue one");
    CHECK(exists(new, name) && count_entries(failed) == 0, "requeued with its reason gone");
    CHECK(spool_requeue(spool, name) == 1, "requeue of a file not in failed/ says gone");
    CHECK(spool_list(spool, SPOOL_NEW, &names, &n) == 0 && n == 3, "three in new/");
    spool_names_free(names, n);
    CHECK(spool_list("/nonexistent/spool", SPOOL_NEW, &names, &n) == -1 && names == NULL,
          "listing a missing spool fails");

    /* remove */
    CHECK(spool_remove(spool, SPOOL_NEW, name) == 0 && !exists(new, name), "remove");
    CHECK(spool_remove(spool, SPOOL_NEW, name) == 1, "remove again says gone");

    CHECK(strcmp(spool_state_dir(SPOOL_DEFERRED), "deferred") == 0, "state names");

    CHECK(unit_scratch_remove(root) == 0, "cleanup");
    free(tmp);
    free(new);
    free(active);
    free(deferred);
    free(failed);
    free(spool);
}

/* An event file without eventId or timestamp: both come from the file, the same every time. */
static void
test_event_parse_file(void)
{
    static const struct {
        const char *file, *name, *want_id, *want_ts;
    } cases[] = {
        { "{\"eventType\":\"A:B\",\"tenantId\":\"t\"}", "1796.42.abc.json",
          "1796.42.abc.json", "2026-11-28T18:00:00Z" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"t\",\"data\":{\"eventId\":\"x\"}}",
          "n.json", "n.json", "2026-11-28T18:00:00Z" },
        { "{\"eventType\":\"A:B\",\"tenantId\":\"t\",\"data\":\"\\\"eventId\\\"\"}",
          "with space.json", "file_", "2026-11-28T18:00:00Z" },
        { "{\"eventId\":\"given\",\"eventType\":\"A:B\",\"tenantId\":\"t\","
          "\"timestamp\":\"2020-01-02T03:04:05Z\"}",
          "x.json", "given", "2020-01-02T03:04:05Z" },
    };
    const time_t mtime = 1795888800;    /* 2026-11-28T18:00:00Z */

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event a, b;
        char err[256];
        const char *f = cases[i].file;
        CHECK(event_parse_file(&a, f, strlen(f), cases[i].name, mtime, err, sizeof err) == 0,
              "case %zu parses: %s", i, err);
        CHECK(event_parse_file(&b, f, strlen(f), cases[i].name, mtime, err, sizeof err) == 0,
              "case %zu parses again", i);
        CHECK(strncmp(a.id, cases[i].want_id, strlen(cases[i].want_id)) == 0 &&
                  strcmp(a.id, b.id) == 0 && event_id_valid(a.id),
              "case %zu: id %s, the same every time", i, a.id);
        CHECK(strcmp(a.timestamp, cases[i].want_ts) == 0, "case %zu: timestamp %s", i,
              a.timestamp);
        char *ba = event_body(&a), *bb = event_body(&b);
        CHECK(strcmp(ba, bb) == 0, "case %zu: the same body every time", i);
        free(ba);
        free(bb);
        event_release(&a);
        event_release(&b);
    }
    struct event e;
    char err[256];
    const char *f = cases[2].file;
    CHECK(event_parse_file(&e, f, strlen(f), "with space.json", mtime, err, sizeof err) == 0 &&
              strlen(e.id) == 5 + 32,
          "a name that is no id gives file_ and 32 hex digits: %s", e.id);
    event_release(&e);
    CHECK(event_parse_file(&e, f, strlen(f), "other name.json", mtime, err, sizeof err) == 0 &&
              strncmp(e.id, "file_", 5) == 0,
          "another name");
    event_release(&e);
}

int
main(void)
{
    log_open("test_events", true);
    log_set_level(LOG_LVL_ERROR);
    test_patterns();
    test_signatures();
    test_standard_signatures();
    test_event_parse();
    test_event_parse_file();
    test_spool();
    return unit_summary("events");
}
