/*
 * committer - records new deliveries and delivery attempts (the delivery
 * log and the delivery records) on a thread of its own, so that the commit's fsync (durability = sync) never stalls the
 * transfers of the sender's event loop.
 *
 * Group commit: the loop hands over everything that finished since the
 * last batch whenever the committer is idle; the slower the disk, the
 * bigger the batches. The thread has its own store handle. Completion is
 * signalled on an eventfd the loop polls with its other descriptors.
 */
#ifndef HOOKSPOOL_COMMITTER_H
#define HOOKSPOOL_COMMITTER_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"
#include "domain/store.h"

struct committer;

/* Opens a store handle and starts the thread; NULL with a reason in err. */
struct committer *committer_start(const struct config *cfg, char *err, size_t errlen);

/* The descriptor that becomes readable when a batch is done. */
int committer_fd(const struct committer *c);

/* True while a batch is being written. */
bool committer_busy(const struct committer *c);

/*
 * Hands over a batch (store_delivery_commit: n_new records to create, then
 * n_out attempts); -1 if busy. The arrays stay the caller's and must stay
 * valid until committer_collect says the batch is done.
 */
int committer_submit(struct committer *c, const struct delivery_new *nw, size_t n_new,
                     const struct delivery_outcome *out, size_t n_out);

/*
 * If the batch in hand is done, returns true and its outcome in *st (the
 * committer is then idle again); false while it is still being written.
 */
bool committer_collect(struct committer *c, enum store_status *st);

/* True once the committer's store handle reported that recovery is needed. */
bool committer_needs_restart(struct committer *c);

/* Webhooks its batches disabled for failing (sender/health.h), since start. */
unsigned long long committer_auto_disabled(const struct committer *c);

/* Waits for the batch in hand, stops the thread, closes its store; NULL is allowed. */
void committer_stop(struct committer *c);

#endif
