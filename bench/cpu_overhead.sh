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

# run VARIANT ROUND: prints "lines/s lines-per-CPU-second" of one demo run
# (CPU = user + system time of the whole process, agent thread included,
# which is steadier than wall-clock throughput on a shared machine).
run() {
    local TIMEFORMAT='%3U %3S' cpu
    cpu=$({ time run_one "$@" >/dev/null; } 2>&1 | tail -1)
    awk -v c="$cpu" -v out="$(cat "$tmp/out-$1-$2")" 'BEGIN {
        split(c, t, " ");
        match(out, /lines=[0-9]+/); lines = substr(out, RSTART + 6, RLENGTH - 6);
        match(out, /lines_per_sec=[0-9.]+/); rate = substr(out, RSTART + 14, RLENGTH - 14);
        printf "%s %.1f\n", rate, lines / (t[1] + t[2]) }'
}

run_one() {
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
            "${demo[@]}" >"$out" 2>/dev/null
        ;;
    esac
}

variants="none idle lynx100 lynx1000"
[ -n "$gperf" ] && variants="$variants gperf100 gperf1000"
# rounds = 0: only the perf measurement below.
for ((r = 1; r <= rounds; r++)); do
    for v in $variants; do
        run "$v" "$r" >>"$tmp/rate-$v"
    done
    # Finished sessions of this round are not needed any more.
    rm -f "$tmp/run/spool/"*
done

median() { # file column
    awk -v c="$2" '{print $c}' "$1" | sort -n |
        awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
if [ "$rounds" -gt 0 ]; then
base_w=$(median "$tmp/rate-none" 1)
base_c=$(median "$tmp/rate-none" 2)
echo "demo --threads $threads, $secs s per run, $rounds rounds interleaved, medians ($(nproc) cores)"
echo
echo "| variant | lines/s | ratio | lines per CPU second | ratio | CPU overhead |"
echo "|---|---|---|---|---|---|"
for v in $variants; do
    w=$(median "$tmp/rate-$v" 1)
    c=$(median "$tmp/rate-$v" 2)
    awk -v v="$v" -v w="$w" -v c="$c" -v bw="$base_w" -v bc="$base_c" \
        'BEGIN { printf "| %s | %.0f | %.3f | %.0f | %.3f | %+.1f%% |\n", v, w, w / bw, c, c / bc, (bc / c - 1) * 100 }'
done
fi

# Where the profiler's own CPU goes, independent of the machine's speed:
# perf (cpu-clock, DWARF call chains) samples the profiled demo while each
# profiler runs, and counts the share of the demo's CPU time spent in the
# profiler's signal handler (with everything it calls) and in lynxprof's
# agent thread.
perf_share() { # variant: prints "handler% agent-thread%"
    local v="$1" name="share-$1" pid hz
    local demo=("$STACK_BIN/lynx-demo" --threads "$threads" --duration $((secs + 2)) --quiet)
    case "$v" in
    lynx*)
        hz=${v#lynx}
        LD_PRELOAD="$STACK_AGENT" LYNXPROF_NAME="$name" LYNXPROF_GROUP=lynxprof \
            "${demo[@]}" >/dev/null &
        pid=$!
        for ((i = 0; i < 50; i++)); do [ -e "/dev/shm/lynxprof.$name" ] && break; sleep 0.02; done
        curl -sf -u bench:bench-pw "$api/cpu/start?target=$name&hz=$hz&duration=$((secs + 1))s" >/dev/null
        ;;
    gperf*)
        hz=${v#gperf}
        CPUPROFILE="$tmp/share.prof" CPUPROFILE_FREQUENCY="$hz" LD_PRELOAD="$gperf" \
            "${demo[@]}" >/dev/null 2>&1 &
        pid=$!
        ;;
    esac
    sleep 0.5
    perf record -q -e cpu-clock -F 997 --call-graph dwarf,16384 -p "$pid" \
        -o "$tmp/share.data" -- sleep "$((secs - 1))" >/dev/null 2>&1
    wait "$pid" 2>/dev/null || true
    perf report -i "$tmp/share.data" --children --sort sym --stdio -g none 2>/dev/null |
        awk '/lynx_sigprof|ProfileHandler::SignalHandler/ {gsub("%", "", $1); h += $1}
             END {printf "%.2f ", h}'
    perf report -i "$tmp/share.data" --no-children --sort comm --stdio -g none 2>/dev/null |
        awk '/lynxprof-agent/ {gsub("%", "", $1); a += $1} END {printf "%.2f\n", a}'
}
echo
echo "Share of the profiled demo's CPU time spent by the profiler itself (perf, cpu-clock, DWARF call chains):"
echo
echo "| variant | in the signal handler | in lynxprof's agent thread | total |"
echo "|---|---|---|---|"
for v in lynx100 lynx1000 $( [ -n "$gperf" ] && echo gperf100 gperf1000 ); do
    read -r h a <<<"$(perf_share "$v")"
    awk -v v="$v" -v h="$h" -v a="$a" 'BEGIN { printf "| %s | %.2f %% | %.2f %% | %.2f %% |\n", v, h, a, h + a }'
done
