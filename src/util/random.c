/*
 * random - identifiers and secrets from OpenSSL's CSPRNG (random.h).
 */
#include "autoconfig.h"

#include <string.h>

#include <openssl/rand.h>

#include "util/random.h"

const char random_alnum_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

enum { ALPHABET_SIZE = 62, ACCEPT_BELOW = 248 /* 4 * 62: largest multiple <= 256 */ };

int
random_alnum(char *out, size_t len)
{
    unsigned char pool[64];
    size_t filled = 0;

    while (filled < len) {
        if (RAND_bytes(pool, sizeof pool) != 1) {
            memset(out, 0, len + 1);
            return -1;
        }
        for (size_t i = 0; i < sizeof pool && filled < len; i++) {
            /* Bytes >= 248 would favour the first 8 characters: drop them. */
            if (pool[i] < ACCEPT_BELOW)
                out[filled++] = random_alnum_alphabet[pool[i] % ALPHABET_SIZE];
        }
    }
    out[len] = '\0';
    return 0;
}
