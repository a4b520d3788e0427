/*
 * log - one place where every program reports what happened.
 *
 * Messages go to syslog, or to stderr when the program runs in the
 * foreground, a terminal or a test. Lines read "function: object: what
 * failed: reason". Every message is one line: control characters in it
 * (from a file name, a receiver's error text) are written escaped as \n,
 * \r, \t or \xHH, and a backslash as \x5c, so a producer cannot forge or
 * split a line. Callers must never pass secrets (signature secrets, API
 * keys, tokens) to these functions.
 */
#ifndef HOOKSPOOL_LOG_H
#define HOOKSPOOL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Starts logging as program "ident", to stderr if to_stderr else to syslog. */
void log_open(const char *ident, bool to_stderr);
/* Starts logging as program "ident" to both stderr and syslog. */
void log_open_both(const char *ident);
/* Sets the most verbose level written; default LOG_LVL_INFO. */
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *level);

/*
 * Copies in to out (cap bytes, NUL-terminated) with control characters and
 * backslashes escaped as the log writes them; an escape that does not fit
 * is dropped whole. Returns the length written.
 */
size_t log_escape(const char *in, char *out, size_t cap);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
