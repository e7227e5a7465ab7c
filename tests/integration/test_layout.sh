#!/usr/bin/env bash
# The layout of lib/ shows where code runs, and this test keeps it true:
#   lib/protocol  both sides       may include: protocol/, lynxprof.h
#   lib/agent     inside targets   may include: protocol/, agent/, the
#                                  public headers
#   lib/client    libprofile       may include: protocol/, client/, lynxprof.h
#   lib/fcgi      endpoint plumbing: anything but agent/
#   lib/include   public headers   may include: nothing of ours
# Checked two ways: the #include lines of every file, and by compiling every
# agent and protocol source against an include tree that holds nothing
# else (so an indirect include of client or FastCGI code fails to build).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"
trap 'rm -rf "$T_TMP"' EXIT

# bad_includes DIR ALLOWED-REGEX [FILES...]: prints "file: include" for each
# quoted #include of FILES (default DIR/*.[ch]) that ALLOWED-REGEX does not
# match; true when there is none.
bad_includes() {
    local dir="$1" allowed="$2" f inc bad=0
    shift 2
    [ $# -gt 0 ] || set -- "$dir"/*.[ch]
    for f in "$@"; do
        while IFS= read -r inc; do
            if ! [[ $inc =~ $allowed ]]; then
                echo "#   ${f#"$src"/}: \"$inc\""
                bad=1
            fi
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
    return "$bad"
}

rules=(
    "protocol|^(protocol/[a-z_]+\.h|lynxprof\.h)$"
    "agent|^(protocol/[a-z_]+\.h|agent/[a-z_]+\.h|lynxprof\.h|lynxprof-agent\.h)$"
    "client|^(protocol/[a-z_]+\.h|client/[a-z_.-]+\.h|lynxprof\.h)$"
    "fcgi|^(protocol/[a-z_]+\.h|client/[a-z_.-]+\.h|fcgi/[a-z_]+\.h|lynxprof\.h)$"
    "include|^$"
)
for r in "${rules[@]}"; do
    d="${r%%|*}" allowed="${r#*|}"
    out=$(bad_includes "$src/lib/$d" "$allowed")
    t_check "lib/$d includes only what it may" test -z "$out" ||
        printf '%s\n' "$out"
done

# Nothing lies loose in lib/: every file is in the folder of where it runs.
loose=$(find "$src/lib" -maxdepth 1 -type f -printf '%f\n')
t_check "lib/ holds only the five folders${loose:+ (loose: $loose)}" test -z "$loose"
for d in protocol agent client fcgi include; do
    t_check "lib/$d exists and is not empty" \
        test -n "$(ls "$src/lib/$d" 2>/dev/null)"
done

# The checker itself fails on a violation (so this test can fail).
mkdir -p "$T_TMP/fake"
printf '#include "protocol/block.h"\n#include "client/attach.h"\n' \
    >"$T_TMP/fake/x.c"
caught() { ! bad_includes "$T_TMP/fake" "${rules[1]#*|}" >/dev/null; }
t_check "a file of the agent that includes client/attach.h is caught" caught

# The agent's state is one lynx_agent_t (agent/context.h): each file of the
# agent reaches one part of it at most, its own.
# state_parts FILES...: prints "file: parts" for each file that names more
# than one member of lynx_agent; true when there is none.
state_parts() {
    local f parts bad=0
    for f in "$@"; do
        parts=$(grep -o 'lynx_agent\.[a-z_]*' "$f" | sort -u | tr '\n' ' ')
        if [ "$(wc -w <<<"$parts")" -gt 1 ]; then
            echo "#   ${f#"$src"/}: $parts"
            bad=1
        fi
    done
    return "$bad"
}
out=$(state_parts "$src"/lib/agent/*.c)
t_check "each agent file reaches one part of the agent's state" \
    test -z "$out" || printf '%s\n' "$out"
printf '%s\n' '#define g (lynx_agent.cpu)' \
    'int x(void) { return lynx_agent.heap.n; }' >"$T_TMP/fake/y.c"
two_parts_caught() { ! state_parts "$T_TMP/fake/y.c" >/dev/null; }
t_check "a file of the agent that reaches two parts is caught" two_parts_caught

# Compile the agent and protocol sources seeing only protocol/, agent/ and
# the public headers.
inc="$T_TMP/inc"
mkdir -p "$inc"
ln -s "$src/lib/protocol" "$inc/protocol"
ln -s "$src/lib/agent" "$inc/agent"
cflags=(-std=gnu11 -D_GNU_SOURCE -fsyntax-only -I"$inc" -I"$src/lib/include")
cflags+=($(pkg-config --cflags libunwind 2>/dev/null))
for f in "$src"/lib/protocol/*.c "$src"/lib/agent/*.c; do
    rel="${f#"$src"/}"
    if err=$(gcc "${cflags[@]}" "$f" 2>&1); then
        t_ok "$rel builds without client or FastCGI headers"
    else
        t_fail "$rel builds without client or FastCGI headers" \
            "$(printf '%s\n' "$err" | head -5)"
    fi
done

t_summary
