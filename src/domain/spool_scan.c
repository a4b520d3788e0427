/* spool_scan - counts and ages of the spool's states (see spool_scan.h). */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/spool.h"
#include "domain/spool_scan.h"
#include "util/xalloc.h"

const char *
spool_scan_state_name(enum spool_scan_state s)
{
    static const char *const names[SCAN_STATES] = { "new", "active", "deferred", "parked",
                                                    "failed" };
    return s < SCAN_STATES ? names[s] : "?";
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The state of a file named name found in dir; SCAN_STATES if it is not counted. */
static enum spool_scan_state
state_of(enum spool_state dir, const char *name)
{
    if (name[0] == '.')
        return SCAN_STATES;
    switch (dir) {
    case SPOOL_NEW: return SCAN_NEW;
    case SPOOL_ACTIVE: return SCAN_ACTIVE;
    case SPOOL_DEFERRED: return spool_record_name(name) ? SCAN_DEFERRED : SCAN_PARKED;
    case SPOOL_FAILED: return ends_with(name, ".reason") ? SCAN_STATES : SCAN_FAILED;
    default: return SCAN_STATES;
    }
}

static int
scan_dir(const char *spool_dir, enum spool_state dir, struct spool_scan *out, spool_scan_fn each,
         void *ctx)
{
    char *path = spool_path(spool_dir, dir, NULL);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        enum spool_scan_state s = state_of(dir, e->d_name);
        struct stat st;
        if (s == SCAN_STATES || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        const struct timespec *ts = dir == SPOOL_NEW ? &st.st_mtim : &st.st_ctim;
        long long since = (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
        out->files[s]++;
        if (out->oldest_ms[s] == 0 || since < out->oldest_ms[s])
            out->oldest_ms[s] = since;
        if (each != NULL)
            each(ctx, dirfd(d), e->d_name, s, since);
    }
    closedir(d);
    return 0;
}

int
spool_scan(const char *spool_dir, struct spool_scan *out, spool_scan_fn each, void *ctx)
{
    static const enum spool_state dirs[] = { SPOOL_NEW, SPOOL_ACTIVE, SPOOL_DEFERRED,
                                             SPOOL_FAILED };
    int rc = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (scan_dir(spool_dir, dirs[i], out, each, ctx) != 0)
            rc = -1;
    return rc;
}
