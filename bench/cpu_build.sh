#!/usr/bin/env bash
# Benchmark: the cost of building a CPU profile with many distinct stacks
# (the work of the download endpoint for a finished session): wall time and
# peak memory of the endpoint-side library call, for a target whose samples
# fall on >10,000 distinct stacks, and the time to serve it again once
# built.  Runs the first build cold (the symbolizer's cache empty).
#   bench/cpu_build.sh [seconds] [hz] [threads]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
secs="${1:-25}"
hz="${2:-1000}"
threads="${3:-2}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"
build="$src/build"
tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -g -fomit-frame-pointer -pthread -o "$tmp/many_stacks" "$here/many_stacks.c"
cc -O2 -g -D_GNU_SOURCE -I"$src/lib" -I"$src/lib/include" -I"$build/lib" -o "$tmp/cpu_build" "$here/cpu_build.c" \
    "$build/.libs/libprofile-core.a" "$build/.libs/libshared.a" \
    $(pkg-config --libs libdw libprotobuf-c zlib json-c) -lm -lpthread
LD_PRELOAD="$build/.libs/libprofile-agent.so" LYNXPROF_NAME=many \
    "$tmp/many_stacks" $((secs + 4)) "$threads" &
pid=$!
for ((i = 0; i < 50; i++)); do [ -e /dev/shm/lynxprof.many ] && break; sleep 0.1; done
out=$("$tmp/cpu_build" many "$secs" "$hz" "$tmp/spool")
wait "$pid" || true
echo "many_stacks: $threads threads, depth 8 x 16 functions per level, $secs s at $hz Hz"
echo
echo "| distinct stacks | samples | build (ms) | serve again (ms) | peak RSS before → after (MiB) | pprof size (KiB) |"
echo "|---|---|---|---|---|---|"
awk -v line="$out" 'BEGIN {
    n = split(line, kv, " ");
    for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
    printf "| %s | %s | %s | %s | %.1f → %.1f | %.0f |\n", v["stacks"], v["samples"],
        v["build_ms"], v["serve_ms"], v["peak_rss_before_kib"] / 1024,
        v["peak_rss_after_kib"] / 1024, v["pprof_bytes"] / 1024 }'
