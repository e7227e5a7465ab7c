#!/usr/bin/env bash
# Integration: command 1 of the README (scripts/run.sh) as a user runs it:
# it starts everything, prints the login, refuses a second copy, and stops
# everything it started on SIGTERM (as on Ctrl-C).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

export LYNXPROF_RUNDIR="$T_TMP/run" LYNXPROF_PORT=19180 LYNXPROF_TLS_PORT=19543
export LYNXPROF_APP_PORT=19181 LYNXPROF_USER=runner LYNXPROF_PASSWORD=run-pw-1
out="$T_TMP/run.out"
"$src/scripts/run.sh" >"$out" 2>&1 &
run_pid=$!
cleanup() { kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; rm -rf "$T_TMP"; }
trap cleanup EXIT

for ((i = 0; i < 600; i++)); do
    grep -q "Press Ctrl-C to stop" "$out" && break
    stack_alive "$run_pid" || break
    sleep 0.1
done
t_check "run.sh starts and says so" grep -q "lynxprof is running" "$out"
t_check "run.sh prints the login it was given" grep -q "login: *runner / run-pw-1" "$out"
expect "memory answers with that login" 200 '.target.name == "lynx-demo"' \
  GET "http://127.0.0.1:19180/api/v1/profiling/memory" -u runner:run-pw-1
expect "wrong password refused" 401 '.error' \
  GET "http://127.0.0.1:19180/api/v1/profiling/memory" -u runner:nope

second=$("$src/scripts/run.sh" 2>&1); rc=$?
t_check "a second copy refuses to start" test "$rc" = 1
t_check "and says one is running" bash -c "printf '%s' \"\$0\" | grep -q 'already running'" "$second"
expect "the first copy still serves" 200 '.target.name' \
  GET "http://127.0.0.1:19180/api/v1/profiling/memory" -u runner:run-pw-1

nginx_pid=$(cat "$LYNXPROF_RUNDIR/nginx.pid" 2>/dev/null)
kids=$(ps -o pid= --ppid "$run_pid" | tr -d ' ')
kill -TERM "$run_pid"
for ((i = 0; i < 100; i++)); do stack_alive "$run_pid" || break; sleep 0.1; done
wait "$run_pid" 2>/dev/null
t_check "SIGTERM stops run.sh" bash -c "! kill -0 $run_pid 2>/dev/null"
left=""
for k in $kids $nginx_pid; do stack_alive "$k" && left="$left $k"; done
t_check "every process it started is gone" test -z "$left"
t_check "nothing listens on its port any more" bash -c "! ss -Htln 'sport = :19180' | grep -q ."
t_check "the demo's control block is removed" test ! -e /dev/shm/lynxprof.lynx-demo
t_check "it said it stopped" grep -q "lynxprof: stopped" "$out"
t_summary
