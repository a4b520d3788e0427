/*
 * parker - the thread that writes parked deliveries' records into
 * deferred/ (parker.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "domain/spool.h"
#include "sender/parker.h"
#include "sender/worker.h"
#include "util/log.h"
#include "util/xalloc.h"

enum { PARKER_BATCH = 64 };    /* records written with one directory fsync, at most */

/* One record to write, then its outcome. */
struct parcel {
    struct parcel *next;
    char *name;
    char *data;
    size_t len;
    time_t due;
    void *ctx;
    int rc;
};

struct parker {
    const char *spool_dir;
    struct worker w;            /* thread, lock, wake, stopping */
    struct parcel *todo, **todo_tail;   /* added, not yet written (FIFO) */
    struct parcel *done;                /* written, not yet collected */
    size_t pending;                     /* added and not yet collected */
    int event_fd;
};

/* Writes a chain of parcels durably, as one batch (spool_store_deferred_many). */
static void
parker_write(struct parker *p, struct parcel *chain)
{
    size_t n = 0, i = 0;

    for (struct parcel *c = chain; c != NULL; c = c->next)
        n++;
    struct spool_own_file *files = xcalloc(n, sizeof *files);
    for (struct parcel *c = chain; c != NULL; c = c->next, i++)
        files[i] = (struct spool_own_file){ c->name, c->data, c->len, c->due, -1 };
    (void)spool_store_deferred_many(p->spool_dir, files, n);    /* each failure is logged */
    i = 0;
    for (struct parcel *c = chain; c != NULL; c = c->next, i++) {
        c->rc = files[i].rc;
        free(c->data);
        c->data = NULL;
    }
    free(files);
}

static void *
parker_main(void *arg)
{
    struct parker *p = arg;

    pthread_mutex_lock(&p->w.lock);
    for (;;) {
        while (p->todo == NULL && !p->w.stopping)
            pthread_cond_wait(&p->w.wake, &p->w.lock);
        if (p->todo == NULL)
            break;
        /* At most PARKER_BATCH at a time: each holds a descriptor until the batch is done. */
        struct parcel *chain = p->todo, *last = chain;
        for (int k = 1; k < PARKER_BATCH && last->next != NULL; k++)
            last = last->next;
        p->todo = last->next;
        last->next = NULL;
        if (p->todo == NULL)
            p->todo_tail = &p->todo;
        pthread_mutex_unlock(&p->w.lock);
        parker_write(p, chain);
        pthread_mutex_lock(&p->w.lock);
        /* Onto the done list (its order does not matter to the loop). */
        while (chain != NULL) {
            struct parcel *next = chain->next;
            chain->next = p->done;
            p->done = chain;
            chain = next;
        }
        uint64_t one = 1;
        if (write(p->event_fd, &one, sizeof one) != (ssize_t)sizeof one)
            log_error("parker_main: eventfd: %s", strerror(errno));
    }
    pthread_mutex_unlock(&p->w.lock);
    return NULL;
}

struct parker *
parker_start(const char *spool_dir)
{
    struct parker *p = xcalloc(1, sizeof *p);

    p->spool_dir = spool_dir;
    p->todo_tail = &p->todo;
    p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->event_fd < 0) {
        log_warn("parker_start: eventfd: %s; parking on the event loop", strerror(errno));
        free(p);
        return NULL;
    }
    int rc = worker_start(&p->w, "hs-parker", parker_main, p);
    if (rc != 0) {
        log_warn("parker_start: pthread_create: %s; parking on the event loop", strerror(rc));
        close(p->event_fd);
        free(p);
        return NULL;
    }
    return p;
}

int
parker_fd(const struct parker *p)
{
    return p->event_fd;
}

void
parker_add(struct parker *p, const char *name, char *data, size_t len, time_t due, void *ctx)
{
    struct parcel *c = xcalloc(1, sizeof *c);

    c->name = xstrdup(name);
    c->data = data;
    c->len = len;
    c->due = due;
    c->ctx = ctx;
    pthread_mutex_lock(&p->w.lock);
    *p->todo_tail = c;
    p->todo_tail = &c->next;
    p->pending++;
    pthread_cond_signal(&p->w.wake);
    pthread_mutex_unlock(&p->w.lock);
}

size_t
parker_collect(struct parker *p, parker_done_fn done, void *arg)
{
    uint64_t count;
    size_t n = 0;

    if (read(p->event_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        log_error("parker_collect: eventfd: %s", strerror(errno));
    pthread_mutex_lock(&p->w.lock);
    struct parcel *chain = p->done;
    p->done = NULL;
    pthread_mutex_unlock(&p->w.lock);
    while (chain != NULL) {
        struct parcel *next = chain->next;
        done(chain->ctx, chain->rc, arg);
        free(chain->name);
        free(chain);
        chain = next;
        n++;
    }
    pthread_mutex_lock(&p->w.lock);
    p->pending -= n;
    pthread_mutex_unlock(&p->w.lock);
    return n;
}

size_t
parker_pending(const struct parker *p)
{
    struct parker *q = (struct parker *)p;      /* the lock only */

    pthread_mutex_lock(&q->w.lock);
    size_t n = q->pending;
    pthread_mutex_unlock(&q->w.lock);
    return n;
}

void
parker_stop(struct parker *p)
{
    if (p == NULL)
        return;
    worker_stop(&p->w);
    for (struct parcel *c = p->done, *next; c != NULL; c = next) {
        next = c->next;
        free(c->name);
        free(c->data);
        free(c);
    }
    close(p->event_fd);
    free(p);
}
