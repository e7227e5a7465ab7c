#!/usr/bin/env bash
# Benchmark: what CPU profiling costs the profiled program.  The demo's
# throughput (lines/s) with no agent, with the agent loaded but idle, while
# lynxprof profiles it at 100 Hz and 1000 Hz (started through the HTTP API),
# and under gperftools' CPU profiler (libprofiler, CPUPROFILE) at the same
# frequencies, interleaved round by round in the same run; medians and
# ratios to the no-agent baseline.
#   bench/cpu_overhead.sh [rounds] [seconds] [threads]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
rounds="${1:-5}"
secs="${2:-8}"
threads="${3:-1}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"

tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
chmod 0755 "$tmp"
STACK_SRC="$src" STACK_RUNDIR="$tmp/run"
STACK_PORT=28180 STACK_TLS_PORT=28543 STACK_APP_PORT=28181
STACK_USER=bench STACK_PASSWORD=bench-pw
STACK_DEMO_NAME=stack-demo STACK_DEMO_ARGS="--threads 1 --intensity 1"
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$tmp/run/spool"
trap 'stack_stop; rm -rf "$tmp"' EXIT
stack_start
api="http://127.0.0.1:$STACK_PORT/api/v1/profiling"
gperf=$(ls /usr/lib/x86_64-linux-gnu/libprofiler.so.0 2>/dev/null || true)

# run VARIANT ROUND: prints lines/s of one demo run.
run() {
    local v="$1" name="bench-$1-$2" out="$tmp/out-$1-$2" pid hz=""
    local demo=("$STACK_BIN/lynx-demo" --threads "$threads" --duration "$secs" --quiet)
    case "$v" in
    none) "${demo[@]}" >"$out" ;;
    idle) LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME="$name" "${demo[@]}" >"$out" ;;
    lynx100 | lynx1000)
        hz=${v#lynx}
        LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME="$name" LYNXPROF_GROUP=lynxprof \
            "${demo[@]}" >"$out" &
        pid=$!
        for ((i = 0; i < 50; i++)); do [ -e "/dev/shm/lynxprof.$name" ] && break; sleep 0.02; done
        curl -sf -u bench:bench-pw \
            "$api/cpu/start?target=$name&hz=$hz&duration=$((secs - 1))s" >/dev/null ||
            echo "could not start a profile of $name" >&2
        wait "$pid"
        ;;
    gperf100 | gperf1000)
        hz=${v#gperf}
        CPUPROFILE="$tmp/gperf-$2.prof" CPUPROFILE_FREQUENCY="$hz" LD_PRELOAD="$gperf" \
            "${demo[@]}" >"$out"
        ;;
    esac
    sed -n 's/.*lines_per_sec=\([0-9.]*\).*/\1/p' "$out"
}

variants="none idle lynx100 lynx1000"
[ -n "$gperf" ] && variants="$variants gperf100 gperf1000"
for ((r = 1; r <= rounds; r++)); do
    for v in $variants; do
        run "$v" "$r" >>"$tmp/rate-$v"
    done
    # Finished sessions of this round are not needed any more.
    rm -f "$tmp/run/spool/"*
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(median "$tmp/rate-none")
echo "demo --threads $threads, $secs s per run, $rounds rounds interleaved, median lines/s ($(nproc) cores)"
echo
echo "| variant | lines/s (median) | all runs | ratio to no agent | overhead |"
echo "|---|---|---|---|---|"
for v in $variants; do
    m=$(median "$tmp/rate-$v")
    all=$(tr '\n' ' ' <"$tmp/rate-$v")
    awk -v v="$v" -v m="$m" -v b="$base" -v all="$all" \
        'BEGIN { printf "| %s | %.0f | %s | %.4f | %+.2f%% |\n", v, m, all, m / b, (1 - m / b) * 100 }'
done
