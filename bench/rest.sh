#!/usr/bin/env bash
# Benchmark: the rows of "nearly free at rest" side by side, in one run.
#   1. GET /api/v1/profiling/memory beside a json-c FastCGI hello-world
#      (bench/hello_fcgi.c), both behind the same nginx without
#      authentication, the demo busy as scripts/run.sh runs it (2 workers):
#      wrk -t2 -c16, alternating hello / memory, two runs each; requests/s
#      and p99 per run and their ratios.
#   2. The allocator-bound loop (bench/alloc_loop.c: 2 threads, malloc/free
#      of 16 B-16 KiB) with no agent, the full agent (its defaults, sampling
#      off, and the exact counters on), the CPU-only agent, and gperftools' tcmalloc with its
#      sampling at 512 KiB (TCMALLOC_SAMPLE_PARAMETER=524288): interleaved
#      rounds, median of the paired per-round CPU-time ratios to no agent;
#      then tcmalloc's sampling against tcmalloc without it, the same way.
#   3. The idle demo (log workload, 2 threads, no profile running) with no
#      agent, the full agent and the CPU-only agent: CPU time per log line
#      in interleaved rounds (paired ratios to no agent), and the share of
#      its CPU time perf attributes to each agent's code and to libunwind;
#      the full agent also with heap sampling off (LYNXPROF_HEAP_RATE=0) and
#      with the exact counters on (LYNXPROF_HEAP_COUNTERS=1).
#   4. The lock hooks: bench/lock_overhead.sh with the full agent, then with
#      the CPU-only agent in its place ("agent at rest" is then that agent).
# Prints markdown tables; docs/PERFORMANCE.md ("At rest") records a run.
# Never part of the test suite; asserts nothing.
#   bench/rest.sh [wrk seconds] [alloc rounds] [idle rounds] [idle seconds]
# REST_PARTS: the parts to run (default "1 2 3 4").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
wrk_secs="${1:-10}"
alloc_rounds="${2:-11}"
idle_rounds="${3:-7}"
idle_secs="${4:-4}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"
. "$here/interleave.sh"
. "$here/alloc_loop.sh"

build="$src/build"
agent="$build/.libs/libprofile-agent.so"
agent_cpu="$build/.libs/libprofile-agent-cpu.so"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
for tool in wrk perf spawn-fcgi multiwatch pkg-config; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$tcmalloc" ] || { echo "missing $tcmalloc (libgoogle-perftools4)"; exit 1; }
for f in "$agent" "$agent_cpu"; do
    [ -f "$f" ] || { echo "build first: $f"; exit 1; }
done

tmp=$(mktemp -d /tmp/lynxprof-rest.XXXXXX)
chmod 0755 "$tmp"
STACK_PIDS=""
trap '[ -z "${STACK_RUNDIR:-}" ] || stack_stop; rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
gcc -O2 -o "$tmp/hello.fcgi" "$here/hello_fcgi.c" \
    $(pkg-config --cflags --libs fcgi json-c)
alloc_loop_build "$tmp/alloc_loop" uniform

echo "at rest: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
part() { [[ " ${REST_PARTS:-1 2 3 4} " == *" $1 "* ]]; }

if part 1; then
# ---- 1. memory endpoint vs a json-c FastCGI hello ------------------------------
STACK_SRC="$src" STACK_RUNDIR="$tmp/run"
STACK_PORT=28180 STACK_TLS_PORT=28543 STACK_APP_PORT=28181
STACK_USER=bench STACK_PASSWORD=bench-pw STACK_RATE=1000000r/s
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$tmp/run/spool"
stack_start
# The hello program under spawn-fcgi exactly as an endpoint is run.
stack_spawn_fcgi hello "$tmp/hello.fcgi"
cat >"$STACK_RUNDIR/conf/extra/rest.conf" <<CONF
server {
    listen 127.0.0.1:28190;
    location = /hello {
        include $STACK_RUNDIR/conf/lynxprof-fastcgi.conf;
        fastcgi_pass unix:$STACK_RUNDIR/hello.sock;
    }
    location = /api/v1/profiling/memory {
        include $STACK_RUNDIR/conf/lynxprof-fastcgi.conf;
        fastcgi_pass unix:$STACK_RUNDIR/memory.sock;
    }
}
CONF
kill -HUP "$STACK_NGINX_PID"
stack_wait_http "http://127.0.0.1:28190/hello" 200 10
stack_wait_http "http://127.0.0.1:28190/api/v1/profiling/memory" 200 10

# wrk_row LABEL URL: one wrk run; prints a row, appends "rps p99_ms" to
# $tmp/LABEL.
wrk_row() {
    local out rps p50 p99 errs
    out=$(wrk -t2 -c16 -d"${wrk_secs}s" --latency "$2")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${errs:-0}"
    awk -v r="$rps" -v p="$p99" 'BEGIN {
        v = p + 0
        if (p ~ /us$/) v /= 1000; else if (p ~ /[^m]s$/) v *= 1000
        print r, v }' >>"$tmp/$1"
}
echo
echo "### 1. memory endpoint vs json-c FastCGI hello, same nginx, no auth"
echo "(wrk -t2 -c16 -d${wrk_secs}s, demo: ${STACK_DEMO_ARGS:---threads 2}, full agent)"
echo
echo "| what | requests/s | p50 | p99 | non-2xx |"
echo "|---|---:|---:|---:|---:|"
for run in 1 2; do
    wrk_row hello "http://127.0.0.1:28190/hello"
    wrk_row memory "http://127.0.0.1:28190/api/v1/profiling/memory"
done
echo
paste -d' ' "$tmp/hello" "$tmp/memory" | awk '{
    printf "run %d: memory/hello requests/s %.2fx, p99 memory/hello %.2fx\n",
        NR, $3 / $1, $4 / $2 }'
stack_stop

fi

if part 2; then
# ---- 2. the allocator-bound loop -------------------------------------------------------------
# glibc's trim threshold raised alike in every configuration: see
# bench/malloc_rest.sh (the loop's live set sits at the default one).
loop="env $STEADY $tmp/alloc_loop 2 8000000"
echo
echo "### 2. allocator-bound loop: 2 threads x 8M malloc/free, 16 B-16 KiB"
echo "($alloc_rounds interleaved rounds; ratios are paired, to no agent)"
echo
interleave "$alloc_rounds" \
    "no agent|$loop" \
    "full agent, defaults (512 KiB sampling, no exact counters)|env LD_PRELOAD=$agent LYNXPROF_NAME=rest-a $loop" \
    "full agent, heap sampling off (rate 0)|env LD_PRELOAD=$agent LYNXPROF_NAME=rest-b LYNXPROF_HEAP_RATE=0 $loop" \
    "full agent, exact counters on (LYNXPROF_HEAP_COUNTERS=1)|env LD_PRELOAD=$agent LYNXPROF_NAME=rest-d LYNXPROF_HEAP_COUNTERS=1 $loop" \
    "CPU-only agent|env LD_PRELOAD=$agent_cpu LYNXPROF_NAME=rest-c $loop" \
    "tcmalloc, sampling at 512 KiB|env LD_PRELOAD=$tcmalloc TCMALLOC_SAMPLE_PARAMETER=524288 $loop"
echo
echo "tcmalloc's own sampling cost (paired, to tcmalloc without sampling):"
echo
interleave "$alloc_rounds" \
    "tcmalloc, sampling off (TCMALLOC_SAMPLE_PARAMETER=0)|env LD_PRELOAD=$tcmalloc TCMALLOC_SAMPLE_PARAMETER=0 $loop" \
    "tcmalloc, TCMALLOC_SAMPLE_PARAMETER unset (its own default)|env -u TCMALLOC_SAMPLE_PARAMETER LD_PRELOAD=$tcmalloc $loop" \
    "tcmalloc, sampling at 512 KiB|env LD_PRELOAD=$tcmalloc TCMALLOC_SAMPLE_PARAMETER=524288 $loop"

fi

if part 3; then
# ---- 3. the idle demo ------------------------------------------------------------------------
demo="$build/demo/lynx-demo --threads 2 --duration $idle_secs --quiet"
# "label|environment" per configuration; the first is the baseline.
idle_configs=(
    "no agent|"
    "full agent, heap sampling off (rate 0)|LD_PRELOAD=$agent LYNXPROF_HEAP_RATE=0"
    "full agent, defaults|LD_PRELOAD=$agent"
    "full agent, exact counters on (LYNXPROF_HEAP_COUNTERS=1)|LD_PRELOAD=$agent LYNXPROF_HEAP_COUNTERS=1"
    "CPU-only agent|LD_PRELOAD=$agent_cpu"
)
echo
echo "### 3. idle demo: log workload, 2 threads, ${idle_secs} s, no profile running"
echo "($idle_rounds interleaved rounds; CPU time per log line, user + system,"
echo "paired ratios to no agent: above 1 is what the agent costs)"
echo
: >"$tmp/idle"
for ((r = 0; r < idle_rounds; r++)); do
    line=""
    for c in "${idle_configs[@]}"; do
        read -r -a envs <<<"${c#*|}"
        lines=$(/usr/bin/time -o "$tmp/t" -f '%U %S' \
            env "${envs[@]}" LYNXPROF_NAME="rest-idle" $demo |
            sed -n 's/^lines=\([0-9]*\) .*/\1/p')
        line="$line $(awk -v n="${lines:-0}" '{ print (n > 0 ? 1e6 * ($1 + $2) / n : "nan") }' "$tmp/t")"
    done
    echo "$line" >>"$tmp/idle"
done
echo "| configuration | median CPU us per line | median paired ratio (min-max) |"
echo "|---|---:|---:|"
col=0
for c in "${idle_configs[@]}"; do
    col=$((col + 1))
    awk -v c="$col" -v name="${c%%|*}" '
        function sort(a, n,   i, j, t) {
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
        { n++; v[n] = $c; q[n] = $c / $1 }
        END { sort(v, n); sort(q, n)
              printf "| %s | %.1f | %.3f (%.3f-%.3f) |\n", name,
                  v[int((n + 1) / 2)], q[int((n + 1) / 2)], q[1], q[n] }' "$tmp/idle"
done
echo
echo "perf attribution, ${idle_secs} s each (share of the demo's CPU time):"
echo
echo "| configuration | agent code | libunwind | total |"
echo "|---|---:|---:|---:|"
for c in "${idle_configs[@]:1}"; do
    read -r -a envs <<<"${c#*|}"
    # The demo as perf's workload (perf record -p does not stop cleanly here).
    perf record -q -e cpu-clock -F 997 -o "$tmp/p.data" -- \
        env "${envs[@]}" LYNXPROF_NAME="rest-perf" $demo >/dev/null 2>&1
    perf report -i "$tmp/p.data" --no-children --sort dso --stdio 2>/dev/null |
        awk -v k="${c%%|*}" '
            /libprofile-agent/ { gsub("%", "", $1); a += $1 }
            /libunwind/ { gsub("%", "", $1); u += $1 }
            END { printf "| %s | %.2f %% | %.2f %% | %.2f %% |\n", k, a, u, a + u }'
done

fi

if part 4; then
# ---- 4. the lock hooks at rest ---------------------------------------------------------------
echo
echo "### 4. lock hooks (bench/lock_overhead.sh), full agent, then the CPU-only agent"
echo
bash "$here/lock_overhead.sh"
echo
# (Its window rows take the CPU-only agent's path too: no hooks at all.)
LYNXPROF_AGENT_SO="$agent_cpu" bash "$here/lock_overhead.sh" |
    grep -E '^(lock hooks|no agent|agent at rest|ratio)' |
    sed -e 's/^agent at rest (no window)/CPU-only agent           /' -e 's/; window,.*//'
echo
fi
echo "command: bench/rest.sh $wrk_secs $alloc_rounds $idle_rounds $idle_secs"
