/*
 * parker - writes the records of parked deliveries into deferred/ on a
 * thread of its own.
 *
 * Parking (sender/dest.h) happens in bursts: when a destination is found
 * dead, everything it had queued, and then its whole share of the
 * backlog, goes to deferred/. Each record is written durably (fsync of the
 * file and of the directory), which on a busy disk costs milliseconds; on
 * the event loop that would be the healthy destinations' time. The loop
 * hands the finished record text over and keeps the delivery in memory
 * (it still counts against the sender's limit) until the record is on
 * disk; completion is signalled on an eventfd the loop polls with its
 * other descriptors, and only then may the delivery's claimed file leave
 * active/.
 */
#ifndef HOOKSPOOL_PARKER_H
#define HOOKSPOOL_PARKER_H

#include <stddef.h>
#include <time.h>

struct parker;

/* Called by parker_collect once per record: rc 0 written, -1 not (logged). */
typedef void (*parker_done_fn)(void *ctx, int rc, void *arg);

/* Starts the thread for spool_dir (borrowed; must outlive it); NULL if it could not. */
struct parker *parker_start(const char *spool_dir);

/* The descriptor that becomes readable when records have been written. */
int parker_fd(const struct parker *p);

/*
 * Queues record data (len bytes; ownership passes) for deferred/name, due
 * at time due; ctx comes back through parker_collect.
 */
void parker_add(struct parker *p, const char *name, char *data, size_t len, time_t due,
                void *ctx);

/* Hands every record written since the last call to done; returns how many. */
size_t parker_collect(struct parker *p, parker_done_fn done, void *arg);

/* Records added and not yet collected. */
size_t parker_pending(const struct parker *p);

/*
 * Writes what is still queued, stops the thread and frees p; NULL is
 * allowed. Records written but not collected are dropped from memory
 * (their files are on disk): collect first.
 */
void parker_stop(struct parker *p);

#endif
