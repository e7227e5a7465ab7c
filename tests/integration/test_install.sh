#!/usr/bin/env bash
# Integration: the installed libraries are what their headers say.
# `make install` into a temporary prefix, then, using only what was
# installed (pkg-config with PKG_CONFIG_PATH into that prefix):
#   - each installed header compiles alone, in C and in C++;
#   - a program linking libprofile-agent starts the agent itself, and a
#     program linking libprofile calls every function lynxprof.h declares
#     against it (targets, memory statistics, a whole CPU session);
#   - a program using the request labels of lynxprof-agent.h builds with
#     the header alone and runs with and without the agent;
#   - the dynamic symbols each installed library exports are exactly the
#     functions its header declares (the agent may also export the C
#     library functions it interposes, and nothing else).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

build="${STACK_BUILD:-$src/build}"
prefix="$T_TMP/prefix"
cons="$here/consumer"
NAME=install-test-$$
AGENT_PID=""

cleanup() {
    if [ -n "$AGENT_PID" ]; then
        kill -TERM "$AGENT_PID" 2>/dev/null
        wait "$AGENT_PID" 2>/dev/null
    fi
    rm -rf "$T_TMP"
}
trap cleanup EXIT

if ! make -s -C "$build" install prefix="$prefix" >"$T_TMP/install.log" 2>&1; then
    t_fail "make install prefix=<temporary directory>" "$(tail -20 "$T_TMP/install.log")"
    t_summary
    exit 1
fi
t_ok "make install prefix=<temporary directory>"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for pc in libprofile libprofile-agent libprofile-agent-cpu; do
    t_check "pkg-config $pc: -I and -L point into the prefix" bash -c \
        "pkg-config --cflags --libs $pc | grep -q -- '-I$prefix/include' &&
         pkg-config --libs $pc | grep -q -- '-L$prefix/lib '"
done

# ---- headers alone ---------------------------------------------------------
for h in lynxprof.h lynxprof-agent.h; do
    if out=$(printf '#include <%s>\n' "$h" |
            gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
                $(pkg-config --cflags libprofile) -x c - 2>&1); then
        t_ok "$h compiles alone as C99 (-Wpedantic -Werror)"
    else
        t_fail "$h compiles alone as C99 (-Wpedantic -Werror)" "$out"
    fi
    if out=$(printf '#include <%s>\n' "$h" |
            g++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only \
                $(pkg-config --cflags libprofile) -x c++ - 2>&1); then
        t_ok "$h compiles alone as C++11"
    else
        t_fail "$h compiles alone as C++11" "$out"
    fi
done

# ---- consumer programs --------------------------------------------------------
# build OUT SOURCE COMPILER PKG...: link against the installed libraries; the
# rpath lets the programs run from the temporary prefix.
build_consumer() {
    local out="$1" source="$2" cc="$3"; shift 3
    # shellcheck disable=SC2046
    "$cc" -Wall -Wextra -Werror -o "$T_TMP/$out" "$source" \
        $(pkg-config --cflags --libs "$@") -Wl,-rpath,"$prefix/lib" \
        >"$T_TMP/$out.log" 2>&1
}
for spec in "agent_target agent_target.c gcc libprofile-agent" \
            "client client.c gcc libprofile" \
            "both both.cc g++ libprofile libprofile-agent"; do
    set -- $spec
    if build_consumer "$1" "$cons/$2" "$3" "${@:4}"; then
        t_ok "consumer $2 builds with pkg-config --cflags --libs ${*:4}"
    else
        t_fail "consumer $2 builds with pkg-config --cflags --libs ${*:4}" \
            "$(cat "$T_TMP/$1.log")"
    fi
done
t_check "the consumers use the installed libraries" bash -c \
    "ldd '$T_TMP/client' | grep -q '$prefix/lib/libprofile.so' &&
     ldd '$T_TMP/agent_target' | grep -q '$prefix/lib/libprofile-agent.so'"

out=$("$T_TMP/both" 2>&1)
t_check "C++ consumer runs (C linkage of both headers)" test "$out" = "VERSION no-agent"

# Request labels with the header alone: no library at link time; a no-op
# without the agent, the agent's answer when it is preloaded (the reserved
# key "thread" is refused with -EINVAL = -22).
printf '%s\n' '#include <stdio.h>' '#include <lynxprof-agent.h>' \
    'int main(void) { int a = lynx_label_push("request", "x");' \
    '  int b = lynx_label_push("thread", "x");' \
    '  lynx_label_pop(); lynx_label_pop(); printf("%d %d\n", a, b); return 0; }' \
    >"$T_TMP/labels.c"
if gcc -Wall -Wextra -Werror -o "$T_TMP/labels" "$T_TMP/labels.c" \
        $(pkg-config --cflags libprofile-agent) >"$T_TMP/labels.log" 2>&1; then
    t_ok "a program using lynx_label_push builds with the header alone (no -lprofile-agent)"
else
    t_fail "a program using lynx_label_push builds with the header alone" "$(cat "$T_TMP/labels.log")"
fi
t_check "... and runs without the agent: push is a no-op (0 0)" \
    test "$("$T_TMP/labels" 2>&1)" = "0 0"
t_check "... and reaches the preloaded agent (0 -22)" \
    test "$(LD_PRELOAD="$prefix/lib/libprofile-agent.so" LYNXPROF_AGENT=0 "$T_TMP/labels" 2>&1)" = "0 -22"
t_check "... and the preloaded CPU-only agent (0 -22)" \
    test "$(LD_PRELOAD="$prefix/lib/libprofile-agent-cpu.so" LYNXPROF_AGENT=0 "$T_TMP/labels" 2>&1)" = "0 -22"

"$T_TMP/agent_target" "$NAME" >"$T_TMP/agent.out" 2>&1 &
AGENT_PID=$!
for ((i = 0; i < 50; i++)); do
    grep -q . "$T_TMP/agent.out" && break
    sleep 0.1
done
t_check "a program linking libprofile-agent starts the agent" \
    grep -qx "started $NAME" "$T_TMP/agent.out"

mkdir -p "$T_TMP/spool"
if "$T_TMP/client" "$NAME" "$T_TMP/spool" >"$T_TMP/client.out" 2>&1; then
    t_ok "a program linking libprofile calls every declared function ($(grep -c '^ok' "$T_TMP/client.out") checks)"
else
    t_fail "a program linking libprofile calls every declared function" \
        "$(grep -v '^ok' "$T_TMP/client.out")"
fi

kill -TERM "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID"
rc=$?
AGENT_PID=""
t_check "lynx_agent_stop ends the agent cleanly (exit 0)" test "$rc" = 0
t_check "lynx_agent_stop removes the control block" test ! -e "/dev/shm/lynxprof.$NAME"

# ---- exported symbols == declared functions -----------------------------------
# Functions a header declares: preprocess it, then take every identifier
# followed by "(" that starts a declaration's name (prefix lynx_), but not
# the static inline functions it defines (lynx_label_push and _pop: they
# call the agent through weak references and are not exported).
declared() { # header
    printf '#include <%s>\n' "$1" |
        gcc -E -P $(pkg-config --cflags libprofile) -x c - >"$T_TMP/decl.i"
    grep -E '^static inline' "$T_TMP/decl.i" |
        grep -oE '\blynx_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t' |
        sort -u >"$T_TMP/inline"
    grep -oE '\blynx_[a-z0-9_]+[[:space:]]*\(' "$T_TMP/decl.i" |
        tr -d '( \t' | sort -u | comm -23 - "$T_TMP/inline"
}
exported() { # library
    nm -D --defined-only "$1" | awk '{print $NF}' | sort -u
}
libc=$(gcc -print-file-name=libc.so.6)
nm -D --defined-only "$libc" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$T_TMP/libc.syms"

compare() { # library header interposes-allowed(0/1)
    local lib="$prefix/lib/$1" name="$1 exports exactly what $2 declares"
    declared "$2" >"$T_TMP/declared"
    exported "$lib" >"$T_TMP/exported"
    local extra missing interposed=""
    extra=$(comm -13 "$T_TMP/declared" "$T_TMP/exported")
    missing=$(comm -23 "$T_TMP/declared" "$T_TMP/exported")
    if [ "$3" = 1 ] && [ -n "$extra" ]; then
        # An interposed C library function is not API: allowed.
        interposed=$(printf '%s\n' "$extra" | comm -12 - "$T_TMP/libc.syms")
        extra=$(printf '%s\n' "$extra" | comm -23 - "$T_TMP/libc.syms")
    fi
    if [ ! -s "$T_TMP/declared" ]; then
        t_fail "$name" "no function found in $2"
    elif [ -z "$extra" ] && [ -z "$missing" ]; then
        t_ok "$name ($(wc -l <"$T_TMP/declared") functions${interposed:+, $(printf '%s\n' "$interposed" | wc -l) interposed C library functions})"
    else
        t_fail "$name" \
            "exported but not declared: $(echo $extra)" \
            "declared but not exported: $(echo $missing)"
    fi
}
compare libprofile.so lynxprof.h 0
compare libprofile-agent.so lynxprof-agent.h 1
compare libprofile-agent-cpu.so lynxprof-agent.h 1
# The CPU-only agent leaves the program's allocator and locks alone.
hooked=$(exported "$prefix/lib/libprofile-agent-cpu.so" |
    grep -E '^(malloc|free|calloc|realloc|.*memalign|aligned_alloc|valloc|pvalloc|malloc_usable_size|pthread_(mutex|rwlock|cond)_.*)$')
t_check "libprofile-agent-cpu.so exports no malloc, free or pthread lock function (${hooked:-none})" \
    test -z "$hooked"

t_summary
