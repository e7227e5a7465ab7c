#!/usr/bin/env bash
# Integration: what a thread dump does to a program blocked in system calls
# (fixtures/eintr_target.c: one thread blocked in each call, counting what
# the call returns).
#   - the default dump signals every thread: the calls docs/API.md lists as
#     interrupted return EINTR, the others do not;
#   - ?running_only=1 signals no blocked thread: no call returns, and the
#     blocked threads are listed with their state and wchan, no stack.
# The counts are printed as a "#" table.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack eintr-demo-$$ 28480
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"

cleanup() {
    stack_stop
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

# Calls docs/API.md says a default dump interrupts (EINTR), and those it
# says it does not.
INTERRUPTED="nanosleep poll epoll_wait select sem_timedwait"
NOT_INTERRUPTED="read mutex_lock accept recv"
ALL="read nanosleep poll epoll_wait select sem_timedwait cond_wait mutex_lock accept recv"

it_stack_start

NAME="eintr-$$"
COUNTS="$T_TMP/counts"

FIXTURE="$T_TMP/eintr_target"
cc -O1 -g -pthread -o "$FIXTURE" "$here/fixtures/eintr_target.c" ||
    t_fail "the fixture builds"
chmod 0755 "$FIXTURE"
stack_start_target "$NAME" "$FIXTURE" "$COUNTS" || t_fail "the fixture starts"

ready=""
for ((i = 0; i < 100; i++)); do
    grep -qx ready "$COUNTS" 2>/dev/null && { ready=1; break; }
    sleep 0.1
done
t_check "every thread of the fixture is blocked in its call" test -n "$ready"
sleep 0.3 # from "entered" to inside the kernel

# counts: "call eintr other" lines, once the file is rewritten after a dump.
counts() { sleep 0.5; grep -v '^ready$' "$COUNTS"; }
# delta BEFORE AFTER CALL FIELD(2 eintr, 3 other)
delta() {
    local a b
    a=$(printf '%s\n' "$1" | awk -v c="$3" -v f="$4" '$1 == c { print $f }')
    b=$(printf '%s\n' "$2" | awk -v c="$3" -v f="$4" '$1 == c { print $f }')
    echo $((b - a))
}

# ---- running_only: nothing is interrupted -------------------------------------
c0=$(counts)
http GET "$B/debug/pprof/goroutine?debug=2&running_only=1&target=$NAME" "${AUTH[@]}"
t_check "running_only debug=2: 200" test "$H_CODE" = 200
dump2="$H_BODY"
http GET "$B/debug/pprof/goroutine?debug=1&running_only=true&target=$NAME" "${AUTH[@]}"
t_check "running_only debug=1: 200" test "$H_CODE" = 200
dump1="$H_BODY"
curl -s "${AUTH[@]}" -o "$T_TMP/ro.pprof" \
    "$B/api/v1/profiling/goroutine?running_only=1&target=$NAME"
c1=$(counts)

bad=""
for c in $ALL; do
    n=$(($(delta "$c0" "$c1" "$c" 2) + $(delta "$c0" "$c1" "$c" 3)))
    [ "$n" -eq 0 ] || bad="$bad $c:$n"
done
t_check "running_only: no blocked call returned (${bad:-none})" test -z "$bad"

missing=""
for c in $ALL; do
    t="b_$c"
    t="${t:0:15}"
    text_pipe "$dump2" "grep -A1 -F '\"$t\" [S (sleeping)]' |
        grep -qE 'blocked in syscall: [a-z_][a-z0-9_.]*; not interrupted'" ||
        missing="$missing $c"
done
t_check "running_only debug=2: each blocked thread listed with state and wchan (missing:${missing:-none})" \
    test -z "$missing"
t_check "running_only debug=2: the header counts them" \
    text_pipe "$dump2" "head -1 | grep -qE '[0-9]+ blocked in syscalls not interrupted'"
# The agent's own thread runs (it takes the dump): it keeps its stack.
t_check "running_only debug=2: a running thread still has a stack" \
    text_pipe "$dump2" "grep -A4 '(lynxprof agent):' | grep -q 'agent_main\|serve_slot\|dispatch'"
t_check "running_only debug=1: a line per blocked thread" \
    text_pipe "$dump1" "grep -cE '^# thread [0-9]+ \"b_.*blocked in syscall: ' | grep -qx 10"
raw=$(go tool pprof -symbolize=none -raw "$T_TMP/ro.pprof" 2>&1)
t_check "running_only pprof: go tool pprof reads it, a blocked thread is a pseudo-frame with its wchan" \
    text_pipe "$raw" "grep -qE '\\[blocked in syscall: (do_epoll_wait|ep_poll)'"
t_check "running_only pprof: labelled with wchan and thread_state" \
    text_pipe "$raw" "grep -qE 'wchan:\\[[a-z_].*thread_state:\\[S\\]|thread_state:\\[S\\].*wchan:\\[[a-z_]'"
top=$(go tool pprof -symbolize=none -top "$T_TMP/ro.pprof" 2>&1)
nframes=$(printf '%s\n' "$top" | grep -c '\[blocked in syscall: ')
# 10 threads, several waiting in the same kernel function: one line each.
t_check "running_only pprof: -top lists the pseudo-frames ($nframes distinct wchans)" \
    test "$nframes" -ge 4

# ---- the default dump: the documented calls see EINTR -----------------------------
c1=$(counts)
http GET "$B/debug/pprof/goroutine?debug=2&target=$NAME" "${AUTH[@]}"
t_check "default debug=2: 200" test "$H_CODE" = 200
c2=$(counts)
curl -s "${AUTH[@]}" -o "$T_TMP/full.pprof" \
    "$B/api/v1/profiling/goroutine?target=$NAME"
c3=$(counts)

echo "# one default dump (debug=2), then one /api/v1/profiling/goroutine:"
echo "# call            EINTR  other returns"
for c in $ALL; do
    printf '#   %-14s %5s %6s | %5s %6s\n' "$c" \
        "$(delta "$c1" "$c2" "$c" 2)" "$(delta "$c1" "$c2" "$c" 3)" \
        "$(delta "$c2" "$c3" "$c" 2)" "$(delta "$c2" "$c3" "$c" 3)"
done
for c in $INTERRUPTED; do
    t_check "default dump: $c returned EINTR (as documented)" \
        test "$(delta "$c1" "$c2" "$c" 2)" -ge 1 -a "$(delta "$c2" "$c3" "$c" 2)" -ge 1
done
for c in $NOT_INTERRUPTED; do
    n=$(($(delta "$c1" "$c3" "$c" 2) + $(delta "$c1" "$c3" "$c" 3)))
    t_check "default dump: $c did not return (as documented)" test "$n" -eq 0
done

t_summary
