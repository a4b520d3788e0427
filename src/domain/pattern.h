/*
 * pattern - does an event type match a subscription's event pattern?
 *
 * Case-insensitive; '.' and ':' are the same separator; '*' matches any
 * run of characters, separators included, even none; "*" alone matches
 * every event. So "Customer:*" matches "customer.upserted" and
 * "store.*.updated" matches "Store:Product:Updated".
 */
#ifndef HOOKSPOOL_PATTERN_H
#define HOOKSPOOL_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

/* True if event_type matches pattern. */
bool pattern_match(const char *pattern, const char *event_type);

/* True if event_type matches at least one of n patterns. */
bool pattern_match_any(const char *const *patterns, size_t n, const char *event_type);

#endif
