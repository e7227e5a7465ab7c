#!/usr/bin/env bash
# Benchmark: what the idle agent (no CPU profile running, no lock window
# open; heap sampling at its default rate, as in production) costs a real
# malloc-heavy, lock-heavy program: perf (cpu-clock) samples the demo's log
# workload and counts the share of its CPU time spent in the agent's code
# (libprofile-agent.so: the malloc and lock interposers, heap sampling,
# label pushes) and in libunwind (unwinding sampled allocations).  A share
# of CPU time does not depend on the machine's speed, unlike throughput on
# a shared machine.
#
# Beside it, the share of glibc's own malloc family (malloc, free, calloc,
# realloc and their internals): an interposer that reads a block's header
# takes the cache miss glibc's free would take a moment later, so that
# share falls as the agent's rises; the no-agent row shows glibc's share
# alone.  Configurations run in interleaved rounds; each cell is the median
# of the rounds (min-max).
#   bench/agent_share.sh [seconds] [threads] [rounds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
secs="${1:-8}"
threads="${2:-2}"
rounds="${3:-3}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"
build="$src/build"
agent="$build/.libs/libprofile-agent.so"
tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
command -v perf >/dev/null || { echo "missing perf"; exit 1; }
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }

# "label|environment" per configuration.
configs=(
    "no agent|X=0"
    "agent, defaults (sampling every 512 KiB, no exact counters)|LD_PRELOAD=$agent"
    "agent, LYNXPROF_HEAP_RATE=0 (the interposers alone)|LD_PRELOAD=$agent LYNXPROF_HEAP_RATE=0"
    "agent, LYNXPROF_HEAP_COUNTERS=1 (exact counters too)|LD_PRELOAD=$agent LYNXPROF_HEAP_COUNTERS=1"
)

echo "demo log workload, $threads threads, $secs s, agent idle, $rounds interleaved rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
for ((r = 0; r < rounds; r++)); do
    i=0
    for c in "${configs[@]}"; do
        read -r -a envs <<<"${c#*|}"
        env "${envs[@]}" LYNXPROF_NAME="share-$i" \
            "$build/demo/lynx-demo" --threads "$threads" --duration $((secs + 2)) --quiet >/dev/null &
        pid=$!
        sleep 1
        perf record -q -e cpu-clock -F 1999 -p "$pid" -o "$tmp/p.data" -- sleep "$secs" >/dev/null 2>&1
        wait "$pid" || true
        perf report -i "$tmp/p.data" --no-children --sort dso,sym --stdio 2>/dev/null |
            awk '/^ *[0-9.]+%/ {
                    v = $1; gsub("%", "", v)
                    if ($2 ~ /libprofile-agent/) a += v
                    else if ($2 ~ /libunwind/) u += v
                    else if ($2 ~ /^libc\.so/ && $NF ~ /^(malloc|free|cfree.*|calloc|realloc|_int_.*|malloc_consolidate|unlink_chunk.*|tcache_.*|sysmalloc)$/) g += v
                }
                END { printf "%.2f %.2f %.2f %.2f\n", a, u, a + u, g }' >>"$tmp/$i"
        i=$((i + 1))
    done
done

echo "| configuration | agent code | libunwind | agent total | glibc's malloc family |"
echo "|---|---:|---:|---:|---:|"
i=0
for c in "${configs[@]}"; do
    cells=""
    for col in 1 2 3 4; do
        cells="$cells | $(awk -v c="$col" '{ print $c }' "$tmp/$i" | sort -g |
            awk '{ v[NR] = $1 } END { printf "%.2f %% (%.2f-%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }')"
    done
    echo "| ${c%%|*}$cells |"
    i=$((i + 1))
done
echo
echo "command: bench/agent_share.sh $secs $threads $rounds"
