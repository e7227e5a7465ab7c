#!/usr/bin/env bash
# Benchmark: overhead of the heap profiler on a multi-threaded malloc-heavy
# workload (bench/heap_overhead.c: 4 threads x 4M free+malloc steps of
# mixed sizes), in one run: no agent; the agent with sampling off
# (LYNXPROF_HEAP_RATE=0: exact counters only); the default rate (512 KiB);
# every allocation (rate 1); gperftools' heap profiler (HEAPPROFILE with
# libtcmalloc, beside tcmalloc alone, its own baseline); heaptrack.  Wall
# time, median of hyperfine runs; ratios to the no-agent baseline.
#   bench/heap_overhead.sh [runs] [threads] [steps]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
runs="${1:-7}"
threads="${2:-4}"
steps="${3:-4000000}"
agent="$src/build/.libs/libprofile-agent.so"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
tmp=$(mktemp -d /tmp/lynxprof-heapbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for tool in hyperfine heaptrack jq; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$tcmalloc" ] || { echo "missing $tcmalloc (libgoogle-perftools4)"; exit 1; }
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
gcc -O2 -g -pthread -o "$tmp/heap_overhead" "$here/heap_overhead.c"
bin="$tmp/heap_overhead $threads $steps"

# name|command
cases=(
  "no agent|$bin"
  "agent, sampling off (rate 0)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench LYNXPROF_HEAP_RATE=0 $bin"
  "agent, default rate (512 KiB)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench $bin"
  "agent, every allocation (rate 1)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench LYNXPROF_HEAP_RATE=1 $bin"
  "tcmalloc alone|env LD_PRELOAD=$tcmalloc $bin"
  "tcmalloc + HEAPPROFILE|env LD_PRELOAD=$tcmalloc HEAPPROFILE=$tmp/gperf HEAP_PROFILE_ALLOCATION_INTERVAL=1099511627776 HEAP_PROFILE_INUSE_INTERVAL=1099511627776 $bin"
  "heaptrack|heaptrack -o $tmp/heaptrack $bin"
)
echo "heap profiling overhead: $threads threads x $steps steps, median of $runs runs, $(nproc) cores"
echo
echo "| configuration | median s | ratio to no agent |"
echo "|---|---|---|"
base=""
for c in "${cases[@]}"; do
    name="${c%%|*}"
    cmd="${c#*|}"
    n=$runs
    case "$name" in *"rate 1"*|heaptrack|*HEAPPROFILE*) n=$(( runs < 3 ? runs : 3 )) ;; esac
    hyperfine -N --warmup 1 --runs "$n" --export-json "$tmp/r.json" "$cmd" >/dev/null 2>&1 ||
        { printf '| %s | failed | |\n' "$name"; continue; }
    med=$(jq '.results[0].median' "$tmp/r.json")
    [ -z "$base" ] && base=$med
    printf '| %s | %.3f | %.3f |\n' "$name" "$med" "$(awk -v m="$med" -v b="$base" 'BEGIN { print m / b }')"
done
echo
echo "command: bench/heap_overhead.sh $runs $threads $steps"
