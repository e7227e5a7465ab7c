#!/usr/bin/env bash
# Benchmark: what one heap sample costs the program, on the allocator-bound
# loop (bench/alloc_loop.c, -DLOG_SIZES: free + malloc of 16 B-16 KiB,
# log-uniform, 3721 bytes a step on average), on one thread and on two
# (where the threads' samples meet in shared state).  Per round, each
# configuration runs once, interleaved: the agent with sampling off
# (LYNXPROF_HEAP_RATE=0: the interposer alone), at the default 512 KiB and
# at 32 KiB (16 times as many samples, so the cost per sample stands out
# of the noise).  The cost per sample is the paired CPU time difference to
# sampling off, over the samples expected: threads x steps x the mean over
# the loop's sizes s of 1 - exp(-s / rate), the chance that an allocation
# is sampled (not bytes / rate: a sample's next interval starts after the
# block it fell in, so at 32 KiB there are 15 % fewer samples than that).
# Median and quartiles over the rounds.  Every sample is taken: no limit
# on samples a second (LYNXPROF_HEAP_SAMPLE_LIMIT=0; at 32 KiB the loop
# would otherwise be paced).
# SAMPLE_COST_BEFORE=LIB adds the same rows for another build of the agent
# (e.g. the one before a change), in the same rounds.
# Then, what no noise blurs: the instructions of one sample (cachegrind,
# one thread at 32 KiB against sampling off, each the difference of two
# run lengths so that start-up and the first unwinds cancel out; over the
# samples expected, ~19,000, so within 2-3 %: the intervals are drawn at
# random).
#   bench/sample_cost.sh [rounds] [steps per thread]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-11}"
steps="${2:-8000000}"
agent="$src/build/.libs/libprofile-agent.so"
before="${SAMPLE_COST_BEFORE:-}"
# Samples expected in `steps` steps of one thread at `rate`: the loop's
# sizes are 16 * 2^k (k < 11, each as likely) up to twice that, uniform,
# capped at 16 KiB (bench/alloc_loop.c); each is sampled with probability
# 1 - exp(-size / rate).
expected_samples() { # steps rate
    awk -v steps="$1" -v r="$2" 'BEGIN {
        for (k = 0; k < 11; k++) {
            b = 16 * 2 ^ k; t = 0
            for (j = 0; j < 1000; j++) {
                s = b + (j + 0.5) * b / 1000
                if (s > 16384) s = 16384
                t += 1 - exp(-s / r)
            }
            p += t / 1000
        }
        printf "%.0f", steps * p / 11
    }'
}
tmp=$(mktemp -d /tmp/lynxprof-samplecost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$here/interleave.sh"
. "$here/alloc_loop.sh"

for tool in perf valgrind; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
alloc_loop_build "$tmp/loop"

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
            runs+=("${l%%|*} $rate|env $STEADY LD_PRELOAD=${l#*|} LYNXPROF_NAME=samplecost LYNXPROF_HEAP_SAMPLE_LIMIT=0 LYNXPROF_HEAP_RATE=$rate $tmp/loop $threads $steps")
        done
    done
    rm -rf "$tmp/r"
    INTERLEAVE_OUT="$tmp/r" interleave "$rounds" "${runs[@]}" >/dev/null
    i=0
    for l in "${libs[@]}"; do
        for rate in 0 524288 32768; do
            if [ "$rate" != 0 ]; then
                samples=$(expected_samples $((threads * steps)) "$rate")
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
echo "| agent | instructions per sample (cachegrind, 1 thread, 32 KiB), median of 5 (range) |"
echo "|---|---:|"
ir() { # steps env... : instructions of one run
    local n=$1
    shift
    env "$@" valgrind --tool=cachegrind --cache-sim=no \
        --cachegrind-out-file=/dev/null "$tmp/loop" 1 "$n" 2>&1 |
        awk '/I +refs/ { gsub(",", "", $NF); print $NF }'
}
n32=$(expected_samples 200000 32768)
for l in "${libs[@]}"; do
    e="$STEADY LD_PRELOAD=${l#*|} LYNXPROF_NAME=samplecost LYNXPROF_HEAP_SAMPLE_LIMIT=0"
    # shellcheck disable=SC2086
    off=$(($(ir 400000 $e LYNXPROF_HEAP_RATE=0) - $(ir 200000 $e LYNXPROF_HEAP_RATE=0)))
    # How many samples a run draws varies: the median of five.
    for k in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        on=$(($(ir 400000 $e LYNXPROF_HEAP_RATE=32768) - $(ir 200000 $e LYNXPROF_HEAP_RATE=32768)))
        awk -v d=$((on - off)) -v n="$n32" 'BEGIN { printf "%.0f\n", d / n }'
    done | sort -n | awk -v name="${l%%|*}" '{ v[NR] = $1 }
        END { printf "| %s | %d (%d-%d) |\n", name, v[3], v[1], v[5] }'
done
echo
echo "command: ${before:+SAMPLE_COST_BEFORE=$before }bench/sample_cost.sh $rounds $steps"
