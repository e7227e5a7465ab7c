#!/usr/bin/env bash
# Integration: the CPU-only agent (libprofile-agent-cpu.so) preloaded into
# the demo behind the whole stack.  The library defines none of the malloc
# family nor any pthread lock function (nm -D, against the full agent,
# which does); CPU profiles parse with `go tool pprof` and show the demo's
# hot functions; goroutine, threadcreate and the memory statistics work;
# heap, allocs, block and mutex answer a JSON error that names the
# CPU-only agent, with status 501.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18380
STACK_USER=cputester STACK_PASSWORD='cpu-0nly-pw'
# Four workers on two CPUs: the shared lock is contended, so the full
# agent would have block and mutex samples to give.
STACK_DEMO_ARGS="--threads 4"
STACK_AGENT_KIND=cpu
export HOME="$T_TMP/home" PPROF_TMPDIR="$T_TMP/home/pprof"
mkdir -p "$PPROF_TMPDIR"

cleanup() { stack_stop; rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start "stack starts with the demo under the CPU-only agent"
D="$B/debug/pprof"

# ---- the library ----------------------------------------------------------------------
t_check "the demo runs libprofile-agent-cpu.so, not libprofile-agent.so" \
    bash -c "grep -q 'libprofile-agent-cpu\.so' /proc/$STACK_DEMO_PID/maps &&
             ! grep -q 'libprofile-agent\.so' /proc/$STACK_DEMO_PID/maps"
# Interposable functions the library defines (T or W, exported).
hooks='^(malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|pthread_mutex_.*|pthread_rwlock_.*|pthread_cond_.*)$'
defined_hooks() { nm -D --defined-only "$1" | awk '{print $NF}' | grep -E "$hooks"; }
full_hooks=$(defined_hooks "$STACK_AGENT_FULL" | wc -l)
t_check "nm -D: the full agent defines the malloc and lock functions ($full_hooks)" \
    test "$full_hooks" -ge 12
cpu_hooks=$(defined_hooks "$STACK_AGENT" | tr '\n' ' ')
t_check "nm -D: the CPU-only agent defines none of them (${cpu_hooks:-none})" \
    test -z "$cpu_hooks"
t_check "nm -D: the CPU-only agent exports lynx_agent_start" \
    bash -c "nm -D --defined-only '$STACK_AGENT' | grep -q ' T lynx_agent_start$'"

# pprof_top NAME FILE PATTERN [options...]: go tool pprof's output (-top by
# default) matches the extended regex PATTERN.
pprof_top() {
    local name="$1" file="$2" pat="$3" out
    shift 3
    [ $# -eq 0 ] && set -- -top
    out=$(timeout 60 go tool pprof -symbolize=none "$@" "$file" 2>&1)
    if grep -Eq "$pat" <<<"$out"; then
        t_ok "$name"
    else
        t_fail "$name" "no /$pat/ in go tool pprof $*:" "$(head -20 <<<"$out")"
    fi
}

# got NAME URL FILE: 200 and a gzipped body, saved in FILE.
got() {
    local code
    code=$(curl -s -o "$3" -w '%{http_code}' --max-time 60 "${AUTH[@]}" "$2")
    if [ "$code" = 200 ] && gzip -t "$3" 2>/dev/null; then
        t_ok "$1"
    else
        t_fail "$1" "status $code" "body: $(head -c 300 "$3" | tr -d '\0')"
    fi
}

# ---- what works ---------------------------------------------------------------------------
got "CPU profile (/debug/pprof/profile?seconds=3): gzipped pprof" \
    "$D/profile?seconds=3" "$T_TMP/cpu.pb.gz"
pprof_top "CPU profile: demo_hash_path among the hot functions" \
    "$T_TMP/cpu.pb.gz" 'demo_hash_path' -top -nodecount=10
pprof_top "CPU profile: whole chain from demo_worker" \
    "$T_TMP/cpu.pb.gz" 'demo_worker' -top -cum -nodecount=12
pprof_top "CPU profile: sample type cpu nanoseconds" \
    "$T_TMP/cpu.pb.gz" 'Type: cpu'

got "goroutine: pprof served" "$D/goroutine" "$T_TMP/g.pb.gz"
pprof_top "goroutine: the workers' start routine" "$T_TMP/g.pb.gz" 'demo_worker'
got "threadcreate: pprof served" "$D/threadcreate" "$T_TMP/t.pb.gz"
pprof_top "threadcreate: main created the workers" "$T_TMP/t.pb.gz" \
    'pthread_create' -traces

expect "memory: 200 with this process's statistics" 200 \
    ".target.pid == $STACK_DEMO_PID and .process.threads >= 5 and
     .process.resident_bytes > 0 and .heap.in_use_bytes > 0" \
    GET "$MEM" "${AUTH[@]}"
expect "memory: no exact allocation counters without malloc interposition" \
    200 '.allocations == null' GET "$MEM" "${AUTH[@]}"

# ---- what the CPU-only agent does not collect ---------------------------------------------
cpu_only='.error | test("CPU-only agent") and test("libprofile-agent.so")'
expect "heap: 501, JSON error naming the CPU-only agent" 501 "$cpu_only" \
    GET "$D/heap" "${AUTH[@]}"
echo "# heap: $H_BODY"
expect "allocs: 501, JSON error naming the CPU-only agent" 501 "$cpu_only" \
    GET "$D/allocs" "${AUTH[@]}"
expect "api heap: 501, JSON error naming the CPU-only agent" 501 "$cpu_only" \
    GET "$B/api/v1/profiling/heap" "${AUTH[@]}"
expect "heap?debug=1: 501 JSON as well" 501 "$cpu_only" \
    GET "$D/heap?debug=1" "${AUTH[@]}"
expect "mutex: 501, JSON error naming the CPU-only agent" 501 "$cpu_only" \
    GET "$D/mutex" "${AUTH[@]}"
expect "block?seconds=1: 501, JSON error naming the CPU-only agent" 501 \
    "$cpu_only" GET "$D/block?seconds=1" "${AUTH[@]}"
expect "index: lists the profiles; heap has no count" 200 \
    '([.profiles[] | select(.name == "heap") | .count] | .[0] == null) and
     ([.profiles[] | select(.name == "goroutine") | .count] | .[0] >= 5)' \
    GET "$D/?format=json" "${AUTH[@]}"

t_check "the demo is still running" stack_alive "$STACK_DEMO_PID"

t_summary
