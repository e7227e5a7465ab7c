# Sourced by the tests that drive the page in Chromium: playwright-core,
# installed into tests/browser/node_modules from package-lock.json when it
# is not there yet (npm needs the registry: call this before entering a
# network namespace).
#   browser_deps   0 when playwright-core is there (installed now or before)
browser_deps() {
    local dir
    dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    [ -f "$dir/node_modules/playwright-core/package.json" ] && return 0
    echo "# installing playwright-core (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1)
}
