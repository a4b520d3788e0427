/*
 * auth - who is calling: API keys (X-API-KEY) and bearer tokens.
 *
 * Produces a principal (the tenants and scopes a credential grants) or
 * the reason it was refused. Authorisation against a route is
 * auth_permits.
 */
#ifndef HOOKSPOOL_AUTH_H
#define HOOKSPOOL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/config.h"
#include "domain/store.h"

enum auth_status {
    AUTH_OK,
    AUTH_MISSING,               /* no credentials at all */
    AUTH_INVALID,               /* credentials present but not acceptable */
    AUTH_UNAVAILABLE,           /* could not check them (storage failure, no keys) */
    AUTH_AMBIGUOUS,             /* both X-API-KEY and a bearer token: refused (400) */
};

struct principal {
    char **tenants;             /* tenants this credential may act on */
    size_t n_tenants;
    bool all_tenants;           /* a token with tenant "*" */
    unsigned scopes;            /* SCOPE_* bits */
};

struct bearer;

struct credentials {
    const char *api_key;        /* X-API-KEY, or NULL */
    const char *authorization;  /* Authorization, or NULL */
    struct bearer *bearer;      /* the program's token verifier, or NULL: one per call */
};

/*
 * Checks the credentials. On AUTH_OK fills *who (release it with
 * principal_release); otherwise *why is a sentence for
 * WWW-Authenticate's error_description (static storage).
 */
enum auth_status auth_authenticate(struct store *s, const struct config *cfg,
                                   const struct credentials *cred, struct principal *who,
                                   const char **why);

/* True if who may act on tenant. */
bool auth_tenant_allowed(const struct principal *who, const char *tenant);

/* Releases what who owns. */
void principal_release(struct principal *who);

#endif
