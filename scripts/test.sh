#!/usr/bin/env bash
# lynxprof: install what is missing, build, and run every test suite:
#   unit tests (C, cmocka) through make check,
#   the same unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#   the JavaScript unit tests (node --test),
#   the libFuzzer harnesses of the decoders (tests/fuzz, clang, bounded),
#   the integration tests against real nginx, spawn-fcgi and the demo,
#   the browser tests of the /profiling page (headless Chromium),
# and end with one line "N passed, N failed".
set -uo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$0" "$@"
fi
cd "$src"
logs="$src/build/test-logs"

"$src/scripts/install-deps.sh" test || { echo "0 passed, 1 failed"; exit 1; }
echo "== building"
if ! "$src/scripts/build.sh" "$src/build"; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$logs"

total_pass=0
total_fail=0
add() { # suite passed failed
    printf '== %-28s %4d passed, %d failed\n' "$1" "$2" "$3"
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)";
# a binary that died without its summary counts as one failure, and so does
# a make check that failed (a test that did not build) with none counted.
count_cmocka() { # build-dir suite-name make-status make-log
    local p=0 f=0 log n
    for log in "$1"/tests/unit/test_*.log; do
        [ -f "$log" ] || continue
        n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        local nf
        nf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        if [ -z "$n" ] && [ -z "$nf" ]; then
            echo "   $log: no summary (crashed?)"
            tail -5 "$log" | sed 's/^/   | /'
            f=$((f + 1))
            continue
        fi
        p=$((p + ${n:-0}))
        f=$((f + ${nf:-0}))
        [ "${nf:-0}" != 0 ] && grep -E '^\[  (FAILED|ERROR)|LINE' "$log" | sed 's/^/   | /'
    done
    if [ "$3" != 0 ] && [ "$f" -eq 0 ]; then
        echo "   make check exited $3 with no failing test counted:"
        grep -E 'error|Error' "$4" | head -10 | sed 's/^/   | /'
        f=1
    fi
    add "$2" "$p" "$f"
}

echo "== unit tests (make check)"
rm -f "$src"/build/tests/unit/test_*.log
make -s -C "$src/build" -j"$(nproc)" check >"$logs/unit.txt" 2>&1
count_cmocka "$src/build" "unit" "$?" "$logs/unit.txt"

echo "== unit tests under ASan+UBSan"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
if "$src/scripts/build.sh" "$src/build-asan" \
        CFLAGS="-O1 -g -fno-omit-frame-pointer $san" LDFLAGS="$san" \
        >"$logs/asan-build.txt" 2>&1; then
    rm -f "$src"/build-asan/tests/unit/test_*.log
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        make -s -C "$src/build-asan" -j"$(nproc)" check >"$logs/asan.txt" 2>&1
    count_cmocka "$src/build-asan" "unit (ASan+UBSan)" "$?" "$logs/asan.txt"
else
    tail -20 "$logs/asan-build.txt"
    add "unit (ASan+UBSan) build" 0 1
fi

echo "== JavaScript unit tests"
node --test "$src/tests/js/" >"$logs/js.txt" 2>&1
jp=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$logs/js.txt" | tail -1)
jf=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$logs/js.txt" | tail -1)
[ -z "$jp" ] && { tail -20 "$logs/js.txt"; jf=1; }
[ "${jf:-0}" != 0 ] && grep -E '^not ok' "$logs/js.txt" | head -20
add "javascript" "${jp:-0}" "${jf:-1}"

# ---- fuzzing ------------------------------------------------------------------
# Every decoder of what a target or the spool directory hands the endpoints,
# under libFuzzer with ASan+UBSan (clang, its own build dir), 15 s each over
# the committed corpus.  A crash, sanitizer report, broken invariant, leak,
# hang or memory blow-up fails its harness; the input is kept in test-logs.
echo "== fuzzing (libFuzzer)"
bash "$src/tests/fuzz/run.sh" -t "${LYNX_FUZZ_SECONDS:-15}" \
    -b "$src/build-fuzz" -l "$logs" >"$logs/fuzz.txt" 2>&1
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/fuzz.txt" | tail -1)
grep -E '^not ok|^#' "$logs/fuzz.txt" | head -40
if [ -z "$line" ]; then
    tail -20 "$logs/fuzz.txt"
    add "fuzzing" 0 1
else
    add "fuzzing" "${line%% passed*}" "$(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')"
fi
# ---- end of fuzzing -------------------------------------------------------------

for t in "$src"/tests/integration/test_*.sh; do
    name="integration $(basename "$t" .sh | sed 's/^test_//')"
    echo "== $name"
    bash "$t" >"$logs/$(basename "$t").txt" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/$(basename "$t").txt" | tail -1)
    grep -E '^not ok|^#' "$logs/$(basename "$t").txt" | head -40
    if [ -z "$line" ]; then
        tail -20 "$logs/$(basename "$t").txt"
        add "$name" 0 1
    else
        add "$name" "${line%% passed*}" "$(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')"
    fi
done

# ---- browser tests ----------------------------------------------------------
# The /profiling page in headless Chromium (playwright-core, installed by
# tests/browser/run.sh from its package-lock.json when missing), against a
# scripted API and against the real stack.
echo "== browser"
bash "$src/tests/browser/run.sh" >"$logs/browser.txt" 2>&1
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/browser.txt" | tail -1)
grep -E '^not ok|^#' "$logs/browser.txt" | head -40
if [ -z "$line" ]; then
    tail -20 "$logs/browser.txt"
    add "browser" 0 1
else
    add "browser" "${line%% passed*}" "$(echo "$line" | sed 's/.*, \([0-9]*\) failed/\1/')"
fi
# ---- end of browser tests ---------------------------------------------------

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
