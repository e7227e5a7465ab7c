#!/usr/bin/env bash
# Benchmark: overhead of the heap profiler on two multi-threaded
# malloc-heavy workloads, side by side with the peers, in one run:
#   json   bench/heap_json.c: threads build, serialize, parse and read back
#          JSON documents with json-c (every value, string and table is a
#          malloc): a real library doing a server's kind of work;
#   churn  bench/heap_overhead.c: threads do nothing but free a random block
#          of a window and malloc a new one: the allocator alone, the worst
#          case for any interposer.
# Configurations: no agent (twice, and with an empty preloaded library: the
# controls that show the noise); the agent with sampling off
# (LYNXPROF_HEAP_RATE=0: the interposers alone, the exact counters being
# off by default); the default rate (512 KiB);
# tcmalloc alone (the baseline of gperftools' profiler) -- these in
# interleaved rounds, compared by paired per-round ratios; then, fewer
# rounds, the ones that record every allocation: the agent at rate 1,
# gperftools' heap profiler (HEAPPROFILE with libtcmalloc) and heaptrack.
# Also the share of each workload's CPU
# time spent in the malloc family without any agent (perf), and the
# instructions and first-level cache misses of each configuration per unit
# of work (cachegrind, one thread: the difference between two run lengths,
# so start-up cancels out) and the agent's net share of the CPU time by
# perf attribution -- measures a noisy machine cannot blur, where times on
# a shared 2-CPU VM move by +-10 % from run to run.
#   bench/heap_overhead.sh [rounds] [threads] [slow rounds (0: skip them)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-15}"
threads="${2:-4}"
slow="${3:-3}"
agent="$src/build/.libs/libprofile-agent.so"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4
tmp=$(mktemp -d /tmp/lynxprof-heapbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$here/interleave.sh"

for tool in heaptrack perf pkg-config valgrind; do
    command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
[ -f "$tcmalloc" ] || { echo "missing $tcmalloc (libgoogle-perftools4)"; exit 1; }
[ -f "$agent" ] || { echo "build first: $agent"; exit 1; }
# shellcheck disable=SC2046
gcc -O2 -g -pthread -o "$tmp/heap_json" "$here/heap_json.c" \
    $(pkg-config --cflags --libs json-c)
gcc -O2 -g -pthread -o "$tmp/heap_churn" "$here/heap_overhead.c"
# Controls for the time columns: the baseline again, and a preloaded
# library that does nothing -- what this machine's noise and a changed
# process layout alone make of a ratio.
echo 'void heapbench_empty(void) {}' >"$tmp/empty.c"
gcc -O2 -shared -fPIC -o "$tmp/libempty.so" "$tmp/empty.c"

# The malloc family's share of a command's CPU time (perf, no agent).
malloc_share() {
    perf record -q -e cpu-clock -F 999 -o "$tmp/p.data" -- "$@" >/dev/null 2>&1
    perf report -i "$tmp/p.data" --no-children --sort dso,sym --stdio 2>/dev/null |
        awk '/^ *[0-9.]+%/ && $2 ~ /libc\.so/ &&
             $NF ~ /^(malloc|free|cfree.*|calloc|realloc|_int_.*|__libc_.*|malloc_consolidate|unlink_chunk.*|sysmalloc|tcache_.*|__malloc_.*|_mid_memalign|systrim|heap_trim)$/ {
                 gsub("%", "", $1); s += $1 }
             END { printf "%.1f %%\n", s }'
}

# Where the time goes (perf, default rate, `perf_runs` interleaved pairs of
# runs with and without the agent; samples summed, and each pair alone): the agent's own code
# and libunwind; and glibc's free, whose first touch of a block's header (a
# cache miss) moves into the agent's free where it reads the same word (for
# the exact counters when they are on, else for the 1 in 32 blocks at a
# multiple of 512, where sampled blocks are).  Net cost: with s the share of the agent, libunwind and
# glibc's free with the agent, f glibc's free's share without it, the time
# added over the time without is (s - f) / (1 - s).  Shares, not sample
# counts, so that a run the machine slowed as a whole does not count.
perf_runs=9
perf_shares() {
    local i
    for i in $(seq "$perf_runs"); do
        perf record -q -e cpu-clock -F 1999 -o "$tmp/a$i.data" -- \
            env LD_PRELOAD="$agent" LYNXPROF_NAME=heapbench "$@" >/dev/null 2>&1
        perf record -q -e cpu-clock -F 1999 -o "$tmp/n$i.data" -- "$@" \
            >/dev/null 2>&1
    done
    # One line per pair: "total agent libunwind glibc-free" with the agent,
    # then the same without.
    for i in $(seq "$perf_runs"); do
        for r in a n; do
            perf report -i "$tmp/$r$i.data" -n --no-children --sort dso,sym \
                --stdio 2>/dev/null |
                awk '/^ *[0-9.]+%/ { t += $2
                         if ($3 ~ /libprofile-agent/) a += $2
                         if ($3 ~ /libunwind/) u += $2
                         if ($3 ~ /libc\.so/ && $NF ~ /^cfree/) f += $2 }
                     END { printf "%d %d %d %d ", t, a, u, f }'
        done
        echo
    done | awk '
        function net(ta, a, u, fa, tn, fn,   s) {
            s = (a + u + fa) / ta
            return 100 * (s - fn / tn) / (1 - s)
        }
        { n++; x[n] = net($1, $2, $3, $4, $5, $8)
          for (k = 1; k <= 8; k++) t[k] += $k }
        END {
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (x[j] < x[i]) { y = x[i]; x[i] = x[j]; x[j] = y }
            printf "perf, default rate, %d pairs of runs (%d and %d samples):" \
                   " agent code %.1f %%, libunwind %.1f %% of the CPU time;" \
                   " glibc free %.1f %% without the agent, %.1f %% with it;" \
                   " net cost of the agent %.1f %% (pairs: median %.1f %%," \
                   " range %.1f to %.1f %%; CPU time ratio %.3f)\n",
                   n, t[1], t[5], 100 * t[2] / t[1], 100 * t[3] / t[1],
                   100 * t[8] / t[5], 100 * t[4] / t[1],
                   net(t[1], t[2], t[3], t[4], t[5], t[8]),
                   x[int((n + 1) / 2)], x[1], x[n], t[1] / t[5]
        }'
}

# Instructions and first-level data cache misses per unit of work (1
# thread): cachegrind (its cache model) at two lengths, the difference.
instructions() { # program small large env...
    local prog="$1" n1="$2" n2="$3" n
    shift 3
    for n in "$n1" "$n2"; do
        env "$@" valgrind --tool=cachegrind --cache-sim=yes \
            --cachegrind-out-file=/dev/null $prog 1 "$n" 2>&1 | tr -d , |
            awk '/I *refs:/ { i = $NF } /D1 *misses:/ { m = $4 }
                 END { print i, m }'
    done | awk 'NR == 1 { i = $1; m = $2 } NR == 2 { print $1 - i, $2 - m }'
}
instruction_table() { # program small large
    local base r0 def
    base=$(instructions "$@")
    r0=$(instructions "$@" LD_PRELOAD="$agent" LYNXPROF_NAME=heapbench LYNXPROF_HEAP_RATE=0)
    def=$(instructions "$@" LD_PRELOAD="$agent" LYNXPROF_NAME=heapbench)
    echo "| configuration | instructions for $(( $3 - $2 )) units, 1 thread | ratio | D1 misses | ratio |"
    echo "|---|---:|---:|---:|---:|"
    # shellcheck disable=SC2086
    echo "$base $r0 $def" | awk '{
        printf "| no agent | %d | 1.000 | %d | 1.000 |\n", $1, $2
        printf "| agent, sampling off (rate 0) | %d | %.3f | %d | %.3f |\n",
            $3, $3 / $1, $4, $4 / $2
        printf "| agent, default rate (512 KiB) | %d | %.3f | %d | %.3f |\n",
            $5, $5 / $1, $6, $6 / $2 }'
}

echo "heap profiling overhead: $threads threads, $(nproc) CPUs;" \
     "$rounds interleaved rounds (slow configurations: $slow)"
for w in json churn; do
    case $w in
    json) bin="$tmp/heap_json $threads 2000"
          small=300 large=900 unit="documents"
          title="json: json-c documents built, serialized, parsed, read ($threads x 2000)" ;;
    churn) bin="$tmp/heap_churn $threads 4000000"
           small=200000 large=600000 unit="steps"
           title="churn: free + malloc and nothing else ($threads x 4M steps)" ;;
    esac
    echo
    echo "### $title"
    echo
    # shellcheck disable=SC2086
    echo "malloc family's share of its CPU time without the agent: $(malloc_share $bin)"
    # shellcheck disable=SC2086
    perf_shares $bin
    echo
    instruction_table "$tmp/heap_$w" "$small" "$large" | sed "s/units/$unit/"
    echo
    interleave "$rounds" \
        "no agent|$bin" \
        "no agent again (control)|$bin" \
        "empty preloaded library (control)|env LD_PRELOAD=$tmp/libempty.so $bin" \
        "agent, sampling off (rate 0)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench LYNXPROF_HEAP_RATE=0 $bin" \
        "agent, default rate (512 KiB)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench $bin" \
        "tcmalloc alone|env LD_PRELOAD=$tcmalloc $bin"
    [ "$slow" -gt 0 ] || continue
    echo
    interleave "$slow" \
        "no agent|$bin" \
        "agent, every allocation (rate 1)|env LD_PRELOAD=$agent LYNXPROF_NAME=heapbench LYNXPROF_HEAP_RATE=1 $bin" \
        "tcmalloc + HEAPPROFILE|env LD_PRELOAD=$tcmalloc HEAPPROFILE=$tmp/gperf HEAP_PROFILE_ALLOCATION_INTERVAL=1099511627776 HEAP_PROFILE_INUSE_INTERVAL=1099511627776 $bin" \
        "heaptrack|heaptrack -o $tmp/heaptrack $bin"
done
echo
echo "command: bench/heap_overhead.sh $rounds $threads $slow"
