/*
 * netaddr - the address ranges a server-side HTTP client must not reach
 * (netaddr.h).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "util/netaddr.h"

struct v4_range {
    uint32_t net;
    int prefix;
    const char *name;
};

struct v6_range {
    unsigned char net[16];
    int prefix;
    const char *name;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static const struct v4_range v4_restricted[] = {
    { V4(0, 0, 0, 0), 8, "unspecified" },
    { V4(10, 0, 0, 0), 8, "private" },
    { V4(100, 64, 0, 0), 10, "cgnat" },
    { V4(127, 0, 0, 0), 8, "loopback" },
    { V4(169, 254, 0, 0), 16, "link-local" },
    { V4(172, 16, 0, 0), 12, "private" },
    { V4(192, 0, 0, 0), 24, "reserved" },
    { V4(192, 0, 2, 0), 24, "documentation" },
    { V4(192, 168, 0, 0), 16, "private" },
    { V4(198, 18, 0, 0), 15, "benchmarking" },
    { V4(198, 51, 100, 0), 24, "documentation" },
    { V4(203, 0, 113, 0), 24, "documentation" },
    { V4(224, 0, 0, 0), 4, "multicast" },
    { V4(240, 0, 0, 0), 4, "reserved" },
};

static const struct v6_range v6_restricted[] = {
    { { 0 }, 128, "unspecified" },
    { { [15] = 1 }, 128, "loopback" },
    { { 0xfe, 0x80 }, 10, "link-local" },
    { { 0xfe, 0xc0 }, 10, "site-local" },
    { { 0xfc }, 7, "private" },
    { { 0xff }, 8, "multicast" },
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
    { { 0x01 }, 64, "discard" },
    /* Transition mechanisms: the IPv4 hop behind them is not ours to judge. */
    { { 0x20, 0x02 }, 16, "6to4" },
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "teredo" },
    { { 0x00, 0x64, 0xff, 0x9b }, 96, "nat64" },
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, "nat64" },
};

/* IPv6 prefixes whose last 32 bits are an IPv4 address to judge instead. */
static const struct v6_range v6_embedding_v4[] = {
    { { [10] = 0xff, [11] = 0xff }, 96, "ipv4-mapped" },
    { { 0 }, 96, "ipv4-compatible" },
};

static int
v6_in(const unsigned char *addr, const struct v6_range *r)
{
    int full = r->prefix / 8, rest = r->prefix % 8;

    if (memcmp(addr, r->net, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (addr[full] & mask) == (r->net[full] & mask);
}

static const char *
v4_restricted_name(uint32_t addr)
{
    for (size_t i = 0; i < sizeof v4_restricted / sizeof v4_restricted[0]; i++) {
        uint32_t mask = 0xffffffffu << (32 - v4_restricted[i].prefix);
        if ((addr & mask) == v4_restricted[i].net)
            return v4_restricted[i].name;
    }
    return NULL;
}

const char *
netaddr_restricted(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        return v4_restricted_name(ntohl(sin->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return "unsupported family";

    const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    for (size_t i = 0; i < sizeof v6_restricted / sizeof v6_restricted[0]; i++)
        if (v6_in(a, &v6_restricted[i]))
            return v6_restricted[i].name;
    for (size_t i = 0; i < sizeof v6_embedding_v4 / sizeof v6_embedding_v4[0]; i++) {
        if (v6_in(a, &v6_embedding_v4[i])) {
            uint32_t v4 = ((uint32_t)a[12] << 24) | ((uint32_t)a[13] << 16) |
                          ((uint32_t)a[14] << 8) | a[15];
            return v4_restricted_name(v4);
        }
    }
    return NULL;
}

int
netaddr_parse_literal(const char *host, struct sockaddr_storage *out)
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(host);

    memset(out, 0, sizeof *out);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, host, len);
    buf[len] = '\0';

    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        return 0;
    }
    /* inet_aton accepts every legacy form a resolver would turn into an address. */
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    if (inet_aton(buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        return 0;
    }
    return -1;
}
