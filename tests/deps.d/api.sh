#!/bin/sh
# The API suite and bench/api find the webhooks.fcgi processes lighttpd
# started with pgrep (procps); lighttpd and wrk come with tests/deps.sh.
exec "$(dirname "$0")/../deps.sh" procps
