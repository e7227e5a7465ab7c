#!/usr/bin/env bash
# Benchmark: the cost of the agent's lock hooks (lib/agent_locks.c) on an
# uncontended lock loop (1 thread, 20M lock+unlock) and a contended one
# (4 threads on one mutex, 2M acquisitions in all): without the agent; with
# the agent at rest (no recording window open: what a loaded agent costs
# until someone asks for a block or mutex profile); in a window at the
# default rates (block rate 10 us, mutex fraction 1/10); and in a window
# with every event recorded (rate 1, fraction 1).  "In a window" runs with
# LYNXPROF_LOCKS=always, which keeps the recording word set for the whole
# run: the hooks take exactly the path they take in an open window.
# Best of 5 runs each.
#   bench/lock_overhead.sh [iterations] [threads]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
iters="${1:-2000000}"
threads="${2:-4}"
agent="${LYNXPROF_AGENT_SO:-$src/build/.libs/libprofile-agent.so}"
[ -f "$agent" ] || { echo "lock_overhead: $agent not built" >&2; exit 1; }
tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -g -pthread -o "$tmp/lock_overhead" "$here/lock_overhead.c"

best() { # label env...: best (lowest) of 5 runs for each figure
    local label="$1"; shift
    local u=999999 c=999999 line a b
    for _ in 1 2 3 4 5; do
        line=$(env "$@" "$tmp/lock_overhead" "$iters" "$threads")
        a=$(sed 's/.*uncontended_ns_per_op=\([0-9.]*\).*/\1/' <<<"$line")
        b=$(sed 's/.*contended_ns_per_op=\([0-9.]*\).*/\1/' <<<"$line")
        u=$(awk -v x="$a" -v y="$u" 'BEGIN{print (x < y) ? x : y}')
        c=$(awk -v x="$b" -v y="$c" 'BEGIN{print (x < y) ? x : y}')
    done
    printf '%-34s uncontended %7.2f ns/op   contended %8.2f ns/op\n' "$label" "$u" "$c"
    eval "U_$label_key=$u C_$label_key=$c" 2>/dev/null || true
    echo "$u $c" >"$tmp/$label_key"
}

echo "lock hooks: $iters ops, $threads threads, $(nproc) CPUs, best of 5"
label_key=none best "no agent"
label_key=rest best "agent at rest (no window)" \
    LD_PRELOAD="$agent" LYNXPROF_NAME="lockbench-$$"
label_key=def best "agent in a window, defaults" \
    LD_PRELOAD="$agent" LYNXPROF_NAME="lockbench-$$" LYNXPROF_LOCKS=always
label_key=all best "agent in a window, every event" \
    LD_PRELOAD="$agent" LYNXPROF_NAME="lockbench-$$" LYNXPROF_LOCKS=always \
    LYNXPROF_BLOCK_RATE=1 LYNXPROF_MUTEX_FRACTION=1
read -r nu nc <"$tmp/none"
read -r ru rc <"$tmp/rest"
read -r du dc <"$tmp/def"
read -r au ac <"$tmp/all"
awk -v nu="$nu" -v nc="$nc" -v ru="$ru" -v rc="$rc" -v du="$du" -v dc="$dc" -v au="$au" -v ac="$ac" 'BEGIN{
    printf "ratio to no agent (uncontended, contended): at rest %.2fx %.2fx; window, defaults %.2fx %.2fx; window, every event %.2fx %.2fx\n",
        ru / nu, rc / nc, du / nu, dc / nc, au / nu, ac / nc }'
