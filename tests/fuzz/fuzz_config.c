/*
 * libFuzzer target for hookspool.conf (util/conffile + domain/config): the
 * input is written to a file and loaded. Invariants: a refusal names the
 * file (and a line when it is about one); an accepted file leaves settings
 * within their documented ranges. Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/config.h"
#include "util/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[] = "/tmp/hookspool-fuzz-config-XXXXXX";
static int fd = -1;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[1024] = "";

    if (fd < 0 && (fd = mkstemp(path)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    int rc = config_load(&cfg, path, err, sizeof err);
    if (rc != 0 && strncmp(err, path, strlen(path)) != 0)
        abort();                /* every error names the file */
    if (rc == 0 && (cfg.base_path[0] != '/' || cfg.max_body_bytes < 1024 ||
                    cfg.retry_count > CONFIG_MAX_RETRIES || cfg.delivery_timeout < 1))
        abort();
    config_release(&cfg);
    return 0;
}
