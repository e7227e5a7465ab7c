#!/usr/bin/env bash
# Install the Debian packages lynxprof needs that are missing.
#   install-deps.sh [run|test|bench]...   (default: run)
# run: build and run the stack; test: also the test suites; bench: also the
# benchmarks' peers.  Needs root (or sudo); does nothing when all is there.
set -euo pipefail

run_pkgs="gcc make autoconf automake libtool pkg-config libfcgi-dev
  libjson-c-dev libunwind-dev libdw-dev libelf-dev libprotobuf-c-dev
  protobuf-c-compiler zlib1g-dev nginx spawn-fcgi multiwatch apache2-utils
  openssl curl procps iproute2 util-linux passwd libdebuginfod1"
# libdebuginfod1: loaded by the endpoints when DEBUGINFOD_URLS is set.
# "package:command" is skipped when the command is already on the PATH
# (e.g. a Node.js that did not come from Debian brings its own npm).
# clang and libclang-rt-14-dev (libFuzzer's runtime, only recommended by
# clang and so not installed with --no-install-recommends): tests/fuzz.
# g++: the installed headers are compiled as C++ by test_install.sh.
test_pkgs="libcmocka-dev jq golang-go chromium nodejs:node npm:npm valgrind
  prometheus clang libclang-rt-14-dev g++"
bench_pkgs="wrk hyperfine google-perftools libgoogle-perftools-dev
  heaptrack linux-perf"

want=""
[ $# -eq 0 ] && set -- run
for kind in "$@"; do
    case "$kind" in
    run) want="$want $run_pkgs" ;;
    test) want="$want $run_pkgs $test_pkgs" ;;
    bench) want="$want $run_pkgs $test_pkgs $bench_pkgs" ;;
    *) echo "install-deps.sh: unknown set '$kind' (run, test, bench)" >&2; exit 2 ;;
    esac
done

missing=""
for entry in $want; do
    p="${entry%%:*}"
    if [ "$p" != "$entry" ] && command -v "${entry#*:}" >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-deps.sh: these Debian packages are missing:$missing" >&2
        echo "install-deps.sh: installing them needs root, and sudo is not installed: run this as root, or have root run: apt-get install$missing" >&2
        exit 1
    fi
    SUDO="sudo"
fi
echo "Installing Debian packages:$missing"
# Do not let package scripts start services (nginx would take port 80).
# An existing policy-rc.d is the machine's own: it is left alone.
# LYNXPROF_POLICY_RC_D is for the tests of this script only.
policy="${LYNXPROF_POLICY_RC_D:-/usr/sbin/policy-rc.d}"
made_policy=0
cleanup() {
    if [ "$made_policy" = 1 ]; then
        $SUDO rm -f "$policy"
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ ! -e "$policy" ]; then
    made_policy=1
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq; then
    echo "install-deps.sh: apt-get update failed (see above); trying the install anyway" >&2
fi
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
    echo "install-deps.sh: apt-get could not install:$missing (see its messages above); fix that and run again, or install them by hand: apt-get install$missing" >&2
    exit 1
fi
