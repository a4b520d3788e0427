/*
 * endpoint - whether a URL may be a webhook's endpoint (endpoint.h).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/endpoint.h"
#include "domain/webhook.h"
#include "util/netaddr.h"
#include "util/xalloc.h"

static bool
host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

/* True for names that resolve to loopback by definition (RFC 6761). */
static bool
host_is_localhost(const char *host)
{
    size_t len = strlen(host);

    while (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
        return true;
    return len > 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0;
}

static const char *
check_authority(const char *start, size_t len, const struct endpoint_policy *policy)
{
    /* Drop userinfo: credentials are allowed, the host is what matters. */
    const char *at = memrchr(start, '@', len);
    if (at != NULL) {
        len -= (size_t)(at + 1 - start);
        start = at + 1;
    }
    if (len == 0)
        return "The endpoint must have a host.";

    const char *host = start, *port = NULL;
    size_t host_len = len;
    if (*start == '[') {
        const char *close = memchr(start, ']', len);
        if (close == NULL)
            return "The endpoint has an unterminated IPv6 address.";
        host_len = (size_t)(close - start) + 1;
        if (host_len < len) {
            if (close[1] != ':')
                return "The endpoint's host is not valid.";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(start, ':', len);
        if (colon != NULL) {
            host_len = (size_t)(colon - start);
            port = colon + 1;
        }
        for (size_t i = 0; i < host_len; i++)
            if (!host_char_ok(start[i]))
                return "The endpoint's host is not valid.";
    }
    if (host_len == 0)
        return "The endpoint must have a host.";
    if (port != NULL) {
        size_t port_len = len - (size_t)(port - start);
        long value = 0;
        if (port_len == 0 || port_len > 5)
            return "The endpoint's port is not valid.";
        for (size_t i = 0; i < port_len; i++) {
            if (port[i] < '0' || port[i] > '9')
                return "The endpoint's port is not valid.";
            value = value * 10 + (port[i] - '0');
        }
        if (value < 1 || value > 65535)
            return "The endpoint's port is not valid.";
    }

    char *name = xstrndup(host, host_len);
    struct sockaddr_storage addr;
    const char *reason = NULL;
    bool literal = netaddr_parse_literal(name, &addr) == 0;
    if (*host == '[' && !literal)
        reason = "The endpoint's host is not valid.";
    else if (!policy->allow_private &&
             ((literal && netaddr_restricted((struct sockaddr *)&addr) != NULL) ||
              host_is_localhost(name)))
        reason = "The endpoint must not point to a private, loopback or link-local address.";
    free(name);
    return reason;
}

const char *
endpoint_check(const char *url, const struct endpoint_policy *policy)
{
    size_t len = strlen(url);
    const char *rest;

    if (len == 0)
        return "The endpoint field is required.";
    if (len > WEBHOOK_ENDPOINT_MAX)
        return "The endpoint must be at most 2048 characters.";
    for (const char *p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "The endpoint must not contain spaces or control characters.";
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0) {
        if (!policy->allow_http)
            return "The endpoint must be an https:// URL.";
        rest = url + 7;
    } else
        return policy->allow_http ? "The endpoint must be an absolute http:// or https:// URL."
                                  : "The endpoint must be an absolute https:// URL.";
    if (strchr(url, '#') != NULL)
        return "The endpoint must not contain a fragment.";
    return check_authority(rest, strcspn(rest, "/?"), policy);
}
