#!/usr/bin/env bash
# Integration: a target whose program (mode 0711) and preloaded agent
# library (0711 too) the endpoints' user cannot read.  Its frames stay
# unsymbolized, and every form of its profiles says so, naming the file,
# the reason and the user: the pprof comments (`go tool pprof -comments`),
# the thread dump texts (goroutine?debug=1 and debug=2), the flame JSON,
# and a CPU session's download and flame.  The readable demo beside it is
# symbolized and carries no such note.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18380

cleanup() { stack_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"; }
trap cleanup EXIT

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
    t_summary
    exit 1
fi
it_stack_start

# The second target: copies of the demo and of the agent, mode 0711.
SECRET=secret-demo
SBIN="$T_TMP/secret"
t_check "the 0711 target starts" stack_start_unreadable_demo "$SECRET" "$SBIN" --threads 1
t_check "the endpoints' user cannot read its program" \
    bash -c "! setpriv --reuid=$STACK_FCGI_USER --regid=$STACK_FCGI_USER --clear-groups cat '$SBIN/lynx-demo' >/dev/null 2>&1"

D="$B/debug/pprof"
CPU="$B/api/v1/profiling/cpu"
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"
mkdir -p "$PPROF_TMPDIR"

PROG_NOTE="no symbols for $SBIN/lynx-demo: not readable by user $STACK_FCGI_USER"
AGENT_NOTE="no symbols for $SBIN/libprofile-agent.so: not readable by user $STACK_FCGI_USER"

# fetch NAME URL FILE: 200 and a gzipped body saved in FILE.
fetch() {
    http GET "$2" "${AUTH[@]}"
    cp "$T_TMP/body" "$3"
    if [ "$H_CODE" = 200 ] && gzip -t "$3" 2>/dev/null; then
        t_ok "$1"
    else
        t_fail "$1" "status $H_CODE" "body: ${H_BODY:0:300}"
    fi
}

# comments_have NAME FILE TEXT: `go tool pprof -comments FILE` prints TEXT.
comments_have() {
    local out
    out=$(timeout 60 go tool pprof -comments "$2" 2>&1)
    if grep -qF -- "$3" <<<"$out"; then
        t_ok "$1"
    else
        t_fail "$1" "missing: $3" "pprof -comments: ${out:0:400}"
    fi
}

text_has() { # NAME TEXT NEEDLE
    if grep -qF -- "$3" <<<"$2"; then
        t_ok "$1"
    else
        t_fail "$1" "missing: $3" "text: ${2:0:400}"
    fi
}

# ---- thread profile (goroutine) -------------------------------------------
fetch "goroutine of the 0711 target" "$D/goroutine?target=$SECRET" "$T_TMP/g.pb.gz"
comments_have "pprof -comments: the program is not readable" "$T_TMP/g.pb.gz" "$PROG_NOTE"
comments_have "pprof -comments: the preloaded agent is not readable" "$T_TMP/g.pb.gz" "$AGENT_NOTE"

http GET "$D/goroutine?target=$SECRET&debug=1" "${AUTH[@]}"
text_has "goroutine?debug=1 says why" "$H_BODY" "# $PROG_NOTE"
http GET "$D/goroutine?target=$SECRET&debug=2" "${AUTH[@]}"
text_has "goroutine?debug=2: its frames are bare (lynx-demo+0x...)" "$H_BODY" "lynx-demo+0x"
text_has "goroutine?debug=2 says why (program)" "$H_BODY" "# $PROG_NOTE"
text_has "goroutine?debug=2 says why (agent)" "$H_BODY" "# $AGENT_NOTE"

expect "flame JSON names the module, the reason and the user" 200 \
    "([.unsymbolized[] | select(.path == \"$SBIN/lynx-demo\" and
        .reason == \"not readable by user $STACK_FCGI_USER\" and
        .message == \"$PROG_NOTE\")] | length == 1)
     and ([.functions[] | select(startswith(\"lynx-demo+0x\"))] | length > 0)" \
    GET "$B/api/v1/profiling/flame?type=goroutine&target=$SECRET" "${AUTH[@]}"

# ---- the readable demo: symbolized, no note -----------------------------------
fetch "goroutine of the readable demo" "$D/goroutine?target=$STACK_DEMO_NAME" "$T_TMP/ok.pb.gz"
out=$(timeout 60 go tool pprof -comments "$T_TMP/ok.pb.gz" 2>&1)
t_check "readable demo: no note for its program" \
    bash -c "! printf '%s\n' \"\$1\" | grep -q 'no symbols for .*lynx-demo'" _ "$out"
out=$(timeout 60 go tool pprof -symbolize=none -traces "$T_TMP/ok.pb.gz" 2>&1)
text_has "readable demo: demo_worker is symbolized" "$out" "demo_worker"
expect "readable demo: flame JSON has no unsymbolized program" 200 \
    '[.unsymbolized[] | select(.path | endswith("/lynx-demo"))] | length == 0' \
    GET "$B/api/v1/profiling/flame?type=goroutine&target=$STACK_DEMO_NAME" "${AUTH[@]}"

# ---- a CPU session of the 0711 target ----------------------------------------
expect "cpu/start on the 0711 target" 200 '.status == "started"' \
    GET "$CPU/start?target=$SECRET&duration=1s" "${AUTH[@]}"
id=$(jqr .session_id)
for ((i = 0; i < 100; i++)); do
    http GET "$CPU/status/$id" "${AUTH[@]}"
    [ "$(jqr .done)" = true ] && break
    sleep 0.1
done
t_check "the session finishes" test "$(jqr .done)" = true
t_check "the session has samples" test "$(jqr .samples)" -gt 0
fetch "cpu download" "$CPU/download/$id" "$T_TMP/cpu.pb.gz"
comments_have "cpu profile: pprof -comments says why" "$T_TMP/cpu.pb.gz" "$PROG_NOTE"
expect "cpu flame JSON (from the spool) says why" 200 \
    "[.unsymbolized[] | select(.path == \"$SBIN/lynx-demo\" and
        .reason == \"not readable by user $STACK_FCGI_USER\")] | length == 1" \
    GET "$CPU/flame/$id" "${AUTH[@]}"

t_summary
