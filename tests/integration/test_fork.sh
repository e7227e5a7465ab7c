#!/usr/bin/env bash
# Integration: fork safety.  A target (tests/integration/forkstorm.c) forks
# thousands of children from four threads -- children that allocate, walk
# the loaded modules, start a thread, exec; vfork, posix_spawn, system() --
# while other threads contend for a lock and create threads.  It runs with
# the agent idle, then under a 1000 Hz CPU profile, a heap rate of 4096
# bytes and a thread dump every second through nginx, then idle again.
# No child may hang or crash, every dump must be answered, the target must
# still answer at the end, and the profiled fork rate must be at least half
# the idle one (the mean of both idle runs).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack fork-demo-$$ 28480
STACK_DEMO_ARGS="--threads 1"
STACK_RATE=500r/s
NAME=fork-storm-$$
IDLE_SECONDS=${FORK_IDLE_SECONDS:-8}
STORM_SECONDS=${FORK_STORM_SECONDS:-25}

STORM_PID=""
DUMP_PID=""
cleanup() {
    [ -n "$DUMP_PID" ] && kill "$DUMP_PID" 2>/dev/null
    [ -n "$STORM_PID" ] && stack_kill_pids "$STORM_PID"
    stack_stop
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

storm_bin="${STACK_BUILD:-$src/build}/tests/integration/forkstorm"
if [ ! -x "$storm_bin" ]; then
    t_fail "forkstorm is built" "missing $storm_bin"
    t_summary
    exit 1
fi
it_stack_start
# The endpoints (another user) read the target's executable to symbolize.
cp "$storm_bin" "$STACK_RUNDIR/forkstorm"
chmod 0755 "$STACK_RUNDIR/forkstorm"

TG="target=$NAME"

# storm LOG SECONDS [LINGER]: the target with the agent preloaded, in the
# background (STORM_PID); waits for its control block.
storm() {
    LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME="$NAME" \
        LYNXPROF_GROUP="$STACK_FCGI_USER" LYNXPROF_HEAP_RATE=4096 \
        LYNXPROF_HEAP_SAMPLE_LIMIT=0 "$STACK_RUNDIR/forkstorm" --seconds "$2" --forkers 4 --lockers 2 \
        --hang-timeout 5 --linger "${3:-0}" >"$1" 2>&1 &
    STORM_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        [ -e "/dev/shm/lynxprof.$NAME" ] && return 0
        sleep 0.1
    done
    return 1
}

# result LOG KEY: a key=value of the target's result line.
result() { grep -E '^forks=' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# idle_run N: the same program with the agent idle (no profile, no dump).
idle_run() {
    local log="$T_TMP/idle$1.log" rc
    storm "$log" "$IDLE_SECONDS" || t_fail "idle target starts" "$(cat "$log")"
    wait "$STORM_PID"
    rc=$?
    STORM_PID=""
    t_check "agent idle ($1): no child hung, crashed or failed (exit $rc)" test "$rc" = 0
    [ "$rc" = 0 ] || sed 's/^/#   /' "$log" | head -20
    echo "# agent idle ($1): $(grep -E '^forks=' "$log")"
}

# ---- 1. the same program, agent idle (again after the storm: the machine's
# load drifts, the mean of both is the reference) ------------------------------------
idle_run 1

# ---- 2. profiled: CPU at 1000 Hz, heap rate 4096, a dump every second ---------------
if ! storm "$T_TMP/storm.log" "$STORM_SECONDS" 30; then
    t_fail "profiled target starts" "$(cat "$T_TMP/storm.log")"
    t_summary
    exit 1
fi
expect "CPU session at 1000 Hz starts" 200 '.status == "started" or .status == "running"' \
    GET "$B/api/v1/profiling/cpu/start?duration=$((STORM_SECONDS + 20))s&hz=1000&$TG" "${AUTH[@]}"
session=$(printf '%s' "$H_BODY" | jq -r .session_id)

# A thread dump every second, through nginx; each answer is logged.
(
    while kill -0 "$STORM_PID" 2>/dev/null; do
        code=$(curl -s -o "$T_TMP/dump.txt" -w '%{http_code}' --max-time 20 \
            "${AUTH[@]}" "$B/debug/pprof/goroutine?debug=1&$TG" 2>/dev/null)
        if [ "$code" = 200 ] && head -1 "$T_TMP/dump.txt" |
            grep -Eq '^goroutine profile: total [0-9]+$'; then
            echo ok
        else
            echo "failed $code $(head -c 200 "$T_TMP/dump.txt")"
        fi
        grep -q '^forks=' "$T_TMP/storm.log" && break
        sleep 1
    done >"$T_TMP/dumps.log"
) &
DUMP_PID=$!

# Wait for the storm's result line (the target lingers afterwards).
for ((i = 0; i < STORM_SECONDS + 40; i++)); do
    grep -q '^forks=' "$T_TMP/storm.log" && break
    stack_alive "$STORM_PID" || break
    sleep 1
done
wait "$DUMP_PID"
DUMP_PID=""
storm_line=$(grep -E '^forks=' "$T_TMP/storm.log")
echo "# profiled: ${storm_line:-no result}"
t_check "profiled: the storm finished" test -n "$storm_line"
hung=$(result "$T_TMP/storm.log" hung)
crashed=$(result "$T_TMP/storm.log" crashed)
failed=$(result "$T_TMP/storm.log" failed)
forks=$(result "$T_TMP/storm.log" forks)
prof_rate=$(result "$T_TMP/storm.log" rate)
if [ "${hung:-x}" = 0 ]; then
    t_ok "profiled: 0 of ${forks:-?} children hung"
else
    t_fail "profiled: 0 of ${forks:-?} children hung" "hung=${hung:-?}" \
        "$(grep -E '^hung' "$T_TMP/storm.log" | head -5)"
fi
t_check "profiled: 0 children crashed, 0 failed (crashed=${crashed:-?} failed=${failed:-?})" \
    test "${crashed:-x}" = 0 -a "${failed:-x}" = 0
t_check "profiled: over a thousand forks (${forks:-0})" test "${forks:-0}" -ge 1000
ndumps=$(grep -c . "$T_TMP/dumps.log")
nok=$(grep -c '^ok$' "$T_TMP/dumps.log")
if [ "$nok" = "$ndumps" ] && [ "$ndumps" -ge $((STORM_SECONDS / 3)) ]; then
    t_ok "profiled: every thread dump answered ($nok of $ndumps)"
else
    t_fail "profiled: every thread dump answered ($nok of $ndumps)" \
        "$(grep -v '^ok$' "$T_TMP/dumps.log" | head -5)"
fi
t_check "profiled: the target is alive" stack_alive "$STORM_PID"
t_check "profiled: its control block is still there" test -e "/dev/shm/lynxprof.$NAME"
expect "profiled: the memory endpoint still answers for it" 200 \
    ".target.pid == $STORM_PID" GET "$B/api/v1/profiling/memory?$TG" "${AUTH[@]}"
expect "profiled: the CPU session is still running or completed" 200 \
    '.status == "running" or .status == "completed"' \
    GET "$B/api/v1/profiling/cpu/status/$session" "${AUTH[@]}"
http POST "$B/api/v1/profiling/cpu/stop/$session" "${AUTH[@]}"
# 409 when it had already run its whole duration on a slow machine.
t_check "the CPU session stops ($H_CODE)" test "$H_CODE" = 200 -o "$H_CODE" = 409
stack_kill_pids "$STORM_PID"
STORM_PID=""

# ---- 3. idle again; the rates compared -----------------------------------------------
idle_run 2
idle_rate=$(awk -v a="$(result "$T_TMP/idle1.log" rate)" \
    -v b="$(result "$T_TMP/idle2.log" rate)" 'BEGIN{ printf "%.1f", (a + b) / 2 }')
ratio=$(awk -v p="${prof_rate:-0}" -v i="${idle_rate:-0}" 'BEGIN{ if (i > 0) printf "%.2f", p / i; else print 0 }')
echo "# forks/s: idle ${idle_rate:-?} (mean of two runs), profiled ${prof_rate:-?}, ratio $ratio"
t_check "profiled fork rate at least half the idle one ($ratio)" \
    awk -v r="$ratio" 'BEGIN{ exit !(r >= 0.5) }'

t_summary
