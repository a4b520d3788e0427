/*
 * store_env - the Berkeley DB environment: opening and joining it, crash
 * handling (failchk, recovery), the transaction runner every store
 * operation goes through, and backup and verify.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    THREAD_COUNT = 256,             /* processes attached at once, with headroom */
    CACHE_BYTES = 8 << 20,
    PAYLOAD_PAGE_BYTES = 16 << 10,  /* delivery_payloads: bodies up to about 4 KiB stay on-page */
    LOCK_TIMEOUT_US = 2000000,      /* a lock wait this long is treated like a deadlock */
    MAX_TRIES = 32,
    FAILCHK_INTERVAL = 2,           /* seconds between failchk runs in a long-lived process */
    CHECKPOINT_KBYTES = 1024,
    OPEN_WAIT_MS = 15000,           /* an open waits this long for another's recovery */
    JOIN_WAIT_MS = 2000,            /* a join this slow is blocked on a dead process's mutex */
    DETACH_WAIT_MS = 6000,          /* recovery waits this long for the attached to leave */
};

static void
store_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    log_error("store_errcall: %s", msg);
}

/*
 * Informational messages (failchk freeing a dead process's locks, ...) go
 * to the log: by default Berkeley DB prints them on stdout, which is the
 * output of CLI commands such as "apikey create" and "deliveries --json".
 */
static void
store_msgcall(const DB_ENV *env, const char *msg)
{
    log_info("store_msgcall: %s", msg);
}

/*
 * True for a process that has ended but not been reaped: kill(2) still
 * finds it. An orphan (a probe whose parent was killed) waits for init to
 * reap it, which was seen to take 17 s on a busy machine.
 */
static bool
process_ended(pid_t pid)
{
    char path[64], stat[256];

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    /* "pid (comm) S ...": the state follows the last ')', comm may hold anything. */
    const char *end = strrchr(stat, ')');
    return end != NULL && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

/*
 * Tells failchk whether the process that owns a lock or transaction still
 * runs. A zombie does not: taken for alive, its locks would stay held, and
 * every request would wait on them, until init got round to reaping it.
 */
static int
store_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    if (kill(pid, 0) != 0 && errno != EPERM)
        return 0;
    return !process_ended(pid);
}

/* Records whether db_home is (nearly) full, logging only the changes. */
static void
space_low(struct store *s, bool low)
{
    if (low && !s->space_low)
        log_error("space_low: %s: the file system is full (less than %ld KiB free): refusing "
                  "writes until there is room", s->home, STORE_RESERVE_BYTES / 1024);
    else if (!low && s->space_low)
        log_info("space_low: %s: there is room again: writes resume", s->home);
    s->space_low = low;
}

/* True if db_home's file system has less than STORE_RESERVE_BYTES free (unknown: false). */
static bool
check_space(struct store *s)
{
    struct statvfs st;

    if (statvfs(s->home, &st) != 0)
        return false;
    space_low(s, (unsigned long long)st.f_bavail * st.f_frsize < STORE_RESERVE_BYTES);
    return s->space_low;
}

int
store_result(struct store *s, int ret, const char *what)
{
    switch (ret) {
    case 0:
        return STORE_OK;
    case DB_NOTFOUND:
        return STORE_NOTFOUND;
    case DB_LOCK_NOTGRANTED:
        s->lock_timed_out = true;
        return STORE_RETRY;
    case DB_LOCK_DEADLOCK:
        return STORE_RETRY;
    case ENOSPC:
    case EDQUOT:
        space_low(s, true);
        return STORE_NOSPACE;
    case DB_RUNRECOVERY:
        s->needs_restart = true;
        /* fall through */
    default:
        log_error("store_result: %s: %s", what, db_strerror(ret));
        return STORE_UNAVAILABLE;
    }
}

/* store_run and store_read: body in a transaction (or none), retried after deadlocks. */
static enum store_status
run_body(struct store *s, const char *what, store_txn_body body, void *ctx, bool in_txn)
{
    if (in_txn && check_space(s))
        return STORE_NOSPACE;
    for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
        DB_TXN *txn = NULL;
        int ret = in_txn ? s->env->txn_begin(s->env, NULL, &txn, 0) : 0;
        int rc = ret == 0 ? body(s, txn, ctx) : store_result(s, ret, "txn_begin");

        if (rc == STORE_OK && txn == NULL) {
            return STORE_OK;
        } else if (rc == STORE_OK) {
            ret = txn->commit(txn, 0);
            rc = store_result(s, ret, what);
            if (rc == STORE_OK) {
                s->wrote = true;
                return STORE_OK;
            }
            if (rc != STORE_RETRY) {
                /* The commit record may have reached the log before the failure. */
                s->commit_unsure = true;
                return rc == STORE_NOSPACE ? STORE_NOSPACE : STORE_UNAVAILABLE;
            }
        } else if (txn != NULL) {
            txn->abort(txn);
        }
        if (rc != STORE_RETRY)
            return (enum store_status)rc;
        /* A lock wait that timed out may be on a dead process: free its locks first. */
        if (s->lock_timed_out) {
            s->lock_timed_out = false;
            int fret = s->env->failchk(s->env, 0);
            if (fret != 0 && store_result(s, fret, "failchk") == STORE_UNAVAILABLE)
                return STORE_UNAVAILABLE;
        }
        /* Back off a random while so the contenders do not collide again. */
        usleep((useconds_t)(1000 + (rand() % 1000) * (attempt + 1)));
    }
    log_error("run_body: %s: gave up after %d deadlocks", what, MAX_TRIES);
    return STORE_UNAVAILABLE;
}

enum store_status
store_run(struct store *s, const char *what, store_txn_body body, void *ctx)
{
    return run_body(s, what, body, ctx, true);
}

enum store_status
store_read(struct store *s, const char *what, store_txn_body body, void *ctx)
{
    return run_body(s, what, body, ctx, false);
}

static int
open_env(DB_ENV **out, const struct config *cfg, u_int32_t extra_flags, char *err, size_t errlen)
{
    DB_ENV *env;
    int ret = db_env_create(&env, 0);

    if (ret != 0) {
        snprintf(err, errlen, "db_env_create: %s", db_strerror(ret));
        return ret;
    }
    env->set_errcall(env, store_errcall);
    env->set_msgcall(env, store_msgcall);
    if ((ret = env->set_thread_count(env, THREAD_COUNT)) != 0 ||
        (ret = env->set_isalive(env, store_is_alive)) != 0 ||
        (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
        (ret = env->set_timeout(env, LOCK_TIMEOUT_US, DB_SET_LOCK_TIMEOUT)) != 0 ||
        (ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0 ||
        (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
        (ret = env->set_flags(env, DB_TXN_WRITE_NOSYNC,
                              cfg->durability == DURABILITY_NOSYNC)) != 0 ||
        /*
         * Write the region files whole when creating them: sparse, a later
         * first touch of one of their pages on a full disk is a SIGBUS (or
         * a process stuck in the fault), in whichever process touches it.
         */
        (ret = env->set_flags(env, DB_REGION_INIT, 1)) != 0) {
        snprintf(err, errlen, "%s: configure environment: %s", cfg->db_home, db_strerror(ret));
        env->close(env, 0);
        return ret;
    }
    ret = env->open(env, cfg->db_home,
                    DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
                        extra_flags,
                    0660);
    if (ret != 0) {
        snprintf(err, errlen, "%s: open environment: %s", cfg->db_home, db_strerror(ret));
        env->close(env, 0);
        return ret;
    }
    *out = env;
    return 0;
}

/*
 * Opens (creating) database name; page_size (0: Berkeley DB's choice) only
 * applies when the file is created.
 */
static int
open_db_paged(DB_ENV *env, DB **out, const char *name, u_int32_t page_size, char *err,
              size_t errlen)
{
    DB *db;
    int ret = db_create(&db, env, 0);

    if (ret == 0 && page_size > 0 && (ret = db->set_pagesize(db, page_size)) != 0)
        db->close(db, 0);
    if (ret == 0) {
        /* Several processes may create the file at once: retry on a lock conflict. */
        for (int i = 0; i < MAX_TRIES; i++) {
            ret = db->open(db, NULL, name, NULL, DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0660);
            if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
                break;
            usleep(1000 * (useconds_t)(i + 1));
        }
        if (ret != 0)
            db->close(db, 0);
    }
    if (ret != 0) {
        snprintf(err, errlen, "open database %s: %s", name, db_strerror(ret));
        return ret;
    }
    *out = db;
    return 0;
}

static int
open_db(DB_ENV *env, DB **out, const char *name, char *err, size_t errlen)
{
    return open_db_paged(env, out, name, 0, err, errlen);
}

/* Joins the environment and runs failchk; returns 0, DB_RUNRECOVERY or another error. */
static int
join_env(DB_ENV **out, const struct config *cfg, char *err, size_t errlen)
{
    int ret = open_env(out, cfg, 0, err, errlen);

    if (ret == 0 && (ret = (*out)->failchk(*out, 0)) != 0) {
        if (ret != DB_RUNRECOVERY)
            snprintf(err, errlen, "%s: failchk: %s", cfg->db_home, db_strerror(ret));
        (*out)->close(*out, 0);
        *out = NULL;
    }
    return ret;
}

/*
 * True for an open that failed on what the environment's regions hold, not
 * on the system: a process killed while it changed a region can leave
 * values there that make the next open fail (seen: ENOMEM from a malloc of
 * a size read from a region). Recovery rebuilds the regions from the log.
 */
static bool
env_damaged(int ret)
{
    switch (ret) {
    case 0:
    case EACCES:
    case EPERM:
    case ENOENT:
    case ENOTDIR:
    case ENOSPC:
    case EDQUOT:
    case EROFS:
    case EMFILE:
    case ENFILE:
        return false;
    default:
        return true;
    }
}

/*
 * Closes every descriptor but a and b. A probe keeps only the lock and
 * stderr: it must not hold its parent's other files open, such as a FastCGI
 * listening socket, which a web server would take, while it still answers,
 * for a server it must not start again.
 */
static void
close_all_but(int a, int b)
{
    unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);

    if (lo > 0)
        close_range(0, lo - 1, 0);
    if (hi > lo + 1)
        close_range(lo + 1, hi - 1, 0);
    close_range(hi + 1, ~0U, 0);
}

/* Kills and reaps a probe child. */
static void
probe_end(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        continue;
}

/*
 * Tries join_env in a child process first, holding the caller's ATTACHED
 * lock (the child shares the descriptor), and gives it JOIN_WAIT_MS. A
 * process killed while holding one of the environment's own mutexes makes
 * every later open block on that mutex for good, before failchk can say
 * anything, and only a process can be ended, not a blocked call: a child
 * that blocks is killed and the environment taken to need recovery.
 *
 * Returns 0 (healthy, or failed on something recovery cannot mend, or the
 * probe could not run: join for real and see), DB_RUNRECOVERY, or EAGAIN
 * when another process began a recovery while the probe ran: the child is
 * then killed at once, since it must not stay attached to an environment
 * being rebuilt underneath it.
 */
enum { PROBE_HEALTHY = 0, PROBE_FAILED = 5, PROBE_DAMAGED = 6 };

static int
probe_join(const struct config *cfg, int lock_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0)
        return 0;
    if (pid == 0) {
        /* A probe that outlived its parent would hold the parent's lock for good. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(PROBE_FAILED);
        close_all_but(lock_fd, STDERR_FILENO);
        DB_ENV *env = NULL;
        char child_err[256];
        int ret = join_env(&env, cfg, child_err, sizeof child_err);
        if (ret == 0)
            env->close(env, 0);
        _exit(ret == 0 ? PROBE_HEALTHY : env_damaged(ret) ? PROBE_DAMAGED : PROBE_FAILED);
    }
    long long start = clock_ms(CLOCK_MONOTONIC);
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR)
            return 0;
        if (store_lock_held_elsewhere(lock_fd, STORE_LOCK_RECOVERING)) {
            probe_end(pid);
            return EAGAIN;
        }
        if (clock_ms(CLOCK_MONOTONIC) - start >= JOIN_WAIT_MS) {
            probe_end(pid);
            log_error("probe_join: %s: joining the environment blocked for %d ms: a killed process "
                      "holds one of its mutexes", cfg->db_home, JOIN_WAIT_MS);
            return DB_RUNRECOVERY;
        }
        usleep(STORE_LOCK_POLL_MS * 1000);
    }
    /* A probe that crashed (a damaged region can make the library fault) says "recover" too. */
    bool sound = WIFEXITED(status) &&
                 (WEXITSTATUS(status) == PROBE_HEALTHY || WEXITSTATUS(status) == PROBE_FAILED);
    return sound ? 0 : DB_RUNRECOVERY;
}

/*
 * Removes the environment's region files (__db.001 and the rest) before a
 * recovery. Nothing is attached then (the caller holds ATTACHED
 * exclusively), and recovery rebuilds the regions from the log, as after a
 * reboot. Left in place, DB_RECOVER first attaches to the old regions to
 * tear them down, and was seen spinning there for good on a mutex that a
 * killed process held (the store check of test_crash, in __env_detach
 * under __env_remove_env): every recovery after it met the same regions.
 */
static void
remove_regions(const struct config *cfg)
{
    DIR *dir = opendir(cfg->db_home);
    struct dirent *de;

    if (dir == NULL) {
        log_warn("remove_regions: %s: %s", cfg->db_home, strerror(errno));
        return;
    }
    while ((de = readdir(dir)) != NULL) {
        const char *n = de->d_name;
        /* __db.001 ... __db.0NN; not __db.register or the databases themselves */
        if (strncmp(n, "__db.0", 6) != 0 || strspn(n + 6, "0123456789") != strlen(n + 6))
            continue;
        if (unlinkat(dirfd(dir), n, 0) != 0 && errno != ENOENT)
            log_warn("remove_regions: %s/%s: %s", cfg->db_home, n, strerror(errno));
    }
    closedir(dir);
}

/*
 * Recovers the environment, unless another process did while this one
 * waited its turn. Holds RECOVERING throughout, which every attached
 * process watches: seeing it, they detach (or exit) within seconds. Runs
 * recovery only once it holds ATTACHED exclusively, i.e. once nothing is
 * attached, because a process still attached to the old regions could
 * commit into a log that recovery has already read. Returns 0 (the caller
 * joins again) or an error with err set.
 */
static int
recover_env(const struct config *cfg, int lock_fd, char *err, size_t errlen)
{
    int ret = DB_RUNRECOVERY;

    /*
     * Taken at once, nobody was recovering: the caller's finding stands (a
     * second probe could block on the same dead mutex for JOIN_WAIT_MS).
     * After a wait, another process may have recovered it meanwhile: look again.
     */
    if (store_lock_take(lock_fd, STORE_LOCK_RECOVERING, F_WRLCK, 0) != 0) {
        if (store_lock_take(lock_fd, STORE_LOCK_RECOVERING, F_WRLCK, OPEN_WAIT_MS) != 0) {
            snprintf(err, errlen, "%s: another process has been recovering the environment "
                     "for %d s", cfg->db_home, OPEN_WAIT_MS / 1000);
            return EBUSY;
        }
        if (!store_lock_interrupted(lock_fd))
            ret = probe_join(cfg, lock_fd);
    }
    if (ret == DB_RUNRECOVERY) {
        long long start = clock_ms(CLOCK_MONOTONIC);
        if (store_lock_take(lock_fd, STORE_LOCK_ATTACHED, F_WRLCK, DETACH_WAIT_MS) != 0) {
            snprintf(err, errlen, "%s: needs recovery, but other processes are still attached "
                     "after %d s", cfg->db_home, DETACH_WAIT_MS / 1000);
            ret = EBUSY;
        } else {
            DB_ENV *env = NULL;
            log_warn("recover_env: %s: running recovery", cfg->db_home);
            if (store_lock_mark(lock_fd, true) != 0)
                log_warn("recover_env: %s/store.lock: cannot mark the recovery: %s", cfg->db_home,
                         strerror(errno));
            remove_regions(cfg);
            ret = open_env(&env, cfg, DB_RECOVER, err, errlen);
            if (ret == 0) {
                env->close(env, 0);
                if (store_lock_mark(lock_fd, false) != 0)
                    log_warn("recover_env: %s/store.lock: cannot clear the recovery mark: %s",
                             cfg->db_home, strerror(errno));
                log_warn("recover_env: %s: recovered in %lld ms", cfg->db_home,
                         clock_ms(CLOCK_MONOTONIC) - start);
            }
            store_lock_drop(lock_fd, STORE_LOCK_ATTACHED);
        }
    }
    store_lock_drop(lock_fd, STORE_LOCK_RECOVERING);
    return ret == EAGAIN ? 0 : ret;
}

/*
 * Creates the environment if it does not exist yet, holding RECOVERING so
 * that the first processes of a fresh db_home do not race to build its
 * regions (one of them would wait on the other's half-built region and be
 * taken for blocked). Returns 0 or an error with err set.
 */
static int
create_env_alone(const struct config *cfg, int lock_fd, char *err, size_t errlen)
{
    char *region = xasprintf("%s/__db.001", cfg->db_home);
    struct stat st;
    int ret = 0;

    if (stat(region, &st) != 0 && errno == ENOENT) {
        if (store_lock_take(lock_fd, STORE_LOCK_RECOVERING, F_WRLCK, OPEN_WAIT_MS) != 0) {
            snprintf(err, errlen, "%s: another process has been creating the environment "
                     "for %d s", cfg->db_home, OPEN_WAIT_MS / 1000);
            ret = EBUSY;
        } else {
            DB_ENV *env = NULL;
            if (stat(region, &st) != 0 && errno == ENOENT &&
                (ret = open_env(&env, cfg, 0, err, errlen)) == 0)
                env->close(env, 0);
            store_lock_drop(lock_fd, STORE_LOCK_RECOVERING);
        }
    }
    free(region);
    return ret;
}

/* The lock of the join or close in progress in this process, for store_join_blocks_recovery. */
static volatile sig_atomic_t joining_fd = -1;

bool
store_join_blocks_recovery(void)
{
    int fd = joining_fd;

    return fd >= 0 && store_lock_held_elsewhere(fd, STORE_LOCK_RECOVERING);
}

/*
 * Attaches to the environment (docs/recovery.md): waits while another
 * process recovers, takes ATTACHED shared, probes the environment, and
 * joins it; recovers first when it needs it. Gives up after OPEN_WAIT_MS.
 */
static int
attach_env(DB_ENV **out, int lock_fd, const struct config *cfg, char *err, size_t errlen)
{
    long long deadline = clock_ms(CLOCK_MONOTONIC) + OPEN_WAIT_MS;
    int created = create_env_alone(cfg, lock_fd, err, errlen);

    if (created != 0)
        return created;
    for (;;) {
        /* Stand back while a recovery is pending, so that it never waits on newcomers. */
        if (store_lock_held_elsewhere(lock_fd, STORE_LOCK_RECOVERING) ||
            store_lock_take(lock_fd, STORE_LOCK_ATTACHED, F_RDLCK, 0) != 0) {
            if (clock_ms(CLOCK_MONOTONIC) >= deadline) {
                snprintf(err, errlen, "%s: the environment has been in recovery for %d s",
                         cfg->db_home, OPEN_WAIT_MS / 1000);
                return EBUSY;
            }
            usleep(STORE_LOCK_POLL_MS * 1000);
            continue;
        }
        int ret = EAGAIN;
        if (!store_lock_held_elsewhere(lock_fd, STORE_LOCK_RECOVERING))
            ret = store_lock_interrupted(lock_fd) ? DB_RUNRECOVERY : probe_join(cfg, lock_fd);
        if (ret == 0) {
            /* Healthy a moment ago; a death since can still block this join (see above). */
            joining_fd = lock_fd;
            ret = join_env(out, cfg, err, errlen);
            joining_fd = -1;
        }
        if (ret == 0)
            return 0;
        store_lock_drop(lock_fd, STORE_LOCK_ATTACHED);
        if (ret == DB_RUNRECOVERY)
            ret = recover_env(cfg, lock_fd, err, errlen);
        if (ret != 0 && ret != EAGAIN)
            return ret;
        if (clock_ms(CLOCK_MONOTONIC) >= deadline) {
            snprintf(err, errlen, "%s: the environment kept needing recovery for %d s",
                     cfg->db_home, OPEN_WAIT_MS / 1000);
            return EBUSY;
        }
    }
}

/*
 * The library loaded at run time must be the release db.h described at
 * build time (as Postfix checks): regions and log records differ between
 * releases, and a mismatch would damage the environment, not just fail.
 */
static int
check_db_version(char *err, size_t errlen)
{
    int major = 0, minor = 0;
    const char *loaded = db_version(&major, &minor, NULL);

    if (major != DB_VERSION_MAJOR || minor != DB_VERSION_MINOR) {
        snprintf(err, errlen, "built for Berkeley DB %d.%d, but running with %s", DB_VERSION_MAJOR,
                 DB_VERSION_MINOR, loaded);
        return -1;
    }
    return 0;
}

struct store *
store_open(const struct config *cfg, char *err, size_t errlen)
{
    if (check_db_version(err, errlen) != 0)
        return NULL;

    struct store *s = xcalloc(1, sizeof *s);

    s->lock_fd = -1;
    if (mkdir(cfg->db_home, 0770) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", cfg->db_home, strerror(errno));
        free(s);
        return NULL;
    }
    s->lock_fd = store_lock_open(cfg->db_home);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "%s/store.lock: %s", cfg->db_home, strerror(errno));
        free(s);
        return NULL;
    }
    if (attach_env(&s->env, s->lock_fd, cfg, err, errlen) != 0) {
        close(s->lock_fd);
        free(s);
        return NULL;
    }
    s->home = xstrdup(cfg->db_home);
    s->last_failchk = time(NULL);
    /*
     * Opening the databases can block on a mutex a killed process held, as
     * the join can (seen: a healthy probe, then __db_open blocked in the
     * lock region while a recovery waited for it to detach): watched the
     * same way, by store_join_blocks_recovery.
     */
    joining_fd = s->lock_fd;
    bool failed =
        open_db(s->env, &s->webhooks, "webhooks", err, errlen) != 0 ||
        open_db(s->env, &s->apikeys, "apikeys", err, errlen) != 0 ||
        open_db(s->env, &s->deliveries, "deliveries", err, errlen) != 0 ||
        open_db(s->env, &s->previous_secrets, "previous_secrets", err, errlen) != 0 ||
        open_db(s->env, &s->health, "health", err, errlen) != 0 ||
        open_db(s->env, &s->records, "delivery_records", err, errlen) != 0 ||
        open_db(s->env, &s->order, "delivery_order", err, errlen) != 0 ||
        /*
         * Larger pages: an item over a quarter of a page goes to overflow pages
         * of its own, and with the default 4 KiB pages a 1 KiB event would
         * cost 4 KiB (measured: docs/storage.md).
         */
        open_db_paged(s->env, &s->payloads, "delivery_payloads", PAYLOAD_PAGE_BYTES, err,
                      errlen) != 0 ||
        open_db(s->env, &s->requests, "requests", err, errlen) != 0 ||
        open_db(s->env, &s->retired_ids, "retired_ids", err, errlen) != 0;
    joining_fd = -1;
    if (failed) {
        store_close(s);
        return NULL;
    }
    return s;
}

void
store_close(struct store *s)
{
    if (s == NULL)
        return;
    DB **dbs[] = { &s->webhooks, &s->apikeys,  &s->deliveries, &s->previous_secrets,
                   &s->health,   &s->records,  &s->order,      &s->payloads,
                   &s->requests, &s->retired_ids };
    /*
     * Closing takes the library's mutexes as joining does, and can block
     * on one a killed process held (seen: the API's store check in
     * __db_close, holding up a recovery): watched the same way.
     */
    joining_fd = s->lock_fd;
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++)
        if (*dbs[i] != NULL)
            (*dbs[i])->close(*dbs[i], 0);
    if (s->env != NULL)
        s->env->close(s->env, 0);
    joining_fd = -1;
    if (s->lock_fd >= 0)
        close(s->lock_fd);      /* detached: a recovery may now run */
    for (size_t i = 0; i < STORE_APIKEY_MEMO; i++)
        free(s->apikey_memo[i].raw);
    free(s->home);
    free(s);
}

void
store_maintain(struct store *s)
{
    time_t now = time(NULL);

    if (now - s->last_failchk >= FAILCHK_INTERVAL) {
        s->last_failchk = now;
        int ret = s->env->failchk(s->env, 0);
        if (ret != 0)
            store_result(s, ret, "failchk");
    }
    /* Only a process that wrote can have grown the log; reads skip the region lock. */
    if (s->wrote && !check_space(s)) {
        s->wrote = false;
        int ret = s->env->txn_checkpoint(s->env, CHECKPOINT_KBYTES, 0, 0);
        if (ret != 0)
            store_result(s, ret, "checkpoint");
    }
}

bool
store_recovery_pending(const struct store *s)
{
    return s != NULL && store_lock_held_elsewhere(s->lock_fd, STORE_LOCK_RECOVERING);
}

int
store_recovery_watch_open(const struct config *cfg)
{
    return store_lock_open(cfg->db_home);
}

bool
store_recovery_watch_pending(int fd)
{
    return store_lock_held_elsewhere(fd, STORE_LOCK_RECOVERING);
}

bool
store_needs_restart(const struct store *s)
{
    return s->needs_restart;
}

bool
store_may_retry(const struct store *s)
{
    return s->needs_restart && !s->commit_unsure;
}

/* ---- maintenance ---- */

int
store_backup(struct store *s, const char *dir, char *err, size_t errlen)
{
    int ret = s->env->backup(s->env, dir, DB_CREATE | DB_EXCL | DB_BACKUP_CLEAN);

    if (ret != 0) {
        snprintf(err, errlen, "backup to %s: %s", dir, db_strerror(ret));
        return -1;
    }
    return 0;
}

int
store_verify(const struct config *cfg, char *err, size_t errlen)
{
    static const char *const names[] = { "webhooks",         "apikeys",
                                         "deliveries",       "previous_secrets",
                                         "health",           "delivery_records",
                                         "delivery_order",   "delivery_payloads",
                                         "requests",         "retired_ids" };
    int rc = check_db_version(err, errlen);

    for (size_t i = 0; i < sizeof names / sizeof names[0] && rc == 0; i++) {
        char *path = xasprintf("%s/%s", cfg->db_home, names[i]);
        struct stat st;
        /*
         * Every db_home has the first three; one from before the others has
         * none of them yet, and the next open makes them.
         */
        if (i >= 3 && stat(path, &st) != 0 && errno == ENOENT) {
            free(path);
            continue;
        }
        DB *db;
        int ret = db_create(&db, NULL, 0);
        /* DB->verify destroys the handle whatever it returns. */
        if (ret == 0)
            ret = db->verify(db, path, NULL, NULL, 0);
        if (ret != 0) {
            snprintf(err, errlen, "%s: %s", path, db_strerror(ret));
            rc = -1;
        }
        free(path);
    }
    return rc;
}
