/*
 * digest - SHA-256, the constant-time compare and the wiping of secrets,
 * so that no other module needs OpenSSL's headers for these.
 */
#ifndef HOOKSPOOL_DIGEST_H
#define HOOKSPOOL_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_SHA256_LEN 32

/* SHA-256 of len bytes at data into out. Aborts if libcrypto cannot allocate, like xmalloc. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/*
 * The first nbytes (at most DIGEST_SHA256_LEN) of SHA-256 of data, as
 * 2 * nbytes lowercase hex digits and a NUL, into out.
 */
void digest_sha256_hex(const void *data, size_t len, size_t nbytes, char *out);
/* Whether n bytes at a and b are equal, in a time that does not depend on where they differ. */
bool digest_equal(const void *a, const void *b, size_t n);
/* Overwrites n bytes at p with zeros in a way the compiler cannot drop: for secrets. */
void wipe(void *p, size_t n);

#endif
