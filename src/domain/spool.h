/*
 * spool - the Maildir-style spool directory of SPEC section 3.
 *
 * Directories are states: producers write tmp/ then rename into new/;
 * the sender claims new/ -> active/ by rename (ENOENT: another sender got
 * it), and finishes in deferred/ (retry later), failed/ (dead letter, with
 * NAME.reason beside it) or removes the file when done.
 *
 * Trust boundary (SPEC section 3): tmp/ and new/ are the producers'; every
 * other directory is the sender's alone (spool_secure). Nothing is opened
 * through a symbolic link, no name with '/' or a leading '.' is accepted
 * from a caller, and the sender's own files are written in its own
 * directories, never in tmp/.
 */
#ifndef HOOKSPOOL_SPOOL_H
#define HOOKSPOOL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Creates spool_dir and its state subdirectories where missing (mkdir -p); returns 0 or -1 (errno). */
int spool_create_dirs(const char *spool_dir);

/*
 * The sender's check of the directories' modes, at start: active/,
 * deferred/ and failed/ get the sender's group (its effective gid) and mode
 * 2770 at most; tmp/ and new/ keep their group (the producers') and lose
 * any access for others; spool_dir loses write access for others. What it
 * cannot change is logged. Returns 0, or -1 if a sender directory stays
 * open to others (errno EPERM).
 */
int spool_secure(const char *spool_dir);

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
 * Names of the form "dlv-" and 32 lowercase hex digits are reserved for the
 * sender's retry records. A record is only ever written by the sender into
 * directories producers cannot write (deferred/, failed/, via a temporary
 * dot file in the same directory) and is claimed from deferred/; nothing
 * found in tmp/ or new/ is ever taken as a record, whatever its name or
 * contents: a producer's file named like a record is claimed into active/
 * as NAME.event (spool_active_name), an ordinary event file.
 */
#define SPOOL_RECORD_PREFIX "dlv-"
enum { SPOOL_RECORD_ID_LEN = 32 };

/* True if name is a record's name: SPOOL_RECORD_PREFIX and 32 lowercase hex digits. */
bool spool_record_name(const char *name);

/* The name new/name takes in active/ when claimed (newly allocated; caller frees). */
char *spool_active_name(const char *name);

/*
 * The name of failed/'s reason file for a dead letter: name + ".reason", or,
 * if that would exceed 255 bytes, the first 231 bytes of name, "~", 16 hex
 * digits of SHA-256(name) and ".reason", so every dead letter has one.
 */
enum { SPOOL_REASON_NAME_MAX = 255 };
void spool_reason_name(const char *name, char out[SPOOL_REASON_NAME_MAX + 1]);

/*
 * Claims new/name for this process: opens it (never through a symbolic
 * link), locks it, renames it into active/ under spool_active_name(name)
 * (no directory fsync: a claim lost in a crash leaves the file in new/, to
 * be claimed again). Returns 0 when claimed, with *fd the locked
 * descriptor to read the file through and to close only once the file has
 * left active/ (fd NULL: closed at once, for tests); 1 when the file is
 * gone or another sender holds it (not an error); -1 on any other failure
 * (errno).
 */
int spool_claim(const char *spool_dir, const char *name, int *fd);

/*
 * Claims deferred/name (a record, or an event file the sender parked:
 * spool_record_name tells which) into active/name if its time (mtime) is
 * at or before now, as spool_claim does; 1 also when it is not due (it was
 * written again since it was listed). EINVAL if name is not a valid name.
 */
int spool_claim_due(const char *spool_dir, const char *name, time_t now, int *fd);

/*
 * Lists the files in deferred/ (records and parked event files) due at
 * now (mtime at or before it), as spool_list does (free with
 * spool_names_free). Returns 0 or -1 (errno).
 */
int spool_list_due(const char *spool_dir, time_t now, char ***names_out, size_t *n_out);

/*
 * As spool_list_due, and *next_due is the earliest mtime of the files not
 * yet due (0 if any file is listed as due, (time_t)-1 if deferred/ holds
 * nothing else): before then, only a new file in deferred/ can be due.
 */
int spool_list_due_next(const char *spool_dir, time_t now, char ***names_out, size_t *n_out,
                        time_t *next_due);

/*
 * Writes a record durably as deferred/name with not_before (0: now) as its
 * mtime, the time of its next attempt, replacing any record of that name.
 * Returns 0 or -1 (errno); EINVAL if name is not a record's.
 */
int spool_store_deferred(const char *spool_dir, const char *name, const void *data, size_t len,
                         time_t not_before);

/*
 * Parks a claimed file as it is: active/name goes to deferred/name with
 * its mtime set to due (through fd, the claim's descriptor), so that it is
 * claimed again from then on. A record stays a record; an event file stays
 * an event file under the same name (so an id derived from the name stays
 * the same). No fsync: a rename lost in a crash leaves the file in active/,
 * which recovery gives back. Returns 0 or -1 (errno, logged).
 */
int spool_park(const char *spool_dir, const char *name, int fd, time_t due);

/* One record for spool_store_deferred_many: what to write, then how it went. */
struct spool_own_file {
    const char *name;
    const void *data;
    size_t len;
    time_t not_before;          /* as for spool_store_deferred */
    int rc;                     /* set: 0 written durably, -1 not (logged) */
};

/*
 * Writes n records as spool_store_deferred does each, with the cost of
 * durability shared: every file is written and its write-back started
 * before the first fsync, so that one journal commit covers most of them,
 * and deferred/ is fsynced once for all. Sets each rc; returns 0 if every
 * record was written, else -1.
 */
int spool_store_deferred_many(const char *spool_dir, struct spool_own_file *files, size_t n);

/*
 * Dead-letters a record: writes reason (one line) as its reason file, then
 * the record as failed/name, both durably. Returns 0 or -1 (errno).
 */
int spool_store_failed(const char *spool_dir, const char *name, const void *data, size_t len,
                       const char *reason);

/*
 * Gives back a claimed file that was not worked on: a record to deferred/
 * (due at once; a newer record already there wins and this one is
 * removed), any other file to new/. Returns 0, 1 if active/name is gone
 * (or was superseded), or -1 (errno).
 */
int spool_unclaim(const char *spool_dir, const char *name);

/* Files a sender renamed in active/ to remove them (finished; not spool state). */
#define SPOOL_DONE_PREFIX ".done."

/*
 * Moves from/name to to/name. Returns 0, 1 if from/name does not exist,
 * or -1 (errno).
 */
int spool_move(const char *spool_dir, const char *name, enum spool_state from,
               enum spool_state to);

/*
 * Dead-letters active/name: writes reason (one line; a trailing newline is
 * added) durably as its reason file (spool_reason_name), then moves the
 * file to failed/name.
 * Returns 0, 1 if active/name is gone, or -1 (errno).
 */
int spool_fail(const char *spool_dir, const char *name, const char *reason);

/*
 * Puts one dead letter back into the queue: failed/name -> new/name (a
 * record: -> deferred/name, due at once), then removes its reason file.
 * Returns 0, 1 if failed/name is gone, or -1.
 */
int spool_requeue(const char *spool_dir, const char *name);

/*
 * Puts every dead letter back into the queue as spool_requeue does; *moved (may be NULL) counts them. Returns 0,
 * or -1 (errno) if any file could not be moved (the others still are).
 */
int spool_requeue_failed(const char *spool_dir, size_t *moved);

/*
 * Recovery for a sender, at start-up and from time to time: gives every
 * active/ file that no live sender holds (what a killed sender had
 * claimed) back as spool_unclaim does, and removes the SPOOL_DONE_PREFIX files no live
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
