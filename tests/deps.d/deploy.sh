#!/bin/sh
# The web servers the deploy suite starts on loopback ports with their own
# configuration: Apache httpd (mod_fcgid, mod_proxy_fcgi, CGI), nginx,
# spawn-fcgi. Installs only what is missing; never starts the system services.
set -e
packages="apache2 libapache2-mod-fcgid nginx spawn-fcgi"
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
# Keep the packages' maintainer scripts from starting apache2/nginx on port 80.
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
