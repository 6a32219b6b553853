# shellcheck shell=bash
# Shared by the measuring scripts (compare.sh, cpu.sh, split.sh, memory.sh,
# instructions.sh; sourced, not run): where things are,
# installing the tools, building, and starting and stopping servers so that
# every process a script starts is stopped again, even on Ctrl-C.
#
# Servers, by name:
#   sylar  ours: target/release/sylar --bind 127.0.0.1:PORT --threads 1 --quiet
#   hyper  tokio + hyper 1.x, current-thread runtime (peers/src/bin/hyper_hello.rs)
#   may    may_minihttp, one worker (peers/src/bin/may_hello.rs)
#   nginx  nginx, one worker, `return 200` (peers/nginx.conf via run-nginx.sh)
#   sylar-nopoll  ours with busy polling off (--busy-poll 0; chapter 5)
#   ceiling  canned answers, no HTTP, never sleeps (peers/src/bin/ceiling.rs):
#          the most the client can drive on this machine

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$PEERS_DIR/../.." && pwd)
OURS_BIN=${SYLAR_BIN:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/sylar}
PEERS_BIN=${CARGO_TARGET_DIR:-$PEERS_DIR/target}/release
PORT_BASE=${PORT_BASE:-18080}
ALL_SERVERS=(sylar sylar-nopoll hyper may nginx ceiling)
# The real servers, for memory.sh's `all`: the ceiling holds no state.
REAL_SERVERS=(sylar hyper may nginx)
PATH=$PATH:/usr/sbin:/sbin

STARTED_PIDS=() # every process we started and have not seen end yet
SERVER_PID=     # the server started last (nginx: the master)
MEASURE_PID=    # the process doing the work (nginx: the worker)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/sylar-peers.XXXXXX")

log() { printf '%s\n' "$*" >&2; }

# A human name for the tables.
server_label() {
    case $1 in
    sylar) echo "sylar (ours)" ;;
    sylar-nopoll) echo "sylar, busy polling off" ;;
    hyper) echo "tokio+hyper (current-thread)" ;;
    may) echo "may_minihttp (1 worker)" ;;
    nginx) echo "nginx (1 worker)" ;;
    ceiling) echo "ceiling (canned bytes, no HTTP)" ;;
    *) echo "$1" ;;
    esac
}

server_port() {
    case $1 in
    sylar) echo $((PORT_BASE + 0)) ;;
    hyper) echo $((PORT_BASE + 1)) ;;
    may) echo $((PORT_BASE + 2)) ;;
    nginx) echo $((PORT_BASE + 3)) ;;
    sylar-nopoll) echo $((PORT_BASE + 4)) ;;
    ceiling) echo $((PORT_BASE + 5)) ;;
    *) log "unknown server '$1' (known: ${ALL_SERVERS[*]})" && return 1 ;;
    esac
}

# Sets CMD to the command line that runs server $1 on port $2.
server_cmd() {
    case $1 in
    sylar) CMD=("$OURS_BIN" --bind "127.0.0.1:$2" --threads 1 --quiet) ;;
    sylar-nopoll) CMD=("$OURS_BIN" --bind "127.0.0.1:$2" --threads 1 --busy-poll 0 --quiet) ;;
    ceiling) CMD=("$PEERS_BIN/ceiling" --bind "127.0.0.1:$2") ;;
    hyper) CMD=("$PEERS_BIN/hyper_hello" --bind "127.0.0.1:$2") ;;
    may) CMD=("$PEERS_BIN/may_hello" --bind "127.0.0.1:$2") ;;
    nginx) CMD=("$PEERS_DIR/run-nginx.sh" "$2" "$SCRATCH/nginx-$2") ;;
    esac
}

# Removes server $1 from the array `servers` (exact names only).
drop_server() {
    local s kept=()
    for s in "${servers[@]}"; do [ "$s" = "$1" ] || kept+=("$s"); done
    servers=("${kept[@]}")
}

# Sets `order` to `servers` rotated for round $1 (1-based): each round starts
# one server later, so drift on a shared machine is spread over all servers
# rather than always hitting the one that runs last.
rotate_servers() {
    local i n=${#servers[@]}
    order=()
    for ((i = 0; i < n; i++)); do
        order+=("${servers[(i + $1 - 1) % n]}")
    done
}

# True when `servers` holds a build of ours.
wants_ours() { [[ " ${servers[*]} " == *" sylar "* || " ${servers[*]} " == *" sylar-nopoll "* ]]; }

# Installs with apt-get whatever of the given commands is missing.
ensure_tools() {
    local cmd missing=()
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null && continue
        case $cmd in
        taskset) missing+=(util-linux) ;;
        pgrep) missing+=(procps) ;;
        perf) missing+=(linux-perf) ;;
        ss) missing+=(iproute2) ;;
        *) missing+=("$cmd") ;;
        esac
    done
    ((${#missing[@]})) || return 0
    local sudo=
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing ${missing[*]} with apt-get"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# 1000 wrk connections and 10,000 idle ones need more descriptors than the
# usual 1024; children (servers, wrk, idle_clients) inherit the limit.
raise_nofile() {
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    if (($(ulimit -n) < ${1:-4096})); then
        log "warning: ulimit -n is $(ulimit -n), below the ${1:-4096} this run needs"
    fi
}

# Builds ours in release; returns 1 (after saying why) if it cannot.
build_ours() {
    local logf=$1
    if [ -n "${SYLAR_BIN:-}" ]; then
        log "ours: using SYLAR_BIN=$SYLAR_BIN as it is (not building)"
        [ -x "$SYLAR_BIN" ] || { log "ours: $SYLAR_BIN is not executable" && return 1; }
        return 0
    fi
    log "building ours: cargo build --release -p sylar-tcpserver"
    if ! (cd "$REPO_ROOT" && cargo build --release -p sylar-tcpserver) >"$logf" 2>&1; then
        log "ours: the build failed (log: $logf); carrying on with the peers alone:"
        tail -n 5 "$logf" | sed 's/^/    /' >&2
        return 1
    fi
    if [ ! -x "$OURS_BIN" ]; then
        log "ours: $OURS_BIN is missing after the build; carrying on with the peers alone"
        return 1
    fi
}

# Builds the peers in release, exactly as locked; failing here is fatal.
build_peers() {
    local logf=$1
    log "building the peers: cargo build --release --locked --manifest-path 07-tcpserver/peers/Cargo.toml"
    if ! (cd "$REPO_ROOT" && cargo build --release --locked \
        --manifest-path 07-tcpserver/peers/Cargo.toml) >"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        log "the peers did not build (log: $logf)"
        return 1
    fi
}

# Builds the peers (fatal if that fails) and ours; if ours does not build,
# drops it from `servers` and carries on with the peers. Logs go to $1.
build_all() {
    build_peers "$1/build-peers.log"
    if wants_ours && ! build_ours "$1/build-ours.log"; then
        drop_server sylar
        drop_server sylar-nopoll
    fi
}

# The set-up cpu.sh and split.sh share, once `servers` is set: refuses an
# unknown server name (exit 2), reads ROUNDS, DURATION (seconds; a trailing
# "s" is dropped), CONNS and OUT (default peers/target/$1/<time>) from the
# environment, creates OUT and installs the tools both need.
measure_setup() {
    local s
    for s in "${servers[@]}"; do server_port "$s" >/dev/null || exit 2; done
    ROUNDS=${ROUNDS:-3}
    DURATION=${DURATION:-6}
    DURATION=${DURATION%s}
    CONNS=${CONNS:-16 100 1000}
    OUT=${OUT:-$PEERS_DIR/target/$1/$(date +%Y%m%d-%H%M%S)}
    mkdir -p "$OUT"
    ensure_tools wrk nginx curl taskset pgrep python3 perf
    raise_nofile 4096
}

# The measuring loop of cpu.sh and split.sh: ROUNDS rounds; in each, every
# server of `servers` in rotated order, started pinned to CPU 0; for each
# connection count of CONNS, a 2 s wrk warm-up, then `$1 NAME CONNS ROUND`,
# which measures MEASURE_PID while wrk runs (`perf_beside_wrk`) and records
# what it found. URL is the server's /hello.
measure_rounds() {
    local measure=$1 round name conns
    for ((round = 1; round <= ROUNDS; round++)); do
        rotate_servers "$round"
        for name in "${order[@]}"; do
            start_server "$name" 0 "$OUT/$name.log" || continue
            URL=http://127.0.0.1:$(server_port "$name")/hello
            for conns in $CONNS; do
                taskset -c 1 wrk -t2 -c"$conns" -d2s "$URL" >/dev/null 2>&1 || true # warm-up
                "$measure" "$name" "$conns" "$round"
            done
            stop_server
        done
    done
}

# Runs `wrk -t2 -c$1` pinned to CPU 1 against URL for DURATION seconds and
# prints the number of requests it completed.
wrk_requests() {
    taskset -c 1 wrk -t2 -c"$1" -d"${DURATION}s" "$URL" | awk '/requests in/ { print $1 }'
}

# Runs `perf ARGS... -p MEASURE_PID -- sleep DURATION` (its messages in $2)
# beside `wrk_requests $1`, and prints wrk's request count. Returns 1, having
# said why, if perf failed or wrk completed no request: the caller skips
# the run rather than divide by nothing.
perf_beside_wrk() {
    local conns=$1 perf_log=$2 perf_pid requests status=0
    shift 2
    perf "$@" -p "$MEASURE_PID" -- sleep "$DURATION" >"$perf_log" 2>&1 &
    perf_pid=$!
    requests=$(wrk_requests "$conns") || true
    wait "$perf_pid" || status=$?
    if ((status != 0)); then
        log "  perf failed (status $status, messages in $perf_log): run skipped"
        return 1
    fi
    if ! [[ $requests =~ ^[0-9]+$ ]] || ((requests == 0)); then
        log "  wrk completed no request (${requests:-no output}): run skipped"
        return 1
    fi
    printf '%s\n' "$requests"
}

# True while process $1 exists and is not a zombie.
alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# True if something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# user + system CPU time of process $1, in clock ticks (all its threads).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# Resident memory of process $1, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Stops process $1: SIGTERM, up to 5 s to exit, then SIGKILL; reaps it.
stop_pid() {
    local pid=$1 i
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            alive "$pid" || break
            sleep 0.05
        done
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${STARTED_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
    STARTED_PIDS=("${kept[@]}")
}

# Starts server $1 (pinned to CPU $2 if given) with its output in $3, and
# waits until GET /hello answers 200. Sets SERVER_PID and MEASURE_PID.
# Returns 1, having said why and stopped it, if it does not answer in 10 s.
start_server() {
    local name=$1 cpu=$2 logf=$3 port i code status=0 pin=()
    port=$(server_port "$name") || return 1
    if port_open "$port"; then
        log "$name: port $port is already taken by another program (set PORT_BASE=...)"
        return 1
    fi
    server_cmd "$name" "$port"
    [ -n "$cpu" ] && pin=(taskset -c "$cpu")
    "${pin[@]}" "${CMD[@]}" >>"$logf" 2>&1 </dev/null &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    for ((i = 0; i < 200; i++)); do
        if ! alive "$SERVER_PID"; then
            wait "$SERVER_PID" 2>/dev/null || status=$?
            stop_pid "$SERVER_PID"
            log "$name: exited with status $status before answering on :$port (log: $logf)"
            return 1
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/hello") || true
        [ "$code" = 200 ] && break
        sleep 0.05
    done
    if ((i == 200)); then
        log "$name: no 200 from http://127.0.0.1:$port/hello within 10 s (last: $code; log: $logf)"
        stop_server
        return 1
    fi
    MEASURE_PID=$SERVER_PID
    if [ "$name" = nginx ]; then
        # The master only supervises; the one worker serves.
        MEASURE_PID=$(pgrep -P "$SERVER_PID" | head -n 1)
        STARTED_PIDS+=("$MEASURE_PID")
    fi
}

# Stops the server started last (and the nginx worker, should it linger).
stop_server() {
    if [ -n "$SERVER_PID" ]; then stop_pid "$SERVER_PID"; fi
    if [ -n "$MEASURE_PID" ] && [ "$MEASURE_PID" != "$SERVER_PID" ]; then
        stop_pid "$MEASURE_PID"
    fi
    SERVER_PID='' MEASURE_PID=''
}

# On any exit, Ctrl-C included: stop everything still running, newest first.
cleanup() {
    local i
    trap - INT TERM
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STARTED_PIDS[i]}"
    done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'log "interrupted: stopping what was started"; exit 130' INT TERM
