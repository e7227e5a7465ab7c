#!/usr/bin/env bash
# Integration: reads do not write.  GET status, download, flame and the
# sessions listing leave the spool directory exactly as it was (names,
# sizes, modes, mtimes and contents of every file, and the directory's
# own mtime), even while sessions are past their retention, a temporary
# file of a dead writer and a stale tombstone wait to be swept, the last
# cleanup is overdue and a target has died in the middle of a session.
# Housekeeping happens in one place, the cpu-start processes: paused
# during the reads (SIGSTOP, by pid), it does all of that once resumed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack reads-demo-$$ 28480
VICTIM=reads-victim-$$
STACK_RATE=500r/s
# Sessions expire 3 s after they end; the sweep is due once an hour.
export LYNXPROF_RETENTION=3s PROFILE_CLEANUP_INTERVAL=1h

paused=""
cleanup() {
    # shellcheck disable=SC2086
    [ -n "$paused" ] && kill -CONT $paused 2>/dev/null
    stack_stop
    rm -f "/dev/shm/lynxprof.$VICTIM" "/dev/shm/lynxprof-mbox.$VICTIM"
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

it_stack_start
TG="target=$STACK_DEMO_NAME"
SPOOL="$STACK_RUNDIR/spool"

# Wait until the command succeeds (at most $1 seconds).
eventually() {
    local n="$1" i
    shift
    for ((i = 0; i < n * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# The worker processes (children of multiwatch) of endpoint $1.
workers() {
    local ep i=0 mw=""
    for ep in $STACK_ENDPOINTS; do
        i=$((i + 1))
        [ "$ep" = "$1" ] && mw=$(echo $STACK_EP_PIDS | cut -d' ' -f"$i")
    done
    [ -n "$mw" ] && cat /proc/"$mw"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
}

# Everything a write could change: every name, size, mode and mtime in
# the spool (the directory itself included) and every file's contents.
snapshot() {
    (cd "$SPOOL" && find . -printf '%p %s %m %T@\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 -r md5sum)
}

# ---- finished sessions, saved --------------------------------------------------
ids=""
for i in 1 2; do
    expect "session $i starts" 200 '.status == "started"' \
        GET "$CPU/start?duration=1s&$TG" "${AUTH[@]}"
    id=$(jqr .session_id)
    t_check "session $i completes" wait_done "$id" 30
    ids="$ids $id"
done
set -- $ids
s1=$1 s2=$2
t_check "both are saved in the spool" \
    eventually 10 test -s "$SPOOL/$s1.json" -a -s "$SPOOL/$s2.json"

# A second target whose session will be cut short by its death.
stack_start_demo "$VICTIM" --threads 2
victim=$STACK_DEMO_PID
expect "victim: a 60 s session starts" 200 '.status == "started"' \
    GET "$CPU/start?duration=60s&target=$VICTIM" "${AUTH[@]}"
vid=$(jqr .session_id)
sleep 4 # past the retention of both finished sessions

# A session that ends while the housekeeper is paused.
expect "session 3 (2 s) starts" 200 '.status == "started"' \
    GET "$CPU/start?duration=2s&$TG" "${AUTH[@]}"
s3=$(jqr .session_id)

# ---- the housekeeper paused, everything due -------------------------------------
paused=$(workers cpu-start | tr '\n' ' ')
t_check "cpu-start has worker processes ($paused)" test -n "$paused"
# shellcheck disable=SC2086
kill -STOP $paused
sleep 1.5 # a sweep already under way ends (it is short) or waits
{ kill -KILL "$victim"; wait "$victim"; } 2>/dev/null
half="$SPOOL/.tmp-$victim-0-cpu_424242.json" # its writer is dead
printf '{"session_id": "cpu_4' >"$half"
: >"$SPOOL/cpu_424243.gone" # a tombstone no block holds
chown "$STACK_FCGI_USER:$STACK_FCGI_USER" "$half" "$SPOOL/cpu_424243.gone"
touch -d '2 hours ago' "$SPOOL/.cleanup-stamp" # the sweep is overdue
before=$(snapshot)

# ---- many reads -------------------------------------------------------------------
# get PATH STATUS: GET $CPU/PATH answers STATUS (bodies may be binary).
get() {
    local code
    code=$(curl -s -o "$T_TMP/read.out" -w '%{http_code}' --max-time 30 \
        "${AUTH[@]}" "$CPU/$1" 2>/dev/null) || code=000
    [ "$code" = "$2" ] && return 0
    echo "# GET $1: $code $(head -c 200 "$T_TMP/read.out" | tr -d '\0')"
    return 1
}
reads_ok=1
for round in 1 2 3 4 5; do
    for id in $s1 $s2; do
        for path in "status/$id" "status/$id?$TG" "download/$id" \
            "flame/$id" "flame/$id?format=folded"; do
            get "$path" 200 || reads_ok=0
        done
    done
    for path in sessions "sessions?$TG" "sessions?target=$VICTIM"; do
        get "$path" 200 || reads_ok=0
    done
    get status/cpu_424243 404 || reads_ok=0
done
t_check "every read answered (status, download, flame, sessions; 404 for a tombstone)" \
    test "$reads_ok" = 1
# Ended, not saved, and nobody to save it: after waiting (at most 5 s)
# for the housekeeper, a read describes it from its record, unsaved.
t_check "session 3 has ended" wait_done "$s3" 30
expect "an ended session nobody saved: status says saved false" 200 \
    '.status == "completed" and .done == true and .saved == false and .samples > 0 and .data_size == 0' \
    GET "$CPU/status/$s3" "${AUTH[@]}"
expect "... its download answers 503, try again" 503 '.error | test("not saved yet")' \
    GET "$CPU/download/$s3" "${AUTH[@]}"
t_check "... with Retry-After" bash -c "curl -s -D - -o /dev/null ${AUTH[*]} '$CPU/flame/$s3' |
    tr -d '\r' | grep -qi '^retry-after: 1\$'"
expect "the dead target's session: failed, not saved" 200 \
    '.status == "failed" and .saved == false and (.error | test("exited"))' \
    GET "$CPU/status/$vid" "${AUTH[@]}"
expect "an expired session is still served until the sweep" 200 \
    ".status == \"completed\" and .data_size > 0" GET "$CPU/status/$s1" "${AUTH[@]}"
expect "the dead target's session is listed failed, computed in memory" 200 \
    "[.sessions[] | select(.session_id == \"$vid\")] | length == 1 and
     .[0].status == \"failed\" and (.[0].error | test(\"exited\"))" \
    GET "$CPU/sessions?target=$VICTIM" "${AUTH[@]}"
after=$(snapshot)
if [ "$before" = "$after" ]; then
    t_ok "the spool is unchanged after $((round * 14 + 4)) GETs"
else
    t_fail "the spool is unchanged after the GETs" \
        "$(diff <(echo "$before") <(echo "$after") | head -20)"
fi

# ---- the housekeeper resumed: it does what the reads did not --------------------
# shellcheck disable=SC2086
kill -CONT $paused
paused=""
t_check "housekeeper: expired sessions removed" \
    eventually 10 bash -c "! ls '$SPOOL' | grep -q -e '^$s1[.]' -e '^$s2[.]'"
t_check "housekeeper: the dead writer's temporary file removed" \
    eventually 10 test ! -e "$half"
t_check "housekeeper: session 3 saved (or, past its 3 s retention, expired since)" \
    eventually 10 bash -c "jq -e '.status == \"completed\"' '$SPOOL/$s3.json' >/dev/null 2>&1 ||
        test -e '$SPOOL/$s3.gone' ||
        test \"\$(curl -s -o /dev/null -w '%{http_code}' ${AUTH[*]} '$CPU/status/$s3')\" = 404"
t_check "housekeeper: the stale tombstone removed" \
    eventually 10 test ! -e "$SPOOL/cpu_424243.gone"
# Saved as failed, and (ended more than 3 s ago) expired in the same
# sweep: then a tombstone stays while the dead target's block holds it.
t_check "housekeeper: the dead target's session saved as failed (or expired since)" \
    eventually 10 bash -c "jq -e '.status == \"failed\"' '$SPOOL/$vid.json' >/dev/null 2>&1 ||
        test -e '$SPOOL/$vid.gone'"

t_summary
