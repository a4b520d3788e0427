/*
 * signature - HMAC-SHA256 signatures of delivery bodies, hex or base64
 * (signature.h), and their constant-time check.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "domain/signature.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/log.h"

enum { MAC_LEN = 32, HEX_LEN = 2 * MAC_LEN, BASE64_LEN = 44 };

static EVP_MAC *hmac;            /* fetched once, not per signature (about a tenth of its cost) */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/*
 * HMAC-SHA256 under secret of the n pieces parts[i] (lens[i] bytes each)
 * into mac; returns 0 or -1.
 */
static int
signature_mac(const char *secret, const void *const *parts, const size_t *lens, size_t n,
              unsigned char mac[MAC_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                            OSSL_PARAM_construct_end() };
    size_t out_len = 0;

    if (secret == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (parts[i] == NULL && lens[i] > 0)
            return -1;
    EVP_MAC_CTX *ctx = pthread_once(&hmac_once, hmac_fetch) == 0 && hmac != NULL
                           ? EVP_MAC_CTX_new(hmac) : NULL;
    int ok = ctx != NULL &&
             EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = lens[i] == 0 || EVP_MAC_update(ctx, parts[i], lens[i]) == 1;
    ok = ok && EVP_MAC_final(ctx, mac, &out_len, MAC_LEN) == 1 && out_len == MAC_LEN;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        log_error("signature_mac: HMAC-SHA256 failed");
    return ok ? 0 : -1;
}

/* HMAC-SHA256 of body under secret into mac; returns 0 or -1. */
static int
signature_mac_body(const char *secret, const void *body, size_t len, unsigned char mac[MAC_LEN])
{
    const void *parts[] = { body };
    const size_t lens[] = { len };

    return signature_mac(secret, parts, lens, 1, mac);
}

int
signature_compute(const char *secret, const void *body, size_t len,
                  enum signature_encoding enc, char out[SIGNATURE_MAX])
{
    unsigned char mac[MAC_LEN];

    out[0] = '\0';
    if (signature_mac_body(secret, body, len, mac) != 0)
        return -1;
    if (enc == SIGNATURE_BASE64)
        EVP_EncodeBlock((unsigned char *)out, mac, MAC_LEN);  /* 44 chars and a NUL */
    else
        hex_encode(mac, MAC_LEN, out);
    wipe(mac, sizeof mac);
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
    if (signature_mac_body(secret, body, len, mac) != 0)
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
    ok = digest_equal(expected, given, plen);
    wipe(mac, sizeof mac);
    wipe(expected, sizeof expected);
    return ok;
}

int
signature_standard(const char *secret, const char *msg_id, long long timestamp,
                   const void *body, size_t len, char out[SIGNATURE_STANDARD_MAX])
{
    unsigned char mac[MAC_LEN];
    char ts[32];

    out[0] = '\0';
    if (secret == NULL || msg_id == NULL || (body == NULL && len > 0))
        return -1;
    /* The signed content is "{msg_id}.{timestamp}.{body}": the dots are in the pieces. */
    int n = snprintf(ts, sizeof ts, ".%lld.", timestamp);
    const void *parts[] = { msg_id, ts, body };
    const size_t lens[] = { strlen(msg_id), (size_t)n, len };
    if (n < 0 || (size_t)n >= sizeof ts || signature_mac(secret, parts, lens, 3, mac) != 0)
        return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, MAC_LEN);   /* 44 chars and a NUL */
    wipe(mac, sizeof mac);
    return 0;
}
