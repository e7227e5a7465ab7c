#!/usr/bin/env bash
# Integration: /metrics through nginx in the Prometheus text format, checked
# by promtool and scraped by a real Prometheus (Debian package) with
# basic_auth every second; a value is queried back through its HTTP API.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18380
PROM_PORT=18390
PROM_PID=""

cleanup() {
    [ -n "$PROM_PID" ] && stack_kill_pids "$PROM_PID"
    stack_stop
    rm -rf "$T_TMP"
}
trap cleanup EXIT

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    t_fail "prometheus and promtool installed (Debian package prometheus)"
    t_summary
    exit 1
fi
it_stack_start


# ---- the exposition ------------------------------------------------------------
expect "metrics: 401 without credentials" 401 '.error' GET "$B/metrics"
http GET "$B/metrics" "${AUTH[@]}"
t_check "metrics: 200" test "$H_CODE" = 200
t_check "metrics: text format 0.0.4" header_has '^Content-Type: text/plain; version=0.0.4'
printf '%s\n' "$H_BODY" >"$T_TMP/metrics.txt"
lint=$(promtool check metrics <"$T_TMP/metrics.txt" 2>&1)
t_check "metrics: promtool check metrics finds nothing" test -z "$lint"
[ -n "$lint" ] && printf '#   %s\n' "$lint" | head -10
m() { grep -E "^$1\{target=\"lynx-demo\"\} " "$T_TMP/metrics.txt" | awk '{print $2}'; }
t_check "metrics: HELP and TYPE lines" \
  grep -q '^# TYPE lynxprof_process_resident_memory_bytes gauge$' "$T_TMP/metrics.txt"
t_check "metrics: target up" test "$(m lynxprof_target_up)" = 1
t_check "metrics: threads of the demo" \
  test "$(m lynxprof_process_threads)" = "$(ls /proc/$STACK_DEMO_PID/task | wc -l)"
rss=$(m lynxprof_process_resident_memory_bytes)
t_check "metrics: resident bytes ($rss) > 1 MB" awk -v v="$rss" 'BEGIN{exit !(v > 1000000)}'
t_check "metrics: heap in use" awk -v v="$(m lynxprof_heap_in_use_bytes)" 'BEGIN{exit !(v > 0)}'
t_check "metrics: counters end in _total" \
  grep -q '^# TYPE lynxprof_process_cpu_user_seconds_total counter$' "$T_TMP/metrics.txt"
t_check "metrics: CPU profile not running" test "$(m lynxprof_cpu_profile_running)" = 0
t_check "metrics: block contention counted" awk -v v="$(m lynxprof_block_contentions_total)" 'BEGIN{exit !(v >= 0)}'
t_check "metrics: threads created" awk -v v="$(m lynxprof_threads_created_total)" 'BEGIN{exit !(v >= 3)}'
# The agent's defaults: no exact allocation counters (test_heap.sh turns
# them on and finds them here).
t_check "metrics: no allocator counters at the agent's defaults" \
  bash -c "! grep -q '^lynxprof_alloc_' '$T_TMP/metrics.txt' && curl -s ${AUTH[*]@Q} '$B/api/v1/profiling/memory' | jq -e '.allocations == null' >/dev/null"

# ---- a real Prometheus scrapes it ------------------------------------------------------
mkdir -p "$T_TMP/prom/data"
printf '%s' "$STACK_PASSWORD" >"$T_TMP/prom/password"
cat >"$T_TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: lynxprof
    metrics_path: /metrics
    basic_auth:
      username: $STACK_USER
      password_file: $T_TMP/prom/password
    static_configs:
      - targets: ["127.0.0.1:$STACK_PORT"]
EOF
t_check "promtool check config" promtool check config "$T_TMP/prom/prometheus.yml"
prometheus --config.file="$T_TMP/prom/prometheus.yml" \
    --storage.tsdb.path="$T_TMP/prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    >"$T_TMP/prom/log" 2>&1 &
PROM_PID=$!
P="http://127.0.0.1:$PROM_PORT"
q() { curl -s --max-time 5 "$P/api/v1/query" --data-urlencode "query=$1"; }
got=""
for ((i = 0; i < 60; i++)); do
    got=$(q 'lynxprof_process_threads{target="lynx-demo"}' |
          jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
    [ -n "$got" ] && break
    sleep 0.5
done
t_check "prometheus scraped /metrics through nginx with basic_auth" test -n "$got"
[ -z "$got" ] && tail -5 "$T_TMP/prom/log" | sed 's/^/#   /'
t_check "prometheus: thread count matches ($got)" \
  test "$got" = "$(ls /proc/$STACK_DEMO_PID/task | wc -l)"
health=$(curl -s "$P/api/v1/targets" | jq -r '.data.activeTargets[0].health' 2>/dev/null)
t_check "prometheus: scrape target healthy" test "$health" = up
up=$(q 'lynxprof_target_up{target="lynx-demo"}' | jq -r '.data.result[0].value[1] // empty')
t_check "prometheus: lynxprof_target_up = 1" test "$up" = 1
rate=$(q 'rate(lynxprof_process_cpu_user_seconds_total{target="lynx-demo"}[5s])' |
       jq -r '.data.result | length')
t_check "prometheus: a counter is usable with rate()" test "${rate:-0}" -ge 0

t_summary
