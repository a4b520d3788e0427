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
#include "util/log.h"
#include "util/xalloc.h"

/* A file to remove, and the descriptor that holds its claim's lock until it is gone. */
struct doomed {
    char *path;
    int fd;
};

struct unlinker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct doomed *queue;       /* owned */
    size_t n, cap;
    bool stopping;
};

static void
unlink_one(char *path, int fd)
{
    if (unlink(path) != 0 && errno != ENOENT)
        log_error("unlinker: %s: cannot remove: %s", path, strerror(errno));
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

    pthread_mutex_lock(&u->lock);
    for (;;) {
        while (u->n == 0 && !u->stopping)
            pthread_cond_wait(&u->wake, &u->lock);
        if (u->n == 0 && u->stopping)
            break;
        /* Take the whole queue and work without the lock. */
        batch = u->queue;
        n = u->n;
        u->queue = NULL;
        u->n = u->cap = 0;
        pthread_mutex_unlock(&u->lock);
        for (size_t i = 0; i < n; i++)
            unlink_one(batch[i].path, batch[i].fd);
        free(batch);
        pthread_mutex_lock(&u->lock);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

struct unlinker *
unlinker_start(void)
{
    struct unlinker *u = xcalloc(1, sizeof *u);

    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->wake, NULL);
    int rc = pthread_create(&u->thread, NULL, unlinker_main, u);
    if (rc != 0) {
        log_warn("unlinker_start: pthread_create: %s; removing files inline", strerror(rc));
        pthread_cond_destroy(&u->wake);
        pthread_mutex_destroy(&u->lock);
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
    pthread_mutex_lock(&u->lock);
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 64;
        u->queue = xreallocarray(u->queue, u->cap, sizeof *u->queue);
    }
    u->queue[u->n++] = (struct doomed){ path, fd };
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

void
unlinker_stop(struct unlinker *u)
{
    if (u == NULL)
        return;
    pthread_mutex_lock(&u->lock);
    u->stopping = true;
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u->queue);
    free(u);
}
