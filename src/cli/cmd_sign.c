/*
 * hookspool sign - prints the X-NEOSTORE-SIGNATURE of a body.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/signature.h"
#include "util/buf.h"

static const char sign_usage[] =
    "usage: hookspool sign (--secret S | --secret-file F) [--encoding hex|base64] [FILE]\n"
    "Prints the HMAC-SHA256 signature of FILE's exact bytes (standard input if FILE\n"
    "is absent or '-') as X-NEOSTORE-SIGNATURE carries it.\n"
    "  --encoding E     hex (lowercase) or base64; default: signature_encoding of\n"
    "                   --config FILE or $HOOKSPOOL_CONF if given, else hex\n"
    "  --secret-file F  read the secret from F (one trailing newline ignored)\n"
    "options: --config FILE\n";

/* True if $HOOKSPOOL_CONF names a configuration file. */
static bool
sign_env_config(void)
{
    const char *env = getenv("HOOKSPOOL_CONF");

    return env != NULL && env[0] != '\0';
}

int
cmd_sign(int argc, char **argv)
{
    const char *config = NULL, *secret = NULL, *secret_file = NULL, *encoding = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--secret", true, &secret },
        { "--secret-file", true, &secret_file }, { "--encoding", true, &encoding },
        { NULL, false, NULL },
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, sign_usage, opts, pos, 1, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    enum signature_encoding enc = SIGNATURE_HEX;
    if (encoding != NULL && strcmp(encoding, "base64") == 0) {
        enc = SIGNATURE_BASE64;
    } else if (encoding != NULL && strcmp(encoding, "hex") != 0) {
        fprintf(stderr, "hookspool sign: --encoding must be hex or base64\n");
        return EXIT_USAGE;
    } else if (encoding == NULL && (config != NULL || sign_env_config())) {
        /* Only an explicit configuration is read: signing must work on any machine. */
        struct config cfg;
        rc = cli_config(&cfg, config);
        enc = cfg.signature_encoding;
        config_release(&cfg);
        if (rc != 0)
            return EXIT_FAILURE;
    }

    struct buf key, body;
    rc = cli_signing_input("sign", secret, secret_file, npos > 0 ? pos[0] : NULL, &key, &body);
    if (rc == 0) {
        char sig[SIGNATURE_MAX];
        if (signature_compute(key.data, body.data, body.len, enc, sig) != 0) {
            fprintf(stderr, "hookspool sign: HMAC-SHA256 failed\n");
            rc = EXIT_FAILURE;
        } else {
            printf("%s\n", sig);
            rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
    }
    cli_signing_release(&key, &body);
    return rc;
}
