/*
 * random - unpredictable identifiers from OpenSSL's CSPRNG.
 */
#ifndef HOOKSPOOL_RANDOM_H
#define HOOKSPOOL_RANDOM_H

#include <stddef.h>

/* The 62 characters [A-Za-z0-9] that random_alnum draws from. */
extern const char random_alnum_alphabet[];

/*
 * Fills out[0..len-1] with characters drawn uniformly from
 * random_alnum_alphabet (rejection sampling, no modulo bias) and
 * NUL-terminates it, so out must hold len + 1 bytes.
 * Returns 0, or -1 if the CSPRNG failed (out is then cleared).
 */
int random_alnum(char *out, size_t len);

#endif
