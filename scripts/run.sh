#!/usr/bin/env bash
# lynxprof: install what is missing, build, and run the whole stack in the
# foreground until Ctrl-C: nginx on 127.0.0.1:$LYNXPROF_PORT (default 8080)
# with every endpoint and the web page, the demo target with the agent, and
# an htpasswd login that is printed.
#
# Environment (all optional):
#   LYNXPROF_USER, LYNXPROF_PASSWORD  the login (default admin + a random one)
#   LYNXPROF_PORT      HTTP port (default 8080); HTTPS is LYNXPROF_TLS_PORT
#                      (default 8443), the demo application LYNXPROF_APP_PORT
#                      (default 8081)
#   LYNXPROF_RUNDIR    state directory (default /run/lynxprof)
#   LYNXPROF_AGENT_KIND
#                      the agent preloaded into the demo: full (default,
#                      libprofile-agent.so) or cpu (libprofile-agent-cpu.so:
#                      CPU profiles, threads and memory statistics only)
#   PROFILING_ENABLED, SERVER_PRODUCTION, MAX_PROFILE_DURATION,
#   PROFILE_CLEANUP_INTERVAL, LYNXPROF_RETENTION: passed to the endpoints
#   (PROFILING_ENABLED defaults to true here, so that everything is on)
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env=LYNXPROF_USER,LYNXPROF_PASSWORD,LYNXPROF_PORT,LYNXPROF_TLS_PORT,LYNXPROF_APP_PORT,LYNXPROF_RUNDIR,LYNXPROF_AGENT_KIND,LYNXPROF_HEAP_COUNTERS,PROFILING_ENABLED,SERVER_PRODUCTION,MAX_PROFILE_DURATION,PROFILE_CLEANUP_INTERVAL,LYNXPROF_RETENTION "$0" "$@"
fi

STACK_RUNDIR="${LYNXPROF_RUNDIR:-/run/lynxprof}"
STACK_PORT="${LYNXPROF_PORT:-8080}"
STACK_TLS_PORT="${LYNXPROF_TLS_PORT:-8443}"
STACK_APP_PORT="${LYNXPROF_APP_PORT:-8081}"
STACK_USER="${LYNXPROF_USER:-admin}"
STACK_AGENT_KIND="${LYNXPROF_AGENT_KIND:-full}"
STACK_SRC="$src"

# One copy at a time: a second one says so instead of half-starting.
mkdir -p "$STACK_RUNDIR"
exec 9>"$STACK_RUNDIR.lock"
if ! flock -n 9; then
    echo "lynxprof is already running (pid $(cat "$STACK_RUNDIR.pid" 2>/dev/null || echo '?'), state in $STACK_RUNDIR); stop it with Ctrl-C first" >&2
    exit 1
fi
echo $$ >"$STACK_RUNDIR.pid"
# First, so that the port check below has ss (iproute2) on a fresh machine.
"$src/scripts/install-deps.sh" run
for port in "$STACK_PORT" "$STACK_TLS_PORT" "$STACK_APP_PORT"; do
    if ss -Htln "sport = :$port" | grep -q .; then
        echo "lynxprof: port $port on this machine is already in use; set LYNXPROF_PORT, LYNXPROF_TLS_PORT or LYNXPROF_APP_PORT" >&2
        exit 1
    fi
done

echo "lynxprof: building..."
"$src/scripts/build.sh"

if [ -n "${LYNXPROF_PASSWORD:-}" ]; then
    STACK_PASSWORD="$LYNXPROF_PASSWORD"
else
    STACK_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)"
fi
export PROFILING_ENABLED="${PROFILING_ENABLED:-true}"
export LYNXPROF_SPOOL_DIR="$STACK_RUNDIR/spool"
# The demo shows every part of the page: its exact allocation counters are
# on (off by default in the agent, for their cost: README, "Agent").
export LYNXPROF_HEAP_COUNTERS="${LYNXPROF_HEAP_COUNTERS:-1}"

# shellcheck source=scripts/stack.sh
. "$src/scripts/stack.sh"
stopping=0
sleeper=""
shutdown() {
    [ $stopping = 1 ] && return
    stopping=1
    echo
    echo "lynxprof: stopping..."
    [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
    stack_stop
    rm -f "$STACK_RUNDIR.pid"
    echo "lynxprof: stopped"
}
trap 'shutdown; exit 0' INT TERM
trap shutdown EXIT

# Children must not hold the lock after we are gone.
stack_start 9>&- || { echo "lynxprof: start failed" >&2; exit 1; }

cat <<MSG

lynxprof is running.
  login:        $STACK_USER / $STACK_PASSWORD
  web page:     http://127.0.0.1:$STACK_PORT/profiling/
  memory:       http://127.0.0.1:$STACK_PORT/api/v1/profiling/memory
  targets:      http://127.0.0.1:$STACK_PORT/api/v1/profiling/targets
  application:  http://127.0.0.1:$STACK_PORT/   (the demo, reverse-proxied)
  agent:        $(basename "$STACK_AGENT") (LYNXPROF_AGENT_KIND=$STACK_AGENT_KIND)
  over TLS:     https://127.0.0.1:$STACK_TLS_PORT/  (self-signed certificate)
  try:          curl -u '$STACK_USER:$STACK_PASSWORD' http://127.0.0.1:$STACK_PORT/api/v1/profiling/memory
  logs:         $STACK_RUNDIR/*.log
Press Ctrl-C to stop.
MSG

# Wait until Ctrl-C, or until a part of the stack dies.
while :; do
    # shellcheck disable=SC2086
    for p in $STACK_PIDS; do
        if ! stack_alive "$p"; then
            echo "lynxprof: process $p ($(cat /proc/$p/comm 2>/dev/null || echo exited)) stopped; shutting down" >&2
            exit 1
        fi
    done
    sleep 1 &
    sleeper=$!
    wait "$sleeper" || true
done
