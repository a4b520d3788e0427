/*
 * hookspool deliveries show, redeliver, ping - the delivery operations of
 * the API (SPEC 1.1) from the shell, on the store directly: the same
 * records and the same requests to the sender.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "domain/webhook.h"
#include "util/clock.h"
#include "util/json.h"

static const char show_usage[] =
    "usage: hookspool deliveries show ID [--tenant T [--webhook W]] [--json]\n"
    "Prints one delivery: its status, its attempts (oldest first) and the payload it\n"
    "sends. --tenant (and --webhook) narrow the search for ID, which is otherwise a\n"
    "scan of every delivery kept. --json prints the API's delivery object.\n"
    "options: --config FILE\n";

static const char redeliver_usage[] =
    "usage: hookspool redeliver ID [--tenant T [--webhook W]]\n"
    "Asks the sender for a new attempt of delivery ID as soon as it can: the same\n"
    "body and delivery id, the attempt number going on counting, a full retry\n"
    "schedule if it had failed. Prints the delivery id. Fails if the webhook is\n"
    "disabled.\n"
    "options: --config FILE\n";

static const char ping_usage[] =
    "usage: hookspool ping --tenant T --webhook ID\n"
    "Publishes a Webhook:Ping event for webhook ID alone, whatever its patterns, and\n"
    "prints the new delivery's id. Fails if the webhook is disabled.\n"
    "options: --config FILE\n";

/* What show, redeliver and ping take. */
struct ops_args {
    const char *config, *tenant, *webhook;
    const char *json;           /* show only: not NULL for --json */
    const char *id;             /* the delivery id (show, redeliver), else NULL */
};

/*
 * Parses argv for cmd: --config, --tenant, --webhook, --json if with_json,
 * and exactly one delivery id if with_id, else both --tenant and
 * --webhook. Checks the ids. Returns CLI_CONTINUE, or the exit status
 * after printing the usage or the error.
 */
static int
ops_args_parse(int argc, char **argv, const char *cmd, const char *usage, bool with_id,
               bool with_json, struct ops_args *a)
{
    *a = (struct ops_args){ 0 };
    struct cli_option opts[] = {
        { "--config", true, &a->config }, { "--tenant", true, &a->tenant },
        { "--webhook", true, &a->webhook }, { "--json", false, &a->json },
        { NULL, false, NULL },
    };
    if (!with_json)
        opts[3] = (struct cli_option){ NULL, false, NULL };
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, usage, opts, pos, with_id ? 1 : 0, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    if (with_id ? npos != 1 : a->tenant == NULL || a->webhook == NULL)
        return cli_usage_error(usage);
    a->id = with_id ? pos[0] : NULL;
    if (!cli_ids_valid(cmd, a->id, a->tenant, a->webhook))
        return EXIT_USAGE;
    return CLI_CONTINUE;
}

/*
 * ops_args_parse, then the session: returns CLI_CONTINUE with o open (close
 * it with cli_session_close), or the exit status.
 */
static int
ops_start(int argc, char **argv, const char *cmd, const char *usage, bool with_id,
          bool with_json, struct ops_args *a, struct cli_session *o)
{
    int rc = ops_args_parse(argc, argv, cmd, usage, with_id, with_json, a);

    if (rc != CLI_CONTINUE)
        return rc;
    return cli_session_open(o, a->config) == 0 ? CLI_CONTINUE : EXIT_FAILURE;
}

/* Finds delivery id; prints why not and returns -1. */
static int
find(const char *cmd, struct cli_session *o, const char *tenant, const char *webhook, const char *id,
     struct delivery *d, struct buf *payload)
{
    enum store_status st = store_delivery_find(o->store, tenant, webhook, id, d, payload);

    if (st == STORE_OK)
        return 0;
    fprintf(stderr, "hookspool %s: %s: %s\n", cmd, id,
            st == STORE_NOTFOUND ? "no such delivery" : "could not read the store");
    return -1;
}

static void
print_time(const char *label, long long ms)
{
    char when[40];

    if (ms <= 0) {
        printf("%-10s -\n", label);
        return;
    }
    delivery_time_format(ms, when, sizeof when);
    printf("%-10s %s\n", label, when);
}

static void
print_delivery(const struct delivery *d, const struct buf *payload)
{
    printf("%-10s %s\n", "delivery", d->ref.delivery_id);
    printf("%-10s %s (tenant %s)\n", "webhook", d->ref.webhook_id, d->ref.tenant);
    printf("%-10s %s %s\n", "event", d->ref.event_type, d->ref.event_id);
    printf("%-10s %s, %zu attempts\n", "status", delivery_status_name(d->status), d->n_tries);
    print_time("created", d->created_ms);
    print_time("next", d->status == DELIVERY_PENDING ? d->next_attempt_ms : 0);
    printf("\n%7s  %-24s  %6s  %8s  %s\n", "ATTEMPT", "TIME", "STATUS", "MS", "ERROR");
    for (size_t i = 0; i < d->n_tries; i++) {
        const struct delivery_try *t = &d->tries[i];
        char when[40], status[16];
        delivery_time_format(t->at_ms, when, sizeof when);
        snprintf(status, sizeof status, t->status_code > 0 ? "%d" : "-", t->status_code);
        printf("%7d  %-24s  %6s  %8ld  %s\n", t->attempt, when, status, t->duration_ms,
               t->error);
    }
    printf("\npayload\n%.*s\n", (int)payload->len, payload->data != NULL ? payload->data : "");
}

static void
print_json(const struct delivery *d, const struct buf *payload)
{
    json_object *o = delivery_to_json(d, true);
    json_object *p = NULL;

    /* A payload that does not read as JSON (or is empty) shows as null. */
    if (payload->len > 0)
        p = json_read_value(payload->data, payload->len, JSON_READ_DEPTH, 0, NULL);
    json_object_object_add(o, "payload", p);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

/* hookspool deliveries show ID */
int
cmd_deliveries_show(int argc, char **argv)
{
    struct ops_args a;
    struct cli_session o;
    int rc = ops_start(argc, argv, "deliveries show", show_usage, true, true, &a, &o);

    if (rc != CLI_CONTINUE)
        return rc;
    struct delivery d;
    struct buf payload;
    buf_init(&payload);
    rc = EXIT_FAILURE;
    if (find("deliveries show", &o, a.tenant, a.webhook, a.id, &d, &payload) == 0) {
        if (a.json != NULL)
            print_json(&d, &payload);
        else
            print_delivery(&d, &payload);
        rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        delivery_release(&d);
    }
    buf_release(&payload);
    cli_session_close(&o);
    return rc;
}

/* Loads the webhook; prints why it takes nothing (gone, disabled) and returns false. */
static bool
webhook_takes(const char *cmd, struct cli_session *o, const char *tenant, const char *id)
{
    struct webhook w;
    enum store_status st = store_webhook_get(o->store, tenant, id, &w);

    if (st != STORE_OK) {
        fprintf(stderr, "hookspool %s: webhook %s of tenant %s: %s\n", cmd, id, tenant,
                st == STORE_NOTFOUND ? "no such webhook" : "could not read the store");
        return false;
    }
    bool enabled = w.enabled;
    webhook_release(&w);
    if (!enabled)
        fprintf(stderr, "hookspool %s: webhook %s of tenant %s is disabled: it receives "
                        "nothing\n", cmd, id, tenant);
    return enabled;
}

int
cmd_redeliver(int argc, char **argv)
{
    struct ops_args a;
    struct cli_session o;
    int rc = ops_start(argc, argv, "redeliver", redeliver_usage, true, false, &a, &o);

    if (rc != CLI_CONTINUE)
        return rc;
    struct delivery d;
    rc = EXIT_FAILURE;
    if (find("redeliver", &o, a.tenant, a.webhook, a.id, &d, NULL) == 0) {
        char t[WEBHOOK_TENANT_MAX + 1], w[WEBHOOK_ID_LEN + 1];
        snprintf(t, sizeof t, "%s", d.ref.tenant);
        snprintf(w, sizeof w, "%s", d.ref.webhook_id);
        delivery_release(&d);
        if (webhook_takes("redeliver", &o, t, w)) {
            enum store_status st = store_delivery_redeliver(o.store, t, w, a.id,
                                                            clock_ms(CLOCK_REALTIME), &d);
            if (st == STORE_OK) {
                printf("%s\n", d.ref.delivery_id);
                rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
                delivery_release(&d);
            } else {
                fprintf(stderr, "hookspool redeliver: %s: could not write the store\n", a.id);
            }
        }
    }
    cli_session_close(&o);
    return rc;
}

int
cmd_ping(int argc, char **argv)
{
    struct ops_args a;
    struct cli_session o;
    int rc = ops_start(argc, argv, "ping", ping_usage, false, false, &a, &o);

    if (rc != CLI_CONTINUE)
        return rc;
    rc = EXIT_FAILURE;
    struct delivery_new nw;
    struct delivery d;
    char *body = NULL;
    if (webhook_takes("ping", &o, a.tenant, a.webhook)) {
        if (delivery_ping_new(a.tenant, a.webhook, &nw, &body) != 0) {
            fprintf(stderr, "hookspool ping: cannot make the ping event\n");
        } else if (store_delivery_ping(o.store, &nw, &d) != STORE_OK) {
            fprintf(stderr, "hookspool ping: could not write the store\n");
        } else {
            printf("%s\n", d.ref.delivery_id);
            rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
            delivery_release(&d);
        }
    }
    free(body);
    cli_session_close(&o);
    return rc;
}
