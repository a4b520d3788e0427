/*
 * unit - a minimal table-friendly test harness: CHECK counts, the summary
 * line "N passed, N failed" ends the run, the exit status is 1 on failure.
 * Also what several suites need around it: a scratch directory under /tmp,
 * and a store (a real Berkeley DB) opened in one.
 */
#ifndef HOOKSPOOL_UNIT_H
#define HOOKSPOOL_UNIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/config.h"
#include "domain/store.h"
#include "util/xalloc.h"

static int unit_passed, unit_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            unit_passed++;                                                      \
        } else {                                                                \
            unit_failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

static inline int
unit_summary(const char *suite)
{
    printf("%s: %d passed, %d failed\n", suite, unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

/*
 * A new directory /tmp/hookspool-unit-NAME-XXXXXX, for the caller to pass to
 * unit_scratch_remove; NULL (said on stderr) when it cannot be made.
 */
static inline char *
unit_scratch_new(const char *name)
{
    char *dir = xasprintf("/tmp/hookspool-unit-%s-XXXXXX", name);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "unit_scratch_new: %s: %s\n", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

/*
 * Removes a scratch directory and all in it, and frees its name: 0, or -1
 * (said on stderr) when it could not be removed.
 */
static inline int
unit_scratch_remove(char *dir)
{
    if (dir == NULL)
        return 0;
    char *cmd = xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd) == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "unit_scratch_remove: %s: could not remove\n", dir);
    free(cmd);
    free(dir);
    return rc;
}

/*
 * A test store: the defaults in cfg with db_home DIR/NAME and no fsync at
 * commit, and store_open on them as a check named what ("store opens"). When
 * it fails, cfg is freed and NULL returned, for the test to return at once.
 */
static inline struct store *
unit_store_open(struct config *cfg, const char *dir, const char *name, const char *what)
{
    char err[512] = "";
    config_defaults(cfg);
    free(cfg->db_home);
    cfg->db_home = xasprintf("%s/%s", dir, name);
    cfg->durability = DURABILITY_NOSYNC;
    struct store *s = store_open(cfg, err, sizeof err);
    CHECK(s != NULL, "%s: %s", what, err);
    if (s == NULL)
        config_release(cfg);
    return s;
}

#endif
