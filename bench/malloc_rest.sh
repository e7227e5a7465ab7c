#!/usr/bin/env bash
# Benchmark: the malloc path of the agent at rest (no profile being read),
# on the allocator-bound loop bench/alloc_loop.c built with -DLOG_SIZES
# (threads doing nothing but free and malloc of 16 B-16 KiB, log-uniform
# sizes), in one run:
#   - paired CPU and wall time ratios to no agent, interleaved rounds
#     (bench/interleave.sh; median and IQR), for: no agent again (control),
#     the agent with its defaults (sampling every 512 KiB, at most 1000
#     samples a second a thread, no exact counters), the same without the
#     limit on samples a second (LYNXPROF_HEAP_SAMPLE_LIMIT=0), sampling
#     every 2 MiB (google/tcmalloc's default rate, a
#     quarter of the samples), with the exact counters too
#     (LYNXPROF_HEAP_COUNTERS=1), without sampling (LYNXPROF_HEAP_RATE=0:
#     the interposer alone), with the counters but no sampling, with
#     LYNXPROF_AGENT=0 (the interposers present, no agent thread, nothing
#     sampled), and an empty preloaded library (a control for preloading
#     as such), and the CPU-only agent;
#   - instructions per step of each (cachegrind, one thread, the difference
#     of two run lengths so that start-up cancels out): what a noisy
#     machine cannot blur;
#   - where the time goes with the defaults (perf record -e cpu-clock, the
#     only events this machine has): the agent's malloc and free, glibc's
#     malloc and free, with and without the agent;
#   - the same configurations on the demo (log workload, 2 threads, no
#     profile running): CPU time per log line, interleaved rounds, paired
#     ratios to no agent.
# Beside them, in the same rounds, gperftools' tcmalloc without and with its
# own sampling at 512 KiB (TCMALLOC_SAMPLE_PARAMETER), the peer: its
# sampling is read against tcmalloc without it.
#   bench/malloc_rest.sh [rounds] [threads] [steps per thread] [demo seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-11}"
threads="${2:-2}"
steps="${3:-16000000}"
demo_secs="${4:-3}"
agent="$src/build/.libs/libprofile-agent.so"
agent_cpu="$src/build/.libs/libprofile-agent-cpu.so"
demo="$src/build/demo/lynx-demo"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
tmp=$(mktemp -d /tmp/lynxprof-mallocrest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$here/interleave.sh"
. "$here/alloc_loop.sh"

for tool in perf valgrind; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
[ -x "$demo" ] || { echo "build first: $demo"; exit 1; }
[ -f "$tcmalloc" ] || { echo "missing $tcmalloc (libgoogle-perftools4)"; exit 1; }
alloc_loop_build "$tmp/loop"
echo 'void mallocrest_empty(void) {}' >"$tmp/empty.c"
gcc -O2 -shared -fPIC -o "$tmp/libempty.so" "$tmp/empty.c"

A="LD_PRELOAD=$agent LYNXPROF_NAME=mallocrest"
T="LD_PRELOAD=$tcmalloc"
configs=(
    "no agent|"
    "no agent again (control)|"
    "agent, defaults (512 KiB sampling, no counters)|$A"
    "agent, LYNXPROF_HEAP_SAMPLE_LIMIT=0 (512 KiB sampling, no pace)|$A LYNXPROF_HEAP_SAMPLE_LIMIT=0"
    "agent, LYNXPROF_HEAP_RATE=2097152 (sampling every 2 MiB)|$A LYNXPROF_HEAP_RATE=2097152"
    "agent, LYNXPROF_HEAP_COUNTERS=1 (counters too)|$A LYNXPROF_HEAP_COUNTERS=1"
    "agent, LYNXPROF_HEAP_RATE=0 (the interposer alone)|$A LYNXPROF_HEAP_RATE=0"
    "agent, counters, no sampling|$A LYNXPROF_HEAP_COUNTERS=1 LYNXPROF_HEAP_RATE=0"
    "agent, LYNXPROF_AGENT=0 (interposers, no agent thread)|$A LYNXPROF_AGENT=0"
    "empty preloaded library (control)|LD_PRELOAD=$tmp/libempty.so"
    "CPU-only agent (no malloc or lock interposers)|LD_PRELOAD=$agent_cpu LYNXPROF_NAME=mallocrest"
    "tcmalloc, sampling off|$T TCMALLOC_SAMPLE_PARAMETER=0"
    "tcmalloc, sampling at 512 KiB|$T TCMALLOC_SAMPLE_PARAMETER=524288"
)
tc_off=11 # index of "tcmalloc, sampling off"; the next is its sampling

echo "alloc_loop (log-uniform sizes), $threads threads x $steps steps, $rounds interleaved rounds, $STEADY, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
runs=()
for c in "${configs[@]}"; do
    runs+=("${c%%|*}|env $STEADY ${c#*|} $tmp/loop $threads $steps")
done
INTERLEAVE_OUT="$tmp/loop-rounds" interleave "$rounds" "${runs[@]}"
echo
echo "tcmalloc's sampling against tcmalloc without it (paired, same rounds):" \
    "CPU $(paired_ratio "$tmp/loop-rounds/$((tc_off + 1))" "$tmp/loop-rounds/$tc_off" 2)," \
    "wall $(paired_ratio "$tmp/loop-rounds/$((tc_off + 1))" "$tmp/loop-rounds/$tc_off" 1)"

echo
echo "| configuration | instructions / step | ratio |"
echo "|---|---:|---:|"
ir() { # env... : instructions of one run
    env "$@" valgrind --tool=cachegrind --cache-sim=no \
        --cachegrind-out-file=/dev/null "$tmp/loop" 1 "$n" 2>&1 |
        awk '/I +refs/ { gsub(",", "", $NF); print $NF }'
}
base=""
for c in "${configs[@]}"; do
    [ "${c%%|*}" = "no agent again (control)" ] && continue
    # shellcheck disable=SC2086
    n=100000; a=$(ir X=1 ${c#*|}); n=200000; b=$(ir X=1 ${c#*|})
    per=$(( (b - a) / 100000 ))
    base="${base:-$per}"
    printf '| %s | %d | %s |\n' "${c%%|*}" "$per" \
        "$(awk -v p="$per" -v b="$base" 'BEGIN { printf "%.3f", p / b }')"
done

echo
echo "perf (cpu-clock), shares of the CPU time, defaults vs no agent:"
echo
echo "| symbol | with the agent | without |"
echo "|---|---:|---:|"
# shellcheck disable=SC2086
env $STEADY $A perf record -q -e cpu-clock -F 1999 -o "$tmp/a.data" -- \
    "$tmp/loop" "$threads" "$steps" >/dev/null 2>&1
env $STEADY perf record -q -e cpu-clock -F 1999 -o "$tmp/n.data" -- \
    "$tmp/loop" "$threads" "$steps" >/dev/null 2>&1
share() { # data-file dso-pattern symbol-pattern
    perf report -i "$1" --no-children --sort dso,sym --stdio 2>/dev/null |
        awk -v d="$2" -v s="$3" '/^ *[0-9.]+%/ && $2 ~ d && $NF ~ s {
            gsub("%", "", $1); t += $1 } END { printf "%.1f %%", t }'
}
for row in "agent: malloc|libprofile-agent|^malloc$" \
           "agent: free|libprofile-agent|^free$" \
           "agent: everything else|libprofile-agent|^(?!malloc$|free$)" \
           "glibc: malloc (entry)|libc\\.so|^malloc$" \
           "glibc: free (entry)|libc\\.so|^(free|cfree.*)$" \
           "glibc: _int_malloc, _int_free and the rest|libc\\.so|^(_int_.*|unlink_chunk.*|malloc_consolidate|sysmalloc|tcache_.*)$" \
           "libunwind (the samples' stacks)|libunwind|.*" \
           "kernel (page faults, scheduling, ...)|kernel|.*" \
           "the loop itself|loop|.*"; do
    IFS='|' read -r name d s <<<"$row"
    if [ "$name" = "agent: everything else" ]; then
        all=$(share "$tmp/a.data" "$d" ".*")
        m=$(share "$tmp/a.data" "$d" "^malloc$")
        f=$(share "$tmp/a.data" "$d" "^free$")
        printf '| %s | %s | |\n' "$name" \
            "$(awk -v a="${all% %}" -v m="${m% %}" -v f="${f% %}" 'BEGIN { printf "%.1f %%", a - m - f }')"
        continue
    fi
    printf '| %s | %s | %s |\n' "$name" "$(share "$tmp/a.data" "$d" "$s")" \
        "$(share "$tmp/n.data" "$d" "$s")"
done

echo
echo "the agent's own functions with the defaults, by share of the loop's CPU time:"
perf report -i "$tmp/a.data" --no-children --sort dso,sym --stdio 2>/dev/null |
    awk '/^ *[0-9.]+%/ && $2 ~ /libprofile-agent/ && n < 10 { printf "%s %s; ", $1, $NF; n++ }'
echo

echo
echo "demo: log workload, 2 threads, ${demo_secs} s, no profile running, $rounds interleaved rounds"
echo "(CPU time, user + system, per log line; paired ratios to no agent)"
echo
mkdir -p "$tmp/demo"
for ((r = 0; r < rounds; r++)); do
    i=0
    for c in "${configs[@]}"; do
        # shellcheck disable=SC2086
        lines=$(/usr/bin/time -o "$tmp/t" -f '%U %S' env ${c#*|} \
            "$demo" --threads 2 --duration "$demo_secs" --quiet |
            sed -n 's/^lines=\([0-9]*\) .*/\1/p')
        awk -v n="${lines:-0}" '{ print (n > 0 ? 1e6 * ($1 + $2) / n : "nan") }' \
            "$tmp/t" >>"$tmp/demo/$i"
        i=$((i + 1))
    done
done
echo "| configuration | median CPU us per line | ratio to no agent, median (quartiles) |"
echo "|---|---:|---:|"
i=0
for c in "${configs[@]}"; do
    printf '| %s | %s | %s |\n' "${c%%|*}" \
        "$(sort -g "$tmp/demo/$i" | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')" \
        "$(paired_ratio "$tmp/demo/$i" "$tmp/demo/0" 1)"
    i=$((i + 1))
done
echo
echo "tcmalloc's sampling against tcmalloc without it (paired):" \
    "$(paired_ratio "$tmp/demo/$((tc_off + 1))" "$tmp/demo/$tc_off" 1)"
echo
echo "command: bench/malloc_rest.sh $rounds $threads $steps $demo_secs"
