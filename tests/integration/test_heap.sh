#!/usr/bin/env bash
# Integration: heap profiles through nginx from the demo with the agent
# preloaded (default sampling rate): /debug/pprof/heap and allocs, the
# advanced API's /api/v1/profiling/heap, read by `go tool pprof` by file and
# by URL; the accuracy test (demo --workload heap-sites: inuse_space per
# site within 10% of what the demo prints); ?debug=1 text, ?seconds=N
# delta, ?gc=1; the exact counters in /api/v1/profiling/memory; bad input.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18280
STACK_USER=heaptester STACK_PASSWORD='h3ap-pw'
STACK_DEMO_ARGS="--threads 2 --intensity 50 --workload heap-sites"
unset LYNXPROF_HEAP_RATE
# The exact counters are off by default; the memory check below wants them.
export LYNXPROF_HEAP_COUNTERS=1
# go tool pprof keeps fetched profiles under $HOME/pprof.
export HOME="$T_TMP/home" PPROF_TMPDIR="$T_TMP/home/pprof"
mkdir -p "$PPROF_TMPDIR"

cleanup() { stack_stop; rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start "stack starts with the demo's heap-sites workload"

log="$STACK_RUNDIR/demo-$STACK_DEMO_NAME.log"
for ((i = 0; i < 100; i++)); do
    grep -q '^heap_sites ' "$log" 2>/dev/null && break
    sleep 0.1
done
truth=$(grep '^heap_sites ' "$log" | head -1)
t_check "demo printed its live bytes per site" test -n "$truth"
truth_of() { sed -n "s/.* $1_bytes=\([0-9]*\).*/\1/p" <<<"$truth"; }

# fetch NAME URL FILE: the body into FILE, the status into F_CODE.
fetch() {
    F_CODE=$(curl -s -o "$3" -D "$T_TMP/fetch-headers" -w '%{http_code}' \
        --max-time 60 "${AUTH[@]}" "$2" 2>/dev/null) || F_CODE=000
}

# ---- pprof by file: the accuracy test ---------------------------------------------------
fetch heap "$B/debug/pprof/heap" "$T_TMP/heap.pb.gz"
t_check "/debug/pprof/heap: 200" test "$F_CODE" = 200
t_check "/debug/pprof/heap: gzipped pprof" \
    bash -c "head -c2 '$T_TMP/heap.pb.gz' | od -An -tx1 | grep -q '1f 8b'"
top=$(go tool pprof -top -unit=B -sample_index=inuse_space "$T_TMP/heap.pb.gz" 2>&1)
t_check "go tool pprof reads it: Type inuse_space" grep -q 'Type: inuse_space' <<<"$top"
# The cum column of a function's row, in bytes: each heap_site_* calls
# malloc from an inlined helper (build_list), so its bytes are its cum.
cum_of() { # top-output function
    awk -v f="$2" '$NF == f { v = $4; sub(/B$/, "", v); print v; exit }' <<<"$1"
}
within10() { awk -v g="$1" -v w="$2" 'BEGIN { d = (g - w) / w; exit !(d < 0.10 && d > -0.10) }'; }
# One profile: the large site is always sampled (4 MiB >> 512 KiB).  The
# small and medium sites get ~12 and ~62 samples at the default rate: one
# profile's estimate there has a standard deviation of ~29% and ~13%
# (Poisson sampling), so their 10% check is on the mean of many profiles
# below.
for s in small medium large; do
    want=$(truth_of "$s")
    got=$(cum_of "$top" "heap_site_$s")
    if [ "$s" != large ]; then
        echo "# one profile: heap_site_$s ${got:-none} B vs $want B"
        continue
    fi
    if [ -n "$want" ] && [ -n "$got" ] && within10 "$got" "$want"; then
        t_ok "one profile: inuse_space of heap_site_large within 10% ($got B vs $want B)"
    else
        t_fail "one profile: inuse_space of heap_site_large within 10%" \
            "got '${got:-none}' want '$want'" "$(head -20 <<<"$top")"
    fi
done
t_check "stacks reach main through demo_heap_sites_init" \
    bash -c "go tool pprof -traces '$T_TMP/heap.pb.gz' 2>/dev/null | grep -A3 heap_site_large | grep -q demo_heap_sites_init"

# ---- pprof by URL --------------------------------------------------------------------
url_top=$(go tool pprof -top -sample_index=inuse_space \
    "http://$STACK_USER:$STACK_PASSWORD@127.0.0.1:$STACK_PORT/debug/pprof/heap" 2>&1)
t_check "go tool pprof by URL (basic auth) shows heap_site_large" \
    grep -q 'heap_site_large' <<<"$url_top"

# ---- allocs, the advanced API --------------------------------------------------------------
fetch allocs "$B/debug/pprof/allocs" "$T_TMP/allocs.pb.gz"
t_check "/debug/pprof/allocs: 200" test "$F_CODE" = 200
t_check "allocs defaults to alloc_space" \
    bash -c "go tool pprof -top '$T_TMP/allocs.pb.gz' 2>&1 | grep -q 'Type: alloc_space'"
t_check "allocs shows the churn of the workers (heap_churn)" \
    bash -c "go tool pprof -top -sample_index=alloc_objects '$T_TMP/allocs.pb.gz' 2>&1 | grep -q heap_churn"
fetch api "$B/api/v1/profiling/heap" "$T_TMP/api.pb.gz"
t_check "/api/v1/profiling/heap: 200" test "$F_CODE" = 200
t_check "/api/v1/profiling/heap: attachment heap_YYYYMMDD_HHMMSS.pprof" \
    grep -Eqi '^Content-Disposition: attachment; filename="?heap_[0-9]{8}_[0-9]{6}\.pprof' "$T_TMP/fetch-headers"
t_check "/api/v1/profiling/heap: the four sample types" \
    bash -c "go tool pprof -raw '$T_TMP/api.pb.gz' 2>&1 | grep -q 'alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes'"
t_check "period type space/bytes at the default rate 524288" \
    bash -c "go tool pprof -raw '$T_TMP/api.pb.gz' 2>&1 | grep -Eq 'Period: 524288'"
t_check "a comment counts the samples paced at the default limit (1000 a second a thread)" \
    bash -c "go tool pprof -comments '$T_TMP/api.pb.gz' 2>&1 | grep -Eq 'samples, [0-9]+ live; [0-9]+ at a longer interval \(their thread sampled over 1000 times a second\)'"

# ---- text, delta, gc ---------------------------------------------------------------------
fetch text "$B/debug/pprof/heap?debug=1" "$T_TMP/heap.txt"
t_check "debug=1: 200 text" test "$F_CODE" = 200
t_check "debug=1: Go's header '@ heap/1048576'" \
    grep -Eq '^heap profile: [0-9]+: [0-9]+ \[[0-9]+: [0-9]+\] @ heap/1048576$' "$T_TMP/heap.txt"
t_check "debug=1: records and symbolized frames" \
    bash -c "grep -Eq '^[0-9]+: [0-9]+ \[[0-9]+: [0-9]+\] @ 0x' '$T_TMP/heap.txt' && grep -q \$'^#\t0x.*heap_site_large' '$T_TMP/heap.txt'"
fetch delta "$B/debug/pprof/allocs?seconds=1" "$T_TMP/delta.pb.gz"
t_check "seconds=1: 200" test "$F_CODE" = 200
delta_top=$(go tool pprof -top -unit=B -sample_index=alloc_space "$T_TMP/delta.pb.gz" 2>&1)
t_check "seconds=1: allocations of the interval only (churn, not the start-up sites)" \
    bash -c "grep -q heap_churn <<<\"\$0\" && [ -z \"\$(awk '\$NF == \"heap_site_large\" && \$1 != \"0\"' <<<\"\$0\")\" ]" "$delta_top"
t_check "seconds=1: in-use from the later snapshot" \
    bash -c "go tool pprof -top -sample_index=inuse_space '$T_TMP/delta.pb.gz' 2>&1 | grep -q heap_site_large"
fetch gc "$B/debug/pprof/heap?gc=1" "$T_TMP/gc.pb.gz"
t_check "gc=1: 200 pprof" test "$F_CODE" = 200

# ---- exact counters in the memory statistics ---------------------------------------------
expect "memory: exact allocation counters" 200 '
  (.allocations.allocations > 100000) and (.allocations.frees > 0) and
  (.allocations.allocated_bytes_total >= .allocations.live_bytes) and
  (.allocations.live_bytes > 120000000) and
  (.allocations.live_objects >= 102020)' GET "$B/api/v1/profiling/memory" "${AUTH[@]}"
t_check "metrics: the exact counters as lynxprof_alloc_*" \
  bash -c "curl -s ${AUTH[*]@Q} '$B/metrics' | grep -Eq '^lynxprof_alloc_allocations_total\{target=\"lynx-demo\"\} [1-9]'"

# ---- accuracy: the mean of independent profiles ------------------------------------------
# Each run is a fresh demo (its own sample points); ACC_RUNS profiles make
# the mean's standard deviation ~29%/sqrt(ACC_RUNS) for the small site.
ACC_RUNS=${ACC_RUNS:-60}
declare -A acc_sum=([small]=0 [medium]=0 [large]=0)
acc_n=0
for ((r = 0; r < ACC_RUNS; r++)); do
    name="heapacc-$r"
    stack_start_demo "$name" --threads 1 --intensity 1 --workload heap-sites || break
    pid=$STACK_DEMO_PID
    for ((i = 0; i < 100; i++)); do
        grep -q '^heap_sites ' "$STACK_RUNDIR/demo-$name.log" 2>/dev/null && break
        sleep 0.05
    done
    fetch acc "$B/debug/pprof/heap?target=$name" "$T_TMP/acc.pb.gz"
    stack_kill_pids "$pid"
    if [ "$F_CODE" != 200 ]; then
        echo "# run $r: status $F_CODE"
        continue
    fi
    one=$(go tool pprof -top -unit=B -sample_index=inuse_space "$T_TMP/acc.pb.gz" 2>/dev/null)
    line=""
    for s in small medium large; do
        v=$(cum_of "$one" "heap_site_$s")
        line="$line $s=${v:-0}"
        acc_sum[$s]=$(awk -v a="${acc_sum[$s]}" -v b="${v:-0}" 'BEGIN { printf "%.0f", a + b }')
    done
    echo "# run $r:$line"
    acc_n=$((acc_n + 1))
done
t_check "accuracy: $ACC_RUNS independent profiles taken" test "$acc_n" = "$ACC_RUNS"
for s in small medium large; do
    want=$(truth_of "$s")
    mean=$(awk -v a="${acc_sum[$s]}" -v n="$acc_n" 'BEGIN { printf "%.0f", (n > 0 ? a / n : 0) }')
    if [ -n "$want" ] && within10 "$mean" "$want"; then
        t_ok "accuracy: mean inuse_space of heap_site_$s within 10% ($mean B vs $want B)"
    else
        t_fail "accuracy: mean inuse_space of heap_site_$s within 10%" "mean $mean want $want"
    fi
done

# ---- bad input -----------------------------------------------------------------------------
H="$B/debug/pprof/heap"
expect "bad: seconds negative" 400 '.error' GET "$H?seconds=-1" "${AUTH[@]}"
expect "bad: seconds huge" 400 '.error' GET "$H?seconds=99999999999999999999" "${AUTH[@]}"
expect "bad: seconds above MAX_PROFILE_DURATION" 400 '.error' GET "$H?seconds=3600" "${AUTH[@]}"
expect "bad: debug=3" 400 '.error' GET "$H?debug=3" "${AUTH[@]}"
expect "bad: gc=maybe" 400 '.error' GET "$H?gc=maybe" "${AUTH[@]}"
expect "bad: debug with seconds" 400 '.error' GET "$H?debug=1&seconds=1" "${AUTH[@]}"
expect "bad: unknown target" 404 '.error' GET "$H?target=nosuch" "${AUTH[@]}"
expect "bad: api heap with gc=maybe" 400 '.error' GET "$B/api/v1/profiling/heap?gc=maybe" "${AUTH[@]}"
expect "401 without credentials" 401 '.error' GET "$H"
http GET "$H" "${AUTH[@]}"
t_check "the endpoint is healthy after bad input" test "$H_CODE" = 200

# ---- the gate: advanced API off -------------------------------------------------------------
PROFILING_ENABLED=false stack_restart_endpoints
expect "api heap: 404 when profiling is disabled" 404 '.error' GET "$B/api/v1/profiling/heap" "${AUTH[@]}"
http GET "$H" "${AUTH[@]}"
t_check "debug heap still served outside production" test "$H_CODE" = 200

t_summary
