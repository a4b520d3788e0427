#!/bin/sh
# The cli_events suite runs the Node.js receiver example (tests/receivers/verify.js):
# Debian's nodejs, unless a node is already on PATH.
command -v node >/dev/null 2>&1 || [ -x /usr/bin/node ] && exit 0
exec "$(dirname "$0")/../deps.sh" nodejs
