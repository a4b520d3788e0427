/*
 * spool - the spool directory's states and every file operation on them
 * (spool.h): publish, claim, park, fail, requeue, prune; no symbolic links.
 */
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
#include "util/digest.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/random.h"
#include "util/xalloc.h"

#define SPOOL_REASON_SUFFIX ".reason"
#define SPOOL_EVENT_SUFFIX ".event"     /* a producer's file named like a record, once claimed */
#define SPOOL_TEMP_PREFIX ".tmp."       /* the sender's files being written, in its directories */
enum {
    SPOOL_DIR_MODE = 0770,      /* the producers' group may write tmp/ and new/ */
    SPOOL_FILE_MODE = 0660,
    SPOOL_RANDOM_LEN = 16,
    SPOOL_PUBLISH_TRIES = 5,
    SPOOL_NAME_MAX = 255,       /* NAME_MAX of every file system the spool may be on */
    SPOOL_REASON_HASH = 16,     /* hex digits of the hash in a shortened .reason name */
    SPOOL_TEMP_STALE_S = 3600,  /* a temporary file this old was left by a crash */
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

bool
spool_record_name(const char *name)
{
    size_t p = sizeof SPOOL_RECORD_PREFIX - 1;

    if (name == NULL || strncmp(name, SPOOL_RECORD_PREFIX, p) != 0 ||
        strlen(name) != p + SPOOL_RECORD_ID_LEN)
        return false;
    for (size_t i = p; name[i] != '\0'; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return true;
}

char *
spool_active_name(const char *name)
{
    /* Only the sender names records: a producer's file never takes a record's name. */
    if (spool_record_name(name))
        return xasprintf("%s" SPOOL_EVENT_SUFFIX, name);
    return xstrdup(name);
}

void
spool_reason_name(const char *name, char out[SPOOL_REASON_NAME_MAX + 1])
{
    size_t n = strlen(name), suffix = sizeof SPOOL_REASON_SUFFIX - 1;

    if (n + suffix <= SPOOL_NAME_MAX) {
        snprintf(out, SPOOL_REASON_NAME_MAX + 1, "%s" SPOOL_REASON_SUFFIX, name);
        return;
    }
    /* Too long: a prefix of the name, "~", a hash of the whole name, ".reason". */
    char digest[SPOOL_REASON_HASH + 1];
    digest_sha256_hex(name, n, SPOOL_REASON_HASH / 2, digest);
    int keep = (int)(SPOOL_NAME_MAX - suffix - 1 - SPOOL_REASON_HASH);
    snprintf(out, SPOOL_REASON_NAME_MAX + 1, "%.*s~%s" SPOOL_REASON_SUFFIX, keep, name, digest);
}

/*
 * mkdir(2) that accepts an existing directory; returns 0 or -1 (errno).
 * A state directory (own) may not be a symbolic link, even to a directory.
 */
static int
spool_mkdir(const char *path, bool own)
{
    struct stat st;

    if (mkdir(path, SPOOL_DIR_MODE) == 0)
        return 0;
    if (errno != EEXIST)
        return -1;
    if ((own ? lstat(path, &st) : stat(path, &st)) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int
spool_create_dirs(const char *spool_dir)
{
    char *path = xstrdup(spool_dir);
    int rc = 0;

    /* mkdir -p for spool_dir itself, then one directory per state. */
    for (char *p = path + 1; *p != '\0' && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        rc = spool_mkdir(path, false);
        *p = '/';
    }
    if (rc == 0)
        rc = spool_mkdir(path, false);
    int saved = errno;
    if (rc != 0)
        log_error("spool_create_dirs: %s: cannot create: %s", path, strerror(saved));
    for (size_t i = 0; rc == 0 && i < sizeof spool_dirs / sizeof spool_dirs[0]; i++) {
        char *sub = spool_path(spool_dir, (enum spool_state)i, NULL);
        rc = spool_mkdir(sub, true);
        saved = errno;
        if (rc != 0)
            log_error("spool_create_dirs: %s: cannot create: %s", sub, strerror(saved));
        free(sub);
    }
    free(path);
    errno = saved;
    return rc;
}

/*
 * Takes access away from dir (open as fd, stat st) beyond keep (mode bits);
 * with gid not -1, also gives it that group. Returns 0, or -1 (errno) if it
 * could not, logged.
 */
static int
spool_restrict(int fd, const char *dir, const struct stat *st, mode_t keep, gid_t gid)
{
    mode_t mode = st->st_mode & 07777;

    if (gid != (gid_t)-1 && st->st_gid != gid && fchown(fd, (uid_t)-1, gid) != 0) {
        log_error("spool_restrict: %s: cannot give it group %ld: %s", dir, (long)gid,
                  strerror(errno));
        return -1;
    }
    if ((mode & ~keep) == 0)
        return 0;
    if (fchmod(fd, mode & keep) != 0) {
        log_error("spool_restrict: %s: cannot set mode %04o: %s", dir, (unsigned)(mode & keep),
                  strerror(errno));
        return -1;
    }
    log_info("spool_restrict: %s: mode %04o -> %04o", dir, (unsigned)mode, (unsigned)(mode & keep));
    return 0;
}

/* spool_secure for one directory; returns 0 or -1 (errno). */
static int
spool_secure_one(const char *dir, mode_t keep, gid_t gid)
{
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        log_error("spool_secure_one: %s: cannot open: %s", dir, strerror(errno));
        return -1;
    }
    int rc = fstat(fd, &st) == 0 ? spool_restrict(fd, dir, &st, keep, gid) : -1;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int
spool_secure(const char *spool_dir)
{
    static const struct {
        enum spool_state state;
        bool own;               /* the sender's alone, else the producers' too */
    } dirs[] = {
        { SPOOL_TMP, false }, { SPOOL_NEW, false }, { SPOOL_ACTIVE, true },
        { SPOOL_DEFERRED, true }, { SPOOL_FAILED, true },
    };
    int rc = 0, saved = 0;

    /* Producers pass through spool_dir (o+x) but may not rename anything in it. */
    if (spool_secure_one(spool_dir, 07775, (gid_t)-1) != 0) {
        rc = -1;
        saved = errno;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *dir = spool_path(spool_dir, dirs[i].state, NULL);
        if (spool_secure_one(dir, 02770, dirs[i].own ? getegid() : (gid_t)-1) != 0 &&
            dirs[i].own) {
            rc = -1;
            saved = errno;
        }
        free(dir);
    }
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

    return fstat(fd, &by_fd) == 0 && lstat(path, &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
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
        log_warn("spool_try_lock: %s: cannot lock files on this file system (%s): run one "
                 "sender per "
                 "spool", path, strerror(errno));
    }
    return SPOOL_NO_LOCKS;
}

/*
 * Claims from/name into active/to_name: opens it (never through a link),
 * locks it, checks that it is still the file listed and, for a record,
 * that it is due (mtime at or before due_by), then renames it. Returns as
 * spool_claim.
 */
static int
spool_claim_from(const char *spool_dir, enum spool_state from, const char *name,
                 const char *to_name, time_t due_by, int *fd_out)
{
    char *src = spool_path(spool_dir, from, name);
    char *dst = spool_path(spool_dir, SPOOL_ACTIVE, to_name);
    int rc = 1;
    /* O_NONBLOCK: a FIFO dropped into new/ must not block the sender. */
    int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;

    if (fd < 0) {
        if (errno != ENOENT)
            rc = -1;
    } else if (spool_try_lock(fd, src) == SPOOL_HELD || !spool_still_names(src, fd)) {
        /* Held (another sender is claiming it, or putting it back), or gone. */
    } else if (from == SPOOL_DEFERRED && (fstat(fd, &st) != 0 || st.st_mtime > due_by)) {
        /* Written again since it was listed, for a later time. */
    } else if (rename(src, dst) != 0) {
        if (errno != ENOENT)
            rc = -1;
    } else {
        rc = 0;
    }
    int saved = errno;
    if (rc == -1)
        log_error("spool_claim_from: %s: %s", src, strerror(saved));
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
spool_claim(const char *spool_dir, const char *name, int *fd_out)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *to_name = spool_active_name(name);
    int rc = spool_claim_from(spool_dir, SPOOL_NEW, name, to_name, 0, fd_out);
    int saved = errno;
    free(to_name);
    errno = saved;
    return rc;
}

int
spool_claim_due(const char *spool_dir, const char *name, time_t now, int *fd_out)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    return spool_claim_from(spool_dir, SPOOL_DEFERRED, name, name, now, fd_out);
}

int
spool_list_due(const char *spool_dir, time_t now, char ***names_out, size_t *n_out)
{
    time_t next_due;

    return spool_list_due_next(spool_dir, now, names_out, n_out, &next_due);
}

int
spool_list_due_next(const char *spool_dir, time_t now, char ***names_out, size_t *n_out,
                    time_t *next_due)
{
    char **names;
    size_t n, kept = 0;

    *names_out = NULL;
    *n_out = 0;
    *next_due = (time_t)-1;
    if (spool_list(spool_dir, SPOOL_DEFERRED, &names, &n) != 0)
        return -1;
    char *dir = spool_path(spool_dir, SPOOL_DEFERRED, NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    free(dir);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        /* Only the sender writes deferred/: its records and the event files it parked. */
        bool regular = dfd >= 0 &&
            fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
        if (regular && st.st_mtime <= now) {
            names[kept++] = names[i];
            continue;
        }
        if (regular && (*next_due == (time_t)-1 || st.st_mtime < *next_due))
            *next_due = st.st_mtime;
        free(names[i]);
    }
    if (kept > 0 || dfd < 0)
        *next_due = 0;          /* look again at the next turn */
    if (dfd >= 0)
        close(dfd);
    if (kept == 0) {
        free(names);
        names = NULL;
    }
    *names_out = names;
    *n_out = kept;
    return 0;
}

/*
 * Writes data durably as dir_state/name: a temporary dot file in that same
 * directory (never in tmp/, which producers write), fsync, the times set
 * to mtime (if not 0), rename, fsync of the directory.
 */
static int
spool_write_own(const char *spool_dir, enum spool_state state, const char *name,
                const void *data, size_t len, time_t mtime)
{
    char rnd[SPOOL_RANDOM_LEN + 1], temp_name[64];

    /* Random, not pid and counter: senders on several hosts may share the spool. */
    if (random_alnum(rnd, SPOOL_RANDOM_LEN) != 0) {
        log_error("spool_write_own: the random number generator failed");
        errno = EIO;
        return -1;
    }
    snprintf(temp_name, sizeof temp_name, SPOOL_TEMP_PREFIX "%s", rnd);
    char *tmp = spool_path(spool_dir, state, temp_name);
    char *dst = spool_path(spool_dir, state, name);
    int rc = fileio_publish_dated(tmp, dst, data, len, SPOOL_FILE_MODE, mtime);
    int saved = errno;
    if (rc != 0)
        log_error("spool_write_own: %s: cannot write: %s", dst, strerror(saved));
    free(tmp);
    free(dst);
    errno = saved;
    return rc;
}

/*
 * Writes f into deferred/ (dfd) under a temporary name (tmp, 64 bytes) with
 * its time set, and starts its write-back; returns the open descriptor, or
 * -1 (errno; nothing is left behind).
 */
static int
spool_own_begin(int dfd, const struct spool_own_file *f, char *tmp)
{
    char rnd[SPOOL_RANDOM_LEN + 1];

    if (!spool_record_name(f->name)) {
        errno = EINVAL;
        return -1;
    }
    if (random_alnum(rnd, SPOOL_RANDOM_LEN) != 0) {
        errno = EIO;
        return -1;
    }
    snprintf(tmp, 64, SPOOL_TEMP_PREFIX "%s", rnd);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    SPOOL_FILE_MODE);
    if (fd < 0)
        return -1;
    time_t t = f->not_before > 0 ? f->not_before : time(NULL);
    struct timespec times[2] = { { .tv_sec = t }, { .tv_sec = t } };
    if (fileio_write_all(fd, f->data, f->len) != 0 || futimens(fd, times) != 0) {
        int saved = errno;
        close(fd);
        unlinkat(dfd, tmp, 0);
        errno = saved;
        return -1;
    }
    /* Only a hint that the data may go now: the fsync in spool_own_finish decides. */
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return fd;
}

/* fsyncs, closes and renames what spool_own_begin wrote; returns 0 or -1 (errno). */
static int
spool_own_finish(int dfd, int fd, const char *tmp, const char *name)
{
    int rc = fsync(fd);
    int saved = errno;

    /* close(2) can report a deferred write error (NFS, quota): check it. */
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0)
        unlinkat(dfd, tmp, 0);
    errno = saved;
    return rc;
}

int
spool_store_deferred_many(const char *spool_dir, struct spool_own_file *files, size_t n)
{
    char *dir = spool_path(spool_dir, SPOOL_DEFERRED, NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    int *fds = xcalloc(n, sizeof *fds);
    char (*tmp)[64] = xcalloc(n, sizeof *tmp);
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        files[i].rc = -1;
        fds[i] = dfd < 0 ? -1 : spool_own_begin(dfd, &files[i], tmp[i]);
        if (dfd >= 0 && fds[i] < 0)
            log_error("spool_store_deferred_many: %s/%s: cannot write: %s", dir, files[i].name,
                      strerror(errno));
    }
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        if (spool_own_finish(dfd, fds[i], tmp[i], files[i].name) == 0)
            files[i].rc = 0;
        else
            log_error("spool_store_deferred_many: %s/%s: cannot write: %s", dir, files[i].name,
                      strerror(errno));
    }
    /* One fsync of the directory makes every rename above durable. */
    if (dfd < 0 || fsync(dfd) != 0) {
        log_error("spool_store_deferred_many: %s: %s: %s", dir,
                  dfd < 0 ? "cannot open" : "fsync failed", strerror(errno));
        for (size_t i = 0; i < n; i++)
            files[i].rc = -1;
    }
    for (size_t i = 0; i < n; i++)
        if (files[i].rc != 0)
            rc = -1;
    if (dfd >= 0)
        close(dfd);
    free(tmp);
    free(fds);
    free(dir);
    return rc;
}

int
spool_park(const char *spool_dir, const char *name, int fd, time_t due)
{
    struct timespec times[2] = { { .tv_sec = due }, { .tv_sec = due } };

    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    char *src = spool_path(spool_dir, SPOOL_ACTIVE, name);
    char *dst = spool_path(spool_dir, SPOOL_DEFERRED, name);
    int rc = futimens(fd, times) == 0 && rename(src, dst) == 0 ? 0 : -1;
    int saved = errno;
    if (rc != 0)
        log_error("spool_park: %s: cannot move to deferred/: %s", src, strerror(saved));
    free(src);
    free(dst);
    errno = saved;
    return rc;
}

int
spool_store_deferred(const char *spool_dir, const char *name, const void *data, size_t len,
                     time_t not_before)
{
    if (!spool_record_name(name)) {
        errno = EINVAL;
        return -1;
    }
    return spool_write_own(spool_dir, SPOOL_DEFERRED, name, data, len,
                           not_before > 0 ? not_before : time(NULL));
}

/* Writes reason (made one line of printable text) as failed/'s reason file for name. */
static int
spool_write_reason(const char *spool_dir, const char *name, const char *reason)
{
    char reason_name[SPOOL_REASON_NAME_MAX + 1];
    char *line = xasprintf("%s\n", reason != NULL ? reason : "unknown");

    for (char *p = line; p[1] != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    spool_reason_name(name, reason_name);
    int rc = spool_write_own(spool_dir, SPOOL_FAILED, reason_name, line, strlen(line), 0);
    int saved = errno;
    free(line);
    errno = saved;
    return rc;
}

/* Removes failed/'s reason file for name, if any; returns 0, or -1 (errno). */
static int
spool_remove_reason(const char *spool_dir, const char *name)
{
    char reason_name[SPOOL_REASON_NAME_MAX + 1];

    spool_reason_name(name, reason_name);
    char *path = spool_path(spool_dir, SPOOL_FAILED, reason_name);
    int rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    if (rc != 0)
        log_warn("spool_remove_reason: %s: cannot remove: %s", path, strerror(errno));
    free(path);
    return rc;
}

int
spool_store_failed(const char *spool_dir, const char *name, const void *data, size_t len,
                   const char *reason)
{
    if (!spool_record_name(name)) {
        errno = EINVAL;
        return -1;
    }
    if (spool_write_reason(spool_dir, name, reason) != 0)
        return -1;
    return spool_write_own(spool_dir, SPOOL_FAILED, name, data, len, 0);
}

int
spool_fail(const char *spool_dir, const char *name, const char *reason)
{
    if (!spool_name_valid(name)) {
        errno = EINVAL;
        return -1;
    }
    int rc = spool_write_reason(spool_dir, name, reason);
    int saved = errno;
    if (rc == 0) {
        rc = spool_move(spool_dir, name, SPOOL_ACTIVE, SPOOL_FAILED);
        saved = errno;
        if (rc == 1)
            (void)spool_remove_reason(spool_dir, name);     /* someone else finished with it */
    }
    errno = saved;
    return rc;
}

/*
 * rename(2) that fails with EEXIST instead of replacing dst. Where the file
 * system has no RENAME_NOREPLACE (NFS: EINVAL), link(2) then unlink(2).
 */
static int
spool_rename_noreplace(const char *src, const char *dst)
{
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(src, dst) != 0)
        return -1;
    if (unlink(src) != 0 && errno != ENOENT)
        log_warn("spool_rename_noreplace: %s: cannot remove after linking: %s", src,
                 strerror(errno));
    return 0;
}

/*
 * Moves a record into deferred/, due now: its time is set first, so that
 * deferred/ never shows a stale one. With keep_newer, a record already in
 * deferred/ under that name (written after this one was claimed) wins and
 * this one is removed. Returns 0, 1 if src is gone, or -1 (errno).
 */
static int
spool_record_back(const char *spool_dir, enum spool_state from, const char *name,
                  bool keep_newer)
{
    char *src = spool_path(spool_dir, from, name);
    char *dst = spool_path(spool_dir, SPOOL_DEFERRED, name);
    int rc = utimensat(AT_FDCWD, src, NULL, AT_SYMLINK_NOFOLLOW);
    if (rc == 0)
        rc = keep_newer ? spool_rename_noreplace(src, dst) : rename(src, dst);
    if (rc != 0 && errno == EEXIST && unlink(src) == 0)
        rc = 1;                 /* the newer record stays */
    int saved = errno;
    if (rc < 0 && saved != ENOENT)
        log_error("spool_record_back: %s: cannot move to deferred/: %s", src, strerror(saved));
    free(src);
    free(dst);
    if (rc < 0) {
        errno = saved;
        return saved == ENOENT ? 1 : -1;
    }
    return rc == 0 ? spool_sync_state(spool_dir, SPOOL_DEFERRED) : 0;
}

int
spool_unclaim(const char *spool_dir, const char *name)
{
    if (spool_record_name(name))
        return spool_record_back(spool_dir, SPOOL_ACTIVE, name, true);
    return spool_move(spool_dir, name, SPOOL_ACTIVE, SPOOL_NEW);
}

int
spool_requeue(const char *spool_dir, const char *name)
{
    /* A record waits in deferred/, due at once; an event file goes back to new/. */
    int rc = spool_record_name(name) ? spool_record_back(spool_dir, SPOOL_FAILED, name, false)
                                     : spool_move(spool_dir, name, SPOOL_FAILED, SPOOL_NEW);
    if (rc != 0)
        return rc;
    /* The dead letter is back in the queue either way; a stale reason is only noise. */
    if (spool_remove_reason(spool_dir, name) == 0)
        (void)spool_sync_state(spool_dir, SPOOL_FAILED);
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
            rc = spool_unclaim(spool_dir, name);
        } else if (unlink(path) != 0 && errno != ENOENT) {
            log_warn("spool_recover_one: %s: cannot remove: %s", path, strerror(errno));
            rc = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/*
 * Removes the temporary files (SPOOL_TEMP_PREFIX) a crash left in one of
 * the sender's directories; only old ones, as a live peer may be writing
 * one now.
 */
static void
spool_sweep_temps(const char *spool_dir, enum spool_state state)
{
    char *dir = spool_path(spool_dir, state, NULL);
    DIR *d = opendir(dir);
    time_t before = time(NULL) - SPOOL_TEMP_STALE_S;

    if (d == NULL) {
        free(dir);
        return;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        struct stat st;
        if (strncmp(de->d_name, SPOOL_TEMP_PREFIX, sizeof SPOOL_TEMP_PREFIX - 1) != 0 ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            st.st_ctime > before)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
            log_warn("spool_sweep_temps: %s/%s: cannot remove: %s", dir, de->d_name,
                     strerror(errno));
    }
    closedir(d);
    free(dir);
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
    if (at_start) {
        spool_sweep_temps(spool_dir, SPOOL_DEFERRED);
        spool_sweep_temps(spool_dir, SPOOL_FAILED);
    }
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
