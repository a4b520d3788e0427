/*
 * hookspool rotate-secret - gives a webhook a new signature secret, the
 * old one signing too for an overlap, as POST .../rotate-secret does.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "domain/rotation.h"
#include "domain/webhook.h"
#include "util/clock.h"

static const char rotate_usage[] =
    "usage: hookspool rotate-secret --tenant T --webhook ID [--overlap SECONDS]\n"
    "Gives the webhook a new random signatureSecret and prints the webhook as JSON, as the\n"
    "API's POST .../rotate-secret answers, with \"previousSecretExpiresAt\". For SECONDS\n"
    "(0 to 604800, default 86400) the old secret keeps signing too: deliveries carry\n"
    "X-NEOSTORE-SIGNATURE-PREVIOUS, so receivers can switch at any moment of the overlap.\n"
    "A second rotation during an overlap replaces the older secret.\n"
    "options: --config FILE\n";

/* Parses --overlap; returns 0, or -1 if it is not a whole number of seconds in range. */
static int
parse_overlap(const char *arg, long *out)
{
    char *end;
    long n;

    if (arg == NULL) {
        *out = ROTATION_OVERLAP_DEFAULT;
        return 0;
    }
    if (arg[0] < '0' || arg[0] > '9')
        return -1;
    n = strtol(arg, &end, 10);
    if (*end != '\0' || n < 0 || n > ROTATION_OVERLAP_MAX)
        return -1;
    *out = n;
    return 0;
}

int
cmd_rotate_secret(int argc, char **argv)
{
    const char *config = NULL, *tenant = NULL, *webhook = NULL, *overlap_arg = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--tenant", true, &tenant },
        { "--webhook", true, &webhook }, { "--overlap", true, &overlap_arg },
        { NULL, false, NULL },
    };
    const char *pos[1];
    int npos;
    long overlap;
    int rc = cli_parse(argc, argv, rotate_usage, opts, pos, 0, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    /* Both are required: a missing one gets the message of a bad one. */
    if (!cli_ids_valid("rotate-secret", NULL, tenant != NULL ? tenant : "",
                       webhook != NULL ? webhook : ""))
        return EXIT_USAGE;
    if (parse_overlap(overlap_arg, &overlap) != 0) {
        fprintf(stderr, "hookspool rotate-secret: --overlap must be a number of seconds from 0 "
                        "to %ld\n", ROTATION_OVERLAP_MAX);
        return EXIT_USAGE;
    }
    struct cli_session c;
    if (cli_session_open(&c, config) != 0)
        return EXIT_FAILURE;
    struct webhook w;
    long long now = (clock_ms(CLOCK_REALTIME) + 999) / 1000;
    enum store_status st = store_webhook_rotate(c.store, tenant, webhook, overlap, now, &w);
    rc = EXIT_FAILURE;
    if (st == STORE_NOTFOUND) {
        fprintf(stderr, "hookspool rotate-secret: tenant %s has no webhook %s\n", tenant,
                webhook);
    } else if (st != STORE_OK) {
        fprintf(stderr, "hookspool rotate-secret: the store did not answer; nothing was "
                        "changed\n");
    } else {
        json_object *o = rotation_to_json(&w);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        webhook_release(&w);
        rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    cli_session_close(&c);
    return rc;
}
