/*
 * metrics - the sender's Prometheus text-format file (metrics_file, by
 * default spool_dir/metrics.prom), for node_exporter's textfile collector
 * (SPEC section 4.1; each metric is described in docs/sender.md).
 *
 * The event loop takes a snapshot of what it counts (deliveries, attempts,
 * destinations, webhooks) every METRICS_MS and hands it over as text; a
 * thread of its own adds what the spool holds and whether the store
 * refuses writes for lack of space (listing large directories never stalls
 * the loop) and replaces the file atomically: written to NAME.tmp beside
 * it, then renamed over it.
 */
#ifndef HOOKSPOOL_METRICS_H
#define HOOKSPOOL_METRICS_H

#include "domain/config.h"

/* How often the loop hands over a snapshot; the file is rewritten after each. */
#define METRICS_MS 5000

struct metrics;

/* Starts the writer for cfg's metrics_file; NULL (logged) if it cannot. */
struct metrics *metrics_start(const struct config *cfg);

/* Hands over the loop's part (text, which becomes the writer's); a newer one replaces it. */
void metrics_submit(struct metrics *m, char *text);

/* Writes what was last handed over, then stops the thread; NULL is allowed. */
void metrics_stop(struct metrics *m);

/* The metrics_file of cfg (newly allocated). */
char *metrics_path(const struct config *cfg);

#endif
