/*
 * scope - the Webhook.Read and Webhook.Write scopes (scope.h).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "domain/scope.h"

static const struct {
    unsigned bit;
    const char *name;
} scope_names[] = {
    { SCOPE_READ, "Webhook.Read" },
    { SCOPE_WRITE, "Webhook.Write" },
};

#define N_SCOPES (sizeof scope_names / sizeof scope_names[0])

const char *
scope_name(unsigned scope)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (scope_names[i].bit == scope)
            return scope_names[i].name;
    return "";
}

unsigned
scope_from_name(const char *name, size_t n)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (strlen(scope_names[i].name) == n && memcmp(scope_names[i].name, name, n) == 0)
            return scope_names[i].bit;
    return 0;
}

int
scope_parse_list(const char *list, unsigned *out)
{
    static const char separators[] = ", \t";
    unsigned scopes = 0;

    for (const char *p = list; *p != '\0';) {
        p += strspn(p, separators);
        size_t n = strcspn(p, separators);
        if (n == 0)
            break;
        unsigned bit = scope_from_name(p, n);
        if (bit == 0)
            return -1;
        scopes |= bit;
        p += n;
    }
    *out = scopes;
    return 0;
}

void
scope_format(unsigned scopes, char *out, size_t cap)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < N_SCOPES; i++) {
        if (!(scopes & scope_names[i].bit))
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", scope_names[i].name);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}
