/*
 * hookspool - the admin and producer tool: one subcommand per task.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/log.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "apikey", cmd_apikey, "create, list or revoke API keys" },
    { "db", cmd_db, "verify the databases or back them up" },
    { "deliveries", cmd_deliveries, "print the delivery log of a tenant, or one delivery (show ID)" },
    { "emit", cmd_emit, "publish an event into the spool" },
    { "ping", cmd_ping, "send a Webhook:Ping event to one webhook" },
    { "queue", cmd_queue, "show the spool by state and destination (like qshape)" },
    { "redeliver", cmd_redeliver, "send a delivery again" },
    { "requeue", cmd_requeue, "put dead letters (spool failed/) back into the queue" },
    { "rotate-secret", cmd_rotate_secret, "give a webhook a new signature secret" },
    { "sign", cmd_sign, "print the signature of a body" },
    { "token", cmd_token, "check a bearer token as the API would" },
    { "verify", cmd_verify, "check a signature against a body" },
};

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: hookspool COMMAND [--config FILE] [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(fp, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'hookspool COMMAND --help' describes one command.\n");
}

int
main(int argc, char **argv)
{
    /*
     * Interactive use logs to the terminal; from cron or a script, to stderr
     * and syslog, so that a trace is kept. Files it creates in the shared
     * database and spool stay writable by group hookspool (docs/deploy.md).
     */
    if (isatty(STDERR_FILENO))
        log_open("hookspool", true);
    else
        log_open_both("hookspool");
    umask(S_IRWXO);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hookspool %s\n", PACKAGE_VERSION);
        return EXIT_SUCCESS;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hookspool: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
