/*
 * netaddr - which IP addresses a server-side HTTP client must not reach.
 *
 * Used twice: by endpoint validation (a literal address in a URL) and by
 * the sender after DNS resolution (the address actually connected).
 */
#ifndef HOOKSPOOL_NETADDR_H
#define HOOKSPOOL_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Returns the name of the non-public range sa falls in ("loopback",
 * "private", "link-local", "cgnat", "multicast", "unspecified",
 * "reserved", "6to4", "teredo", "nat64", ...), or NULL for a public
 * address. IPv4-mapped and IPv4-compatible IPv6 addresses are judged by
 * the IPv4 address they carry; transition prefixes (6to4 2002::/16, Teredo
 * 2001::/32, NAT64 64:ff9b::/96 and 64:ff9b:1::/48) are refused whole, since
 * the IPv4 host they lead to cannot be known from here.
 * Families other than AF_INET/AF_INET6 are "unsupported family".
 */
const char *netaddr_restricted(const struct sockaddr *sa);

/*
 * Parses host as an IP literal: dotted IPv4 (also the short, octal and hex
 * forms resolvers accept, such as "127.1" or "0x7f000001") or IPv6, with
 * or without brackets. Returns 0 and fills *out, or -1 if host is a name.
 */
int netaddr_parse_literal(const char *host, struct sockaddr_storage *out);

#endif
