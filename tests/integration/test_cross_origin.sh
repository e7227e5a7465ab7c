#!/usr/bin/env bash
# Integration: the endpoints that act (CPU start, stop, delete, and Go's
# synchronous /debug/pprof/profile) refuse what a browser sends from another
# origin (403 JSON), stop and delete refuse GET and HEAD (405 JSON with
# Allow), and clients that are not browsers (no Sec-Fetch-Site, no Origin)
# and the server's own pages keep working.  Each refusal is checked to have
# changed nothing.  The same in real Chromium: tests/browser/cross-origin.test.mjs.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack xo-demo 18280

cleanup() { stack_stop; rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start

S="https://127.0.0.1:$STACK_TLS_PORT"
CPU="$B/api/v1/profiling/cpu"
TG="target=$STACK_DEMO_NAME"
OTHER=(-H "Origin: http://127.0.0.1:19999")
SAME=(-H "Origin: $B" -H 'Sec-Fetch-Site: same-origin')
nsessions() { curl -s "${AUTH[@]}" "$CPU/sessions?$TG" | jq '.sessions | length'; }
running() { curl -s "${AUTH[@]}" "$CPU/sessions?$TG" | jq '[.sessions[] | select(.status == "running")] | length'; }

# ---- start: GET stays for scripts, browsers from elsewhere get 403 ----------------------------
n0=$(nsessions)
for h in 'Sec-Fetch-Site: cross-site' 'Sec-Fetch-Site: same-site' 'Origin: http://evil.example' \
    'Origin: null' "Origin: https://127.0.0.1:$STACK_PORT"; do
    expect "start GET with '$h': 403" 403 '.error | test("^cross-origin request refused")' \
        GET "$CPU/start?duration=60s&$TG" "${AUTH[@]}" -H "$h"
done
expect "start POST with only an Origin from elsewhere (an older browser): 403" 403 \
    '.error == "cross-origin request refused (Origin: http://127.0.0.1:19999)"' \
    POST "$CPU/start?duration=60s&$TG" "${AUTH[@]}" "${OTHER[@]}"
expect "synchronous /debug/pprof/profile from another site: 403" 403 '.error' \
    GET "$B/debug/pprof/profile?seconds=60&$TG" "${AUTH[@]}" -H 'Sec-Fetch-Site: cross-site'
t_check "the refused starts started nothing" test "$(nsessions)" = "$n0" -a "$(running)" = 0
expect "without the password, cross-site: 401 (the password is checked first)" 401 '.error' \
    GET "$CPU/start?duration=60s&$TG" -H 'Sec-Fetch-Site: cross-site'

# The user's own navigation (address bar) and the server's own page.
expect "start GET typed in the address bar (Sec-Fetch-Site: none): 200" 200 '.status == "started"' \
    GET "$CPU/start?duration=60s&$TG" "${AUTH[@]}" -H 'Sec-Fetch-Site: none'
id=$(printf '%s' "$H_BODY" | jq -r .session_id)

# ---- stop: POST only, and not from elsewhere -----------------------------------------------------
expect "stop GET: 405" 405 '.error == "method GET not allowed"' GET "$CPU/stop/$id" "${AUTH[@]}"
t_check "stop 405 says Allow: POST" header_has '^Allow: POST$'
expect "stop HEAD: 405" 405 '' HEAD "$CPU/stop/$id" "${AUTH[@]}"
expect "stop DELETE: 405" 405 '.error' DELETE "$CPU/stop/$id" "${AUTH[@]}"
expect "stop POST from another origin: 403" 403 '.error | test("cross-origin")' \
    POST "$CPU/stop/$id" "${AUTH[@]}" "${OTHER[@]}"
expect "stop POST with Sec-Fetch-Site: cross-site: 403" 403 '.error | test("cross-site")' \
    POST "$CPU/stop/$id" "${AUTH[@]}" -H 'Sec-Fetch-Site: cross-site'
expect "the session still runs" 200 '.status == "running"' GET "$CPU/status/$id" "${AUTH[@]}"
expect "start while it runs, from the page (same origin): 409" 409 '.session_id' \
    POST "$CPU/start?duration=5s&$TG" "${AUTH[@]}" "${SAME[@]}"
expect "stop POST from the page (same origin): 200" 200 '.status == "cancelled"' \
    POST "$CPU/stop/$id" "${AUTH[@]}" "${SAME[@]}"

# ---- delete: POST or DELETE only, and not from elsewhere ---------------------------------------------
for u in "$CPU/sessions/$id" "$CPU/delete/$id"; do
    expect "delete GET ${u#$CPU}: 405" 405 '.error == "method GET not allowed"' GET "$u" "${AUTH[@]}"
    t_check "delete 405 says Allow: POST, DELETE" header_has '^Allow: POST, DELETE$'
done
expect "delete DELETE from another origin: 403" 403 '.error | test("cross-origin")' \
    DELETE "$CPU/sessions/$id" "${AUTH[@]}" "${OTHER[@]}"
expect "delete POST from another site: 403" 403 '.error | test("cross-site")' \
    POST "$CPU/delete/$id" "${AUTH[@]}" -H 'Sec-Fetch-Site: cross-site'
expect "the session is still there" 200 '.status == "cancelled"' GET "$CPU/status/$id" "${AUTH[@]}"

# ---- over TLS the origin is https://host:port ------------------------------------------------------------
expect "TLS: delete from the page's own https origin: 200" 200 '.status == "deleted"' \
    DELETE "$S/api/v1/profiling/cpu/sessions/$id" -k "${AUTH[@]}" \
    -H "Origin: $S" -H 'Sec-Fetch-Site: same-origin'
expect "TLS: start from the http origin of the same host: 403" 403 '.error' \
    POST "$S/api/v1/profiling/cpu/start?duration=5s&$TG" -k "${AUTH[@]}" -H "Origin: $B"

# ---- curl, scripts and the endpoints that do not act are unchanged ------------------------------------------
expect "reading from another origin still works (status, GET)" 404 '.error == "Profile session not found"' \
    GET "$CPU/status/$id" "${AUTH[@]}" -H 'Sec-Fetch-Site: cross-site'
expect "plain curl: start" 200 '.status == "started"' GET "$CPU/start?duration=5s&$TG" "${AUTH[@]}"
id=$(printf '%s' "$H_BODY" | jq -r .session_id)
expect "plain curl: stop" 200 '.status == "cancelled"' POST "$CPU/stop/$id" "${AUTH[@]}"
expect "plain curl: delete" 200 '.status == "deleted"' DELETE "$CPU/sessions/$id" "${AUTH[@]}"
t_summary
