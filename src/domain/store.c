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

/* ---- webhooks ---- */

/* Builds the key "tenant \0 id" (id may be "" for the start of a tenant's range). */
static void
webhook_key(struct buf *key, const char *tenant, const char *id)
{
    buf_reset(key);
    buf_append(key, tenant, strlen(tenant) + 1);
    buf_puts(key, id);
}

static void
dbt_of(DBT *dbt, const void *data, size_t len)
{
    memset(dbt, 0, sizeof *dbt);
    dbt->data = (void *)data;
    dbt->size = (u_int32_t)len;
}

struct list_ctx {
    const char *tenant;
    struct webhook *items;
    size_t n;
    size_t count_only_limit;    /* for counting: stop early at this many; 0 = load all */
    bool count_only;
    u_int32_t lock_flags;       /* DB_RMW to serialise writers of one tenant */
};

/*
 * True if a stored record starts with its own id and ends an object, as
 * webhook_to_string writes it: the check that lets the read paths hand
 * records out verbatim instead of parsing and re-serialising each one.
 */
static bool
record_plausible(const void *id, size_t id_len, const void *data, size_t len)
{
    static const char head[] = "{\"id\":\"";
    const char *v = data;

    return len > sizeof head + id_len && memcmp(v, head, sizeof head - 1) == 0 &&
           memcmp(v + sizeof head - 1, id, id_len) == 0 && v[sizeof head - 1 + id_len] == '"' &&
           v[len - 1] == '}';
}

static void
list_ctx_clear(struct list_ctx *c)
{
    store_webhook_list_free(c->items, c->n);
    c->items = NULL;
    c->n = 0;
}

/* Walks the tenant's key range, loading (or counting) its webhooks. */
static int
list_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_ctx *c = ctx;
    struct buf prefix;
    DBC *cur;
    DBT key, val;
    int rc = STORE_OK;

    list_ctx_clear(c);
    int ret = s->webhooks->cursor(s->webhooks, txn, &cur, 0);
    if (ret != 0)
        return store_result(s, ret, "webhook list cursor");
    buf_init(&prefix);
    webhook_key(&prefix, c->tenant, "");
    dbt_of(&key, prefix.data, prefix.len);
    key.flags = DB_DBT_MALLOC;
    dbt_of(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC;
    u_int32_t op = DB_SET_RANGE;
    size_t cap = 0;
    for (;;) {
        /* With DB_DBT_MALLOC every key returned, even by DB_SET_RANGE, is ours to free. */
        ret = cur->get(cur, &key, &val, op | c->lock_flags);
        op = DB_NEXT;
        if (ret == DB_NOTFOUND)
            break;
        if (ret != 0) {
            rc = store_result(s, ret, "webhook list");
            break;
        }
        bool in_range = key.size >= prefix.len && memcmp(key.data, prefix.data, prefix.len) == 0;
        if (in_range && !c->count_only) {
            if (c->n == cap) {
                cap = cap ? cap * 2 : 16;
                c->items = xreallocarray(c->items, cap, sizeof *c->items);
            }
            if (webhook_from_string(&c->items[c->n], val.data, val.size) == 0)
                c->n++;
            else
                log_error("store: webhook list: tenant %s: skipping a malformed record",
                          c->tenant);
        } else if (in_range) {
            c->n++;
        }
        free(key.data);
        free(val.data);
        if (!in_range || (c->count_only && c->n >= c->count_only_limit))
            break;
    }
    cur->close(cur);
    buf_release(&prefix);
    return rc;
}

enum store_status
store_webhook_list(struct store *s, const char *tenant, struct webhook **out, size_t *n)
{
    struct list_ctx c = { .tenant = tenant };
    enum store_status st = store_run(s, "webhook list", list_body, &c);

    if (st != STORE_OK)
        list_ctx_clear(&c);
    *out = c.items;
    *n = c.n;
    return st;
}

struct list_json_ctx {
    const char *tenant;
    struct buf *out;
    void *bulk;                 /* the bulk-read buffer, kept across retries */
    size_t bulk_len;            /* a multiple of 1 KiB, as Berkeley DB requires */
};

/* Appends the records of one bulk read that are in range; false once past the range. */
static bool
append_bulk(struct list_json_ctx *c, DBT *data, const struct buf *prefix, size_t *n)
{
    void *p, *k, *v;
    u_int32_t klen, vlen;

    DB_MULTIPLE_INIT(p, data);
    for (;;) {
        DB_MULTIPLE_KEY_NEXT(p, data, k, klen, v, vlen);
        if (p == NULL)
            return true;
        if (klen < prefix->len || memcmp(k, prefix->data, prefix->len) != 0)
            return false;
        if (!record_plausible((char *)k + prefix->len, klen - prefix->len, v, vlen)) {
            log_error("store: webhook list: tenant %s: skipping a malformed record", c->tenant);
            continue;
        }
        if ((*n)++ > 0)
            buf_puts(c->out, ",");
        buf_append(c->out, v, vlen);
    }
}

/* Copies the tenant's key range into a JSON array, many records per cursor call. */
static int
list_json_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct list_json_ctx *c = ctx;
    struct buf prefix;
    DBC *cur;
    DBT key, data;
    size_t n = 0;
    int rc = STORE_OK;

    buf_reset(c->out);
    buf_puts(c->out, "[");
    int ret = s->webhooks->cursor(s->webhooks, txn, &cur, 0);
    if (ret != 0)
        return store_result(s, ret, "webhook list cursor");
    buf_init(&prefix);
    webhook_key(&prefix, c->tenant, "");
    u_int32_t op = DB_SET_RANGE;
    for (;;) {
        dbt_of(&key, prefix.data, prefix.len);
        dbt_of(&data, c->bulk, 0);
        data.ulen = (u_int32_t)c->bulk_len;
        data.flags = DB_DBT_USERMEM;
        ret = cur->get(cur, &key, &data, op | DB_MULTIPLE_KEY);
        if (ret == DB_BUFFER_SMALL) {
            /* One record is larger than the buffer: grow it and try again. */
            c->bulk_len = ((size_t)data.size + 1023) / 1024 * 1024;
            c->bulk = xrealloc(c->bulk, c->bulk_len);
            continue;
        }
        if (ret == DB_NOTFOUND)
            break;
        if (ret != 0) {
            rc = store_result(s, ret, "webhook list");
            break;
        }
        op = DB_NEXT;
        if (!append_bulk(c, &data, &prefix, &n))
            break;
    }
    cur->close(cur);
    buf_release(&prefix);
    buf_puts(c->out, "]");
    return rc;
}

enum store_status
store_webhook_list_json(struct store *s, const char *tenant, struct buf *out)
{
    struct list_json_ctx c = { .tenant = tenant, .out = out, .bulk_len = 64 * 1024 };

    c.bulk = xmalloc(c.bulk_len);
    enum store_status st = store_read(s, "webhook list", list_json_body, &c);
    free(c.bulk);
    return st;
}

void
store_webhook_list_free(struct webhook *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        webhook_release(&list[i]);
    free(list);
}

struct one_ctx {
    const char *tenant;
    const char *id;
    struct webhook *w;
    bool loaded;
    store_webhook_edit_fn edit;
    void *edit_ctx;
    long max_count;
};

/* Reads the stored record of tenant's webhook id into *val (malloc'd on STORE_OK). */
static int
get_record(struct store *s, DB_TXN *txn, const char *tenant, const char *id, u_int32_t flags,
           DBT *val)
{
    struct buf k;
    DBT key;

    buf_init(&k);
    webhook_key(&k, tenant, id);
    dbt_of(&key, k.data, k.len);
    dbt_of(val, NULL, 0);
    val->flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->webhooks->get(s->webhooks, txn, &key, val, flags), "webhook get");
    buf_release(&k);
    return rc;
}

/* Reads one webhook record into c->w (released first if loaded before). */
static int
read_one(struct store *s, DB_TXN *txn, struct one_ctx *c, u_int32_t flags)
{
    DBT val;

    if (c->loaded)
        webhook_release(c->w);
    c->loaded = false;
    int rc = get_record(s, txn, c->tenant, c->id, flags, &val);
    if (rc == STORE_OK) {
        if (webhook_from_string(c->w, val.data, val.size) == 0) {
            c->loaded = true;
        } else {
            log_error("store: webhook get: tenant %s id %s: malformed record", c->tenant, c->id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

static int
write_one(struct store *s, DB_TXN *txn, const char *tenant, const struct webhook *w,
          u_int32_t flags)
{
    struct buf k;
    DBT key, val;
    char *json = webhook_to_string(w);

    buf_init(&k);
    webhook_key(&k, tenant, w->id);
    dbt_of(&key, k.data, k.len);
    dbt_of(&val, json, strlen(json));
    int ret = s->webhooks->put(s->webhooks, txn, &key, &val, flags);
    buf_release(&k);
    free(json);
    if (ret == DB_KEYEXIST)
        return ret;
    return store_result(s, ret, "webhook put");
}

static int
get_body(struct store *s, DB_TXN *txn, void *ctx)
{
    return read_one(s, txn, ctx, 0);
}

enum store_status
store_webhook_get(struct store *s, const char *tenant, const char *id, struct webhook *out)
{
    struct one_ctx c = { .tenant = tenant, .id = id, .w = out };
    enum store_status st = store_run(s, "webhook get", get_body, &c);

    if (st != STORE_OK && c.loaded)
        webhook_release(out);
    return st;
}

struct json_ctx {
    const char *tenant;
    const char *id;
    struct buf *out;
};

static int
get_json_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct json_ctx *c = ctx;
    DBT val;
    int rc = get_record(s, txn, c->tenant, c->id, 0, &val);

    if (rc == STORE_OK) {
        if (record_plausible(c->id, strlen(c->id), val.data, val.size)) {
            buf_reset(c->out);
            buf_append(c->out, val.data, val.size);
        } else {
            log_error("store: webhook get: tenant %s id %s: malformed record", c->tenant, c->id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

enum store_status
store_webhook_get_json(struct store *s, const char *tenant, const char *id, struct buf *out)
{
    struct json_ctx c = { tenant, id, out };

    return store_read(s, "webhook get", get_json_body, &c);
}

static int
create_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    /* Counting with write locks makes concurrent creates for one tenant take turns. */
    struct list_ctx count = { .tenant = c->tenant, .count_only = true,
                              .count_only_limit = (size_t)c->max_count, .lock_flags = DB_RMW };
    int rc = list_body(s, txn, &count);

    if (rc != STORE_OK)
        return rc;
    if ((long)count.n >= c->max_count)
        return STORE_LIMIT;
    for (int i = 0; i < 16; i++) {
        if (webhook_new_id(c->w) != 0) {
            log_error("store: webhook create: random id: CSPRNG failure");
            return STORE_UNAVAILABLE;
        }
        rc = write_one(s, txn, c->tenant, c->w, DB_NOOVERWRITE);
        if (rc != DB_KEYEXIST)
            return rc;
    }
    log_error("store: webhook create: tenant %s: no free id after 16 draws", c->tenant);
    return STORE_UNAVAILABLE;
}

enum store_status
store_webhook_create(struct store *s, const char *tenant, struct webhook *w, long max_count)
{
    struct one_ctx c = { .tenant = tenant, .w = w, .max_count = max_count };

    return store_run(s, "webhook create", create_body, &c);
}

static int
update_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    int rc = read_one(s, txn, c, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    if (c->edit(c->w, c->edit_ctx) != 0)
        return STORE_REJECTED;
    return write_one(s, txn, c->tenant, c->w, 0);
}

enum store_status
store_webhook_update(struct store *s, const char *tenant, const char *id,
                     store_webhook_edit_fn edit, void *ctx, struct webhook *out)
{
    struct one_ctx c = { .tenant = tenant, .id = id, .w = out, .edit = edit, .edit_ctx = ctx };
    enum store_status st = store_run(s, "webhook update", update_body, &c);

    if (st != STORE_OK && c.loaded)
        webhook_release(out);
    return st;
}

static int
delete_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct one_ctx *c = ctx;
    struct buf k;
    DBT key;

    buf_init(&k);
    webhook_key(&k, c->tenant, c->id);
    dbt_of(&key, k.data, k.len);
    int ret = s->webhooks->del(s->webhooks, txn, &key, 0);
    buf_release(&k);
    return store_result(s, ret, "webhook delete");
}

enum store_status
store_webhook_delete(struct store *s, const char *tenant, const char *id)
{
    struct one_ctx c = { .tenant = tenant, .id = id };

    return store_run(s, "webhook delete", delete_body, &c);
}

/* ---- API keys ---- */

struct apikey_ctx {
    const char *id;
    const char *tenant;
    const struct apikey *in;
    struct apikey *out;
    struct apikey *items;
    size_t n;
};

static int
apikey_write(struct store *s, DB_TXN *txn, const struct apikey *rec, u_int32_t flags)
{
    char *json = apikey_to_string(rec);
    DBT key, val;

    dbt_of(&key, rec->id, strlen(rec->id));
    dbt_of(&val, json, strlen(json));
    int ret = s->apikeys->put(s->apikeys, txn, &key, &val, flags);
    free(json);
    return store_result(s, ret, "apikey put");
}

static int
apikey_add_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;

    return apikey_write(s, txn, c->in, DB_NOOVERWRITE);
}

enum store_status
store_apikey_add(struct store *s, const struct apikey *rec)
{
    struct apikey_ctx c = { .in = rec };

    return store_run(s, "apikey add", apikey_add_body, &c);
}

/*
 * Parses a stored API-key record, remembering the last few: every request
 * authenticates, and the JSON parse cost more than the lookup. Keyed by the
 * stored bytes, so a revoked (rewritten) record never matches its old entry.
 */
static int
apikey_parse_memo(struct store *s, const char *raw, size_t len, struct apikey *out)
{
    for (size_t i = 0; i < STORE_APIKEY_MEMO; i++) {
        struct apikey_memo *m = &s->apikey_memo[i];
        if (m->raw != NULL && m->len == len && memcmp(m->raw, raw, len) == 0) {
            *out = m->rec;
            return 0;
        }
    }
    if (apikey_from_string(out, raw, len) != 0)
        return -1;
    struct apikey_memo *m = &s->apikey_memo[s->apikey_memo_next++ % STORE_APIKEY_MEMO];
    free(m->raw);
    m->raw = xmalloc(len);
    memcpy(m->raw, raw, len);
    m->len = len;
    m->rec = *out;
    return 0;
}

static int
apikey_read(struct store *s, DB_TXN *txn, const char *id, struct apikey *out, u_int32_t flags)
{
    DBT key, val;

    dbt_of(&key, id, strlen(id));
    dbt_of(&val, NULL, 0);
    val.flags = DB_DBT_MALLOC;
    int rc = store_result(s, s->apikeys->get(s->apikeys, txn, &key, &val, flags), "apikey get");
    if (rc == STORE_OK) {
        if (apikey_parse_memo(s, val.data, val.size, out) != 0) {
            log_error("store: apikey get: %s: malformed record", id);
            rc = STORE_UNAVAILABLE;
        }
        free(val.data);
    }
    return rc;
}

static int
apikey_get_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;

    return apikey_read(s, txn, c->id, c->out, 0);
}

enum store_status
store_apikey_get(struct store *s, const char *id, struct apikey *out)
{
    struct apikey_ctx c = { .id = id, .out = out };

    return store_read(s, "apikey get", apikey_get_body, &c);
}

static int
apikey_revoke_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;
    struct apikey rec;
    int rc = apikey_read(s, txn, c->id, &rec, DB_RMW);

    if (rc != STORE_OK)
        return rc;
    rec.revoked = true;
    return apikey_write(s, txn, &rec, 0);
}

enum store_status
store_apikey_revoke(struct store *s, const char *id)
{
    struct apikey_ctx c = { .id = id };

    return store_run(s, "apikey revoke", apikey_revoke_body, &c);
}

static int
apikey_list_body(struct store *s, DB_TXN *txn, void *ctx)
{
    struct apikey_ctx *c = ctx;
    DBC *cur;
    DBT key, val;
    size_t cap = 0;
    int rc = STORE_OK, ret;

    free(c->items);
    c->items = NULL;
    c->n = 0;
    if ((ret = s->apikeys->cursor(s->apikeys, txn, &cur, 0)) != 0)
        return store_result(s, ret, "apikey list cursor");
    dbt_of(&key, NULL, 0);
    dbt_of(&val, NULL, 0);
    key.flags = val.flags = DB_DBT_MALLOC;
    while ((ret = cur->get(cur, &key, &val, DB_NEXT)) == 0) {
        if (c->n == cap) {
            cap = cap ? cap * 2 : 16;
            c->items = xreallocarray(c->items, cap, sizeof *c->items);
        }
        if (apikey_from_string(&c->items[c->n], val.data, val.size) == 0 &&
            (c->tenant == NULL || strcmp(c->items[c->n].tenant, c->tenant) == 0))
            c->n++;
        free(key.data);
        free(val.data);
    }
    if (ret != DB_NOTFOUND)
        rc = store_result(s, ret, "apikey list");
    cur->close(cur);
    return rc;
}

enum store_status
store_apikey_list(struct store *s, const char *tenant, struct apikey **out, size_t *n)
{
    struct apikey_ctx c = { .tenant = tenant };
    enum store_status st = store_run(s, "apikey list", apikey_list_body, &c);

    if (st != STORE_OK) {
        free(c.items);
        c.items = NULL;
        c.n = 0;
    }
    *out = c.items;
    *n = c.n;
    return st;
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
