#!/bin/sh
# Installs the Debian packages that building and testing hookspool need, and
# any named on the command line, skipping those already installed. Never lets
# a package start its system service (the tests start their own servers).
# Safe to run again.
set -e
packages="build-essential autoconf automake pkg-config
  libfcgi-dev libfcgi-bin libjson-c-dev libdb5.3-dev db5.3-util libssl-dev openssl
  libcurl4-openssl-dev curl python3 lighttpd spawn-fcgi wrk
  $HOOKSPOOL_EXTRA_PACKAGES $*"
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
# Keep maintainer scripts from starting lighttpd, apache2 or nginx on port 80.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
fi
rc=0
{ apt-get update -qq || true; } &&
    apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
[ -n "$guard" ] && rm -f "$guard"
exit $rc
