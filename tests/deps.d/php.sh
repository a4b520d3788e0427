#!/bin/sh
# The receivers suite runs the PHP receiver of docs/receivers.md with PHP's
# built-in web server against real deliveries: Debian's php-cli.
exec "$(dirname "$0")/../deps.sh" php-cli
