/*
 * bearer - checks "Authorization: Bearer" tokens with keys kept between
 * requests.
 *
 * One bearer object lives as long as the program (a FastCGI process keeps
 * it across requests; a CGI run makes one per request). Keys come from
 * jwt_jwks_file and jwt_hs256_secret_file (reloaded when the file
 * changes) and from jwt_jwks_url: fetched when first needed, again every
 * jwt_jwks_refresh seconds, and when a token names an unknown kid (at
 * most once per jwt_jwks_min_refetch seconds). The last good set fetched
 * is cached in db_home/jwks.json with its fetch time, shared by every
 * process of the installation and used when the URL cannot be reached:
 * a failed fetch never drops keys.
 */
#ifndef HOOKSPOOL_BEARER_H
#define HOOKSPOOL_BEARER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "domain/auth.h"
#include "domain/config.h"

struct bearer;

/* True if cfg turns bearer tokens on (issuer, audience and some key source). */
bool bearer_enabled(const struct config *cfg);

/* A new verifier for cfg (borrowed: it must outlive the verifier). Loads no key yet. */
struct bearer *bearer_new(const struct config *cfg);

/* Releases b; NULL is fine. */
void bearer_free(struct bearer *b);

/*
 * Checks the len characters of token at time now. AUTH_OK fills *who
 * (release with principal_release); AUTH_INVALID means the token is not
 * acceptable and AUTH_UNAVAILABLE that no key could be loaded to check
 * it; *why is a sentence for error_description (static storage).
 */
enum auth_status bearer_authenticate(struct bearer *b, const char *token, size_t len, time_t now,
                                     struct principal *who, const char **why);

#endif
