#!/usr/bin/env bash
# Integration: the whole stack standing (nginx + spawn-fcgi/multiwatch +
# endpoints + the demo with the agent), the memory endpoint behind a
# password, target selection, gates, bad input, failures of the parts.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18080

cleanup() { stack_stop; rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start "stack starts (nginx, endpoints, demo with agent)"

MEM="$B/api/v1/profiling/memory"

# ---- authentication ------------------------------------------------------------
expect "401 without credentials" 401 '.error == "authentication required"' GET "$MEM"
t_check "401 carries WWW-Authenticate" header_has '^WWW-Authenticate: Basic realm="lynxprof"'
expect "401 with a wrong password" 401 '.error' GET "$MEM" -u "$STACK_USER:wrong"
expect "401 with an unknown user" 401 '.error' GET "$MEM" -u "nobody:$STACK_PASSWORD"
expect "401 for the page without credentials" 401 '' GET "$B/profiling/"
expect "401 for targets without credentials" 401 '' GET "$B/api/v1/profiling/targets"

# ---- the memory endpoint -------------------------------------------------------
expect "memory: 200 with the documented shape" 200 "
  .target.name == \"lynx-demo\" and .target.pid == $STACK_DEMO_PID and
  (.target.uptime_seconds > 0) and (.target.started_at | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$\")) and
  (.sampled_at | test(\"Z$\")) and
  (.heap.in_use_bytes > 0) and (.heap.free_bytes >= 0) and (.heap.arena_bytes > 0) and
  (.heap.mmap_bytes >= 0) and (.heap.releasable_bytes >= 0) and
  (.process.resident_bytes > 0) and (.process.resident_peak_bytes >= .process.resident_bytes) and
  (.process.virtual_bytes > .process.resident_bytes) and (.process.data_bytes > 0) and
  (.process.stack_bytes > 0) and (.process.threads >= 4) and (.process.open_fds > 0) and
  (.process.cpu_user_seconds >= 0) and has(\"allocations\")" GET "$MEM" "${AUTH[@]}"
t_check "memory: Content-Type application/json" header_has '^Content-Type: application/json'
t_check "memory: not cached" header_has '^Cache-Control: no-store'
expect "memory: HEAD answers 200" 200 '' HEAD "$MEM" "${AUTH[@]}"

# ---- the memory snapshot: served without a round trip when fresh enough ----------
expect "memory: max_age=0 asks the agent" 200 '.source == "agent"' \
  GET "$MEM?max_age=0" "${AUTH[@]}"
expect "memory: a snapshot older than max_age=1ns is not served" 200 '.source == "agent"' \
  GET "$MEM?max_age=1ns" "${AUTH[@]}"
asked_at=$(jqr .sampled_at)
expect "memory: after a round trip the agent's snapshot serves" 200 \
  ".source == \"snapshot\" and .sampled_at >= \"$asked_at\" and .target.pid == $STACK_DEMO_PID" \
  GET "$MEM?max_age=5s" "${AUTH[@]}"
sleep 2
expect "memory: the agent refreshed its snapshot unasked, sampled_at is its own" 200 \
  ".source == \"snapshot\" and .sampled_at > \"$asked_at\"" \
  GET "$MEM?max_age=5s" "${AUTH[@]}"
expect "memory: max_age above 1m refused" 400 '.error | test("max_age")' \
  GET "$MEM?max_age=2m" "${AUTH[@]}"
expect "targets: lists the demo as alive" 200 \
  "[.targets[] | select(.name == \"lynx-demo\" and .alive and .pid == $STACK_DEMO_PID)] | length == 1" \
  GET "$B/api/v1/profiling/targets" "${AUTH[@]}"

# ---- permissions as designed -------------------------------------------------------
blk="/dev/shm/lynxprof.lynx-demo"
mbx="/dev/shm/lynxprof-mbox.lynx-demo"
t_check "data object is 0640, group lynxprof" \
  test "$(stat -c '%a %G' "$blk")" = "640 lynxprof"
t_check "mailbox object is 0660, group lynxprof" \
  test "$(stat -c '%a %G' "$mbx")" = "660 lynxprof"
t_check "the endpoints' user cannot open the data object for writing (EACCES)" \
  bash -c "runuser -u lynxprof -- bash -c 'exec 3<>$blk' 2>&1 | grep -q 'Permission denied'"
t_check "the endpoints' user can read the data object" \
  runuser -u lynxprof -- bash -c "exec 3<$blk"
t_check "the endpoints' user can write the mailbox object" \
  runuser -u lynxprof -- bash -c "exec 3<>$mbx"
t_check "endpoint sockets belong to nginx's user, 0660" \
  test "$(stat -c '%a %U' "$STACK_RUNDIR/memory.sock")" = "660 www-data"
workers=$(for p in $STACK_EP_PIDS; do ps -o pid= --ppid "$p"; done | tr -d ' ')
users=$(for w in $workers; do ps -o user= -p "$w"; done | sort -u | tr -d ' ')
t_check "endpoint processes run as lynxprof" test "$users" = "lynxprof"

# ---- the agent leaves the target alone -----------------------------------------------
t_check "demo holds no descriptor on its control block" \
  bash -c "! ls -l /proc/$STACK_DEMO_PID/fd 2>/dev/null | grep -q /dev/shm/"
t_check "agent printed nothing into the demo's output" \
  bash -c "! grep -qi lynxprof '$STACK_RUNDIR/demo-lynx-demo.log'"

# ---- the page and the application --------------------------------------------------------
http GET "$B/profiling" "${AUTH[@]}"
t_check "/profiling redirects to profiling/" \
  bash -c "[ '$H_CODE' = 301 ] && printf '%s' \"\$0\" | grep -qi '^Location: profiling/$'" "$H_HEADERS"
http GET "$B/profiling/" "${AUTH[@]}"
t_check "/profiling/ serves the page" \
  bash -c "[ '$H_CODE' = 200 ] && printf '%s' \"\$0\" | grep -q '<title>lynxprof'" "$H_BODY"
# nginx itself refuses a path that climbs above the root (its own 400).
http GET "$B/profiling/.%2e/.%2e/.%2e/etc/passwd" "${AUTH[@]}"
t_check "page: traversal above the root is refused by nginx" \
  bash -c "[ '$H_CODE' = 400 ] && ! printf '%s' \"\$0\" | grep -q root:" "$H_BODY"
http HEAD "$B/profiling/" "${AUTH[@]}"
t_check "page: index.html is served as text/html" header_has '^Content-Type: text/html'
http HEAD "$B/profiling/js/flame-view.js" "${AUTH[@]}"
t_check "page: scripts are served as JavaScript" header_has '^Content-Type: application/javascript'
expect "page: odd characters in a page path are refused" 404 '.error == "no such page"' GET "$B/profiling/js/a%20b.js" "${AUTH[@]}"
expect "page: hidden files are refused" 404 '.error' GET "$B/profiling/.htpasswd" "${AUTH[@]}"
expect "page: missing files are 404" 404 '' GET "$B/profiling/nope.html" "${AUTH[@]}"
http GET "$B/" 
t_check "location / reaches the application (reverse proxy)" \
  bash -c "[ '$H_CODE' = 200 ] && printf '%s' \"\$0\" | grep -q 'LogLynx demo'" "$H_BODY"
http GET "https://127.0.0.1:$STACK_TLS_PORT/api/v1/profiling/memory" -k "${AUTH[@]}"
t_check "TLS: memory over https" test "$H_CODE" = 200

# ---- bad input: each with its status and message ----------------------------------------
expect "bad: target with traversal" 400 '.error | test("invalid target")' GET "$MEM?target=../../etc/passwd" "${AUTH[@]}"
expect "bad: target with a slash" 400 '.error | test("invalid target")' GET "$MEM?target=a%2Fb" "${AUTH[@]}"
expect "bad: hidden target name" 400 '.error | test("invalid target")' GET "$MEM?target=.x" "${AUTH[@]}"
expect "bad: unknown target" 404 '.error == "unknown target '"'"'nosuch'"'"'; running targets: lynx-demo"' GET "$MEM?target=nosuch" "${AUTH[@]}"
expect "bad: unknown parameter" 400 '.error | test("unknown parameter .bogus.")' GET "$MEM?bogus=1" "${AUTH[@]}"
expect "bad: malformed escape" 400 '.error | test("malformed query")' GET "$MEM?target=%zz" "${AUTH[@]}"
expect "bad: encoded NUL" 400 '.error | test("malformed query")' GET "$MEM?target=a%00b" "${AUTH[@]}"
expect "bad: parameter twice" 400 '.error | test("given twice")' GET "$MEM?target=lynx-demo&target=lynx-demo" "${AUTH[@]}"
expect "bad: method POST" 405 '.error | test("POST not allowed")' POST "$MEM" "${AUTH[@]}"
t_check "405 says what is allowed" header_has '^Allow: GET, HEAD'
expect "bad: unknown API path" 404 '.error == "unknown endpoint"' GET "$B/api/v1/profiling/nope" "${AUTH[@]}"
# nginx resolves ".." first: this leaves /api/v1/profiling and reaches the app.
http GET "$B/api/v1/profiling/..%2f..%2f..%2fetc/passwd" "${AUTH[@]}"
t_check "bad: traversal in the API path never reaches a file" \
  bash -c "[ '$H_CODE' = 404 ] && ! printf '%s' \"\$0\" | grep -q root:" "$H_BODY"
expect "bad: very long query" 400 '.error | test("too long")' GET "$MEM?target=$(head -c 5000 /dev/zero | tr '\0' a)" "${AUTH[@]}"
expect "bad input left the endpoint healthy" 200 '.target.name == "lynx-demo"' GET "$MEM" "${AUTH[@]}"

# ---- a second target ---------------------------------------------------------------------
demo1=$STACK_DEMO_PID
stack_start_demo second --threads 1 --intensity 20
demo2=$STACK_DEMO_PID
expect "second target chosen with ?target=" 200 ".target.name == \"second\" and .target.pid == $demo2" \
  GET "$MEM?target=second" "${AUTH[@]}"
expect "no target named while two run: 400" 400 '.error | test("several targets")' GET "$MEM" "${AUTH[@]}"
LYNXPROF_TARGET=lynx-demo stack_restart_endpoints
expect "configured default target (LYNXPROF_TARGET)" 200 ".target.pid == $demo1" GET "$MEM" "${AUTH[@]}"
stack_restart_endpoints

# ---- a stopped and a dead target ------------------------------------------------------------
kill -STOP "$demo2"
sleep 3.5
expect "stopped target: 503 agent not responding" 503 '.error | test("not responding")' \
  GET "$MEM?target=second" "${AUTH[@]}"
kill -CONT "$demo2"
sleep 0.5
expect "resumed target answers again" 200 '.target.name == "second"' GET "$MEM?target=second" "${AUTH[@]}"
{ kill -KILL "$demo2"; wait "$demo2"; } 2>/dev/null
expect "killed target: 503 target has exited" 503 '.error | test("exited")' GET "$MEM?target=second" "${AUTH[@]}"
expect "with the other target gone, the only one is the default" 200 ".target.pid == $demo1" GET "$MEM" "${AUTH[@]}"
expect "targets: the dead one is listed as not alive" 200 \
  '[.targets[] | select(.name == "second")][0].alive == false' GET "$B/api/v1/profiling/targets" "${AUTH[@]}"

# ---- an endpoint process that dies is replaced ----------------------------------------------
mem_mw=$(echo $STACK_EP_PIDS | cut -d' ' -f1)
victims=$(ps -o pid= --ppid "$mem_mw" | tr -d ' ')
for v in $victims; do kill -KILL "$v"; done
sleep 1
ok=1
for i in 1 2 3 4 5 6; do
    http GET "$MEM" "${AUTH[@]}"
    [ "$H_CODE" = 200 ] || ok=0
done
t_check "all memory workers killed: multiwatch restarts them, no 502" test $ok = 1
t_check "multiwatch runs fresh workers" bash -c "[ -n \"\$(ps -o pid= --ppid $mem_mw)\" ]"

# ---- gates from the configuration -------------------------------------------------------------
PROFILING_ENABLED=false stack_restart_endpoints
expect "PROFILING_ENABLED=false: memory 404" 404 '.error | test("PROFILING_ENABLED")' GET "$MEM" "${AUTH[@]}"
expect "PROFILING_ENABLED=false: page 404" 404 '.error | test("disabled")' GET "$B/profiling/" "${AUTH[@]}"
unset PROFILING_ENABLED
stack_restart_endpoints
expect "PROFILING_ENABLED unset: off by default" 404 '.error' GET "$MEM" "${AUTH[@]}"
export PROFILING_ENABLED=true
out=$(MAX_PROFILE_DURATION=abc "$STACK_BIN/memory.fcgi" --check-config 2>&1); rc=$?
t_check "bad MAX_PROFILE_DURATION: refuses to start, names it" \
  bash -c "[ $rc = 2 ] && [ \$(printf '%s\n' \"\$0\" | wc -l) = 1 ] && printf '%s' \"\$0\" | grep -q \"MAX_PROFILE_DURATION: invalid duration 'abc'\"" "$out"
out=$(PROFILE_CLEANUP_INTERVAL=0s "$STACK_BIN/memory.fcgi" --check-config 2>&1); rc=$?
t_check "zero PROFILE_CLEANUP_INTERVAL: refuses to start" \
  bash -c "[ $rc = 2 ] && printf '%s' \"\$0\" | grep -q PROFILE_CLEANUP_INTERVAL" "$out"
out=$(PROFILING_ENABLED=yes "$STACK_BIN/memory.fcgi" --check-config 2>&1); rc=$?
t_check "bad PROFILING_ENABLED: refuses to start" \
  bash -c "[ $rc = 2 ] && printf '%s' \"\$0\" | grep -q \"PROFILING_ENABLED: invalid boolean 'yes'\"" "$out"
stack_restart_endpoints
expect "endpoints back with profiling on" 200 '.target.name' GET "$MEM" "${AUTH[@]}"

t_summary
