#!/bin/sh
# What the bearer-token tests need beyond tests/deps.sh: clang and its
# libFuzzer/AddressSanitizer runtime for tests/fuzz/run.sh (the openssl CLI
# that signs test tokens is already in deps.sh). Installs only what is missing.
set -e
packages="clang libclang-rt-14-dev openssl"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing (run as root or install them)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends $missing >/dev/null
