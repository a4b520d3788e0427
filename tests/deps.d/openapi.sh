#!/bin/sh
# What the OpenAPI suite (tests/integration/test_openapi.py) needs beyond
# tests/deps.sh: Node.js and npm from Debian, and Redocly's linter and Prism's
# validating proxy from tests/openapi/package-lock.json.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
"$src/tests/deps.sh" $missing
if [ ! -x "$src/tests/openapi/node_modules/.bin/redocly" ] ||
   [ ! -x "$src/tests/openapi/node_modules/.bin/prism" ]; then
    echo "deps (openapi): npm ci in tests/openapi"
    (cd "$src/tests/openapi" && npm ci --no-audit --no-fund >/dev/null)
fi
