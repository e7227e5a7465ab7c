#!/usr/bin/env bash
# Configure (once) and build lynxprof out of tree.
#   build.sh [BUILD_DIR [extra configure arguments...]]
# BUILD_DIR defaults to build/ in the source tree.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$src/build}"
[ $# -gt 0 ] && shift
cd "$src"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$src/configure" -nt Makefile ]; then
    "$src/configure" -q "$@"
fi
make -s -j"$(nproc)" >/dev/null
