/*
 * cli - shared by the subcommands of the hookspool admin tool.
 *
 * Each subcommand is a function taking its own argv (argv[0] is its name).
 * Exit codes: 0 success, 1 failure, 2 usage error. Errors go to stderr.
 */
#ifndef HOOKSPOOL_CLI_H
#define HOOKSPOOL_CLI_H

#include <stdbool.h>

#include "domain/config.h"
#include "domain/store.h"
#include "util/buf.h"

enum { EXIT_USAGE = 2 };

/*
 * The configuration file a command reads: path if not NULL, else
 * $HOOKSPOOL_CONF, else ./run-local's for the uninstalled build, else the
 * installed default (see cli.c).
 */
const char *cli_config_path(const char *path);

struct cli_option {
    const char *name;           /* "--tenant" */
    bool takes_value;
    const char **value;         /* set to the value (or to name for flags) */
};

/* cli_parse's answer when the command should go on. */
enum { CLI_CONTINUE = -1 };

/*
 * Parses argv[1..] against opts; positional arguments go to positional
 * (at most max_positional). Returns CLI_CONTINUE, or the exit status to
 * return at once: EXIT_SUCCESS after printing usage for "--help",
 * EXIT_USAGE after printing the error and usage to stderr.
 */
int cli_parse(int argc, char **argv, const char *usage, const struct cli_option *opts,
              const char **positional, int max_positional, int *n_positional);

/* Prints usage to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *usage);

/* Loads the configuration (explicit path or default); prints the error, frees cfg and returns -1. */
int cli_config(struct config *cfg, const char *path);

/* Opens the store; prints the error and returns NULL on failure. */
struct store *cli_store(const struct config *cfg);

/* What a command that works on the store holds: its configuration and the open store. */
struct cli_session {
    struct config cfg;
    struct store *store;
};

/*
 * Loads the configuration (cli_config) and opens the store (cli_store).
 * Returns 0, or -1 after printing the error, with nothing left to close.
 */
int cli_session_open(struct cli_session *c, const char *config_path);
/* Closes the store and releases the configuration. */
void cli_session_close(struct cli_session *c);

/*
 * Checks a delivery id, --tenant and --webhook, each unless NULL. Prints
 * "hookspool CMD: ..." for the first bad one and returns false.
 */
bool cli_ids_valid(const char *cmd, const char *delivery_id, const char *tenant,
                   const char *webhook);

/* The largest body sign and verify read. */
#define CLI_BODY_MAX ((size_t)64 << 20)

/*
 * Appends the file at path (stdin if NULL or "-") to out, at most max
 * bytes. Returns 0, -1 on an I/O error, -2 if larger than max; prints the
 * error as "hookspool CMD: ...".
 */
int cli_read_input(const char *cmd, const char *path, size_t max, struct buf *out);

/*
 * What sign and verify read: the secret into key (exactly one of secret and
 * secret_file, whose one trailing newline is dropped) and the body at path
 * (stdin if NULL or "-") into body; both buffers are initialised here.
 * Returns 0, or the exit status after printing the error (EXIT_USAGE, or 1
 * if something is unreadable). Release with cli_signing_release either way.
 */
int cli_signing_input(const char *cmd, const char *secret, const char *secret_file,
                      const char *path, struct buf *key, struct buf *body);

/* Wipes the secret and releases both buffers. */
void cli_signing_release(struct buf *key, struct buf *body);

int cmd_apikey(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_deliveries(int argc, char **argv);
int cmd_deliveries_show(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_redeliver(int argc, char **argv);
int cmd_emit(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_requeue(int argc, char **argv);
int cmd_rotate_secret(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
