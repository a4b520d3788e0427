/*
 * store_env - the Berkeley DB environment: opening and joining it, crash
 * handling (failchk, recovery), the transaction runner every store
 * operation goes through, and backup and verify.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/store_internal.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    THREAD_COUNT = 256,             /* processes attached at once, with headroom */
    CACHE_BYTES = 8 << 20,
    LOCK_TIMEOUT_US = 2000000,      /* a lock wait this long is treated like a deadlock */
    MAX_TRIES = 32,
    FAILCHK_INTERVAL = 2,           /* seconds between failchk runs in a long-lived process */
    CHECKPOINT_KBYTES = 1024,
    RECOVERY_WAIT_MS = 3000,       /* for other processes to detach before recovery */
    JOIN_WAIT_S = 8,               /* an open this slow is blocked on a dead process's mutex */
};

static void
store_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    log_error("berkeley db: %s", msg);
}

/*
 * Informational messages (failchk freeing a dead process's locks, ...) go
 * to the log: by default Berkeley DB prints them on stdout, which is the
 * output of CLI commands such as "apikey create" and "deliveries --json".
 */
static void
store_msgcall(const DB_ENV *env, const char *msg)
{
    log_info("berkeley db: %s", msg);
}

/* Tells failchk whether the process that owns a lock or transaction still runs. */
static int
store_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
    return kill(pid, 0) == 0 || errno == EPERM;
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
    case DB_RUNRECOVERY:
        s->needs_restart = true;
        /* fall through */
    default:
        log_error("store: %s: %s", what, db_strerror(ret));
        return STORE_UNAVAILABLE;
    }
}

/* store_run and store_read: body in a transaction (or none), retried after deadlocks. */
static enum store_status
run_body(struct store *s, const char *what, store_txn_body body, void *ctx, bool in_txn)
{
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
            if (rc != STORE_RETRY)
                return STORE_UNAVAILABLE;
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
    log_error("store: %s: gave up after %d deadlocks", what, MAX_TRIES);
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
                              cfg->durability == DURABILITY_NOSYNC)) != 0) {
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

static int
open_db(DB_ENV *env, DB **out, const char *name, char *err, size_t errlen)
{
    DB *db;
    int ret = db_create(&db, env, 0);

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

/*
 * A process that died inside Berkeley DB may hold locks that live processes
 * are blocked on. Their lock requests time out (LOCK_TIMEOUT_US), but only
 * a deadlock-detector pass notices that: run passes until every such wait
 * has expired, so the waiters wake with DB_LOCK_NOTGRANTED. Then panic the
 * environment, so that every attached process gets DB_RUNRECOVERY from its
 * next call and detaches.
 */
static void
evict_attached(DB_ENV *env)
{
    for (long waited = 0; waited <= LOCK_TIMEOUT_US + 200000; waited += 100000) {
        if (env->lock_detect(env, 0, DB_LOCK_EXPIRE, NULL) != 0)
            break;
        usleep(100000);
    }
    env->set_flags(env, DB_PANIC_ENVIRONMENT, 1);
}

/* Joins the environment and runs failchk; returns 0, DB_RUNRECOVERY or another error. */
static int
join_env(DB_ENV **out, const struct config *cfg, char *err, size_t errlen)
{
    int ret = open_env(out, cfg, 0, err, errlen);

    if (ret == 0 && (ret = (*out)->failchk(*out, 0)) != 0) {
        if (ret == DB_RUNRECOVERY)
            evict_attached(*out);
        else
            snprintf(err, errlen, "%s: failchk: %s", cfg->db_home, db_strerror(ret));
        (*out)->close(*out, 0);
        *out = NULL;
    }
    return ret;
}

/*
 * join_env, but first tried in a child process that is given JOIN_WAIT_S.
 * A process killed while holding one of the environment's own mutexes
 * (say, while updating its thread state) makes every later open block on
 * that mutex for good, before failchk can say anything. A child that
 * blocks is killed, which leaves nothing attached behind (a thread left
 * blocked here could wake after the recovery and write into the new log),
 * and the environment is taken to need recovery.
 */
static int
join_within(DB_ENV **out, const struct config *cfg, char *err, size_t errlen)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        /*
         * Die with the parent: a probe left blocked after its parent was
         * killed would stay attached for good, holding the parent's shared
         * lock on store.lock (inherited), and no recovery could ever run.
         */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(4);
        DB_ENV *env = NULL;
        char child_err[256];
        int ret = join_env(&env, cfg, child_err, sizeof child_err);
        if (ret == 0)
            env->close(env, 0);
        _exit(ret == DB_RUNRECOVERY ? 3 : 0);
    }
    if (pid > 0) {
        int status = 0;
        pid_t done = 0;
        for (int waited_ms = 0; done == 0 && waited_ms < JOIN_WAIT_S * 1000; waited_ms += 10) {
            done = waitpid(pid, &status, WNOHANG);
            if (done == 0)
                usleep(10000);
            else if (done < 0 && errno == EINTR)
                done = 0;
        }
        if (done == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            log_error("store: %s: joining the environment blocked for %d s: a killed process "
                      "holds one of its mutexes", cfg->db_home, JOIN_WAIT_S);
            return DB_RUNRECOVERY;
        }
        if (done == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3)
            return DB_RUNRECOVERY;     /* the child has already evicted the others */
    }
    /* The probe went through (or could not run): join for real. */
    return join_env(out, cfg, err, errlen);
}

/* Takes the flock "how" on fd, giving up after wait_ms; returns 0 or -1. */
static int
lock_within(int fd, int how, int wait_ms)
{
    for (int waited = 0;; waited += 20) {
        if (flock(fd, how | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (waited >= wait_ms) {
            errno = EWOULDBLOCK;
            return -1;
        }
        usleep(20000);
    }
}

/*
 * Opens the environment, recovering it only when failchk (or a panic) says
 * it is unusable for everyone.
 *
 * Every process holds a shared flock on db_home/store.lock for as long as
 * it is attached; recovery needs the exclusive lock. Recovery rebuilds the
 * regions from the log, so a process still attached to the old regions
 * could commit into a log that recovery has already read, and that commit
 * would be lost: hence recovery waits (up to RECOVERY_WAIT_MS) until every
 * other process has seen the panic and detached. The lock descriptor is
 * returned in *lock_fd and closed by store_close.
 */
static int
open_or_recover(DB_ENV **out, int *lock_fd, const struct config *cfg, char *err, size_t errlen)
{
    char *lock_path = xasprintf("%s/store.lock", cfg->db_home);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    int ret;

    if (lock < 0 || lock_within(lock, LOCK_SH, RECOVERY_WAIT_MS) != 0) {
        ret = errno;
        snprintf(err, errlen, "%s: %s", lock_path, strerror(errno));
    } else if ((ret = join_within(out, cfg, err, errlen)) == DB_RUNRECOVERY) {
        flock(lock, LOCK_UN);
        /* Ask idle processes to detach (store_recovery_pending), then wait for them. */
        if (pwrite(lock, "R", 1, 0) != 1)
            log_warn("store: %s: cannot flag the recovery: %s", lock_path, strerror(errno));
        if (lock_within(lock, LOCK_EX, RECOVERY_WAIT_MS) != 0) {
            ret = errno;
            snprintf(err, errlen, "%s: needs recovery, but other processes are still attached",
                     cfg->db_home);
        } else {
            /* Someone may have recovered it while we waited: look again. */
            if ((ret = join_within(out, cfg, err, errlen)) == DB_RUNRECOVERY) {
                log_warn("store: %s: running recovery", cfg->db_home);
                ret = open_env(out, cfg, DB_RECOVER, err, errlen);
            }
            if (ret == 0 && pwrite(lock, "-", 1, 0) != 1)
                log_warn("store: %s: cannot clear the recovery flag: %s", lock_path,
                         strerror(errno));
            flock(lock, LOCK_SH);   /* attached from now on, like everyone else */
        }
    }
    /*
     * Joined a healthy environment: a recovery flag still set was left by a
     * process that gave up waiting, and would keep sending fresh processes away.
     */
    if (ret == 0 && store_recovery_watch_pending(lock) && pwrite(lock, "-", 1, 0) != 1)
        log_warn("store: %s: cannot clear the recovery flag: %s", lock_path, strerror(errno));
    if (ret != 0 && lock >= 0) {
        close(lock);
        lock = -1;
    }
    *lock_fd = lock;
    free(lock_path);
    return ret;
}

struct store *
store_open(const struct config *cfg, char *err, size_t errlen)
{
    struct store *s = xcalloc(1, sizeof *s);

    s->lock_fd = -1;
    if (mkdir(cfg->db_home, 0770) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", cfg->db_home, strerror(errno));
        free(s);
        return NULL;
    }
    if (open_or_recover(&s->env, &s->lock_fd, cfg, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    s->last_failchk = time(NULL);
    if (open_db(s->env, &s->webhooks, "webhooks", err, errlen) != 0 ||
        open_db(s->env, &s->apikeys, "apikeys", err, errlen) != 0 ||
        open_db(s->env, &s->deliveries, "deliveries", err, errlen) != 0) {
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
    DB **dbs[] = { &s->webhooks, &s->apikeys, &s->deliveries };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++)
        if (*dbs[i] != NULL)
            (*dbs[i])->close(*dbs[i], 0);
    if (s->env != NULL)
        s->env->close(s->env, 0);
    if (s->lock_fd >= 0)
        close(s->lock_fd);      /* detached: a recovery may now run */
    for (size_t i = 0; i < STORE_APIKEY_MEMO; i++)
        free(s->apikey_memo[i].raw);
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
    if (s->wrote) {
        s->wrote = false;
        int ret = s->env->txn_checkpoint(s->env, CHECKPOINT_KBYTES, 0, 0);
        if (ret != 0)
            store_result(s, ret, "checkpoint");
    }
}

bool
store_recovery_pending(const struct store *s)
{
    return s != NULL && store_recovery_watch_pending(s->lock_fd);
}

int
store_recovery_watch_open(const struct config *cfg)
{
    char *path = xasprintf("%s/store.lock", cfg->db_home);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    return fd;
}

bool
store_recovery_watch_pending(int fd)
{
    char flag;

    return fd >= 0 && pread(fd, &flag, 1, 0) == 1 && flag == 'R';
}

bool
store_needs_restart(const struct store *s)
{
    return s->needs_restart;
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
    static const char *const names[] = { "webhooks", "apikeys", "deliveries" };
    int rc = 0;

    for (size_t i = 0; i < sizeof names / sizeof names[0] && rc == 0; i++) {
        char *path = xasprintf("%s/%s", cfg->db_home, names[i]);
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
