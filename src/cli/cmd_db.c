/*
 * cmd_db - hookspool db verify | backup DIR: the store's structure checked,
 * and a hot backup.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char db_usage[] =
    "usage: hookspool db verify\n"
    "       hookspool db backup DIR\n"
    "options: --config FILE\n";

int
cmd_db(int argc, char **argv)
{
    const char *config = NULL;
    const struct cli_option opts[] = { { "--config", true, &config }, { NULL, false, NULL } };
    const char *pos[2];
    int npos;
    int rc = cli_parse(argc, argv, db_usage, opts, pos, 2, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    bool verify = npos == 1 && strcmp(pos[0], "verify") == 0;
    bool backup = npos == 2 && strcmp(pos[0], "backup") == 0;
    if (!verify && !backup) {
        return cli_usage_error(db_usage);
    }
    struct config cfg;
    char err[1024];
    if (cli_config(&cfg, config) != 0)
        return EXIT_FAILURE;
    if (verify) {
        rc = store_verify(&cfg, err, sizeof err);
        if (rc == 0)
            printf("ok\n");
    } else {
        struct store *s = cli_store(&cfg);
        rc = s == NULL ? -1 : store_backup(s, pos[1], err, sizeof err);
        if (s == NULL)
            snprintf(err, sizeof err, "cannot open the store");
        store_close(s);
    }
    if (rc != 0)
        fprintf(stderr, "hookspool db: %s\n", err);
    config_release(&cfg);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
