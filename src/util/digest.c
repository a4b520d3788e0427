/*
 * digest - SHA-256 and the wiping of secrets (digest.h).
 */
#include "autoconfig.h"

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/digest.h"
#include "util/hex.h"

void
digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
    /* Fetched once: EVP_sha256() looks the implementation up again on every call. */
    static EVP_MD *sha256;
    unsigned int out_len = DIGEST_SHA256_LEN;

    if (sha256 == NULL)
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    /* These fail only when libcrypto cannot allocate. */
    if (sha256 == NULL || EVP_Digest(data, len, out, &out_len, sha256, NULL) != 1)
        abort();
}

void
digest_sha256_hex(const void *data, size_t len, size_t nbytes, char *out)
{
    unsigned char md[DIGEST_SHA256_LEN];

    digest_sha256(data, len, md);
    hex_encode(md, nbytes < sizeof md ? nbytes : sizeof md, out);
}

bool
digest_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void
wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}
