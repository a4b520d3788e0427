/*
 * apikey - API keys (apikey.h): generation, parsing, the stored record and
 * the constant-time check of a presented key.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "domain/apikey.h"
#include "util/digest.h"
#include "util/hex.h"
#include "util/random.h"
#include "util/xalloc.h"

static const char apikey_prefix[] = "hs_";

static void
hash_key(const char *key, unsigned char out[DIGEST_SHA256_LEN])
{
    digest_sha256(key, strlen(key), out);
}

int
apikey_generate(struct apikey *rec, char *key_out, const char *tenant, unsigned scopes,
                const char *label)
{
    char secret[APIKEY_SECRET_LEN + 1];

    memset(rec, 0, sizeof *rec);
    if (random_alnum(rec->id, APIKEY_ID_LEN) != 0 || random_alnum(secret, APIKEY_SECRET_LEN) != 0)
        return -1;
    snprintf(key_out, APIKEY_LEN + 1, "%s%s_%s", apikey_prefix, rec->id, secret);
    wipe(secret, sizeof secret);
    snprintf(rec->tenant, sizeof rec->tenant, "%s", tenant);
    snprintf(rec->label, sizeof rec->label, "%s", label ? label : "");
    rec->scopes = scopes;
    rec->created = time(NULL);
    hash_key(key_out, rec->hash);
    return 0;
}

int
apikey_parse_id(const char *key, char id_out[APIKEY_ID_LEN + 1])
{
    const size_t plen = sizeof apikey_prefix - 1;

    if (strlen(key) != APIKEY_LEN || memcmp(key, apikey_prefix, plen) != 0 ||
        key[plen + APIKEY_ID_LEN] != '_')
        return -1;
    for (size_t i = plen; i < APIKEY_LEN; i++) {
        char c = key[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && i != plen + APIKEY_ID_LEN)
            return -1;
    }
    memcpy(id_out, key + plen, APIKEY_ID_LEN);
    id_out[APIKEY_ID_LEN] = '\0';
    return 0;
}

bool
apikey_matches(const struct apikey *rec, const char *key)
{
    unsigned char h[32];

    hash_key(key, h);
    return digest_equal(h, rec->hash, sizeof h);
}

char *
apikey_to_string(const struct apikey *rec)
{
    char hex[65];
    json_object *o = json_object_new_object();

    hex_encode(rec->hash, sizeof rec->hash, hex);
    json_object_object_add(o, "id", json_object_new_string(rec->id));
    json_object_object_add(o, "tenant", json_object_new_string(rec->tenant));
    json_object_object_add(o, "scopes", json_object_new_int((int)rec->scopes));
    json_object_object_add(o, "label", json_object_new_string(rec->label));
    json_object_object_add(o, "sha256", json_object_new_string(hex));
    json_object_object_add(o, "created", json_object_new_int64((int64_t)rec->created));
    json_object_object_add(o, "revoked", json_object_new_boolean(rec->revoked));
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* Copies string member key of o into dst (cap bytes); returns 0 or -1. */
static int
get_string(json_object *o, const char *key, char *dst, size_t cap)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
        (size_t)json_object_get_string_len(v) >= cap)
        return -1;
    memcpy(dst, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
    return 0;
}

int
apikey_from_string(struct apikey *rec, const char *data, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, data, (int)len);
    json_object *v;
    char hex[65];
    int rc = -1;

    memset(rec, 0, sizeof *rec);
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto out;
    if (get_string(o, "id", rec->id, sizeof rec->id) != 0 ||
        get_string(o, "tenant", rec->tenant, sizeof rec->tenant) != 0 ||
        get_string(o, "label", rec->label, sizeof rec->label) != 0 ||
        get_string(o, "sha256", hex, sizeof hex) != 0 || strlen(hex) != 64)
        goto out;
    if (hex_decode(hex, rec->hash, sizeof rec->hash) != 0)
        goto out;
    if (!json_object_object_get_ex(o, "scopes", &v))
        goto out;
    rec->scopes = (unsigned)json_object_get_int(v);
    if (json_object_object_get_ex(o, "created", &v))
        rec->created = (time_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "revoked", &v))
        rec->revoked = json_object_get_boolean(v);
    rc = 0;
out:
    json_object_put(o);
    json_tokener_free(tok);
    return rc;
}
