#!/usr/bin/env bash
# Integration: the errors a first-time user meets say how to fix them, and
# every CPU session endpoint takes ?target= (through nginx, as a client sees
# them).  Targets made for the purpose: one started without LYNXPROF_GROUP,
# a program started without the agent, a stopped one, a killed one, and
# control blocks of an older and a newer layout version (helpers/
# block_version.c); sessions of two targets addressed with the right and
# the wrong target.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack err-demo 38480
STACK_RATE=500r/s
EXTRA_PIDS=""

cleanup() {
    local p
    for p in $EXTRA_PIDS; do kill -CONT "$p" 2>/dev/null; done
    # shellcheck disable=SC2086
    [ -n "$EXTRA_PIDS" ] && stack_kill_pids $EXTRA_PIDS
    stack_stop
    rm -rf "$T_TMP"
}
trap cleanup EXIT

it_stack_start

GROUP=$STACK_FCGI_USER    # the endpoints' group, as stack.sh runs them


# A second target with the agent, and one started like a first-time user
# would: with the agent but without LYNXPROF_GROUP (its block is 0600).
DEMO_PID=$STACK_DEMO_PID
stack_start_demo other --threads 1 --intensity 20
OTHER_PID=$STACK_DEMO_PID
LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME=nogroup "$STACK_BIN/lynx-demo" \
    --threads 1 --intensity 10 >"$T_TMP/nogroup.log" 2>&1 &
NOGROUP_PID=$!
EXTRA_PIDS="$EXTRA_PIDS $NOGROUP_PID"
# And a program without the agent at all.
"$STACK_BIN/lynx-demo" --threads 1 --intensity 10 >"$T_TMP/plain.log" 2>&1 &
PLAIN_PID=$!
EXTRA_PIDS="$EXTRA_PIDS $PLAIN_PID"
for ((i = 0; i < 50; i++)); do
    [ -e /dev/shm/lynxprof.nogroup ] && break
    sleep 0.1
done
t_check "a target started without LYNXPROF_GROUP has a 0600 block" \
    test "$(stat -c %a /dev/shm/lynxprof.nogroup 2>/dev/null)" = 600

# ---- errors that name their fix ------------------------------------------------
fix="LYNXPROF_GROUP=$GROUP"
expect "no LYNXPROF_GROUP: memory answers 503 naming the fix ($fix)" 503 \
  ".error | (test(\"permission denied on the control block of target 'nogroup'\") and
             test(\"owner root, group root, mode 0600\") and
             test(\"start the target with $fix\$\"))" \
  GET "$MEM?target=nogroup" "${AUTH[@]}"
expect "no LYNXPROF_GROUP: cpu/start gives the same advice" 503 \
  ".error | test(\"start the target with $fix\")" \
  GET "$CPU/start?duration=1s&target=nogroup" "${AUTH[@]}"
expect "no LYNXPROF_GROUP: heap too" 503 ".error | test(\"$fix\")" \
  GET "$API/heap?target=nogroup" "${AUTH[@]}"
expect "no LYNXPROF_GROUP: /debug/pprof too" 503 ".error | test(\"$fix\")" \
  GET "$B/debug/pprof/goroutine?target=nogroup" "${AUTH[@]}"
expect "targets: the unusable one is listed with the fix" 200 \
  "[.targets[] | select(.name == \"nogroup\")][0] | (.alive == false and
      (.error | test(\"start the target with $fix\$\")))" \
  GET "$API/targets" "${AUTH[@]}"
expect "targets: usable ones carry no error" 200 \
  '[.targets[] | select(.alive and has("error"))] | length == 0' \
  GET "$API/targets" "${AUTH[@]}"

expect "unknown target: 404 listing the running targets" 404 \
  '.error | test("^unknown target .nosuch.; running targets: err-demo, other$")' \
  GET "$MEM?target=nosuch" "${AUTH[@]}"
expect "several targets, none named: 400 listing them" 400 \
  '.error | test("choose one with target=: err-demo, other$")' \
  GET "$MEM" "${AUTH[@]}"
expect "a program without the agent: 404 saying so, with its pid and the fix" 404 \
  ".error | (test(\"a program called .lynx-demo. runs without a lynxprof agent of that name \\\\(pid [0-9, ]*\\\\b$PLAIN_PID\\\\b\") and
             test(\"LD_PRELOAD=/[^ ]*/libprofile-agent.so LYNXPROF_NAME=lynx-demo $fix\") and
             (test(\"\\\\(pid [^)]*\\\\b($DEMO_PID|$OTHER_PID)\\\\b\") | not))" \
  GET "$MEM?target=lynx-demo" "${AUTH[@]}"

# Blocks of another release's agent.
helper="$T_TMP/block_version"
if gcc -std=gnu11 -Wall -I"$src/lib" -I"$src/lib/include" -o "$helper" "$here/helpers/block_version.c" \
        2>"$T_TMP/helper.log"; then
    ours=$("$helper" err-demo newer 999)
    "$helper" err-demo older 0 >/dev/null
    expect "newer agent: 503 naming both versions" 503 \
      ".error | (test(\"target 'newer': incompatible agent: its control block has layout version 999 and these endpoints read version $ours\") and
                 test(\"newer than the endpoints\") and test(\"LD_PRELOAD=/[^ ]*/libprofile-agent.so\"))" \
      GET "$MEM?target=newer" "${AUTH[@]}"
    expect "older agent: 503 naming both versions" 503 \
      ".error | (test(\"layout version 0 and these endpoints read version $ours\") and
                 test(\"older than the endpoints\"))" \
      GET "$MEM?target=older" "${AUTH[@]}"
    rm -f /dev/shm/lynxprof.newer /dev/shm/lynxprof.older
else
    t_fail "helpers/block_version.c builds" "$(cat "$T_TMP/helper.log")"
fi

# ---- ?target= on every session endpoint ------------------------------------------
http GET "$CPU/start?duration=1s&target=err-demo" "${AUTH[@]}"
A=$(jqr .session_id)
http GET "$CPU/start?duration=60s&target=other" "${AUTH[@]}"
O=$(jqr .session_id)
t_check "sessions started on two targets" bash -c "[[ '$A' == cpu_* && '$O' == cpu_* ]]"
for ((i = 0; i < 50; i++)); do
    http GET "$CPU/status/$A" "${AUTH[@]}"
    [ "$(jqr .status)" = completed ] && break
    sleep 0.2
done
wrong="Profile session not found on target 'other' \\\\($A is a session of target 'err-demo'\\\\)"
expect "status?target=own target: 200" 200 '.target == "err-demo" and .status == "completed"' \
  GET "$CPU/status/$A?target=err-demo" "${AUTH[@]}"
expect "status?target=another target: 404" 404 ".error | test(\"^$wrong\$\")" \
  GET "$CPU/status/$A?target=other" "${AUTH[@]}"
expect "status?target=malformed: 400" 400 '.error | test("invalid target")' \
  GET "$CPU/status/$A?target=..%2Fx" "${AUTH[@]}"
expect "status?target= of an unknown session: 404" 404 '.error == "Profile session not found"' \
  GET "$CPU/status/cpu_1?target=err-demo" "${AUTH[@]}"
code=$(curl -s -o "$T_TMP/pprof" -w '%{http_code}' "${AUTH[@]}" "$CPU/download/$A?target=err-demo")
t_check "download?target=own target: 200, gzipped" \
  bash -c "[ '$code' = 200 ] && [ \"\$(head -c2 '$T_TMP/pprof' | od -An -tx1 | tr -d ' ')\" = 1f8b ]"
expect "download?target=another target: 404" 404 ".error | test(\"^$wrong\$\")" \
  GET "$CPU/download/$A?target=other" "${AUTH[@]}"
expect "flame?target=own target: 200" 200 '.session_id and (.functions | length > 0)' \
  GET "$CPU/flame/$A?target=err-demo" "${AUTH[@]}"
http GET "$CPU/flame/$A?format=folded&target=err-demo" "${AUTH[@]}"
t_check "flame?format=folded&target=own target: 200" test "$H_CODE" = 200
expect "flame?target=another target: 404" 404 ".error | test(\"^$wrong\$\")" \
  GET "$CPU/flame/$A?target=other" "${AUTH[@]}"
expect "sessions?target= filters by target" 200 \
  "([.sessions[].session_id] | index(\"$A\") != null) and ([.sessions[] | select(.target != \"err-demo\")] | length == 0)" \
  GET "$CPU/sessions?target=err-demo" "${AUTH[@]}"

expect "stop?target=another target: 404" 404 ".error | test(\"$O is a session of target 'other'\")" \
  POST "$CPU/stop/$O?target=err-demo" "${AUTH[@]}"
expect "... and the session still runs" 200 '.status == "running"' GET "$CPU/status/$O" "${AUTH[@]}"
expect "stop?target=own target: 200 cancelled" 200 '.status == "cancelled"' \
  POST "$CPU/stop/$O?target=other" "${AUTH[@]}"
expect "delete?target=another target: 404" 404 ".error | test(\"^$wrong\$\")" \
  DELETE "$CPU/sessions/$A?target=other" "${AUTH[@]}"
expect "... and the session is still there" 200 '.status == "completed"' GET "$CPU/status/$A" "${AUTH[@]}"
expect "delete?target=own target: 200" 200 '.status == "deleted"' \
  DELETE "$CPU/sessions/$A?target=err-demo" "${AUTH[@]}"
expect "POST delete?target=own target: 200" 200 '.status == "deleted"' \
  POST "$CPU/delete/$O?target=other" "${AUTH[@]}"

# ---- a stopped and a dead target ----------------------------------------------------
kill -STOP "$OTHER_PID"
sleep 3.5
expect "stopped target: 503 saying it is stopped and how to resume it" 503 \
  ".error | test(\"target 'other': agent is not responding .*process $OTHER_PID is stopped.*kill -CONT $OTHER_PID\$\")" \
  GET "$MEM?target=other" "${AUTH[@]}"
kill -CONT "$OTHER_PID"
{ kill -KILL "$OTHER_PID"; wait "$OTHER_PID"; } 2>/dev/null
expect "killed target: 503 with its pid and what to do" 503 \
  ".error | test(\"target 'other': target process has exited \\\\(pid $OTHER_PID\\\\); /dev/shm/lynxprof.other is what it left\")" \
  GET "$MEM?target=other" "${AUTH[@]}"

# ---- nothing usable, no target named: the first run of a new user ----------------
{ kill -KILL "$DEMO_PID"; wait "$DEMO_PID"; } 2>/dev/null
expect "only a target without LYNXPROF_GROUP left: 503 naming the fix" 503 \
  ".error | test(\"^target not running: permission denied on the control block of target 'nogroup'.*start the target with $fix\$\")" \
  GET "$MEM" "${AUTH[@]}"
stack_kill_pids "$NOGROUP_PID"
rm -f /dev/shm/lynxprof.nogroup
expect "no target at all: 503 saying how to start one" 503 \
  ".error | test(\"^target not running: no process with the lynxprof agent runs on this host; start the program to profile with LD_PRELOAD=/[^ ]*/libprofile-agent.so $fix\$\")" \
  GET "$MEM" "${AUTH[@]}"

t_summary
