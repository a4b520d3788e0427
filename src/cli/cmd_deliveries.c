/*
 * hookspool deliveries - prints the delivery log of a tenant, newest first.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "util/xalloc.h"

static const char deliveries_usage[] =
    "usage: hookspool deliveries --tenant T [--webhook ID] [--limit N] [--json]\n"
    "       hookspool deliveries show ID (see hookspool deliveries show --help)\n"
    "Prints the most recent delivery attempts (default 100), newest first: time (UTC),\n"
    "webhook, delivery id, attempt number, HTTP status (- if none), duration, event\n"
    "type and id, and the error of a failed attempt. --json prints one JSON object a line.\n"
    "options: --config FILE\n";

static void
print_json(const struct delivery_attempt *a)
{
    json_object *o = store_delivery_to_json(a);

    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

static void
print_row(const struct delivery_attempt *a)
{
    char when[40], status[16];
    time_t secs = (time_t)(a->time_ms / 1000);
    struct tm tm;

    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&secs, &tm));
    if (a->status > 0)
        snprintf(status, sizeof status, "%d", a->status);
    else
        snprintf(status, sizeof status, "-");
    printf("%s.%03dZ  %-7s  %-32s  %7d  %6s  %8ld  %s %s%s%s\n", when, (int)(a->time_ms % 1000),
           a->ref.webhook_id, a->ref.delivery_id, a->attempt, status, a->duration_ms,
           a->ref.event_type, a->ref.event_id, a->error[0] != '\0' ? "  " : "", a->error);
}

/* Where the word "show" is among argv's positional arguments, or 0. */
static int
show_position(int argc, char **argv)
{
    static const char *const with_value[] = { "--config", "--tenant", "--webhook", "--limit" };

    for (int i = 1; i < argc; i++) {
        bool takes = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            takes = takes || strcmp(argv[i], with_value[k]) == 0;
        if (takes)
            i++;
        else if (strcmp(argv[i], "show") == 0)
            return i;
        else if (strncmp(argv[i], "--", 2) != 0)
            return 0;
    }
    return 0;
}

int
cmd_deliveries(int argc, char **argv)
{
    const char *config = NULL, *tenant = NULL, *webhook = NULL, *limit_arg = NULL,
               *json = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--tenant", true, &tenant },
        { "--webhook", true, &webhook }, { "--limit", true, &limit_arg },
        { "--json", false, &json }, { NULL, false, NULL },
    };
    int show = show_position(argc, argv);
    if (show > 0) {
        /* "deliveries [options] show ID [options]": the same without "show". */
        char **rest = xcalloc((size_t)argc, sizeof *rest);
        int n = 0;
        rest[n++] = "deliveries show";
        for (int i = 1; i < argc; i++)
            if (i != show)
                rest[n++] = argv[i];
        int shown = cmd_deliveries_show(n, rest);
        free(rest);
        return shown;
    }
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, deliveries_usage, opts, pos, 0, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    /* --tenant is required: a missing one gets the message of a bad one. */
    if (!cli_ids_valid("deliveries", NULL, tenant != NULL ? tenant : "", webhook))
        return EXIT_USAGE;
    long limit = 100;
    if (limit_arg != NULL) {
        char *end;
        limit = strtol(limit_arg, &end, 10);
        if (*end != '\0' || limit < 1 || limit > 100000) {
            fprintf(stderr, "hookspool deliveries: --limit must be a number from 1 to 100000\n");
            return EXIT_USAGE;
        }
    }
    struct cli_session c;
    if (cli_session_open(&c, config) != 0)
        return EXIT_FAILURE;
    struct delivery_attempt *list;
    size_t n;
    rc = EXIT_SUCCESS;
    if (store_delivery_list(c.store, tenant, webhook, (size_t)limit, &list, &n) != STORE_OK) {
        fprintf(stderr, "hookspool deliveries: could not read the delivery log\n");
        rc = EXIT_FAILURE;
    } else {
        if (json == NULL)
            printf("%-24s  %-7s  %-32s  %7s  %6s  %8s  %s\n", "TIME", "WEBHOOK", "DELIVERY",
                   "ATTEMPT", "STATUS", "MS", "EVENT / ERROR");
        for (size_t i = 0; i < n; i++) {
            if (json != NULL)
                print_json(&list[i]);
            else
                print_row(&list[i]);
        }
        free(list);
        if (fflush(stdout) != 0)
            rc = EXIT_FAILURE;
    }
    cli_session_close(&c);
    return rc;
}
