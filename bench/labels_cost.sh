#!/usr/bin/env bash
# Benchmark: what thread and request labels cost (bench/labels_cost.c): a
# lynx_label_push + lynx_label_pop pair with the agent and without it (the
# header's weak references), and the work labels add to each CPU sample
# (the SIGPROF handler's capture of tid, thread name and request labels,
# and the aggregation's compare), next to a 12-frame unwind, the bulk of a
# sample's cost.  Best of 5 runs; nanoseconds.
#   bench/labels_cost.sh [iterations]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
iters="${1:-2000000}"
tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=gnu11 -O2 -g -D_GNU_SOURCE -I"$src/lib" -I"$src/lib/include")
gcc "${flags[@]}" -o "$tmp/with" -DWITH_AGENT "$here/labels_cost.c" \
    "$src/lib/agent/signal_labels.c" "$src/lib/agent/name_hooks.c" \
    $(pkg-config --cflags --libs libunwind) -ldl
gcc "${flags[@]}" -o "$tmp/without" "$here/labels_cost.c"
echo "labels: $iters iterations, $(nproc) CPUs, best of 5"
"$tmp/without" "$iters"
"$tmp/with" "$iters"
