#!/usr/bin/env bash
# Flame graph speed in headless Chromium (see bench/flame_browser.mjs):
#   bench/flame_browser.sh [--stacks N] [--runs R]
# Installs playwright-core into tests/browser/node_modules when missing.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$src/tests/browser/node_modules/playwright-core/package.json" ]; then
    (cd "$src/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
exec node "$src/bench/flame_browser.mjs" "$@"
