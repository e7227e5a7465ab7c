#!/usr/bin/env bash
# Install the Debian packages lynxprof needs that are missing.
#   install-deps.sh [run|test|bench]...   (default: run)
# run: build and run the stack; test: also the test suites; bench: also the
# benchmarks' peers.  Needs root (or sudo); does nothing when all is there.
set -euo pipefail

run_pkgs="gcc make autoconf automake libtool pkg-config libfcgi-dev
  libjson-c-dev libunwind-dev libdw-dev libelf-dev libprotobuf-c-dev
  protobuf-c-compiler zlib1g-dev nginx spawn-fcgi multiwatch apache2-utils
  openssl curl procps iproute2 util-linux passwd"
# "package:command" is skipped when the command is already on the PATH
# (e.g. a Node.js that did not come from Debian brings its own npm).
# clang and libclang-rt-14-dev (libFuzzer's runtime, only recommended by
# clang and so not installed with --no-install-recommends): tests/fuzz.
test_pkgs="libcmocka-dev jq golang-go chromium nodejs:node npm:npm valgrind
  prometheus clang libclang-rt-14-dev"
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
    command -v sudo >/dev/null || { echo "install-deps.sh: run as root (missing:$missing)" >&2; exit 1; }
    SUDO="sudo"
fi
echo "Installing Debian packages:$missing"
# Do not let package scripts start services (nginx would take port 80).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
cleanup() {
    if [ "$made_policy" = 1 ]; then
        $SUDO rm -f "$policy"
    fi
    return 0
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
