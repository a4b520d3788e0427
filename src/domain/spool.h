/*
 * spool - the Maildir-style spool directory of SPEC section 3.
 *
 * Directories are states: producers write tmp/ then rename into new/;
 * the sender claims new/ -> active/ by rename (ENOENT: another sender got
 * it), and finishes in deferred/ (retry later), failed/ (dead letter, with
 * NAME.reason beside it) or removes the file when done.
 */
#ifndef HOOKSPOOL_SPOOL_H
#define HOOKSPOOL_SPOOL_H

#include <stddef.h>

/* Creates spool_dir and its subdirectories if missing; returns 0 or -1 (errno). */
int spool_init(const char *spool_dir);

/*
 * Publishes data as a new event file: a unique name in tmp/, fsync,
 * rename into new/, fsync new/. Writes the file name into name_out
 * (cap bytes). Returns 0 or -1 (errno).
 */
int spool_publish(const char *spool_dir, const void *data, size_t len, char *name_out,
                  size_t cap);

#endif
