/*
 * conffile - reads "key = value" files with "#" comments.
 *
 * Knows nothing about which keys exist: each pair is handed to a callback.
 * Errors are reported as "FILE:LINE: message".
 */
#ifndef HOOKSPOOL_CONFFILE_H
#define HOOKSPOOL_CONFFILE_H

#include <stddef.h>

/*
 * Called for each pair, key and value trimmed of blanks. Returns 0, or -1
 * after writing a reason into err (errlen bytes).
 */
typedef int (*conffile_pair_fn)(void *ctx, const char *key, const char *value,
                                char *err, size_t errlen);

/*
 * Parses path, calling fn for every pair in order. Returns 0, or -1 with
 * "path:line: reason" (or "path: reason") in err.
 */
int conffile_parse(const char *path, conffile_pair_fn fn, void *ctx, char *err, size_t errlen);

#endif
