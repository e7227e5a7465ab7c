# lynxprof: start and stop the whole stack (nginx, the FastCGI endpoints under
# spawn-fcgi + multiwatch, the demo target with the agent).  Sourced by
# run.sh, the integration tests and the benchmarks; bash only.
#
# Inputs (set before stack_start):
#   STACK_SRC        source tree, built in STACK_BUILD (default $STACK_SRC/build)
#   STACK_RUNDIR     directory for sockets, configuration, logs, spool
#   STACK_PORT       HTTP port on 127.0.0.1            (default 8080)
#   STACK_TLS_PORT   HTTPS port                        (default 8443)
#   STACK_TLS_ADDR   HTTPS address (default 127.0.0.1; a fleet host's own
#                    address, docs/FLEET.md)
#   STACK_APP_PORT   the demo's own HTTP port          (default 8081)
#   STACK_USER, STACK_PASSWORD   the htpasswd login
#   STACK_DEMO_ARGS  extra arguments for the demo      (default "--threads 2")
#   STACK_DEMO_NAME  the demo's target name            (default lynx-demo)
#   STACK_WORKERS    processes per endpoint            (default 2)
#   STACK_RATE       nginx rate limit                  (default 50r/s)
#   STACK_AGENT_KIND the agent preloaded into targets: full
#                    (libprofile-agent.so, the default) or cpu
#                    (libprofile-agent-cpu.so, the CPU-only agent)
# and the endpoints' configuration in the environment (PROFILING_ENABLED...).
# Outputs: STACK_PIDS (all pids started), STACK_DEMO_PID, STACK_NGINX_PID,
# STACK_TARGET_PID (the last target started by stack_start_target),
# STACK_AGENT (the agent preloaded), STACK_AGENT_FULL and STACK_AGENT_CPU
# (both installed agents).

STACK_ENDPOINTS="memory targets page cpu-start cpu-status cpu-download cpu-sessions cpu-stop cpu-delete cpu-flame pprof-profile heap pprof-kind goroutine pprof-index pprof-cmdline pprof-symbol flame metrics"
STACK_FCGI_USER=lynxprof
STACK_NGINX_USER=www-data

stack_log() { printf 'lynxprof: %s\n' "$*" >&2; }

# Re-run the calling script in a private mount namespace with a fresh tmpfs
# on /dev/shm, so that the targets it sees are only the ones it starts
# (tests and benchmarks; not run.sh).  Call as: stack_private_shm "$@"
stack_private_shm() {
    if [ -n "${STACK_ISOLATED:-}" ] || [ "$(id -u)" -ne 0 ] ||
        ! command -v unshare >/dev/null; then
        return 0
    fi
    export STACK_ISOLATED=1
    exec unshare --mount --propagation private -- bash -c \
        'mount -t tmpfs -o mode=1777,size=1g lynxprof-shm /dev/shm && exec bash "$0" "$@"' \
        "$0" "$@"
}

# Install the built tree into a private staging directory: the endpoints run
# as an unprivileged user and must reach their binaries and the html files
# whatever the permissions of the source checkout.
stack_stage() {
    STACK_STAGE="$STACK_RUNDIR/stage"
    rm -rf "$STACK_STAGE"
    make -s -C "${STACK_BUILD:-$STACK_SRC/build}" install DESTDIR="$STACK_STAGE" prefix=/usr/local \
        >"$STACK_RUNDIR/install.log" 2>&1 || {
        stack_log "make install failed, see $STACK_RUNDIR/install.log"; return 1; }
    STACK_BIN="$STACK_STAGE/usr/local/libexec/lynxprof"
    STACK_AGENT_FULL="$STACK_STAGE/usr/local/lib/libprofile-agent.so"
    STACK_AGENT_CPU="$STACK_STAGE/usr/local/lib/libprofile-agent-cpu.so"
    case "${STACK_AGENT_KIND:-full}" in
    full) STACK_AGENT="$STACK_AGENT_FULL" ;;
    cpu) STACK_AGENT="$STACK_AGENT_CPU" ;;
    *) stack_log "STACK_AGENT_KIND must be full or cpu, not '$STACK_AGENT_KIND'"
       return 1 ;;
    esac
    STACK_HTML="$STACK_STAGE/usr/local/share/lynxprof/html"
    chmod -R a+rX "$STACK_STAGE"
}

stack_users() {
    getent group "$STACK_FCGI_USER" >/dev/null || groupadd --system "$STACK_FCGI_USER"
    getent passwd "$STACK_FCGI_USER" >/dev/null ||
        useradd --system --gid "$STACK_FCGI_USER" --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin "$STACK_FCGI_USER"
}

stack_render() { # template output
    sed -e "s|@RUNDIR@|$STACK_RUNDIR|g" \
        -e "s|@CONFDIR@|$STACK_RUNDIR/conf|g" \
        -e "s|@HTMLDIR@|$STACK_HTML|g" \
        -e "s|@HTPASSWD@|$STACK_RUNDIR/conf/htpasswd|g" \
        -e "s|@LISTEN@|127.0.0.1:$STACK_PORT|g" \
        -e "s|@TLS_LISTEN@|${STACK_TLS_ADDR:-127.0.0.1}:$STACK_TLS_PORT|g" \
        -e "s|@PORT@|$STACK_PORT|g" -e "s|@TLS_PORT@|$STACK_TLS_PORT|g" \
        -e "s|@TLS_CERT@|$STACK_RUNDIR/conf/tls.crt|g" \
        -e "s|@TLS_KEY@|$STACK_RUNDIR/conf/tls.key|g" \
        -e "s|@APP_UPSTREAM@|127.0.0.1:$STACK_APP_PORT|g" \
        -e "s|@NGINX_USER@|$STACK_NGINX_USER|g" \
        -e "s|rate=50r/s|rate=$STACK_RATE|g" \
        "$1" >"$2"
}

# The htpasswd login (STACK_USER, STACK_PASSWORD) and a self-signed TLS
# certificate (tls.crt, tls.key) in directory $1, as nginx reads them.
stack_credentials() {
    local c="$1"
    htpasswd -B -b -c "$c/htpasswd" "$STACK_USER" "$STACK_PASSWORD" 2>/dev/null
    chown "root:$STACK_NGINX_USER" "$c/htpasswd"
    chmod 0640 "$c/htpasswd"
    if [ ! -f "$c/tls.crt" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$c/tls.key" -out "$c/tls.crt" >/dev/null 2>&1
        chmod 0600 "$c/tls.key"
    fi
}

# The spool directory $1, writable by the endpoints only.
stack_spool() {
    mkdir -p "$1"
    chown "$STACK_FCGI_USER:$STACK_FCGI_USER" "$1"
    chmod 0750 "$1"
}

stack_config() {
    local c="$STACK_RUNDIR/conf"
    mkdir -p "$c" "$c/extra" "$STACK_RUNDIR/nginx-tmp"
    stack_spool "$STACK_RUNDIR/spool"
    stack_credentials "$c"
    # nginx must wait for the longest synchronous CPU profile
    # (/debug/pprof/profile?seconds=MAX_PROFILE_DURATION) plus a margin.
    local max_s timeout_s=660
    max_s=$("$STACK_BIN/cpu-start.fcgi" --max-profile-seconds 2>/dev/null) || max_s=""
    if [ -n "$max_s" ] && [ "$((max_s + 60))" -gt "$timeout_s" ]; then
        timeout_s=$((max_s + 60))
    fi
    sed -e "s|^fastcgi_read_timeout .*|fastcgi_read_timeout ${timeout_s}s;|" \
        "$STACK_SRC/nginx-conf/lynxprof-fastcgi.conf" >"$c/lynxprof-fastcgi.conf"
    local t
    for t in lynxprof-http lynxprof-locations example-server nginx; do
        stack_render "$STACK_SRC/nginx-conf/$t.conf.in" "$c/$t.conf"
    done
}

# Start one endpoint: spawn-fcgi binds its socket (owned by nginx's user),
# drops to the unprivileged user and execs multiwatch, which keeps
# $STACK_WORKERS copies of the binary running and restarts any that dies.
stack_endpoint() {
    local name="$1" bin="$STACK_BIN/$1.fcgi" msg
    if ! msg=$(setpriv --reuid="$STACK_FCGI_USER" --regid="$STACK_FCGI_USER" \
            --clear-groups "$bin" --check-config 2>&1); then
        stack_log "$msg"
        return 1
    fi
    stack_spawn_fcgi "$name" "$bin"
    STACK_EP_PIDS="$STACK_EP_PIDS $STACK_FCGI_PID"
}

# Run FastCGI program BIN on socket $STACK_RUNDIR/NAME.sock as the
# endpoints are run (also for a benchmark's own programs).  Sets
# STACK_FCGI_PID; stack_stop stops it.
stack_spawn_fcgi() { # name bin
    rm -f "$STACK_RUNDIR/$1.sock"
    spawn-fcgi -n -s "$STACK_RUNDIR/$1.sock" -M 0660 \
        -U "$STACK_NGINX_USER" -G "$STACK_NGINX_USER" \
        -u "$STACK_FCGI_USER" -g "$STACK_FCGI_USER" \
        -- /usr/bin/multiwatch -f "$STACK_WORKERS" -- "$2" \
        >>"$STACK_RUNDIR/fcgi-$1.log" 2>&1 &
    STACK_FCGI_PID=$!
    STACK_PIDS="$STACK_PIDS $STACK_FCGI_PID"
}

stack_start_endpoints() {
    local ep
    STACK_EP_PIDS=""
    for ep in $STACK_ENDPOINTS; do
        stack_endpoint "$ep" || return 1
    done
    # Wait for every socket.
    local i
    for ((i = 0; i < 50; i++)); do
        local missing=0
        for ep in $STACK_ENDPOINTS; do
            [ -S "$STACK_RUNDIR/$ep.sock" ] || missing=1
        done
        [ $missing = 0 ] && return 0
        sleep 0.1
    done
    stack_log "endpoint sockets did not appear in $STACK_RUNDIR"
    return 1
}

# Restart the endpoints, e.g. with another configuration in the environment.
stack_restart_endpoints() {
    local p keep=""
    # shellcheck disable=SC2086
    stack_kill_pids $STACK_EP_PIDS
    for p in $STACK_PIDS; do
        case " $STACK_EP_PIDS " in *" $p "*) ;; *) keep="$keep $p" ;; esac
    done
    STACK_PIDS="$keep"
    stack_start_endpoints
}

stack_wait_http() { # url expected-status seconds
    local i code
    for ((i = 0; i < $3 * 10; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true)
        [ "$code" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# Start program BIN as target NAME with the agent preloaded, and wait for
# its control block.  Prints nothing; sets STACK_TARGET_PID.  Extra
# arguments go to the program; its output to $STACK_RUNDIR/demo-NAME.log.
# STACK_TARGET_AGENT, when set, replaces the agent library.
stack_start_target() {
    local name="$1" bin="$2"
    shift 2
    LD_PRELOAD="${STACK_TARGET_AGENT:-$STACK_AGENT}" LYNXPROF_NAME="$name" \
        LYNXPROF_GROUP="$STACK_FCGI_USER" \
        "$bin" "$@" >>"$STACK_RUNDIR/demo-$name.log" 2>&1 &
    STACK_TARGET_PID=$!
    STACK_PIDS="$STACK_PIDS $STACK_TARGET_PID"
    local i
    for ((i = 0; i < 50; i++)); do
        [ -e "/dev/shm/lynxprof.$name" ] && return 0
        stack_alive "$STACK_TARGET_PID" || break
        sleep 0.1
    done
    stack_log "the target '$name' did not start; see $STACK_RUNDIR/demo-$name.log"
    return 1
}

# Start the demo target with the agent preloaded.  Prints nothing; sets
# STACK_DEMO_PID.  Extra arguments go to the demo.  STACK_DEMO_EXE and
# STACK_DEMO_AGENT, when set, replace the program and the agent library.
stack_start_demo() {
    local name="$1"
    shift
    STACK_TARGET_AGENT="${STACK_DEMO_AGENT:-}" \
        stack_start_target "$name" "${STACK_DEMO_EXE:-$STACK_BIN/lynx-demo}" "$@"
    local rc=$?
    STACK_DEMO_PID=$STACK_TARGET_PID
    return $rc
}

# Start a second demo target whose program and preloaded agent are copies
# of mode 0711 in directory DIR: the endpoints' user may run them but not
# read them, as with a program installed that way.  Sets STACK_SECRET_PID
# and STACK_SECRET_PROG (the program's path).  Extra arguments go to the demo.
stack_start_unreadable_demo() { # name dir [demo arguments...]
    local name="$1" dir="$2" demo_pid="${STACK_DEMO_PID:-}" rc
    shift 2
    mkdir -p "$dir"
    chmod 0755 "$dir"
    cp "$STACK_BIN/lynx-demo" "$dir/lynx-demo"
    cp "$(readlink -f "$STACK_AGENT")" "$dir/libprofile-agent.so"
    chmod 0711 "$dir/lynx-demo" "$dir/libprofile-agent.so"
    STACK_SECRET_PROG="$dir/lynx-demo"
    STACK_DEMO_EXE="$dir/lynx-demo" STACK_DEMO_AGENT="$dir/libprofile-agent.so" \
        stack_start_demo "$name" "$@"
    rc=$?
    STACK_SECRET_PID="$STACK_DEMO_PID"
    STACK_DEMO_PID="$demo_pid"
    return "$rc"
}

stack_start() {
    : "${STACK_PORT:=8080}" "${STACK_TLS_PORT:=8443}" "${STACK_APP_PORT:=8081}"
    : "${STACK_DEMO_NAME:=lynx-demo}" "${STACK_WORKERS:=2}" "${STACK_RATE:=50r/s}"
    : "${STACK_DEMO_ARGS:=--threads 2}"
    STACK_PIDS=""
    STACK_EP_PIDS=""
    mkdir -p "$STACK_RUNDIR"
    chmod 0755 "$STACK_RUNDIR"
    stack_users
    stack_stage || return 1
    stack_config
    stack_start_endpoints || return 1
    # shellcheck disable=SC2086
    stack_start_demo "$STACK_DEMO_NAME" $STACK_DEMO_ARGS --http "$STACK_APP_PORT" || return 1
    nginx -e "$STACK_RUNDIR/nginx-error.log" -c "$STACK_RUNDIR/conf/nginx.conf" \
        >>"$STACK_RUNDIR/nginx-stdout.log" 2>&1 &
    STACK_NGINX_PID=$!
    STACK_PIDS="$STACK_PIDS $STACK_NGINX_PID"
    if ! stack_wait_http "http://127.0.0.1:$STACK_PORT/api/v1/profiling/memory" 401 10; then
        stack_log "nginx did not come up on 127.0.0.1:$STACK_PORT; see $STACK_RUNDIR/nginx-error.log"
        tail -5 "$STACK_RUNDIR/nginx-error.log" >&2 2>/dev/null || true
        return 1
    fi
}

# True while pid runs (a zombie child counts as gone).
stack_alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ "${st:0:1}" != Z ]
}

# Stop a list of pids: TERM, then KILL after 5 s; reap them.
stack_kill_pids() {
    local p i alive
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for p in "$@"; do
            stack_alive "$p" && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

stack_stop() {
    # shellcheck disable=SC2086
    [ -n "${STACK_PIDS:-}" ] && stack_kill_pids $STACK_PIDS
    STACK_PIDS=""
    local ep
    for ep in $STACK_ENDPOINTS; do rm -f "$STACK_RUNDIR/$ep.sock"; done
}
