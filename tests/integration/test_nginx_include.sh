#!/usr/bin/env bash
# Integration: the nginx integration as README and the snippets' header
# comments document it, on a stock Debian nginx layout.  The machine's own
# /etc/nginx (nginx.conf, mime.types, conf.d/, sites-enabled/ with Debian's
# default site, ...) is copied into a temporary prefix, only its absolute
# paths moved there; lynxprof is installed with `make install` into another
# prefix and linked in as the header comments say (lynxprof-http.conf into
# conf.d/, example-server.conf into sites-enabled/), next to an application
# server of the integrator's own that includes lynxprof-locations.conf.  Then
# real requests go through Debian's nginx to a small application and to the
# real FastCGI endpoints and agent:
#   - nginx -t passes, and fails without lynxprof-http.conf;
#   - the application is neither rate-limited nor capped at 1 MB;
#   - lynxprof's own locations still are (429, 413);
#   - every lynxprof answer over TLS carries Strict-Transport-Security;
#   - plain HTTP from another machine is redirected to HTTPS on lynxprof's
#     paths only; loopback keeps plain HTTP.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"

# A network namespace of our own: the installed example listens on its fixed
# ports (8080, 8443, 8081), and a veth pair gives the test a client address
# that is not loopback (see "another machine" below).
if [ -z "${LYNXPROF_NETNS:-}" ] && [ "$(id -u)" -eq 0 ]; then
    export LYNXPROF_NETNS=1
    exec unshare --net -- bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
. "$here/lib.sh"

STACK_SRC="$src"
STACK_USER=integrator STACK_PASSWORD='1ntegr4te-pw'
unset SERVER_PRODUCTION MAX_PROFILE_DURATION PROFILE_CLEANUP_INTERVAL LYNXPROF_TARGET
export PROFILING_ENABLED=true

inst="$T_TMP/inst"   # make install prefix=
root="$T_TMP/root"   # the copy of Debian's nginx layout
etc="$root/etc/nginx"
APP_PID="" NGINX_PID=""
cleanup() {
    stack_kill_pids $APP_PID $NGINX_PID
    stack_stop
    ip link del lynx0 2>/dev/null
    rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

# ---- lynxprof installed into a prefix, as a user would ----------------------------
if ! make -s -C "${STACK_BUILD:-$src/build}" install prefix="$inst" \
        >"$T_TMP/install.log" 2>&1; then
    t_fail "make install prefix=..." "$(tail -20 "$T_TMP/install.log")"
    t_summary
    exit 1
fi
chmod -R a+rX "$inst"
lconf="$inst/etc/lynxprof"
t_check "install puts lynxprof-http.conf beside the other snippets" \
    test -f "$lconf/lynxprof-http.conf" -a -f "$lconf/lynxprof-locations.conf" \
    -a -f "$lconf/example-server.conf" -a -f "$lconf/lynxprof-fastcgi.conf"
t_check "installed snippets have no placeholder left" \
    bash -c "! grep -n '@[A-Z_]*@' '$lconf'/*.conf"

# ---- Debian's nginx layout in a temporary prefix -------------------------------------
mkdir -p "$root/etc" "$root/var/log/nginx" "$root/run"
cp -a /etc/nginx "$root/etc/"
# Only absolute paths move; every directive stays Debian's.
sed -i -e "s|/etc/nginx/|$etc/|g" -e "s|/var/log/nginx/|$root/var/log/nginx/|g" \
    -e "s|/run/nginx.pid|$root/run/nginx.pid|g" "$etc/nginx.conf"
for f in "$etc"/sites-enabled/*; do
    [ -L "$f" ] && ln -sfn "$etc/sites-available/$(basename "$(readlink "$f")")" "$f"
done
t_check "the copy is Debian's: conf.d/ and sites-enabled/ read inside http {}" \
    bash -c "grep -q 'include $etc/conf.d/\*.conf;' '$etc/nginx.conf' &&
             grep -q 'include $etc/sites-enabled/\*;' '$etc/nginx.conf'"

# Login, certificate and spool where the installed snippets expect them.
stack_users
stack_credentials "$lconf"
run="$inst/var/run/lynxprof"
mkdir -p "$run"
chmod 0755 "$run"
export LYNXPROF_SPOOL_DIR="$run/spool"
stack_spool "$LYNXPROF_SPOOL_DIR"

ngx() { nginx -p "$root/" -e "$root/var/log/nginx/error.log" -c "$etc/nginx.conf" "$@"; }

# What the example's header says, step one: the example server alone.
ln -s "$lconf/example-server.conf" "$etc/sites-enabled/lynxprof"
out=$(ngx -t 2>&1)
t_check "without lynxprof-http.conf in http {}, nginx -t refuses (the names are missing)" \
    bash -c "! printf '%s' \"\$0\" | grep -q 'test is successful' &&
             printf '%s' \"\$0\" | grep -q lynxprof" "$out"
ln -s "$lconf/lynxprof-http.conf" "$etc/conf.d/"

# The integrator's own server on another address: plain HTTP and TLS in front
# of the same application, lynxprof included as lynxprof-locations.conf says.
# 10.200.0.1 is one end of a veth pair in this test's network namespace.
ip link add lynx0 type veth peer name lynx1
ip addr add 10.200.0.1/24 dev lynx0
ip addr add 10.200.0.2/24 dev lynx1
ip link set lynx0 up
ip link set lynx1 up
cat >"$etc/sites-available/myapp" <<EOF
server {
    listen 10.200.0.1:80;
    server_name myapp;
    include $lconf/lynxprof-locations.conf;
    location / {
        proxy_pass http://127.0.0.1:8081;
    }
}
server {
    listen 10.200.0.1:443 ssl;
    server_name myapp;
    ssl_certificate $lconf/tls.crt;
    ssl_certificate_key $lconf/tls.key;
    include $lconf/lynxprof-locations.conf;
    location / {
        proxy_pass http://127.0.0.1:8081;
    }
}
EOF
ln -s "$etc/sites-available/myapp" "$etc/sites-enabled/myapp"
out=$(ngx -t 2>&1)
t_check "nginx -t passes: Debian's nginx.conf + conf.d/lynxprof-http.conf + example + own server" \
    bash -c "printf '%s' \"\$0\" | grep -q 'test is successful'" "$out"
[ $T_FAIL -eq 0 ] || printf '#   %s\n' "$out"

# ---- the parts: endpoints, a target, an application, nginx ---------------------------------
STACK_RUNDIR="$run" STACK_BIN="$inst/libexec/lynxprof" STACK_AGENT="$inst/lib/libprofile-agent.so"
STACK_WORKERS=1 STACK_PIDS="" STACK_EP_PIDS=""
if ! stack_start_endpoints || ! stack_start_demo lynx-demo --threads 1; then
    t_fail "endpoints and target start" "$(tail -5 "$run"/*.log 2>/dev/null)"
    t_summary
    exit 1
fi
# The application: answers GET with its name, counts the bytes of a POST.
node -e '
require("http").createServer((q, r) => {
  let n = 0;
  q.on("data", (c) => { n += c.length; });
  q.on("end", () => {
    r.setHeader("Content-Type", "application/json");
    r.end(JSON.stringify({ app: "myapp", method: q.method, path: q.url, received: n }) + "\n");
  });
}).listen(8081, "127.0.0.1");
' >"$T_TMP/app.log" 2>&1 &
APP_PID=$!
: >"$root/var/log/nginx/error.log" # the failed nginx -t above wrote there
# exec: $! must be nginx's own pid (a backgrounded function runs in a
# subshell, whose nginx child would outlive the kill).
(exec nginx -p "$root/" -e "$root/var/log/nginx/error.log" \
    -c "$etc/nginx.conf" -g 'daemon off;') >"$T_TMP/nginx.out" 2>&1 &
NGINX_PID=$!
if ! stack_wait_http "http://127.0.0.1:8080/api/v1/profiling/memory" 401 10 ||
    ! stack_wait_http "http://127.0.0.1:8080/" 200 10; then
    t_fail "nginx and the application come up" "$(tail -5 "$root/var/log/nginx/error.log")"
    t_summary
    exit 1
fi
t_ok "Debian's nginx runs the configuration (daemon off, -e)"

B="http://127.0.0.1:8080"
S="https://127.0.0.1:8443"
AUTH=(-u "$STACK_USER:$STACK_PASSWORD")
expect "the application is reached through location /" 200 '.app == "myapp" and .path == "/hello"' \
    GET "$B/hello"
expect "the profiler is reached (memory of the target)" 200 '.target.name == "lynx-demo"' \
    GET "$B/api/v1/profiling/memory" "${AUTH[@]}"
expect "the page's API over TLS" 200 '.targets | length == 1' GET "$S/api/v1/profiling/targets" -k "${AUTH[@]}"

# ---- limits: the application's are its own, lynxprof's stay -------------------------------
# codes N URL [curl options]: the status of N quick requests on one
# connection, counted by status ("600 200").
codes() {
    local n="$1" url="$2" i args=()
    shift 2
    for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$url"); done
    curl -s -w '%{http_code}\n' "$@" "${args[@]}" | sort | uniq -c |
        awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}'
}
app_codes=$(codes 600 "$B/hello")
t_check "600 quick requests to the application: all 200, no 429 ($app_codes)" \
    test "$app_codes" = "600 200"
# The same burst at a lynxprof path from the same client is limited (this
# shows the burst above was quick enough to be limited had it been).
prof_codes=$(codes 600 "$B/api/v1/profiling/memory")
t_check "600 quick requests to lynxprof: its rate limit answers 429 ($prof_codes)" \
    bash -c "printf '%s' '$prof_codes' | grep -q ' 429'"
sleep 3 # the bucket refills (burst 100 at 50 r/s)

head -c 2097152 /dev/urandom >"$T_TMP/2mb"
expect "a 2 MB upload reaches the application whole (no 413)" 200 '.received == 2097152' \
    POST "$B/upload" --data-binary "@$T_TMP/2mb" -H 'Content-Type: application/octet-stream'
http POST "$B/debug/pprof/symbol" "${AUTH[@]}" --data-binary "@$T_TMP/2mb"
t_check "a 2 MB body to lynxprof is refused by its own limit (413)" test "$H_CODE" = 413
http POST "$S/debug/pprof/symbol" -k "${AUTH[@]}" --data-binary "@$T_TMP/2mb"
t_check "... with HSTS over TLS" bash -c "[ '$H_CODE' = 413 ] && printf '%s' \"\$0\" | grep -qi '^Strict-Transport-Security: max-age='" "$H_HEADERS"
expect "a small symbol request still passes" 200 '' POST "$B/debug/pprof/symbol" "${AUTH[@]}" --data '0x1'

# ---- HSTS on every lynxprof answer over TLS --------------------------------------------
hsts_case() { # name expected-status url [curl options]
    local name="$1" status="$2" url="$3"
    shift 3
    http GET "$url" -k "$@"
    if [ "$H_CODE" != "$status" ]; then
        t_fail "HSTS: $name" "status $H_CODE, expected $status"
    elif ! header_has '^Strict-Transport-Security: max-age=31536000$'; then
        t_fail "HSTS: $name" "no Strict-Transport-Security" "$H_HEADERS"
    elif [ "$(printf '%s\n' "$H_HEADERS" | grep -ci '^Strict-Transport-Security')" != 1 ]; then
        t_fail "HSTS: $name" "the header twice" "$H_HEADERS"
    else
        t_ok "HSTS: $name"
    fi
}
for base in "$S" "https://10.200.0.1"; do
    hsts_case "$base API 401" 401 "$base/api/v1/profiling/memory"
    hsts_case "$base API 200" 200 "$base/api/v1/profiling/memory" "${AUTH[@]}"
    hsts_case "$base API unknown path 404" 404 "$base/api/v1/profiling/nope" "${AUTH[@]}"
    hsts_case "$base pprof 401" 401 "$base/debug/pprof/"
    hsts_case "$base pprof index 200" 200 "$base/debug/pprof/" "${AUTH[@]}"
    hsts_case "$base metrics 401" 401 "$base/metrics"
    hsts_case "$base metrics 200" 200 "$base/metrics" "${AUTH[@]}"
    hsts_case "$base page 401" 401 "$base/profiling/"
    hsts_case "$base page 200 (static file)" 200 "$base/profiling/" "${AUTH[@]}"
done
http GET "$S/api/v1/profiling/memory" -k "${AUTH[@]}"
t_check "TLS answers keep their other headers (Cache-Control)" header_has '^Cache-Control: no-store'
http GET "$B/api/v1/profiling/memory" "${AUTH[@]}"
t_check "plain HTTP on loopback: no HSTS header" bash -c "! printf '%s' \"\$0\" | grep -qi '^Strict-Transport-Security'" "$H_HEADERS"

# ---- plain HTTP from another machine: lynxprof's paths go to HTTPS ------------------------------
# curl binds its connection to 10.200.0.2 (the other end of the veth pair),
# so nginx sees a client address outside 127.0.0.0/8 and ::1, as it would
# for another machine.  Loopback clients above kept plain HTTP.
R=(--interface 10.200.0.2)
for p in "/api/v1/profiling/memory" "/api/v1/profiling/cpu/start?duration=5s" \
    "/debug/pprof/profile?seconds=1" "/metrics" "/profiling/" "/profiling"; do
    http GET "http://10.200.0.1$p" "${R[@]}"
    t_check "another machine, plain HTTP $p: 308 to https, before any password" \
        bash -c "[ '$H_CODE' = 308 ] && printf '%s' \"\$0\" | grep -qxF 'Location: https://10.200.0.1$p'" "$H_HEADERS"
done
http POST "http://10.200.0.1/api/v1/profiling/cpu/stop/cpu_1" "${R[@]}" "${AUTH[@]}"
t_check "another machine, plain HTTP POST: 308 (the method is kept), not served" test "$H_CODE" = 308
expect "another machine, plain HTTP: the application is not redirected" 200 '.app == "myapp"' \
    GET "http://10.200.0.1/hello" "${R[@]}"
t_check "nginx saw the client as 10.200.0.2" \
    bash -c "grep -q '^10.200.0.2 .*\"GET /hello ' '$root/var/log/nginx/access.log'"
expect "another machine, following the redirect over TLS: served" 200 '.target.name == "lynx-demo"' \
    GET "http://10.200.0.1/api/v1/profiling/memory" --location-trusted -k "${R[@]}" "${AUTH[@]}"
expect "another machine over TLS: the application too" 200 '.app == "myapp"' \
    GET "https://10.200.0.1/hello" -k "${R[@]}"

t_check "nginx logged no error" \
    bash -c "! grep -E '\[(emerg|alert|crit)\]' '$root/var/log/nginx/error.log'"
t_summary
