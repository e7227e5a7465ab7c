#!/usr/bin/env bash
# Integration: faults, against the real stack (nginx + spawn-fcgi + the
# endpoints + targets with the agent).  Each section is one failure of
# docs/RELIABILITY.md:
#   stalled     a target stopped (SIGSTOP) during a session
#   ep-kill     an endpoint process killed mid-request
#   spool-full  the spool's filesystem full
#   damaged     spool files truncated or corrupted by hand
#   nginx-hup   nginx reloaded during /debug/pprof/profile
#   exec        a target that execs itself
#   threads     a target with 1,000 threads
#   many        50 profiled processes, one of them hung
# FAULTS_ONLY="a b" runs only the named sections.  Durations are printed as
# "#" comments, never asserted.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"
. "$src/scripts/stack.sh"

STACK_SRC="$src"
STACK_RUNDIR="$T_TMP/run"
STACK_PORT=28280 STACK_TLS_PORT=28643 STACK_APP_PORT=28281
STACK_USER=tester STACK_PASSWORD='s3cret-pw'
STACK_DEMO_NAME=faults-demo-$$
STACK_RATE=1000r/s
STACK_WORKERS=1   # one process per endpoint: the one serving is known
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$STACK_RUNDIR/spool"
unset SERVER_PRODUCTION MAX_PROFILE_DURATION PROFILE_CLEANUP_INTERVAL \
    LYNXPROF_TARGET LYNXPROF_RETENTION
FIXTURE_PIDS=""

cleanup() {
    local p
    for p in $FIXTURE_PIDS; do kill -CONT "$p" 2>/dev/null; done
    # shellcheck disable=SC2086
    [ -n "$FIXTURE_PIDS" ] && stack_kill_pids $FIXTURE_PIDS
    stack_stop
    umount "$T_TMP/small" 2>/dev/null
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

want() { [ -z "${FAULTS_ONLY:-}" ] || [[ " $FAULTS_ONLY " == *" $1 "* ]]; }

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
fi
if ! stack_start; then
    t_fail "stack starts" "$(tail -20 "$STACK_RUNDIR"/*.log 2>/dev/null)"
    t_summary
    exit 1
fi
t_ok "stack starts"

B="http://127.0.0.1:$STACK_PORT"
AUTH=(-u "$STACK_USER:$STACK_PASSWORD")
API="$B/api/v1/profiling"
CPU="$API/cpu"
TG="target=$STACK_DEMO_NAME"

jqr() { printf '%s' "$H_BODY" | jq -r "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f s", a - b }'; }

# pprof_ok FILE: go tool pprof reads FILE.
pprof_ok() {
    PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" go tool pprof -symbolize=none -raw "$1" \
        >/dev/null 2>&1
}

# Wait until session $1 is no longer running (at most $2 seconds).
wait_done() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        http GET "$CPU/status/$1" "${AUTH[@]}"
        [ "$H_CODE" = 200 ] && [ "$(jqr .done)" = true ] && return 0
        sleep 0.1
    done
    return 1
}

# A session of $2 on target $1 that ran to its end; prints its id.
session_done() {
    local id
    id=$(curl -s "${AUTH[@]}" "$CPU/start?duration=$2&hz=250&target=$1" | jq -r .session_id)
    wait_done "$id" 30 >/dev/null
    printf '%s' "$id"
}

# The test's own target program (fixtures/fault_target.c).
FIXTURE="$T_TMP/fault_target"
cc -O1 -g -pthread -o "$FIXTURE" "$here/fixtures/fault_target.c" ||
    t_fail "the fixture builds"
chmod 0755 "$FIXTURE"

# start_fixture NAME ARGS...: run the fixture with the agent; sets FPID.
start_fixture() {
    local name="$1" i
    shift
    LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME="$name" \
        LYNXPROF_GROUP="$STACK_FCGI_USER" \
        "$FIXTURE" "$@" >>"$STACK_RUNDIR/fixture-$name.log" 2>&1 &
    FPID=$!
    FIXTURE_PIDS="$FIXTURE_PIDS $FPID"
    for ((i = 0; i < 100; i++)); do
        [ -e "/dev/shm/lynxprof.$name" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- a target stopped during a session ----------------------------------------
if want stalled; then
    start_fixture "stall-$$"
    stalled=$FPID
    expect "stalled: start a 2s session" 200 '.status == "started"' \
        GET "$CPU/start?duration=2s&hz=250&target=stall-$$" "${AUTH[@]}"
    sid=$(jqr .session_id)
    sleep 1
    kill -STOP "$stalled"
    t0=$(now)
    sleep 3
    expect "stalled: still running within duration + grace" 200 \
        '.status == "running"' GET "$CPU/status/$sid" "${AUTH[@]}"
    failed_in=""
    for ((i = 0; i < 200; i++)); do
        http GET "$CPU/status/$sid" "${AUTH[@]}"
        if [ "$(jqr .status)" = failed ]; then failed_in=$(since "$t0"); break; fi
        sleep 0.1
    done
    t_check "stalled: the session ends failed (after ${failed_in:-never})" test -n "$failed_in"
    expect "stalled: reason and samples kept" 200 \
        '.status == "failed" and .done == true and .error == "target stopped responding" and .samples > 0 and .data_size > 0' \
        GET "$CPU/status/$sid" "${AUTH[@]}"
    curl -s "${AUTH[@]}" -o "$T_TMP/stalled.pb.gz" "$CPU/download/$sid"
    t_check "stalled: its samples download and parse" pprof_ok "$T_TMP/stalled.pb.gz"
    expect "stalled: listed once, failed" 200 \
        "[.sessions[] | select(.session_id == \"$sid\")] | length == 1 and .[0].status == \"failed\"" \
        GET "$CPU/sessions?target=stall-$$" "${AUTH[@]}"
    expect "stalled: a synchronous profile of it fails with the reason" 503 \
        '.error | test("target stopped responding|not responding")' \
        GET "$B/debug/pprof/profile?seconds=1&target=stall-$$" "${AUTH[@]}" --max-time 40
    kill -CONT "$stalled"
    sleep 1
    expect "stalled, resumed: the verdict stays failed" 200 \
        '.status == "failed" and .error == "target stopped responding"' \
        GET "$CPU/status/$sid" "${AUTH[@]}"
    started=""
    for ((i = 0; i < 50; i++)); do
        http GET "$CPU/start?duration=1s&hz=250&target=stall-$$" "${AUTH[@]}"
        [ "$H_CODE" = 200 ] && { started=$(jqr .session_id); break; }
        sleep 0.1
    done
    t_check "stalled, resumed: the target takes a new session" test -n "$started"
    wait_done "$started" 20
    expect "stalled, resumed: the new session completes with samples" 200 \
        '.status == "completed" and .samples > 0 and .data_size > 0' \
        GET "$CPU/status/$started" "${AUTH[@]}"
    expect "stalled, resumed: the old one is still listed once, failed" 200 \
        "[.sessions[] | select(.session_id == \"$sid\")] | length == 1 and .[0].status == \"failed\"" \
        GET "$CPU/sessions?target=stall-$$" "${AUTH[@]}"
fi

t_summary
