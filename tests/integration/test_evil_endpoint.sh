#!/usr/bin/env bash
# Integration: an "evil endpoint".  A process running as the endpoints' user
# (the FastCGI user of scripts/stack.sh, in the group the target gives its
# objects to) scribbles random bytes over what it can open for writing in a
# profiled target's shared memory (helpers/scribble.c: it finds it cannot
# open the data object, and writes slot states, commands, argument lengths,
# arguments, sequence numbers and futex words of the mailbox, and truncates
# it once), for a bounded time, while real requests (memory, thread dump, heap, CPU start and stop)
# go through nginx in a loop.  The target never dies, no endpoint process
# dies, nginx never answers 502, every answer is JSON (or a pprof when it
# succeeds), and once the scribbling stops the agent takes its mailbox back:
# a fresh request succeeds.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack evil-demo 38580
STACK_RATE=1000r/s
SCRIBBLE_SECONDS=${LYNX_SCRIBBLE_SECONDS:-25}
LOOP_PID=""

cleanup() {
    if [ -n "$LOOP_PID" ]; then
        kill "$LOOP_PID" 2>/dev/null
        wait "$LOOP_PID" 2>/dev/null
    fi
    stack_stop
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

it_stack_start

TG="target=$STACK_DEMO_NAME"
DEMO_PID=$STACK_DEMO_PID

helper="$T_TMP/scribble"
if ! gcc -std=gnu11 -O1 -Wall -I"$src/lib" -I"$src/lib/include" -o "$helper" \
        "$here/helpers/scribble.c" >"$T_TMP/helper.log" 2>&1; then
    t_fail "helpers/scribble.c builds" "$(cat "$T_TMP/helper.log")"
    t_summary
    exit 1
fi
chmod 0755 "$helper"

# The endpoint processes: the children of each multiwatch (spawn-fcgi
# execs it).  multiwatch restarts a child that dies, so a crash shows as a
# changed pid.
endpoint_pids() {
    local p
    for p in $STACK_EP_PIDS; do ps -o pid= --ppid "$p"; done | sort -n | tr -s ' \n' ' '
}

# One request; appends "<what> <status> <verdict>" to $T_TMP/loop.log,
# where the verdict says whether the answer is what a client may get:
# a JSON error with a non-empty "error", a JSON document, or a gzipped
# pprof.  Prints the body on stdout.
probe() {
    local what="$1" method="$2" url="$3" want="$4" code ctype verdict
    code=$(curl -s -X "$method" -o "$T_TMP/pb" -w '%{http_code} %{content_type}' \
        --max-time 30 "${AUTH[@]}" "$url" 2>/dev/null) || code="000 -"
    ctype=${code#* }
    code=${code%% *}
    verdict=bad
    if [ "$code" -ge 400 ] 2>/dev/null; then
        case "$ctype" in application/json*)
            jq -e '.error | type == "string" and length > 0' "$T_TMP/pb" \
                >/dev/null 2>&1 && verdict=json-error ;;
        esac
    elif [ "$code" = 200 ] && [ "$want" = json ]; then
        case "$ctype" in application/json*)
            jq -e . "$T_TMP/pb" >/dev/null 2>&1 && verdict=json ;;
        esac
    elif [ "$code" = 200 ] && [ "$want" = pprof ]; then
        [ "$(head -c 2 "$T_TMP/pb" | od -An -tx1 | tr -d ' ')" = 1f8b ] &&
            verdict=pprof
    fi
    echo "$what $code $verdict" >>"$T_TMP/loop.log"
    [ "$verdict" = bad ] && cp "$T_TMP/pb" "$T_TMP/bad-$what-$code.body"
    cat "$T_TMP/pb"
}

request_loop() {
    local id
    while :; do
        probe memory GET "$API/memory?$TG" json >/dev/null
        probe goroutine GET "$B/debug/pprof/goroutine?$TG" pprof >/dev/null
        probe heap GET "$B/debug/pprof/heap?$TG" pprof >/dev/null
        id=$(probe cpu-start POST "$API/cpu/start?duration=2s&$TG" json |
             jq -r '.session_id // empty' 2>/dev/null)
        if [ -n "$id" ]; then
            probe cpu-stop POST "$API/cpu/stop/$id" json >/dev/null
        fi
    done
}

# Before: the same requests succeed.
: >"$T_TMP/loop.log"
probe memory GET "$API/memory?$TG" json >/dev/null
probe goroutine GET "$B/debug/pprof/goroutine?$TG" pprof >/dev/null
t_check "requests succeed before the scribbling" \
    test "$(grep -c ' 200 ' "$T_TMP/loop.log")" = 2

eps_before=$(endpoint_pids)
t_check "endpoint processes found" test -n "$eps_before"

: >"$T_TMP/loop.log"
request_loop &
LOOP_PID=$!
as_member() {
    setpriv --reuid="$STACK_FCGI_USER" --regid="$STACK_FCGI_USER" \
        --clear-groups "$helper" "$STACK_DEMO_NAME" "$@"
}
# Scribble, truncate the mailbox (the agent gives it its size back within
# a second), scribble again: the last pass leaves every slot held.
as_member $((SCRIBBLE_SECONDS / 2)) >"$T_TMP/scribble.out" 2>&1
scribble_rc=$?
as_member truncate >>"$T_TMP/scribble.out" 2>&1
truncate_rc=$?
sleep 2
as_member $((SCRIBBLE_SECONDS - SCRIBBLE_SECONDS / 2)) >>"$T_TMP/scribble.out" 2>&1
scribble_rc=$((scribble_rc + $?))
kill "$LOOP_PID" 2>/dev/null
wait "$LOOP_PID" 2>/dev/null
LOOP_PID=""
sed 's/^/# scribbler: /' "$T_TMP/scribble.out"
slot_states() { # state and client pid of each mailbox slot
    local i off mb="/dev/shm/lynxprof-mbox.$STACK_DEMO_NAME"
    for i in 0 1 2 3 4 5 6 7; do
        off=$((16 + i * 1048))
        printf '%s/%s ' "$(od -An -tu4 -j "$off" -N4 "$mb" | tr -d ' ')" \
            "$(od -An -td4 -j $((off + 4)) -N4 "$mb" | tr -d ' ')"
    done
}
echo "# mailbox slots (state/client pid) when it stopped: $(slot_states)"

t_check "scribbler ran as the endpoints' user and wrote the mailbox" \
    test "$scribble_rc" = 0
t_check "the data object refuses writing to the endpoints' user (EACCES)" \
    grep -qx 'data: EACCES' "$T_TMP/scribble.out"
t_check "the endpoints' user could truncate the mailbox" test "$truncate_rc" = 0

n=$(wc -l <"$T_TMP/loop.log")
echo "# $n requests during the scribbling; by endpoint, status and verdict:"
awk '{print $1, $2, $3}' "$T_TMP/loop.log" | sort | uniq -c | sed 's/^/#   /'
t_check "requests went through during the scribbling" test "$n" -ge 10
t_check "nginx never answered 502" \
    test "$(awk '$2 == 502' "$T_TMP/loop.log" | wc -l)" = 0
bad=$(awk '$3 == "bad"' "$T_TMP/loop.log")
if [ -z "$bad" ]; then
    t_ok "every answer is JSON (errors with an \"error\"), or a pprof"
else
    t_fail "every answer is JSON (errors with an \"error\"), or a pprof" \
        "$(printf '%s\n' "$bad" | sort | uniq -c | head -10)" \
        "$(head -c 300 "$T_TMP"/bad-* 2>/dev/null)"
fi

t_check "the target lives (same pid)" \
    test "$(ps -o stat= -p "$DEMO_PID" | cut -c1)" != Z -a -d "/proc/$DEMO_PID"
eps_after=$(endpoint_pids)
if [ "$eps_before" = "$eps_after" ]; then
    t_ok "no endpoint process died"
else
    t_fail "no endpoint process died" "before: $eps_before" "after: $eps_after" \
        "$(grep -ih 'signal\|died\|exit' "$STACK_RUNDIR"/fcgi-*.log | tail -5)"
fi

# After: the agent frees the slots left in any state, so every command
# works again (within the time it allows a slot to sit unchanged, 10 s).
recovered() {
    local i=0 what ok end=$((SECONDS + 45))
    while [ "$SECONDS" -lt "$end" ]; do
        i=$((i + 1))
        : >"$T_TMP/loop.log"
        probe memory GET "$API/memory?$TG" json >/dev/null
        probe goroutine GET "$B/debug/pprof/goroutine?$TG" pprof >/dev/null
        probe heap GET "$B/debug/pprof/heap?$TG" pprof >/dev/null
        ok=1
        for what in memory goroutine heap; do
            grep -q "^$what 200 " "$T_TMP/loop.log" || ok=0
        done
        if [ "$ok" = 1 ]; then
            echo "# recovered after $i round(s); slots: $(slot_states)"
            return 0
        fi
        sleep 1
    done
    sed 's/^/#   /' "$T_TMP/loop.log"
    return 1
}
t_check "after the scribbling, memory, thread dump and heap succeed again" recovered
http POST "$API/cpu/start?duration=1s&$TG" "${AUTH[@]}"
t_check "after the scribbling, the agent answers a CPU start (200, or 409 if a scribbled start runs)" \
    test "$H_CODE" = 200 -o "$H_CODE" = 409
# Slots held by a live pid (1) with no change are freed too, once held
# longer than any endpoint holds one.
all_free() {
    local i
    for i in $(seq 1 20); do
        case "$(slot_states)" in *[1-9]/*) sleep 1 ;; *) return 0 ;; esac
    done
    echo "# slots: $(slot_states)"
    return 1
}
t_check "every slot is free again, those held by a live pid included" all_free
t_check "the target still lives" test -d "/proc/$DEMO_PID"

t_summary
