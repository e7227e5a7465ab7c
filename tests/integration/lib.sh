# lynxprof integration tests: a tiny TAP-like harness (bash).  Each check
# prints "ok N - name" or "not ok N - name" with details; t_summary prints
# "N passed, N failed" and returns non-zero when something failed.

# Each test script runs with a /dev/shm of its own (see stack_private_shm),
# so the targets it sees are exactly the ones it starts.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/stack.sh"
stack_private_shm "$@"

T_PASS=0
T_FAIL=0
T_N=0
T_TMP=$(mktemp -d /tmp/lynxprof-it.XXXXXX)
chmod 0755 "$T_TMP"

t_ok() { T_N=$((T_N + 1)); T_PASS=$((T_PASS + 1)); echo "ok $T_N - $1"; }
t_fail() {
    T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1))
    echo "not ok $T_N - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
    return 0
}
t_check() { # name condition-command...
    local name="$1"; shift
    if "$@"; then t_ok "$name"; else t_fail "$name" "failed: $*"; fi
}
t_summary() {
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
}

# http METHOD URL [curl options...]: sets H_CODE, H_BODY (text), H_HEADERS.
http() {
    local method="$1" url="$2"; shift 2
    local how=(-X "$method")
    [ "$method" = HEAD ] && how=(-I)
    H_CODE=$(curl -s "${how[@]}" -o "$T_TMP/body" -D "$T_TMP/headers" \
        -w '%{http_code}' --max-time 30 "$@" "$url" 2>/dev/null) || H_CODE=000
    [ "$method" = HEAD ] && : >"$T_TMP/body"
    H_BODY=$(cat "$T_TMP/body" 2>/dev/null)
    H_HEADERS=$(tr -d '\r' <"$T_TMP/headers" 2>/dev/null)
}

# expect NAME STATUS JQ-FILTER METHOD URL [curl options...]: the status is
# STATUS and the body is JSON on which JQ-FILTER yields true.
expect() {
    local name="$1" status="$2" filter="$3"; shift 3
    http "$@"
    if [ "$H_CODE" != "$status" ]; then
        t_fail "$name" "status $H_CODE, expected $status" "body: ${H_BODY:0:300}"
        return
    fi
    if [ -n "$filter" ] && ! printf '%s' "$H_BODY" | jq -e "$filter" >/dev/null 2>&1; then
        t_fail "$name" "jq '$filter' not true" "body: ${H_BODY:0:300}"
        return
    fi
    t_ok "$name"
}

# text_pipe TEXT 'shell pipeline': true if the pipeline, fed TEXT on its
# standard input, succeeds (large texts never go through an argument list).
# (A here-string, not a pipe: under pipefail, a reader that stops early,
# like grep -q, would make the writer's SIGPIPE fail the check.)
text_pipe() { bash -c "$2" <<<"$1"; }

header_has() { grep -qi "$1" <<<"$H_HEADERS"; }

# ---- the stack most tests run (scripts/stack.sh) ---------------------------------

# it_stack DEMO_NAME PORT: scripts/stack.sh's settings for this source tree
# ($src): HTTP on PORT, TLS on PORT+363, the application upstream on
# PORT+1, a test user, the spool inside the run directory, and none of the
# caller's profiling settings.  Set STACK_RATE, STACK_DEMO_ARGS, ... after.
it_stack() {
    STACK_SRC="${src:?}"
    STACK_RUNDIR="$T_TMP/run"
    STACK_PORT=$2 STACK_TLS_PORT=$(($2 + 363)) STACK_APP_PORT=$(($2 + 1))
    STACK_USER=tester STACK_PASSWORD='s3cret-pw'
    STACK_DEMO_NAME=$1
    export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$STACK_RUNDIR/spool"
    unset SERVER_PRODUCTION MAX_PROFILE_DURATION PROFILE_CLEANUP_INTERVAL \
        LYNXPROF_TARGET LYNXPROF_RETENTION
}

# it_stack_start [CHECK-NAME]: start the stack, or report why it did not
# start and exit; then set the URLs the tests use: B, API, CPU, MEM and
# AUTH (curl's -u arguments).
it_stack_start() {
    if ! stack_start; then
        t_fail "stack starts" "$(tail -20 "$STACK_RUNDIR"/*.log 2>/dev/null)"
        t_summary
        exit 1
    fi
    t_ok "${1:-stack starts}"
    B="http://127.0.0.1:$STACK_PORT"
    AUTH=(-u "$STACK_USER:$STACK_PASSWORD")
    API="$B/api/v1/profiling"
    CPU="$API/cpu"
    MEM="$API/memory"
}

# jqr FILTER: jq -r FILTER over the last body http() read.
jqr() { printf '%s' "$H_BODY" | jq -r "$1"; }

# it_fetch_gz NAME URL FILE: GET URL (with AUTH) into FILE; a check that it
# answered 200 with a gzipped body (a pprof profile).
it_fetch_gz() {
    H_CODE=$(curl -s -o "$3" -w '%{http_code}' --max-time 30 "${AUTH[@]}" \
        "$2" 2>/dev/null) || H_CODE=000
    if [ "$H_CODE" = 200 ] && gzip -t "$3" 2>/dev/null; then
        t_ok "$1"
    else
        t_fail "$1" "status $H_CODE" "body: $(head -c 300 "$3" 2>/dev/null)"
    fi
}

# wait_done ID SECONDS: wait until CPU session ID is no longer running
# (GET $CPU/status/ID says done), at most SECONDS.  False on timeout.
wait_done() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        http GET "$CPU/status/$1" "${AUTH[@]}"
        [ "$H_CODE" = 200 ] && [ "$(jqr .done)" = true ] && return 0
        sleep 0.1
    done
    return 1
}
