/*
 * jwt - JSON Web Tokens (jwt.h): parse, verify the signature, check the
 * claims.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "domain/auth.h"
#include "domain/jwt.h"
#include "domain/scope.h"
#include "domain/webhook.h"
#include "util/base64url.h"
#include "util/digest.h"
#include "util/log.h"
#include "util/xalloc.h"

/* A token's header and claims are flat; anything deeper is refused. */
#define JWT_MAX_DEPTH 8
#define JWT_MAX_KID 256
/* ES256 signatures are r || s, 32 bytes each (RFC 7518 section 3.4). */
#define ES256_HALF 32
#define HS256_LEN 32

/* Parses exactly len bytes as one JSON object; NULL if they are anything else. */
static json_object *
parse_object(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(JWT_MAX_DEPTH);
    json_object *obj;

    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (obj != NULL && (json_tokener_get_parse_end(tok) != len ||
                        !json_object_is_type(obj, json_type_object))) {
        json_object_put(obj);
        obj = NULL;
    }
    json_tokener_free(tok);
    return obj;
}

/* Decodes one base64url part and parses it as a JSON object. */
static json_object *
decode_object(const char *part, size_t len)
{
    struct buf raw;
    json_object *obj = NULL;

    buf_init(&raw);
    if (base64url_decode(part, len, &raw) == 0)
        obj = parse_object(raw.data, raw.len);
    buf_release(&raw);
    return obj;
}

/* True if the len bytes at s are only base64url characters and dots. */
static bool
token_charset(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Reads the header's alg, crit and kid into t. Returns 0, or -1 with *why. */
static int
read_header(struct jwt *t, const char **why)
{
    json_object *v;

    if (!json_object_object_get_ex(t->header, "alg", &v) ||
        !json_object_is_type(v, json_type_string)) {
        *why = "The token header has no algorithm.";
        return -1;
    }
    const char *alg = json_object_get_string(v);
    size_t alg_len = (size_t)json_object_get_string_len(v);
    if (alg_len == 4 && strncasecmp(alg, "none", 4) == 0) {
        *why = "Unsigned tokens (alg none) are not accepted.";
        return -1;
    }
    t->alg = jwks_alg_from_name(alg, alg_len);
    if (t->alg == JWS_NONE) {
        *why = "The token algorithm is not supported (RS256, ES256 and HS256 are).";
        return -1;
    }
    if (json_object_object_get_ex(t->header, "crit", NULL)) {
        /* RFC 7515 4.1.11: a critical extension we do not implement makes the token invalid. */
        *why = "The token names critical header parameters this server does not understand.";
        return -1;
    }
    if (json_object_object_get_ex(t->header, "kid", &v)) {
        if (!json_object_is_type(v, json_type_string)) {
            *why = "The token key id (kid) is not a string.";
            return -1;
        }
        t->kid = json_object_get_string(v);
        t->kid_len = (size_t)json_object_get_string_len(v);
        if (t->kid_len == 0 || t->kid_len > JWT_MAX_KID || strlen(t->kid) != t->kid_len) {
            *why = "The token key id (kid) is malformed.";
            return -1;
        }
    }
    return 0;
}

struct jwt *
jwt_decode(const char *token, size_t len, const char **why)
{
    if (len > JWT_MAX_LEN) {
        *why = "The token is longer than 8192 characters.";
        return NULL;
    }
    if (len == 0 || !token_charset(token, len)) {
        *why = "The token is not a compact JWS.";
        return NULL;
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot1 == NULL || dot2 == NULL ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
        *why = "The token is not a compact JWS (three parts separated by dots).";
        return NULL;
    }
    const char *sig = dot2 + 1;
    size_t header_len = (size_t)(dot1 - token);
    size_t payload_len = (size_t)(dot2 - dot1 - 1);
    size_t sig_len = len - (size_t)(sig - token);

    struct jwt *t = xcalloc(1, sizeof *t);
    buf_init(&t->signature);
    t->header = decode_object(token, header_len);
    if (t->header == NULL) {
        *why = "The token header is not base64url-encoded JSON.";
        goto fail;
    }
    if (read_header(t, why) != 0)
        goto fail;
    t->claims = decode_object(dot1 + 1, payload_len);
    if (t->claims == NULL) {
        *why = "The token payload is not base64url-encoded JSON.";
        goto fail;
    }
    if (sig_len == 0 || base64url_decode(sig, sig_len, &t->signature) != 0) {
        *why = "The token signature is missing or not base64url.";
        goto fail;
    }
    t->signing_len = (size_t)(dot2 - token);
    t->signing_input = xstrndup(token, t->signing_len);
    return t;
fail:
    jwt_free(t);
    return NULL;
}

void
jwt_free(struct jwt *t)
{
    if (t == NULL)
        return;
    json_object_put(t->header);
    json_object_put(t->claims);
    free(t->signing_input);
    buf_release(&t->signature);
    free(t);
}

/* EVP_DigestVerify with SHA-256 over the signing input; 1 valid, 0 not, -1 error. */
static int
digest_verify(const struct jwt *t, EVP_PKEY *pkey, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = -1;

    if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1) {
        int v = EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)t->signing_input,
                                 t->signing_len);
        rc = v == 1 ? 1 : v == 0 ? 0 : -1;
    }
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return rc;
}

/* JOSE r || s to a DER ECDSA-Sig-Value; returns its length (0 on failure), *der to free. */
static size_t
es256_to_der(const unsigned char *rs, unsigned char **der)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, ES256_HALF, NULL);
    BIGNUM *s = BN_bin2bn(rs + ES256_HALF, ES256_HALF, NULL);
    int n = 0;

    *der = NULL;
    if (sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1) {
        r = s = NULL;           /* now owned by sig */
        n = i2d_ECDSA_SIG(sig, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    if (n <= 0) {
        OPENSSL_free(*der);
        *der = NULL;
        return 0;
    }
    return (size_t)n;
}

int
jwt_verify_signature(const struct jwt *t, const struct jwk *key, const char **why)
{
    const unsigned char *sig = (const unsigned char *)t->signature.data;
    size_t sig_len = t->signature.len;
    int ok = 0;

    /* The key decides; a token claiming another algorithm never reaches a verifier. */
    if (key->alg != t->alg) {
        *why = "The token algorithm does not match its key.";
        return -1;
    }
    switch (key->alg) {
    case JWS_RS256:
        ok = key->pkey != NULL ? digest_verify(t, key->pkey, sig, sig_len) : -1;
        break;
    case JWS_ES256: {
        unsigned char *der = NULL;
        size_t der_len = sig_len == 2 * ES256_HALF ? es256_to_der(sig, &der) : 0;
        ok = der_len > 0 && key->pkey != NULL ? digest_verify(t, key->pkey, der, der_len) : 0;
        OPENSSL_free(der);
        break;
    }
    case JWS_HS256: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (key->secret == NULL || key->secret_len > INT32_MAX ||
            HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
                 (const unsigned char *)t->signing_input, t->signing_len, mac, &mac_len) == NULL) {
            ok = -1;
            ERR_clear_error();
        } else {
            ok = sig_len == HS256_LEN && mac_len == HS256_LEN &&
                 digest_equal(mac, sig, HS256_LEN);
        }
        wipe(mac, sizeof mac);
        break;
    }
    case JWS_NONE:
        ok = 0;
        break;
    }
    if (ok < 0) {
        log_error("jwt_verify_signature: %s key: OpenSSL could not verify", jwks_alg_name(key->alg));
        *why = "The token signature could not be checked.";
        return -1;
    }
    if (!ok) {
        *why = "The token signature is invalid.";
        return -1;
    }
    return 0;
}

/* A NumericDate claim: 1 and *out if present, 0 if absent, -1 if not a number. */
static int
claim_time(json_object *claims, const char *name, bool round_up, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(claims, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d > 1e15 || d < -1e15)
            return -1;
        *out = (int64_t)(round_up ? ceil(d) : floor(d));
        return 1;
    }
    return -1;
}

/* True if v is a string of exactly the bytes of want. */
static bool
string_is(json_object *v, const char *want)
{
    return json_object_is_type(v, json_type_string) &&
           (size_t)json_object_get_string_len(v) == strlen(want) &&
           memcmp(json_object_get_string(v), want, strlen(want)) == 0;
}

/* True if the aud claim is want or an array containing want. */
static bool
audience_ok(json_object *claims, const char *want)
{
    json_object *aud;

    if (!json_object_object_get_ex(claims, "aud", &aud))
        return false;
    if (json_object_is_type(aud, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(aud); i++)
            if (string_is(json_object_array_get_idx(aud, i), want))
                return true;
        return false;
    }
    return string_is(aud, want);
}

/* Adds the SCOPE_* bits named in the blank-separated string v. */
static unsigned
scopes_of_string(json_object *v)
{
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    unsigned bits = 0;

    for (size_t i = 0; i < len;) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        if (i > start)
            bits |= scope_from_name(s + start, i - start);
    }
    return bits;
}

/* The scopes of claim name: a blank-separated string or an array of strings. */
static unsigned
scopes_of_claim(json_object *claims, const char *name)
{
    json_object *v;
    unsigned bits = 0;

    if (!json_object_object_get_ex(claims, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_string))
        return scopes_of_string(v);
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *item = json_object_array_get_idx(v, i);
            if (json_object_is_type(item, json_type_string))
                bits |= scopes_of_string(item);
        }
    }
    return bits;
}

/* Adds one tenant claim value to who: "*" for all, a valid tenant id, else ignored. */
static void
add_tenant(struct principal *who, json_object *v)
{
    if (!json_object_is_type(v, json_type_string))
        return;
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return;
    if (strcmp(s, "*") == 0) {
        who->all_tenants = true;
        return;
    }
    if (!webhook_tenant_valid(s))
        return;
    who->tenants = xreallocarray(who->tenants, who->n_tenants + 1, sizeof *who->tenants);
    who->tenants[who->n_tenants++] = xstrdup(s);
}

int
jwt_check_claims(const struct jwt *t, const struct jwt_policy *policy, time_t now,
                 struct principal *who, const char **why)
{
    json_object *c = t->claims, *v;
    int64_t exp, nbf;
    const int64_t now64 = (int64_t)now, leeway = policy->leeway;

    memset(who, 0, sizeof *who);
    switch (claim_time(c, "exp", false, &exp)) {
    case 0:
        *why = "The token has no expiry (exp).";
        return -1;
    case -1:
        *why = "The token expiry (exp) is not a number.";
        return -1;
    default:
        if (now64 - leeway >= exp) {
            *why = "The token has expired.";
            return -1;
        }
    }
    switch (claim_time(c, "nbf", true, &nbf)) {
    case -1:
        *why = "The token start time (nbf) is not a number.";
        return -1;
    case 1:
        if (now64 + leeway < nbf) {
            *why = "The token is not valid yet.";
            return -1;
        }
        break;
    default:
        break;
    }
    if (policy->issuer == NULL || !json_object_object_get_ex(c, "iss", &v) ||
        !string_is(v, policy->issuer)) {
        *why = "The token issuer (iss) is not accepted.";
        return -1;
    }
    if (policy->audience == NULL || !audience_ok(c, policy->audience)) {
        *why = "The token audience (aud) is not this API.";
        return -1;
    }
    who->scopes = scopes_of_claim(c, "scope") | scopes_of_claim(c, "scp") |
                  scopes_of_claim(c, "permissions");
    if (policy->tenant_claim != NULL && json_object_object_get_ex(c, policy->tenant_claim, &v)) {
        if (json_object_is_type(v, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(v); i++)
                add_tenant(who, json_object_array_get_idx(v, i));
        } else {
            add_tenant(who, v);
        }
    }
    return 0;
}
