/*
 * endpoint - is a URL acceptable as a webhook endpoint?
 */
#ifndef HOOKSPOOL_ENDPOINT_H
#define HOOKSPOOL_ENDPOINT_H

#include <stdbool.h>

struct endpoint_policy {
    bool allow_http;            /* accept http:// as well as https:// */
    bool allow_private;         /* accept literal loopback/private/link-local hosts */
};

/*
 * Checks url: absolute https:// (or http:// if allowed) URL of at most
 * 2048 characters, with a host, no fragment, no blanks or control
 * characters, a port from 1 to 65535 if any, and, unless allowed, no
 * literal non-public address or "localhost". Returns NULL if acceptable,
 * else a sentence saying why not.
 */
const char *endpoint_check(const char *url, const struct endpoint_policy *policy);

#endif
