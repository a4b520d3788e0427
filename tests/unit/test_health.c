/*
 * Unit tests of endpoint health (SPEC section 4.1): Retry-After parsing
 * and its bound (retry_after), the destination's concurrency after 429/503
 * (dest), failure streaks and auto-disable over a real Berkeley DB
 * (store_health), and the disabled members of the webhook JSON.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store.h"
#include "domain/webhook.h"
#include "sender/dest.h"
#include "sender/retry_after.h"
#include "unit.h"
#include "util/xalloc.h"

static char *scratch;

/* 2026-12-01T10:00:00Z */
#define NOW_S 1796119200LL
#define NOW_MS (NOW_S * 1000 + 250)

static void
test_retry_after_parse(void)
{
    static const struct {
        const char *value;
        int rc;
        long long at_ms;
    } cases[] = {
        { "120", 0, NOW_MS + 120000 },
        { "0", 0, NOW_MS },
        { "  7  ", 0, NOW_MS + 7000 },
        { "Tue, 01 Dec 2026 10:01:40 GMT", 0, (NOW_S + 100) * 1000 },
        { "Tuesday, 01-Dec-26 10:01:40 GMT", 0, (NOW_S + 100) * 1000 },   /* RFC 850 */
        { "Tue Dec  1 10:01:40 2026", 0, (NOW_S + 100) * 1000 },          /* asctime */
        { "Mon, 30 Nov 2026 10:00:00 GMT", 0, (NOW_S - 86400) * 1000 },   /* in the past */
        { "99999999999999999999", 0, NOW_MS + 100LL * 365 * 86400 * 1000 + 0 },
        { "", -1, 0 },
        { "-5", -1, 0 },
        { "5s", -1, 0 },
        { "1.5", -1, 0 },
        { "soon", -1, 0 },
        { "Tue, 01 Dec 2026 10:01:40", -1, 0 },     /* no GMT */
        { "Tue, 01 Dec 2026 10:01:40 GMT trailing", -1, 0 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long at = -1;
        int rc = retry_after_parse(cases[i].value, NOW_MS, &at);
        CHECK(rc == cases[i].rc, "\"%s\": rc %d, want %d", cases[i].value, rc, cases[i].rc);
        if (rc == 0 && cases[i].rc == 0 && i != 7)
            CHECK(at == cases[i].at_ms, "\"%s\": %lld, want %lld", cases[i].value, at,
                  cases[i].at_ms);
    }
    long long at = 0;
    CHECK(retry_after_parse("99999999999999999999", NOW_MS, &at) == 0 &&
              at > NOW_MS + 3650LL * 86400 * 1000,
          "a huge delta is a long time (then bounded), not an overflow: %lld", at);
}

static void
test_retry_after_apply(void)
{
    const time_t due = (time_t)NOW_S + 5;   /* what the schedule gives */
    static const struct {
        long long at_ms;
        long long want;
    } cases[] = {
        { 0, NOW_S + 5 },                               /* no Retry-After */
        { (NOW_S + 2) * 1000, NOW_S + 5 },              /* earlier than the schedule: schedule */
        { (NOW_S + 5) * 1000, NOW_S + 5 },
        { (NOW_S + 60) * 1000, NOW_S + 60 },            /* later: not before it */
        { (NOW_S + 60) * 1000 + 1, NOW_S + 61 },        /* rounded up, never early */
        { (NOW_S + 5 + 3600) * 1000, NOW_S + 5 + 3600 },/* exactly the bound */
        { (NOW_S + 5 + 3601) * 1000, NOW_S + 5 + 3600 },/* beyond it: 1 h past the schedule */
        { (NOW_S + 86400 * 30) * 1000LL, NOW_S + 5 + 3600 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long got = (long long)retry_after_apply(due, cases[i].at_ms);
        CHECK(got == cases[i].want, "case %zu: %lld, want %lld", i, got, cases[i].want);
    }
}

static void
test_concurrency(void)
{
    struct dest_limits lim = { 8, 30000 };
    struct dest d;

    memset(&d, 0, sizeof d);
    CHECK(dest_concurrency(&d, &lim) == 8, "a new destination: max_connections_per_host");
    dest_throttle(&d, &lim);
    CHECK(dest_concurrency(&d, &lim) == 4, "a 429 halves it: %zu", dest_concurrency(&d, &lim));
    dest_throttle(&d, &lim);
    dest_throttle(&d, &lim);
    CHECK(dest_concurrency(&d, &lim) == 1, "down to 1: %zu", dest_concurrency(&d, &lim));
    dest_throttle(&d, &lim);
    CHECK(dest_concurrency(&d, &lim) == 1, "never below 1");
    /* A failure that is an answer does not grow it; successes do, one each. */
    dest_started(&d, 1000);
    dest_finished(&d, 1010, true, false, 10, &lim);
    CHECK(dest_concurrency(&d, &lim) == 1, "a 500 leaves it: %zu", dest_concurrency(&d, &lim));
    for (int i = 0; i < 3; i++) {
        dest_started(&d, 2000);
        dest_finished(&d, 2010, true, true, 10, &lim);
    }
    CHECK(dest_concurrency(&d, &lim) == 4, "three successes: 1 + 3 = %zu",
          dest_concurrency(&d, &lim));
    for (int i = 0; i < 10; i++) {
        dest_started(&d, 3000);
        dest_finished(&d, 3010, true, true, 10, &lim);
    }
    CHECK(dest_concurrency(&d, &lim) == 8 && d.cap == 0, "grown back to the full number");
    struct dest_limits one = { 1, 30000 };
    memset(&d, 0, sizeof d);
    dest_throttle(&d, &one);
    CHECK(dest_concurrency(&d, &one) == 1, "per_host 1 stays 1");
}

static struct delivery_attempt
attempt(const char *hook, long long t, bool ok)
{
    struct delivery_attempt a;

    memset(&a, 0, sizeof a);
    a.time_ms = t;
    snprintf(a.ref.tenant, sizeof a.ref.tenant, "acme");
    snprintf(a.ref.webhook_id, sizeof a.ref.webhook_id, "%s", hook);
    a.status = ok ? 200 : 500;
    snprintf(a.error, sizeof a.error, "%s", ok ? "" : "HTTP 500");
    return a;
}

/* Records attempts one batch each; returns the trips of the last. */
static size_t
record(struct store *s, const struct delivery_attempt *a, size_t n, long long after_ms,
       struct health_trip *last)
{
    struct health_trip *t = NULL;
    size_t nt = 0;

    const struct delivery_attempt *p[16];
    for (size_t i = 0; i < n && i < 16; i++)
        p[i] = &a[i];
    CHECK(store_health_record(s, p, n, after_ms, a[n - 1].time_ms, &t, &nt) == STORE_OK,
          "record a batch");
    if (nt > 0 && last != NULL)
        *last = t[0];
    free(t);
    return nt;
}

static void
make_hook(struct store *s, char id[WEBHOOK_ID_LEN + 1])
{
    struct webhook w;
    static const char *const events[] = { "*" };

    webhook_init(&w);
    w.endpoint = xstrdup("https://example.com/h");
    webhook_set_events(&w, events, 1);
    webhook_new_secret(&w);
    CHECK(store_webhook_create(s, "acme", &w, 100) == STORE_OK, "create a webhook");
    memcpy(id, w.id, WEBHOOK_ID_LEN + 1);
    webhook_release(&w);
}

static void
test_streaks(void)
{
    struct config cfg;

    struct store *s = unit_store_open(&cfg, scratch, "db", "store opens");
    if (s == NULL)
        return;
    char a[6], b[6];
    make_hook(s, a);
    make_hook(s, b);
    const long long day = 86400000;
    struct delivery_attempt batch[12];
    /* 9 failures over 6 days: not enough attempts. */
    for (int i = 0; i < 9; i++)
        batch[i] = attempt(a, 1000 + i * (6 * day / 8), false);
    CHECK(record(s, batch, 9, 5 * day, NULL) == 0, "9 failures over 6 days: no trip");
    /* A success ends the streak: 10 more failures within a day do not trip. */
    batch[0] = attempt(a, 7 * day, true);
    for (int i = 1; i < 11; i++)
        batch[i] = attempt(a, 7 * day + i * 1000, false);
    CHECK(record(s, batch, 11, 5 * day, NULL) == 0, "a success restarts the streak");
    /* ...then 5 days later, failure number 11 of the streak trips it. */
    struct health_trip t;
    batch[0] = attempt(a, 12 * day + 2000, false);
    batch[1] = attempt(b, 12 * day + 2000, true);     /* another webhook, healthy */
    CHECK(record(s, batch, 2, 5 * day, &t) == 1 && strcmp(t.webhook_id, a) == 0 &&
              t.failing_since_ms == 7 * day + 1000 && strstr(t.reason, "HTTP 500") != NULL,
          "5 days and >= 10 failures: disabled (since %lld, %s)", t.failing_since_ms, t.reason);
    struct webhook w;
    CHECK(store_webhook_get(s, "acme", a, &w) == STORE_OK && !w.enabled &&
              w.disabled_reason != NULL && w.disabled_at != NULL,
          "the webhook is disabled, with its reason and time");
    webhook_release(&w);
    CHECK(store_webhook_get(s, "acme", b, &w) == STORE_OK && w.enabled &&
              w.disabled_reason == NULL, "the healthy one is not");
    webhook_release(&w);
    /* Until announced, a crash would announce it again. */
    struct health_trip *p = NULL;
    size_t np = 0;
    CHECK(store_health_unannounced(s, &p, &np) == STORE_OK && np == 1 &&
              strcmp(p[0].webhook_id, a) == 0 && p[0].failing_since_ms == 7 * day + 1000,
          "unannounced after the trip: %zu", np);
    free(p);
    batch[0] = attempt(a, 12 * day + 3000, false);
    CHECK(record(s, batch, 1, 5 * day, NULL) == 0, "no second trip while unannounced");
    CHECK(store_health_announced(s, "acme", a) == STORE_OK, "announced");
    CHECK(store_health_unannounced(s, &p, &np) == STORE_OK && np == 0, "nothing left");
    free(p);
    /* 0 days: never. */
    for (int i = 0; i < 12; i++)
        batch[i] = attempt(b, 20 * day + i * day, false);
    CHECK(record(s, batch, 12, 0, NULL) == 0, "disable_after_days 0: never");
    /* Forgotten (enabled again by the API): the streak starts over. */
    store_health_forget(s, "acme", b);
    batch[0] = attempt(b, 40 * day, false);
    CHECK(record(s, batch, 1, 1, NULL) == 0, "after forget, one failure is not a streak");
    size_t total = 0, disabled = 0;
    CHECK(store_webhook_count(s, &total, &disabled) == STORE_OK && total == 2 && disabled == 1,
          "count: %zu webhooks, %zu disabled", total, disabled);
    CHECK(store_webhook_disable(s, "acme", a, "again", 1) == STORE_REJECTED,
          "disabling a disabled webhook is refused");
    CHECK(store_webhook_disable(s, "acme", b, "the endpoint answered 410 Gone", 1000) ==
              STORE_OK, "410: disabled");
    store_close(s);
    config_release(&cfg);
}

static void
test_json(void)
{
    struct webhook w, back;
    static const char *const events[] = { "*" };

    webhook_init(&w);
    memcpy(w.id, "abcde", 6);
    memset(w.secret, 'x', WEBHOOK_SECRET_LEN);
    w.endpoint = xstrdup("https://example.com/h");
    webhook_set_events(&w, events, 1);
    char *plain = webhook_to_string(&w);
    CHECK(strstr(plain, "disabled") == NULL, "an enabled webhook has no disabled members");
    webhook_disable(&w, "the endpoint answered 410 Gone", NOW_MS);
    char *text = webhook_to_string(&w);
    CHECK(strstr(text, "\"enabled\":false") != NULL &&
              strstr(text, "\"disabledReason\":\"the endpoint answered 410 Gone\"") != NULL &&
              strstr(text, "\"disabledAt\":\"2026-12-01T10:00:00.250Z\"") != NULL,
          "disabled: %s", text);
    CHECK(webhook_from_string(&back, text, strlen(text)) == 0 && !back.enabled &&
              back.disabled_reason != NULL && strcmp(back.disabled_at, w.disabled_at) == 0,
          "round trip");
    webhook_clear_disabled(&back);
    back.enabled = true;
    char *again = webhook_to_string(&back);
    CHECK(strcmp(again, plain) == 0, "enabled again: the members are gone: %s", again);
    free(plain);
    free(text);
    free(again);
    webhook_release(&back);
    webhook_release(&w);
}

int
main(void)
{
    if ((scratch = unit_scratch_new("health")) == NULL)
        return 1;
    test_retry_after_parse();
    test_retry_after_apply();
    test_concurrency();
    test_streaks();
    test_json();
    unit_scratch_remove(scratch);
    return unit_summary("unit health");
}
