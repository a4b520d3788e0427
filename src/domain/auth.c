#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/auth.h"
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

enum auth_status
auth_authenticate(struct store *s, const struct config *cfg, const struct credentials *cred,
                  struct principal *who, const char **why)
{
    memset(who, 0, sizeof *who);
    *why = "";
    if (cred->api_key != NULL && cred->api_key[0] != '\0')
        return auth_apikey(s, cred->api_key, who, why);
    if (cred->authorization != NULL && cred->authorization[0] != '\0') {
        if (strncasecmp(cred->authorization, "Bearer ", 7) != 0) {
            *why = "Only Bearer tokens and X-API-KEY are accepted.";
            return AUTH_INVALID;
        }
        *why = "Bearer tokens are not accepted by this server.";
        return AUTH_INVALID;
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
