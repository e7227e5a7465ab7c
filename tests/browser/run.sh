#!/usr/bin/env bash
# Browser tests of the /profiling page, in headless Chromium driven by
# playwright-core (installed here from package-lock.json when missing):
#   mock.test.mjs  the page against a scripted API (mock-server.mjs), also
#                  under a sub-path: paths the real stack cannot produce on
#                  demand (a failing server, empty lists);
#   page.test.mjs  the page against the real stack (nginx, endpoints, demo),
#                  started here with scripts/stack.sh on ports 19080/19443/19081;
#   cross-origin.test.mjs  pages of another origin (a second nginx server of
#                  that stack, port 19090) try to start, stop and delete
#                  sessions with the browser's credentials.
# Needs root (the stack creates users and sockets), like the integration
# tests.  Screenshots: tests/browser/screenshots/.  Ends with "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$src/scripts/stack.sh"
stack_private_shm "$@" # a /dev/shm of our own: only our targets are seen

pass=0
fail=0
add_counts() { # log file
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
    if [ -z "$line" ]; then
        fail=$((fail + 1))
        tail -15 "$1" | sed 's/^/#   /'
        return
    fi
    pass=$((pass + ${line%% passed*}))
    fail=$((fail + $(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')))
}

# shellcheck source=tests/browser/deps.sh
. "$here/deps.sh"
if ! browser_deps; then
    echo "not ok - npm ci in tests/browser failed"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$here/screenshots"
tmp=$(mktemp -d /tmp/lynxprof-browser.XXXXXX)
chmod 0755 "$tmp"

# ---- the page against the scripted API ---------------------------------------------
node "$here/mock.test.mjs" 2>&1 | tee "$tmp/mock.log"
add_counts "$tmp/mock.log"

# ---- the page against the real stack --------------------------------------------------
STACK_SRC="$src"
STACK_RUNDIR="$tmp/run"
STACK_PORT=19080 STACK_TLS_PORT=19443 STACK_APP_PORT=19081
STACK_USER=browser STACK_PASSWORD='br0wser-pw'
STACK_DEMO_NAME=lynx-demo
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$STACK_RUNDIR/spool"
unset SERVER_PRODUCTION MAX_PROFILE_DURATION PROFILE_CLEANUP_INTERVAL LYNXPROF_TARGET

cleanup() { stack_stop; rm -rf "$tmp"; }
trap cleanup EXIT

# The other origin: static pages the cross-origin test writes.
other="$tmp/other"
mkdir -p "$other" "$STACK_RUNDIR/conf/extra"
chmod 0755 "$other"
cat >"$STACK_RUNDIR/conf/extra/other-origin.conf" <<CONF
server {
    listen 127.0.0.1:19090;
    server_name _;
    root $other;
}
CONF

# Beside the demo, a target whose program the endpoints cannot read.
if stack_start && stack_start_unreadable_demo secret-demo "$tmp/secret" --threads 1 --intensity 10; then
    LYNXPROF_URL="http://127.0.0.1:$STACK_PORT" LYNXPROF_USER="$STACK_USER" \
        LYNXPROF_PASSWORD="$STACK_PASSWORD" LYNXPROF_DEMO="$STACK_DEMO_NAME" \
        LYNXPROF_DEMO_PID="$STACK_DEMO_PID" LYNXPROF_SECRET=secret-demo \
        LYNXPROF_SECRET_PROG="$STACK_SECRET_PROG" LYNXPROF_FCGI_USER="$STACK_FCGI_USER" \
        node "$here/page.test.mjs" 2>&1 | tee "$tmp/page.log"
    add_counts "$tmp/page.log"
    LYNXPROF_URL="http://127.0.0.1:$STACK_PORT" LYNXPROF_USER="$STACK_USER" \
        LYNXPROF_PASSWORD="$STACK_PASSWORD" LYNXPROF_DEMO="$STACK_DEMO_NAME" \
        LYNXPROF_OTHER_PORT=19090 LYNXPROF_OTHER_DIR="$other" \
        LYNXPROF_ACCESS_LOG="$STACK_RUNDIR/nginx-access.log" \
        node "$here/cross-origin.test.mjs" 2>&1 | tee "$tmp/cross-origin.log"
    add_counts "$tmp/cross-origin.log"
else
    echo "not ok - the stack starts"
    tail -20 "$STACK_RUNDIR"/*.log 2>/dev/null | sed 's/^/#   /'
    fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
