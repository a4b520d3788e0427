/* delivery_query - the query of a list of deliveries (see delivery.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/delivery.h"
#include "util/hex.h"
#include "util/xalloc.h"

bool
delivery_cursor_valid(const char *cursor)
{
    size_t n = strspn(cursor, "0123456789abcdef");

    return n == DELIVERY_CURSOR_LEN && cursor[n] == '\0';
}

/* Decodes %XX and '+' in place; returns -1 on a bad escape or a NUL. */
static int
query_decode(char *s)
{
    char *out = s;

    for (char *p = s; *p != '\0'; p++) {
        if (*p == '+') {
            *out++ = ' ';
        } else if (*p != '%') {
            *out++ = *p;
        } else {
            int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *out++ = (char)(hi * 16 + lo);
            p += 2;
        }
    }
    *out = '\0';
    return 0;
}

static void
add_error(json_object **errors, const char *member, const char *text)
{
    if (*errors == NULL)
        *errors = json_object_new_object();
    json_object *list = json_object_new_array();
    json_object_array_add(list, json_object_new_string(text));
    json_object_object_add(*errors, member, list);
}

/* Checks one parameter; unknown ones are ignored. */
static void
query_param(struct delivery_query *q, const char *name, char *value, json_object **errors)
{
    bool decoded = query_decode(value) == 0;

    if (strcmp(name, "status") == 0) {
        q->status = decoded ? delivery_status_parse(value) : -1;
        if (q->status < 0)
            add_error(errors, "status", "The status must be pending, succeeded or failed.");
    } else if (strcmp(name, "limit") == 0) {
        size_t digits = strspn(value, "0123456789");
        q->limit = decoded && digits > 0 && digits <= 4 && value[digits] == '\0'
                       ? strtol(value, NULL, 10) : 0;
        if (q->limit < 1 || q->limit > DELIVERY_LIMIT_MAX)
            add_error(errors, "limit", "The limit must be a whole number from 1 to 250.");
    } else if (strcmp(name, "cursor") == 0) {
        if (decoded && delivery_cursor_valid(value))
            snprintf(q->cursor, sizeof q->cursor, "%s", value);
        else
            add_error(errors, "cursor", "The cursor is not one this API returned.");
    }
}

json_object *
delivery_query_parse(const char *query, struct delivery_query *q)
{
    json_object *errors = NULL;
    char *text = xstrdup(query != NULL ? query : "");
    char *save = NULL;

    q->status = -1;
    q->limit = DELIVERY_LIMIT_DEFAULT;
    q->cursor[0] = '\0';
    for (char *pair = strtok_r(text, "&", &save); pair != NULL;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq != NULL)
            *eq = '\0';
        if (query_decode(pair) == 0)
            query_param(q, pair, eq != NULL ? eq + 1 : pair + strlen(pair), &errors);
    }
    free(text);
    return errors;
}
