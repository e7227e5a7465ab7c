#!/usr/bin/env bash
# Run every benchmark (bench/*.sh except this one, the sourced helpers
# interleave.sh and alloc_loop.sh, and the 30-minute soak), one after the
# other.
#   bench/run.sh [name...]   e.g. bench/run.sh memory_endpoint, bench/run.sh soak
# Results go to stdout; docs/PERFORMANCE.md records them with their commands.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/.." && pwd)"
"$src/scripts/install-deps.sh" bench
"$src/scripts/build.sh"
if [ $# -gt 0 ]; then
    list=""
    for n in "$@"; do list="$list $here/$n.sh"; done
else
    list=$(ls "$here"/*.sh | grep -v -e '/run\.sh$' -e '/interleave\.sh$' -e '/alloc_loop\.sh$' -e '/soak\.sh$')
fi
rc=0
for b in $list; do
    echo "=== $(basename "$b" .sh)"
    bash "$b" || rc=1
    echo
done
exit $rc
