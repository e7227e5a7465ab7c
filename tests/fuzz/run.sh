#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz with clang, in a build
# directory of their own (the gcc build never needs clang), and run each
# one for a bounded time over its committed corpus.
#   tests/fuzz/run.sh [-t SECONDS] [-b BUILD_DIR] [-l LOG_DIR] [-B] [NAME...]
# -t  seconds per harness (default 20); -B build only;
# -G  (re)generate the seed corpora with gen_corpus.c, then stop;
# -C TARGET  record seeds from a running target (capture.c), then stop;
# -b  build directory (default build-fuzz/ in the source tree);
# -l  where crash inputs and logs go (default BUILD_DIR/logs);
# NAME: a harness (heap, locks, ...; default: every tests/fuzz/fuzz_*.c).
# A harness fails when libFuzzer reports a crash, a sanitizer error, a
# broken invariant, a leak, a timeout (-timeout) or too much memory; its
# input is kept in the log directory and printed in base64.  Ends with
# "N passed, N failed".
set -uo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
fuzzdir="$src/tests/fuzz"
seconds=20
build="$src/build-fuzz"
logs=""
build_only=0
generate=0
capture=""
while getopts "t:b:l:BGC:" opt; do
    case "$opt" in
    t) seconds="$OPTARG" ;;
    b) build="$OPTARG" ;;
    l) logs="$OPTARG" ;;
    B) build_only=1 ;;
    G) generate=1 ;;
    C) capture="$OPTARG" ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
logs="${logs:-$build/logs}"
mkdir -p "$build" "$logs"
build="$(cd "$build" && pwd)"

san="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-O1 -g -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link"

# The endpoint library, instrumented: configured like the normal build,
# with clang; only the convenience library the harnesses link is made.
if [ ! -f "$build/Makefile" ]; then
    (cd "$src" && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; })
    (cd "$build" && "$src/configure" -q CC=clang CFLAGS="$cflags" \
        LDFLAGS="$san") >"$logs/fuzz-configure.txt" 2>&1 || {
        tail -20 "$logs/fuzz-configure.txt"
        echo "0 passed, 1 failed"
        exit 1
    }
fi
if ! make -s -C "$build" -j"$(nproc)" libprofile-core.la \
        >"$logs/fuzz-build.txt" 2>&1; then
    tail -30 "$logs/fuzz-build.txt"
    echo "0 passed, 1 failed"
    exit 1
fi

link() { # output source [more clang arguments]
    local out="$1" srcfile="$2"
    shift 2
    "$build/libtool" --quiet --tag=CC --mode=link clang -std=gnu11 \
        -D_GNU_SOURCE -I"$src/lib" -I"$src/lib/include" -I"$build/lib" $cflags "$@" \
        -o "$out" "$srcfile" "$build/libprofile-core.la"
}

if [ "$generate" = 1 ]; then
    link "$build/gen_corpus" "$fuzzdir/gen_corpus.c" &&
        "$build/gen_corpus" "$fuzzdir/corpus"
    exit
fi

if [ -n "$capture" ]; then
    spool="$(mktemp -d)"
    link "$build/capture" "$fuzzdir/capture.c" &&
        "$build/capture" "$capture" "$fuzzdir/corpus" "$spool"
    rc=$?
    rm -rf "$spool"
    exit $rc
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$fuzzdir"/fuzz_*.c; do
        n="$(basename "$f" .c)"
        names+=("${n#fuzz_}")
    done
fi

pass=0
fail=0
for name in "${names[@]}"; do
    bin="$build/fuzz_$name"
    if ! link "$bin" "$fuzzdir/fuzz_$name.c" -fsanitize=fuzzer \
            >"$logs/fuzz-$name-build.txt" 2>&1; then
        echo "not ok $name: does not build"
        tail -20 "$logs/fuzz-$name-build.txt" | sed 's/^/# /'
        fail=$((fail + 1))
        continue
    fi
    [ "$build_only" = 1 ] && continue
    # New inputs go to a scratch corpus, never into the tree.
    scratch="$build/corpus-$name"
    mkdir -p "$scratch" "$fuzzdir/corpus/$name"
    rm -f "$logs/fuzz-$name-"crash-* "$logs/fuzz-$name-"leak-* \
        "$logs/fuzz-$name-"timeout-* "$logs/fuzz-$name-"oom-*
    dict=()
    [ -f "$fuzzdir/$name.dict" ] && dict=(-dict="$fuzzdir/$name.dict")
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$logs/fuzz-$name-" "${dict[@]}" \
        "$scratch" "$fuzzdir/corpus/$name" >"$logs/fuzz-$name.txt" 2>&1
    rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$logs/fuzz-$name.txt")
    if [ $rc -eq 0 ] && [ -n "$runs" ]; then
        echo "ok $name ($runs runs in ${seconds}s)"
        pass=$((pass + 1))
        continue
    fi
    echo "not ok $name (exit $rc)"
    grep -E 'ERROR|runtime error|invariant failed|SUMMARY' \
        "$logs/fuzz-$name.txt" | head -5 | sed 's/^/# /'
    for a in "$logs/fuzz-$name-"*-*; do
        [ -f "$a" ] || continue
        echo "# input: $a"
        echo "# base64: $(head -c 4096 "$a" | base64 -w0)"
    done
    fail=$((fail + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
