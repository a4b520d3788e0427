/*
 * requests - turns the API's redeliver and ping requests (the "requests"
 * database) into retry records due at once, on a thread of its own with
 * its own store handle, so that the event loop never waits for them.
 *
 * Every REQUESTS_POLL_MS the thread reads the waiting requests; for each it
 * writes "dlv-<deliveryId>" into deferred/ (spool_store_deferred: durable,
 * due now) with the delivery's payload, the next attempt number after the
 * last one recorded and a fresh round of retry_schedule, then deletes the
 * request. The loop's claimer picks the record up as any due retry. A
 * request outlives a crash between the two steps and is acted on again:
 * at worst one more attempt, never none. A record already in deferred/ for
 * the same delivery (a retry waiting for its time) is replaced: due now.
 */
#ifndef HOOKSPOOL_REQUESTS_H
#define HOOKSPOOL_REQUESTS_H

#include <stddef.h>

#include "domain/config.h"
#include "domain/store.h"

enum { REQUESTS_POLL_MS = 500, REQUESTS_BATCH = 64 };

struct requests;

/* Opens a store handle and starts the thread; NULL with a reason in err. */
struct requests *requests_start(const struct config *cfg, char *err, size_t errlen);

/* Stops the thread and closes its store; NULL is allowed. */
void requests_stop(struct requests *r);

/*
 * Acts on the waiting requests once, with store s (for --once runs).
 * Returns how many records were written, or -1 if the store did not answer.
 */
int requests_poll(struct store *s, const char *spool_dir);

#endif
