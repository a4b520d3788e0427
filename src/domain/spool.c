#include "autoconfig.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/spool.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/random.h"
#include "util/xalloc.h"

#define SPOOL_REASON_SUFFIX ".reason"
enum {
    SPOOL_DIR_MODE = 0770,      /* the producers' group may write tmp/ and new/ */
    SPOOL_FILE_MODE = 0660,
    SPOOL_RANDOM_LEN = 16,
    SPOOL_PUBLISH_TRIES = 5,
};

static const char *const spool_dirs[] = {
    [SPOOL_TMP] = "tmp",
    [SPOOL_NEW] = "new",
    [SPOOL_ACTIVE] = "active",
    [SPOOL_DEFERRED] = "deferred",
    [SPOOL_FAILED] = "failed",
};

const char *
spool_state_dir(enum spool_state state)
{
    return spool_dirs[state];
}

char *
spool_path(const char *spool_dir, enum spool_state state, const char *name)
{
    if (name == NULL)
        return xasprintf("%s/%s", spool_dir, spool_dirs[state]);
    return xasprintf("%s/%s/%s", spool_dir, spool_dirs[state], name);
}

/* True if name is a plain file name that the spool may hold. */
static bool
spool_name_valid(const char *name)
{
    return name != NULL && name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

/* mkdir(2) that accepts an existing directory; returns 0 or -1 (errno). */
static int
spool_mkdir(const char *path)
{
    struct stat st;

    if (mkdir(path, SPOOL_DIR_MODE) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int
spool_init(const char *spool_dir)
{
    char *path = xstrdup(spool_dir);
    int rc = 0;

    /* mkdir -p for spool_dir itself, then one directory per state. */
    for (char *p = path + 1; *p != '\0' && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        rc = spool_mkdir(path);
        *p = '/';
    }
    if (rc == 0)
        rc = spool_mkdir(path);
    int saved = errno;
    if (rc != 0)
        log_error("spool_init: %s: cannot create: %s", path, strerror(saved));
    for (size_t i = 0; rc == 0 && i < sizeof spool_dirs / sizeof spool_dirs[0]; i++) {
        char *sub = spool_path(spool_dir, (enum spool_state)i, NULL);
        rc = spool_mkdir(sub);
        saved = errno;
        if (rc != 0)
            log_error("spool_init: %s: cannot create: %s", sub, strerror(saved));
        free(sub);
    }
    free(path);
    errno = saved;
    return rc;
}

int
spool_publish(const char *spool_dir, const void *data, size_t len, char *name_out, size_t cap)
{
    char rnd[SPOOL_RANDOM_LEN + 1];
    char name[128];

    if (cap > 0)
        name_out[0] = '\0';
    for (int attempt = 0; attempt < SPOOL_PUBLISH_TRIES; attempt++) {
        if (random_alnum(rnd, SPOOL_RANDOM_LEN) != 0) {
            log_error("spool_publish: %s: the random number generator failed", spool_dir);
            errno = EIO;
            return -1;
        }
        snprintf(name, sizeof name, "%lld.%ld.%s.json", (long long)time(NULL), (long)getpid(),
                 rnd);
        char *tmp = spool_path(spool_dir, SPOOL_TMP, name);
        char *dst = spool_path(spool_dir, SPOOL_NEW, name);
        int rc = fileio_publish(tmp, dst, data, len, SPOOL_FILE_MODE);
        int saved = errno;
        free(tmp);
        free(dst);
        if (rc == 0) {
            if (strlen(name) >= cap) {
                errno = ERANGE;
                return -1;
            }
            memcpy(name_out, name, strlen(name) + 1);
            return 0;
        }
        if (saved != EEXIST) {
            log_error("spool_publish: %s: cannot publish %s: %s", spool_dir, name,
                      strerror(saved));
            errno = saved;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

static int
spool_name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True if name ends with suffix. */
static bool
spool_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);

    return n >= s && strcmp(name + n - s, suffix) == 0;
}

int
spool_list(const char *spool_dir, enum spool_state state, char ***names_out, size_t *n_out)
{
    char *dir = spool_path(spool_dir, state, NULL);
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;

    *names_out = NULL;
    *n_out = 0;
    if (d == NULL) {
        int saved = errno;
        log_error("spool_list: %s: cannot open: %s", dir, strerror(saved));
        free(dir);
        errno = saved;
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL)
            break;
        if (!spool_name_valid(de->d_name))
            continue;
        if (state == SPOOL_FAILED && spool_has_suffix(de->d_name, SPOOL_REASON_SUFFIX))
            continue;
        if (de->d_type == DT_UNKNOWN) {
            /* Some file systems do not say: ask (a file gone meanwhile is skipped). */
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode))
                continue;
        } else if (de->d_type != DT_REG) {
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = xreallocarray(names, cap, sizeof *names);
        }
        names[n++] = xstrdup(de->d_name);
    }
    int saved = errno;
    closedir(d);
    if (saved != 0) {
        log_error("spool_list: %s: cannot read: %s", dir, strerror(saved));
        spool_names_free(names, n);
        free(dir);
        errno = saved;
        return -1;
    }
    free(dir);
    if (n > 0)
        qsort(names, n, sizeof *names, spool_name_compare);
    *names_out = names;
    *n_out = n;
    return 0;
}

void
spool_names_free(char **names, size_t n)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* fsyncs spool_dir/STATE; returns 0 or -1 (errno). */
static int
spool_sync_state(const char *spool_dir, enum spool_state state)
{
    char *dir = spool_path(spool_dir, state, NULL);
    int rc = fileio_fsync_dir(dir);
    int saved = errno;

    if (rc != 0)
        log_error("spool_sync_state: %s: fsync failed: %s", dir, strerror(saved));
    free(dir);
    errno = saved;
    return rc;
}

int
spool_move(const char *spool_dir, const char *name, enum spool_state from, enum spool_state to)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *src = spool_path(spool_dir, from, name);
    char *dst = spool_path(spool_dir, to, name);
    int rc = rename(src, dst);
    int saved = errno;

    if (rc != 0 && saved != ENOENT)
        log_error("spool_move: %s: cannot move to %s/: %s", src, spool_dirs[to],
                  strerror(saved));
    free(src);
    free(dst);
    if (rc != 0) {
        errno = saved;
        return saved == ENOENT ? 1 : -1;
    }
    return spool_sync_state(spool_dir, to);
}

/*
 * Applies action to every file of state (as spool_list lists them). The
 * action returns 0 when it moved the file, 1 when it left it (gone or not
 * due), -1 on failure; *moved (may be NULL) counts the 0s. Every file is
 * tried; returns -1 (errno of the last failure) if any action failed.
 */
static int
spool_each(const char *spool_dir, enum spool_state state,
           int (*action)(const char *spool_dir, const char *name, void *arg), void *arg,
           size_t *moved)
{
    char **names;
    size_t n, count = 0;
    int rc = 0, saved = 0;

    if (moved != NULL)
        *moved = 0;
    if (spool_list(spool_dir, state, &names, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int r = action(spool_dir, names[i], arg);
        if (r == 0) {
            count++;
        } else if (r < 0) {
            saved = errno;
            rc = -1;
        }
    }
    spool_names_free(names, n);
    if (moved != NULL)
        *moved = count;
    errno = saved;
    return rc;
}

/*
 * True if path still names the file open as fd. Names come back (a retry
 * record keeps its delivery's name): a lock taken on a file that has since
 * been replaced under its name says nothing about the new one.
 */
static bool
spool_still_names(const char *path, int fd)
{
    struct stat by_fd, by_path;

    return fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
           by_fd.st_dev == by_path.st_dev;
}

enum spool_lock { SPOOL_LOCKED, SPOOL_HELD, SPOOL_NO_LOCKS };

/*
 * Takes a claim's lock on fd (the file at path) without waiting: LOCKED,
 * HELD (another process has it), or NO_LOCKS when the file system cannot
 * lock files, which is said once per process: such a spool can have one
 * sender only, and that one needs no lock.
 */
static enum spool_lock
spool_try_lock(int fd, const char *path)
{
    static bool said;

    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return SPOOL_LOCKED;
    if (errno == EWOULDBLOCK)
        return SPOOL_HELD;
    if (!said) {
        said = true;
        log_warn("spool: %s: cannot lock files on this file system (%s): run one sender per "
                 "spool", path, strerror(errno));
    }
    return SPOOL_NO_LOCKS;
}

int
spool_claim(const char *spool_dir, const char *name, int *fd_out)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *src = spool_path(spool_dir, SPOOL_NEW, name);
    char *dst = spool_path(spool_dir, SPOOL_ACTIVE, name);
    int rc = 1;
    /* O_NONBLOCK: a FIFO dropped into new/ must not block the sender. */
    int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

    if (fd < 0) {
        if (errno != ENOENT)
            rc = -1;
    } else if (spool_try_lock(fd, src) == SPOOL_HELD || !spool_still_names(src, fd)) {
        /* Held (another sender is claiming it, or putting it back), or gone. */
    } else if (rename(src, dst) != 0) {
        if (errno != ENOENT)
            rc = -1;
    } else {
        rc = 0;
    }
    int saved = errno;
    if (rc == -1)
        log_error("spool_claim: %s: %s", src, strerror(saved));
    if (fd >= 0 && (rc != 0 || fd_out == NULL))
        close(fd);
    else if (fd_out != NULL)
        *fd_out = fd;
    free(src);
    free(dst);
    errno = saved;
    return rc;
}

int
spool_defer(const char *spool_dir, const char *name, time_t not_before)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    /* Set the time before the move so deferred/ never shows a stale one. */
    char *path = spool_path(spool_dir, SPOOL_ACTIVE, name);
    struct timespec times[2] = { { .tv_sec = not_before }, { .tv_sec = not_before } };
    int rc = utimensat(AT_FDCWD, path, times, 0);
    int saved = errno;
    if (rc != 0 && saved != ENOENT)
        log_error("spool_defer: %s: cannot set the next attempt time: %s", path,
                  strerror(saved));
    free(path);
    if (rc != 0) {
        errno = saved;
        return saved == ENOENT ? 1 : -1;
    }
    return spool_move(spool_dir, name, SPOOL_ACTIVE, SPOOL_DEFERRED);
}

/* spool_each action: moves deferred/name to new/ if its time has come. */
static int
spool_release_one(const char *spool_dir, const char *name, void *arg)
{
    const time_t *now = arg;
    char *path = spool_path(spool_dir, SPOOL_DEFERRED, name);
    struct stat st;
    int rc = stat(path, &st);

    free(path);
    if (rc != 0 || st.st_mtime > *now)
        return 1;               /* gone (another sender) or not yet due */
    return spool_move(spool_dir, name, SPOOL_DEFERRED, SPOOL_NEW);
}

int
spool_release_due(const char *spool_dir, time_t now, size_t *moved)
{
    return spool_each(spool_dir, SPOOL_DEFERRED, spool_release_one, &now, moved);
}

int
spool_fail(const char *spool_dir, const char *name, const char *reason)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *reason_name = xasprintf("%s%s", name, SPOOL_REASON_SUFFIX);
    char *tmp = spool_path(spool_dir, SPOOL_TMP, reason_name);
    char *dst = spool_path(spool_dir, SPOOL_FAILED, reason_name);
    /* One line of printable text, whatever the caller passed. */
    char *line = xasprintf("%s\n", reason != NULL ? reason : "unknown");
    for (char *p = line; p[1] != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';

    int rc = 0;
    if (unlink(tmp) != 0 && errno != ENOENT)
        rc = -1;
    if (rc == 0)
        rc = fileio_publish(tmp, dst, line, strlen(line), SPOOL_FILE_MODE);
    int saved = errno;
    if (rc != 0) {
        log_error("spool_fail: %s: cannot write the reason: %s", dst, strerror(saved));
    } else {
        rc = spool_move(spool_dir, name, SPOOL_ACTIVE, SPOOL_FAILED);
        saved = errno;
        if (rc == 1)
            unlink(dst);        /* someone else finished with it */
    }
    free(line);
    free(tmp);
    free(dst);
    free(reason_name);
    errno = saved;
    return rc;
}

int
spool_requeue(const char *spool_dir, const char *name)
{
    int rc = spool_move(spool_dir, name, SPOOL_FAILED, SPOOL_NEW);
    if (rc != 0)
        return rc;
    char *reason_name = xasprintf("%s%s", name, SPOOL_REASON_SUFFIX);
    char *reason = spool_path(spool_dir, SPOOL_FAILED, reason_name);
    /* The dead letter is back in the queue either way; a stale reason is only noise. */
    if (unlink(reason) == 0)
        (void)spool_sync_state(spool_dir, SPOOL_FAILED);
    else if (errno != ENOENT)
        log_warn("spool_requeue: %s: cannot remove: %s", reason, strerror(errno));
    free(reason);
    free(reason_name);
    return rc;
}

/* spool_each action for spool_requeue_failed. */
static int
spool_requeue_one(const char *spool_dir, const char *name, void *arg)
{
    return spool_requeue(spool_dir, name);
}

int
spool_requeue_failed(const char *spool_dir, size_t *moved)
{
    return spool_each(spool_dir, SPOOL_FAILED, spool_requeue_one, NULL, moved);
}

/*
 * Recovers active/name if no live sender holds it: returns 0 if put back
 * into new/, 1 if left alone (held, gone, not a regular file) or removed
 * (a finished SPOOL_DONE_PREFIX file), -1 on failure.
 */
static int
spool_recover_one(const char *spool_dir, const char *name, bool at_start)
{
    bool done = strncmp(name, SPOOL_DONE_PREFIX, sizeof SPOOL_DONE_PREFIX - 1) == 0;
    char *path = spool_path(spool_dir, SPOOL_ACTIVE, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    enum spool_lock lock = SPOOL_HELD;
    int rc = 1;

    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        lock = spool_try_lock(fd, path);
    /* Without locks on this file system only a sender starting alone may take them. */
    if ((lock == SPOOL_LOCKED || (lock == SPOOL_NO_LOCKS && at_start)) &&
        spool_still_names(path, fd)) {
        /* Still under the lock, so that no claimer takes it half moved. */
        if (!done) {
            rc = spool_move(spool_dir, name, SPOOL_ACTIVE, SPOOL_NEW);
        } else if (unlink(path) != 0 && errno != ENOENT) {
            log_warn("spool_recover_active: %s: cannot remove: %s", path, strerror(errno));
            rc = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

int
spool_recover_active(const char *spool_dir, bool at_start, size_t *moved)
{
    char *dir = spool_path(spool_dir, SPOOL_ACTIVE, NULL);
    DIR *d = opendir(dir);
    int rc = 0, saved = 0;
    size_t count = 0;

    if (moved != NULL)
        *moved = 0;
    if (d == NULL) {
        saved = errno;
        free(dir);
        errno = saved;
        return -1;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        const char *name = de->d_name;
        if (name[0] == '.' && strncmp(name, SPOOL_DONE_PREFIX, sizeof SPOOL_DONE_PREFIX - 1) != 0)
            continue;           /* ".", "..", and dot files that are no spool state */
        int r = spool_recover_one(spool_dir, name, at_start);
        if (r == 0) {
            count++;
        } else if (r < 0) {
            saved = errno;
            rc = -1;
        }
    }
    closedir(d);
    free(dir);
    if (moved != NULL)
        *moved = count;
    errno = saved;
    return rc;
}

int
spool_remove(const char *spool_dir, enum spool_state state, const char *name)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *path = spool_path(spool_dir, state, name);
    int rc = unlink(path);
    int saved = errno;

    if (rc != 0 && saved != ENOENT)
        log_error("spool_remove: %s: cannot remove: %s", path, strerror(saved));
    free(path);
    if (rc != 0) {
        errno = saved;
        return saved == ENOENT ? 1 : -1;
    }
    return spool_sync_state(spool_dir, state);
}
