/*
 * conffile - the "key = value" file reader (conffile.h).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/conffile.h"

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int
conffile_parse(const char *path, conffile_pair_fn fn, void *ctx, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }

    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    char reason[512];

    while (getline(&line, &cap, fp) != -1) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *text = trim(line);
        if (*text == '\0')
            continue;
        char *eq = strchr(text, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected \"key = value\"", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(text);
        char *value = trim(eq + 1);
        if (*key == '\0') {
            snprintf(err, errlen, "%s:%u: missing key before \"=\"", path, lineno);
            rc = -1;
            break;
        }
        reason[0] = '\0';
        if (fn(ctx, key, value, reason, sizeof reason) != 0) {
            snprintf(err, errlen, "%s:%u: %s", path, lineno, reason);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(fp)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(fp);
    return rc;
}
