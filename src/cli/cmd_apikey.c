/*
 * cmd_apikey - hookspool apikey create | list | revoke: API keys, shown
 * once at creation and stored only as a hash.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "cli/cli.h"
#include "domain/scope.h"
#include "domain/webhook.h"
#include "util/digest.h"

static const char apikey_usage[] =
    "usage: hookspool apikey create --tenant T --scopes Webhook.Read,Webhook.Write [--label L]\n"
    "       hookspool apikey list [--tenant T]\n"
    "       hookspool apikey revoke ID\n"
    "options: --config FILE\n";

static int
apikey_create(struct store *s, const char *tenant, const char *scopes_arg, const char *label)
{
    unsigned scopes;
    struct apikey rec;
    char key[APIKEY_LEN + 1];

    if (tenant == NULL || !webhook_tenant_valid(tenant)) {
        fprintf(stderr, "hookspool apikey create: --tenant must be 1 to 64 characters of "
                        "A-Z, a-z, 0-9, '_' and '-'\n");
        return EXIT_USAGE;
    }
    if (scopes_arg == NULL || scope_parse_list(scopes_arg, &scopes) != 0 || scopes == 0) {
        fprintf(stderr, "hookspool apikey create: --scopes must list Webhook.Read and/or "
                        "Webhook.Write\n");
        return EXIT_USAGE;
    }
    if (label != NULL && strlen(label) > APIKEY_LABEL_MAX) {
        fprintf(stderr, "hookspool apikey create: --label is longer than %d characters\n",
                APIKEY_LABEL_MAX);
        return EXIT_USAGE;
    }
    if (apikey_generate(&rec, key, tenant, scopes, label) != 0) {
        fprintf(stderr, "hookspool apikey create: the random number generator failed\n");
        return EXIT_FAILURE;
    }
    if (store_apikey_add(s, &rec) != STORE_OK) {
        fprintf(stderr, "hookspool apikey create: could not store the key\n");
        wipe(key, sizeof key);
        return EXIT_FAILURE;
    }
    printf("%s\n", key);
    wipe(key, sizeof key);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
apikey_list(struct store *s, const char *tenant)
{
    struct apikey *keys;
    size_t n;

    if (store_apikey_list(s, tenant, &keys, &n) != STORE_OK) {
        fprintf(stderr, "hookspool apikey list: could not read the keys\n");
        return EXIT_FAILURE;
    }
    printf("%-12s  %-20s  %-26s  %-8s  %-20s  %s\n", "ID", "TENANT", "SCOPES", "STATE",
           "CREATED", "LABEL");
    for (size_t i = 0; i < n; i++) {
        char scopes[64], created[32];
        struct tm tm;
        scope_format(keys[i].scopes, scopes, sizeof scopes);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&keys[i].created, &tm));
        printf("%-12s  %-20s  %-26s  %-8s  %-20s  %s\n", keys[i].id, keys[i].tenant, scopes,
               keys[i].revoked ? "revoked" : "active", created, keys[i].label);
    }
    free(keys);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
apikey_revoke(struct store *s, const char *id)
{
    switch (store_apikey_revoke(s, id)) {
    case STORE_OK:
        return EXIT_SUCCESS;
    case STORE_NOTFOUND:
        fprintf(stderr, "hookspool apikey revoke: no key with id %s\n", id);
        return EXIT_FAILURE;
    default:
        fprintf(stderr, "hookspool apikey revoke: could not revoke %s\n", id);
        return EXIT_FAILURE;
    }
}

int
cmd_apikey(int argc, char **argv)
{
    const char *config = NULL, *tenant = NULL, *scopes = NULL, *label = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--tenant", true, &tenant },
        { "--scopes", true, &scopes }, { "--label", true, &label }, { NULL, false, NULL },
    };
    const char *pos[2];
    int npos;
    int rc = cli_parse(argc, argv, apikey_usage, opts, pos, 2, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    const char *action = npos > 0 ? pos[0] : "";
    bool is_create = strcmp(action, "create") == 0, is_list = strcmp(action, "list") == 0,
         is_revoke = strcmp(action, "revoke") == 0;
    if ((!is_create && !is_list && !is_revoke) || (is_revoke ? npos != 2 : npos != 1)) {
        return cli_usage_error(apikey_usage);
    }
    struct cli_session c;
    if (cli_session_open(&c, config) != 0)
        return EXIT_FAILURE;
    if (is_create)
        rc = apikey_create(c.store, tenant, scopes, label);
    else if (is_list)
        rc = apikey_list(c.store, tenant);
    else
        rc = apikey_revoke(c.store, pos[1]);
    cli_session_close(&c);
    return rc;
}
