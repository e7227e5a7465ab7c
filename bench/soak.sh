#!/usr/bin/env bash
# Soak: MINUTES (default 30) of a churning target (bench/soak_target.c:
# fork()+_exit and fork()+exec children, dlopen/dlclose of a small library,
# threads created and joined, malloc churn, lock contention) profiled by the
# agent, under continuous load through nginx: CPU sessions back to back
# (start 20 s, status, download, delete), heap snapshots, thread dumps,
# /api/v1/profiling/memory, /metrics, and wrk at a bounded rate on the
# memory endpoint.  Every SOAK_SAMPLE seconds (30) it records the RSS of
# the target, of each endpoint's worker processes and of nginx's workers,
# the /dev/shm objects, the children hung and whether the target lives.
# At the end: the table, the requests per status code (nginx's access log),
# crashes, hangs and a verdict; the report goes to SOAK_OUT (default
# build/soak) as soak.md and soak.csv.  Exit status 0 only on PASS.
#   bench/soak.sh [MINUTES]
# Not run by bench/run.sh without its name: bench/run.sh soak.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
minutes="${1:-30}"
sample_s="${SOAK_SAMPLE:-30}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"

out="${SOAK_OUT:-$src/build/soak}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/soak-problems.log" "$out/soak-stall-gdb.txt" "$out/logs"
tmp=$(mktemp -d /tmp/lynxprof-soak.XXXXXX)
chmod 0755 "$tmp"
STACK_SRC="$src" STACK_RUNDIR="$tmp/run"
STACK_PORT=28680 STACK_TLS_PORT=28643 STACK_APP_PORT=28681
STACK_USER=soak STACK_PASSWORD=soak-pw STACK_RATE=500r/s
STACK_DEMO_ARGS="--threads 1"
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$tmp/run/spool"
unset SERVER_PRODUCTION MAX_PROFILE_DURATION LYNXPROF_TARGET LYNXPROF_RETENTION
NAME=soak-target
LOAD_PIDS=""
TARGET=""
cleanup() {
    touch "$tmp/stop"
    local p
    for p in $LOAD_PIDS; do kill "$p" 2>/dev/null; done
    for p in $LOAD_PIDS; do wait "$p" 2>/dev/null; done
    [ -n "$TARGET" ] && stack_kill_pids "$TARGET"
    stack_stop
    # The stack's logs (multiwatch says why an endpoint process ended).
    mkdir -p "$out/logs"
    cp "$tmp/run/"*.log "$out/logs/" 2>/dev/null
    rm -rf "$tmp"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stack_start || { echo "soak: the stack did not start" >&2; exit 1; }

# The target and its library, readable by the endpoints (they symbolize).
cat >"$tmp/soaklib.c" <<'C'
unsigned long soak_fn(unsigned long x)
{
    unsigned long h = x;
    for (int i = 0; i < 1000; i++)
        h = h * 31 + (unsigned long)i;
    return h;
}
C
gcc -O2 -shared -fPIC -o "$tmp/run/libsoak.so" "$tmp/soaklib.c" &&
    gcc -O2 -g -pthread -I "$src/tests/integration" -o "$tmp/run/soak_target" \
        "$here/soak_target.c" "$src/tests/integration/child_watch.c" -ldl ||
    { echo "soak: building the target failed" >&2; exit 1; }
chmod 0755 "$tmp/run/libsoak.so" "$tmp/run/soak_target"
LYNXPROF_HEAP_RATE=16384 LYNXPROF_HEAP_SAMPLE_LIMIT=0 stack_start_target "$NAME" "$tmp/run/soak_target" \
    --lib "$tmp/run/libsoak.so" --status "$tmp/status" --hang-timeout 10 ||
    exit 1
TARGET=$STACK_TARGET_PID

B="http://127.0.0.1:$STACK_PORT"
AUTH=(-u "$STACK_USER:$STACK_PASSWORD")
TG="target=$NAME"
end=$(($(date +%s) + minutes * 60))
clients="$tmp/clients.log"

# req NAME URL [curl args]: one request; logs "epoch name code seconds".
# Prints the body.
req() {
    local name="$1" url="$2" r body="$tmp/body.$BASHPID"
    shift 2
    r=$(curl -s -o "$body" -w '%{http_code} %{time_total}' \
        --max-time 60 "${AUTH[@]}" "$@" "$url" 2>/dev/null) || true
    echo "$(date +%s) $name ${r:-000 60}" >>"$clients"
    cat "$body" 2>/dev/null
    rm -f "$body"
}
running() { [ ! -e "$tmp/stop" ] && [ "$(date +%s)" -lt "$end" ]; }

# 1. CPU sessions back to back.
(
    while running; do
        id=$(req cpu-start "$B/api/v1/profiling/cpu/start?duration=20s&$TG" |
            jq -r '.session_id // empty' 2>/dev/null)
        if [ -z "$id" ]; then sleep 2; continue; fi
        for ((i = 0; i < 40; i++)); do
            sleep 2
            st=$(req cpu-status "$B/api/v1/profiling/cpu/status/$id?$TG" |
                jq -r '.status // empty' 2>/dev/null)
            [ "$st" = running ] || [ "$st" = started ] || break
        done
        echo "$(date +%s) $id $st" >>"$tmp/sessions.log"
        req cpu-download "$B/api/v1/profiling/cpu/download/$id?$TG" >/dev/null
        req cpu-delete "$B/api/v1/profiling/cpu/delete/$id?$TG" -X POST >/dev/null
    done
) &
LOAD_PIDS="$LOAD_PIDS $!"

# 2. Heap snapshots, thread dumps, memory and metrics every few seconds.
(
    while running; do
        req heap "$B/debug/pprof/heap?$TG" >/dev/null
        d=$(req goroutine "$B/debug/pprof/goroutine?debug=1&$TG" | head -1)
        case "$d" in "goroutine profile: total "*) ;;
            *) echo "$(date +%s) bad dump: ${d:0:120}" >>"$tmp/bad.log" ;; esac
        req memory "$B/api/v1/profiling/memory?$TG" >/dev/null
        req metrics "$B/metrics" >/dev/null
        sleep 3
    done
) &
LOAD_PIDS="$LOAD_PIDS $!"

# 3. wrk on the memory endpoint, each of 2 connections pausing 100 ms
#    between requests (at most about 20 requests/s).
cat >"$tmp/pace.lua" <<'LUA'
function delay()
    return 100
end
LUA
wrk -t1 -c2 -d"$((minutes * 60))s" --timeout 30s -s "$tmp/pace.lua" \
    -H "Authorization: Basic $(printf '%s:%s' "$STACK_USER" "$STACK_PASSWORD" | base64)" \
    "$B/api/v1/profiling/memory?$TG" >"$tmp/wrk.log" 2>&1 &
LOAD_PIDS="$LOAD_PIDS $!"

# ---- sampling -------------------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '; }
sum_rss() { local s=0 p; for p in "$@"; do s=$((s + $(rss_kb "$p"))); done; echo "$s"; }
status_val() { tr ' ' '\n' 2>/dev/null <"$tmp/status" | sed -n "s/^$1=//p"; }

ep_pids=($STACK_EP_PIDS)
eps=($STACK_ENDPOINTS)
# The endpoints' worker pids at the start: a pid that changes is a restart.
worker_set() { local p; for p in "${ep_pids[@]}"; do children "$p"; done | sort -n | tr '\n' ' '; }
workers0=$(worker_set)
ep_workers=()
for i in "${!ep_pids[@]}"; do
    ep_workers[$i]=$(children "${ep_pids[$i]}" | sort -n | tr '\n' ' ')
done
restarts=0
stalls=0
last_progress=""
last_el=0
csv="$out/soak.csv"
{
    printf 'elapsed_s,target_rss_kb,endpoints_rss_kb,max_endpoint_rss_kb,nginx_workers_rss_kb,shm_objects,target_alive,forks,dlopens,threads,hung,crashed'
    for e in "${eps[@]}"; do printf ',%s_rss_kb' "$e"; done
    echo
} >"$csv"
t0=$(date +%s)
sample() {
    local el=$(($(date +%s) - t0)) alive=0 tr total=0 max=0 maxname="" i line ngx shm w
    stack_alive "$TARGET" && alive=1
    tr=$(rss_kb "$TARGET")
    line=""
    for i in "${!ep_pids[@]}"; do
        # shellcheck disable=SC2046
        w=$(sum_rss $(children "${ep_pids[$i]}"))
        line="$line,$w"
        total=$((total + w))
        if [ "$w" -gt "$max" ]; then max=$w; maxname=${eps[$i]}; fi
    done
    # shellcheck disable=SC2046
    ngx=$(sum_rss $(children "$STACK_NGINX_PID"))
    shm=$(find /dev/shm -mindepth 1 -maxdepth 1 | wc -l)
    echo "$el,$tr,$total,$max,$ngx,$shm,$alive,$(status_val forks),$(status_val dlopens),$(status_val threads),$(status_val hung),$(status_val crashed)$line" >>"$csv"
    echo "$maxname" >"$tmp/maxname"
    # A target whose counters stop moving is stuck: record every thread's
    # stack once (gdb), for the report.  It writes them once a second, so
    # a sample closer than 3 s to the one before (the last, taken as soon
    # as the load stops) cannot tell.
    local progress="$(status_val forks)/$(status_val dlopens)/$(status_val threads)"
    if [ "$alive" = 1 ] && [ "$progress" = "$last_progress" ] &&
        [ $((el - last_el)) -ge 3 ]; then
        stalls=$((stalls + 1))
        echo "$el the target made no progress since the last sample ($progress)" >>"$tmp/bad.log"
        if [ "$stalls" = 1 ] && command -v gdb >/dev/null; then
            timeout 60 gdb -p "$TARGET" -batch -ex 'thread apply all bt' \
                >"$out/soak-stall-gdb.txt" 2>&1
        fi
    fi
    last_progress=$progress
    last_el=$el
    if [ "$(worker_set)" != "$workers0" ]; then
        restarts=$((restarts + 1))
        for i in "${!ep_pids[@]}"; do
            w=$(children "${ep_pids[$i]}" | sort -n | tr '\n' ' ')
            [ "$w" = "${ep_workers[$i]}" ] ||
                echo "$el endpoint ${eps[$i]}: workers were ${ep_workers[$i]}now $w" >>"$tmp/bad.log"
            ep_workers[$i]=$w
        done
        workers0=$(worker_set)
    fi
    printf 'soak: %4ds target %6d kB alive=%d endpoints %6d kB nginx %5d kB shm %d forks %s hung %s\n' \
        "$el" "$tr" "$alive" "$total" "$ngx" "$shm" "$(status_val forks)" "$(status_val hung)" >&2
}

sample
while [ "$(date +%s)" -lt "$end" ]; do
    sleep "$sample_s"
    sample
    stack_alive "$TARGET" || break
done
touch "$tmp/stop"
target_alive_end=0
stack_alive "$TARGET" && target_alive_end=1
for p in $LOAD_PIDS; do wait "$p" 2>/dev/null; done
LOAD_PIDS=""
sample
# The target's own end: SIGTERM, its last line and exit status.
kill -TERM "$TARGET" 2>/dev/null
for ((i = 0; i < 300; i++)); do stack_alive "$TARGET" || break; sleep 0.1; done
if stack_alive "$TARGET"; then
    echo "the target did not end within 30 s of SIGTERM" >>"$tmp/bad.log"
    stalls=$((stalls + 1))
    kill -KILL "$TARGET" 2>/dev/null
fi
wait "$TARGET"
target_rc=$?
TARGET=""
final=$(grep -E '^forks=' "$STACK_RUNDIR/demo-$NAME.log" | tail -1)
# A target that had to be killed printed nothing: its last status file.
[ -n "$final" ] || final="$(cat "$tmp/status" 2>/dev/null) (last status, killed)"

# ---- report ---------------------------------------------------------------------
log="$STACK_RUNDIR/nginx-access.log"
codes=$(awk '{print $9}' "$log" | sort | uniq -c | sort -k2n | awk '{printf "| %s | %s |\n", $2, $1}')
total_req=$(wc -l <"$log")
n5xx=$(awk '$9 ~ /^5/' "$log" | wc -l)
n502=$(awk '$9 == 502' "$log" | wc -l)
by_path=$(awk '{p = $7; sub(/\?.*/, "", p); sub(/\/cpu_[0-9]+$/, "/ID", p); print p, $9}' "$log" |
    sort | uniq -c | sort -k2,2 -k3n | awk '{printf "| %s | %s | %s |\n", $2, $3, $1}')
client_timeouts=$(awk '$3 == "000"' "$clients" | wc -l)
slowest=$(sort -k4 -n -r "$clients" | head -1 | awk '{print $2, $4 " s"}')
sessions=$(wc -l <"$tmp/sessions.log" 2>/dev/null || echo 0)
sessions_ok=$(awk '$3 == "completed"' "$tmp/sessions.log" 2>/dev/null | wc -l)
hung=$(sed -n 's/.*hung=\([0-9]*\).*/\1/p' <<<"$final")
crashed=$(sed -n 's/.*crashed=\([0-9]*\).*/\1/p' <<<"$final")
failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$final")
ngx_crash=$(grep -c -E 'exited on signal|worker process [0-9]+ exited' "$STACK_RUNDIR/nginx-error.log" 2>/dev/null)
bad_dumps=$(grep -c 'bad dump' "$tmp/bad.log" 2>/dev/null)
wrk_line=$(grep -E 'requests in' "$tmp/wrk.log" | sed 's/^ *//')

verdict=PASS
reasons=""
fail() { verdict=FAIL; reasons="$reasons; $*"; }
[ "$target_alive_end" = 1 ] || fail "the target died"
[ "$target_rc" = 0 ] || fail "the target exited $target_rc"
[ "${hung:-x}" = 0 ] || fail "children hung: ${hung:-unknown}"
[ "${crashed:-x}" = 0 ] || fail "children crashed: ${crashed:-unknown}"
[ "${failed:-x}" = 0 ] || fail "failed forks/dlopens/threads: ${failed:-unknown}"
[ "$restarts" = 0 ] || fail "endpoint workers restarted ($restarts samples)"
[ "$n5xx" = 0 ] || fail "$n5xx responses 5xx ($n502 of them 502)"
[ "$stalls" = 0 ] || fail "the target stalled ($stalls samples without progress)"
[ "$client_timeouts" = 0 ] || fail "$client_timeouts requests timed out (60 s)"
[ "${ngx_crash:-0}" = 0 ] || fail "nginx workers exited"
[ "${bad_dumps:-0}" = 0 ] || fail "$bad_dumps thread dumps not answered"
[ "$sessions" -gt 0 ] && [ "$sessions_ok" = "$sessions" ] ||
    fail "CPU sessions completed: $sessions_ok of $sessions"

# RSS drift: from the first sample after a warm-up (the second) to the last.
drift() { # column
    awk -F, -v c="$1" 'NR == 3 {a = $c} NR > 1 {z = $c}
        END { if (a > 0) printf "%+d kB (%+.1f%%)", z - a, 100 * (z - a) / a; else print "n/a" }' "$csv"
}

md="$out/soak.md"
{
    echo "## Soak run: $(date -u +%Y-%m-%d), $minutes minutes"
    echo
    echo "Command: \`bench/soak.sh $minutes\`; $(nproc) cores; sample every ${sample_s} s."
    echo "Target at the end: \`${final:-no result line}\` (exit $target_rc)."
    echo "CPU sessions: $sessions_ok of $sessions completed (20 s each, back to back)."
    echo "wrk on the memory endpoint: ${wrk_line:-no summary}."
    echo "Slowest client request: ${slowest:-none}; client timeouts: $client_timeouts."
    echo
    echo "| time (s) | target RSS (kB) | endpoints RSS (kB) | largest endpoint (kB) | nginx workers RSS (kB) | /dev/shm | target alive | forks | dlopens | threads | hung |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F, 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11}' "$csv"
    echo
    echo "RSS from the second sample to the last: target $(drift 2), endpoints $(drift 3), nginx workers $(drift 5)."
    echo "Largest endpoint at the end: $(cat "$tmp/maxname")."
    echo
    echo "Requests served through nginx: $total_req."
    echo
    echo "| status | requests |"
    echo "|---|---|"
    echo "$codes"
    echo
    echo "| path | status | requests |"
    echo "|---|---|---|"
    echo "$by_path"
    echo
    echo "Crashes: target alive at the end $target_alive_end, children crashed ${crashed:-?}," \
        "endpoint worker restarts $restarts, nginx worker exits ${ngx_crash:-0}, 5xx $n5xx (502: $n502)."
    echo "Hangs: children hung ${hung:-?}, target stalls $stalls, client timeouts $client_timeouts, thread dumps unanswered ${bad_dumps:-0}."
    echo
    echo "Verdict: $verdict${reasons}"
} >"$md"
[ -s "$tmp/bad.log" ] && sed 's/^/    /' "$tmp/bad.log" | head -20 >>"$md"
[ -s "$tmp/bad.log" ] && cp "$tmp/bad.log" "$out/soak-problems.log"
cp "$clients" "$out/soak-clients.log"
cat "$md"
[ "$verdict" = PASS ]
