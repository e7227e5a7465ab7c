#!/usr/bin/env bash
# Integration: CPU profiling through the real stack (nginx + spawn-fcgi +
# the cpu-* and pprof-profile endpoints + the demo with the agent): the
# sessions API, /debug/pprof/profile read by `go tool pprof` (by file and by
# URL), whole call chains of the -O2 frame-pointer-less demo, the one-at-a-
# time rule under 50 parallel starts, stop, delete, bad input, a target
# killed mid-session, retention, the production gate, and accuracy on the
# demo's cpu-split workload (50/30/20).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

# Other stacks may run on this host at the same time: unique target names,
# and every request names its target.
it_stack cpu-demo-$$ 28180
VICTIM=cpu-victim-$$
SPLIT=cpu-split-$$
STACK_RATE=500r/s

cleanup() {
    stack_stop
    rm -f "/dev/shm/lynxprof.$VICTIM" "/dev/shm/lynxprof.$SPLIT"
    rm -rf "$T_TMP"
}
trap cleanup EXIT

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
fi
it_stack_start "stack starts with the CPU endpoints"

TG="target=$STACK_DEMO_NAME"
SPOOL="$STACK_RUNDIR/spool"

# pprof FILE ARGS...: go tool pprof output (no browser, no network symbolizer).
pprof() {
    local f="$1"; shift
    PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" go tool pprof -symbolize=none "$@" "$f" 2>/dev/null
}

# ---- bad input: each with its status and message ------------------------------
bad() { # name status jq-filter url-suffix [method]
    expect "bad: $1" "$2" "$3" "${5:-GET}" "$CPU/$4" "${AUTH[@]}"
}
bad "duration without a unit" 400 '.error | startswith("Invalid duration")' "start?duration=30&$TG"
bad "negative duration" 400 '.error == "duration must be greater than 0"' "start?duration=-5s&$TG"
bad "zero duration" 400 '.error == "duration must be greater than 0"' "start?duration=0s&$TG"
bad "bare zero duration" 400 '.error == "duration must be greater than 0"' "start?duration=0&$TG"
bad "duration over the maximum" 400 '.error == "Maximum profiling duration is 5m0s"' "start?duration=5m1s&$TG"
bad "huge duration" 400 '.error | startswith("Invalid duration")' "start?duration=9999999999h&$TG"
bad "non-numeric duration" 400 '.error | startswith("Invalid duration")' "start?duration=abc&$TG"
bad "empty duration" 400 '.error | startswith("Invalid duration")' "start?duration=&$TG"
bad "hz zero" 400 '.error | test("hz 0 out of range \\[1, 1000\\]")' "start?hz=0&$TG"
bad "hz too high" 400 '.error | test("hz 1001 out of range")' "start?hz=1001&$TG"
bad "hz not a number" 400 '.error | test("invalid hz")' "start?hz=fast&$TG"
bad "unknown target" 404 '.error | test("unknown target")' "start?target=nosuch"
bad "start with PUT" 405 '.error | test("PUT not allowed")' "start" PUT
bad "unknown id" 404 '.error == "Profile session not found"' "status/cpu_1"
bad "unknown id (download)" 404 '.error == "Profile session not found"' "download/cpu_1"
bad "unknown id (stop)" 404 '.error == "Profile session not found"' "stop/cpu_1" POST
bad "unknown id (delete)" 404 '.error == "Profile session not found"' "sessions/cpu_1" DELETE
bad "unknown id (flame)" 404 '.error == "Profile session not found"' "flame/cpu_1"
bad "id with a letter" 400 '.error | startswith("Invalid session id")' "status/cpu_12a"
bad "id without digits" 400 '.error | startswith("Invalid session id")' "status/cpu_"
bad "id of 21 digits" 400 '.error | startswith("Invalid session id")' "status/cpu_123456789012345678901"
bad "id of another kind" 400 '.error | startswith("Invalid session id")' "status/heap_123"
bad "id with a dot" 400 '.error | startswith("Invalid session id")' "download/cpu_1.json"
bad "id with encoded dots" 400 '.error | startswith("Invalid session id")' "download/cpu_1%2e%2e"
bad "id with a quote" 400 '.error | startswith("Invalid session id")' "status/cpu_1%22"
bad "id with a NUL (nginx refuses it)" 400 '' "status/cpu_1%00"
# nginx resolves "..", "%2e%2e" and "%2F" before matching: the request leaves
# the endpoint's path and never reaches a file.
bad "traversal: ../" 404 '.error == "unknown endpoint"' "status/..%2F..%2Fetc%2Fpasswd"
bad "traversal: %2e%2e" 404 '.error == "unknown endpoint"' "download/%2e%2e"
bad "empty id" 404 '.error == "unknown endpoint"' "status/"
bad "GET never deletes" 405 '.error | test("GET not allowed")' "sessions/cpu_1"
bad "flame: bad format" 400 '.error | test("invalid format")' "flame/cpu_1?format=svg"
expect "sessions: empty list at first" 200 '.sessions == []' GET "$CPU/sessions?$TG" "${AUTH[@]}"

# ---- a session through the API ---------------------------------------------------
# 20 s: the checks "while running" must meet it running on a loaded machine.
expect "start: 200 with the documented shape" 200 '
  (.session_id | test("^cpu_[0-9]{1,20}$")) and .type == "cpu" and
  .target == "'"$STACK_DEMO_NAME"'" and .duration == "20s" and .hz == 100 and
  .status == "started" and (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))' \
  GET "$CPU/start?duration=20s&$TG" "${AUTH[@]}"
id=$(jqr .session_id)
started_at=$(jqr .started_at)
expect "second start: 409 with the running id" 409 \
  ".error == \"a CPU profile is already running\" and .session_id == \"$id\"" \
  POST "$CPU/start?duration=10s&$TG" "${AUTH[@]}"
expect "debug profile while one runs: 409" 409 ".session_id == \"$id\"" \
  GET "$B/debug/pprof/profile?seconds=2&$TG" "${AUTH[@]}"
sleep 1
expect "status while running" 200 "
  .session_id == \"$id\" and .status == \"running\" and .done == false and
  .type == \"cpu\" and .target == \"$STACK_DEMO_NAME\" and .pid == $STACK_DEMO_PID and
  .duration == \"20s\" and .hz == 100 and .progress > 0 and .progress < 1 and
  (.elapsed | test(\"s$\")) and (.remaining | test(\"s$\")) and .samples > 0 and
  .lost_samples == 0 and (has(\"ended_at\") | not)" GET "$CPU/status/$id" "${AUTH[@]}"
p1=$(jqr .progress) s1=$(jqr .samples)
expect "download while running: 409" 409 '.error == "Profile session not completed yet"' \
  GET "$CPU/download/$id" "${AUTH[@]}"
expect "delete while running: 409" 409 '.error | test("still running")' DELETE "$CPU/sessions/$id" "${AUTH[@]}"
sleep 1
http GET "$CPU/status/$id" "${AUTH[@]}"
t_check "progress and samples grow" \
  jq -en --argjson p1 "$p1" --argjson s1 "$s1" --argjson p2 "$(jqr .progress)" \
  --argjson s2 "$(jqr .samples)" '$p2 > $p1 and $s2 > $s1'
t_check "session ends by itself" wait_done "$id" 45
expect "status when completed" 200 "
  .status == \"completed\" and .done == true and .progress == 1 and
  .remaining == \"0s\" and .samples > 100 and .data_size > 0 and
  (.ended_at | test(\"Z$\")) and (has(\"error\") | not)" GET "$CPU/status/$id" "${AUTH[@]}"
data_size=$(jqr .data_size)
t_check "spooled: <id>.json and <id>.pb.gz" test -s "$SPOOL/$id.json" -a -s "$SPOOL/$id.pb.gz"

curl -s "${AUTH[@]}" -D "$T_TMP/dl.h" -o "$T_TMP/cpu.pb.gz" "$CPU/download/$id"
want_name="cpu_$(date -u -d "$started_at" +%Y%m%d_%H%M%S).pprof"
t_check "download: octet-stream attachment $want_name" bash -c "
  grep -qi '^Content-Type: application/octet-stream' '$T_TMP/dl.h' &&
  grep -qi '^Content-Disposition: attachment; filename=$want_name' '$T_TMP/dl.h'"
t_check "download: gzip of data_size bytes" bash -c "
  [ \$(stat -c %s '$T_TMP/cpu.pb.gz') = $data_size ] && gzip -t '$T_TMP/cpu.pb.gz'"
curl -s "${AUTH[@]}" -o "$T_TMP/cpu2.pb.gz" "$CPU/download/$id"
t_check "download is repeatable" cmp -s "$T_TMP/cpu.pb.gz" "$T_TMP/cpu2.pb.gz"

top=$(pprof "$T_TMP/cpu.pb.gz" -top -nodecount=8)
t_check "pprof -top: demo_hash_path among the top flat entries" \
  text_pipe "$top" 'sed -n '"'"'/flat%/,$p'"'"' | head -5 | grep -q demo_hash_path'
t_check "pprof -top: sample types and period" \
  text_pipe "$top" 'grep -q '"'"'Type: cpu'"'"''
topcum=$(pprof "$T_TMP/cpu.pb.gz" -top -cum -nodecount=12)
t_check "pprof -top -cum: demo_worker and demo_process_batch near 100%" \
  text_pipe "$topcum" 'grep -E '"'"' (9[0-9]|100)(\.[0-9]+)?% +demo_(worker|process_batch)$'"'"' | wc -l | grep -q 2'
t_check "pprof -top -cum: demo_parse_line is hot" \
  text_pipe "$topcum" 'grep -q demo_parse_line'
traces=$(pprof "$T_TMP/cpu.pb.gz" -traces)
# -traces prints each stack leaf first, one frame per line.
chain_ok() {
    printf '%s\n' "$1" | awk '{print $NF}' | tr '\n' ' ' |
        grep -q 'demo_hash_path demo_aggregate demo_process_batch demo_worker'
}
t_check "pprof -traces: whole chain demo_worker > demo_process_batch > demo_aggregate > demo_hash_path" \
  chain_ok "$traces"
t_check "pprof -traces: demo_parse_line under demo_process_batch" \
  text_pipe "$traces" 'awk '"'"'{print $NF}'"'"' | tr '"'"'\n'"'"' '"'"' '"'"' | grep -q '"'"'demo_parse_line demo_process_batch demo_worker'"'"''
t_check "pprof -traces: file and line information" \
  bash -c "go tool pprof -lines -top -nodecount=3 '$T_TMP/cpu.pb.gz' 2>/dev/null | grep -q 'stats.c:[0-9]'"

expect "sessions: lists the session" 200 ".sessions[0].session_id == \"$id\" and .sessions[0].status == \"completed\"" \
  GET "$CPU/sessions?$TG" "${AUTH[@]}"
expect "sessions: filter by target" 200 ".sessions | length == 1" GET "$CPU/sessions?$TG" "${AUTH[@]}"
expect "sessions: other target is empty" 200 ".sessions == []" GET "$CPU/sessions?target=other" "${AUTH[@]}"
expect "flame: JSON with type cpu and the demo's functions" 200 '
  .type == "cpu" and (.functions | index("demo_hash_path")) != null and
  (.stacks | length) > 0 and (.sample_types | map(.type)) == ["samples","cpu"]' \
  GET "$CPU/flame/$id" "${AUTH[@]}"
http GET "$CPU/flame/$id?format=folded" "${AUTH[@]}"
t_check "flame: folded text with the whole chain" \
  bash -c "[ '$H_CODE' = 200 ] && printf '%s' \"\$0\" | grep -q 'demo_worker;demo_process_batch;demo_aggregate;demo_hash_path [0-9]'" "$H_BODY"
expect "stop a finished session: 409" 409 '.error | test("not running")' POST "$CPU/stop/$id" "${AUTH[@]}"

# ---- exactly one of 50 simultaneous starts wins ----------------------------------
curls=""
for i in $(seq 1 50); do
    curl -s -o "$T_TMP/par.$i" -w '%{http_code}\n' "${AUTH[@]}" \
        "$CPU/start?duration=60s&$TG" >"$T_TMP/code.$i" &
    curls="$curls $!"
done
# shellcheck disable=SC2086
wait $curls
cat "$T_TMP"/code.* >"$T_TMP/codes"
ok200=$(grep -c '^200$' "$T_TMP/codes")
ok409=$(grep -c '^409$' "$T_TMP/codes")
t_check "50 parallel starts: exactly one 200 ($ok200), 49 409 ($ok409)" \
  test "$ok200" = 1 -a "$ok409" = 49
winner=$(for i in $(seq 1 50); do jq -r 'select(.status == "started") | .session_id' "$T_TMP/par.$i" 2>/dev/null; done)
losers=$(for i in $(seq 1 50); do jq -r 'select(.error) | .session_id' "$T_TMP/par.$i" 2>/dev/null; done | sort -u)
t_check "every 409 names the winner" test "$losers" = "$winner"

# ---- stop early --------------------------------------------------------------------
sleep 1
expect "stop: 200 cancelled" 200 ".session_id == \"$winner\" and .status == \"cancelled\" and .done == true and .samples > 0" \
  POST "$CPU/stop/$winner" "${AUTH[@]}"
expect "stopped session: status cancelled with data" 200 '.status == "cancelled" and .data_size > 0 and .progress < 1' \
  GET "$CPU/status/$winner" "${AUTH[@]}"
code=$(curl -s -o "$T_TMP/stopped.pb.gz" -w '%{http_code}' "${AUTH[@]}" "$CPU/download/$winner")
t_check "stopped session is downloadable" bash -c "[ $code = 200 ] && gzip -t '$T_TMP/stopped.pb.gz'"
expect "stop again: 409" 409 '.error | test("not running")' POST "$CPU/stop/$winner" "${AUTH[@]}"
expect "a new start is possible after a stop" 200 '.status == "started"' GET "$CPU/start?duration=1s&$TG" "${AUTH[@]}"
short=$(jqr .session_id)
wait_done "$short" 30

# ---- delete -------------------------------------------------------------------------
expect "delete: 200" 200 ".status == \"deleted\" and .session_id == \"$winner\"" DELETE "$CPU/sessions/$winner" "${AUTH[@]}"
t_check "delete removed the files" bash -c "! ls '$SPOOL' | grep -q '$winner'"
expect "deleted: status 404" 404 '.error == "Profile session not found"' GET "$CPU/status/$winner" "${AUTH[@]}"
expect "deleted: download 404" 404 '' GET "$CPU/download/$winner" "${AUTH[@]}"
expect "delete again: 404" 404 '' DELETE "$CPU/sessions/$winner" "${AUTH[@]}"
expect "delete by POST /cpu/delete/:id" 200 '.status == "deleted"' POST "$CPU/delete/$short" "${AUTH[@]}"
expect "sessions: deleted ones are gone" 200 "[.sessions[].session_id] == [\"$id\"]" GET "$CPU/sessions?$TG" "${AUTH[@]}"

# ---- /debug/pprof/profile, read by go tool pprof over HTTP ---------------------------
url="http://$STACK_USER:$STACK_PASSWORD@127.0.0.1:$STACK_PORT/debug/pprof/profile?seconds=3&$TG"
out=$(PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" timeout 60 go tool pprof -top -nodecount=10 "$url" 2>&1)
t_check "go tool pprof -top URL: demo_hash_path at the top" \
  text_pipe "$out" 'sed -n '"'"'/flat%/,$p'"'"' | head -5 | grep -q demo_hash_path'
curl -s "${AUTH[@]}" -D "$T_TMP/dbg.h" -o "$T_TMP/dbg.pb.gz" "$B/debug/pprof/profile?seconds=1&hz=200&$TG"
t_check "debug profile: octet-stream attachment 'profile'" bash -c "
  grep -qi '^Content-Type: application/octet-stream' '$T_TMP/dbg.h' &&
  grep -qi '^Content-Disposition: attachment; filename=profile' '$T_TMP/dbg.h' && gzip -t '$T_TMP/dbg.pb.gz'"
expect "debug sessions are listed with origin debug" 200 '[.sessions[] | select(.origin == "debug")] | length == 2' \
  GET "$CPU/sessions?$TG" "${AUTH[@]}"
expect "debug: seconds=0" 400 '.error == "seconds must be greater than 0"' GET "$B/debug/pprof/profile?seconds=0&$TG" "${AUTH[@]}"
expect "debug: seconds over the maximum" 400 '.error == "Maximum profiling duration is 5m0s"' GET "$B/debug/pprof/profile?seconds=301&$TG" "${AUTH[@]}"
expect "debug: seconds not a number" 400 '.error | test("invalid seconds")' GET "$B/debug/pprof/profile?seconds=3s&$TG" "${AUTH[@]}"
expect "debug: 401 without credentials" 401 '.error == "authentication required"' GET "$B/debug/pprof/profile?seconds=1"
expect "debug: unknown path is a JSON 404" 404 '.error == "unknown endpoint"' GET "$B/debug/pprof/no-such-profile" "${AUTH[@]}"
# A client that goes away does not end the session early.
curl -s -m 1 "${AUTH[@]}" -o /dev/null "$B/debug/pprof/profile?seconds=3&$TG" || true
http GET "$CPU/sessions?$TG" "${AUTH[@]}"
gone_id=$(jqr '.sessions[0].session_id')
t_check "client gone: its session still completes" wait_done "$gone_id" 30
expect "client gone: completed with data" 200 '.status == "completed" and .data_size > 0' GET "$CPU/status/$gone_id" "${AUTH[@]}"

# ---- a target killed during a session --------------------------------------------------
stack_start_demo "$VICTIM" --threads 2
victim=$STACK_DEMO_PID
expect "victim: start a 60s profile" 200 ".target == \"$VICTIM\"" GET "$CPU/start?duration=60s&target=$VICTIM" "${AUTH[@]}"
vid=$(jqr .session_id)
sleep 1.5
{ kill -KILL "$victim"; wait "$victim"; } 2>/dev/null
t0=$(date +%s.%N)
failed_in=""
for ((i = 0; i < 50; i++)); do
    http GET "$CPU/status/$vid" "${AUTH[@]}"
    if [ "$(jqr .status)" = failed ]; then failed_in=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f s", a - b }'); break; fi
    sleep 0.1
done
t_check "killed target: failed within 5 s (${failed_in:-never})" test -n "$failed_in"
expect "killed target: reason names the pid" 200 \
  ".status == \"failed\" and .done == true and .error == \"target process exited (pid $victim)\" and .samples > 0 and .data_size > 0" \
  GET "$CPU/status/$vid" "${AUTH[@]}"
curl -s "${AUTH[@]}" -o "$T_TMP/victim.pb.gz" "$CPU/download/$vid"
t_check "killed target: its samples are downloadable and symbolized" \
  bash -c "go tool pprof -symbolize=none -top '$T_TMP/victim.pb.gz' 2>/dev/null | grep -q demo_hash_path"
expect "killed target: start on it is refused (503)" 503 '.error | test("exited")' GET "$CPU/start?target=$VICTIM" "${AUTH[@]}"
expect "the other target can be profiled again" 200 '.status == "started"' GET "$CPU/start?duration=1s&$TG" "${AUTH[@]}"
wait_done "$(jqr .session_id)" 30

# ---- accuracy: cpu-split (50/30/20 of CPU time) ---------------------------------------
# Shares are estimated from samples: on a loaded machine the target gets
# less CPU and a fixed window fewer samples, so windows of 6 s are taken
# until together they hold enough samples (2000: the standard error of a
# share is then at most about 1.1 points), and read merged.
stack_start_demo "$SPLIT" --workload cpu-split --threads 2
split_files=() split_samples=0
for ((w = 1; w <= 10 && split_samples < 2000; w++)); do
    curl -s "${AUTH[@]}" -o "$T_TMP/split$w.pb.gz" "$B/debug/pprof/profile?seconds=6&hz=250&target=$SPLIT"
    split_files+=("$T_TMP/split$w.pb.gz")
    n=$(pprof "$T_TMP/split$w.pb.gz" -raw | awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ +[0-9]+/{n += $1} END{print n+0}')
    split_samples=$((split_samples + n))
done
echo "# cpu-split: $split_samples samples in ${#split_files[@]} window(s) of 6 s"
shares=$(PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" go tool pprof -symbolize=none -top -cum -nodecount=30 "${split_files[@]}" 2>/dev/null | awk '
    $NF ~ /^split_(alpha|beta|gamma)$/ { v[$NF] = $5 + 0 }
    END { t = v["split_alpha"] + v["split_beta"] + v["split_gamma"];
          printf "%.1f %.1f %.1f %.1f", v["split_alpha"], v["split_beta"], v["split_gamma"], t }')
echo "# cpu-split cum%: alpha beta gamma (sum): $shares"
within() { # value target
    awk -v v="$1" -v t="$2" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= 5) }'
}
read -r a b g _ <<<"$shares"
t_check "accuracy: split_alpha $a% within 5 points of 50%" within "${a:-0}" 50
t_check "accuracy: split_beta $b% within 5 points of 30%" within "${b:-0}" 30
t_check "accuracy: split_gamma $g% within 5 points of 20%" within "${g:-0}" 20
split_pid=$STACK_DEMO_PID
stack_kill_pids "$split_pid"

# ---- retention and cleanup ------------------------------------------------------------
t_check "spool holds sessions before the cleanup" bash -c "ls '$SPOOL'/*.json >/dev/null 2>&1"
LYNXPROF_RETENTION=2s PROFILE_CLEANUP_INTERVAL=1s stack_restart_endpoints
sleep 4
# (a tombstone <id>.gone stays while the dead target's block holds the id)
t_check "retention: every old session removed (json, pprof, stacks)" \
  bash -c "! ls '$SPOOL' | grep -v '[.]gone$' | grep -q '^cpu_'"
expect "retention: status of a removed session is 404" 404 '' GET "$CPU/status/$id" "${AUTH[@]}"
expect "retention: list is empty" 200 '.sessions == []' GET "$CPU/sessions?$TG" "${AUTH[@]}"
expect "retention: a new session is kept while young" 200 '.status == "started"' GET "$CPU/start?duration=1s&$TG" "${AUTH[@]}"
young=$(jqr .session_id)
wait_done "$young" 30
expect "retention: young session still there" 200 '.status == "completed"' GET "$CPU/status/$young" "${AUTH[@]}"
sleep 4
expect "retention: ... and gone after the retention" 404 '' GET "$CPU/status/$young" "${AUTH[@]}"
stack_restart_endpoints

# ---- gates ------------------------------------------------------------------------------
SERVER_PRODUCTION=true PROFILING_ENABLED=false stack_restart_endpoints
expect "production: /debug/pprof/profile 404" 404 '.error | test("disabled in production")' \
  GET "$B/debug/pprof/profile?seconds=1&$TG" "${AUTH[@]}"
expect "profiling disabled: cpu/start 404" 404 '.error | test("PROFILING_ENABLED")' GET "$CPU/start?$TG" "${AUTH[@]}"
SERVER_PRODUCTION=true PROFILING_ENABLED=true stack_restart_endpoints
code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH[@]}" "$B/debug/pprof/profile?seconds=1&$TG")
t_check "production with PROFILING_ENABLED=true: /debug/pprof/profile works" test "$code" = 200
stack_restart_endpoints

# ---- nginx waits for the longest profile ------------------------------------------------
MAX_PROFILE_DURATION=15m stack_config
t_check "MAX_PROFILE_DURATION=15m: fastcgi_read_timeout 960s" \
  grep -q '^fastcgi_read_timeout 960s;' "$STACK_RUNDIR/conf/lynxprof-fastcgi.conf"
stack_config
t_check "default maximum: fastcgi_read_timeout 660s" \
  grep -q '^fastcgi_read_timeout 660s;' "$STACK_RUNDIR/conf/lynxprof-fastcgi.conf"

t_check "no endpoint died on a request" bash -c "! grep -qiE 'segfault|abort|core dumped' '$STACK_RUNDIR'/fcgi-*.log"

t_summary
