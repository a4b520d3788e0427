/*
 * libFuzzer target for the bearer-token parser (domain/jwt): decoding,
 * signature checking with a fixed key set, and the claim checks.
 *
 * An input whose first byte is even is a raw token. Otherwise the rest is
 * "header JSON \n payload JSON": the harness base64url-encodes both and
 * signs them with the HS256 test secret, so the fuzzer can mutate the JSON
 * directly and still reach the claim checks behind a valid signature.
 * Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "domain/auth.h"
#include "domain/jwks.h"
#include "domain/jwt.h"
#include "util/base64url.h"
#include "util/buf.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzzing-secret-of-at-least-32-bytes!";

/* The P-256 public key of RFC 7515 appendix A.3; the HS256 secret is added as "hs1". */
static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec1\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

static struct jwks *
keys(void)
{
    static struct jwks *set;
    char err[128];

    if (set == NULL) {
        log_set_level(LOG_LVL_ERROR);
        set = jwks_new();
        if (jwks_parse(set, jwks_text, strlen(jwks_text), 0, err, sizeof err) != 1)
            abort();
        if (jwks_add_secret(set, secret, strlen(secret), "hs1", err, sizeof err) != 0)
            abort();
    }
    return set;
}

/* Builds a signed HS256 token from "header \n payload". */
static void
structured(const uint8_t *data, size_t size, struct buf *tok)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t header_len = nl != NULL ? (size_t)(nl - data) : size;
    const uint8_t *payload = nl != NULL ? nl + 1 : data + size;
    size_t payload_len = size - (size_t)(payload - data);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    base64url_encode(data, header_len, tok);
    buf_puts(tok, ".");
    base64url_encode(payload, payload_len, tok);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tok->data,
             tok->len, mac, &mac_len) == NULL)
        abort();
    buf_puts(tok, ".");
    base64url_encode(mac, mac_len, tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct jwt_policy policy = { "https://idp.test/", "hookspool", "tenants", 60 };
    struct buf tok;
    const char *why = NULL;

    if (size == 0)
        return 0;
    buf_init(&tok);
    if (data[0] % 2 == 0)
        buf_append(&tok, data + 1, size - 1);
    else
        structured(data + 1, size - 1, &tok);

    struct jwt *t = jwt_decode(tok.data, tok.len, &why);
    if (t == NULL) {
        if (why == NULL || why[0] == '\0')
            abort();            /* every refusal must say why */
    } else {
        bool known;
        const struct jwk *k = jwks_find(keys(), t->kid, t->kid_len, t->alg, &known);
        if (k != NULL)
            (void)jwt_verify_signature(t, k, &why);
        struct principal who;
        if (jwt_check_claims(t, &policy, 1800000000, &who, &why) == 0) {
            for (size_t i = 0; i < who.n_tenants; i++) {
                if (who.tenants[i] == NULL || who.tenants[i][0] == '\0')
                    abort();
                free(who.tenants[i]);
            }
            free(who.tenants);
        } else if (who.n_tenants != 0 || who.tenants != NULL) {
            abort();            /* a refused token grants nothing */
        }
    }
    jwt_free(t);
    buf_release(&tok);
    return 0;
}
