# Sourced by benchmarks: run commands in interleaved rounds and compare them
# with the first by paired ratios.
#
#   interleave ROUNDS "name|command" "name|command" ...
#
# Each round runs every command once, in order, so that a slow spell of a
# shared machine touches all of them alike.  Per command it prints the
# median wall time, the median CPU time (user + system: perf stat's
# task-clock, to the microsecond, where perf is there; else /usr/bin/time's,
# to 10 ms), and the median and
# interquartile range of the per-round ratios of its wall and CPU times to
# the first command's in the same round.  A markdown table on stdout.
# INTERLEAVE_OUT=DIR keeps each command's per-round "wall cpu" lines in
# DIR/0, DIR/1, ... for other pairings (paired_ratio below).
# One run of command $2: "wall cpu" seconds appended to file $1; its
# stderr to aux.err beside it.  Non-zero when the command failed.
interleave_measure() {
    local out="$1" cmd="$2" aux="${1%/*}/aux" t0 t1
    if command -v perf >/dev/null; then
        t0=$(date +%s.%N)
        perf stat -x, -e task-clock -o "$aux.ps" bash -c "$cmd" \
            >/dev/null 2>"$aux.err" || return 1
        t1=$(date +%s.%N)
        awk -F, -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
            '$3 == "task-clock" { printf "%.4f %.4f\n", w, $1 / 1000 }' \
            "$aux.ps" >>"$out"
    else
        /usr/bin/time -o "$aux.t" -f '%e %U %S' bash -c "$cmd" \
            >/dev/null 2>"$aux.err" || return 1
        awk '{ print $1, $2 + $3 }' "$aux.t" >>"$out"
    fi
}

interleave() {
    local rounds="$1"; shift
    local tmp r i c name cmd
    tmp=$(mktemp -d /tmp/lynxprof-interleave.XXXXXX)
    for ((r = 0; r < rounds; r++)); do
        i=0
        for c in "$@"; do
            cmd="${c#*|}"
            if ! interleave_measure "$tmp/$i" "$cmd"; then
                echo "interleave: failed: $cmd" >&2
                tail -3 "$tmp/aux.err" >&2
                echo "nan nan" >>"$tmp/$i"
            fi
            i=$((i + 1))
        done
    done
    echo "| configuration | median wall s | median CPU s | wall ratio (IQR) | CPU ratio (IQR) |"
    echo "|---|---:|---:|---:|---:|"
    i=0
    for c in "$@"; do
        name="${c%%|*}"
        paste -d' ' "$tmp/0" "$tmp/$i" | awk -v name="$name" '
            function med(a, n,   k, t, j) {
                for (k = 1; k <= n; k++)
                    for (j = k + 1; j <= n; j++)
                        if (a[j] < a[k]) { t = a[k]; a[k] = a[j]; a[j] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            }
            function q(a, n, p,   x, k) {
                x = 1 + p * (n - 1); k = int(x)
                return k >= n ? a[n] : a[k] + (a[k + 1] - a[k]) * (x - k)
            }
            { n++; w[n] = $3; c[n] = $4; rw[n] = $3 / $1; rc[n] = $4 / $2 }
            END {
                mw = med(w, n); mc = med(c, n)
                mrw = med(rw, n); mrc = med(rc, n)
                printf "| %s | %.3f | %.3f | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) |\n",
                    name, mw, mc, mrw, q(rw, n, 0.25), q(rw, n, 0.75),
                    mrc, q(rc, n, 0.25), q(rc, n, 0.75)
            }'
        i=$((i + 1))
    done
    if [ -n "${INTERLEAVE_OUT:-}" ]; then
        mkdir -p "$INTERLEAVE_OUT"
        cp "$tmp"/[0-9]* "$INTERLEAVE_OUT"/
    fi
    rm -rf "$tmp"
}

# paired_ratio NUM_FILE DEN_FILE COLUMN: median (quartiles) of the
# per-round ratios of COLUMN of two files with one line per round, alike
# (interleave's: 1 wall, 2 CPU).
paired_ratio() {
    paired_stat ratio "$1" "$2" "$3" 1 "%.3f"
}

# paired_difference NUM_FILE DEN_FILE COLUMN SCALE: the same for the
# per-round differences, times SCALE, to the unit.
paired_difference() {
    paired_stat difference "$1" "$2" "$3" "$4" "%.0f"
}

paired_stat() { # ratio|difference NUM_FILE DEN_FILE COLUMN SCALE FORMAT
    paste -d' ' "$2" "$3" | awk -v op="$1" -v c="$4" -v s="$5" -v f="$6" '
        {
            n++
            if (op == "ratio") r[n] = $c / $(c + NF / 2)
            else r[n] = ($c - $(c + NF / 2)) * s
        }
        END {
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
            m = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
            printf f " (" f "-" f ")", m, r[int(1 + (n - 1) / 4)],
                r[int(1 + 3 * (n - 1) / 4)]
        }'
}
