/*
 * hookspool verify - checks an X-NEOSTORE-SIGNATURE against a body.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/signature.h"
#include "util/buf.h"

static const char verify_usage[] =
    "usage: hookspool verify (--secret S | --secret-file F) --signature SIG [FILE]\n"
    "Checks SIG (hex in either case, or base64) against the HMAC-SHA256 of FILE's\n"
    "exact bytes (standard input if FILE is absent or '-'), in constant time.\n"
    "  --secret-file F  read the secret from F (one trailing newline ignored)\n"
    "options: --config FILE\n"
    "exit status: 0 the signature matches, 1 it does not (or FILE is unreadable),\n"
    "2 usage error\n";

int
cmd_verify(int argc, char **argv)
{
    const char *config = NULL, *secret = NULL, *secret_file = NULL, *signature = NULL;
    const struct cli_option opts[] = {
        { "--config", true, &config }, { "--secret", true, &secret },
        { "--secret-file", true, &secret_file }, { "--signature", true, &signature },
        { NULL, false, NULL },
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(argc, argv, verify_usage, opts, pos, 1, &npos);

    if (rc != CLI_CONTINUE)
        return rc;
    if (signature == NULL) {
        fprintf(stderr, "hookspool verify: --signature is required\n");
        return cli_usage_error(verify_usage);
    }
    /* The configuration plays no part in verifying; a bad file is still an error. */
    if (config != NULL) {
        struct config cfg;
        rc = cli_config(&cfg, config);
        config_release(&cfg);
        if (rc != 0)
            return EXIT_FAILURE;
    }

    struct buf key, body;
    rc = cli_signing_input("verify", secret, secret_file, npos > 0 ? pos[0] : NULL, &key, &body);
    if (rc == 0) {
        /* Copied header values often carry surrounding blanks. */
        size_t start = strspn(signature, " \t\r\n"), end = strlen(signature);
        while (end > start && strchr(" \t\r\n", signature[end - 1]) != NULL)
            end--;
        char presented[SIGNATURE_MAX + 1] = "";
        if (end - start <= SIGNATURE_MAX)
            snprintf(presented, sizeof presented, "%.*s", (int)(end - start), signature + start);
        if (signature_verify(key.data, body.data, body.len, presented)) {
            printf("signature matches\n");
            rc = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        } else {
            fprintf(stderr, "hookspool verify: the signature does not match\n");
            rc = EXIT_FAILURE;
        }
    }
    cli_signing_release(&key, &body);
    return rc;
}
