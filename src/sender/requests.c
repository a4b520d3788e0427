/* requests - the API's redeliver and ping requests into due retry records (see requests.h). */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sender/record.h"
#include "sender/requests.h"
#include "sender/worker.h"
#include "util/log.h"
#include "util/xalloc.h"

struct requests {
    struct worker w;            /* thread, lock, wake, stopping */
    struct store *store;        /* the thread's */
    char *spool_dir;
};

/* A dead letter of the delivery is replaced by the new record: requeue must not send it again. */
static void
drop_dead_letter(const char *spool_dir, const char *name)
{
    char reason[SPOOL_REASON_NAME_MAX + 1];

    spool_reason_name(name, reason);
    const char *names[] = { name, reason };
    for (size_t i = 0; i < 2; i++) {
        char *path = spool_path(spool_dir, SPOOL_FAILED, names[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("drop_dead_letter: %s: cannot remove: %s", path, strerror(errno));
        free(path);
    }
}

/*
 * Writes the retry record of one request's delivery. Returns 1 if written,
 * 0 if there is nothing to send (the delivery or its payload is gone), -1
 * if it should be tried again later.
 */
static int
request_act(struct store *s, const char *spool_dir, const struct store_request *q)
{
    struct delivery d;
    struct buf payload;
    int rc = 0;

    buf_init(&payload);
    enum store_status st = store_delivery_get(s, q->tenant, q->webhook_id, q->delivery_id, &d,
                                              &payload);
    if (st == STORE_NOTFOUND || (st == STORE_OK && payload.len == 0)) {
        log_warn("request_act: request for delivery %s (webhook %s, tenant %s): %s; dropped",
                 q->delivery_id, q->webhook_id, q->tenant,
                 st == STORE_NOTFOUND ? "no such delivery" : "its payload was not kept");
    } else if (st != STORE_OK) {
        rc = -1;
    } else {
        struct record r = { .ref = d.ref, .attempt = delivery_next_attempt(&d), .tries = 0 };
        r.body = payload.data;
        r.body_len = payload.len;
        char *data = record_format(&r);
        char *name = xasprintf(RECORD_PREFIX "%s", d.ref.delivery_id);
        if (spool_store_deferred(spool_dir, name, data, strlen(data), time(NULL)) != 0) {
            log_error("request_act: request for delivery %s: cannot write %s: %s",
                      d.ref.delivery_id, name, strerror(errno));
            rc = -1;
        } else {
            log_info("request_act: delivery %s (webhook %s, tenant %s): attempt %d requested",
                     d.ref.delivery_id, d.ref.webhook_id, d.ref.tenant, r.attempt);
            drop_dead_letter(spool_dir, name);
            rc = 1;
        }
        free(name);
        free(data);
        delivery_release(&d);
    }
    buf_release(&payload);
    return rc;
}

int
requests_poll(struct store *s, const char *spool_dir)
{
    struct store_request *list;
    size_t n;
    int written = 0;

    if (store_requests_list(s, REQUESTS_BATCH, &list, &n) != STORE_OK) {
        free(list);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = list[i].valid ? request_act(s, spool_dir, &list[i]) : 0;
        if (rc < 0)
            continue;           /* the request stays: next round */
        if (rc > 0)
            written++;
        if (store_request_done(s, &list[i]) != STORE_OK)
            log_error("requests_poll: cannot delete a request it acted on: it will be acted on "
                      "again");
    }
    free(list);
    return written;
}

static void *
requests_main(void *arg)
{
    struct requests *r = arg;

    pthread_mutex_lock(&r->w.lock);
    while (!r->w.stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)REQUESTS_POLL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&r->w.wake, &r->w.lock, &until);
        if (r->w.stopping)
            break;
        pthread_mutex_unlock(&r->w.lock);
        requests_poll(r->store, r->spool_dir);
        pthread_mutex_lock(&r->w.lock);
    }
    pthread_mutex_unlock(&r->w.lock);
    return NULL;
}

struct requests *
requests_start(const struct config *cfg, char *err, size_t errlen)
{
    struct requests *r = xcalloc(1, sizeof *r);

    r->store = store_open(cfg, err, errlen);
    if (r->store == NULL) {
        free(r);
        return NULL;
    }
    r->spool_dir = xstrdup(cfg->spool_dir);
    int rc = worker_start(&r->w, "hs-requests", requests_main, r);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        store_close(r->store);
        free(r->spool_dir);
        free(r);
        return NULL;
    }
    return r;
}

void
requests_stop(struct requests *r)
{
    if (r == NULL)
        return;
    worker_stop(&r->w);
    store_close(r->store);
    free(r->spool_dir);
    free(r);
}
