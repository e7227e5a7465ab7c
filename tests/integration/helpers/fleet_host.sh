#!/usr/bin/env bash
# One host of test_fleet.sh's fleet, run by it inside the host's network
# namespace and a mount namespace of its own:
#   fleet_host.sh NAME ADDRESS RUNDIR
# Mounts a /dev/shm of its own (the host sees only its own targets), starts
# the stack of scripts/stack.sh (nginx with TLS on ADDRESS:8443, the
# endpoints with LYNXPROF_HOST=NAME, the demo), writes "NGINX_PID DEMO_PID"
# to RUNDIR/pids and "ready" (or "failed") to RUNDIR/state, and stays until
# TERM, when it stops that stack by pid.  The login and the certificate
# (RUNDIR/conf/tls.crt, tls.key) come from the caller: STACK_USER,
# STACK_PASSWORD in the environment.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../../.." && pwd)"
name="$1" addr="$2" rundir="$3"

mount -t tmpfs -o mode=1777,size=256m "lynxfleet-shm-$name" /dev/shm || {
    echo failed >"$rundir/state"; exit 1; }
. "$src/scripts/stack.sh"
STACK_SRC="$src" STACK_RUNDIR="$rundir"
STACK_PORT=8080 STACK_TLS_PORT=8443 STACK_APP_PORT=8081 STACK_TLS_ADDR="$addr"
STACK_DEMO_NAME=lynx-demo
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$rundir/spool" LYNXPROF_HOST="$name"
unset SERVER_PRODUCTION MAX_PROFILE_DURATION PROFILE_CLEANUP_INTERVAL LYNXPROF_TARGET

stopping=0
stop() {
    [ $stopping = 1 ] && return 0
    stopping=1
    stack_stop
    return 0
}
trap 'stop; exit 0' TERM INT
trap stop EXIT

if ! stack_start; then
    echo failed >"$rundir/state"
    exit 1
fi
echo "$STACK_NGINX_PID $STACK_DEMO_PID" >"$rundir/pids"
echo ready >"$rundir/state"
while :; do
    sleep 1 &
    wait $!
done
