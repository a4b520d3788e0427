/*
 * cli - what every hookspool subcommand shares (cli.h): option parsing,
 * the configuration, the store, error reporting and exit statuses.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "domain/delivery.h"
#include "domain/webhook.h"

/* The parser itself: 0, 1 for --help, -1 after printing an error. */
static int
parse(int argc, char **argv, const struct cli_option *opts, const char **positional,
      int max_positional, int *n_positional)
{
    *n_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        if (strncmp(arg, "--", 2) != 0 || strcmp(arg, "-") == 0) {
            if (*n_positional == max_positional) {
                fprintf(stderr, "hookspool %s: unexpected argument \"%s\"\n", argv[0], arg);
                return -1;
            }
            positional[(*n_positional)++] = arg;
            continue;
        }
        const struct cli_option *o = opts;
        while (o->name != NULL && strcmp(o->name, arg) != 0)
            o++;
        if (o->name == NULL) {
            fprintf(stderr, "hookspool %s: unknown option %s\n", argv[0], arg);
            return -1;
        }
        if (!o->takes_value) {
            *o->value = o->name;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            fprintf(stderr, "hookspool %s: %s needs a value\n", argv[0], arg);
            return -1;
        }
    }
    return 0;
}

int
cli_parse(int argc, char **argv, const char *usage, const struct cli_option *opts,
          const char **positional, int max_positional, int *n_positional)
{
    int rc = parse(argc, argv, opts, positional, max_positional, n_positional);

    if (rc == 0)
        return CLI_CONTINUE;
    fputs(usage, rc > 0 ? stdout : stderr);
    return rc > 0 ? EXIT_SUCCESS : EXIT_USAGE;
}

int
cli_usage_error(const char *usage)
{
    fputs(usage, stderr);
    return EXIT_USAGE;
}

/*
 * ./run-local's configuration, for the uninstalled hookspool of the build tree it
 * was built in: when neither --config nor $HOOKSPOOL_CONF is given, the program
 * at BUILD_DIR/hookspool uses SOURCE_DIR/run/hookspool.conf if that file exists,
 * so that the commands ./run-local and README print work pasted into any shell.
 * An installed copy lives elsewhere and never looks there.
 */
static const char *
run_local_config(void)
{
#if defined(HOOKSPOOL_BUILD_DIR) && defined(HOOKSPOOL_RUN_LOCAL_CONF)
    const char *env = getenv("HOOKSPOOL_CONF");
    char exe[PATH_MAX], build[PATH_MAX];
    ssize_t n;

    if (env != NULL && env[0] != '\0')
        return NULL;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    if (realpath(HOOKSPOOL_BUILD_DIR, build) == NULL || strcmp(exe, build) != 0)
        return NULL;
    if (access(HOOKSPOOL_RUN_LOCAL_CONF, R_OK) != 0)
        return NULL;
    return HOOKSPOOL_RUN_LOCAL_CONF;
#else
    return NULL;
#endif
}

const char *
cli_config_path(const char *path)
{
    const char *local = path == NULL ? run_local_config() : NULL;

    return local != NULL ? local : config_choose_path(path);
}

int
cli_config(struct config *cfg, const char *path)
{
    char err[1024];

    if (config_load(cfg, cli_config_path(path), err, sizeof err) != 0) {
        fprintf(stderr, "hookspool: %s\n", err);
        config_release(cfg);
        return -1;
    }
    log_set_level(cfg->log_level);
    return 0;
}

struct store *
cli_store(const struct config *cfg)
{
    char err[1024] = "";
    struct store *s = store_open(cfg, err, sizeof err);

    if (s == NULL)
        fprintf(stderr, "hookspool: %s\n", err);
    return s;
}

int
cli_session_open(struct cli_session *c, const char *config_path)
{
    if (cli_config(&c->cfg, config_path) != 0)
        return -1;
    c->store = cli_store(&c->cfg);
    if (c->store == NULL) {
        config_release(&c->cfg);
        return -1;
    }
    return 0;
}

void
cli_session_close(struct cli_session *c)
{
    store_close(c->store);
    config_release(&c->cfg);
}

bool
cli_ids_valid(const char *cmd, const char *delivery_id, const char *tenant,
              const char *webhook)
{
    if (delivery_id != NULL && !delivery_id_valid(delivery_id)) {
        fprintf(stderr, "hookspool %s: a delivery id is 32 lowercase hex digits\n", cmd);
        return false;
    }
    if (tenant != NULL && !webhook_tenant_valid(tenant)) {
        fprintf(stderr, "hookspool %s: --tenant must be 1 to 64 characters of A-Z, a-z, 0-9, "
                        "'_' and '-'\n", cmd);
        return false;
    }
    if (webhook != NULL && !webhook_id_valid(webhook)) {
        fprintf(stderr, "hookspool %s: --webhook must be a 5-character webhook id\n", cmd);
        return false;
    }
    return true;
}
