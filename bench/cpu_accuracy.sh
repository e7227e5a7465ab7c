#!/usr/bin/env bash
# Benchmark: how right is a CPU profile?  The demo's cpu-split workload
# spends each thread's CPU time 50% / 30% / 20% in split_alpha, split_beta
# and split_gamma (measured by the demo itself with the thread CPU clock).
# lynxprof (through the HTTP API, read back with go tool pprof) and
# perf record -e cpu-clock (the kernel's sampler) profile the same run side
# by side; each share is compared with the truth.
#   bench/cpu_accuracy.sh [seconds] [hz] [threads]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
secs="${1:-10}"
hz="${2:-100}"
threads="${3:-2}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"

tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
chmod 0755 "$tmp"
STACK_SRC="$src" STACK_RUNDIR="$tmp/run"
STACK_PORT=28280 STACK_TLS_PORT=28643 STACK_APP_PORT=28281
STACK_USER=bench STACK_PASSWORD=bench-pw
STACK_DEMO_NAME=split STACK_DEMO_ARGS="--workload cpu-split --threads $threads"
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$tmp/run/spool"
export HOME="${HOME:-/root}" GOCACHE="$tmp/gocache"
trap 'stack_stop; rm -rf "$tmp"' EXIT
stack_start
api="http://127.0.0.1:$STACK_PORT/api/v1/profiling"
sleep 1

id=$(curl -sf -u bench:bench-pw "$api/cpu/start?target=split&hz=$hz&duration=${secs}s" | jq -r .session_id)
perf record -e cpu-clock -F "$hz" -p "$STACK_DEMO_PID" -o "$tmp/perf.data" \
    -- sleep "$secs" >/dev/null 2>&1
for ((i = 0; i < 100; i++)); do
    st=$(curl -sf -u bench:bench-pw "$api/cpu/status/$id" | jq -r .status)
    [ "$st" = completed ] && break
    sleep 0.2
done
curl -sf -u bench:bench-pw -o "$tmp/lynx.pb.gz" "$api/cpu/download/$id"

# Flat shares of the three functions, normalised over the three.
lynx_shares=$(go tool pprof -top -nodecount=50 "$tmp/lynx.pb.gz" 2>/dev/null |
    awk '/split_(alpha|beta|gamma)$/ {gsub("%", "", $2); v[$NF] = $2 + 0; n++} END {
        t = v["split_alpha"] + v["split_beta"] + v["split_gamma"];
        printf "%.2f %.2f %.2f", 100*v["split_alpha"]/t, 100*v["split_beta"]/t, 100*v["split_gamma"]/t }')
lynx_samples=$(go tool pprof -raw "$tmp/lynx.pb.gz" 2>/dev/null | awk '/^Samples:/ {s = 1; next} s && /^ *[0-9]+ / {n += $1} END {print n + 0}')
perf_shares=$(perf report -i "$tmp/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
    awk '/split_(alpha|beta|gamma)/ {gsub("%", "", $1); v[$NF] += $1} END {
        t = v["split_alpha"] + v["split_beta"] + v["split_gamma"];
        printf "%.2f %.2f %.2f", 100*v["split_alpha"]/t, 100*v["split_beta"]/t, 100*v["split_gamma"]/t }')
samples=$(perf report -i "$tmp/perf.data" --stdio 2>/dev/null | sed -n 's/^# Samples: \([0-9.]*[KM]*\).*/\1/p' | head -1)

echo "cpu-split workload, $threads threads, $secs s, $hz Hz; truth 50 / 30 / 20 % of CPU time"
echo
echo "| profiler | split_alpha | split_beta | split_gamma | largest error (points) |"
echo "|---|---|---|---|---|"
row() { # label "alpha beta gamma"
    local who="$1"
    # shellcheck disable=SC2086
    set -- $2
    awk -v a="$1" -v b="$2" -v c="$3" -v who="$who" 'BEGIN {
        e = a - 50; if (e < 0) e = -e; m = e;
        e = b - 30; if (e < 0) e = -e; if (e > m) m = e;
        e = c - 20; if (e < 0) e = -e; if (e > m) m = e;
        printf "| %s | %.2f %% | %.2f %% | %.2f %% | %.2f |\n", who, a, b, c, m }'
}
row "lynxprof ($lynx_samples samples)" "$lynx_shares"
row "perf record -e cpu-clock ($samples samples)" "$perf_shares"
