/*
 * Unit tests of the sender's own modules: the delivery log in the store
 * (ordering, per-webhook ranges, limits, pruning), retry records (exact
 * body round trip, refusals), the destination key of delivery URLs, the
 * destination health and parking rules (dest), retry scheduling and
 * jitter (schedule), fan-out (fanout) and batched parking in deferred/.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain/event.h"
#include "domain/spool.h"
#include "domain/store.h"
#include "sender/delivery.h"
#include "sender/dest.h"
#include "sender/fanout.h"
#include "sender/record.h"
#include "sender/schedule.h"
#include "unit.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/xalloc.h"

static char *scratch;

static struct delivery_attempt
attempt_of(const char *tenant, const char *hook, long long t, int n)
{
    struct delivery_attempt a;

    memset(&a, 0, sizeof a);
    a.time_ms = t;
    snprintf(a.ref.tenant, sizeof a.ref.tenant, "%s", tenant);
    snprintf(a.ref.webhook_id, sizeof a.ref.webhook_id, "%s", hook);
    snprintf(a.ref.delivery_id, sizeof a.ref.delivery_id, "d-%s-%lld", hook, t);
    snprintf(a.ref.event_id, sizeof a.ref.event_id, "e-%d", n);
    snprintf(a.ref.event_type, sizeof a.ref.event_type, "Pass:Created");
    a.attempt = n;
    a.status = n % 2 ? 200 : 0;
    snprintf(a.error, sizeof a.error, "%s", n % 2 ? "" : "Operation timed out");
    a.duration_ms = 10 * n;
    return a;
}

static void
test_delivery_log(void)
{
    struct config cfg;

    struct store *s = unit_store_open(&cfg, scratch, "db", "store opens");
    if (s == NULL)
        return;
    /* Out of time order on purpose, over two webhooks, two tenants (one a prefix of the other). */
    struct delivery_attempt in[] = {
        attempt_of("acme", "AAAAA", 1000, 1), attempt_of("acme", "BBBBB", 4000, 2),
        attempt_of("acme", "AAAAA", 3000, 3), attempt_of("acme", "BBBBB", 2000, 4),
        attempt_of("acme", "AAAAA", 5000, 5), attempt_of("acme2", "AAAAA", 9000, 6),
        attempt_of("acme", "AAAAA", 5000, 7), /* same millisecond: must not overwrite */
    };
    size_t n_in = sizeof in / sizeof in[0];
    CHECK(store_delivery_append(s, in, n_in) == STORE_OK, "append a batch");
    CHECK(store_delivery_append(s, in, 0) == STORE_OK, "append nothing");

    struct delivery_attempt *out;
    size_t n;
    CHECK(store_delivery_list(s, "acme", NULL, 100, &out, &n) == STORE_OK && n == 6,
          "tenant listing has its 6 attempts, not acme2's (%zu)", n);
    for (size_t i = 1; i < n; i++)
        CHECK(out[i - 1].time_ms >= out[i].time_ms, "newest first at %zu", i);
    if (n == 6) {
        CHECK(out[5].time_ms == 1000 && strcmp(out[5].ref.webhook_id, "AAAAA") == 0,
              "oldest last");
        CHECK(strcmp(out[2].ref.webhook_id, "BBBBB") == 0 && out[2].time_ms == 4000,
              "webhooks merged by time");
    }
    free(out);
    CHECK(store_delivery_list(s, "acme", NULL, 3, &out, &n) == STORE_OK && n == 3 &&
              out[0].time_ms == 5000 && out[2].time_ms == 4000,
          "limit keeps the newest across webhooks");
    free(out);
    CHECK(store_delivery_list(s, "acme", "BBBBB", 100, &out, &n) == STORE_OK && n == 2 &&
              out[0].time_ms == 4000 && out[1].time_ms == 2000,
          "one webhook's attempts, newest first");
    if (n == 2) {
        CHECK(out[1].attempt == 4 && out[1].status == 0 &&
                  strcmp(out[1].error, "Operation timed out") == 0 && out[1].duration_ms == 40 &&
                  strcmp(out[1].ref.event_id, "e-4") == 0 &&
                  strcmp(out[1].ref.delivery_id, "d-BBBBB-2000") == 0 &&
                  strcmp(out[1].ref.event_type, "Pass:Created") == 0,
              "every field survives the round trip");
    }
    free(out);
    CHECK(store_delivery_list(s, "nobody", NULL, 100, &out, &n) == STORE_OK && n == 0,
          "unknown tenant: empty");
    free(out);

    size_t removed = 0;
    CHECK(store_delivery_prune(s, 3000, &removed) == STORE_OK && removed == 2,
          "prune removes the two attempts before t=3000 (%zu)", removed);
    CHECK(store_delivery_list(s, "acme", NULL, 100, &out, &n) == STORE_OK && n == 4,
          "four left for acme");
    free(out);
    CHECK(store_delivery_list(s, "acme2", NULL, 100, &out, &n) == STORE_OK && n == 1,
          "acme2 untouched");
    free(out);
    CHECK(store_delivery_prune(s, 0, &removed) == STORE_OK && removed == 0,
          "pruning nothing");

    /* More than one prune transaction's worth. */
    enum { MANY = 1200 };
    struct delivery_attempt *many = xcalloc(MANY, sizeof *many);
    for (int i = 0; i < MANY; i++)
        many[i] = attempt_of("bulk", i % 2 ? "CCCCC" : "DDDDD", 100 + i, i);
    CHECK(store_delivery_append(s, many, MANY) == STORE_OK, "append %d", MANY);
    CHECK(store_delivery_prune(s, 100 + MANY / 2, &removed) == STORE_OK && removed == MANY / 2,
          "prune across batches (%zu)", removed);
    CHECK(store_delivery_list(s, "bulk", "CCCCC", 100000, &out, &n) == STORE_OK &&
              n == MANY / 4,
          "the newer half remains (%zu)", n);
    free(out);
    free(many);
    store_close(s);
    config_release(&cfg);
}

/* A fanned-out delivery of webhook hook, event n, created at t. */
static struct delivery_new
new_of(const char *tenant, const char *hook, int n, long long t, const char *body)
{
    struct delivery_new nw;
    char eid[32];

    memset(&nw, 0, sizeof nw);
    snprintf(eid, sizeof eid, "e-%d", n);
    snprintf(nw.ref.tenant, sizeof nw.ref.tenant, "%s", tenant);
    snprintf(nw.ref.webhook_id, sizeof nw.ref.webhook_id, "%s", hook);
    snprintf(nw.ref.event_id, sizeof nw.ref.event_id, "%s", eid);
    snprintf(nw.ref.event_type, sizeof nw.ref.event_type, "Pass:Created");
    delivery_id_make(tenant, eid, hook, nw.ref.delivery_id);
    nw.created_ms = t;
    nw.payload = body;
    nw.payload_len = strlen(body);
    return nw;
}

static struct delivery_outcome
outcome_of(const struct delivery_new *nw, int attempt, long long t, int code,
           enum delivery_status st, long long next)
{
    struct delivery_outcome o;

    memset(&o, 0, sizeof o);
    o.attempt = attempt_of(nw->ref.tenant, nw->ref.webhook_id, t, attempt);
    o.attempt.ref = nw->ref;
    o.attempt.attempt = attempt;
    o.attempt.status = code;
    snprintf(o.attempt.error, sizeof o.attempt.error, "%s", code == 200 ? "" : "HTTP 500");
    o.status = st;
    o.next_attempt_ms = next;
    o.payload = nw->payload;
    o.payload_len = nw->payload_len;
    return o;
}

/* Pages through hook's deliveries (status st, limit per page) into ids; returns the count. */
static size_t
page_all(struct store *s, const char *hook, int st, size_t limit, char ids[][DELIVERY_ID_LEN + 1],
         size_t cap, size_t *pages)
{
    char cursor[STORE_CURSOR_LEN + 1] = "", next[STORE_CURSOR_LEN + 1];
    size_t got = 0;

    *pages = 0;
    for (;;) {
        struct delivery *list;
        size_t n;
        if (store_delivery_page(s, "acme", hook, st, cursor[0] ? cursor : NULL, limit, &list, &n,
                                next) != STORE_OK)
            return 0;
        (*pages)++;
        for (size_t i = 0; i < n && got < cap; i++)
            memcpy(ids[got++], list[i].ref.delivery_id, DELIVERY_ID_LEN + 1);
        store_delivery_list_free(list, n);
        if (next[0] == '\0' || *pages > 100)
            return got;
        memcpy(cursor, next, sizeof cursor);
    }
}

static void
test_delivery_records(void)
{
    struct config cfg;
    static const char body[] = "{\"eventId\":\"e\",\"data\":{}}";

    struct store *s = unit_store_open(&cfg, scratch, "records", "records: store opens");
    if (s == NULL)
        return;
    enum { N = 23 };
    struct delivery_new nw[N];
    for (int i = 0; i < N; i++)   /* creation times out of order, two the same */
        nw[i] = new_of("acme", "AAAAA", i, 1000 + (i * 7) % N + (i == 5 ? 1 : 0), body);
    struct delivery_new other = new_of("acme", "BBBBB", 0, 1000, body);
    CHECK(store_delivery_commit(s, nw, N, NULL, 0) == STORE_OK, "records: create %d", N);
    CHECK(store_delivery_commit(s, &other, 1, NULL, 0) == STORE_OK, "records: another webhook's");

    struct delivery d;
    struct buf payload;
    buf_init(&payload);
    CHECK(store_delivery_get(s, "acme", "AAAAA", nw[3].ref.delivery_id, &d, &payload) == STORE_OK &&
              d.status == DELIVERY_PENDING && d.n_tries == 0 && d.created_ms == nw[3].created_ms &&
              payload.len == strlen(body) && memcmp(payload.data, body, payload.len) == 0,
          "records: a new record is pending, without attempts, with its payload");
    delivery_release(&d);
    CHECK(store_delivery_get(s, "acme", "BBBBB", nw[3].ref.delivery_id, &d, NULL) == STORE_NOTFOUND,
          "records: another webhook's id is not found");

    /* Outcomes: 3 succeeded, 4 failed twice then gave up, 5 pending with a next time. */
    struct delivery_outcome out[] = {
        outcome_of(&nw[3], 1, 5000, 200, DELIVERY_SUCCEEDED, 0),
        outcome_of(&nw[4], 1, 5000, 500, DELIVERY_PENDING, 6000),
        outcome_of(&nw[4], 2, 6000, 500, DELIVERY_FAILED, 0),
        outcome_of(&nw[5], 1, 5000, 0, DELIVERY_PENDING, 9000),
    };
    struct delivery_new again = nw[3];
    again.created_ms = 99999;      /* a re-fan-out: the record stays as it was */
    CHECK(store_delivery_commit(s, &again, 1, out, 4) == STORE_OK, "records: a batch of outcomes");
    CHECK(store_delivery_get(s, "acme", "AAAAA", nw[3].ref.delivery_id, &d, NULL) == STORE_OK &&
              d.status == DELIVERY_SUCCEEDED && d.n_tries == 1 && d.tries[0].status_code == 200 &&
              d.created_ms == nw[3].created_ms,
          "records: succeeded, one attempt; a second creation changed nothing");
    delivery_release(&d);
    CHECK(store_delivery_get(s, "acme", "AAAAA", nw[4].ref.delivery_id, &d, NULL) == STORE_OK &&
              d.status == DELIVERY_FAILED && d.n_tries == 2 && d.tries[1].attempt == 2 &&
              strcmp(d.tries[1].error, "HTTP 500") == 0 && delivery_next_attempt(&d) == 3,
          "records: failed after two attempts, oldest first");
    delivery_release(&d);
    CHECK(store_delivery_get(s, "acme", "AAAAA", nw[5].ref.delivery_id, &d, NULL) == STORE_OK &&
              d.status == DELIVERY_PENDING && d.next_attempt_ms == 9000,
          "records: pending with its next attempt time");
    delivery_release(&d);

    /* Paging: every delivery once, newest first, with and without a status filter. */
    char ids[N + 5][DELIVERY_ID_LEN + 1];
    size_t pages, got = page_all(s, "AAAAA", -1, 5, ids, N + 5, &pages);
    bool distinct = true;
    for (size_t i = 0; i < got; i++)
        for (size_t j = i + 1; j < got; j++)
            distinct = distinct && strcmp(ids[i], ids[j]) != 0;
    CHECK(got == N && distinct && pages == 5, "records: 5 pages of 5 give all %d once (%zu, %zu)",
          N, got, pages);
    got = page_all(s, "AAAAA", -1, N, ids, N + 5, &pages);
    CHECK(got == N && pages == 1, "records: limit = count: one page, no next");
    struct delivery *list;
    size_t n;
    char next[STORE_CURSOR_LEN + 1];
    CHECK(store_delivery_page(s, "acme", "AAAAA", -1, NULL, N, &list, &n, next) == STORE_OK &&
              n == N,
          "records: the whole list");
    bool ordered = true;
    for (size_t i = 1; i < n; i++)
        ordered = ordered && list[i - 1].created_ms >= list[i].created_ms;
    CHECK(ordered, "records: newest first");
    store_delivery_list_free(list, n);
    got = page_all(s, "AAAAA", DELIVERY_PENDING, 4, ids, N + 5, &pages);
    CHECK(got == N - 2 && pages == 6, "records: status pending pages too (%zu in %zu)", got, pages);
    got = page_all(s, "AAAAA", DELIVERY_FAILED, 4, ids, N + 5, &pages);
    CHECK(got == 1 && strcmp(ids[0], nw[4].ref.delivery_id) == 0, "records: status failed: one");
    CHECK(delivery_cursor_valid("0123456789abcdef0123456789abcdef0123456789abcdef") &&
              !delivery_cursor_valid("0123") &&
              !delivery_cursor_valid("0123456789abcdef0123456789abcdef0123456789abcdeF"),
          "records: cursor validation");

    /* Redeliver and ping leave requests; the sender's side reads and deletes them. */
    CHECK(store_delivery_redeliver(s, "acme", "AAAAA", nw[4].ref.delivery_id, 7777, &d) ==
              STORE_OK &&
              d.status == DELIVERY_PENDING && d.next_attempt_ms == 7777 && d.n_tries == 2,
          "records: redeliver makes a failed delivery pending, attempts kept");
    delivery_release(&d);
    CHECK(store_delivery_redeliver(s, "acme", "BBBBB", nw[4].ref.delivery_id, 7777, &d) ==
              STORE_NOTFOUND,
          "records: redeliver of another webhook's delivery is not found");
    struct delivery_new ping;
    char *ping_body = NULL;
    CHECK(delivery_ping_new("acme", "BBBBB", &ping, &ping_body) == 0 &&
              strcmp(ping.ref.event_type, DELIVERY_PING_TYPE) == 0 &&
              strstr(ping_body, "\"data\":{\"webhookId\":\"BBBBB\"}") != NULL,
          "records: a ping event");
    CHECK(store_delivery_ping(s, &ping, &d) == STORE_OK && d.status == DELIVERY_PENDING,
          "records: ping creates a pending delivery");
    delivery_release(&d);
    struct store_request *req;
    CHECK(store_requests_list(s, 10, &req, &n) == STORE_OK && n == 2 && req[0].valid &&
              strcmp(req[0].delivery_id, nw[4].ref.delivery_id) == 0 &&
              strcmp(req[1].delivery_id, ping.ref.delivery_id) == 0 &&
              strcmp(req[1].webhook_id, "BBBBB") == 0,
          "records: two requests, oldest first (%zu)", n);
    for (size_t i = 0; i < n; i++)
        CHECK(store_request_done(s, &req[i]) == STORE_OK, "records: request done");
    free(req);
    CHECK(store_requests_list(s, 10, &req, &n) == STORE_OK && n == 0, "records: none left");
    free(req);
    CHECK(store_delivery_find(s, NULL, NULL, ping.ref.delivery_id, &d, &payload) == STORE_OK &&
              strcmp(d.ref.webhook_id, "BBBBB") == 0 && payload.len == strlen(ping_body),
          "records: found by id alone, with its payload");
    delivery_release(&d);
    CHECK(store_delivery_find(s, "acme", "AAAAA", ping.ref.delivery_id, &d, NULL) == STORE_NOTFOUND,
          "records: not found under another webhook");
    free(ping_body);

    /* An attempt whose record is missing (its creation lost) makes it, listed in order. */
    struct delivery_new lost = new_of("acme", "DDDDD", 88, 6000, body);
    struct delivery_outcome late = outcome_of(&lost, 1, 6000, 500, DELIVERY_PENDING, 9000);
    CHECK(store_delivery_commit(s, NULL, 0, &late, 1) == STORE_OK &&
              store_delivery_page(s, "acme", "DDDDD", DELIVERY_PENDING, NULL, 10, &list, &n,
                                  next) == STORE_OK &&
              n == 1 && list[0].n_tries == 1 &&
              strcmp(list[0].ref.delivery_id, lost.ref.delivery_id) == 0,
          "records: an attempt without a record creates it, in the order, with its status");
    store_delivery_list_free(list, n);

    /*
     * Created and attempted in one batch (written once, with the attempt): one
     * success; one failed twice; one whose first outcome is no attempt.
     */
    struct delivery_new quick[3] = { new_of("acme", "EEEEE", 90, 7000, body),
                                     new_of("acme", "EEEEE", 91, 7001, body),
                                     new_of("acme", "EEEEE", 92, 7002, body) };
    struct delivery_outcome fast[] = {
        outcome_of(&quick[1], 1, 7100, 500, DELIVERY_PENDING, 7200),
        outcome_of(&quick[0], 1, 7100, 204, DELIVERY_SUCCEEDED, 0),
        outcome_of(&quick[2], 0, 7100, 0, DELIVERY_FAILED, 0),
        outcome_of(&quick[1], 2, 7200, 500, DELIVERY_FAILED, 0),
    };
    CHECK(store_delivery_commit(s, quick, 3, fast, 4) == STORE_OK,
          "records: created and attempted in one batch");
    CHECK(store_delivery_get(s, "acme", "EEEEE", quick[0].ref.delivery_id, &d, &payload) ==
                  STORE_OK &&
              d.status == DELIVERY_SUCCEEDED && d.n_tries == 1 && d.tries[0].status_code == 204 &&
              d.created_ms == 7000 && d.next_attempt_ms == 0 && payload.len == strlen(body),
          "records: one batch: succeeded with its attempt and payload");
    delivery_release(&d);
    CHECK(store_delivery_get(s, "acme", "EEEEE", quick[1].ref.delivery_id, &d, NULL) == STORE_OK &&
              d.status == DELIVERY_FAILED && d.n_tries == 2 && d.tries[0].attempt == 1 &&
              d.tries[1].attempt == 2,
          "records: one batch: both attempts, oldest first, failed");
    delivery_release(&d);
    CHECK(store_delivery_get(s, "acme", "EEEEE", quick[2].ref.delivery_id, &d, NULL) == STORE_OK &&
              d.status == DELIVERY_FAILED && d.n_tries == 0,
          "records: one batch: a change of status without an attempt");
    delivery_release(&d);
    got = page_all(s, "EEEEE", DELIVERY_FAILED, 10, ids, N + 5, &pages);
    CHECK(got == 2, "records: one batch: the order has the final statuses (%zu failed)", got);
    got = page_all(s, "EEEEE", DELIVERY_PENDING, 10, ids, N + 5, &pages);
    CHECK(got == 0, "records: one batch: none left pending in the order (%zu)", got);
    struct delivery_attempt *logged;
    CHECK(store_delivery_list(s, "acme", "EEEEE", 10, &logged, &n) == STORE_OK && n == 3,
          "records: one batch: its three attempts are logged (%zu)", n);
    free(logged);

    /* Parked (no attempt): still pending, with the time it comes due as its next attempt. */
    struct delivery_new later = new_of("acme", "EEEEE", 93, 7003, body);
    struct delivery_outcome later_parked = outcome_of(&later, 0, 7300, 0, DELIVERY_PENDING, 9600);
    CHECK(store_delivery_commit(s, &later, 1, &later_parked, 1) == STORE_OK &&
              store_delivery_get(s, "acme", "EEEEE", later.ref.delivery_id, &d, NULL) ==
                  STORE_OK &&
              d.status == DELIVERY_PENDING && d.n_tries == 0 && d.next_attempt_ms == 9600,
          "records: a parked delivery is pending, without attempts, due when it comes back");
    delivery_release(&d);

    /* A payload larger than one item is kept in chunks and comes back whole. */
    char *big = xmalloc(10001);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    big[10000] = '\0';
    struct delivery_new large = new_of("acme", "CCCCC", 77, 5000, big);
    CHECK(store_delivery_commit(s, &large, 1, NULL, 0) == STORE_OK &&
              store_delivery_get(s, "acme", "CCCCC", large.ref.delivery_id, &d, &payload) ==
                  STORE_OK &&
              payload.len == 10000 && memcmp(payload.data, big, 10000) == 0,
          "records: a 10,000-byte payload comes back whole (%zu)", payload.len);
    delivery_release(&d);
    free(big);

    /* Pruning: what was created before the limit goes, records and payloads. */
    size_t removed;
    CHECK(store_delivery_prune(s, 1010, &removed) == STORE_OK, "records: prune");
    got = page_all(s, "AAAAA", -1, 100, ids, N + 5, &pages);
    bool newer = true;
    for (size_t i = 0; i < got; i++) {
        CHECK(store_delivery_get(s, "acme", "AAAAA", ids[i], &d, NULL) == STORE_OK,
              "records: a listed record exists");
        newer = newer && d.created_ms >= 1010;
        delivery_release(&d);
    }
    CHECK(got > 0 && got < N && newer, "records: only the newer remain (%zu)", got);
    CHECK(store_delivery_get(s, "acme", "AAAAA", nw[0].ref.delivery_id, &d, NULL) == STORE_NOTFOUND,
          "records: an old one is gone");
    buf_release(&payload);
    store_close(s);
    config_release(&cfg);
}

/* Formats r with one member replaced (NULL: as is) and says whether it parses back. */
static bool
record_variant_parses(const struct record *r, const char *member, const char *value)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } fields[] = {
        { "deliveryId", offsetof(struct record, ref.delivery_id), DELIVERY_ID_MAX + 1 },
        { "webhookId", offsetof(struct record, ref.webhook_id), WEBHOOK_ID_LEN + 1 },
        { "tenantId", offsetof(struct record, ref.tenant), WEBHOOK_TENANT_MAX + 1 },
        { "eventId", offsetof(struct record, ref.event_id), DELIVERY_EVENT_MAX + 1 },
        { "eventType", offsetof(struct record, ref.event_type), DELIVERY_EVENT_MAX + 1 },
    };
    struct record v = *r, back;
    char err[256];

    if (member != NULL && strcmp(member, "body") == 0) {
        v.body = (char *)value;
        v.body_len = strlen(value);
    }
    for (size_t i = 0; member != NULL && i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(member, fields[i].name) == 0)
            snprintf((char *)&v + fields[i].offset, fields[i].size, "%s", value);
    char *text = record_format(&v);
    int rc = record_parse(&back, text, strlen(text), err, sizeof err);
    record_release(&back);
    free(text);
    return rc == 0;
}

static void
test_record(void)
{
    static const char event[] =
        "{\"eventId\":\"e1\",\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
        "\"timestamp\":\"2026-11-28T18:00:00Z\",\"data\":{\"s\":\"\\u00e9\\\"\\n/\",\"n\":1.50}}";
    struct record r, back;
    struct event ev;
    char err[256];

    CHECK(event_parse(&ev, event, strlen(event), err, sizeof err) == 0, "event: %s", err);
    char *body = event_body(&ev);
    event_release(&ev);
    memset(&r, 0, sizeof r);
    snprintf(r.ref.delivery_id, sizeof r.ref.delivery_id, "0123456789abcdef0123456789abcdef");
    snprintf(r.ref.webhook_id, sizeof r.ref.webhook_id, "aZ3k9");
    snprintf(r.ref.tenant, sizeof r.ref.tenant, "acme");
    snprintf(r.ref.event_id, sizeof r.ref.event_id, "e1");
    snprintf(r.ref.event_type, sizeof r.ref.event_type, "Pass:Created");
    snprintf(r.last_error, sizeof r.last_error, "HTTP 500\r\nwith a newline");
    r.attempt = 3;
    r.tries = 2;
    r.body = body;
    r.body_len = strlen(body);
    char *text = record_format(&r);
    CHECK(record_parse(&back, text, strlen(text), err, sizeof err) == 0, "parses: %s", err);
    CHECK(back.body_len == r.body_len && memcmp(back.body, body, r.body_len) == 0,
          "the body bytes survive exactly");
    CHECK(back.attempt == 3 && back.tries == 2 && strcmp(back.ref.webhook_id, "aZ3k9") == 0 &&
              strcmp(back.ref.tenant, "acme") == 0 &&
              strcmp(back.last_error, r.last_error) == 0 &&
              strcmp(back.ref.delivery_id, r.ref.delivery_id) == 0,
          "the fields survive");
    record_release(&back);
    record_release(NULL);

    /* Every value that reaches a path, a header or a signature is checked. */
    static const struct {
        const char *member, *value;
    } hostile[] = {
        { "deliveryId", "/../../../tmp/x" },
        { "deliveryId", "0123456789ABCDEF0123456789ABCDEF" },
        { "deliveryId", "0123456789abcdef0123456789abcde" },
        { "deliveryId", "" },
        { "webhookId", "bad id" },
        { "tenantId", "a/b" },
        { "eventId", "e1\r\nX-Injected: 1" },
        { "eventType", "Pass:Created\r\nX-Injected: 1" },
        { "eventType", "Pass:Created\n" },
        { "eventType", "" },
        { "body", "arbitrary bytes, not an event" },
        { "body", "{\"eventId\":\"e2\",\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
                  "\"timestamp\":\"2026-11-28T18:00:00Z\",\"data\":{}}" },
        { "body", "{\"eventId\":\"e1\",\"eventType\":\"Pass:Created\",\"tenantId\":\"acme\","
                  "\"timestamp\":\"2026-11-28T18:00:00Z\",\"data\":{} }" },
    };
    CHECK(record_variant_parses(&r, NULL, NULL), "the unchanged record parses");
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
        CHECK(!record_variant_parses(&r, hostile[i].member, hostile[i].value),
              "hostile record %zu (%s) refused", i, hostile[i].member);

    static const char *const bad[] = {
        "",
        "{\"hookspoolDelivery\":1,",
        "{\"hookspoolDelivery\":1,\"deliveryId\":\"d\"}",
        "{\"hookspoolDelivery\":1,\"deliveryId\":\"0123456789abcdef0123456789abcdef\","
        "\"webhookId\":\"aZ3k9\",\"tenantId\":\"a\",\"eventId\":\"e\",\"eventType\":\"t\","
        "\"attempt\":0,\"tries\":0,\"lastError\":\"\",\"body\":\"{}\"}",
        "{\"hookspoolDelivery\":1,\"deliveryId\":\"0123456789abcdef0123456789abcdef\","
        "\"webhookId\":\"aZ3k9\",\"tenantId\":\"a\",\"eventId\":\"e\",\"eventType\":\"t\","
        "\"attempt\":1,\"tries\":0,\"lastError\":\"\",\"body\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(record_parse(&back, bad[i], strlen(bad[i]), err, sizeof err) == -1,
              "bad record %zu refused", i);
        record_release(&back);
    }
    size_t n = strlen(text);
    text[n - 1] = ' ';
    CHECK(record_parse(&back, text, n, err, sizeof err) == -1, "a truncated record is refused");
    record_release(&back);
    free(text);
    free(body);
}

static void
test_host_key(void)
{
    static const struct {
        const char *url;
        const char *key;        /* NULL: refused */
    } cases[] = {
        { "https://crm.example.com/hooks", "https://crm.example.com:443" },
        { "http://127.0.0.1:8080/ok/a", "http://127.0.0.1:8080" },
        { "http://Example.COM/x?y=1", "http://Example.COM:80" },
        { "https://[::1]:8443/", "https://[::1]:8443" },
        { "ftp://example.com/", NULL },
        { "file:///etc/passwd", NULL },
        { "not a url", NULL },
    };
    char key[300];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = delivery_host_key(cases[i].url, key, sizeof key);
        if (cases[i].key == NULL)
            CHECK(rc == -1, "%s refused", cases[i].url);
        else
            CHECK(rc == 0 && strcmp(key, cases[i].key) == 0, "%s -> %s (got %s)", cases[i].url,
                  cases[i].key, rc == 0 ? key : "error");
    }
}

/*
 * Destination health (sender/dest.h): scripted walks through the states,
 * one step per row. Ops: 'S' an attempt starts, 'F' one ends (answered,
 * ok, duration), 'A' a delivery arrives with `queued` already queued,
 * 'C' an attempt is cancelled. After each step the row's expectations are
 * checked (a field of -1 is not checked).
 */
enum { ANY = -1, NOLIMIT = -2 };

struct dest_step {
    char op;
    long long t;
    bool answered, ok;
    long duration;
    size_t queued;
    /* expected */
    int state;                  /* enum dest_state or ANY */
    long long room;             /* NOLIMIT for SIZE_MAX, ANY */
    int verdict;                /* for 'A'; ANY */
    long long until;            /* for a parked 'A'; ANY */
    int died;                   /* for 'F': 1 if it made the destination dead; ANY */
};

struct dest_script {
    const char *name;
    size_t per_host;
    const struct dest_step *steps;
    size_t n;
};

#define STEPS(...) (const struct dest_step[]){ __VA_ARGS__ }, \
    sizeof (const struct dest_step[]){ __VA_ARGS__ } / sizeof(struct dest_step)

static void
test_dest(void)
{
    /* per_host 2: the cap is DEST_QUEUE_MIN (32); dead after 2 silent attempts. */
    const struct dest_script scripts[] = {
        { "blackhole: probation, dead, probes", 2, STEPS(
            { 'A', 0, 0, 0, 0, 0, DEST_ALIVE, NOLIMIT, DEST_QUEUE, ANY, ANY },
            { 'S', 0, 0, 0, 0, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, ANY },
            { 'S', 10, 0, 0, 0, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, ANY },
            /* never answered: stalled after DEST_PROBATION_MS from when it became busy */
            { 'A', 199, 0, 0, 0, 500, DEST_ALIVE, NOLIMIT, DEST_QUEUE, ANY, ANY },
            { 'A', 200, 0, 0, 0, 31, DEST_ALIVE, 32, DEST_QUEUE, ANY, ANY },
            { 'A', 200, 0, 0, 0, 32, DEST_ALIVE, 32, DEST_PARK, 200 + DEST_PARK_MS, ANY },
            /* the first timeout alone is not death, the second is */
            { 'F', 6000, 0, 0, 6000, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
            { 'F', 6010, 0, 0, 6000, 0, DEST_DEAD, 0, ANY, ANY, 1 },
            { 'A', 6020, 0, 0, 0, 0, DEST_DEAD, 0, DEST_PARK,
              6010 + DEST_PROBE_MIN_MS + DEST_PARK_GRACE_MS, ANY },
            /* the probe time: one delivery goes, the others wait for its outcome */
            { 'A', 6010 + DEST_PROBE_MIN_MS, 0, 0, 0, 0, DEST_PROBING, 1, DEST_PROBE, ANY, ANY },
            { 'A', 11010, 0, 0, 0, 1, DEST_PROBING, 1, DEST_PARK, 11010 + 6000 + 1000, ANY },
            { 'S', 11020, 0, 0, 0, 0, DEST_PROBING, 0, ANY, ANY, ANY },
            /* a failed probe doubles the wait */
            { 'F', 17020, 0, 0, 6000, 0, DEST_DEAD, 0, ANY, ANY, 1 },
            { 'A', 17021, 0, 0, 0, 0, DEST_DEAD, 0, DEST_PARK,
              17020 + 2 * DEST_PROBE_MIN_MS + DEST_PARK_GRACE_MS, ANY },
            { 'A', 27020, 0, 0, 0, 0, DEST_PROBING, 1, DEST_PROBE, ANY, ANY },
            { 'S', 27020, 0, 0, 0, 0, DEST_PROBING, 0, ANY, ANY, ANY },
            /* any answer revives it, even a 500; a failed answer still limits it */
            { 'F', 27030, 1, 0, 10, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
            { 'S', 27040, 0, 0, 0, 0, DEST_ALIVE, 32, ANY, ANY, ANY },
            { 'F', 27050, 1, 1, 10, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, 0 },
        ) },
        { "healthy, then connected without answer", 2, STEPS(
            { 'S', 0, 0, 0, 0, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, ANY },
            { 'F', 5, 1, 1, 5, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, 0 },
            { 'S', 100, 0, 0, 0, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, ANY },
            /* an answered destination gets DEST_STALL_MS, not the probation */
            { 'A', 1099, 0, 0, 0, 1000, DEST_ALIVE, NOLIMIT, DEST_QUEUE, ANY, ANY },
            { 'A', 1100, 0, 0, 0, 32, DEST_ALIVE, 32, DEST_PARK, 1100 + DEST_PARK_MS, ANY },
            /* a slow answer is an answer: alive, but limited */
            { 'F', 2500, 1, 1, 2400, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
        ) },
        { "answers that fail fast are not death", 2, STEPS(
            { 'S', 0, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 1, 1, 0, 1, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
            { 'S', 2, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 3, 1, 0, 1, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
            { 'S', 4, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 5, 1, 0, 1, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
        ) },
        { "a reset between answers does not add up", 2, STEPS(
            { 'S', 0, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 1, 0, 0, 1, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
            { 'S', 2, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 3, 1, 1, 1, 0, DEST_ALIVE, NOLIMIT, ANY, ANY, 0 },
            { 'S', 4, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 5, 0, 0, 1, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
        ) },
        { "one connection per host: one silence is death", 1, STEPS(
            { 'S', 0, 0, 0, 0, 0, DEST_ALIVE, ANY, ANY, ANY, ANY },
            { 'F', 30000, 0, 0, 30000, 0, DEST_DEAD, 0, ANY, ANY, 1 },
            /* a dead destination with an attempt still out probes nothing */
            { 'S', 30001, 0, 0, 0, 0, DEST_DEAD, 0, ANY, ANY, ANY },
            { 'A', 40000, 0, 0, 0, 0, DEST_DEAD, 0, DEST_PARK, 40000 + DEST_PARK_GRACE_MS, ANY },
            /* ...and an answer from it revives the destination */
            { 'F', 40001, 1, 1, 9000, 0, DEST_ALIVE, 32, ANY, ANY, 0 },
        ) },
        { "a probe cancelled at shutdown leaves it dead, due at once", 1, STEPS(
            { 'S', 0, 0, 0, 0, 0, ANY, ANY, ANY, ANY, ANY },
            { 'F', 100, 0, 0, 100, 0, DEST_DEAD, 0, ANY, ANY, 1 },
            { 'A', 100 + DEST_PROBE_MIN_MS, 0, 0, 0, 0, DEST_PROBING, 1, DEST_PROBE, ANY, ANY },
            { 'S', 5100, 0, 0, 0, 0, DEST_PROBING, 0, ANY, ANY, ANY },
            { 'C', 5200, 0, 0, 0, 0, DEST_DEAD, 0, ANY, ANY, ANY },
            { 'A', 5200, 0, 0, 0, 0, DEST_PROBING, 1, DEST_PROBE, ANY, ANY },
        ) },
    };

    for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
        const struct dest_script *sc = &scripts[k];
        struct dest_limits lim = { sc->per_host, 6000 };
        struct dest d;

        memset(&d, 0, sizeof d);
        for (size_t i = 0; i < sc->n; i++) {
            const struct dest_step *st = &sc->steps[i];
            int verdict = ANY, died = ANY;
            long long until = ANY;
            switch (st->op) {
            case 'S': dest_started(&d, st->t); break;
            case 'C': dest_cancelled(&d, st->t); break;
            case 'F':
                died = dest_finished(&d, st->t, st->answered, st->ok, st->duration, &lim);
                break;
            case 'A':
                verdict = (int)dest_admit(&d, st->queued, st->t, &lim, &until);
                break;
            }
            size_t room = dest_room(&d, st->t, &lim);
            long long room_ll = room == SIZE_MAX ? NOLIMIT : (long long)room;
            if (st->state != ANY)
                CHECK((int)d.state == st->state, "%s, step %zu: state %s, want %s", sc->name,
                      i, dest_state_name(d.state), dest_state_name(st->state));
            if (st->room != ANY)
                CHECK(room_ll == st->room, "%s, step %zu: room %lld, want %lld", sc->name, i,
                      room_ll, st->room);
            if (st->verdict != ANY)
                CHECK(verdict == st->verdict, "%s, step %zu: verdict %d, want %d", sc->name, i,
                      verdict, st->verdict);
            if (st->until != ANY && verdict == DEST_PARK)
                CHECK(until == st->until, "%s, step %zu: parked until %lld, want %lld",
                      sc->name, i, until, st->until);
            if (st->died != ANY)
                CHECK(died == st->died, "%s, step %zu: died %d, want %d", sc->name, i, died,
                      st->died);
        }
    }
    struct dest_limits big = { 16, 30000 };
    CHECK(dest_queue_cap(&big) == 64, "the cap grows with max_connections_per_host");
    /* The probe wait stops doubling at DEST_PROBE_MAX_MS. */
    struct dest d;
    struct dest_limits one = { 1, 1000 };
    long long until = 0, t = 0;
    memset(&d, 0, sizeof d);
    dest_started(&d, t);
    dest_finished(&d, t, false, false, 0, &one);
    for (int i = 0; i < 20; i++) {
        t = d.probe_ms;
        CHECK(dest_admit(&d, 0, t, &one, &until) == DEST_PROBE, "probe %d", i);
        dest_started(&d, t);
        dest_finished(&d, t + 1000, false, false, 1000, &one);
    }
    CHECK(d.probe_wait_ms == DEST_PROBE_MAX_MS, "the probe wait is capped: %lld",
          d.probe_wait_ms);
}

/* Parked records in one batch: each written with its time, a bad name refused alone. */
static void
test_deferred_many(void)
{
    char *spool = xasprintf("%s/spool", scratch);
    CHECK(spool_create_dirs(spool) == 0, "spool_create_dirs %s", spool);
    struct spool_own_file files[] = {
        { "dlv-0123456789abcdef0123456789abcdef", "one", 3, 2000000000, -2 },
        { "../escape", "two", 3, 0, -2 },
        { "dlv-fedcba9876543210fedcba9876543210", "three", 5, 1900000000, -2 },
    };
    CHECK(spool_store_deferred_many(spool, files, 3) == -1, "one bad name fails the batch");
    CHECK(files[0].rc == 0 && files[1].rc == -1 && files[2].rc == 0, "rc %d %d %d",
          files[0].rc, files[1].rc, files[2].rc);
    for (size_t i = 0; i < 3; i += 2) {
        char *path = spool_path(spool, SPOOL_DEFERRED, files[i].name);
        struct stat st;
        struct buf b;
        buf_init(&b);
        CHECK(stat(path, &st) == 0 && st.st_mtime == files[i].not_before, "%s: mtime", path);
        CHECK(fileio_read(path, 100, &b) == 0 && b.len == files[i].len &&
              memcmp(b.data, files[i].data, b.len) == 0, "%s: contents", path);
        buf_release(&b);
        free(path);
    }
    char **names = NULL;
    size_t n = 0;
    CHECK(spool_list(spool, SPOOL_DEFERRED, &names, &n) == 0 && n == 2,
          "nothing else in deferred/ (no temporary file left): %zu", n);
    spool_names_free(names, n);
    free(spool);
}

/* Retry scheduling: the steps, the jitter's range, rounding up to the second, the end. */
static void
test_schedule(void)
{
    static const struct {
        long delay, r, want;
    } jitter[] = {
        { 5, 0, 5 },            /* a tenth of 5 s is less than 1 s: up to 1 s is added */
        { 5, 1, 6 },
        { 5, 2, 5 },            /* r wraps within the span */
        { 300, 0, 300 },
        { 300, 30, 330 },       /* at most a tenth */
        { 300, 31, 300 },
        { 36000, 3599, 39599 },
        { 0, 7, 1 },            /* even a zero step spreads over a second */
        { 10, -3, 11 },         /* a negative random number does not go early */
    };
    for (size_t i = 0; i < sizeof jitter / sizeof jitter[0]; i++)
        CHECK(schedule_jitter(jitter[i].delay, jitter[i].r) == jitter[i].want,
              "jitter(%ld, %ld) = %ld, want %ld", jitter[i].delay, jitter[i].r,
              schedule_jitter(jitter[i].delay, jitter[i].r), jitter[i].want);

    static const struct {
        long long now_ms, delay_ms;
        time_t want;
    } due[] = {
        { 1000, 0, 1 },         /* exactly on a second */
        { 1001, 0, 2 },         /* never early: rounded up */
        { 1999, 0, 2 },
        { 1500, 5000, 7 },
        { 0, 999, 1 },
    };
    for (size_t i = 0; i < sizeof due / sizeof due[0]; i++)
        CHECK(schedule_due(due[i].now_ms, due[i].delay_ms) == due[i].want,
              "due(%lld, %lld) = %lld, want %lld", due[i].now_ms, due[i].delay_ms,
              (long long)schedule_due(due[i].now_ms, due[i].delay_ms), (long long)due[i].want);

    /* The default schedule, 5s,5m,30m,2h,5h,10h,10h: 8 attempts, then none. */
    static const long steps[] = { 5, 300, 1800, 7200, 18000, 36000, 36000 };
    static const struct {
        int tries;
        long r, want;
    } next[] = {
        { 1, 0, 5 }, { 2, 0, 300 }, { 3, 180, 1980 }, { 4, 0, 7200 }, { 5, 0, 18000 },
        { 6, 0, 36000 }, { 7, 3600, 39600 }, { 8, 0, -1 }, { 0, 0, -1 }, { 100, 0, -1 },
    };
    for (size_t i = 0; i < sizeof next / sizeof next[0]; i++)
        CHECK(schedule_next(steps, 7, next[i].tries, next[i].r) == next[i].want,
              "after failed try %d: %ld, want %ld", next[i].tries,
              schedule_next(steps, 7, next[i].tries, next[i].r), next[i].want);
    CHECK(schedule_next(steps, 0, 1, 0) == -1, "an empty schedule: no retry");
}

/* Fan-out: delivery ids (checked against Python's hashlib) and who takes an event. */
static void
test_fanout(void)
{
    static const struct {
        const char *tenant, *event_id, *webhook_id, *want;
    } ids[] = {
        { "acme", "evt-1", "aZ3k9", "a9528043cdf36054ab3bb261aaa91ac9" },
        { "a", "b", "c", "8badde10c760e9b702defb4b5e225de7" },
        { "tenant", "", "x", "a67f5c44d6c927a6b417ff10771595d0" },
    };
    char out[FANOUT_ID_LEN + 1];
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CHECK(delivery_id_make(ids[i].tenant, ids[i].event_id, ids[i].webhook_id, out) == 0 &&
              strcmp(out, ids[i].want) == 0, "delivery id of %s/%s/%s: %s", ids[i].tenant,
              ids[i].event_id, ids[i].webhook_id, out);

    char *pass[] = { "Pass:*" }, *all[] = { "*" }, *dotted[] = { "store.*.updated", "x" };
    static const struct {
        int hook;               /* -1: deleted */
        bool enabled;
        const char *type;
        const char *want;       /* NULL: takes the event */
    } cases[] = {
        { 0, true, "Pass:Created", NULL },
        { 0, true, "pass.created", NULL },
        { 0, true, "Customer:Upserted", "no longer subscribes to the event" },
        { 0, false, "Pass:Created", "is disabled" },
        { 1, true, "Anything:At:All", NULL },
        { 2, true, "Store:Product:Updated", NULL },
        { 2, true, "Store:Product:Deleted", "no longer subscribes to the event" },
        { -1, true, "Pass:Created", "was deleted" },
    };
    struct webhook hooks[3];
    char **events[] = { pass, all, dotted };
    size_t n_events[] = { 1, 1, 2 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct webhook *w = NULL;
        if (cases[i].hook >= 0) {
            struct webhook *h = &hooks[cases[i].hook];
            memset(h, 0, sizeof *h);
            h->events = events[cases[i].hook];
            h->n_events = n_events[cases[i].hook];
            h->enabled = cases[i].enabled;
            w = h;
        }
        const char *why = fanout_refusal(w, cases[i].type);
        CHECK((why == NULL && cases[i].want == NULL) ||
              (why != NULL && cases[i].want != NULL && strcmp(why, cases[i].want) == 0),
              "case %zu (%s): %s", i, cases[i].type, why != NULL ? why : "takes it");
    }
}

int
main(void)
{
    if ((scratch = unit_scratch_new("sender")) == NULL)
        return 1;
    test_delivery_log();
    test_delivery_records();
    test_record();
    test_host_key();
    test_dest();
    test_schedule();
    test_fanout();
    test_deferred_many();
    unit_scratch_remove(scratch);
    return unit_summary("unit sender");
}
