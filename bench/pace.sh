#!/usr/bin/env bash
# Benchmark: the limit on heap samples a second (LYNXPROF_HEAP_SAMPLE_LIMIT)
# on the allocator-bound loop of malloc_rest.sh (bench/alloc_loop.c with
# -DLOG_SIZES, MALLOC_TRIM_THRESHOLD_ raised alike), in one run:
#   - paired CPU and wall time ratios to no agent, interleaved rounds
#     (bench/interleave.sh; median and IQR): the agent with its defaults
#     (512 KiB, at most 1000 samples a second a thread), the interposer
#     alone (LYNXPROF_HEAP_RATE=0), no limit, limits of 100 and 10, and no
#     agent again as the last of each round (a control for the order);
#   - how many samples one run of each takes: a uprobe on the agent's
#     alloc_sampled (one call per sample, and per due allocation it does
#     not take: a handful a run, at start-up), counted by perf stat; skipped
#     where perf cannot place uprobes (not root, no uprobes in the kernel).
#   bench/pace.sh [rounds] [threads] [steps per thread]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-31}"
threads="${2:-2}"
steps="${3:-16000000}"
agent="$src/build/.libs/libprofile-agent.so"
tmp=$(mktemp -d /tmp/lynxprof-pace.XXXXXX)
probe=""
cleanup() {
    if [ -n "$probe" ]; then
        perf probe -q -d "$probe" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
. "$here/interleave.sh"
. "$here/alloc_loop.sh"

command -v perf >/dev/null || { echo "missing perf"; exit 1; }
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
alloc_loop_build "$tmp/loop"

A="LD_PRELOAD=$agent LYNXPROF_NAME=pace"
configs=(
    "no agent|"
    "agent, defaults (limit 1000)|$A"
    "agent, LYNXPROF_HEAP_RATE=0 (the interposer alone)|$A LYNXPROF_HEAP_RATE=0"
    "agent, LYNXPROF_HEAP_SAMPLE_LIMIT=0 (no limit)|$A LYNXPROF_HEAP_SAMPLE_LIMIT=0"
    "agent, LYNXPROF_HEAP_SAMPLE_LIMIT=100|$A LYNXPROF_HEAP_SAMPLE_LIMIT=100"
    "agent, LYNXPROF_HEAP_SAMPLE_LIMIT=10|$A LYNXPROF_HEAP_SAMPLE_LIMIT=10"
    "no agent again (control)|"
)

echo "alloc_loop (log-uniform sizes), $threads threads x $steps steps, $rounds interleaved rounds, $STEADY, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
runs=()
for c in "${configs[@]}"; do
    runs+=("${c%%|*}|env $STEADY ${c#*|} $tmp/loop $threads $steps")
done
interleave "$rounds" "${runs[@]}"

echo
# A uprobe on alloc_sampled counts the samples of one run per configuration.
if perf probe -q -x "$agent" -a lynxprof_pace=alloc_sampled >/dev/null 2>&1; then
    probe=$(perf probe -l 2>/dev/null | awk '/lynxprof_pace/ { print $1; exit }')
fi
if [ -n "$probe" ]; then
    echo "| configuration | samples in one run (calls of alloc_sampled, by uprobe) |"
    echo "|---|---:|"
    for c in "${configs[@]}"; do
        case "${c#*|}" in *LD_PRELOAD=*) ;; *) continue ;; esac
        n=$(env $STEADY ${c#*|} perf stat -x, -e "$probe" -o "$tmp/stat" \
                "$tmp/loop" "$threads" "$steps" >/dev/null 2>&1 &&
            awk -F, 'NF > 2 && $1 ~ /^[0-9]+$/ { print $1 }' "$tmp/stat")
        echo "| ${c%%|*} | ${n:-?} |"
    done
    echo "(the uprobe slows each sample, so these runs take longer than the timed ones)"
else
    echo "samples: perf cannot place a uprobe here; counts skipped"
fi
echo
echo "command: bench/pace.sh $rounds $threads $steps"
