#!/bin/sh
# What the TLS suite and the TLS half of bench/sender need beyond tests/deps.sh:
# the system's CA bundle (libcurl's default when tls_ca_file is unset; the
# suite checks that a private CA is not trusted by it, and deps.sh installs
# without recommends, so it is not pulled in by curl), the openssl CLI that
# makes the test certificates, and nginx for bench/sender's TLS listener.
exec "$(dirname "$0")/../deps.sh" ca-certificates openssl nginx
