#!/usr/bin/env bash
# Integration: the thread, lock-contention and thread-creation profiles of
# the demo through nginx, read by `go tool pprof` by file and by URL; their
# debug texts; the /debug/pprof/ index, cmdline and symbol; flame data;
# bad input.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18280
# Four workers on two CPUs: the shared lock is contended.
STACK_DEMO_ARGS="--threads 4"

cleanup() { stack_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start

D="$B/debug/pprof"
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"
mkdir -p "$PPROF_TMPDIR"
sleep 2 # let the workers contend for a while

# fetch NAME URL FILE: 200 and a gzipped body saved in FILE.
fetch() {
    http GET "$2" "${AUTH[@]}"
    cp "$T_TMP/body" "$3"
    if [ "$H_CODE" = 200 ] && gzip -t "$3" 2>/dev/null; then
        t_ok "$1"
    else
        t_fail "$1" "status $H_CODE" "body: ${H_BODY:0:300}"
    fi
}

# pprof_has NAME FILE-OR-URL PATTERN [pprof options...]: pprof's -top (or
# the given options) output matches the extended regex PATTERN.
pprof_has() {
    local name="$1" what="$2" pat="$3"; shift 3
    local opts=("$@")
    [ ${#opts[@]} -eq 0 ] && opts=(-top)
    local out
    out=$(timeout 60 go tool pprof "${opts[@]}" "$what" 2>&1)
    if grep -Eq -- "$pat" <<<"$out"; then
        t_ok "$name"
    else
        t_fail "$name" "no /$pat/ in go tool pprof ${opts[*]}:" "$(printf '%s\n' "$out" | head -25)"
    fi
}

# ---- goroutine (threads) -------------------------------------------------------------
fetch "goroutine: pprof served" "$D/goroutine" "$T_TMP/g.pb.gz"
t_check "goroutine: attachment named like Go's" header_has '^Content-Disposition: attachment; filename="goroutine"'
pprof_has "goroutine: -top shows the workers' start routine" "$T_TMP/g.pb.gz" 'demo_worker'
pprof_has "goroutine: sample type thread/count" "$T_TMP/g.pb.gz" 'Type: thread'
pprof_has "goroutine: -traces has the workers' chain" "$T_TMP/g.pb.gz" 'demo_worker' -traces
# 4 workers + main + http + agent = 7 threads, in one snapshot
out=$(go tool pprof -raw "$T_TMP/g.pb.gz" 2>/dev/null | awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ +[0-9]+:/{sub(":","",$1); n+=$1} END{print n+0}')
t_check "goroutine: every thread counted once ($out)" test "${out:-0}" -ge 7

http GET "$D/goroutine?debug=1" "${AUTH[@]}"
t_check "goroutine?debug=1: Go's text header" bash -c "printf '%s' \"\$0\" | head -1 | grep -Eq '^goroutine profile: total [0-9]+$'" "$H_BODY"
t_check "goroutine?debug=1: records and frames" bash -c "printf '%s' \"\$0\" | grep -Eq '^[0-9]+ @ 0x' && printf '%s' \"\$0\" | grep -Eq '^#	0x[0-9a-f]+	demo_worker	.*worker.c:[0-9]+$'" "$H_BODY"
t_check "goroutine?debug=1: text/plain" header_has '^Content-Type: text/plain'

http GET "$D/goroutine?debug=2" "${AUTH[@]}"
dump="$H_BODY"
t_check "goroutine?debug=2: main thread with tid, name, state" \
  bash -c "printf '%s' \"\$0\" | grep -Eq '^thread $STACK_DEMO_PID \"lynx-demo\" \[[A-Z] \([a-z ]+\)\]:$'" "$dump"
t_check "goroutine?debug=2: worker frames with file:line" \
  bash -c "printf '%s' \"\$0\" | grep -q '^demo_worker()$' && printf '%s' \"\$0\" | grep -Eq '^	.*worker.c:[0-9]+ pc=0x'" "$dump"
t_check "goroutine?debug=2: the agent's own thread" \
  bash -c "printf '%s' \"\$0\" | grep -q '\"lynxprof-agent\".*(lynxprof agent)'" "$dump"
t_check "goroutine?debug=2: every thread of /proc" \
  test "$(printf '%s' "$dump" | grep -c '^thread [0-9]')" -eq "$(ls /proc/$STACK_DEMO_PID/task | wc -l)"

http GET "$B/api/v1/profiling/goroutine" "${AUTH[@]}"
t_check "api goroutine: pprof attachment goroutine_YYYYMMDD_HHMMSS.pprof" \
  bash -c "[ '$H_CODE' = 200 ] && printf '%s' \"\$0\" | grep -Eqi '^Content-Disposition: attachment; filename=goroutine_[0-9]{8}_[0-9]{6}\.pprof$'" "$H_HEADERS"

# ---- block and mutex -----------------------------------------------------------------------
# Lock contention is recorded only in windows (?seconds=N): the contention
# of the seconds above, before any window, left nothing.
fetch "block before any window: pprof served" "$D/block" "$T_TMP/b0.pb.gz"
n0=$(go tool pprof -raw "$T_TMP/b0.pb.gz" 2>/dev/null | awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ +[0-9]+/{n++} END{print n+0}')
t_check "block before any window: no samples ($n0)" test "${n0:-x}" = 0

# Two overlapping windows, from two requests: both see the contention.
curl -s -o "$T_TMP/b.pb.gz" -w '%{http_code}' "${AUTH[@]}" "$D/block?seconds=3" >"$T_TMP/b.code" &
bg=$!
sleep 0.5
fetch "mutex?seconds=2 (inside a block window): pprof served" "$D/mutex?seconds=2" "$T_TMP/m.pb.gz"
wait "$bg"
t_check "block?seconds=3 (overlapping the mutex window): pprof served" \
  bash -c "[ \"\$(cat '$T_TMP/b.code')\" = 200 ] && gzip -t '$T_TMP/b.pb.gz'"
pprof_has "block: the shared lock shows up with demo_aggregate" "$T_TMP/b.pb.gz" 'demo_aggregate'
pprof_has "block: waiter's leaf is pthread_mutex_lock" "$T_TMP/b.pb.gz" 'pthread_mutex_lock' -traces
pprof_has "block: sample types contentions and delay" "$T_TMP/b.pb.gz" 'Type: delay'
pprof_has "block: contentions/count available" "$T_TMP/b.pb.gz" 'demo_aggregate' -top -sample_index=contentions
pprof_has "block?seconds=3: duration recorded" "$T_TMP/b.pb.gz" 'Duration: 3'
pprof_has "mutex: holder's release in demo_aggregate" "$T_TMP/m.pb.gz" 'demo_aggregate'
pprof_has "mutex: holder's leaf is pthread_mutex_unlock" "$T_TMP/m.pb.gz" 'pthread_mutex_unlock' -traces

# Without seconds: what every window so far recorded, and nothing recorded
# since the windows closed although the workers go on contending.
fetch "block after windows: pprof served" "$D/block" "$T_TMP/b1.pb.gz"
pprof_has "block after windows: the windows' contention" "$T_TMP/b1.pb.gz" 'demo_aggregate'
http GET "$D/block?debug=1" "${AUTH[@]}"
t_check "block?debug=1: Go's contention text" bash -c "printf '%s' \"\$0\" | head -2 | tr '\n' ' ' | grep -q '^--- contention: cycles/second=1000000000 ' && printf '%s' \"\$0\" | grep -Eq '^[0-9]+ [0-9]+ @ 0x' && printf '%s' \"\$0\" | grep -q 'demo_aggregate'" "$H_BODY"
before="$H_BODY"
sleep 2
http GET "$D/block?debug=1" "${AUTH[@]}"
t_check "block: 2 s of contention outside any window add nothing" test "$H_BODY" = "$before"
http GET "$D/mutex?debug=1" "${AUTH[@]}"
t_check "mutex?debug=1: sampling period line" bash -c "printf '%s' \"\$0\" | grep -q '^sampling period=10$'" "$H_BODY"

# ---- threadcreate ------------------------------------------------------------------------
fetch "threadcreate: pprof served" "$D/threadcreate" "$T_TMP/t.pb.gz"
pprof_has "threadcreate: main created the workers" "$T_TMP/t.pb.gz" 'pthread_create' -traces
pprof_has "threadcreate: the creating function" "$T_TMP/t.pb.gz" '(^| )main$' -top
http GET "$D/threadcreate?debug=1" "${AUTH[@]}"
t_check "threadcreate?debug=1: total counts the threads made" \
  bash -c "printf '%s' \"\$0\" | head -1 | grep -Eq '^threadcreate profile: total ([5-9]|[1-9][0-9]+)$'" "$H_BODY"

# ---- by URL, as go tool pprof fetches it --------------------------------------------------
U="http://$STACK_USER:$STACK_PASSWORD@127.0.0.1:$STACK_PORT/debug/pprof"
pprof_has "go tool pprof by URL: goroutine" "$U/goroutine" 'demo_worker'
pprof_has "go tool pprof by URL: block" "$U/block?seconds=1" 'demo_aggregate'
pprof_has "go tool pprof by URL: threadcreate" "$U/threadcreate" 'pthread_create' -traces

# ---- index, cmdline, symbol -------------------------------------------------------------
http GET "$D/" "${AUTH[@]}"
t_check "index: HTML like Go's" bash -c "[ '$H_CODE' = 200 ] && printf '%s' \"\$0\" | grep -q '<title>/debug/pprof/</title>'" "$H_BODY"
for k in goroutine block mutex threadcreate; do
    t_check "index: $k with a count and a debug=1 link" \
      bash -c "printf '%s' \"\$0\" | grep -Eq \"<tr><td>[0-9]+</td><td><a href='$k\\?debug=1'>$k</a>\"" "$H_BODY"
done
for k in cmdline profile symbol; do
    t_check "index: $k listed" bash -c "printf '%s' \"\$0\" | grep -q \"<a href='$k'>$k</a>\"" "$H_BODY"
done
t_check "index: full thread dump link" bash -c "printf '%s' \"\$0\" | grep -q \"href='goroutine?debug=2'\"" "$H_BODY"
expect "index: ?format=json with counts" 200 '
  (.profiles | map(.name) | index("goroutine") != null) and
  ([.profiles[] | select(.name == "goroutine") | .count] | .[0] >= 7) and
  ([.profiles[] | select(.name == "block") | .count] | .[0] >= 1) and
  ([.profiles[] | select(.name == "threadcreate") | .count] | .[0] >= 5) and
  (.profiles | map(.name) | index("cmdline") != null) and
  (.thread_dump_href | test("goroutine\\?debug=2"))' GET "$D/?format=json" "${AUTH[@]}"
expect "index: bad format 400" 400 '.error | test("format")' GET "$D/?format=xml" "${AUTH[@]}"

http GET "$D/cmdline" "${AUTH[@]}"
want=$(tr '\0' '\n' <"/proc/$STACK_DEMO_PID/cmdline")
got=$(tr '\0' '\n' <"$T_TMP/body")
t_check "cmdline: the demo's argv, NUL-separated" test "$got" = "$want"

http GET "$D/symbol" "${AUTH[@]}"
t_check "symbol GET: num_symbols: 1" test "$H_BODY" = "num_symbols: 1"
exe="$STACK_BIN/lynx-demo"
off=$(nm "$exe" | awk '$3 == "demo_aggregate" {print $1}')
base=$(awk -v p="$(readlink -f "$exe")" '$6 == p && $3 == "00000000" {print $1; exit}' "/proc/$STACK_DEMO_PID/maps" | cut -d- -f1)
addr=$(printf '0x%x' $((0x$base + 0x$off + 8)))
http POST "$D/symbol" "${AUTH[@]}" --data-binary "$addr+0x1"
t_check "symbol POST: $addr is demo_aggregate" test "$H_BODY" = "$addr demo_aggregate"

# ---- flame data ------------------------------------------------------------------------
expect "flame: block as flame JSON" 200 '.type == "block" and (.functions | index("demo_aggregate") != null) and (.sample_types | map(.type) == ["contentions","delay"])' \
  GET "$B/api/v1/profiling/flame?type=block&seconds=1" "${AUTH[@]}"
http GET "$B/api/v1/profiling/flame?type=goroutine&format=folded" "${AUTH[@]}"
t_check "flame: goroutine folded" bash -c "printf '%s' \"\$0\" | grep -Eq '^.*demo_worker.* [0-9]+$'" "$H_BODY"

# ---- bad input ----------------------------------------------------------------------------
expect "debug=3: 400" 400 '.error | test("debug")' GET "$D/goroutine?debug=3" "${AUTH[@]}"
expect "debug=x: 400" 400 '.error | test("debug")' GET "$D/block?debug=x" "${AUTH[@]}"
expect "seconds=-1: 400" 400 '.error | test("seconds")' GET "$D/block?seconds=-1" "${AUTH[@]}"
expect "seconds with debug: 400" 400 '.error | test("incompatible")' GET "$D/block?seconds=1&debug=1" "${AUTH[@]}"
expect "goroutine seconds: 400" 400 '.error | test("not supported")' GET "$D/goroutine?seconds=1" "${AUTH[@]}"
expect "unknown parameter: 400" 400 '.error | test("unknown parameter")' GET "$D/mutex?bogus=1" "${AUTH[@]}"
expect "unknown kind: 404" 404 '.error' GET "$D/nosuch" "${AUTH[@]}"
expect "unknown target: 404" 404 '.error | test("nosuch")' GET "$D/block?target=nosuch" "${AUTH[@]}"
expect "flame without type: 400" 400 '.error | test("type")' GET "$B/api/v1/profiling/flame" "${AUTH[@]}"
expect "flame unknown type: 404" 404 '.error | test("unknown profile type")' GET "$B/api/v1/profiling/flame?type=nosuch" "${AUTH[@]}"
expect "symbol POST garbage: 400" 400 '.error | test("malformed")' POST "$D/symbol" "${AUTH[@]}" --data-binary 'zz+0x1'
expect "no credentials: 401" 401 '.error' GET "$D/goroutine"

# ---- a target that has gone ---------------------------------------------------------------
kill -STOP "$STACK_DEMO_PID"
sleep 3.5
expect "stopped target: 503" 503 '.error | length > 0' GET "$D/goroutine" "${AUTH[@]}"
kill -CONT "$STACK_DEMO_PID"
sleep 0.5
expect "resumed target answers again" 200 '' GET "$D/goroutine?debug=1" "${AUTH[@]}"

t_summary
