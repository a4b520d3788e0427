/*
 * hookspool requeue - puts dead letters (spool failed/) back into the queue.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/spool.h"

enum { REQUEUE_MAX_NAMES = 1024 };

static const char requeue_usage[] =
    "usage: hookspool requeue [NAME...]\n"
    "Moves every file in the spool's failed/ (or only the NAMEs given) back into\n"
    "new/ for the sender, removes their .reason files, and prints how many moved.\n"
    "options: --config FILE\n";

int
cmd_requeue(int argc, char **argv)
{
    const char *config = NULL;
    const struct cli_option opts[] = { { "--config", true, &config }, { NULL, false, NULL } };
    const char *pos[REQUEUE_MAX_NAMES];
    int npos;
    int rc = cli_parse(argc, argv, requeue_usage, opts, pos, REQUEUE_MAX_NAMES, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    struct config cfg;
    if (cli_config(&cfg, config) != 0)
        return EXIT_FAILURE;
    size_t moved = 0;
    rc = EXIT_SUCCESS;
    if (npos == 0) {
        if (spool_requeue_failed(cfg.spool_dir, &moved) != 0) {
            fprintf(stderr, "hookspool requeue: %s: %s\n", cfg.spool_dir, strerror(errno));
            rc = EXIT_FAILURE;
        }
    }
    for (int i = 0; i < npos; i++) {
        int r = spool_requeue(cfg.spool_dir, pos[i]);
        if (r == 0) {
            moved++;
        } else {
            fprintf(stderr, "hookspool requeue: %s: %s\n", pos[i],
                    r == 1 ? "not in failed/" : strerror(errno));
            rc = EXIT_FAILURE;
        }
    }
    printf("requeued %zu\n", moved);
    if (fflush(stdout) != 0)
        rc = EXIT_FAILURE;
    config_release(&cfg);
    return rc;
}
