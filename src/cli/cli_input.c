/*
 * cli_input - what the producer commands read: a file or stdin, capped,
 * and a signature secret from the command line or a file.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli/cli.h"
#include "util/digest.h"
#include "util/fileio.h"

int
cli_read_input(const char *cmd, const char *path, size_t max, struct buf *out)
{
    bool from_stdin = path == NULL || strcmp(path, "-") == 0;
    const char *shown = from_stdin ? "standard input" : path;
    int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    char chunk[16384];

    if (fd < 0) {
        fprintf(stderr, "hookspool %s: %s: %s\n", cmd, shown, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "hookspool %s: %s: %s\n", cmd, shown, strerror(errno));
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        if (out->len + (size_t)r > max) {
            fprintf(stderr, "hookspool %s: %s is larger than %zu bytes\n", cmd, shown, max);
            rc = -2;
            break;
        }
        buf_append(out, chunk, (size_t)r);
    }
    if (!from_stdin)
        close(fd);
    return rc;
}

/* Puts the secret into out; returns 0 or the exit status after printing the error. */
static int
cli_secret(const char *cmd, const char *secret, const char *secret_file, struct buf *out)
{
    if ((secret == NULL) == (secret_file == NULL)) {
        fprintf(stderr, "hookspool %s: give the secret with --secret S or --secret-file F\n",
                cmd);
        return EXIT_USAGE;
    }
    if (secret != NULL) {
        buf_puts(out, secret);
    } else {
        int rc = fileio_read(secret_file, 4096, out);
        if (rc != 0) {
            fprintf(stderr, "hookspool %s: %s: %s\n", cmd, secret_file,
                    rc == -2 ? "larger than 4096 bytes" : strerror(errno));
            wipe(out->data, out->len);
            buf_reset(out);
            return 1;
        }
        /* One trailing line end is how files are written, not part of the secret. */
        if (out->len > 0 && out->data[out->len - 1] == '\n')
            out->data[--out->len] = '\0';
        if (out->len > 0 && out->data[out->len - 1] == '\r')
            out->data[--out->len] = '\0';
    }
    if (out->len == 0 || strlen(out->data) != out->len) {
        fprintf(stderr, "hookspool %s: the secret is empty or contains a NUL byte\n", cmd);
        wipe(out->data, out->len);
        buf_reset(out);
        return EXIT_USAGE;
    }
    return 0;
}

int
cli_signing_input(const char *cmd, const char *secret, const char *secret_file,
                  const char *path, struct buf *key, struct buf *body)
{
    buf_init(key);
    buf_init(body);
    int rc = cli_secret(cmd, secret, secret_file, key);
    if (rc == 0 && cli_read_input(cmd, path, CLI_BODY_MAX, body) != 0)
        rc = EXIT_FAILURE;
    return rc;
}

void
cli_signing_release(struct buf *key, struct buf *body)
{
    wipe(key->data, key->len);
    buf_release(key);
    buf_release(body);
}
