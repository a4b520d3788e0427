#!/bin/sh
# The web servers the deploy suite starts on loopback ports with their own
# configuration: Apache httpd (mod_fcgid, mod_proxy_fcgi, CGI), nginx, spawn-fcgi.
exec "$(dirname "$0")/../deps.sh" apache2 libapache2-mod-fcgid nginx spawn-fcgi
