#!/bin/sh
# What the UI's browser test (tests/integration/test_ui.py) needs, installed
# only when missing: Debian's chromium (never a downloaded browser), Node.js
# and npm, and playwright-core and axe-core (accessibility checks) from
# tests/e2e/package-lock.json.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
missing="chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
"$src/tests/deps.sh" $missing
if [ ! -d "$src/tests/e2e/node_modules/playwright-core" ] || [ ! -d "$src/tests/e2e/node_modules/axe-core" ]; then
    echo "deps (ui): npm ci in tests/e2e"
    # playwright-core downloads no browser; the test uses /usr/bin/chromium.
    (cd "$src/tests/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
fi
