/*
 * worker - starting and stopping one helper thread with its lock, wake-up
 * and stop flag (see worker.h).
 */
#include "autoconfig.h"

#include "sender/worker.h"

int
worker_start(struct worker *w, const char *name, void *(*fn)(void *), void *arg)
{
    w->stopping = false;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->thread, NULL, fn, arg);
    if (rc != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        return rc;
    }
    /* Only what ps and top show: a thread without its name works the same. */
    (void)pthread_setname_np(w->thread, name);
    return 0;
}

void
worker_stop(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
}
