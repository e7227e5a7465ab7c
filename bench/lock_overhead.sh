#!/usr/bin/env bash
# Benchmark: the cost of the agent's lock hooks (lib/agent/lock_hooks.c) on an
# uncontended lock loop (1 thread, 20M lock+unlock) and a contended one
# (4 threads on one mutex, 2M acquisitions in all): without the agent; with
# the agent at rest (no recording window open: what a loaded agent costs
# until someone asks for a block or mutex profile); in a window at the
# default rates (block rate 10 us, mutex fraction 1/10); and in a window
# with every event recorded (rate 1, fraction 1).  "In a window" runs with
# LYNXPROF_LOCKS=always, which keeps the recording word set for the whole
# run: the hooks take exactly the path they take in an open window.
# Best of 7 interleaved rounds (LOCK_BENCH_ROUNDS), and the median
# (quartiles) of the per-round ratios to no agent, with a second "no
# agent" as the control; then the instructions of one uncontended
# lock+unlock without the agent and with it at rest (cachegrind, exact).
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

rounds="${LOCK_BENCH_ROUNDS:-7}"
# The configurations, each "key|label|env...".
configs=(
    "none|no agent|"
    "none2|no agent again (control)|"
    "rest|agent at rest (no window)|LD_PRELOAD=$agent LYNXPROF_NAME=lockbench-$$"
    "def|agent in a window, defaults|LD_PRELOAD=$agent LYNXPROF_NAME=lockbench-$$ LYNXPROF_LOCKS=always"
    "all|agent in a window, every event|LD_PRELOAD=$agent LYNXPROF_NAME=lockbench-$$ LYNXPROF_LOCKS=always LYNXPROF_BLOCK_RATE=1 LYNXPROF_MUTEX_FRACTION=1"
)

# Rounds interleave the configurations, so that a busy machine's changing
# load falls on all of them alike; each keeps its best (lowest) figures.
echo "lock hooks: $iters ops, $threads threads, $(nproc) CPUs, best of $rounds interleaved rounds"
for c in "${configs[@]}"; do echo "999999 999999" >"$tmp/${c%%|*}"; done
for _ in $(seq "$rounds"); do
    for c in "${configs[@]}"; do
        key="${c%%|*}"
        read -r -a envs <<<"${c##*|}"
        line=$(env "${envs[@]}" "$tmp/lock_overhead" "$iters" "$threads")
        a=$(sed 's/.*uncontended_ns_per_op=\([0-9.]*\).*/\1/' <<<"$line")
        b=$(sed 's/.*contended_ns_per_op=\([0-9.]*\).*/\1/' <<<"$line")
        echo "$a $b" >>"$tmp/$key.rounds"
        read -r u v <"$tmp/$key"
        awk -v a="$a" -v b="$b" -v u="$u" -v v="$v" \
            'BEGIN{print (a < u ? a : u), (b < v ? b : v)}' >"$tmp/$key"
    done
done
for c in "${configs[@]}"; do
    label="${c#*|}"; label="${label%%|*}"
    read -r u v <"$tmp/${c%%|*}"
    printf '%-34s uncontended %7.2f ns/op   contended %8.2f ns/op\n' "$label" "$u" "$v"
done
read -r nu nc <"$tmp/none"
read -r ru rc <"$tmp/rest"
read -r du dc <"$tmp/def"
read -r au ac <"$tmp/all"
awk -v nu="$nu" -v nc="$nc" -v ru="$ru" -v rc="$rc" -v du="$du" -v dc="$dc" -v au="$au" -v ac="$ac" 'BEGIN{
    printf "ratio to no agent (uncontended, contended): at rest %.2fx %.2fx; window, defaults %.2fx %.2fx; window, every event %.2fx %.2fx\n",
        ru / nu, rc / nc, du / nu, dc / nc, au / nu, ac / nc }'
. "$here/interleave.sh"
echo "paired ratios to no agent, median (quartiles) of $rounds rounds (uncontended; contended):"
for c in "${configs[@]:1}"; do
    label="${c#*|}"; label="${label%%|*}"
    printf '  %-34s %s; %s\n' "$label" \
        "$(paired_ratio "$tmp/${c%%|*}.rounds" "$tmp/none.rounds" 1)" \
        "$(paired_ratio "$tmp/${c%%|*}.rounds" "$tmp/none.rounds" 2)"
done
if command -v valgrind >/dev/null; then
    # One thread: each iteration is 11 uncontended lock+unlock pairs.
    ir() { # iterations env...
        local n="$1"; shift
        env "$@" valgrind --tool=cachegrind --cache-sim=no \
            --cachegrind-out-file=/dev/null "$tmp/lock_overhead" "$n" 1 2>&1 |
            awk '/I +refs/ { gsub(",", "", $NF); print $NF }'
    }
    read -r -a rest_env <<<"${configs[2]##*|}"
    for which in none rest; do
        if [ "$which" = none ]; then envs=(X=1); else envs=("${rest_env[@]}"); fi
        a=$(ir 20000 "${envs[@]}")
        b=$(ir 40000 "${envs[@]}")
        echo "$which $(( (b - a) / (20000 * 11) ))" >>"$tmp/ir"
    done
    awk '{ v[$1] = $2 } END {
        printf "instructions per uncontended lock+unlock (cachegrind): no agent %d, agent at rest %d (+%d)\n",
            v["none"], v["rest"], v["rest"] - v["none"] }' "$tmp/ir"
fi
