/*
 * jwks - JSON Web Key Sets and HS256 secrets turned into OpenSSL keys
 * (jwks.h).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "domain/jwks.h"
#include "util/base64url.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/xalloc.h"

/* JWK Sets are small; deeper nesting than this is not a key set. */
#define JWKS_MAX_DEPTH 8
/* Field sizes: an RSA modulus of 16384 bits, a P-256 coordinate. */
#define JWKS_MAX_RSA_BYTES 2048
#define JWKS_EC_COORD_BYTES 32

static const struct {
    enum jws_alg alg;
    const char *name;
} alg_names[] = {
    { JWS_RS256, "RS256" },
    { JWS_ES256, "ES256" },
    { JWS_HS256, "HS256" },
};

const char *
jwks_alg_name(enum jws_alg alg)
{
    for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
        if (alg_names[i].alg == alg)
            return alg_names[i].name;
    return "none";
}

enum jws_alg
jwks_alg_from_name(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
        if (strlen(alg_names[i].name) == n && memcmp(alg_names[i].name, name, n) == 0)
            return alg_names[i].alg;
    return JWS_NONE;
}

struct jwks *
jwks_new(void)
{
    return xcalloc(1, sizeof(struct jwks));
}

static void
jwk_clear(struct jwk *k)
{
    free(k->kid);
    EVP_PKEY_free(k->pkey);
    if (k->secret != NULL)
        wipe(k->secret, k->secret_len);
    free(k->secret);
    memset(k, 0, sizeof *k);
}

void
jwks_free(struct jwks *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        jwk_clear(&set->keys[i]);
    free(set->keys);
    free(set);
}

/* Takes ownership of k's contents. */
static void
jwks_push(struct jwks *set, struct jwk *k)
{
    set->keys = xreallocarray(set->keys, set->n + 1, sizeof *set->keys);
    set->keys[set->n++] = *k;
    memset(k, 0, sizeof *k);
}

/* The string member name of obj, its length in *len; NULL if absent or not a string. */
static const char *
member_string(json_object *obj, const char *name, size_t *len)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* True if member name of obj is a string equal to want. */
static bool
member_is(json_object *obj, const char *name, const char *want)
{
    size_t len;
    const char *s = member_string(obj, name, &len);
    return s != NULL && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Decodes base64url member name into out (reset first); -1 if absent, bad or too long. */
static int
member_bytes(json_object *obj, const char *name, size_t max, struct buf *out)
{
    size_t len;
    const char *s = member_string(obj, name, &len);

    buf_reset(out);
    if (s == NULL || len == 0 || base64url_decoded_len(len) > max)
        return -1;
    return base64url_decode(s, len, out);
}

/* Builds a public key of type ("RSA" or "EC") from params; NULL on failure. */
static EVP_PKEY *
pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (pkey == NULL)
        return NULL;
    /* fromdata does not promise to validate: check the key (an EC point on its curve). */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_public_check(ctx) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static const char *
jwk_rsa(json_object *obj, struct jwk *k)
{
    struct buf n, e;
    const char *why = NULL;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;

    buf_init(&n);
    buf_init(&e);
    if (member_bytes(obj, "n", JWKS_MAX_RSA_BYTES, &n) != 0 ||
        member_bytes(obj, "e", 8, &e) != 0) {
        why = "\"n\" or \"e\" is missing or not base64url";
        goto out;
    }
    bn_n = BN_bin2bn((const unsigned char *)n.data, (int)n.len, NULL);
    bn_e = BN_bin2bn((const unsigned char *)e.data, (int)e.len, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn_n == NULL || bn_e == NULL || bld == NULL) {
        why = "out of memory";
        goto out;
    }
    if (BN_num_bits(bn_n) < JWKS_MIN_RSA_BITS) {
        why = "RSA modulus shorter than 2048 bits";
        goto out;
    }
    if (!BN_is_odd(bn_e) || BN_is_one(bn_e)) {
        why = "RSA exponent is not an odd number above 1";
        goto out;
    }
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1 ||
        (k->pkey = pkey_from_params("RSA", bld)) == NULL)
        why = "OpenSSL refused the RSA key";
    else
        k->alg = JWS_RS256;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    buf_release(&n);
    buf_release(&e);
    return why;
}

static const char *
jwk_ec(json_object *obj, struct jwk *k)
{
    struct buf x, y;
    unsigned char point[1 + 2 * JWKS_EC_COORD_BYTES];
    const char *why = NULL;
    OSSL_PARAM_BLD *bld = NULL;

    if (!member_is(obj, "crv", "P-256"))
        return "curve is not P-256";
    buf_init(&x);
    buf_init(&y);
    if (member_bytes(obj, "x", JWKS_EC_COORD_BYTES, &x) != 0 ||
        member_bytes(obj, "y", JWKS_EC_COORD_BYTES, &y) != 0 ||
        x.len != JWKS_EC_COORD_BYTES || y.len != JWKS_EC_COORD_BYTES) {
        why = "\"x\" or \"y\" is not a 32-byte base64url coordinate";
        goto out;
    }
    point[0] = 0x04;            /* uncompressed: 04 || x || y */
    memcpy(point + 1, x.data, JWKS_EC_COORD_BYTES);
    memcpy(point + 1 + JWKS_EC_COORD_BYTES, y.data, JWKS_EC_COORD_BYTES);
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) != 1 ||
        (k->pkey = pkey_from_params("EC", bld)) == NULL)
        why = "OpenSSL refused the EC key (not a point on P-256?)";
    else
        k->alg = JWS_ES256;
out:
    OSSL_PARAM_BLD_free(bld);
    buf_release(&x);
    buf_release(&y);
    return why;
}

static const char *
jwk_oct(json_object *obj, unsigned flags, struct jwk *k)
{
    struct buf secret;
    const char *why = NULL;

    if (!(flags & JWKS_ALLOW_SECRETS))
        return "symmetric keys are only accepted from a local file";
    buf_init(&secret);
    if (member_bytes(obj, "k", 4096, &secret) != 0)
        why = "\"k\" is missing or not base64url";
    else if (secret.len < JWKS_MIN_SECRET_BYTES)
        why = "secret shorter than 32 bytes";
    else {
        k->secret = xmalloc(secret.len);
        memcpy(k->secret, secret.data, secret.len);
        k->secret_len = secret.len;
        k->alg = JWS_HS256;
    }
    wipe(secret.data, secret.len);
    buf_release(&secret);
    return why;
}

/* Turns one JWK into a key; returns NULL and fills k, or the reason it is unusable. */
static const char *
jwk_load(json_object *obj, unsigned flags, struct jwk *k)
{
    size_t len, kid_len = 0;
    const char *kid = NULL, *why;
    json_object *v;

    memset(k, 0, sizeof *k);
    if (!json_object_is_type(obj, json_type_object))
        return "not an object";
    if (json_object_object_get_ex(obj, "use", &v) && !member_is(obj, "use", "sig"))
        return "\"use\" is not \"sig\"";
    if (json_object_object_get_ex(obj, "kid", &v)) {
        kid = member_string(obj, "kid", &kid_len);
        if (kid == NULL || kid_len == 0 || kid_len > 256 || strlen(kid) != kid_len)
            return "\"kid\" is not a non-empty string";
    }
    enum jws_alg want = JWS_NONE;
    if (json_object_object_get_ex(obj, "alg", &v)) {
        const char *alg = member_string(obj, "alg", &len);
        want = alg != NULL ? jwks_alg_from_name(alg, len) : JWS_NONE;
        if (want == JWS_NONE)
            return "\"alg\" is not RS256, ES256 or HS256";
    }
    if (member_is(obj, "kty", "RSA"))
        why = jwk_rsa(obj, k);
    else if (member_is(obj, "kty", "EC"))
        why = jwk_ec(obj, k);
    else if (member_is(obj, "kty", "oct"))
        why = jwk_oct(obj, flags, k);
    else
        why = "\"kty\" is not RSA, EC or oct";
    if (why == NULL && want != JWS_NONE && want != k->alg)
        why = "\"alg\" does not fit the key type";
    if (why != NULL) {
        jwk_clear(k);
        ERR_clear_error();
        return why;
    }
    k->kid = kid != NULL ? xstrndup(kid, kid_len) : NULL;
    return NULL;
}

int
jwks_parse(struct jwks *set, const char *json, size_t len, unsigned flags, char *err,
           size_t errlen)
{
    json_tokener *tok = json_tokener_new_ex(JWKS_MAX_DEPTH);
    json_object *doc, *keys;
    int added = 0;

    if (tok == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (len > (size_t)INT32_MAX) {
        snprintf(err, errlen, "too large");
        json_tokener_free(tok);
        return -1;
    }
    doc = json_tokener_parse_ex(tok, json, (int)len);
    if (doc == NULL || json_tokener_get_parse_end(tok) != len) {
        snprintf(err, errlen, "not valid JSON");
        json_object_put(doc);
        json_tokener_free(tok);
        return -1;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(doc, json_type_object)) {
        snprintf(err, errlen, "not a JSON object");
        json_object_put(doc);
        return -1;
    }

    size_t n;
    bool single = !json_object_object_get_ex(doc, "keys", &keys);
    if (single) {
        if (!json_object_object_get_ex(doc, "kty", NULL)) {
            snprintf(err, errlen, "neither a JWK Set (\"keys\") nor a JWK (\"kty\")");
            json_object_put(doc);
            return -1;
        }
        n = 1;
    } else if (!json_object_is_type(keys, json_type_array)) {
        snprintf(err, errlen, "\"keys\" is not an array");
        json_object_put(doc);
        return -1;
    } else {
        n = json_object_array_length(keys);
    }
    for (size_t i = 0; i < n; i++) {
        struct jwk k;
        json_object *obj = single ? doc : json_object_array_get_idx(keys, i);
        const char *why = jwk_load(obj, flags, &k);
        if (why != NULL) {
            log_debug("jwks_parse: key %zu: skipped: %s", i, why);
            continue;
        }
        jwks_push(set, &k);
        added++;
    }
    json_object_put(doc);
    return added;
}

int
jwks_add_secret(struct jwks *set, const void *secret, size_t n, const char *kid, char *err,
                size_t errlen)
{
    struct jwk k;

    if (n < JWKS_MIN_SECRET_BYTES) {
        snprintf(err, errlen, "an HS256 secret must be at least %d bytes", JWKS_MIN_SECRET_BYTES);
        return -1;
    }
    memset(&k, 0, sizeof k);
    k.kid = xstrdup(kid);
    k.alg = JWS_HS256;
    k.secret = xmalloc(n);
    memcpy(k.secret, secret, n);
    k.secret_len = n;
    jwks_push(set, &k);
    return 0;
}

void
jwks_append(struct jwks *dst, const struct jwks *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const struct jwk *from = &src->keys[i];
        struct jwk k = { .kid = xstrdup(from->kid), .alg = from->alg };
        if (from->pkey != NULL && EVP_PKEY_up_ref(from->pkey) == 1)
            k.pkey = from->pkey;
        if (from->secret != NULL) {
            k.secret = xmalloc(from->secret_len);
            memcpy(k.secret, from->secret, from->secret_len);
            k.secret_len = from->secret_len;
        }
        if (k.pkey == NULL && k.secret == NULL) {
            jwk_clear(&k);
            continue;
        }
        jwks_push(dst, &k);
    }
}

const struct jwk *
jwks_find(const struct jwks *set, const char *kid, size_t kid_len, enum jws_alg alg,
          bool *kid_known)
{
    const struct jwk *found = NULL;
    bool known = false;

    for (size_t i = 0; i < set->n && found == NULL; i++) {
        const struct jwk *k = &set->keys[i];
        if (kid == NULL) {
            if (k->kid != NULL && set->n != 1)
                continue;
        } else if (k->kid == NULL || strlen(k->kid) != kid_len ||
                   memcmp(k->kid, kid, kid_len) != 0) {
            continue;
        }
        known = true;
        if (k->alg == alg)
            found = k;
    }
    if (kid_known != NULL)
        *kid_known = known;
    return found;
}
