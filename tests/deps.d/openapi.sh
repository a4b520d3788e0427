#!/bin/sh
# What the OpenAPI suite (tests/integration/test_openapi.py) needs beyond
# tests/deps.sh: Node.js and npm from Debian, and Redocly's linter and Prism's
# validating proxy from tests/openapi/package-lock.json.
exec "$(dirname "$0")/node-packages" openapi tests/openapi \
    node_modules/.bin/redocly node_modules/.bin/prism
