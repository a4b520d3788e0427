/*
 * libFuzzer target for the JWK Set parser (domain/jwks), which reads what
 * an identity provider's jwks_uri returns. Built and run by tests/fuzz/run.sh.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/jwks.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jwks *set = jwks_new();
    char err[256];

    log_set_level(LOG_LVL_ERROR);
    int n = jwks_parse(set, (const char *)data, size, JWKS_ALLOW_SECRETS, err, sizeof err);
    if (n < 0 ? set->n != 0 : (size_t)n != set->n)
        abort();                /* the count returned is the keys kept */
    for (size_t i = 0; i < set->n; i++) {
        const struct jwk *k = &set->keys[i];
        if (k->alg == JWS_NONE || (k->pkey == NULL) == (k->secret == NULL))
            abort();            /* every key kept has an algorithm and exactly one form */
        bool known;
        if (jwks_find(set, k->kid, k->kid != NULL ? strlen(k->kid) : 0, k->alg, &known) == NULL &&
            k->kid != NULL)
            abort();
    }
    jwks_free(set);
    return 0;
}
