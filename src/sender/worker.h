/*
 * worker - the start and stop of the sender's helper threads (claimer,
 * committer, parker, unlinker, metrics, requests): one thread, the mutex
 * and condition variable it waits on, and the flag that tells it to end.
 * What the thread does and what its lock guards stay with each module.
 */
#ifndef HOOKSPOOL_SENDER_WORKER_H
#define HOOKSPOOL_SENDER_WORKER_H

#include <pthread.h>
#include <stdbool.h>

struct worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* the thread waits on it; stopping signals it */
    bool stopping;              /* under lock */
};

/*
 * Initialises lock and wake and runs fn(arg) on a new thread named name
 * (at most 15 bytes: what top -H and ps -L show). Returns 0, or
 * pthread_create's error number with lock and wake destroyed again.
 */
int worker_start(struct worker *w, const char *name, void *(*fn)(void *), void *arg);
/*
 * Sets stopping under lock, wakes every waiter, waits for the thread to
 * return, and destroys lock and wake.
 */
void worker_stop(struct worker *w);

#endif
