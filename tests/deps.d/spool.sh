#!/bin/sh
# The cli_events suite runs the Node.js receiver example (tests/receivers/verify.js):
# installs Debian's nodejs unless a node is already on PATH or in /usr/bin.
set -e
if command -v node >/dev/null 2>&1 || [ -x /usr/bin/node ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing node (apt-get install nodejs, as root)" >&2
    exit 1
fi
echo "deps: installing nodejs"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends nodejs >/dev/null
