/*
 * claimer - claims event files from new/ and due retry records from
 * deferred/ into active/ (by rename) and reads them, on a thread of its own, so that the sender's event loop spends its
 * time on transfers. The files it has read wait in a short queue (a claimed
 * file is in active/, so a crash leaves nothing unaccounted for); the loop
 * takes them with claimer_pop.
 *
 * new/ is listed again as soon as a listing that yielded files is used up;
 * after one that did not, on a hint (inotify) or when rescan_ms have
 * passed; deferred/ every release_ms, for the records whose time has come
 * (their mtime). Which kind a file is comes from where it was claimed
 * from, never from its contents. A file over the size limit is
 * dead-lettered here; one that cannot be read goes back.
 */
#ifndef HOOKSPOOL_CLAIMER_H
#define HOOKSPOOL_CLAIMER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * A claimed file: its name in active/, the descriptor that holds its lock
 * (see spool_claim; keep it open until the file has left active/), whether
 * it is a retry record (claimed from deferred/) or an event file (from
 * new/), and its contents.
 */
struct claimed {
    char *name;
    int fd;
    bool is_record;
    struct buf data;
};

struct claimer;

/*
 * Starts the thread; max_bytes is max_event_bytes; release_ms 0 looks for
 * due records at the first listing only (--once). NULL if it could not
 * start (logged).
 */
struct claimer *claimer_start(const char *spool_dir, size_t max_bytes, int rescan_ms,
                              int release_ms);

/* The descriptor that becomes readable when claimed files are waiting. */
int claimer_fd(const struct claimer *c);

/* Takes the oldest claimed file into *out (caller releases it); false if none. */
bool claimer_pop(struct claimer *c, struct claimed *out);

/* Tells the claimer that new/ may hold new files. */
void claimer_hint(struct claimer *c);

/* True if nothing is waiting and a listing made after the last hint found nothing to claim. */
bool claimer_drained(struct claimer *c);

/* Sets the size limit (after SIGHUP). */
void claimer_set_max_bytes(struct claimer *c, size_t max_bytes);

/* Stops the thread and gives back every claimed file still waiting (spool_unclaim); NULL is allowed. */
void claimer_stop(struct claimer *c);

/* Releases a claimed file's memory and closes its descriptor (if not taken: -1). */
void claimed_release(struct claimed *f);

#endif
