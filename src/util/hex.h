/*
 * hex - lowercase hexadecimal for digests and percent-escapes.
 */
#ifndef HOOKSPOOL_HEX_H
#define HOOKSPOOL_HEX_H

#include <stddef.h>

/* Writes n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* Decodes exactly 2n hex digits (either case) into out; returns 0 or -1. */
int hex_decode(const char *in, unsigned char *out, size_t n);
/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);

#endif
