#!/usr/bin/env bash
# Benchmark: what the idle agent (no CPU profile running; heap sampling at
# its default rate and the lock hooks on, as in production) costs a real
# malloc-heavy, lock-heavy program: perf (cpu-clock) samples the demo's log
# workload and counts the share of its CPU time spent in the agent's code
# (libprofile-agent.so: the malloc and lock interposers, heap sampling) and
# in libunwind (unwinding sampled allocations and contentions).  A share of
# CPU time does not depend on the machine's speed, unlike throughput on a
# shared machine.
#   bench/agent_share.sh [seconds] [threads]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
secs="${1:-8}"
threads="${2:-2}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"
build="$src/build"
tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "demo log workload, $threads threads, $secs s, agent idle (defaults)"
echo
echo "| LYNXPROF_HEAP_RATE | agent code (hooks, sampling) | libunwind | total |"
echo "|---|---|---|---|"
for rate in 0 524288; do
    LD_PRELOAD="$build/.libs/libprofile-agent.so" LYNXPROF_NAME="share-$rate" \
        LYNXPROF_HEAP_RATE="$rate" \
        "$build/demo/lynx-demo" --threads "$threads" --duration $((secs + 2)) --quiet >/dev/null &
    pid=$!
    sleep 1
    perf record -q -e cpu-clock -F 997 -p "$pid" -o "$tmp/p.data" -- sleep "$secs" >/dev/null 2>&1
    wait "$pid" || true
    perf report -i "$tmp/p.data" --no-children --sort dso --stdio 2>/dev/null |
        awk -v r="$rate" '/libprofile-agent/ {gsub("%", "", $1); a += $1}
            /libunwind/ {gsub("%", "", $1); u += $1}
            END { printf "| %s | %.2f %% | %.2f %% | %.2f %% |\n", r, a, u, a + u }'
done
