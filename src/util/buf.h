/*
 * buf - a growable byte buffer, always NUL-terminated for convenience.
 */
#ifndef HOOKSPOOL_BUF_H
#define HOOKSPOOL_BUF_H

#include <stddef.h>

struct buf {
    char *data;   /* len bytes, then a NUL; never NULL after buf_init */
    size_t len;
    size_t cap;
};

/* Initialises an empty buffer. */
void buf_init(struct buf *b);
/* Releases the storage; the buffer may be initialised again. */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Makes room for at least n more bytes. */
void buf_reserve(struct buf *b, size_t n);
/* Appends n bytes. */
void buf_append(struct buf *b, const void *data, size_t n);
/* Appends a NUL-terminated string. */
void buf_puts(struct buf *b, const char *s);
/* Appends formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the storage to the caller (free(3) it) and empties the buffer. */
char *buf_detach(struct buf *b);

#endif
