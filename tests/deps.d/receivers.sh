#!/bin/sh
# The rotation suite checks the Standard Webhooks headers of real deliveries with
# the npm "standardwebhooks" package, as receivers use it (tests/receivers/standard.js):
# Node.js and npm from Debian, and the package from tests/receivers/package-lock.json.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
"$src/tests/deps.sh" $missing
if [ ! -d "$src/tests/receivers/node_modules/standardwebhooks" ]; then
    echo "deps (receivers): npm ci in tests/receivers"
    (cd "$src/tests/receivers" && npm ci --no-audit --no-fund >/dev/null)
fi
