#!/usr/bin/env bash
# Integration: thread and request labels on CPU samples, through the real
# stack (nginx + spawn-fcgi + the endpoints) and read by the real
# `go tool pprof -tags` and `-tagfocus`:
#   - labels_target shares: threads alpha/beta/gamma doing 50/30/20 % of
#     the work, request labels search/ingest/report 30/50/20 %, tenant=acme
#     50 %: every share within 3 points;
#   - labels_target names, under the CPU-only agent: two threads named
#     "pool" aggregate under one thread label (two tids), and a thread
#     renamed mid-profile is counted under each name for the time it had it;
#   - lynx_label_push/pop without the agent (no-op), and with it preloaded
#     (its limits);
#   - thread dumps and heap samples carry them too (heap: no tid);
#   - the demo names its threads and labels its request types.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack labels-demo-$$ 28580
SHARES=labels-shares-$$
NAMES=labels-names-$$
STACK_RATE=500r/s

cleanup() {
    stack_stop
    rm -f "/dev/shm/lynxprof.$SHARES" "/dev/shm/lynxprof-mbox.$SHARES" \
        "/dev/shm/lynxprof.$NAMES" "/dev/shm/lynxprof-mbox.$NAMES"
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

bin="${STACK_BUILD:-$src/build}/tests/integration/labels_target"
if [ ! -x "$bin" ]; then
    t_fail "labels_target is built" "missing $bin"
    t_summary
    exit 1
fi
if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
fi
it_stack_start
# The endpoints (another user) read the target's executable to symbolize.
cp "$bin" "$STACK_RUNDIR/labels_target"
chmod 0755 "$STACK_RUNDIR/labels_target"
bin="$STACK_RUNDIR/labels_target"

# pprof ARGS... FILES...: go tool pprof's output (no network symbolizer).
pprof() {
    PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" go tool pprof -symbolize=none "$@" 2>/dev/null
}

# share KEY VALUE FILES...: the percentage `go tool pprof -tags` gives
# VALUE of tag KEY (0 when absent).  -tags prints, per key,
#    KEY: Total N
#         n (p%): VALUE
share() {
    local key="$1" value="$2"
    shift 2
    pprof -tags "$@" | awk -v k="$key:" -v v="$value" '
        $1 == k { on = 1; next }
        /^ *[^ ]+: Total/ { on = 0 }
        on && $NF == v && match($0, /\( *[0-9.]+%\)/) {
            print substr($0, RSTART + 1, RLENGTH - 3) + 0; found = 1; exit }
        END { if (!found) print 0 }'
}

# total ARGS... FILES...: the samples left with ARGS (e.g. a -tagfocus)
# applied: the total -tags gives the thread tag, which every sample has.
total() {
    pprof -sample_index=samples -tags "$@" |
        awk '$1 == "thread:" && $2 == "Total" { print $3 + 0; exit }'
}

within() { # value target points
    awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= p) }'
}

# profile NAME PREFIX: CPU profiles of target NAME through nginx, 6 s
# windows at 250 Hz until 2000 samples; sets FILES.
profile() {
    local name="$1" prefix="$2" w n samples=0
    FILES=()
    for ((w = 1; w <= 10 && samples < 2000; w++)); do
        it_fetch_gz "$name: profile window $w through nginx" \
            "$B/debug/pprof/profile?seconds=6&hz=250&target=$name" \
            "$T_TMP/$prefix$w.pb.gz"
        FILES+=("$T_TMP/$prefix$w.pb.gz")
        n=$(pprof -raw "$T_TMP/$prefix$w.pb.gz" | awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && /^ +[0-9]+/{n += $1} END{print n+0}')
        samples=$((samples + n))
    done
    echo "# $name: $samples samples in ${#FILES[@]} window(s)"
}

# ---- the API without and with the agent ------------------------------------------
want_agent='push ok: 0
push long value: 1
push long key: -36
push reserved key: -22
push past depth: -28
push after pops: 0'
out=$("$bin" selftest 2>&1)
rc=$?
t_check "without the agent: a program using lynx_label_push links, runs, and every push is a no-op returning 0" \
    test "$rc" = 0 -a "$(grep -c ': 0$' <<<"$out")" = 6
out=$(LD_PRELOAD="$STACK_AGENT_FULL" LYNXPROF_NAME=selftest-$$ "$bin" selftest 2>&1)
t_check "with the agent preloaded: pushes reach it (limits: cut value, long key, reserved key, depth)" \
    test "$out" = "$want_agent"
[ "$out" = "$want_agent" ] || printf '#   %s\n' "$out"
out=$(LD_PRELOAD="$STACK_AGENT_CPU" LYNXPROF_NAME=selftest-cpu-$$ "$bin" selftest 2>&1)
t_check "with the CPU-only agent preloaded: the same" test "$out" = "$want_agent"

# ---- known shares: threads and request labels ------------------------------------
stack_start_target "$SHARES" "$bin" shares ||
    t_fail "shares target starts" "$(cat "$STACK_RUNDIR/demo-$SHARES.log")"
shares_pid=$STACK_TARGET_PID
profile "$SHARES" shares
tags=$(pprof -tags "${FILES[@]}")
printf '%s\n' "$tags" | sed 's/^/#   /' | head -40
for kv in thread=alpha=50 thread=beta=30 thread=gamma=20 \
    request=search=30 request=ingest=50 request=report=20; do
    IFS== read -r k v want <<<"$kv"
    got=$(share "$k" "$v" "${FILES[@]}")
    t_check "pprof -tags: $k=$v $got% within 3 points of $want%" within "$got" "$want" 3
done
t_check "pprof -tags: tid is a numeric tag with the three threads' ids" \
    test "$(printf '%s\n' "$tags" | awk '$1 == "tid:" {on=1; next} /^ *[^ ]+: Total/ {on=0} on && NF >= 3 {n++} END {print n+0}')" = 3

all=$(total "${FILES[@]}")
alpha=$(total -tagfocus=thread=alpha "${FILES[@]}")
search=$(total -tagfocus=request=search "${FILES[@]}")
both=$(total -tagfocus=thread=beta,request=ingest "${FILES[@]}")
acme=$(total -tagfocus=tenant=acme "${FILES[@]}")
echo "# samples: all $all, thread=alpha $alpha, request=search $search, thread=beta and request=ingest $both, tenant=acme $acme"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * a / b; else print 0 }'; }
t_check "pprof -tagfocus=thread=alpha: $(pct "${alpha:-0}" "${all:-0}")% of the samples (50 within 3)" \
    within "$(pct "${alpha:-0}" "${all:-0}")" 50 3
t_check "pprof -tagfocus=request=search: $(pct "${search:-0}" "${all:-0}")% (30 within 3)" \
    within "$(pct "${search:-0}" "${all:-0}")" 30 3
t_check "pprof -tagfocus=thread=beta,request=ingest (both must match): $(pct "${both:-0}" "${all:-0}")% (30 within 3)" \
    within "$(pct "${both:-0}" "${all:-0}")" 30 3
t_check "pprof -tagfocus=tenant=acme (a label pushed around others): $(pct "${acme:-0}" "${all:-0}")% (50 within 3)" \
    within "$(pct "${acme:-0}" "${all:-0}")" 50 3
t_check "pprof -tagfocus=thread=alpha -tags: only alpha, and only its requests" \
    bash -c '[ "$(echo "$0" | grep -c ": \(beta\|gamma\|report\)$")" = 0 ] && echo "$0" | grep -q ": search$"' \
    "$(pprof -tagfocus=thread=alpha -tags "${FILES[@]}")"
t_check "the work is in work_unit under member_main for every thread" \
    bash -c 'echo "$0" | grep -q "work_unit"' "$(pprof -top -nodecount=3 "${FILES[@]}")"

# The page's flame data: labels summed per value, and one label's samples.
expect "flame: a session of the shares target" 200 '.session_id != null' \
    GET "$CPU/start?duration=4s&hz=250&target=$SHARES" "${AUTH[@]}"
sid=$(jqr .session_id)
t_check "flame: the session ends" wait_done "$sid" 30
expect "flame JSON: labels thread (alpha, beta, gamma) and request, with the total" 200 '
  (.labels.thread | keys) == ["alpha","beta","gamma"] and
  (.labels.request | keys) == ["ingest","report","search"] and
  .labels_total > 0 and (.labels.thread | add) == .labels_total' \
    GET "$CPU/flame/$sid?target=$SHARES" "${AUTH[@]}"
alpha_ns=$(jqr .labels.thread.alpha)
expect "flame JSON ?tagfocus=thread=alpha: only alpha's samples" 200 '
  .tagfocus == "thread=alpha" and
  ([.stacks[][1][.default_sample_type]] | add) == '"${alpha_ns:-0}" \
    GET "$CPU/flame/$sid?target=$SHARES&tagfocus=thread=alpha" "${AUTH[@]}"
expect "flame JSON ?tagfocus without '=': 400" 400 '.error | test("tagfocus")' \
    GET "$CPU/flame/$sid?target=$SHARES&tagfocus=alpha" "${AUTH[@]}"
# Folded text: the same filter, the same total as the JSON's.
folded_sum() { awk '{ s += $NF } END { printf "%.0f", s }' <<<"$H_BODY"; }
http GET "$CPU/flame/$sid?target=$SHARES&format=folded" "${AUTH[@]}"
folded_all=$(folded_sum)
http GET "$CPU/flame/$sid?target=$SHARES&format=folded&tagfocus=thread=alpha" "${AUTH[@]}"
t_check "flame folded ?tagfocus=thread=alpha: 200, alpha's total ($(folded_sum) of ${alpha_ns:-0}), less than all ($folded_all)" \
    bash -c '[ "$0" = 200 ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ] && [ "$1" -lt "$3" ]' \
    "$H_CODE" "$(folded_sum)" "${alpha_ns:-0}" "$folded_all"
expect "flame folded ?tagfocus without '=': 400" 400 '.error | test("tagfocus")' \
    GET "$CPU/flame/$sid?target=$SHARES&format=folded&tagfocus=alpha" "${AUTH[@]}"
# Threads (goroutine): one is beta, of at least alpha, beta and gamma.
http GET "$B/api/v1/profiling/flame?type=goroutine&format=folded&target=$SHARES" "${AUTH[@]}"
threads_all=$(folded_sum)
http GET "$B/api/v1/profiling/flame?type=goroutine&format=folded&target=$SHARES&tagfocus=thread=beta" "${AUTH[@]}"
t_check "flame?type=goroutine folded ?tagfocus=thread=beta: 200, one thread of $threads_all ($(folded_sum))" \
    bash -c '[ "$0" = 200 ] && [ "$1" = 1 ] && [ "$2" -ge 3 ]' \
    "$H_CODE" "$(folded_sum)" "$threads_all"
expect "flame?type=goroutine folded ?tagfocus='=x': 400" 400 '.error | test("tagfocus")' \
    GET "$B/api/v1/profiling/flame?type=goroutine&format=folded&target=$SHARES&tagfocus==x" "${AUTH[@]}"

# A thread dump: each thread under its own name, with its request labels.
it_fetch_gz "goroutine profile of the shares target" \
    "$B/debug/pprof/goroutine?target=$SHARES" "$T_TMP/goroutine.pb.gz"
gtags=$(pprof -tags "$T_TMP/goroutine.pb.gz")
t_check "goroutine: thread labels alpha, beta, gamma, and tids" \
    bash -c 'for n in alpha beta gamma; do echo "$0" | grep -q ": $n$" || exit 1; done; echo "$0" | grep -q "^ *tid: Total"' "$gtags"
stack_kill_pids "$shares_pid"

# ---- equal names aggregate; a rename mid-profile (CPU-only agent) -----------------
STACK_TARGET_AGENT="$STACK_AGENT_CPU" stack_start_target "$NAMES" "$bin" names ||
    t_fail "names target starts" "$(cat "$STACK_RUNDIR/demo-$NAMES.log")"
names_pid=$STACK_TARGET_PID
curl -s "${AUTH[@]}" -o "$T_TMP/names.pb.gz" \
    "$B/debug/pprof/profile?seconds=8&hz=250&target=$NAMES" &
curl_pid=$!
sleep 4
kill -USR1 "$names_pid"
wait "$curl_pid"
t_check "names: profile through nginx (CPU-only agent)" gzip -t "$T_TMP/names.pb.gz"
ntags=$(pprof -tags "$T_TMP/names.pb.gz")
printf '%s\n' "$ntags" | sed 's/^/#   /' | head -20
pool=$(share thread pool "$T_TMP/names.pb.gz")
solo=$(share thread solo "$T_TMP/names.pb.gz")
renamed=$(share thread renamed "$T_TMP/names.pb.gz")
t_check "two threads named pool aggregate: thread=pool $pool% (66.7 within 3)" within "$pool" 66.7 3
t_check "renamed mid-profile: solo $solo% and renamed $renamed% both at least 5%" \
    awk -v s="$solo" -v r="$renamed" 'BEGIN { exit !(s >= 5 && r >= 5) }'
t_check "renamed mid-profile: solo and renamed sum to 33.3% within 3" \
    within "$(awk -v s="$solo" -v r="$renamed" 'BEGIN { print s + r }')" 33.3 3
ptids=$(pprof -tagfocus=thread=pool -tags "$T_TMP/names.pb.gz" |
    awk '$1 == "tid:" {on=1; next} /^ *[^ ]+: Total/ {on=0} on && NF >= 3 {n++} END {print n+0}')
t_check "thread=pool spans two tids ($ptids)" test "$ptids" = 2
stack_kill_pids "$names_pid"

# ---- the demo ------------------------------------------------------------------------
it_fetch_gz "demo: profile through nginx" \
    "$B/debug/pprof/profile?seconds=3&target=$STACK_DEMO_NAME" "$T_TMP/demo.pb.gz"
dtags=$(pprof -tags "$T_TMP/demo.pb.gz")
printf '%s\n' "$dtags" | sed 's/^/#   /' | head -20
t_check "demo: its workers are named demo-worker" \
    bash -c 'echo "$0" | grep -q ": demo-worker$"' "$dtags"
t_check "demo: request labels name its request types (request=log-batch)" \
    bash -c 'echo "$0" | grep -q ": log-batch$"' "$dtags"
t_check "demo: -tagfocus=request=log-batch keeps the batch pipeline" \
    bash -c 'echo "$0" | grep -q demo_process_batch' \
    "$(pprof -tagfocus=request=log-batch -top -cum -nodecount=20 "$T_TMP/demo.pb.gz")"

# Heap samples: the allocating thread's name and its request labels.
it_fetch_gz "demo: heap profile through nginx" \
    "$B/debug/pprof/heap?target=$STACK_DEMO_NAME" "$T_TMP/heap.pb.gz"
htags=$(pprof -sample_index=alloc_space -tags "$T_TMP/heap.pb.gz")
printf '%s\n' "$htags" | sed 's/^/#   /' | head -20
t_check "heap: allocations under thread=demo-worker and request=log-batch" \
    bash -c 'echo "$0" | grep -q ": demo-worker$" && echo "$0" | grep -q ": log-batch$"' "$htags"
t_check "heap: allocations split by stage (generate, parse)" \
    bash -c 'echo "$0" | grep -q ": generate$" && echo "$0" | grep -q ": parse$"' "$htags"
t_check "heap: no tid label (a heap profile spans ended threads)" \
    bash -c '! echo "$0" | grep -q "^ *tid:"' "$htags"

t_summary
