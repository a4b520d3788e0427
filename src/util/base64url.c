/*
 * base64url - RFC 4648 section 5 without padding, for JOSE (base64url.h).
 */
#include "autoconfig.h"

#include <stdint.h>

#include "util/base64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of c, or -1 if c is not in the alphabet. */
static int
sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

size_t
base64url_decoded_len(size_t n)
{
    return n / 4 * 3 + (n % 4 * 3) / 4;
}

int
base64url_decode(const char *in, size_t n, struct buf *out)
{
    const unsigned char *p = (const unsigned char *)in;

    /* One leftover character carries only 6 bits: never a whole byte. */
    if (n % 4 == 1)
        return -1;
    buf_reserve(out, base64url_decoded_len(n));
    unsigned char *dst = (unsigned char *)out->data + out->len;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        int a = sextet(p[i]), b = sextet(p[i + 1]), c = sextet(p[i + 2]), d = sextet(p[i + 3]);
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        *dst++ = (unsigned char)(v >> 16);
        *dst++ = (unsigned char)(v >> 8);
        *dst++ = (unsigned char)v;
    }
    size_t rest = n - i;
    if (rest > 0) {
        int a = sextet(p[i]), b = sextet(p[i + 1]);
        int c = rest == 3 ? sextet(p[i + 2]) : 0;
        if ((a | b | c) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        /* Bits past the last whole byte must be zero (canonical form). */
        if ((rest == 2 && (v & 0xffffu) != 0) || (rest == 3 && (v & 0xffu) != 0))
            return -1;
        *dst++ = (unsigned char)(v >> 16);
        if (rest == 3)
            *dst++ = (unsigned char)(v >> 8);
    }
    out->len = (size_t)((char *)dst - out->data);
    out->data[out->len] = '\0';
    return 0;
}

void
base64url_encode(const void *data, size_t n, struct buf *out)
{
    const unsigned char *p = data;
    char quad[4];

    buf_reserve(out, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        quad[0] = alphabet[v >> 18 & 63];
        quad[1] = alphabet[v >> 12 & 63];
        quad[2] = alphabet[v >> 6 & 63];
        quad[3] = alphabet[v & 63];
        buf_append(out, quad, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        quad[0] = alphabet[v >> 18 & 63];
        quad[1] = alphabet[v >> 12 & 63];
        buf_append(out, quad, 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        quad[0] = alphabet[v >> 18 & 63];
        quad[1] = alphabet[v >> 12 & 63];
        quad[2] = alphabet[v >> 6 & 63];
        buf_append(out, quad, 3);
    }
}
