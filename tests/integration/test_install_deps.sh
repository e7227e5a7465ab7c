#!/usr/bin/env bash
# scripts/install-deps.sh's logic, with apt-get, dpkg-query, id and sudo
# replaced on PATH by small fakes that record their arguments in a log:
# nothing missing, something missing, a machine's own policy-rc.d, a failing
# install, no root and no sudo, and a user with sudo.  The policy-rc.d the
# script creates goes to LYNXPROF_POLICY_RC_D in a temporary directory; the
# real /usr/sbin/policy-rc.d is never touched.
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T_TMP"' EXIT
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/install-deps.sh"
bash_bin="$(command -v bash)"

# A PATH with only the tools the script needs and the fakes: no sudo unless
# a case adds it, no real apt-get or dpkg-query ever.
tools="$T_TMP/tools"
fakes="$T_TMP/fakes"
mkdir -p "$tools" "$fakes"
for t in bash env grep tee chmod rm cat sed; do
    ln -s "$(command -v "$t")" "$tools/$t"
done

# dpkg-query -W -f=... PKG: installed unless PKG is a line of $FAKE_MISSING.
cat >"$fakes/dpkg-query" <<'EOF'
#!/bin/sh
echo "dpkg-query $*" >>"$FAKE_LOG"
for p; do :; done
if grep -qx "$p" "$FAKE_MISSING"; then
    echo "dpkg-query: no packages found matching $p" >&2
    exit 1
fi
printf 'install ok installed'
EOF
# apt-get: records its arguments, and for install what the policy file was
# at that moment; FAKE_APT_FAIL=1 makes install fail.
cat >"$fakes/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $* (uid $FAKE_UID)" >>"$FAKE_LOG"
[ "$1" = install ] || exit 0
if [ -x "$LYNXPROF_POLICY_RC_D" ]; then
    echo "policy during install: $("$LYNXPROF_POLICY_RC_D" nginx start >/dev/null 2>&1; echo $?)" >>"$FAKE_LOG"
else
    echo "policy during install: none" >>"$FAKE_LOG"
fi
if [ "${FAKE_APT_FAIL:-0}" = 1 ]; then
    echo "E: Unable to locate package" >&2
    exit 100
fi
: >"$FAKE_MISSING"
EOF
cat >"$fakes/id" <<'EOF'
#!/bin/sh
[ "$1" = -u ] && { echo "$FAKE_UID"; exit 0; }
exit 1
EOF
chmod 755 "$fakes"/*
# sudo: only in the PATH of the cases that have it.
mkdir -p "$T_TMP/sudo"
cat >"$T_TMP/sudo/sudo" <<'EOF'
#!/bin/sh
echo "sudo $*" >>"$FAKE_LOG"
FAKE_UID=0 exec "$@"
EOF
chmod 755 "$T_TMP/sudo/sudo"

# run_deps CASE MISSING-PACKAGES [extra PATH dir] -- install-deps.sh's
# arguments: runs the script; sets RC, OUT (stdout+stderr), LOG, POLICY.
run_deps() {
    local case_dir="$T_TMP/$1" extra="$3"
    mkdir -p "$case_dir"
    POLICY="$case_dir/policy-rc.d"
    LOG="$case_dir/log"
    : >"$LOG"
    printf '%s\n' $2 >"$case_dir/missing"
    shift 3
    [ "${1:-}" = -- ] && shift
    [ -n "$PRE_POLICY" ] && cp -p "$PRE_POLICY" "$POLICY"
    OUT=$(env -i PATH="$fakes${extra:+:$extra}:$tools" HOME="$case_dir" \
        FAKE_LOG="$LOG" FAKE_MISSING="$case_dir/missing" \
        FAKE_UID="${FAKE_UID:-0}" FAKE_APT_FAIL="${FAKE_APT_FAIL:-0}" \
        LYNXPROF_POLICY_RC_D="$POLICY" \
        "$bash_bin" "$script" "$@" 2>&1)
    RC=$?
}
installs() { grep '^apt-get install' "$LOG"; }
PRE_POLICY=""

# ---- nothing missing ------------------------------------------------------
run_deps none "" "" -- test
if [ "$RC" = 0 ] && ! grep -q '^apt-get' "$LOG" && [ ! -e "$POLICY" ] &&
    grep -q '^dpkg-query .* nginx$' "$LOG"; then
    t_ok "nothing missing: exit 0, packages queried, apt-get never called"
else
    t_fail "nothing missing: exit 0, packages queried, apt-get never called" \
        "exit $RC" "output: $OUT" "log: $(cat "$LOG")"
fi

# ---- something missing ----------------------------------------------------
run_deps some "nginx spawn-fcgi" "" -- run
want="apt-get install -y -qq --no-install-recommends nginx spawn-fcgi (uid 0)"
if [ "$RC" = 0 ] && [ "$(installs)" = "$want" ] && grep -q '^apt-get update' "$LOG"; then
    t_ok "something missing: exit 0, apt-get install of exactly the missing packages"
else
    t_fail "something missing: exit 0, apt-get install of exactly the missing packages" \
        "exit $RC" "output: $OUT" "log: $(cat "$LOG")"
fi
if grep -qx 'policy during install: 101' "$LOG" && [ ! -e "$POLICY" ]; then
    t_ok "something missing: a policy-rc.d refusing service starts during the install, removed after"
else
    t_fail "something missing: a policy-rc.d refusing service starts during the install, removed after" \
        "log: $(cat "$LOG")" "after: $(ls -l "$POLICY" 2>&1)"
fi
if printf '%s\n' "$OUT" | grep -q 'nginx spawn-fcgi'; then
    t_ok "something missing: says what it installs"
else
    t_fail "something missing: says what it installs" "output: $OUT"
fi

# The "package:command" entries: npm is not installed when npm is on PATH.
mkdir -p "$T_TMP/npmbin"
printf '#!/bin/sh\n' >"$T_TMP/npmbin/npm"
chmod 755 "$T_TMP/npmbin/npm"
run_deps npm "npm jq" "$T_TMP/npmbin" -- test
if [ "$RC" = 0 ] && [ "$(installs)" = "apt-get install -y -qq --no-install-recommends jq (uid 0)" ]; then
    t_ok "a package whose command is on PATH is not installed"
else
    t_fail "a package whose command is on PATH is not installed" \
        "exit $RC" "log: $(cat "$LOG")"
fi

# ---- the machine's own policy-rc.d ----------------------------------------
printf '#!/bin/sh\n# the site policy\nexit 0\n' >"$T_TMP/site-policy"
chmod 750 "$T_TMP/site-policy"
PRE_POLICY="$T_TMP/site-policy"
run_deps own "nginx" "" -- run
PRE_POLICY=""
if [ "$RC" = 0 ] && [ -n "$(installs)" ]; then
    t_ok "own policy-rc.d: exit 0 after the install"
else
    t_fail "own policy-rc.d: exit 0 after the install" "exit $RC" "output: $OUT" "log: $(cat "$LOG")"
fi
if cmp -s "$T_TMP/site-policy" "$POLICY" &&
    [ "$(stat -c %a "$POLICY")" = 750 ] && grep -qx 'policy during install: 0' "$LOG"; then
    t_ok "own policy-rc.d: left alone, byte for byte, mode kept"
else
    t_fail "own policy-rc.d: left alone, byte for byte, mode kept" \
        "after: $(ls -l "$POLICY" 2>&1)" "$(cat "$POLICY" 2>&1)" "log: $(cat "$LOG")"
fi

# ---- an install that fails ------------------------------------------------
FAKE_APT_FAIL=1 run_deps fail "nginx libfcgi-dev" "" -- run
msg=$(printf '%s\n' "$OUT" | grep 'could not install:')
if [ "$RC" != 0 ] && [[ "$msg" == *nginx* ]] && [[ "$msg" == *libfcgi-dev* ]]; then
    t_ok "failing install: non-zero exit, a message naming the packages"
else
    t_fail "failing install: non-zero exit, a message naming the packages" "exit $RC" "output: $OUT"
fi
if grep -qx 'policy during install: 101' "$LOG" && [ ! -e "$POLICY" ]; then
    t_ok "failing install: the policy-rc.d it made is removed"
else
    t_fail "failing install: the policy-rc.d it made is removed" \
        "log: $(cat "$LOG")" "after: $(ls -l "$POLICY" 2>&1)"
fi

# ---- no root, no sudo -----------------------------------------------------
FAKE_UID=1000 run_deps noroot "nginx" "" -- run
if [ "$RC" != 0 ] && ! grep -q '^apt-get' "$LOG" && [ ! -e "$POLICY" ] &&
    printf '%s\n' "$OUT" | grep -q 'needs root' &&
    printf '%s\n' "$OUT" | grep -q 'apt-get install nginx'; then
    t_ok "no root and no sudo: non-zero exit, says so and what to install, apt-get not called"
else
    t_fail "no root and no sudo: non-zero exit, says so and what to install, apt-get not called" \
        "exit $RC" "output: $OUT" "log: $(cat "$LOG")"
fi

# ---- a user with sudo -----------------------------------------------------
FAKE_UID=1000 run_deps sudo "nginx" "$T_TMP/sudo" -- run
if [ "$RC" = 0 ] &&
    [ "$(installs)" = "apt-get install -y -qq --no-install-recommends nginx (uid 0)" ] &&
    grep -q '^sudo apt-get install' "$LOG" && grep -q "^sudo tee $POLICY\$" "$LOG" &&
    grep -q "^sudo rm -f $POLICY\$" "$LOG" && [ ! -e "$POLICY" ]; then
    t_ok "not root, with sudo: apt-get and the policy file go through sudo, exit 0"
else
    t_fail "not root, with sudo: apt-get and the policy file go through sudo, exit 0" \
        "exit $RC" "output: $OUT" "log: $(cat "$LOG")"
fi

t_summary
