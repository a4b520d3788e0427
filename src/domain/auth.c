/*
 * auth - from a request's credentials to a principal (auth.h): API keys
 * and bearer tokens.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "domain/auth.h"
#include "domain/bearer.h"
#include "util/xalloc.h"

static enum auth_status
auth_apikey(struct store *s, const char *key, struct principal *who, const char **why)
{
    char id[APIKEY_ID_LEN + 1];
    struct apikey rec;

    if (apikey_parse_id(key, id) != 0) {
        *why = "The API key is malformed.";
        return AUTH_INVALID;
    }
    switch (store_apikey_get(s, id, &rec)) {
    case STORE_OK:
        break;
    case STORE_NOTFOUND:
        *why = "The API key is unknown or revoked.";
        return AUTH_INVALID;
    default:
        *why = "The credentials could not be checked.";
        return AUTH_UNAVAILABLE;
    }
    /* Same answer for a wrong secret and a revoked key: neither says more than the other. */
    if (!apikey_matches(&rec, key) || rec.revoked) {
        *why = "The API key is unknown or revoked.";
        return AUTH_INVALID;
    }
    who->tenants = xcalloc(1, sizeof *who->tenants);
    who->tenants[0] = xstrdup(rec.tenant);
    who->n_tenants = 1;
    who->scopes = rec.scopes;
    return AUTH_OK;
}

/* True if authorization uses the Bearer scheme (case-insensitive, RFC 7235). */
static bool
is_bearer(const char *authorization)
{
    return authorization != NULL && strncasecmp(authorization, "Bearer", 6) == 0 &&
           (authorization[6] == ' ' || authorization[6] == '\0');
}

static enum auth_status
auth_bearer(const struct config *cfg, struct bearer *b, const char *authorization,
            struct principal *who, const char **why)
{
    const char *token = authorization + 6;
    struct bearer *once = NULL;

    token += strspn(token, " ");
    size_t len = strlen(token);
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    if (len == 0) {
        *why = "The bearer token is missing.";
        return AUTH_INVALID;
    }
    if (b == NULL)
        b = once = bearer_new(cfg);
    enum auth_status st = bearer_authenticate(b, token, len, time(NULL), who, why);
    bearer_free(once);
    return st;
}

enum auth_status
auth_authenticate(struct store *s, const struct config *cfg, const struct credentials *cred,
                  struct principal *who, const char **why)
{
    bool has_key = cred->api_key != NULL && cred->api_key[0] != '\0';

    memset(who, 0, sizeof *who);
    *why = "";
    if (has_key && is_bearer(cred->authorization)) {
        /* Which one would be meant? Guessing could act with the wrong identity. */
        *why = "Send either X-API-KEY or a bearer token, not both.";
        return AUTH_AMBIGUOUS;
    }
    if (has_key)
        return auth_apikey(s, cred->api_key, who, why);
    if (cred->authorization != NULL && cred->authorization[0] != '\0') {
        if (!is_bearer(cred->authorization)) {
            *why = "Only Bearer tokens and X-API-KEY are accepted.";
            return AUTH_INVALID;
        }
        return auth_bearer(cfg, cred->bearer, cred->authorization, who, why);
    }
    *why = "Credentials are required.";
    return AUTH_MISSING;
}

bool
auth_tenant_allowed(const struct principal *who, const char *tenant)
{
    if (who->all_tenants)
        return true;
    for (size_t i = 0; i < who->n_tenants; i++)
        if (strcmp(who->tenants[i], tenant) == 0)
            return true;
    return false;
}

void
principal_release(struct principal *who)
{
    for (size_t i = 0; i < who->n_tenants; i++)
        free(who->tenants[i]);
    free(who->tenants);
    memset(who, 0, sizeof *who);
}
