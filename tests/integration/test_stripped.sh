#!/usr/bin/env bash
# Integration: stripped production binaries.  One program and the shared
# library it links (fixtures/stripped_target.c, stripped_lib.c), built
# -O2 -g, run as five targets:
#   plain  as built;
#   byid   stripped (objcopy --only-keep-debug, strip, --add-gnu-debuglink),
#          the debug files only under LYNXPROF_DEBUG_DIR/.build-id/;
#   link   stripped, the program's debug file beside it and the library's
#          in .debug/, found by their .gnu_debuglink;
#   dfd    stripped, the debug files only on a debuginfod server (a static
#          nginx serving /buildid/<id>/debuginfo) named by DEBUGINFOD_URLS;
#   bare   stripped with no debug file anywhere.
# Every copy gets its own build ID, so none finds another's debug file.
# `go tool pprof -lines -top` of their thread profiles must give byid, link
# and dfd the functions, files and lines of plain; bare shows the library's
# dynamic symbols and module+offset, and its profile, thread dump text and
# flame JSON name both files as having no debug info.  The mappings carry
# the build IDs (`go tool pprof -raw`).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
. "$here/lib.sh"

it_stack stripped-demo 38680
DFD_PORT=38690
DFD_PID=""
export HOME="$T_TMP" PPROF_TMPDIR="$T_TMP/pprof"
export LYNXPROF_DEBUG_DIR="$T_TMP/debug"
export DEBUGINFOD_URLS="http://127.0.0.1:$DFD_PORT"
export DEBUGINFOD_CACHE_PATH="$T_TMP/debuginfod-cache"
mkdir -p "$PPROF_TMPDIR" "$LYNXPROF_DEBUG_DIR" "$DEBUGINFOD_CACHE_PATH"

cleanup() {
    stack_stop
    if [ -n "$DFD_PID" ]; then
        kill "$DFD_PID" 2>/dev/null
        wait "$DFD_PID" 2>/dev/null
    fi
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"
    return 0
}
trap cleanup EXIT

if ! command -v go >/dev/null; then
    t_fail "go is installed (go tool pprof)" "install golang-go"
    t_summary
    exit 1
fi

# ---- the five builds ----------------------------------------------------
VARIANTS="plain byid link dfd bare"
declare -A ID
# build VARIANT N: the program and the library in $T_TMP/VARIANT, built
# from the same sources in the same directory (same file names in the
# DWARF), with build IDs of their own (20 bytes, as sha1 gives).
build() {
    local v="$1" n="$2" d="$T_TMP/$1"
    ID[$v.prog]=$(printf '%02x' $(seq $((n * 2 + 10)) $((n * 2 + 29))))
    ID[$v.lib]=$(printf '%02x' $(seq $((n * 2 + 40)) $((n * 2 + 59))))
    mkdir -p "$d"
    (cd "$here/fixtures" &&
        cc -O2 -g -fPIC -shared -Wl,--build-id=0x"${ID[$v.lib]}" \
            -o "$d/libstripdemo.so" stripped_lib.c &&
        cc -O2 -g -pthread -Wl,--build-id=0x"${ID[$v.prog]}" \
            -o "$d/stripdemo" stripped_target.c -L"$d" -lstripdemo \
            -Wl,-rpath,'$ORIGIN')
}
# split DIR FILE: FILE stripped, its DWARF in DIR/FILE.debug, linked.
split() {
    (cd "$1" &&
        objcopy --only-keep-debug "$2" "$2.debug" &&
        strip "$2" &&
        objcopy --add-gnu-debuglink="$2.debug" "$2")
}
# to_tree DIR FILE KIND: move DIR/FILE.debug into the .build-id tree.
to_tree() {
    local id="${ID[$3]}"
    mkdir -p "$LYNXPROF_DEBUG_DIR/.build-id/${id:0:2}"
    mv "$1/$2.debug" "$LYNXPROF_DEBUG_DIR/.build-id/${id:0:2}/${id:2}.debug"
}
# to_dfd DIR FILE KIND: move DIR/FILE.debug where debuginfod clients ask.
to_dfd() {
    mkdir -p "$T_TMP/dfd/buildid/${ID[$3]}"
    mv "$1/$2.debug" "$T_TMP/dfd/buildid/${ID[$3]}/debuginfo"
}

built=1
n=0
for v in $VARIANTS; do
    build "$v" $n || built=0
    n=$((n + 1))
done
for v in byid link dfd; do
    split "$T_TMP/$v" stripdemo && split "$T_TMP/$v" libstripdemo.so || built=0
done
to_tree "$T_TMP/byid" stripdemo byid.prog || built=0
to_tree "$T_TMP/byid" libstripdemo.so byid.lib || built=0
mkdir -p "$T_TMP/link/.debug"
mv "$T_TMP/link/libstripdemo.so.debug" "$T_TMP/link/.debug/" || built=0
to_dfd "$T_TMP/dfd" stripdemo dfd.prog || built=0
to_dfd "$T_TMP/dfd" libstripdemo.so dfd.lib || built=0
strip "$T_TMP/bare/stripdemo" "$T_TMP/bare/libstripdemo.so" || built=0
chmod -R a+rX "$T_TMP"
if [ "$built" = 1 ]; then
    t_ok "five builds of the fixture, stripped as production ships them"
else
    t_fail "five builds of the fixture" "cc, objcopy or strip failed"
    t_summary
    exit 1
fi
t_check "byid: no DWARF left in the program" \
    bash -c "! readelf -S '$T_TMP/byid/stripdemo' | grep -q debug_info"
t_check "bare: no symbol table left in the program" \
    bash -c "! readelf -S '$T_TMP/bare/stripdemo' | grep -q '\.symtab'"

# A static debuginfod server: nginx serving $T_TMP/dfd.
mkdir -p "$T_TMP/dfd-run"
# Its workers run as the stack's nginx user (as root nginx would pick
# nobody), and every file it serves is readable by them.
chmod -R a+rX "$T_TMP/dfd"
cat >"$T_TMP/dfd-run/nginx.conf" <<EOF
daemon off;
user $STACK_NGINX_USER;
worker_processes 1;
pid $T_TMP/dfd-run/nginx.pid;
error_log $T_TMP/dfd-run/error.log;
events { worker_connections 64; }
http {
    access_log $T_TMP/dfd-run/access.log;
    client_body_temp_path $T_TMP/dfd-run/body;
    proxy_temp_path $T_TMP/dfd-run/proxy;
    fastcgi_temp_path $T_TMP/dfd-run/fastcgi;
    uwsgi_temp_path $T_TMP/dfd-run/uwsgi;
    scgi_temp_path $T_TMP/dfd-run/scgi;
    server {
        listen 127.0.0.1:$DFD_PORT;
        root $T_TMP/dfd;
        default_type application/octet-stream;
    }
}
EOF
nginx -e "$T_TMP/dfd-run/error.log" -c "$T_TMP/dfd-run/nginx.conf" \
    >"$T_TMP/dfd-run/stdout.log" 2>&1 &
DFD_PID=$!
if stack_wait_http "$DEBUGINFOD_URLS/buildid/${ID[dfd.prog]}/debuginfo" 200 10; then
    t_ok "the debuginfod server serves a debug file"
else
    t_fail "the debuginfod server serves a debug file" \
        "HTTP $(curl -s -o /dev/null -w '%{http_code}' "$DEBUGINFOD_URLS/buildid/${ID[dfd.prog]}/debuginfo")" \
        "$(ls -lR "$T_TMP/dfd" 2>&1 | head -8)" \
        "$(tail -5 "$T_TMP/dfd-run/error.log" "$T_TMP/dfd-run/stdout.log" 2>&1)"
fi

it_stack_start
# The endpoints' own debuginfod cache.
chown "$STACK_FCGI_USER" "$DEBUGINFOD_CACHE_PATH"

for v in $VARIANTS; do
    t_check "$v: the target starts" \
        stack_start_target "sd-$v-$$" "$T_TMP/$v/stripdemo"
done
sleep 0.5 # both threads parked

D="$B/debug/pprof"
# frames VARIANT: `go tool pprof -lines -top` rows of the fixture's code.
frames() {
    timeout 60 go tool pprof -symbolize=none -lines -top "$T_TMP/$1.pb.gz" \
        2>/dev/null | grep -E 'stripped_(target|lib)\.c' | sort
}
for v in $VARIANTS; do
    it_fetch_gz "$v: thread profile" "$D/goroutine?target=sd-$v-$$" "$T_TMP/$v.pb.gz"
done

want=$(frames plain)
for f in "sd_idle .*stripped_target.c:[0-9]+" "sd_worker .*stripped_target.c:[0-9]+" \
    "sd_lib_park .*stripped_lib.c:[0-9]+" "sd_lib_wait .*stripped_lib.c:[0-9]+"; do
    t_check "plain: $f" text_pipe "$want" "grep -qE '$f'"
done
for v in byid link dfd; do
    got=$(frames "$v")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        t_ok "$v: functions, files and lines as the unstripped build's"
    else
        t_fail "$v: functions, files and lines as the unstripped build's" \
            "want: $want" "got: $got"
    fi
    out=$(timeout 60 go tool pprof -comments "$T_TMP/$v.pb.gz" 2>&1)
    t_check "$v: no note for its program or library" \
        text_pipe "$out" "! grep -q 'for $T_TMP/$v/'"
done
t_check "dfd: the debug files came through debuginfod" \
    grep -q "GET /buildid/${ID[dfd.lib]}/debuginfo" "$T_TMP/dfd-run/access.log"

# ---- bare: dynamic symbols, module+offset, and said so -----------------
out=$(timeout 60 go tool pprof -symbolize=none -lines -top "$T_TMP/bare.pb.gz" 2>&1)
t_check "bare: the library's exported function, from its dynamic symbols" \
    text_pipe "$out" "grep -qE '\bsd_lib_wait\b'"
t_check "bare: no source file of the fixture" \
    text_pipe "$out" "! grep -qE 'stripped_(target|lib)\.c|sd_idle|sd_lib_park'"
out=$(timeout 60 go tool pprof -comments "$T_TMP/bare.pb.gz" 2>&1)
t_check "bare: pprof -comments: the library has no debug info" \
    text_pipe "$out" "grep -qF 'no debug info for $T_TMP/bare/libstripdemo.so: '"
t_check "bare: pprof -comments: the program has none either" \
    text_pipe "$out" "grep -qE '(no debug info|no symbols) for $T_TMP/bare/stripdemo: '"
http GET "$D/goroutine?target=sd-bare-$$&debug=2" "${AUTH[@]}"
t_check "bare: goroutine?debug=2 says it" \
    text_pipe "$H_BODY" "grep -qF '# no debug info for $T_TMP/bare/libstripdemo.so'"
t_check "bare: goroutine?debug=2 shows the program as module+offset" \
    text_pipe "$H_BODY" "grep -q '^stripdemo+0x'"
expect "bare: flame JSON lists both, the library as named from its symbols" 200 \
    "([.unsymbolized[] | select(.path == \"$T_TMP/bare/libstripdemo.so\"
        and .symbols == true
        and (.message | startswith(\"no debug info for \")))] | length == 1)
     and ([.unsymbolized[] | select(.path == \"$T_TMP/bare/stripdemo\")]
        | length == 1)
     and ([.functions[] | select(startswith(\"stripdemo+0x\"))] | length > 0)" \
    GET "$B/api/v1/profiling/flame?type=goroutine&target=sd-bare-$$" "${AUTH[@]}"
expect "plain: flame JSON lists neither" 200 \
    "[.unsymbolized[] | select(.path | startswith(\"$T_TMP/plain/\"))] | length == 0" \
    GET "$B/api/v1/profiling/flame?type=goroutine&target=sd-plain-$$" "${AUTH[@]}"

# ---- the build IDs are in the mappings ------------------------------------
for v in bare byid; do
    out=$(timeout 60 go tool pprof -raw "$T_TMP/$v.pb.gz" 2>&1)
    t_check "$v: pprof -raw: the program's mapping has its build ID" \
        text_pipe "$out" "grep -qE '$T_TMP/$v/stripdemo +${ID[$v.prog]}'"
    t_check "$v: pprof -raw: the library's mapping has its build ID" \
        text_pipe "$out" "grep -qE '$T_TMP/$v/libstripdemo.so +${ID[$v.lib]}'"
done

t_summary
