/*
 * unlinker - removes finished spool files on a background thread.
 *
 * On a file system mounted with "discard", unlink(2) of a file with data
 * blocks waits for the device to trim them, which would stall the sender's
 * single event loop once per delivered event. Removal is the last step of
 * a delivery and its timing does not matter (a file not yet removed when
 * the sender dies is put back and delivered again: at least once), so it
 * is handed to a thread.
 */
#ifndef HOOKSPOOL_UNLINKER_H
#define HOOKSPOOL_UNLINKER_H

struct unlinker;

/* Starts the thread; NULL if it could not (callers then unlink themselves). */
struct unlinker *unlinker_start(void);

/*
 * Queues path for removal, taking ownership of it (a malloc'd string) and
 * of fd (closed once the file is gone, so that the claim's lock outlives
 * the file; -1 for none).
 */
void unlinker_add(struct unlinker *u, char *path, int fd);

/* Removes everything queued, stops the thread and frees u; NULL is allowed. */
void unlinker_stop(struct unlinker *u);

#endif
