/*
 * jwks - the keys bearer tokens are verified with: JSON Web Keys (RFC 7517)
 * turned into OpenSSL keys, plus HS256 shared secrets.
 *
 * A key's algorithm is fixed when the key is loaded (from the JWK's "alg",
 * else from "kty"/"crv") and a token is only ever checked with the algorithm
 * of the key its "kid" names, never with one taken from the token itself.
 * Supported: RSA keys of 2048 bits or more (RS256), EC P-256 keys (ES256),
 * secrets of 32 bytes or more (HS256). Keys of other types, algorithms,
 * curves, or with "use" other than "sig" are skipped, not errors.
 */
#ifndef HOOKSPOOL_JWKS_H
#define HOOKSPOOL_JWKS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum jws_alg {
    JWS_NONE,                   /* not a supported algorithm */
    JWS_RS256,
    JWS_ES256,
    JWS_HS256,
};

/* Smallest RSA modulus and HS256 secret accepted. */
#define JWKS_MIN_RSA_BITS 2048
#define JWKS_MIN_SECRET_BYTES 32

struct jwk {
    char *kid;                  /* NULL if the key has no "kid" */
    enum jws_alg alg;           /* fixed by the key */
    EVP_PKEY *pkey;             /* RS256 and ES256 public keys */
    unsigned char *secret;      /* HS256 */
    size_t secret_len;
};

struct jwks {
    struct jwk *keys;
    size_t n;
};

/* Flags for jwks_parse. */
enum { JWKS_ALLOW_SECRETS = 1 << 0 };  /* accept "kty": "oct" (HS256) keys */

/* The algorithm's JOSE name ("RS256"), or "none" for JWS_NONE. */
const char *jwks_alg_name(enum jws_alg alg);
/* The algorithm named by the n bytes at name (exact), or JWS_NONE. */
enum jws_alg jwks_alg_from_name(const char *name, size_t n);

/* A new, empty key set; free it with jwks_free. */
struct jwks *jwks_new(void);
/* Releases set and its keys; NULL is fine. */
void jwks_free(struct jwks *set);

/*
 * Adds the usable keys of a JWK Set ({"keys": [...]}) or of a single JWK
 * held in the len bytes at json. Returns the number of keys added (0 if
 * none was usable), or -1 with a reason in err if the text is not a JWK
 * Set at all.
 */
int jwks_parse(struct jwks *set, const char *json, size_t len, unsigned flags, char *err,
               size_t errlen);

/*
 * Adds an HS256 secret (copied) under kid (may be NULL). Returns 0, or -1
 * with a reason in err if it is shorter than JWKS_MIN_SECRET_BYTES.
 */
int jwks_add_secret(struct jwks *set, const void *secret, size_t n, const char *kid, char *err,
                    size_t errlen);

/* Adds a copy of every key of src to dst (public keys are shared by reference). */
void jwks_append(struct jwks *dst, const struct jwks *src);

/*
 * The key for a token with the given kid (kid_len bytes; kid NULL for a
 * token without one) and algorithm, or NULL. A token without kid matches
 * a key without kid, or the only key of the set. *kid_known (may be NULL)
 * is set if some key has that kid, whatever its algorithm.
 */
const struct jwk *jwks_find(const struct jwks *set, const char *kid, size_t kid_len,
                            enum jws_alg alg, bool *kid_known);

#endif
