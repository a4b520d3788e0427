/*
 * router - the path and method of a request to a route and its parameters
 * (router.h): percent-decoding per segment, PATH_INFO or REQUEST_URI.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/router.h"
#include "util/hex.h"
#include "util/xalloc.h"

enum { MAX_SEGMENTS = 8, MAX_PATH = 4096 };

static const struct {
    const char *name;
    enum http_method bit;
} methods[] = {
    { "GET", METHOD_GET },     { "HEAD", METHOD_HEAD },   { "POST", METHOD_POST },
    { "PUT", METHOD_PUT },     { "PATCH", METHOD_PATCH }, { "DELETE", METHOD_DELETE },
};

/*
 * The routes, as the segments that follow /{tenant}; "{id}" is a
 * parameter. Later operations (deliveries, ping, rotate-secret) are rows.
 */
static const struct {
    enum route_id id;
    const char *segments[MAX_SEGMENTS];
    unsigned allowed;
} routes[] = {
    { ROUTE_WEBHOOKS, { "webhooks" }, METHOD_GET | METHOD_HEAD | METHOD_POST },
    { ROUTE_WEBHOOK, { "webhooks", "{id}" },
      METHOD_GET | METHOD_HEAD | METHOD_PUT | METHOD_PATCH | METHOD_DELETE },
    { ROUTE_ROTATE_SECRET, { "webhooks", "{id}", "rotate-secret" }, METHOD_POST },
    /* delivery operations */
    { ROUTE_DELIVERIES, { "webhooks", "{id}", "deliveries" }, METHOD_GET | METHOD_HEAD },
    { ROUTE_DELIVERY, { "webhooks", "{id}", "deliveries", "{deliveryId}" },
      METHOD_GET | METHOD_HEAD },
    { ROUTE_REDELIVER, { "webhooks", "{id}", "deliveries", "{deliveryId}", "redeliver" },
      METHOD_POST },
    { ROUTE_PING, { "webhooks", "{id}", "ping" }, METHOD_POST },
};

enum http_method
router_method(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (name != NULL && strcmp(name, methods[i].name) == 0)
            return methods[i].bit;
    return METHOD_OTHER;
}

void
router_allow_header(unsigned allowed, char *out, size_t cap)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (!(allowed & methods[i].bit))
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", methods[i].name);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

/* Decodes %XX in place; returns -1 on a bad escape or an encoded NUL. */
static int
percent_decode(char *s)
{
    char *out = s;

    for (char *p = s; *p != '\0'; p++) {
        if (*p != '%') {
            *out++ = *p;
            continue;
        }
        int hi = hex_digit(p[1]), lo = hi < 0 ? -1 : hex_digit(p[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        *out++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *out = '\0';
    return 0;
}

/*
 * Splits path ("/a/b/c", one trailing slash tolerated) into at most
 * MAX_SEGMENTS segments in place. Returns the count, or -1 for a path that
 * is not absolute, has empty segments, is too deep, or fails decoding.
 */
static int
split_path(char *path, char **seg, bool decode)
{
    int n = 0;

    if (path[0] != '/')
        return -1;
    size_t len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        path[len - 1] = '\0';
    if (path[1] == '\0')
        return 0;
    for (char *p = path + 1;;) {
        char *slash = strchr(p, '/');
        if (slash != NULL)
            *slash = '\0';
        if (*p == '\0' || n == MAX_SEGMENTS || (decode && percent_decode(p) != 0))
            return -1;
        seg[n++] = p;
        if (slash == NULL)
            return n;
        p = slash + 1;
    }
}

/* Matches segments seg[0..n) (tenant first) against the route table. */
static bool
match_segments(char **seg, int n, struct route_match *m)
{
    if (n < 2 || !webhook_tenant_valid(seg[0]))
        return false;
    for (size_t r = 0; r < sizeof routes / sizeof routes[0]; r++) {
        int k = 0;
        bool ok = true;
        for (; k < MAX_SEGMENTS && routes[r].segments[k] != NULL && ok; k++) {
            const char *want = routes[r].segments[k];
            if (k + 1 >= n)
                ok = false;
            else if (strcmp(want, "{id}") == 0)
                ok = strlen(seg[k + 1]) < sizeof m->id;
            else if (strcmp(want, "{deliveryId}") == 0)
                ok = strlen(seg[k + 1]) < sizeof m->delivery_id;
            else
                ok = strcmp(want, seg[k + 1]) == 0;
        }
        if (!ok || k + 1 != n)
            continue;
        m->route = routes[r].id;
        m->allowed = routes[r].allowed;
        snprintf(m->tenant, sizeof m->tenant, "%s", seg[0]);
        m->id[0] = '\0';
        if (n > 2)
            snprintf(m->id, sizeof m->id, "%s", seg[2]);
        m->delivery_id[0] = '\0';
        if (n > 4)
            snprintf(m->delivery_id, sizeof m->delivery_id, "%s", seg[4]);
        return true;
    }
    return false;
}

bool
router_match(const char *base_path, const char *path_info, const char *request_uri,
             struct route_match *m)
{
    bool from_uri = path_info == NULL || path_info[0] == '\0';
    const char *raw = from_uri ? request_uri : path_info;
    char *seg[MAX_SEGMENTS], *base_seg[MAX_SEGMENTS];
    bool found = false;

    memset(m, 0, sizeof *m);
    if (raw == NULL || strlen(raw) > MAX_PATH)
        return false;
    char *path = xstrndup(raw, strcspn(raw, from_uri ? "?#" : ""));
    char *base = xstrdup(base_path);
    int n = split_path(path, seg, from_uri);
    int nb = split_path(base, base_seg, false);

    if (n >= 0 && nb >= 0) {
        bool under_base = n >= nb;
        for (int i = 0; i < nb && under_base; i++)
            under_base = strcmp(seg[i], base_seg[i]) == 0;
        /*
         * REQUEST_URI always carries the base path. PATH_INFO carries it when
         * reached through a rewrite, not when the program is mounted at it,
         * so try the path below the base first, then the whole path.
         */
        if (under_base)
            found = match_segments(seg + nb, n - nb, m);
        if (!found && !from_uri)
            found = match_segments(seg, n, m);
    }
    free(path);
    free(base);
    return found;
}
