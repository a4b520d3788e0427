/*
 * signature - HMAC-SHA256 signatures of delivery bodies, hex or base64
 * (signature.h), and their constant-time check.
 */
#include "autoconfig.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "domain/signature.h"
#include "util/hex.h"
#include "util/log.h"

enum { MAC_LEN = 32, HEX_LEN = 2 * MAC_LEN, BASE64_LEN = 44 };

/* HMAC-SHA256 of body under secret into mac; returns 0 or -1. */
static int
signature_mac(const char *secret, const void *body, size_t len, unsigned char mac[MAC_LEN])
{
    unsigned int mac_len = 0;
    static const unsigned char empty[1];

    if (secret == NULL || (body == NULL && len > 0))
        return -1;
    /* HMAC() wants a non-NULL data pointer even for an empty body. */
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), body != NULL ? body : empty, len, mac,
             &mac_len) == NULL ||
        mac_len != MAC_LEN) {
        log_error("signature_mac: HMAC-SHA256 failed");
        return -1;
    }
    return 0;
}

int
signature_compute(const char *secret, const void *body, size_t len,
                  enum signature_encoding enc, char out[SIGNATURE_MAX])
{
    unsigned char mac[MAC_LEN];

    out[0] = '\0';
    if (signature_mac(secret, body, len, mac) != 0)
        return -1;
    if (enc == SIGNATURE_BASE64)
        EVP_EncodeBlock((unsigned char *)out, mac, MAC_LEN);  /* 44 chars and a NUL */
    else
        hex_encode(mac, MAC_LEN, out);
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

bool
signature_verify(const char *secret, const void *body, size_t len, const char *presented)
{
    unsigned char mac[MAC_LEN];
    char expected[SIGNATURE_MAX], given[SIGNATURE_MAX];
    size_t plen;
    bool ok = false;

    if (presented == NULL)
        return false;
    plen = strlen(presented);
    /* The lengths tell the encodings apart and are not secret. */
    if (plen != HEX_LEN && plen != BASE64_LEN)
        return false;
    if (signature_mac(secret, body, len, mac) != 0)
        return false;
    if (plen == HEX_LEN) {
        hex_encode(mac, MAC_LEN, expected);
        for (size_t i = 0; i < HEX_LEN; i++) {
            char c = presented[i];
            given[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
        }
    } else {
        EVP_EncodeBlock((unsigned char *)expected, mac, MAC_LEN);
        memcpy(given, presented, BASE64_LEN);
    }
    ok = CRYPTO_memcmp(expected, given, plen) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(expected, sizeof expected);
    return ok;
}
