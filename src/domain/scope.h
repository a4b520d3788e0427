/*
 * scope - the permissions a credential carries.
 */
#ifndef HOOKSPOOL_SCOPE_H
#define HOOKSPOOL_SCOPE_H

#include <stddef.h>

enum {
    SCOPE_READ = 1 << 0,        /* "Webhook.Read": GET, HEAD */
    SCOPE_WRITE = 1 << 1,       /* "Webhook.Write": POST, PUT, PATCH, DELETE */
};

/* The scope's name, e.g. "Webhook.Read", for one SCOPE_* bit. */
const char *scope_name(unsigned scope);
/* The SCOPE_* bit named by the n bytes at name, or 0 if none (exact, case-sensitive). */
unsigned scope_from_name(const char *name, size_t n);
/*
 * Parses a list of scope names separated by commas or blanks into *out.
 * Returns 0, or -1 if a name is unknown.
 */
int scope_parse_list(const char *list, unsigned *out);
/* Writes the names of scopes, comma-separated, into out (cap bytes). */
void scope_format(unsigned scopes, char *out, size_t cap);

#endif
