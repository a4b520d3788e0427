/*
 * hookspool token - checks a bearer token exactly as the API would, to try
 * an OAuth2 / OpenID Connect set-up (docs/oauth.md) without a web server.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "domain/auth.h"
#include "domain/bearer.h"
#include "domain/jwt.h"
#include "domain/scope.h"
#include "util/buf.h"

static const char token_usage[] =
    "usage: hookspool token check [--config FILE] [FILE]\n"
    "Checks the bearer token in FILE (standard input if FILE is absent or '-';\n"
    "a leading \"Bearer \" is allowed) with the configured issuer, audience and\n"
    "keys (fetching jwt_jwks_url if needed), and prints the tenants and scopes\n"
    "it grants. The token is read from a file, never from the command line,\n"
    "where other users could see it.\n"
    "exit status: 0 accepted, 1 refused (the reason on standard error), 2 usage error\n";

/* Prints what who grants on one line. */
static void
print_grant(const struct principal *who)
{
    char scopes[128];

    scope_format(who->scopes, scopes, sizeof scopes);
    printf("accepted: tenants ");
    if (who->all_tenants)
        printf("* (every tenant)");
    for (size_t i = 0; i < who->n_tenants; i++)
        printf("%s%s", i > 0 || who->all_tenants ? "," : "", who->tenants[i]);
    if (!who->all_tenants && who->n_tenants == 0)
        printf("(none)");
    printf("; scopes %s\n", scopes[0] != '\0' ? scopes : "(none)");
}

int
cmd_token(int argc, char **argv)
{
    const char *config = NULL;
    const struct cli_option opts[] = { { "--config", true, &config }, { NULL, false, NULL } };
    const char *pos[2];
    int npos;
    int rc = cli_parse(argc, argv, token_usage, opts, pos, 2, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    if (npos < 1 || strcmp(pos[0], "check") != 0) {
        return cli_usage_error(token_usage);
    }
    struct config cfg;
    if (cli_config(&cfg, config) != 0)
        return EXIT_FAILURE;
    struct buf text;
    buf_init(&text);
    rc = EXIT_FAILURE;
    if (cli_read_input("token", npos > 1 ? pos[1] : NULL, JWT_MAX_LEN + 64, &text) == 0) {
        const char *tok = text.data + strspn(text.data, " \t\r\n");
        if (strncasecmp(tok, "Bearer ", 7) == 0)
            tok += 7 + strspn(tok + 7, " ");
        size_t len = strcspn(tok, " \t\r\n");
        struct bearer *b = bearer_new(&cfg);
        struct principal who;
        const char *why;
        if (tok[len + strspn(tok + len, " \t\r\n")] != '\0')
            fprintf(stderr, "hookspool token: refused: more than one token in the input\n");
        else if (bearer_authenticate(b, tok, len, time(NULL), &who, &why) == AUTH_OK) {
            print_grant(&who);
            principal_release(&who);
            rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        } else {
            fprintf(stderr, "hookspool token: refused: %s\n", why);
        }
        bearer_free(b);
    }
    buf_release(&text);
    config_release(&cfg);
    return rc;
}
