/*
 * xalloc - allocation that cannot return NULL.
 *
 * Every function aborts the process with a message on exhaustion, so callers
 * never test the result. Memory is released with free(3).
 */
#ifndef HOOKSPOOL_XALLOC_H
#define HOOKSPOOL_XALLOC_H

#include <stddef.h>

/* malloc(3) that never returns NULL. */
void *xmalloc(size_t size);
/* calloc(3) that never returns NULL; checks nmemb * size for overflow. */
void *xcalloc(size_t nmemb, size_t size);
/* realloc(3) that never returns NULL. */
void *xrealloc(void *ptr, size_t size);
/* realloc for an array, checking nmemb * size for overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* strdup(3) that never returns NULL; NULL in gives NULL out. */
char *xstrdup(const char *s);
/* strndup(3) that never returns NULL. */
char *xstrndup(const char *s, size_t n);
/* asprintf(3) that never fails; returns the new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
