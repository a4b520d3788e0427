#!/bin/sh
# What the UI's browser test (tests/integration/test_ui.py) needs, installed
# only when missing: Debian's chromium (never a downloaded browser), Node.js
# and npm, and playwright-core and axe-core (accessibility checks) from
# tests/e2e/package-lock.json.
set -e
"$(dirname "$0")/../deps.sh" chromium
# playwright-core downloads no browser; the test uses /usr/bin/chromium.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 exec "$(dirname "$0")/node-packages" ui tests/e2e \
    node_modules/playwright-core node_modules/axe-core
