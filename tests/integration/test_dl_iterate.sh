#!/usr/bin/env bash
# Integration: CPU profiling a program whose threads sit inside
# dl_iterate_phdr callbacks (fixtures/dliterate_target.c: walkers with long
# callbacks, spinners outside the loader, dlopen/dlclose churn), at
# 1000 Hz.  A signal handler that unwinds a thread inside dl_iterate_phdr
# (which holds the loader's lock) while another handler holds libunwind's
# mutex and waits for that lock deadlocks the program.  Checked:
#   - the session completes and the program keeps making progress during
#     and after it (no hang), and ends on SIGTERM with status 0;
#   - the profile says how many samples were not unwound (a comment), and
#     the walkers' callback is in it (its leaf address was kept).
# On a hang, every thread's stack (gdb, when installed) is printed as "#".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack dliter-demo-$$ 28780
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"

cleanup() {
    stack_stop
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
    t_summary
    exit 1
fi
it_stack_start

NAME="dliter-$$"
TG="target=$NAME"
STATUS="$T_TMP/status"

printf 'int dl_fn(int x) { return x * 3 + 1; }\n' >"$T_TMP/dllib.c"
FIXTURE="$STACK_RUNDIR/dliterate_target"
cc -O2 -shared -fPIC -o "$STACK_RUNDIR/libdliter.so" "$T_TMP/dllib.c" &&
    cc -O2 -g -pthread -o "$FIXTURE" "$here/fixtures/dliterate_target.c" -ldl ||
    t_fail "the fixture builds"
chmod 0755 "$FIXTURE" "$STACK_RUNDIR/libdliter.so"
stack_start_target "$NAME" "$FIXTURE" --lib "$STACK_RUNDIR/libdliter.so" \
    --status "$STATUS" || t_fail "the fixture starts"
TARGET=$STACK_TARGET_PID

# progress: the fixture's counters "walks/dlopens/spins".
progress() {
    tr ' ' '\n' 2>/dev/null <"$STATUS" |
        awk -F= '$1 == "walks" || $1 == "dlopens" || $1 == "spins" {printf "%s/", $2}'
}
# moved: the counters all change within 3 s.
moved() {
    local a b i
    a=$(progress)
    for ((i = 0; i < 30; i++)); do
        sleep 0.1
        b=$(progress)
        [ -n "$a" ] && [ -n "$b" ] &&
            paste -d' ' <(tr '/' '\n' <<<"$a") <(tr '/' '\n' <<<"$b") |
            awk 'NF == 2 && $1 == $2 {same = 1} END {exit same}' && return 0
    done
    return 1
}
stacks() {
    if command -v gdb >/dev/null; then
        timeout 60 gdb -p "$TARGET" -batch -ex 'thread apply all bt' 2>&1 |
            grep -E '^(#|Thread)' | head -80 | sed 's/^/#   /'
    fi
}
for ((i = 0; i < 50; i++)); do [ -s "$STATUS" ] && break; sleep 0.1; done
t_check "the fixture runs: walks, dlopens and spins all move" moved

expect "cpu/start at 1000 Hz for 6 s" 200 '.session_id != null' \
    GET "$CPU/start?duration=6s&hz=1000&$TG" "${AUTH[@]}"
ID=$(jqr '.session_id')

# During the session: the program must keep moving.
sleep 2
during=0
moved && during=1
t_check "during the session the program makes progress (no deadlock)" test "$during" = 1
[ "$during" = 1 ] || stacks

st=""
for ((i = 0; i < 40; i++)); do
    http GET "$CPU/status/$ID?$TG" "${AUTH[@]}"
    st=$(jqr '.status // empty' 2>/dev/null)
    [ "$st" = completed ] && break
    [ "$st" = running ] || [ "$st" = started ] || break
    sleep 1
done
t_check "the session completes (status: ${st:-none})" test "$st" = completed
t_check "after the session the program still makes progress" moved

code=$(curl -s "${AUTH[@]}" -o "$T_TMP/cpu.pb.gz" -w '%{http_code}' \
    --max-time 30 "$CPU/download/$ID?$TG")
t_check "download: 200" test "$code" = 200
comments=$(go tool pprof -comments "$T_TMP/cpu.pb.gz" 2>&1)
skipped=$(sed -n 's/^samples not unwound (thread inside the loader): \([0-9]*\)$/\1/p' <<<"$comments")
total=$(go tool pprof -symbolize=none -raw "$T_TMP/cpu.pb.gz" 2>/dev/null |
    awk '/^Samples:/ {on = 1; next} /^Locations/ {on = 0}
         on && $1 ~ /^[0-9]+$/ {n += $1} END {print n + 0}')
echo "# samples: $total in the profile, ${skipped:-0} of them not unwound (in the loader)"
t_check "the profile says how many samples were not unwound (${skipped:-none})" \
    test "${skipped:-0}" -gt 0
t_check "and they are fewer than all samples ($total)" \
    test "${skipped:-0}" -lt "$total"
top=$(go tool pprof -symbolize=none -top "$T_TMP/cpu.pb.gz" 2>/dev/null)
t_check "the walkers' callback is in the profile (its leaf address kept)" \
    text_pipe "$top" "grep -q walk_cb"
t_check "the spinners are unwound whole (spin1 under spin3)" \
    bash -c "go tool pprof -symbolize=none -traces '$T_TMP/cpu.pb.gz' 2>/dev/null |
        grep -A3 -w spin3 | grep -qw spin1"

kill -TERM "$TARGET" 2>/dev/null
for ((i = 0; i < 100; i++)); do stack_alive "$TARGET" || break; sleep 0.1; done
if stack_alive "$TARGET"; then
    t_fail "the fixture ends on SIGTERM within 10 s"
    stacks
    kill -KILL "$TARGET" 2>/dev/null
    wait "$TARGET" 2>/dev/null
else
    wait "$TARGET"
    rc=$?
    t_check "the fixture ends on SIGTERM with status 0 ($(tail -1 "$STACK_RUNDIR/demo-$NAME.log"))" \
        test "$rc" = 0
fi

t_summary
