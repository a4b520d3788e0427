/*
 * claimer - the thread that claims due files from new/ and deferred/ into
 * active/ and reads them for the loop (claimer.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/spool.h"
#include "sender/claimer.h"
#include "sender/worker.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/xalloc.h"

enum {
    QUEUE_MAX = 64,             /* files claimed ahead of the event loop, at most */
    RECORD_SLACK = 4096,        /* a record's members beside its body */
    RECORD_ESCAPE = 6,          /* a body byte takes at most this many in a record ("\u001f") */
    QUIET_S = 2,                /* deferred/ unchanged this long: its mtime tells of any change */
    RELIST_MS = 60 * 1000,      /* deferred/ is listed at least this often all the same */
};

/* One listing being claimed: records due in deferred/, or new/. */
struct listing {
    char **names;
    size_t n, pos;
};

struct claimer {
    struct worker w;            /* thread, lock, wake, stopping */
    char *spool_dir;
    int fd;                     /* eventfd: files are waiting */
    int rescan_ms;
    int release_ms;             /* deferred/ is listed for due records this often; 0: once */
    /* The claimer thread's own: what the last listing of deferred/ found. */
    char *deferred_dir;
    struct timespec deferred_mtime; /* deferred/'s mtime just before that listing */
    bool deferred_quiet;        /* it was QUIET_S old then, and nothing was due */
    time_t next_due;            /* the earliest time of the files not due; -1: none */
    long long deferred_listed;  /* when (CLOCK_MONOTONIC ms) */
    /* Under lock: */
    size_t max_bytes;
    struct claimed queue[QUEUE_MAX];
    size_t head, n;
    bool hint;
    bool listed_empty;          /* the last listing, made after the last hint, was empty */
    bool busy;                  /* claiming a file outside the lock */
};

void
claimed_release(struct claimed *f)
{
    free(f->name);
    f->is_record = false;
    buf_release(&f->data);
    if (f->fd >= 0)
        close(f->fd);
    f->name = NULL;
    f->fd = -1;
}

/*
 * Claims new/name (an event file) or, if deferred, the due file
 * deferred/name (a record if it is named as one, else an event file the
 * sender parked), and reads it. Returns 0 with *out filled (its descriptor
 * holds the claim's lock), or -1 if there is nothing to hand over (gone,
 * held by another sender, not due, dead-lettered, or put back).
 */
static int
claim_one(const char *spool_dir, const char *name, bool deferred, size_t max_bytes,
          struct claimed *out)
{
    int fd;
    int rc = deferred ? spool_claim_due(spool_dir, name, time(NULL), &fd)
                      : spool_claim(spool_dir, name, &fd);
    /* Only deferred/, which producers cannot write, holds records, and only under their names. */
    bool is_record = deferred && spool_record_name(name);

    if (rc != 0)
        return -1;              /* logged if it was more than another sender's claim */
    /* A parked event keeps the name it had in active/. */
    char *active = deferred ? xstrdup(name) : spool_active_name(name);
    /* A record holds its event's body escaped in JSON: allow for that, never for more. */
    size_t cap = is_record ? max_bytes * RECORD_ESCAPE + RECORD_SLACK : max_bytes;
    buf_init(&out->data);
    rc = fileio_read_fd(fd, cap, &out->data);
    if (rc == 0) {
        out->name = active;
        out->fd = fd;
        out->is_record = is_record;
        return 0;
    }
    int saved = errno;
    buf_release(&out->data);
    if (rc == -2) {
        char reason[128];
        snprintf(reason, sizeof reason, "the %s is larger than max_event_bytes allows (%zu)",
                 is_record ? "delivery record" : "event", cap);
        log_warn("claim_one: %s: %s", active, reason);
        if (spool_fail(spool_dir, active, reason) != 0)
            log_error("claim_one: %s: cannot move to failed/: %s", active, strerror(errno));
    } else {
        log_error("claim_one: %s: cannot read: %s", active, strerror(saved));
        spool_unclaim(spool_dir, active);
    }
    close(fd);                  /* after the move: the lock covered it */
    free(active);
    return -1;
}

/*
 * True if listing deferred/ again can find nothing due: the last listing
 * found nothing due, the earliest file it saw is not due yet, and the
 * directory has not changed since (every file enters deferred/ by a rename,
 * its time already set). Its mtime is trusted only if it was QUIET_S old at
 * that listing, so that a change cannot share its timestamp. Parked
 * backlogs of a dead destination would otherwise cost a stat per file
 * every second.
 */
static bool
deferred_unchanged(const struct claimer *c, time_t now, struct timespec *mtime)
{
    struct stat st;

    if (lstat(c->deferred_dir, &st) != 0) {
        *mtime = (struct timespec){ 0, 0 };
        return false;
    }
    *mtime = st.st_mtim;
    return c->deferred_quiet && (c->next_due == (time_t)-1 || now < c->next_due) &&
           clock_ms(CLOCK_MONOTONIC) - c->deferred_listed < RELIST_MS &&
           st.st_mtim.tv_sec == c->deferred_mtime.tv_sec &&
           st.st_mtim.tv_nsec == c->deferred_mtime.tv_nsec;
}

/* Lists the records and parked files of deferred/ that are due; called without the lock. */
static void
claimer_list_due(struct claimer *c, struct listing *due)
{
    time_t now = time(NULL);
    struct timespec mtime;

    if (deferred_unchanged(c, now, &mtime))
        return;
    if (spool_list_due_next(c->spool_dir, now, &due->names, &due->n, &c->next_due) != 0) {
        log_error("claimer_list_due: deferred/: cannot list: %s", strerror(errno));
        c->next_due = 0;
    }
    c->deferred_mtime = mtime;
    c->deferred_quiet = mtime.tv_sec != 0 && now - mtime.tv_sec >= QUIET_S && c->next_due != 0;
    c->deferred_listed = clock_ms(CLOCK_MONOTONIC);
}

/* Lists what the claimer works through next; called without the lock. */
static void
claimer_list(struct claimer *c, bool records, struct listing *due, struct listing *fresh)
{
    spool_names_free(due->names, due->n);
    spool_names_free(fresh->names, fresh->n);
    *due = (struct listing){ NULL, 0, 0 };
    *fresh = (struct listing){ NULL, 0, 0 };
    if (records)
        claimer_list_due(c, due);
    if (spool_list(c->spool_dir, SPOOL_NEW, &fresh->names, &fresh->n) != 0)
        log_error("claimer_list: new/: cannot list: %s", strerror(errno));
}

static void *
claimer_main(void *arg)
{
    struct claimer *c = arg;
    struct listing due = { NULL, 0, 0 }, fresh = { NULL, 0, 0 };
    long long last_list = 0, last_release = 0;
    bool yielded = false;       /* the current listings gave at least one file */
    bool released = false;      /* deferred/ was listed at least once */

    pthread_mutex_lock(&c->w.lock);
    while (!c->w.stopping) {
        bool used_up = due.pos == due.n && fresh.pos == fresh.n;
        long long now = clock_ms(CLOCK_MONOTONIC);
        /* Due records are looked for every release_ms (with --once: at the first listing only). */
        bool release = c->release_ms > 0 ? now - last_release >= c->release_ms : !released;
        /* A used-up listing that yielded files is followed by another at once. */
        if (c->n == QUEUE_MAX ||
            (used_up && !yielded && !c->hint && !release && now - last_list < c->rescan_ms)) {
            /* Full, or nothing listed and no reason to look yet: sleep a while. */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&c->w.wake, &c->w.lock, &until);
            continue;
        }
        if (used_up) {
            c->hint = false;
            c->busy = true;
            pthread_mutex_unlock(&c->w.lock);
            yielded = false;
            claimer_list(c, release, &due, &fresh);
            last_list = clock_ms(CLOCK_MONOTONIC);
            if (release) {
                last_release = last_list;
                released = true;
            }
            pthread_mutex_lock(&c->w.lock);
            c->busy = false;
            c->listed_empty = due.n == 0 && fresh.n == 0 && !c->hint;
            continue;
        }
        /* Due retries first: they have waited their turn already. */
        bool deferred = due.pos < due.n;
        const char *name = deferred ? due.names[due.pos++] : fresh.names[fresh.pos++];
        size_t max_bytes = c->max_bytes;
        c->busy = true;
        pthread_mutex_unlock(&c->w.lock);
        struct claimed f = { NULL, -1, false, { NULL, 0, 0 } };
        int rc = claim_one(c->spool_dir, name, deferred, max_bytes, &f);
        pthread_mutex_lock(&c->w.lock);
        c->busy = false;
        if (rc == 0) {
            yielded = true;
            c->queue[(c->head + c->n) % QUEUE_MAX] = f;
            c->n++;
            uint64_t one = 1;
            if (write(c->fd, &one, sizeof one) != (ssize_t)sizeof one)
                log_error("claimer_main: eventfd write: %s", strerror(errno));
        }
    }
    pthread_mutex_unlock(&c->w.lock);
    spool_names_free(due.names, due.n);
    spool_names_free(fresh.names, fresh.n);
    return NULL;
}

struct claimer *
claimer_start(const char *spool_dir, size_t max_bytes, int rescan_ms, int release_ms)
{
    struct claimer *c = xcalloc(1, sizeof *c);

    c->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->fd < 0) {
        log_error("claimer_start: eventfd: %s", strerror(errno));
        free(c);
        return NULL;
    }
    c->spool_dir = xstrdup(spool_dir);
    c->deferred_dir = spool_path(spool_dir, SPOOL_DEFERRED, NULL);
    c->max_bytes = max_bytes;
    c->rescan_ms = rescan_ms;
    c->release_ms = release_ms;
    c->hint = true;
    int rc = worker_start(&c->w, "hs-claimer", claimer_main, c);
    if (rc != 0) {
        log_error("claimer_start: pthread_create: %s", strerror(rc));
        close(c->fd);
        free(c->deferred_dir);
        free(c->spool_dir);
        free(c);
        return NULL;
    }
    return c;
}

int
claimer_fd(const struct claimer *c)
{
    return c->fd;
}

bool
claimer_pop(struct claimer *c, struct claimed *out)
{
    uint64_t count;
    bool got = false;

    pthread_mutex_lock(&c->w.lock);
    if (c->n > 0) {
        *out = c->queue[c->head];
        c->head = (c->head + 1) % QUEUE_MAX;
        c->n--;
        got = true;
        pthread_cond_signal(&c->w.wake);      /* room again */
    }
    if (c->n == 0) {
        /* Drain the eventfd; a later push writes it again. */
        while (read(c->fd, &count, sizeof count) == (ssize_t)sizeof count)
            ;
    }
    pthread_mutex_unlock(&c->w.lock);
    return got;
}

void
claimer_hint(struct claimer *c)
{
    pthread_mutex_lock(&c->w.lock);
    c->hint = true;
    c->listed_empty = false;
    pthread_cond_signal(&c->w.wake);
    pthread_mutex_unlock(&c->w.lock);
}

bool
claimer_drained(struct claimer *c)
{
    pthread_mutex_lock(&c->w.lock);
    bool drained = c->listed_empty && c->n == 0 && !c->busy && !c->hint;
    pthread_mutex_unlock(&c->w.lock);
    return drained;
}

void
claimer_set_max_bytes(struct claimer *c, size_t max_bytes)
{
    pthread_mutex_lock(&c->w.lock);
    c->max_bytes = max_bytes;
    pthread_mutex_unlock(&c->w.lock);
}

void
claimer_stop(struct claimer *c)
{
    if (c == NULL)
        return;
    worker_stop(&c->w);
    for (size_t i = 0; i < c->n; i++) {
        struct claimed *f = &c->queue[(c->head + i) % QUEUE_MAX];
        if (spool_unclaim(c->spool_dir, f->name) < 0)
            log_error("claimer_stop: %s: cannot put back: %s", f->name, strerror(errno));
        claimed_release(f);
    }
    close(c->fd);
    free(c->deferred_dir);
    free(c->spool_dir);
    free(c);
}
