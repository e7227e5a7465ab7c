#!/usr/bin/env bash
# Integration: the requests that Parca and Grafana Alloy's pyroscope.scrape
# send to a host, replayed for three scrape intervals each, with the
# configuration docs/FLEET.md ships (fleet/parca.yaml.in,
# fleet/lynxprof.alloy.in), and what they get read by `go tool pprof`.
#
# What each scraper sends, from its sources (docs/FLEET.md cites them):
#   Parca (pkg/scrape): every interval, one GET per profile, User-Agent
#     "conprof/VERSION", no Accept header, Accept-Encoding: gzip (Go's
#     client), basic auth; `?seconds=<interval>` on the profiles marked
#     delta: /debug/pprof/profile (CPU), and in our parca.yaml allocs, block
#     and mutex; /debug/pprof/goroutine without parameters.
#   Alloy (pyroscope.scrape): User-Agent "Alloy/VERSION (linux; binary)",
#     the same headers otherwise; `?seconds=<interval - 1>` on CPU only;
#     allocs, block, mutex and goroutine cumulative, Alloy subtracting two
#     consecutive scrapes itself.
# The checks: every answer is a pprof that go tool pprof reads, carrying the
# host label; each CPU profile covers its interval (its duration is the one
# asked, and its CPU time is the CPU time the process used meanwhile); Parca's delta allocs, block and mutex profiles
# add up to the cumulative ones taken before and after; Alloy's cumulative
# profiles never go down from one scrape to the next (its delta would be
# wrong).  The target runs with LYNXPROF_LOCKS=always, as FLEET.md asks
# for Alloy's cumulative block and mutex profiles.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack lynx-demo 18480
# Four workers on two CPUs: the shared lock is contended.
STACK_DEMO_ARGS="--threads 4"
# Parca holds an endpoint process per delta profile for the whole interval
# (allocs, block, mutex), plus goroutine: four copies of each endpoint.
STACK_WORKERS=4
export LYNXPROF_HOST=replay-host LYNXPROF_LOCKS=always
I=${REPLAY_INTERVAL:-5} # scrape interval, s

cleanup() { stack_stop; [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"; }
trap cleanup EXIT

it_stack_start
D="$B/debug/pprof"
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"
mkdir -p "$PPROF_TMPDIR" "$T_TMP/p"
P="$T_TMP/p"

PARCA_UA="conprof/v0.24.2"
ALLOY_UA="Alloy/v1.11.0 (linux; binary)"
TICK=$(getconf CLK_TCK)

# The process's CPU time so far, in ns (utime + stime of /proc/PID/stat).
cpu_ns() {
    awk -v t="$TICK" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * (1000000000 / t) }' \
        "/proc/$STACK_DEMO_PID/stat"
}

# scrape UA URL FILE: one GET as the scrapers' Go client sends it (their
# User-Agent, no Accept, Accept-Encoding: gzip, basic auth); writes
# "STATUS START_NS END_NS CPU0_NS CPU1_NS" into FILE.meta.
scrape() {
    local t0 t1 c0 c1 code
    c0=$(cpu_ns)
    t0=$(date +%s%N)
    code=$(curl -s -o "$3" -w '%{http_code}' --max-time $((I + 20)) \
        -H "User-Agent: $1" -H "Accept:" -H "Accept-Encoding: gzip" \
        "${AUTH[@]}" "$2" 2>/dev/null) || code=000
    t1=$(date +%s%N)
    c1=$(cpu_ns)
    echo "$code $t0 $t1 $c0 $c1" >"$3.meta"
}

# totals FILE: "type=sum" per sample type of the profile (go tool pprof -raw).
totals() {
    timeout 60 go tool pprof -raw "$1" 2>/dev/null | awk '
        /^Samples:/ { s = 1; next }
        s == 1 { n = split($0, t, " "); for (i = 1; i <= n; i++) sub(/\/.*/, "", t[i]); s = 2; next }
        s == 2 && /^Locations/ { s = 0 }
        s == 2 && /^ *-?[0-9]+( +-?[0-9]+)*: / {
            sub(/:.*/, ""); for (i = 1; i <= NF; i++) v[i] += $i }
        END { for (i = 1; i <= n; i++) printf "%s=%.0f\n", t[i], v[i] }'
}
total_of() { totals "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# pprof_ok NAME FILE: served (200), gzipped, read by go tool pprof, and
# every sample labelled host=replay-host.
pprof_ok() {
    local meta code out
    meta=$(cat "$2.meta" 2>/dev/null)
    code=${meta%% *}
    out=$(timeout 60 go tool pprof -tags "$2" 2>&1)
    if [ "$code" != 200 ] || ! gzip -t "$2" 2>/dev/null; then
        t_fail "$1" "status $code" "body: $(head -c 300 "$2")"
    elif ! grep -q 'host: Total' <<<"$out" || ! grep -Eq '^ +[0-9.]+[a-zA-Z]* \( *100(\.0)?%\): replay-host$' <<<"$out"; then
        t_fail "$1" "not every sample has host=replay-host:" "$(head -20 <<<"$out")"
    else
        t_ok "$1"
    fi
}

# cpu_covers NAME FILE SECONDS: the CPU profile lasted SECONDS, its request
# at least as long, and it holds the CPU time the process used during the
# request (between 50 % and 110 %: sampling at 100 Hz per thread, and the
# agent's own work for concurrent scrapes counts in the process's time).
cpu_covers() {
    local code t0 t1 c0 c1 raw dur cpu used
    read -r code t0 t1 c0 c1 <"$2.meta"
    raw=$(timeout 60 go tool pprof -raw "$2" 2>/dev/null | head -8)
    dur=$(awk '/^Duration:/ { v = $2; sub(/s$/, "", v); print v }' <<<"$raw")
    cpu=$(total_of "$2" cpu)
    used=$((c1 - c0))
    if [ -z "$dur" ] || ! awk -v d="$dur" -v s="$3" 'BEGIN { exit !(d >= s - 0.2 && d <= s + 0.5) }'; then
        t_fail "$1" "duration '$dur', asked ${3}s" "$raw"
    elif [ "$((t1 - t0))" -lt "$(($3 * 1000000000))" ]; then
        t_fail "$1" "the request took $(((t1 - t0) / 1000000)) ms, less than the ${3}s profile"
    elif [ -z "$cpu" ] || ! awk -v c="$cpu" -v u="$used" 'BEGIN { exit !(u > 0 && c >= 0.5 * u && c <= 1.1 * u) }'; then
        t_fail "$1" "profile holds ${cpu:-?} ns of CPU; the process used $used ns during the request"
    else
        t_ok "$1 (${dur}s, $((cpu / 1000000)) ms of $((used / 1000000)) ms CPU)"
    fi
}

# intervals_ok SCRAPER SECONDS: each of the scraper's three intervals (its
# files $P/SCRAPER-KIND-N) served every profile, read by pprof with the host
# label, and a CPU profile of SECONDS.
intervals_ok() {
    local n k
    for n in 1 2 3; do
        for k in cpu allocs block mutex goroutine; do
            pprof_ok "$1 interval $n: $k served, read by pprof, host label on every sample" "$P/$1-$k-$n"
        done
        cpu_covers "$1 interval $n: CPU profile covers its ${2}s" "$P/$1-cpu-$n" "$2"
    done
}

sleep 2 # let the workers contend for a while

# ticker UA PREFIX URL [cumulative URL]: one profile's scrape loop, as
# each scraper runs one per profile and target: a scrape at each tick, I s
# apart, the next one at once when a scrape took longer (Go's time.Ticker).
# Files PREFIX-1..3; with a cumulative URL, also PREFIX-c0 right before the
# first and PREFIX-c1 right after the last (the reference, not a scraper's).
ticker() {
    local ua="$1" prefix="$2" url="$3" cumulative="${4:-}" n t0 left
    [ -n "$cumulative" ] && scrape "$ua" "$cumulative" "$prefix-c0"
    t0=$(date +%s%N)
    for n in 1 2 3; do
        left=$(((t0 + (n - 1) * I * 1000000000 - $(date +%s%N)) / 1000000))
        [ "$left" -gt 0 ] && sleep "$(awk -v m="$left" 'BEGIN { print m / 1000 }')"
        scrape "$ua" "$url" "$prefix-$n"
    done
    [ -n "$cumulative" ] && scrape "$ua" "$cumulative" "$prefix-c1"
    return 0
}

# ---- Parca: three intervals ------------------------------------------------------
# (wait for the scrapes by pid: the stack's processes are children too)
pids=()
ticker "$PARCA_UA" "$P/parca-cpu" "$D/profile?seconds=$I" & pids+=($!)
for k in allocs block mutex; do
    ticker "$PARCA_UA" "$P/parca-$k" "$D/$k?seconds=$I" "$D/$k" & pids+=($!)
done
ticker "$PARCA_UA" "$P/parca-goroutine" "$D/goroutine" & pids+=($!)
wait "${pids[@]}"

intervals_ok parca "$I"

# Three consecutive windows add up to what the cumulative profile gained
# over them, minus the moments between two requests (in the cumulative one
# only): the share of the gain the windows hold is at most 1 and within 0.12
# of the share of the time they cover (the demo's rate is steady), from the
# profiles' own times: time_nanos and duration_nanos.
prof_time() { # FILE: "start_ns duration_ns" of the profile
    timeout 60 go tool pprof -raw "$1" 2>/dev/null | awk '
        /^Time:/ { sub(/^Time: /, ""); sub(/ [A-Za-z]+$/, ""); t = $0 }
        /^Duration:/ { d = $2 }
        /^Samples:/ { exit }
        END { print t "|" d }' | {
        IFS='|' read -r t d
        d=${d%s}
        echo "$(date -d "$t" +%s%N) $(awk -v d="${d:-0}" 'BEGIN { printf "%.0f", d * 1e9 }')"
    }
}
adds_up() { # kind sample-type
    local c0 c1 d=0 n v t0 t1 start dur covered=0
    c0=$(total_of "$P/parca-$1-c0" "$2")
    c1=$(total_of "$P/parca-$1-c1" "$2")
    read -r t0 _ < <(prof_time "$P/parca-$1-c0")
    read -r t1 _ < <(prof_time "$P/parca-$1-c1")
    for n in 1 2 3; do
        v=$(total_of "$P/parca-$1-$n" "$2")
        d=$((d + ${v:-0}))
        read -r start dur < <(prof_time "$P/parca-$1-$n")
        covered=$((covered + dur))
    done
    if [ -z "$c0" ] || [ -z "$c1" ] || [ "$t1" -le "$t0" ]; then
        t_fail "parca: $1 deltas add up to the cumulative ($2)" "cumulative totals or times missing"
    elif awk -v d="$d" -v g="$((c1 - c0))" -v f="$(awk -v c="$covered" -v e="$((t1 - t0))" 'BEGIN { print c / e }')" \
            'BEGIN { exit !(g > 0 && d <= 1.01 * g && d / g >= f - 0.12) }'; then
        t_ok "parca: $1 deltas add up to the cumulative ($2: $d of $((c1 - c0)); windows cover $((covered / 1000000)) of $(((t1 - t0) / 1000000)) ms)"
    else
        t_fail "parca: $1 deltas add up to the cumulative ($2)" \
            "3 windows: $d; cumulative gained $((c1 - c0)) ($c0 -> $c1)" \
            "windows cover $((covered / 1000000)) of $(((t1 - t0) / 1000000)) ms"
    fi
}
adds_up allocs alloc_space
adds_up allocs alloc_objects
adds_up block delay
adds_up block contentions
adds_up mutex delay
adds_up mutex contentions

# ---- Alloy: three intervals ------------------------------------------------------
pids=()
ticker "$ALLOY_UA" "$P/alloy-cpu" "$D/profile?seconds=$((I - 1))" & pids+=($!)
for k in allocs block mutex goroutine; do
    ticker "$ALLOY_UA" "$P/alloy-$k" "$D/$k" & pids+=($!)
done
wait "${pids[@]}"
intervals_ok alloy "$((I - 1))"

# Alloy subtracts scrape n from scrape n+1 sample by sample: nothing in a
# cumulative profile may shrink (checked per function: pprof -diff_base
# -top), and the totals must grow.
never_down() { # kind sample-type
    local n neg a b
    for n in 1 2; do
        neg=$(timeout 60 go tool pprof -top -nodecount=1000000 -sample_index="$2" \
            -diff_base "$P/alloy-$1-$n" "$P/alloy-$1-$((n + 1))" 2>/dev/null |
            awk '/^ +flat +flat%/ { s = 1; next } s && $1 ~ /^-/ { c++ } END { print c + 0 }')
        a=$(total_of "$P/alloy-$1-$n" "$2")
        b=$(total_of "$P/alloy-$1-$((n + 1))" "$2")
        if [ "$neg" != 0 ] || [ -z "$a" ] || [ -z "$b" ] || [ "$b" -le "$a" ]; then
            t_fail "alloy: $1 scrape $((n + 1)) minus scrape $n is a valid delta ($2)" \
                "$neg functions went down; totals $a -> $b"
            return
        fi
    done
    t_ok "alloy: $1 cumulative profiles only grow, scrape to scrape ($2)"
}
never_down allocs alloc_space
never_down block delay
never_down mutex delay

# ---- both at once: one CPU profile at a time ----------------------------------------
# A second scraper asking for CPU while one profile runs gets 409 (as Go's
# net/http/pprof refuses a second CPU profile): one CPU scraper per host.
scrape "$PARCA_UA" "$D/profile?seconds=3" "$P/both-parca" &
first=$!
sleep 1
scrape "$ALLOY_UA" "$D/profile?seconds=2" "$P/both-alloy"
wait "$first"
t_check "two scrapers at once: the first CPU profile is served" \
    test "$(cut -d' ' -f1 "$P/both-parca.meta")" = 200
t_check "two scrapers at once: the second CPU profile is 409" \
    test "$(cut -d' ' -f1 "$P/both-alloy.meta")" = 409

t_summary
