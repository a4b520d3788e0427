/*
 * worker - starting and stopping one helper thread with its lock, wake-up
 * and stop flag (see worker.h).
 */
#include "sender/worker.h"

int
worker_start(struct worker *w, void *(*fn)(void *), void *arg)
{
    w->stopping = false;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->thread, NULL, fn, arg);
    if (rc != 0) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
    }
    return rc;
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
