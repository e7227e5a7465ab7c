#!/usr/bin/env bash
# Benchmark: what one heap sample costs the program, on the allocator-bound
# loop (bench/alloc_loop.c, -DLOG_SIZES: free + malloc of 16 B-16 KiB,
# log-uniform, 3721 bytes a step on average), on one thread and on two
# (where the threads' samples meet in shared state).  Per round, each
# configuration runs once, interleaved: the agent with sampling off
# (LYNXPROF_HEAP_RATE=0: the interposer alone), at the default 512 KiB and
# at 32 KiB (16 times as many samples, so the cost per sample stands out
# of the noise).  The cost per sample is the paired CPU time difference to
# sampling off, over the samples the bytes allocated make:
# threads x steps x 3721 / rate.  Median and quartiles over the rounds.
# SAMPLE_COST_BEFORE=LIB adds the same rows for another build of the agent
# (e.g. the one before a change), in the same rounds.
# Then, what no noise blurs: the instructions of one sample (cachegrind,
# one thread at 32 KiB against sampling off, each the difference of two
# run lengths so that start-up and the first unwinds cancel out; over the
# samples the bytes make, so within about 1 %).
#   bench/sample_cost.sh [rounds] [steps per thread]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-11}"
steps="${2:-8000000}"
agent="$src/build/.libs/libprofile-agent.so"
before="${SAMPLE_COST_BEFORE:-}"
mean=3721 # bytes a step: (sum over k < 10 of 1.5 * 16 * 2^k - 0.5, + 16384) / 11
tmp=$(mktemp -d /tmp/lynxprof-samplecost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$here/interleave.sh"

for tool in perf valgrind; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
gcc -O2 -g -pthread -DLOG_SIZES -I"$here" -o "$tmp/loop" "$here/alloc_loop.c"
STEADY="MALLOC_TRIM_THRESHOLD_=67108864" # see bench/malloc_rest.sh

libs=("this build|$agent")
[ -n "$before" ] && libs+=("before|$before")
echo "alloc_loop (log-uniform sizes), $steps steps a thread, $rounds interleaved rounds, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| agent | threads | rate | samples | ns per sample, median (quartiles) | CPU ratio to sampling off |"
echo "|---|---:|---:|---:|---:|---:|"
for threads in 1 2; do
    runs=()
    for l in "${libs[@]}"; do
        for rate in 0 524288 32768; do
            runs+=("${l%%|*} $rate|env $STEADY LD_PRELOAD=${l#*|} LYNXPROF_NAME=samplecost LYNXPROF_HEAP_RATE=$rate $tmp/loop $threads $steps")
        done
    done
    rm -rf "$tmp/r"
    INTERLEAVE_OUT="$tmp/r" interleave "$rounds" "${runs[@]}" >/dev/null
    i=0
    for l in "${libs[@]}"; do
        for rate in 0 524288 32768; do
            if [ "$rate" != 0 ]; then
                samples=$(awk -v t="$threads" -v s="$steps" -v m="$mean" -v r="$rate" \
                    'BEGIN { printf "%d", t * s * m / r }')
                per=$(paired_difference "$tmp/r/$i" "$tmp/r/$base" 2 \
                    "$(awk -v n="$samples" 'BEGIN { print 1e9 / n }')")
                printf '| %s | %d | %d | %d | %s | %s |\n' "${l%%|*}" "$threads" \
                    "$rate" "$samples" "$per" "$(paired_ratio "$tmp/r/$i" "$tmp/r/$base" 2)"
            else
                base=$i
            fi
            i=$((i + 1))
        done
    done
done

echo
echo "| agent | instructions per sample (cachegrind, 1 thread, 32 KiB) |"
echo "|---|---:|"
ir() { # steps env... : instructions of one run
    local n=$1
    shift
    env "$@" valgrind --tool=cachegrind --cache-sim=no \
        --cachegrind-out-file=/dev/null "$tmp/loop" 1 "$n" 2>&1 |
        awk '/I +refs/ { gsub(",", "", $NF); print $NF }'
}
for l in "${libs[@]}"; do
    e="$STEADY LD_PRELOAD=${l#*|} LYNXPROF_NAME=samplecost"
    # shellcheck disable=SC2086
    {
        on=$(($(ir 200000 $e LYNXPROF_HEAP_RATE=32768) - $(ir 100000 $e LYNXPROF_HEAP_RATE=32768)))
        off=$(($(ir 200000 $e LYNXPROF_HEAP_RATE=0) - $(ir 100000 $e LYNXPROF_HEAP_RATE=0)))
    }
    printf '| %s | %s |\n' "${l%%|*}" \
        "$(awk -v d=$((on - off)) -v m="$mean" 'BEGIN { printf "%.0f", d / (100000 * m / 32768) }')"
done
echo
echo "command: ${before:+SAMPLE_COST_BEFORE=$before }bench/sample_cost.sh $rounds $steps"
