/*
 * committer - the thread that records delivery attempts in the store in
 * batches, off the sender's loop (committer.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sender/committer.h"
#include "sender/health.h"
#include "sender/worker.h"
#include "util/log.h"
#include "util/xalloc.h"

struct committer {
    struct worker w;            /* thread, lock, wake, stopping */
    struct store *store;        /* used by the thread only */
    struct health *health;      /* failure streaks and auto-disable, on this thread */
    int fd;                     /* eventfd: a batch is done */
    /* Under lock: */
    const struct delivery_new *nw;
    size_t n_new;
    const struct delivery_outcome *out;
    size_t n_out;
    bool submitted;             /* a batch is in hand (being written or done) */
    bool done;                  /* ... and it is done */
    enum store_status status;
    bool needs_restart;
};

/*
 * The batch's attempts, in the delivery log now, to the failure streaks
 * (sender/health.h); an outcome without an attempt (a delivery stopped) is
 * none.
 */
static void
committer_health(struct committer *c, const struct delivery_outcome *out, size_t n)
{
    const struct delivery_attempt **a = xcalloc(n ? n : 1, sizeof *a);
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (out[i].attempt.attempt > 0)
            a[k++] = &out[i].attempt;
    health_batch(c->health, c->store, a, k);
    free(a);
}

static void *
committer_main(void *arg)
{
    struct committer *c = arg;

    /* A Webhook:Disabled that a crash kept from the spool goes out now, not at the next batch. */
    health_batch(c->health, c->store, NULL, 0);
    pthread_mutex_lock(&c->w.lock);
    for (;;) {
        while (!(c->submitted && !c->done) && !c->w.stopping)
            pthread_cond_wait(&c->w.wake, &c->w.lock);
        if (!(c->submitted && !c->done))
            break;              /* stopping with nothing to write */
        const struct delivery_new *nw = c->nw;
        const struct delivery_outcome *out = c->out;
        size_t n_new = c->n_new, n_out = c->n_out;
        pthread_mutex_unlock(&c->w.lock);

        enum store_status st = store_delivery_commit(c->store, nw, n_new, out, n_out);
        if (st == STORE_OK)
            committer_health(c, out, n_out);
        store_maintain(c->store);
        bool restart = store_needs_restart(c->store);

        pthread_mutex_lock(&c->w.lock);
        c->nw = NULL;
        c->out = NULL;
        c->status = st;
        c->needs_restart = restart;
        c->done = true;
        uint64_t one = 1;
        if (write(c->fd, &one, sizeof one) != (ssize_t)sizeof one)
            log_error("committer_main: eventfd write: %s", strerror(errno));
        pthread_cond_broadcast(&c->w.wake);
    }
    pthread_mutex_unlock(&c->w.lock);
    return NULL;
}

struct committer *
committer_start(const struct config *cfg, char *err, size_t errlen)
{
    struct committer *c = xcalloc(1, sizeof *c);

    c->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        free(c);
        return NULL;
    }
    c->store = store_open(cfg, err, errlen);
    if (c->store == NULL) {
        close(c->fd);
        free(c);
        return NULL;
    }
    c->health = health_new(cfg);
    int rc = worker_start(&c->w, "hs-committer", committer_main, c);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        health_free(c->health);
        store_close(c->store);
        close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

int
committer_fd(const struct committer *c)
{
    return c->fd;
}

bool
committer_busy(const struct committer *c)
{
    return c->submitted;        /* only the loop's thread changes it */
}

int
committer_submit(struct committer *c, const struct delivery_new *nw, size_t n_new,
                 const struct delivery_outcome *out, size_t n_out)
{
    pthread_mutex_lock(&c->w.lock);
    if (c->submitted) {
        pthread_mutex_unlock(&c->w.lock);
        return -1;
    }
    c->nw = nw;
    c->n_new = n_new;
    c->out = out;
    c->n_out = n_out;
    c->submitted = true;
    c->done = false;
    pthread_cond_broadcast(&c->w.wake);
    pthread_mutex_unlock(&c->w.lock);
    return 0;
}

bool
committer_collect(struct committer *c, enum store_status *st)
{
    uint64_t count;
    bool done;

    /* Drain the eventfd; the flag below is the truth. */
    while (read(c->fd, &count, sizeof count) == (ssize_t)sizeof count)
        ;
    pthread_mutex_lock(&c->w.lock);
    done = c->submitted && c->done;
    if (done) {
        *st = c->status;
        c->submitted = false;
        c->done = false;
    }
    pthread_mutex_unlock(&c->w.lock);
    return done;
}

bool
committer_needs_restart(struct committer *c)
{
    pthread_mutex_lock(&c->w.lock);
    bool restart = c->needs_restart;
    pthread_mutex_unlock(&c->w.lock);
    return restart;
}

void
committer_stop(struct committer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->w.lock);
    while (c->submitted && !c->done)
        pthread_cond_wait(&c->w.wake, &c->w.lock);
    pthread_mutex_unlock(&c->w.lock);
    worker_stop(&c->w);
    health_free(c->health);
    store_close(c->store);
    close(c->fd);
    free(c);
}

unsigned long long
committer_auto_disabled(const struct committer *c)
{
    return health_auto_disabled(c->health);
}
