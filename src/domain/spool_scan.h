/*
 * spool_scan - what the spool holds, state by state, for the metrics file
 * and `hookspool queue`: the number of files in each state and when the
 * oldest of them entered it. Read-only; files that vanish while they are
 * being listed are skipped.
 *
 * States: new/ and active/ as they are; deferred/ split into retry records
 * ("deferred", named dlv-...) and event files parked there as they are
 * ("parked"); failed/ without the .reason files. Names starting with "."
 * (the sender's temporary and finished files) are not counted.
 */
#ifndef HOOKSPOOL_SPOOL_SCAN_H
#define HOOKSPOOL_SPOOL_SCAN_H

#include <stddef.h>

enum spool_scan_state { SCAN_NEW, SCAN_ACTIVE, SCAN_DEFERRED, SCAN_PARKED, SCAN_FAILED,
                        SCAN_STATES };

struct spool_scan {
    size_t files[SCAN_STATES];
    /*
     * When the oldest file entered its state (Unix ms; 0: none): for new/
     * its modification time (the producer's write), elsewhere its change
     * time (the rename or retime that put it there).
     */
    long long oldest_ms[SCAN_STATES];
};

/* Called for every counted file, with the directory's descriptor (for openat). */
typedef void (*spool_scan_fn)(void *ctx, int dir_fd, const char *name,
                              enum spool_scan_state state, long long since_ms);

/* "new", "active", "deferred", "parked", "failed". */
const char *spool_scan_state_name(enum spool_scan_state s);

/*
 * Scans spool_dir into *out, calling each (if not NULL) for every file.
 * Returns 0, or -1 (errno) if a state directory could not be read (a
 * missing one counts as empty).
 */
int spool_scan(const char *spool_dir, struct spool_scan *out, spool_scan_fn each, void *ctx);

#endif
