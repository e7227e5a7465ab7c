#!/usr/bin/env bash
# lynxprof: the fresh-machine check.  Builds a minimal Debian 12 (bookworm)
# root with debootstrap, with nothing of lynxprof's packages in it, copies a
# fresh git clone of the repository into it, and runs there, as a new user
# would, the two commands of README.md's first ```sh block:
#   command 2 (./scripts/test.sh): its last line and exit status;
#   command 1 (./scripts/run.sh) in the background until it prints the
#   login; GET /api/v1/profiling/memory with that login must give 200 JSON;
#   then SIGINT to its pid (what Ctrl-C sends), and nothing of it may be
#   left running.
# Prints each step's result and duration.  Not part of scripts/test.sh: it
# downloads a Debian base system and every package, and takes long.
#
#   fresh-machine-check.sh [options]
#     --repo DIR        repository to clone (default: the one this script is in)
#     --commit REV      commit to check (default: HEAD of --repo)
#     --base TARBALL    pristine debootstrap root: used when the file exists,
#                       written after debootstrap when it does not (the root
#                       itself is unpacked fresh on every run)
#     --variant V       debootstrap variant (default minbase, what Debian's
#                       container images are made of; "default" for the
#                       larger set of a server install)
#     --mirror URL      Debian mirror (default: the one in /etc/apt/sources*)
#     --policy-rc-d     start with a /usr/sbin/policy-rc.d that refuses
#                       service starts, as container images ship
#     --workdir DIR     where the root and the logs go (default: a new
#                       directory under /var/tmp)
#     --keep            keep the root afterwards (unmounted) for debugging
#
# Needs root, debootstrap, git, curl and jq on the host.  The local CAs of
# this machine (/usr/local/share/ca-certificates) are copied in: a network
# that inspects TLS needs them on every machine.  The root shares
# the host's network (the README commands download packages), so the ports
# run.sh and the tests bind must be free on the host: checked first.
# Every mount lives in a private mount namespace and is unmounted on every
# exit path; each command runs in a PID namespace of its own, ended on every
# exit path by killing its unshare process by pid.
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$self" "$@"
fi
# Mounts made here must never outlive the check, even if it is killed.
if [ -z "${LYNXPROF_FRESH_NS:-}" ]; then
    export LYNXPROF_FRESH_NS=1
    exec unshare --mount --propagation private -- "$self" "$@"
fi

repo="$(cd "$(dirname "$self")/.." && pwd)"
commit=""
base=""
variant=minbase
mirror=""
policy_rc_d=0
workdir=""
keep=0
usage() { sed -n '2,/^set -e/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --repo) repo="$(cd "$2" && pwd)"; shift 2 ;;
    --commit) commit="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    --variant) variant="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    --policy-rc-d) policy_rc_d=1; shift ;;
    --workdir) workdir="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "fresh-machine-check: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for tool in debootstrap git curl jq ss; do
    command -v "$tool" >/dev/null || {
        echo "fresh-machine-check: '$tool' is needed on this machine" >&2; exit 2; }
done
[ -n "$commit" ] || commit=HEAD
commit="$(git -C "$repo" rev-parse --verify "$commit^{commit}")"

# The Debian mirror this machine uses: first "bookworm" entry of its
# sources (deb822 .sources or one-line .list), else deb.debian.org.
find_mirror() { # suffix: debian or debian-security
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk -v want="$1" '
            /^URIs:/ { for (i = 2; i <= NF; i++) u = u " " $i }
            /^Suites:/ { s = $0 }
            /^[ \t]*$/ { u = ""; s = "" }
            u != "" && s ~ /bookworm/ {
                n = split(u, a, " ")
                for (i = 1; i <= n; i++) if (a[i] ~ ("/" want "/?$")) { print a[i]; exit }
            }' "$f")
        [ -n "$uri" ] && { echo "${uri%/}"; return; }
    done
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v want="$1" '$1 == "deb" && $0 ~ /bookworm/ {
            for (i = 2; i <= NF; i++) if ($i ~ ("/" want "/?$")) { print $i; exit } }')
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
    echo "http://deb.debian.org/$1"
}
[ -n "$mirror" ] || mirror="$(find_mirror debian)"
security="$(find_mirror debian-security)"

[ -n "$workdir" ] || workdir="$(mktemp -d /var/tmp/lynxprof-fresh.XXXXXX)"
mkdir -p "$workdir"
workdir="$(cd "$workdir" && pwd)"
root="$workdir/root"
logs="$workdir/logs"
mkdir -p "$logs"
if [ -e "$root" ]; then
    echo "fresh-machine-check: $root already exists; give another --workdir" >&2
    exit 2
fi

# ---- results ------------------------------------------------------------
results=()
failed=0
step_t0=0
step_begin() { step_t0=$(date +%s); echo "== $1"; }
step_end() { # pass|FAIL name [detail]
    local secs=$(( $(date +%s) - step_t0 ))
    local line
    line=$(printf '%-4s %-44s %4dm%02ds  %s' "$1" "$2" $((secs / 60)) $((secs % 60)) "${3:-}")
    results+=("$line")
    [ "$1" = pass ] || failed=1
    echo "$line"
}

# ---- cleanup: the sessions in the root by pid, then the mounts ----------
# Each README command runs in a session of its own: a new PID namespace
# whose init (see session_init) is killed by the kernel when its unshare
# process dies (--kill-child), and with it everything in that namespace.
sessions=""
stop_sessions() {
    local u
    # unshare --fork ignores SIGTERM while it waits: SIGKILL it, and the
    # kernel kills its child, the init, and so the whole namespace.
    for u in $sessions; do
        kill -KILL "$u" 2>/dev/null || true
    done
    for u in $sessions; do
        wait "$u" 2>/dev/null || true
    done
}
mounts_under_root() {
    awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo
}
unmount_root() {
    local m
    for m in $(mounts_under_root | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_sessions
    unmount_root
    if [ -n "$(mounts_under_root)" ]; then
        echo "fresh-machine-check: mounts left under $root; not removing it:" >&2
        mounts_under_root >&2
    elif [ "$keep" = 1 ]; then
        echo "root kept (unmounted): $root"
    elif [ -d "$root" ]; then
        rm -rf --one-file-system "$root"
    fi
    echo "logs: $logs"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- what the README says -------------------------------------------------
clone="$workdir/clone"
rm -rf "$clone"
git clone -q --no-hardlinks "$repo" "$clone"
git -C "$clone" -c advice.detachedHead=false checkout -q "$commit"
# The first two lines of the first ```sh block, without their comments.
readme_cmds=$(awk '/^```sh/ { inb = 1; next } inb && /^```/ { exit }
    inb && n < 2 { sub(/[ \t]*#.*/, ""); print; n++ }' "$clone/README.md")
cmd_run=$(sed -n 1p <<<"$readme_cmds")
cmd_test=$(sed -n 2p <<<"$readme_cmds")
if [ -z "$cmd_run" ] || [ -z "$cmd_test" ]; then
    echo "fresh-machine-check: no two commands in README.md's first sh block" >&2
    exit 1
fi
echo "commit:    $(git -C "$clone" log -1 --format='%h %s')"
echo "command 1: $cmd_run"
echo "command 2: $cmd_test"
echo "mirror:    $mirror (security: $security), variant $variant"
echo "workdir:   $workdir"

# ---- ports: the root shares this machine's network -------------------------
ports="8080 8443 8081 $( (grep -rhoE 'PORT=[0-9]{4,5}' "$clone/tests" 2>/dev/null || true) |
    cut -d= -f2 | sort -un | tr '\n' ' ')"
busy=""
for p in $ports; do
    ss -Htln "sport = :$p" | grep -q . && busy="$busy $p"
done
if [ -n "$busy" ]; then
    echo "fresh-machine-check: ports in use on this machine:$busy (the root shares its network)" >&2
    exit 1
fi

# ---- the base system ------------------------------------------------------
if [ -n "$base" ] && [ -f "$base" ]; then
    step_begin "unpack the pristine base $base"
    mkdir -p "$root"
    tar -C "$root" --numeric-owner -xzf "$base"
    step_end pass "unpack pristine Debian 12 base"
else
    step_begin "debootstrap bookworm ($variant) from $mirror"
    vargs=()
    [ "$variant" = default ] || vargs=(--variant="$variant")
    if debootstrap "${vargs[@]}" bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1; then
        step_end pass "debootstrap bookworm $variant"
    else
        tail -20 "$logs/debootstrap.log"
        step_end FAIL "debootstrap bookworm $variant"
        exit 1
    fi
    if [ -n "$base" ]; then
        tar -C "$root" --numeric-owner -czf "$base.tmp" . && mv "$base.tmp" "$base"
        echo "pristine base saved: $base"
    fi
fi

# What a stock Debian 12 has besides the packages: its apt sources (the
# release, its updates and the security archive), a resolver, a hostname.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat /etc/resolv.conf >"$root/etc/resolv.conf"
# A network that inspects TLS with its own certificate authority (this
# machine's local CAs) needs it on every machine behind it: without it npm
# cannot reach its registry.  Taken in by update-ca-certificates when the
# README commands install ca-certificates (npm depends on it).
site_ca=""
for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -f "$crt" ] || continue
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp "$crt" "$root/usr/local/share/ca-certificates/"
    site_ca="$site_ca $(basename "$crt")"
done
[ -z "$site_ca" ] || echo "local CAs of this machine copied in:$site_ca"
[ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' >"$root/etc/hosts"
if [ "$policy_rc_d" = 1 ]; then
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
fi
# Nothing of lynxprof may be there already.
pre=""
for p in nginx spawn-fcgi libfcgi-dev libjson-c-dev gcc autoconf nodejs chromium golang-go; do
    if chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        pre="$pre $p"
    fi
done
[ -z "$pre" ] || { echo "fresh-machine-check: the base already has:$pre" >&2; exit 1; }

# The root is a mount point of its own, as / is on a real machine (unshare
# --propagation private needs that), with the kernel's file systems in it.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777,size=1g shm "$root/dev/shm"
mount -t tmpfs -o mode=0755 run "$root/run"

mkdir -p "$root/root"
cp -a "$clone" "$root/root/lynxprof"
rm -rf "$clone"

# A session in the root: a new mount and PID namespace whose root is the
# root's own mount (pivot_root, as on a real machine or in a container; a
# plain chroot would show /proc/self/exe outside the root after a program's
# own unshare(CLONE_NEWNS)).  Its init, session_init, runs the command
# line as a root login shell in the checkout would, waits for it, then
# prints what is left running in the session ("left:" line) and exits
# with the command's status.  Signals start at their defaults whatever
# the check inherited (a check started in the background has SIGINT
# ignored, and a shell cannot trap what it inherited ignored).
session_enter='set -e
mount -t proc proc "$1/proc"
cd "$1"
pivot_root . mnt
cd /
umount -l /mnt
exec /usr/bin/env --default-signal -i HOME=/root USER=root LOGNAME=root TERM="$4" SHELL=/bin/bash \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c "$3" session-init "$2"'
# shellcheck disable=SC2016
session_init='set -m
bash -c "cd /root/lynxprof && exec $1" </dev/null &
c=$!
set +m
echo "session: command pid $c"
while :; do
    wait "$c"
    rc=$?
    kill -0 "$c" 2>/dev/null || break
done
sleep 1
left=""
for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = 1 ] && continue
    read -r comm 2>/dev/null <"$d/comm" || continue
    read -r st 2>/dev/null <"$d/stat" || continue
    st=${st##*) }
    left="$left $p($comm,${st%% *})"
done
echo "left:$left"
exit "$rc"'
session_pid=""
session_start() { # command-line log: the session in the background
    # Job control on, here and in the init: a background job then keeps
    # SIGINT, as Ctrl-C delivers it (bash starts background jobs with SIGINT
    # ignored otherwise, and an ignored signal cannot be trapped after).
    set -m
    : >"$2" # there before the background job opens it: readers poll it
    unshare --pid --fork --kill-child=KILL --mount --propagation private -- \
        /bin/bash -c "$session_enter" session-enter "$root" "$1" \
        "$session_init" "${TERM:-dumb}" </dev/null >"$2" 2>&1 &
    session_pid=$!
    set +m
    sessions="$sessions $session_pid"
}
# The children of a pid, from /proc/*/stat.
children_of() {
    local d st
    for d in /proc/[0-9]*; do
        read -r st 2>/dev/null <"$d/stat" || continue
        st=${st##*) }
        st=${st#* }
        [ "${st%% *}" = "$1" ] && echo "${d#/proc/}"
    done
    return 0
}
# The init says the command's pid in its namespace ("session: command pid
# N"); of the init's children (orphans of the session are too) it is the
# one whose last NSpid is N.
session_command_pid() { # log
    local init ns p nspid
    ns=$(sed -n 's/^session: command pid \([0-9]*\)$/\1/p' "$1" | head -1)
    init=$(children_of "$session_pid" | head -1)
    [ -n "$init" ] && [ -n "$ns" ] || return 0
    for p in $(children_of "$init"); do
        nspid=$(sed -n 's/^NSpid:.*[[:space:]]\([0-9]*\)$/\1/p' "/proc/$p/status" 2>/dev/null)
        [ "$nspid" = "$ns" ] && { echo "$p"; return 0; }
    done
    return 0
}
session_wait() { # sets session_rc
    set +e
    wait "$session_pid"
    session_rc=$?
    set -e
}

# ---- README command 2 -----------------------------------------------------
step_begin "command 2: $cmd_test"
session_start "$cmd_test" "$logs/test.log"
tail -n +1 -f --pid="$session_pid" "$logs/test.log" &
session_wait
sleep 1
test_rc=$session_rc
last=$(grep -v -e "^left:" -e "^session: " "$logs/test.log" | tail -1)
left2=$(sed -n "s/^left://p" "$logs/test.log")
cp -a "$root/root/lynxprof/build/test-logs" "$logs/" 2>/dev/null || true
if [ "$test_rc" = 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
    step_end pass "command 2: $cmd_test" "exit 0, \"$last\""
else
    step_end FAIL "command 2: $cmd_test" "exit $test_rc, \"$last\""
fi
step_t0=$(date +%s)
if [ -z "$left2" ]; then
    step_end pass "command 2 leaves nothing running"
else
    step_end FAIL "command 2 leaves nothing running" "left:$left2"
fi

# ---- README command 1 -----------------------------------------------------
step_begin "command 1: $cmd_run (until it prints the login)"
session_start "$cmd_run" "$logs/run.log"
run_pid=""
login=""
for _ in $(seq 1200); do
    login=$(sed -n 's/^ *login: *\([^ ]*\) \/ \(.*\)$/\1:\2/p' "$logs/run.log")
    [ -n "$login" ] && break
    kill -0 "$session_pid" 2>/dev/null || break
    sleep 0.5
done
run_pid=$(session_command_pid "$logs/run.log")
if [ -n "$login" ]; then
    step_end pass "command 1 prints the login"
else
    tail -20 "$logs/run.log"
    step_end FAIL "command 1 prints the login" "no login line (see run.log)"
fi

if [ -n "$login" ]; then
    step_begin "GET /api/v1/profiling/memory with that login"
    port=$(sed -n 's|^ *memory: *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$logs/run.log")
    code=$(curl -s -o "$logs/memory.json" -w '%{http_code}' --max-time 30 \
        -u "$login" "http://127.0.0.1:${port:-8080}/api/v1/profiling/memory") || code=000
    if [ "$code" = 200 ] && jq -e 'type == "object"' "$logs/memory.json" >/dev/null 2>&1; then
        step_end pass "GET /api/v1/profiling/memory" "200, JSON: $(jq -c 'keys[:6]' "$logs/memory.json")"
    else
        step_end FAIL "GET /api/v1/profiling/memory" "status $code: $(head -c 200 "$logs/memory.json" 2>/dev/null)"
    fi
fi

step_begin "SIGINT to command 1 (pid ${run_pid:-?}): everything stops"
if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -INT "$run_pid"
    for _ in $(seq 60); do
        kill -0 "$session_pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$session_pid" 2>/dev/null; then
        step_end FAIL "SIGINT stops command 1" "still running after 30 s"
    else
        session_wait
        left1=$(sed -n "s/^left://p" "$logs/run.log")
        if [ -n "$left1" ]; then
            step_end FAIL "SIGINT stops command 1 and all it started" \
                "exit $session_rc; left running:$left1"
        elif ! grep -q '^left:' "$logs/run.log"; then
            step_end FAIL "SIGINT stops command 1 and all it started" \
                "exit $session_rc; the session did not report"
        else
            step_end pass "SIGINT stops command 1 and all it started" \
                "exit $session_rc, nothing left running"
        fi
    fi
else
    step_end FAIL "SIGINT stops command 1" "it was not running"
fi

echo
echo "fresh-machine check of $(git -C "$root/root/lynxprof" log -1 --format=%h), $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%s\n' "${results[@]}"
if [ "$failed" = 0 ]; then
    echo "all passed"
else
    echo "FAILED"
fi
exit "$failed"
