/*
 * base64url - the URL-safe base64 alphabet of RFC 4648 section 5, without
 * padding, as JOSE (JWS, JWK) uses it.
 *
 * Decoding is strict: only A-Z a-z 0-9 - _ are accepted, no '=' padding,
 * no whitespace, and the unused low bits of the last character must be
 * zero, so every byte string has exactly one accepted encoding.
 */
#ifndef HOOKSPOOL_BASE64URL_H
#define HOOKSPOOL_BASE64URL_H

#include <stddef.h>

#include "util/buf.h"

/* Bytes that n characters of base64url decode to (an upper bound if n is invalid). */
size_t base64url_decoded_len(size_t n);

/*
 * Decodes the n characters at in, appending the bytes to out. Returns 0,
 * or -1 if the text is not canonical unpadded base64url (out then holds
 * an unspecified prefix).
 */
int base64url_decode(const char *in, size_t n, struct buf *out);

/* Appends the unpadded base64url encoding of n bytes to out. */
void base64url_encode(const void *data, size_t n, struct buf *out);

#endif
