/*
 * unlinker - the thread that removes finished spool files (unlinker.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sender/unlinker.h"
#include "sender/worker.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A file to remove, and the descriptor that holds its claim's lock until it is gone. */
struct doomed {
    char *path;
    int fd;
};

struct unlinker {
    struct worker w;            /* thread, lock, wake, stopping */
    struct doomed *queue;       /* owned */
    size_t n, cap;
};

static void
unlink_one(char *path, int fd)
{
    if (unlink(path) != 0 && errno != ENOENT)
        log_error("unlink_one: %s: cannot remove: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(path);
}

static void *
unlinker_main(void *arg)
{
    struct unlinker *u = arg;
    struct doomed *batch = NULL;
    size_t n = 0;

    pthread_mutex_lock(&u->w.lock);
    for (;;) {
        while (u->n == 0 && !u->w.stopping)
            pthread_cond_wait(&u->w.wake, &u->w.lock);
        if (u->n == 0 && u->w.stopping)
            break;
        /* Take the whole queue and work without the lock. */
        batch = u->queue;
        n = u->n;
        u->queue = NULL;
        u->n = u->cap = 0;
        pthread_mutex_unlock(&u->w.lock);
        for (size_t i = 0; i < n; i++)
            unlink_one(batch[i].path, batch[i].fd);
        free(batch);
        pthread_mutex_lock(&u->w.lock);
    }
    pthread_mutex_unlock(&u->w.lock);
    return NULL;
}

struct unlinker *
unlinker_start(void)
{
    struct unlinker *u = xcalloc(1, sizeof *u);

    int rc = worker_start(&u->w, "hs-unlinker", unlinker_main, u);
    if (rc != 0) {
        log_warn("unlinker_start: pthread_create: %s; removing files inline", strerror(rc));
        free(u);
        return NULL;
    }
    return u;
}

void
unlinker_add(struct unlinker *u, char *path, int fd)
{
    if (u == NULL) {
        unlink_one(path, fd);
        return;
    }
    pthread_mutex_lock(&u->w.lock);
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 64;
        u->queue = xreallocarray(u->queue, u->cap, sizeof *u->queue);
    }
    u->queue[u->n++] = (struct doomed){ path, fd };
    pthread_cond_signal(&u->w.wake);
    pthread_mutex_unlock(&u->w.lock);
}

void
unlinker_stop(struct unlinker *u)
{
    if (u == NULL)
        return;
    worker_stop(&u->w);
    free(u->queue);
    free(u);
}
