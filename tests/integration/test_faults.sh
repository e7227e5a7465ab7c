#!/usr/bin/env bash
# Integration: faults, against the real stack (nginx + spawn-fcgi + the
# endpoints + targets with the agent).  Each section is one failure of
# docs/RELIABILITY.md:
#   stalled     a target stopped (SIGSTOP) during a session
#   ep-kill     an endpoint process killed mid-request
#   spool-full  the spool's filesystem full
#   damaged     spool files truncated or corrupted by hand
#   nginx-hup   nginx reloaded during /debug/pprof/profile
#   exec        a target that execs itself
#   threads     a target with 1,000 threads
#   many        50 profiled processes, one of them hung
# FAULTS_ONLY="a b" runs only the named sections.  Durations are printed as
# "#" comments, never asserted.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack faults-demo-$$ 28280
STACK_RATE=1000r/s
STACK_WORKERS=1   # one process per endpoint: the one serving is known
FIXTURE_PIDS=""

cleanup() {
    local p
    for p in $FIXTURE_PIDS; do kill -CONT "$p" 2>/dev/null; done
    stack_stop
    umount "$T_TMP/small" 2>/dev/null
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

# A dump's first line, "...: TOTAL, N answered in T ms[, M did not answer]":
# true when N + M is TOTAL and N > 0.
dump_counts_add_up() {
    local re=': ([0-9]+), ([0-9]+) answered in [0-9.]+ ms(, ([0-9]+) did not answer)?$'
    [[ $1 =~ $re ]] || return 1
    local total=${BASH_REMATCH[1]} answered=${BASH_REMATCH[2]}
    local missing=${BASH_REMATCH[4]:-0}
    [ $((answered + missing)) -eq "$total" ] && [ "$answered" -gt 0 ]
}

want() { [ -z "${FAULTS_ONLY:-}" ] || [[ " $FAULTS_ONLY " == *" $1 "* ]]; }

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
fi
it_stack_start

TG="target=$STACK_DEMO_NAME"

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.2f s", a - b }'; }

# pprof_ok FILE: go tool pprof reads FILE.
pprof_ok() {
    if ! PPROF_TMPDIR="$T_TMP" HOME="$T_TMP" go tool pprof -symbolize=none -raw "$1" \
        >/dev/null 2>"$T_TMP/pprof.err"; then
        echo "# pprof on $1 ($(wc -c <"$1") bytes, starts $(head -c 16 "$1" | od -An -tx1 | tr -d '\n')):"
        sed 's/^/#   /' "$T_TMP/pprof.err" | head -5
        return 1
    fi
}

# dl URL FILE: download URL into FILE (binary); sets H_CODE.
dl() {
    H_CODE=$(curl -s "${AUTH[@]}" -o "$2" -w '%{http_code}' --max-time 40 "$1") ||
        H_CODE=000
}

# A session of $2 on target $1 that ran to its end; prints its id.
session_done() {
    local id
    id=$(curl -s "${AUTH[@]}" "$CPU/start?duration=$2&hz=250&target=$1" | jq -r .session_id)
    wait_done "$id" 30 >/dev/null
    printf '%s' "$id"
}

# The test's own target program (fixtures/fault_target.c).
FIXTURE="$T_TMP/fault_target"
cc -O1 -g -pthread -o "$FIXTURE" "$here/fixtures/fault_target.c" ||
    t_fail "the fixture builds"
chmod 0755 "$FIXTURE"

# start_fixture NAME ARGS...: run the fixture with the agent; sets FPID.
start_fixture() {
    local name="$1"
    shift
    stack_start_target "$name" "$FIXTURE" "$@" || t_fail "target $name starts"
    FPID=$STACK_TARGET_PID
    FIXTURE_PIDS="$FIXTURE_PIDS $FPID"
}

# ---- a target stopped during a session ----------------------------------------
if want stalled; then
    start_fixture "stall-$$"
    stalled=$FPID
    # 4 s: the stop must land inside the session even on a loaded machine.
    expect "stalled: start a 4s session" 200 '.status == "started"' \
        GET "$CPU/start?duration=4s&hz=250&target=stall-$$" "${AUTH[@]}"
    sid=$(jqr .session_id)
    sleep 1
    kill -STOP "$stalled"
    t0=$(now)
    sleep 3
    expect "stalled: still running within duration + grace" 200 \
        '.status == "running"' GET "$CPU/status/$sid" "${AUTH[@]}"
    failed_in=""
    for ((i = 0; i < 200; i++)); do
        http GET "$CPU/status/$sid" "${AUTH[@]}"
        if [ "$(jqr .status)" = failed ]; then failed_in=$(since "$t0"); break; fi
        sleep 0.1
    done
    t_check "stalled: the session ends failed (after ${failed_in:-never})" test -n "$failed_in"
    expect "stalled: reason and samples kept" 200 \
        '.status == "failed" and .done == true and .error == "target stopped responding" and .samples > 0 and .data_size > 0' \
        GET "$CPU/status/$sid" "${AUTH[@]}"
    curl -s "${AUTH[@]}" -o "$T_TMP/stalled.pb.gz" "$CPU/download/$sid"
    t_check "stalled: its samples download and parse" pprof_ok "$T_TMP/stalled.pb.gz"
    expect "stalled: listed once, failed" 200 \
        "[.sessions[] | select(.session_id == \"$sid\")] | length == 1 and .[0].status == \"failed\"" \
        GET "$CPU/sessions?target=stall-$$" "${AUTH[@]}"
    expect "stalled: a synchronous profile of it fails with the reason" 503 \
        '.error | test("target stopped responding|not responding")' \
        GET "$B/debug/pprof/profile?seconds=1&target=stall-$$" "${AUTH[@]}" --max-time 40
    kill -CONT "$stalled"
    sleep 1
    expect "stalled, resumed: the verdict stays failed" 200 \
        '.status == "failed" and .error == "target stopped responding"' \
        GET "$CPU/status/$sid" "${AUTH[@]}"
    started=""
    for ((i = 0; i < 50; i++)); do
        http GET "$CPU/start?duration=1s&hz=250&target=stall-$$" "${AUTH[@]}"
        [ "$H_CODE" = 200 ] && { started=$(jqr .session_id); break; }
        sleep 0.1
    done
    t_check "stalled, resumed: the target takes a new session" test -n "$started"
    wait_done "$started" 20
    expect "stalled, resumed: the new session completes with samples" 200 \
        '.status == "completed" and .samples > 0 and .data_size > 0' \
        GET "$CPU/status/$started" "${AUTH[@]}"
    expect "stalled, resumed: the old one is still listed once, failed" 200 \
        "[.sessions[] | select(.session_id == \"$sid\")] | length == 1 and .[0].status == \"failed\"" \
        GET "$CPU/sessions?target=stall-$$" "${AUTH[@]}"
    # A synchronous profile whose target stops meanwhile.
    curl -s "${AUTH[@]}" -o "$T_TMP/sync-stall.json" -w '%{http_code}' --max-time 40 \
        "$B/debug/pprof/profile?seconds=2&hz=250&target=stall-$$" >"$T_TMP/sync-stall.code" &
    curl_pid=$!
    sleep 1
    kill -STOP "$stalled"
    wait "$curl_pid"
    kill -CONT "$stalled"
    t_check "stalled: a synchronous profile stopped meanwhile is a 503 with the reason ($(cat "$T_TMP/sync-stall.code") $(cat "$T_TMP/sync-stall.json"))" \
        bash -c "[ \"\$(cat '$T_TMP/sync-stall.code')\" = 503 ] && jq -e '.error == \"CPU profile failed: target stopped responding\"' '$T_TMP/sync-stall.json' >/dev/null"
fi

# ---- an endpoint process killed mid-request --------------------------------------
# pid of the worker serving endpoint $1 (STACK_WORKERS=1: multiwatch's one
# child), or nothing.
ep_worker() {
    local ep i=0 mw=""
    for ep in $STACK_ENDPOINTS; do
        i=$((i + 1))
        [ "$ep" = "$1" ] && mw=$(echo $STACK_EP_PIDS | cut -d' ' -f$i)
    done
    [ -n "$mw" ] && cat /proc/"$mw"/task/*/children 2>/dev/null | awk '{ print $1 }'
}

# spool_whole DIR: every session file in DIR is whole (listing: none
# damaged), every profile parses, and no temporary file is left.
spool_whole() {
    local f
    for f in "$1"/cpu_*.pb.gz; do
        [ -e "$f" ] || continue
        pprof_ok "$f" || { echo "# $f does not parse"; return 1; }
    done
    if ls -A "$1" | grep -q '^\.tmp-'; then
        echo "# temporary files left: $(ls -A "$1" | grep '^\.tmp-' | tr '\n' ' ')"
        return 1
    fi
    http GET "$CPU/sessions" "${AUTH[@]}"
    [ "$H_CODE" = 200 ] && [ "$(jqr '[.sessions[] | select(.status == "damaged")] | length')" = 0 ]
}

if want ep-kill; then
    SPOOL="$STACK_RUNDIR/spool"
    curl -s "${AUTH[@]}" -o "$T_TMP/killed.out" -w '%{http_code}' --max-time 30 \
        "$B/debug/pprof/profile?seconds=5&hz=250&$TG" >"$T_TMP/killed.code" &
    curl_pid=$!
    sleep 1.5
    worker=$(ep_worker pprof-profile)
    t_check "ep-kill: the worker serving /debug/pprof/profile is known" test -n "$worker"
    [ -n "$worker" ] && kill -KILL "$worker"
    wait "$curl_pid"
    echo "# ep-kill: the client got HTTP $(cat "$T_TMP/killed.code") from the killed request"
    for ((i = 0; i < 50; i++)); do
        w2=$(ep_worker pprof-profile)
        [ -n "$w2" ] && [ "$w2" != "$worker" ] && break
        sleep 0.1
    done
    t_check "ep-kill: the worker is replaced" test -n "$w2" -a "$w2" != "$worker"
    expect "ep-kill: the next request (listing) works" 200 '.sessions | length >= 1' \
        GET "$CPU/sessions?$TG" "${AUTH[@]}"
    orphan=$(jqr '[.sessions[] | select(.origin == "debug")][0].session_id')
    t_check "ep-kill: the orphaned session completes" wait_done "$orphan" 20
    expect "ep-kill: ... with its data" 200 '.status == "completed" and .data_size > 0' \
        GET "$CPU/status/$orphan" "${AUTH[@]}"
    dl "$B/debug/pprof/profile?seconds=1&hz=250&$TG" "$T_TMP/after-kill.pb.gz"
    t_check "ep-kill: the next /debug/pprof/profile works (HTTP $H_CODE)" test "$H_CODE" = 200
    t_check "ep-kill: ... and parses" pprof_ok "$T_TMP/after-kill.pb.gz"
    # A download killed mid-way.
    did=$(session_done "$STACK_DEMO_NAME" 1s)
    curl -s "${AUTH[@]}" -o /dev/null --limit-rate 1k --max-time 30 "$CPU/download/$did" &
    curl_pid=$!
    sleep 0.3
    worker=$(ep_worker cpu-download)
    [ -n "$worker" ] && kill -KILL "$worker"
    wait "$curl_pid"
    for ((i = 0; i < 50; i++)); do
        dl "$CPU/download/$did" "$T_TMP/dl.pb.gz"
        [ "$H_CODE" = 200 ] && break
        sleep 0.1
    done
    t_check "ep-kill: after a killed download, the next one works (HTTP $H_CODE)" test "$H_CODE" = 200
    t_check "ep-kill: ... and parses" pprof_ok "$T_TMP/dl.pb.gz"
    # What a writer killed half-way leaves: a temporary file under the pid
    # of the process just killed.  Never listed (the listing only reads),
    # swept by the next housekeeping (cpu-start's, every second).
    half="$SPOOL/.tmp-$worker-0-cpu_999999.json"
    printf '{"session_id": "cpu_9' >"$half"
    chown "$STACK_FCGI_USER:$STACK_FCGI_USER" "$half"
    expect "ep-kill: a half-written file is not listed" 200 \
        '[.sessions[] | select(.session_id == "cpu_999999")] | length == 0' \
        GET "$CPU/sessions" "${AUTH[@]}"
    swept=""
    for ((i = 0; i < 50; i++)); do
        [ -e "$half" ] || { swept=1; break; }
        sleep 0.1
    done
    t_check "ep-kill: ... and swept by the housekeeping" test -n "$swept"
    t_check "ep-kill: every spool file is whole" spool_whole "$SPOOL"
fi

# ---- the spool's filesystem full --------------------------------------------------
if want spool-full; then
    SMALL="$T_TMP/small"
    mkdir -p "$SMALL"
    mount -t tmpfs -o size=1m,mode=0750 lynxprof-spool "$SMALL"
    chown "$STACK_FCGI_USER:$STACK_FCGI_USER" "$SMALL"
    LYNXPROF_SPOOL_DIR="$SMALL" stack_restart_endpoints
    early=$(session_done "$STACK_DEMO_NAME" 1s)
    expect "spool-full: an earlier session completes" 200 '.status == "completed" and .data_size > 0' \
        GET "$CPU/status/$early" "${AUTH[@]}"
    dd if=/dev/zero of="$SMALL/filler" bs=4k 2>/dev/null
    echo "# spool-full: $(df -k "$SMALL" | awk 'NR == 2 { print $4 }') KiB left"
    full=$(session_done "$STACK_DEMO_NAME" 1s)
    expect "spool-full: the status says why it is not saved" 200 \
        '.status == "completed" and .spool_error == "No space left on device"' \
        GET "$CPU/status/$full" "${AUTH[@]}"
    expect "spool-full: its download is a 507 JSON error" 507 \
        '.error | test("spool directory is full")' GET "$CPU/download/$full" "${AUTH[@]}"
    expect "spool-full: a synchronous profile is a 507 JSON error" 507 \
        '.error | test("No space left on device")' \
        GET "$B/debug/pprof/profile?seconds=1&$TG" "${AUTH[@]}"
    t_check "spool-full: nothing half-written is left" \
        bash -c "! ls -A '$SMALL' | grep -q -e '^$full' -e '^\.tmp-'"
    dl "$CPU/download/$early" "$T_TMP/early.pb.gz"
    t_check "spool-full: the earlier session still downloads (HTTP $H_CODE)" test "$H_CODE" = 200
    t_check "spool-full: ... and parses" pprof_ok "$T_TMP/early.pb.gz"
    expect "spool-full: the earlier session is listed, not damaged" 200 \
        "[.sessions[] | select(.session_id == \"$early\")][0].status == \"completed\"" \
        GET "$CPU/sessions?$TG" "${AUTH[@]}"
    rm -f "$SMALL/filler"
    dl "$CPU/download/$full" "$T_TMP/late.pb.gz"
    t_check "spool-full: with space again, the session is saved and downloads (HTTP $H_CODE)" test "$H_CODE" = 200
    t_check "spool-full: ... and parses" pprof_ok "$T_TMP/late.pb.gz"
    stack_restart_endpoints
    umount "$SMALL"
fi

# ---- spool files damaged by hand ----------------------------------------------------
if want damaged; then
    SPOOL="$STACK_RUNDIR/spool"
    d1=$(session_done "$STACK_DEMO_NAME" 1s)
    d2=$(session_done "$STACK_DEMO_NAME" 1s)
    d3=$(session_done "$STACK_DEMO_NAME" 1s)
    d4=$(session_done "$STACK_DEMO_NAME" 1s)
    size=$(stat -c %s "$SPOOL/$d1.pb.gz")
    truncate -s $((size / 2)) "$SPOOL/$d1.pb.gz"
    printf 'XXXXXXXX' | dd of="$SPOOL/$d2.pb.gz" bs=1 seek=40 conv=notrunc 2>/dev/null
    printf '{"session_id": "%s", "sta' "$d3" >"$SPOOL/$d3.json"
    http GET "$CPU/sessions" "${AUTH[@]}"
    st() { jqr "[.sessions[] | select(.session_id == \"$1\")][0] | .status + \": \" + (.error // \"\")"; }
    t_check "damaged: truncated profile listed with the reason ($(st "$d1"))" \
        test "$(st "$d1")" = "damaged: profile file has $((size / 2)) bytes, $size expected (truncated or overwritten)"
    t_check "damaged: corrupted profile listed with the reason ($(st "$d2"))" \
        test "$(st "$d2")" = "damaged: profile file corrupted (CRC-32 mismatch)"
    t_check "damaged: truncated record listed with the reason ($(st "$d3"))" \
        test "$(st "$d3")" = "damaged: session record is not a JSON object"
    t_check "damaged: the untouched one is unaffected ($(st "$d4"))" test "$(st "$d4")" = "completed: "
    for id in "$d1" "$d2" "$d3"; do
        expect "damaged: download of $id is a JSON error, not a broken pprof" 500 \
            '.error | test("damaged")' GET "$CPU/download/$id" "${AUTH[@]}"
    done
    expect "damaged: status says damaged" 200 '.status == "damaged" and .done == true and (.error | test("CRC"))' \
        GET "$CPU/status/$d2" "${AUTH[@]}"
    dl "$CPU/download/$d4" "$T_TMP/d4.pb.gz"
    t_check "damaged: the untouched one downloads and parses" pprof_ok "$T_TMP/d4.pb.gz"
    expect "damaged: a damaged session can be deleted" 200 '' DELETE "$CPU/sessions/$d1" "${AUTH[@]}"
    expect "damaged: ... and is gone" 404 '' GET "$CPU/status/$d1" "${AUTH[@]}"
fi

# ---- nginx reloaded during /debug/pprof/profile --------------------------------------
if want nginx-hup; then
    { curl -sS "${AUTH[@]}" -o "$T_TMP/hup.pb.gz" -w '%{http_code}' --max-time 30 \
        "$B/debug/pprof/profile?seconds=5&hz=250&$TG" >"$T_TMP/hup.code" 2>"$T_TMP/hup.err"
      echo $? >"$T_TMP/hup.rc"; } &
    curl_pid=$!
    sleep 1.5
    kill -HUP "$STACK_NGINX_PID"
    wait "$curl_pid"
    t_check "nginx-hup: the profile completes (HTTP $(cat "$T_TMP/hup.code"))" test "$(cat "$T_TMP/hup.code")" = 200
    # curl fails (18) when fewer bytes than Content-Length arrived: a
    # worker exiting mid-response (see nginx-conf/lynxprof-fastcgi.conf).
    t_check "nginx-hup: the body is whole (curl exit $(cat "$T_TMP/hup.rc") $(cat "$T_TMP/hup.err"))" \
        test "$(cat "$T_TMP/hup.rc")" = 0
    t_check "nginx-hup: go tool pprof parses it" pprof_ok "$T_TMP/hup.pb.gz"
    expect "nginx-hup: the reloaded nginx answers" 200 '.targets | length >= 1' \
        GET "$API/targets" "${AUTH[@]}"
fi

# ---- a target that execs itself -------------------------------------------------------
if want exec; then
    EXN="exec-$$"
    start_fixture "$EXN" --exec-once --idle
    expid=$FPID
    http GET "$API/targets" "${AUTH[@]}"
    before=$(jqr ".targets[] | select(.name == \"$EXN\") | .agent_started_at")
    t_check "exec: the first image is listed ($before)" test -n "$before" -a "$before" != null
    for ((i = 0; i < 50; i++)); do
        grep -c '^ready' "$STACK_RUNDIR/demo-$EXN.log" | grep -q 2 && break
        sleep 0.1
    done
    sleep 0.5
    http GET "$API/targets" "${AUTH[@]}"
    t_check "exec: one entry for the process, no stale one ($(jqr "[.targets[] | select(.pid == $expid) | .name + \" \" + .status] | join(\", \")"))" \
        test "$(jqr "[.targets[] | select(.pid == $expid)] | length")" = 1
    after=$(jqr ".targets[] | select(.pid == $expid) | .agent_started_at")
    t_check "exec: the new image's agent under the same name, alive" \
        test "$(jqr ".targets[] | select(.pid == $expid) | .name + \" \" + (.alive | tostring)")" = "$EXN true"
    t_check "exec: with a new agent start time ($after)" test "$after" != "$before" -a -n "$after"
    expect "exec: the new agent answers" 200 '.' GET "$API/memory?target=$EXN" "${AUTH[@]}"
fi

# ---- a target with 1,000 threads -----------------------------------------------------
if want threads; then
    start_fixture "threads-$$" --threads 1000
    t0=$(now)
    dl "$B/debug/pprof/profile?seconds=2&hz=250&target=threads-$$" "$T_TMP/threads.pb.gz"
    echo "# threads: CPU profile of 2 s answered in $(since "$t0")"
    t_check "threads: CPU profile (HTTP $H_CODE)" test "$H_CODE" = 200
    t_check "threads: ... parses" pprof_ok "$T_TMP/threads.pb.gz"
    t0=$(now)
    http GET "$B/debug/pprof/goroutine?debug=2&target=threads-$$" "${AUTH[@]}"
    head2=$(printf '%s' "$H_BODY" | head -1)
    echo "# threads: full dump answered in $(since "$t0"): $head2"
    t_check "threads: the full dump lists every thread and says how long it took" \
        text_pipe "$head2" "grep -Eq '^threads of threads-$$ \(pid [0-9]+\): 100[3-9], [0-9]+ answered in [0-9.]+ ms'"
    # Every thread answered, or the dump says how many did not: on a loaded
    # machine a runnable thread may not run within the dump's timeout, so
    # their number is not asserted, only that the count adds up.
    t_check "threads: ... and every thread is answered or counted as not answering" \
        dump_counts_add_up "$head2"
    http GET "$B/debug/pprof/goroutine?debug=1&target=threads-$$" "${AUTH[@]}"
    t_check "threads: the counted dump (debug=1) counts every live thread, answered or not" \
        text_pipe "$H_BODY" "head -1 | grep -Eq '^goroutine profile: total 100[3-9]\$'"
    t_check "threads: the counted dump (debug=1) ends saying how long it took" \
        text_pipe "$H_BODY" "tail -1 | grep -Eq '^# threads of threads-$$ \(pid [0-9]+\): 100[3-9], [0-9]+ answered in [0-9.]+ ms'"
    dl "$B/debug/pprof/goroutine?target=threads-$$" "$T_TMP/goroutine.pb.gz"
    t_check "threads: the pprof thread profile parses" pprof_ok "$T_TMP/goroutine.pb.gz"
    t_check "threads: ... and carries the duration comment" bash -c \
        "PPROF_TMPDIR='$T_TMP' HOME='$T_TMP' go tool pprof -raw '$T_TMP/goroutine.pb.gz' 2>/dev/null | grep -q 'answered in'"
    expect "threads: memory statistics" 200 '.' GET "$API/memory?target=threads-$$" "${AUTH[@]}"
fi

# ---- 50 profiled processes, one hung -----------------------------------------------------
# (timed() runs a request and prints how long it took, never asserted)
timed() { local t0; t0=$(now); http "$@"; echo "# many: $2 -> $H_CODE in $(since "$t0")"; }

many_checks() { # label
    local n
    timed GET "$API/targets" "${AUTH[@]}"
    n=$(jqr "[.targets[] | select(.name | startswith(\"many-$$-\")) | select(.alive)] | length")
    t_check "many ($1): listing shows the live ones ($n)" test "$n" = "$MANY_LIVE"
    timed GET "$B/metrics" "${AUTH[@]}"
    n=$(text_pipe "$H_BODY" "grep -o 'target=\"many-$$-[0-9]*\"' | sort -u | wc -l")
    t_check "many ($1): /metrics answers (HTTP $H_CODE) naming all 50 ($n)" test "$H_CODE" = 200 -a "$n" = 50
    timed GET "$CPU/sessions" "${AUTH[@]}"
    t_check "many ($1): the page's session list answers" test "$H_CODE" = 200
    timed GET "$API/memory?target=many-$$-7" "${AUTH[@]}"
    t_check "many ($1): a live one's memory answers" test "$H_CODE" = 200
    timed GET "$API/flame?type=goroutine&target=many-$$-9" "${AUTH[@]}"
    t_check "many ($1): a live one's threads flame data answers" \
        text_pipe "$H_BODY" "[ '$H_CODE' = 200 ] && jq -e '.stacks | length > 0' >/dev/null"
}

if want many; then
    MANY_PIDS=""
    for ((k = 1; k <= 50; k++)); do
        start_fixture "many-$$-$k" --idle
        MANY_PIDS="$MANY_PIDS $FPID"
    done
    MANY_LIVE=50
    many_checks "all running"
    hung=$(echo $MANY_PIDS | cut -d' ' -f3)
    kill -STOP "$hung"
    # At once, before its heartbeat is stale: the scrape waits for it
    # until the heartbeat is (3 s; an overall deadline for the scrape is
    # the control block v2's), but still answers for every target.
    timed GET "$B/metrics" "${AUTH[@]}"
    n=$(text_pipe "$H_BODY" "grep -o 'target=\"many-$$-[0-9]*\"' | sort -u | wc -l")
    t_check "many (one just stopped): /metrics answers (HTTP $H_CODE) naming all 50 ($n)" test "$H_CODE" = 200 -a "$n" = 50
    sleep 4   # past the stale-heartbeat limit
    MANY_LIVE=49
    many_checks "one hung"
    http GET "$API/targets" "${AUTH[@]}"
    t_check "many: the hung one is reported ($(jqr ".targets[] | select(.name == \"many-$$-3\") | .status"))" \
        test "$(jqr ".targets[] | select(.name == \"many-$$-3\") | .alive")" = false
    dl "$B/metrics" "$T_TMP/metrics.txt"
    t_check "many: /metrics reports the hung one down" \
        grep -qx "lynxprof_target_up{target=\"many-$$-3\"} 0" "$T_TMP/metrics.txt"
    live=$(curl -s "${AUTH[@]}" "$API/targets" | jq '[.targets[] | select(.alive)] | length')
    t_check "many: ... and counts the live ones, $live ($(grep -a '^lynxprof_targets ' "$T_TMP/metrics.txt"))" \
        grep -qx "lynxprof_targets $live" "$T_TMP/metrics.txt"
    t_check "many: /metrics is text (no NUL byte)" \
        bash -c "tr -d '\\000' <'$T_TMP/metrics.txt' | cmp -s - '$T_TMP/metrics.txt'"
    timed GET "$API/memory?target=many-$$-3" "${AUTH[@]}"
    t_check "many: a request to the hung one is a 503 JSON error" \
        bash -c "[ '$H_CODE' = 503 ] && printf '%s' '$H_BODY' | jq -e .error >/dev/null"
    kill -CONT "$hung"
fi

t_summary
