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

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Creates spool_dir and its subdirectories if missing; returns 0 or -1 (errno). */
int spool_init(const char *spool_dir);

/*
 * Publishes data as a new event file: a unique name in tmp/, fsync,
 * rename into new/, fsync new/. Writes the file name into name_out
 * (cap bytes). Returns 0 or -1 (errno).
 */
int spool_publish(const char *spool_dir, const void *data, size_t len, char *name_out,
                  size_t cap);

/*
 * Added for the sender and the CLI. Every name below is a bare file name
 * (no '/'), as returned by spool_publish or spool_list; a name that is not
 * (empty, '/', leading '.') is refused with EINVAL. Each move is one
 * rename(2) followed by an fsync of the directory it lands in.
 */

/* The directories of the spool, each a state of a file. */
enum spool_state { SPOOL_TMP, SPOOL_NEW, SPOOL_ACTIVE, SPOOL_DEFERRED, SPOOL_FAILED };

/* The directory name of a state: "tmp", "new", "active", "deferred", "failed". */
const char *spool_state_dir(enum spool_state state);

/* Returns spool_dir/STATE/name, newly allocated (caller frees). */
char *spool_path(const char *spool_dir, enum spool_state state, const char *name);

/*
 * Lists the files in one state directory, sorted by name (oldest first for
 * spool_publish's names), skipping dot files and failed/'s *.reason files.
 * On 0, *names_out is an array of *n_out strings: free it with
 * spool_names_free. Returns -1 (errno) if the directory cannot be read.
 */
int spool_list(const char *spool_dir, enum spool_state state, char ***names_out,
               size_t *n_out);

/* Frees what spool_list returned; accepts NULL. */
void spool_names_free(char **names, size_t n);

/*
 * A sender holds a lock (flock) on every file it has claimed for as long as
 * the file is in active/, through a descriptor opened before the claim. So
 * several senders can share a spool: a file in active/ whose lock can be
 * taken belongs to no live sender (its sender died) and is put back.
 */

/*
 * Claims new/name for this process: opens it, locks it, renames it into
 * active/ (no directory fsync: a claim lost in a crash leaves the file in
 * new/, to be claimed again). Returns 0 when claimed, with *fd the locked
 * descriptor to read the file through and to close only once the file has
 * left active/ (fd NULL: closed at once, for tests); 1 when the file is
 * gone or another sender holds it (not an error); -1 on any other failure
 * (errno).
 */
int spool_claim(const char *spool_dir, const char *name, int *fd);

/* Files a sender renamed in active/ to remove them (finished; not spool state). */
#define SPOOL_DONE_PREFIX ".done."

/*
 * Moves from/name to to/name. Returns 0, 1 if from/name does not exist,
 * or -1 (errno).
 */
int spool_move(const char *spool_dir, const char *name, enum spool_state from,
               enum spool_state to);

/*
 * Moves active/name to deferred/name and sets its modification time to
 * not_before, the time of its next attempt (see spool_release_due).
 * Returns 0, 1 if active/name is gone, or -1 (errno).
 */
int spool_defer(const char *spool_dir, const char *name, time_t not_before);

/*
 * Moves every deferred/ file whose modification time is at or before now
 * back into new/; *moved (may be NULL) counts them. Returns 0, or -1
 * (errno) if any due file could not be moved (the others still are).
 */
int spool_release_due(const char *spool_dir, time_t now, size_t *moved);

/*
 * Dead-letters active/name: writes reason (one line; a trailing newline is
 * added) durably to failed/name.reason, then moves the file to failed/name.
 * Returns 0, 1 if active/name is gone, or -1 (errno).
 */
int spool_fail(const char *spool_dir, const char *name, const char *reason);

/*
 * Puts one dead letter back into the queue: failed/name -> new/name, then
 * removes failed/name.reason. Returns 0, 1 if failed/name is gone, or -1.
 */
int spool_requeue(const char *spool_dir, const char *name);

/*
 * Puts every dead letter back into the queue: failed/NAME -> new/NAME and
 * removes failed/NAME.reason; *moved (may be NULL) counts them. Returns 0,
 * or -1 (errno) if any file could not be moved (the others still are).
 */
int spool_requeue_failed(const char *spool_dir, size_t *moved);

/*
 * Recovery for a sender, at start-up and from time to time: puts every
 * active/ file that no live sender holds (what a killed sender had
 * claimed) back into new/, and removes the SPOOL_DONE_PREFIX files no live
 * sender holds. Files other senders hold are left alone. On a file system
 * that cannot lock files, files are put back only at_start (which is then
 * safe only for a single sender). *moved (may be NULL) counts the files
 * put back. Returns 0, or -1 (errno) if active/ cannot be read or a file
 * could not be moved (the others still are).
 */
int spool_recover_active(const char *spool_dir, bool at_start, size_t *moved);

/* Removes state/name once it is finished with. Returns 0, 1 if gone, or -1 (errno). */
int spool_remove(const char *spool_dir, enum spool_state state, const char *name);

#endif
