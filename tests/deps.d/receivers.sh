#!/bin/sh
# The rotation suite checks the Standard Webhooks headers of real deliveries with
# the npm "standardwebhooks" package, as receivers use it (tests/receivers/standard.js):
# Node.js and npm from Debian, and the package from tests/receivers/package-lock.json.
exec "$(dirname "$0")/node-packages" receivers tests/receivers node_modules/standardwebhooks
