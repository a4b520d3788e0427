/*
 * apikey - API keys: "hs_" + 12-character id + "_" + 40-character secret.
 *
 * Only the SHA-256 of the whole key is stored, under its id; the key
 * itself is shown once, when created. Verification looks the record up by
 * the id embedded in the key and compares hashes in constant time.
 */
#ifndef HOOKSPOOL_APIKEY_H
#define HOOKSPOOL_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "domain/scope.h"

#define APIKEY_ID_LEN 12
#define APIKEY_SECRET_LEN 40
#define APIKEY_LEN (3 + APIKEY_ID_LEN + 1 + APIKEY_SECRET_LEN)
#define APIKEY_LABEL_MAX 200

struct apikey {
    char id[APIKEY_ID_LEN + 1];
    char tenant[65];
    unsigned scopes;                    /* SCOPE_* bits */
    char label[APIKEY_LABEL_MAX + 1];
    unsigned char hash[32];             /* SHA-256 of the full key */
    time_t created;
    bool revoked;
};

/*
 * Makes a new key for tenant with scopes: fills rec (hash, not the key)
 * and writes the key, NUL-terminated, into key_out (APIKEY_LEN + 1 bytes).
 * Returns 0, or -1 if the CSPRNG failed.
 */
int apikey_generate(struct apikey *rec, char *key_out, const char *tenant, unsigned scopes,
                    const char *label);

/* Extracts the id from a presented key into id_out; returns 0 or -1 if malformed. */
int apikey_parse_id(const char *key, char id_out[APIKEY_ID_LEN + 1]);

/* True if key hashes to rec->hash (constant-time compare). */
bool apikey_matches(const struct apikey *rec, const char *key);

/* Encodes rec as a compact JSON string (caller frees). */
char *apikey_to_string(const struct apikey *rec);
/* Decodes a stored record; returns 0 or -1 if malformed. */
int apikey_from_string(struct apikey *rec, const char *data, size_t len);

#endif
