/*
 * jwt - JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515): parse,
 * check the signature with a given key, check the claims.
 *
 * Parsing is strict: at most JWT_MAX_LEN characters, three canonical
 * base64url parts, a JSON object header and payload (json-c, nothing after
 * them), a supported "alg" (never "none"), no "crit" header (this server
 * understands no extension), a string "kid" if any. The caller chooses
 * the key by kid (jwks_find) with the algorithm of the key. Every failure
 * comes with a sentence for error_description: static storage, no quotes,
 * never part of the token.
 */
#ifndef HOOKSPOOL_JWT_H
#define HOOKSPOOL_JWT_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "domain/jwks.h"
#include "util/buf.h"

/* Tokens longer than this are refused before any decoding. */
#define JWT_MAX_LEN 8192

struct principal;

/* A decoded, not yet verified token. */
struct jwt {
    enum jws_alg alg;           /* from the header; never JWS_NONE */
    const char *kid;            /* the header's kid (NUL-free), or NULL */
    size_t kid_len;
    json_object *header;
    json_object *claims;
    char *signing_input;        /* "header.payload", as signed */
    size_t signing_len;
    struct buf signature;
};

/* What the claims must say. */
struct jwt_policy {
    const char *issuer;         /* "iss" must equal it */
    const char *audience;       /* "aud" must be or contain it */
    const char *tenant_claim;   /* the claim listing tenants ("*" = all) */
    long leeway;                /* seconds of clock skew allowed on exp and nbf */
};

/*
 * Decodes the len characters of a compact JWS. Returns a new token (free
 * with jwt_free), or NULL with *why set.
 */
struct jwt *jwt_decode(const char *token, size_t len, const char **why);

/* Checks t's signature with key, whose algorithm must be t's. Returns 0, or -1 with *why. */
int jwt_verify_signature(const struct jwt *t, const struct jwk *key, const char **why);

/*
 * Checks exp (required), nbf, iss and aud against policy at time now and
 * fills *who (zeroed first; release with principal_release) with the
 * scopes of "scope", "scp" and "permissions" and the tenants of the
 * policy's tenant claim. Returns 0, or -1 with *why (*who then empty).
 */
int jwt_check_claims(const struct jwt *t, const struct jwt_policy *policy, time_t now,
                     struct principal *who, const char **why);

/* Releases t; NULL is fine. */
void jwt_free(struct jwt *t);

#endif
