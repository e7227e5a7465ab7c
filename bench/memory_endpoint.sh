#!/usr/bin/env bash
# Benchmark: requests per second and latency percentiles of
# GET /api/v1/profiling/memory through nginx (auth, FastCGI, libprofile,
# then the agent's snapshot, or with ?max_age=0 the mailbox round trip into
# the demo's agent), beside nginx serving a static file of the same size
# with the same authentication, in the same run.
#   bench/memory_endpoint.sh [seconds] [connections]
# BENCH_DEMO_ARGS: the demo's arguments (default a light target,
# "--threads 1 --intensity 20"; "--threads 2" is the demo as
# scripts/run.sh runs it, busy on both cores).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
secs="${1:-10}"
conns="${2:-16}"
. "$src/scripts/stack.sh"
stack_private_shm "$@"

tmp=$(mktemp -d /tmp/lynxprof-bench.XXXXXX)
chmod 0755 "$tmp"
STACK_SRC="$src" STACK_RUNDIR="$tmp/run"
STACK_PORT=28080 STACK_TLS_PORT=28443 STACK_APP_PORT=28081
STACK_USER=bench STACK_PASSWORD=bench-pw STACK_RATE=1000000r/s
STACK_DEMO_ARGS="${BENCH_DEMO_ARGS:---threads 1 --intensity 20}"
export PROFILING_ENABLED=true LYNXPROF_SPOOL_DIR="$tmp/run/spool"
trap 'stack_stop; rm -rf "$tmp"' EXIT
stack_start

url="http://127.0.0.1:$STACK_PORT/api/v1/profiling/memory"
size=$(curl -s -u bench:bench-pw "$url" | wc -c)
mkdir -p "$tmp/static"
head -c "$size" /dev/zero | tr '\0' 'x' >"$tmp/static/same-size.json"
chmod -R a+rX "$tmp/static"
cat >"$tmp/run/conf/extra/static.conf" <<CONF
server {
    listen 127.0.0.1:28090;
    location / {
        auth_basic "bench";
        auth_basic_user_file $tmp/run/conf/htpasswd;
        root $tmp/static;
        add_header Cache-Control "no-store";
    }
}
# The same two without authentication: what the endpoint itself costs.
server {
    listen 127.0.0.1:28091;
    location = /api/v1/profiling/memory {
        include $tmp/run/conf/lynxprof-fastcgi.conf;
        fastcgi_pass unix:$tmp/run/memory.sock;
    }
    location / {
        root $tmp/static;
        add_header Cache-Control "no-store";
    }
}
CONF
kill -HUP "$STACK_NGINX_PID"
stack_wait_http "http://127.0.0.1:28090/same-size.json" 401 10

auth="Authorization: Basic $(printf 'bench:bench-pw' | base64)"
run_wrk() { # label url
    local out
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -H "$auth" "$2")
    local rps p50 p90 p99 errs
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p90=$(awk '$1 == "90%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '| %-34s | %10s | %8s | %8s | %8s | %6s |\n' "$1" "$rps" "$p50" "$p90" "$p99" "${errs:-0}"
    echo "$rps" >"$tmp/rps-$3"
}
echo "memory endpoint vs static file of the same size ($size bytes), wrk -t2 -c$conns -d${secs}s, $(nproc) cores"
echo
echo "| what | requests/s | p50 | p90 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
run_wrk "static file, auth_basic (bcrypt)" "http://127.0.0.1:28090/same-size.json" static
run_wrk "memory endpoint, auth_basic (bcrypt)" "$url" memory
run_wrk "static file, no auth" "http://127.0.0.1:28091/same-size.json" static-noauth
run_wrk "memory endpoint, no auth" "http://127.0.0.1:28091/api/v1/profiling/memory" memory-noauth
run_wrk "memory, no auth, max_age=0 (asks)" "http://127.0.0.1:28091/api/v1/profiling/memory?max_age=0" memory-asks
echo
ratio() { awk -v s="$(cat "$tmp/rps-$1")" -v m="$(cat "$tmp/rps-$2")" 'BEGIN { printf "%.3f", m / s }'; }
echo "ratio memory/static with auth: $(ratio static memory)"
echo "ratio memory/static without auth: $(ratio static-noauth memory-noauth)"
echo "ratio memory max_age=0/static without auth: $(ratio static-noauth memory-asks)"
