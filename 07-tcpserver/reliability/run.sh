#!/usr/bin/env bash
# The long reliability scenarios of issue 8, against the release `sylar`
# binary: load, slow clients, faults at scale, shutdown under load. Prints a
# pass/fail table with the figures; exits 1 if any check failed.
#
#   07-tcpserver/reliability/run.sh [SCENARIO...]
#       scenarios: load slowloris slowbody resets emfile shutdown
#       (default: all, in that order)
#
# Settings, from the environment (defaults keep the whole run to a few minutes):
#   DURATION=60s          load: length of the wrk run
#   LOAD_CONNS=10000      load: concurrent keep-alive connections
#   THREADS=2             the server's I/O threads (--threads)
#   SLOW_CONNS=1000       slowloris: slow connections, kept at that number...
#   SLOW_INTERVAL_MS=2000 ...each sending a header byte this often
#   SLOW_DURATION=20s     slowloris, slowbody: each wrk run (unloaded, then beside them)
#   WRK_CONNS=100         slowloris, slowbody: wrk connections
#   SLOWBODY_CONNS=1000   slowbody: slow POSTs (Content-Length SLOWBODY_LEN=1000000),
#                         kept at that number, each sending...
#   SLOWBODY_CHUNK=500    ...this many body bytes...
#   SLOWBODY_INTERVAL_MS=1000 ...this often (500 bytes/s: half MIN_BODY_RATE)
#   HEAD_TIMEOUT_MS=5000  http.request.head_timeout of the server under test
#   MIN_BODY_RATE=1000    http.request.min_body_rate (bytes/s; 0 turns the check off)
#   BODY_GRACE_MS=2000    http.request.body_grace
#   READ_TIMEOUT_MS=30000 tcp_server.read_timeout of the server under test
#   RST_CONNS=4000        resets: resetting clients, in 4 kinds
#   EMFILE_NOFILE=64      emfile: `ulimit -n` of the server under test
#   EMFILE_CONNS=100      emfile: clients that connect at once
#   GRACE_MS=5000         shutdown: server.shutdown_grace
#   SHUTDOWN_CONNS=1000   shutdown: wrk connections when SIGINT arrives (and 200 more
#                         from a client that tells a clean close from a reset)
#   PORT_BASE=18180       the server listens on 127.0.0.1:PORT_BASE
#   SYLAR_BIN=...         run this binary instead of building target/release/sylar
#   OUT=...               raw outputs (default: reliability/target/run/<time>)
#
# Set-up: the README's (Rust), plus wrk, curl and procps, which this script
# installs with apt-get when missing. It raises `ulimit -n` itself.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# Shared with the peers' scripts: tools, fd limit, building ours, process
# bookkeeping, and a trap that stops every process we started, Ctrl-C included.
source "$HERE/../peers/lib.sh"

DURATION=${DURATION:-60s}
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION=${DURATION}s
LOAD_CONNS=${LOAD_CONNS:-10000}
THREADS=${THREADS:-2}
SLOW_CONNS=${SLOW_CONNS:-1000}
SLOW_INTERVAL_MS=${SLOW_INTERVAL_MS:-2000}
SLOW_DURATION=${SLOW_DURATION:-20s}
[[ $SLOW_DURATION =~ ^[0-9]+$ ]] && SLOW_DURATION=${SLOW_DURATION}s
WRK_CONNS=${WRK_CONNS:-100}
SLOWBODY_CONNS=${SLOWBODY_CONNS:-1000}
SLOWBODY_LEN=${SLOWBODY_LEN:-1000000}
SLOWBODY_CHUNK=${SLOWBODY_CHUNK:-500}
SLOWBODY_INTERVAL_MS=${SLOWBODY_INTERVAL_MS:-1000}
HEAD_TIMEOUT_MS=${HEAD_TIMEOUT_MS:-5000}
MIN_BODY_RATE=${MIN_BODY_RATE:-1000}
BODY_GRACE_MS=${BODY_GRACE_MS:-2000}
READ_TIMEOUT_MS=${READ_TIMEOUT_MS:-30000}
RST_CONNS=${RST_CONNS:-4000}
EMFILE_NOFILE=${EMFILE_NOFILE:-64}
EMFILE_CONNS=${EMFILE_CONNS:-100}
GRACE_MS=${GRACE_MS:-5000}
SHUTDOWN_CONNS=${SHUTDOWN_CONNS:-1000}
PORT=${PORT_BASE:-18180}
OUT=${OUT:-$HERE/target/run/$(date +%Y%m%d-%H%M%S)}
CLIENTS=$HERE/target/release
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(load slowloris slowbody resets emfile shutdown)
for s in "${scenarios[@]}"; do
    case $s in
    load | slowloris | slowbody | resets | emfile | shutdown) ;;
    *) log "unknown scenario '$s' (known: load slowloris slowbody resets emfile shutdown)" && exit 2 ;;
    esac
done
# slowbody's clients must be slower than the minimum rate (when it is on).
if ((MIN_BODY_RATE > 0 && SLOWBODY_CHUNK * 1000 >= MIN_BODY_RATE * SLOWBODY_INTERVAL_MS)); then
    log "slowbody: SLOWBODY_CHUNK bytes every SLOWBODY_INTERVAL_MS ms is not below MIN_BODY_RATE"
    exit 2
fi

mkdir -p "$OUT"
ensure_tools wrk curl pgrep
raise_nofile $((LOAD_CONNS + 2000))
build_ours "$OUT/build-ours.log" || exit 1
log "building the clients: cargo build --release --locked --manifest-path 07-tcpserver/reliability/Cargo.toml"
(cd "$REPO_ROOT" && cargo build --release --locked --manifest-path 07-tcpserver/reliability/Cargo.toml) \
    >"$OUT/build-clients.log" 2>&1 || { tail -n 20 "$OUT/build-clients.log" >&2; exit 1; }

# The configuration of the server under test.
CONF=$OUT/conf
mkdir -p "$CONF"
cat >"$CONF/reliability.yml" <<EOF
http:
  request:
    head_timeout: $HEAD_TIMEOUT_MS
    min_body_rate: $MIN_BODY_RATE
    body_grace: $BODY_GRACE_MS
tcp_server:
  read_timeout: $READ_TIMEOUT_MS
server:
  shutdown_grace: $GRACE_MS
EOF

CLK_TCK=$(getconf CLK_TCK)
TABLE=$OUT/table.tsv
: >"$TABLE"
FAILED=0

# record SCENARIO CHECK FIGURE OK: one row of the table (OK: 1 = pass).
record() {
    local verdict=PASS
    [ "$4" = 1 ] || { verdict=FAIL; FAILED=1; }
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$verdict" >>"$TABLE"
    log "  [$verdict] $1: $2 -- $3"
}

# start_sylar LOG [NOFILE]: starts the server on $PORT (with `ulimit -n
# NOFILE` if given) and waits until /hello answers. Sets SYLAR_PID.
start_sylar() {
    local logf=$1 nofile=${2:-} i
    if port_open "$PORT"; then
        log "port $PORT is taken by another program (set PORT_BASE=...)"
        return 1
    fi
    local cmd=("$OURS_BIN" -c "$CONF" --bind "127.0.0.1:$PORT" --threads "$THREADS" --quiet)
    if [ -n "$nofile" ]; then
        bash -c 'ulimit -n "$1" && shift && exec "$@"' _ "$nofile" "${cmd[@]}" >>"$logf" 2>&1 </dev/null &
    else
        "${cmd[@]}" >>"$logf" 2>&1 </dev/null &
    fi
    SYLAR_PID=$!
    STARTED_PIDS+=("$SYLAR_PID")
    for ((i = 0; i < 200; i++)); do
        alive "$SYLAR_PID" || { log "sylar exited at start (log: $logf)"; return 1; }
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/hello")" = 200 ] && return 0
        sleep 0.05
    done
    log "sylar did not answer within 10 s (log: $logf)"
    return 1
}

# status FIELD: a line of the server's /_/status page ("" if it does not answer).
status() {
    curl -s --max-time 5 "http://127.0.0.1:$PORT/_/status" | awk -v k="$1:" '$1 == k { print $2 }'
}

# kv LINE KEY: the number after " KEY=" in a client's summary line.
kv() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$1"; }

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# idle_state PID [FIBERS FDS]: "connections fibers fds" once the server is
# idle (only our status request open, and no more fibers and fds than given)
# or after 30 s; fds are counted before asking.
idle_state() {
    local pid=$1 i fds conns fibers
    for ((i = 0; i < 300; i++)); do
        fds=$(fd_count "$pid")
        conns=$(status connections)
        fibers=$(status fibers)
        [ "$conns" = 1 ] && [ "${fibers:-x}" -le "${2:-999999}" ] && [ "$fds" -le "${3:-999999}" ] && break
        sleep 0.1
    done
    echo "$conns $fibers $fds"
}

# run_wrk OUT ARGS...: runs wrk in the background and waits for it (so that
# Ctrl-C reaches our trap), then parses its output into WRK_* variables.
run_wrk() {
    local out=$1
    shift
    wrk "$@" >"$out" 2>&1 </dev/null &
    STARTED_PIDS+=($!)
    wait $! || true
    stop_pid $!
    run_wrk_parse "$out"
}

# run_wrk_parse OUT: wrk's figures (and check.lua's) from its output, into
# WRK_REQUESTS WRK_RPS WRK_CONNECT WRK_READ WRK_WRITE WRK_TIMEOUT WRK_NON2XX
# WRK_GOOD WRK_BAD.
run_wrk_parse() {
    read -r WRK_REQUESTS WRK_RPS WRK_CONNECT WRK_READ WRK_WRITE WRK_TIMEOUT WRK_NON2XX WRK_GOOD WRK_BAD < <(awk '
        / requests in / { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /^ +Socket errors:/ { gsub(/,/, ""); c = $4; r = $6; w = $8; t = $10 }
        /^ +Non-2xx or 3xx responses:/ { n = $5 }
        /^checked:/ { split($2, g, "="); split($3, b, "="); good = g[2]; bad = b[2] }
        END { printf "%d %.0f %d %d %d %d %d %d %d\n", req, rps, c, r, w, t, n, good, bad }' "$1")
}

# cpu_percent PID SECONDS: the CPU the process used over SECONDS, in % of one core.
cpu_percent() {
    local t0 t1
    t0=$(cpu_ticks "$1")
    sleep "$2"
    t1=$(cpu_ticks "$1")
    echo $(((t1 - t0) * 100 / CLK_TCK / $2))
}

# fiber_limit MEASURED: the most fibers an idle server may keep: what was
# measured idle, and never less than its accept fiber, one spare runner per
# worker thread (chapter 4) and the fiber answering the status request.
fiber_limit() { echo $(($1 > THREADS + 2 ? $1 : THREADS + 2)); }

warm_up() { wrk -t2 -c"$((THREADS * 8))" -d2s "http://127.0.0.1:$PORT/hello" >/dev/null 2>&1 || true; }

# ANCHOR: scenario_load
scenario_load() {
    log ""
    log "== load: $LOAD_CONNS keep-alive connections for $DURATION, every response checked"
    start_sylar "$OUT/load-sylar.log" || { record load "server starts" "did not start" 0; return; }
    warm_up
    read -r base_conns base_fibers base_fds < <(idle_state "$SYLAR_PID")
    log "   idle: connections $base_conns, fibers $base_fibers, fds $base_fds"
    local secs=${DURATION%s} peak=0
    # Sample the connection count in the middle of the run.
    (sleep $((secs / 2)) && status connections >"$OUT/load-peak.txt") </dev/null &
    STARTED_PIDS+=($!)
    local t0 t1 w0 w1
    t0=$(cpu_ticks "$SYLAR_PID") w0=$(date +%s%N)
    run_wrk "$OUT/load-wrk.txt" -t2 -c"$LOAD_CONNS" -d"$DURATION" --timeout 30s \
        -s "$HERE/check.lua" "http://127.0.0.1:$PORT/hello"
    t1=$(cpu_ticks "$SYLAR_PID") w1=$(date +%s%N)
    local cpu=$(((t1 - t0) * 100 * 1000000000 / CLK_TCK / (w1 - w0)))
    peak=$(cat "$OUT/load-peak.txt" 2>/dev/null || echo 0)
    local errors=$((WRK_CONNECT + WRK_READ + WRK_WRITE + WRK_TIMEOUT))
    record load "$LOAD_CONNS connections held (mid-run /_/status)" \
        "$((peak - 1)) open" "$([ $((peak - 1)) -ge "$LOAD_CONNS" ] && echo 1)"
    record load "zero errors" \
        "$WRK_REQUESTS requests, $WRK_RPS req/s (server CPU $cpu % of one core); socket errors: connect $WRK_CONNECT, read $WRK_READ, write $WRK_WRITE, timeout $WRK_TIMEOUT; non-2xx $WRK_NON2XX" \
        "$([ "$errors" = 0 ] && [ "$WRK_NON2XX" = 0 ] && [ "$WRK_REQUESTS" -gt 0 ] && echo 1)"
    record load "every response correct (200, Hello World)" \
        "$WRK_GOOD good, $WRK_BAD wrong" \
        "$([ "$WRK_BAD" = 0 ] && [ "$WRK_GOOD" = "$WRK_REQUESTS" ] && echo 1)"
    record_back_to_idle load
    stop_pid "$SYLAR_PID"
}
# ANCHOR_END: scenario_load

# ANCHOR: back_to_idle
# record_back_to_idle SCENARIO: waits until the server is idle again and
# records whether its connections, fibers and fds are back to what they
# were before the scenario (the caller's base_conns, base_fibers, base_fds).
record_back_to_idle() {
    local limit conns fibers fds
    limit=$(fiber_limit "$base_fibers")
    read -r conns fibers fds < <(idle_state "$SYLAR_PID" "$limit" "$base_fds")
    record "$1" "back to idle: connections, fibers, fds" \
        "connections $conns (idle $base_conns), fibers $fibers (idle $base_fibers, limit $limit), fds $fds (idle $base_fds)" \
        "$([ "$conns" = 1 ] && [ "$fibers" -le "$limit" ] && [ "$fds" -le "$base_fds" ] && echo 1)"
}
# ANCHOR_END: back_to_idle

# wrk_beside_slow_clients NAME CLIENT-ARGS...: starts the slowloris client
# with CLIENT-ARGS (its report in $OUT/NAME.txt) and, once it is dribbling,
# runs wrk beside it (figures in WRK_RPS and the WRK_* error counts); then
# waits for the client to end.
wrk_beside_slow_clients() {
    local name=$1 slow_pid
    shift
    "$CLIENTS/slowloris" --addr "127.0.0.1:$PORT" "$@" >"$OUT/$name.txt" 2>&1 </dev/null &
    slow_pid=$!
    STARTED_PIDS+=("$slow_pid")
    while alive "$slow_pid" && ! grep -q "dribbling" "$OUT/$name.txt"; do sleep 0.1; done
    run_wrk "$OUT/$name-wrk-beside.txt" -t2 -c"$WRK_CONNS" -d"$SLOW_DURATION" "http://127.0.0.1:$PORT/hello"
    wait "$slow_pid" || true
    stop_pid "$slow_pid"
}

# ANCHOR: scenario_slowloris
scenario_slowloris() {
    log ""
    log "== slowloris: $SLOW_CONNS connections, a header byte every $SLOW_INTERVAL_MS ms, beside wrk -c$WRK_CONNS"
    start_sylar "$OUT/slowloris-sylar.log" || { record slowloris "server starts" "did not start" 0; return; }
    warm_up
    run_wrk "$OUT/slowloris-wrk-alone.txt" -t2 -c"$WRK_CONNS" -d"$SLOW_DURATION" "http://127.0.0.1:$PORT/hello"
    local alone=$WRK_RPS secs=${SLOW_DURATION%s}
    wrk_beside_slow_clients slowloris --conns "$SLOW_CONNS" \
        --interval-ms "$SLOW_INTERVAL_MS" --reopen-secs "$secs" --max-secs $((secs + 60))
    local beside=$WRK_RPS beside_errors=$((WRK_CONNECT + WRK_READ + WRK_WRITE + WRK_TIMEOUT + WRK_NON2XX))
    local line opened closed got_408 still max_ms median_ms
    line=$(grep '^slowloris: conns=' "$OUT/slowloris.txt" || echo "")
    opened=$(kv "$line" opened) closed=$(kv "$line" closed) got_408=$(kv "$line" got_408) still=$(kv "$line" still_open)
    median_ms=$(kv "$line" closed_after_ms_median) max_ms=$(kv "$line" closed_after_ms_max)
    local limit=$((HEAD_TIMEOUT_MS + 2 * SLOW_INTERVAL_MS + 2000))
    record slowloris "every slow connection closed by the head timeout (${HEAD_TIMEOUT_MS} ms)" \
        "${closed:-0} of ${opened:-0} closed, ${got_408:-0} with 408, ${still:-?} left; after ${median_ms:-?} ms median, ${max_ms:-?} ms max (limit $limit)" \
        "$([ -n "$opened" ] && [ "$opened" -ge "$SLOW_CONNS" ] && [ "$closed" = "$opened" ] && [ "$got_408" = "$closed" ] && [ "$max_ms" -le "$limit" ] && echo 1)"
    local ratio=$((beside * 100 / (alone > 0 ? alone : 1)))
    record slowloris "wrk throughput within 20 % of the unloaded figure" \
        "$beside req/s beside them, $alone alone: $ratio %; wrk errors beside: $beside_errors" \
        "$([ "$ratio" -ge 80 ] && [ "$beside_errors" = 0 ] && echo 1)"
    stop_pid "$SYLAR_PID"
}
# ANCHOR_END: scenario_slowloris

# ANCHOR: scenario_slowbody
scenario_slowbody() {
    local rate=$((SLOWBODY_CHUNK * 1000 / SLOWBODY_INTERVAL_MS))
    log ""
    log "== slowbody: $SLOWBODY_CONNS POSTs of $SLOWBODY_LEN bytes, $SLOWBODY_CHUNK body bytes every $SLOWBODY_INTERVAL_MS ms ($rate bytes/s), beside wrk -c$WRK_CONNS"
    start_sylar "$OUT/slowbody-sylar.log" || { record slowbody "server starts" "did not start" 0; return; }
    warm_up
    read -r base_conns base_fibers base_fds < <(idle_state "$SYLAR_PID")
    run_wrk "$OUT/slowbody-wrk-alone.txt" -t2 -c"$WRK_CONNS" -d"$SLOW_DURATION" "http://127.0.0.1:$PORT/hello"
    local alone=$WRK_RPS secs=${SLOW_DURATION%s}
    # When the server must have cut a client off, timed from its head: a body
    # that gets at most $rate bytes/s falls behind grace + received /
    # min_body_rate by grace * min_body_rate / (min_body_rate - rate) ms (the
    # bytes buy the time over the grace), and the server sees it after the
    # next read that brings bytes: when the next chunk arrives, or at the
    # read timeout if that is sooner. Plus 2 s of margin.
    # Never before the grace: a client slowed down by a busy machine sends
    # less, and may rightly be cut off sooner than on schedule.
    local wait=$((SLOWBODY_INTERVAL_MS < READ_TIMEOUT_MS ? SLOWBODY_INTERVAL_MS : READ_TIMEOUT_MS))
    local behind=0 earliest=$BODY_GRACE_MS limit=0
    if ((MIN_BODY_RATE > 0)); then
        behind=$((BODY_GRACE_MS * MIN_BODY_RATE / (MIN_BODY_RATE - rate)))
        limit=$((behind + wait + 2000))
        log "   expected: behind after $behind ms, so cut off between $earliest and $limit ms (min_body_rate $MIN_BODY_RATE, body_grace $BODY_GRACE_MS ms, next chunk or read timeout $wait ms, margin 2000 ms)"
    else
        log "   min_body_rate 0: the check is off, nothing should cut them off (this run's first check fails)"
    fi
    wrk_beside_slow_clients slowbody --conns "$SLOWBODY_CONNS" \
        --body-len "$SLOWBODY_LEN" --chunk "$SLOWBODY_CHUNK" --interval-ms "$SLOWBODY_INTERVAL_MS" \
        --reopen-secs "$secs" --max-secs $((secs + limit / 1000 + 10))
    local beside=$WRK_RPS beside_errors=$((WRK_CONNECT + WRK_READ + WRK_WRITE + WRK_TIMEOUT + WRK_NON2XX))
    local line opened closed got_408 reset still min_ms max_ms median_ms sent
    line=$(grep '^slowloris: conns=' "$OUT/slowbody.txt" || echo "")
    opened=$(kv "$line" opened) closed=$(kv "$line" closed) got_408=$(kv "$line" got_408)
    reset=$(kv "$line" reset) still=$(kv "$line" still_open) sent=$(kv "$line" sent_max)
    min_ms=$(kv "$line" closed_after_ms_min) median_ms=$(kv "$line" closed_after_ms_median)
    max_ms=$(kv "$line" closed_after_ms_max)
    record slowbody "every slow body answered 408 and closed by the minimum rate ($MIN_BODY_RATE bytes/s after $BODY_GRACE_MS ms)" \
        "${closed:-0} of ${opened:-0} closed, ${got_408:-0} with 408, ${reset:-?} reset, ${still:-?} left; after ${min_ms:-?} ms min, ${median_ms:-?} ms median, ${max_ms:-?} ms max (between $earliest and $limit); at most ${sent:-?} body bytes each" \
        "$([ "$limit" -gt 0 ] && [ -n "$opened" ] && [ "$opened" -ge "$SLOWBODY_CONNS" ] && [ "$closed" = "$opened" ] && [ "$got_408" = "$closed" ] && [ "$min_ms" -ge "$earliest" ] && [ "$max_ms" -le "$limit" ] && echo 1)"
    local ratio=$((beside * 100 / (alone > 0 ? alone : 1)))
    record slowbody "wrk throughput within 20 % of the unloaded figure" \
        "$beside req/s beside them, $alone alone: $ratio %; wrk errors beside: $beside_errors" \
        "$([ "$ratio" -ge 80 ] && [ "$beside_errors" = 0 ] && echo 1)"
    record_back_to_idle slowbody
    stop_pid "$SYLAR_PID"
}
# ANCHOR_END: scenario_slowbody

# ANCHOR: scenario_resets
scenario_resets() {
    log ""
    log "== resets: $RST_CONNS clients that reset (before sending, mid-head, mid-body, mid-response)"
    start_sylar "$OUT/resets-sylar.log" || { record resets "server starts" "did not start" 0; return; }
    warm_up
    read -r base_conns base_fibers base_fds < <(idle_state "$SYLAR_PID")
    "$CLIENTS/resets" --addr "127.0.0.1:$PORT" --conns "$RST_CONNS" --threads 4 \
        >"$OUT/resets.txt" 2>&1 </dev/null &
    STARTED_PIDS+=($!)
    wait $! || true
    local line
    line=$(grep '^resets: conns=' "$OUT/resets.txt" || echo "")
    log "   $line"
    local failed
    failed=$(grep -o '_failed=[0-9]*' <<<"$line" | awk -F= '{ s += $2 } END { print s + 0 }')
    record resets "$RST_CONNS resets ran as planned" "${line#resets: }" \
        "$([ -n "$line" ] && [ "$failed" = 0 ] && echo 1)"
    record_back_to_idle resets
    local cpu code
    cpu=$(cpu_percent "$SYLAR_PID" 2)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/hello" || true)
    record resets "still serving, and idle afterwards" "GET /hello: $code; CPU over 2 s: $cpu %" \
        "$([ "$code" = 200 ] && [ "$cpu" -le 5 ] && echo 1)"
    stop_pid "$SYLAR_PID"
}
# ANCHOR_END: scenario_resets

# ANCHOR: scenario_emfile
scenario_emfile() {
    log ""
    log "== emfile: the server runs with ulimit -n $EMFILE_NOFILE; $EMFILE_CONNS clients connect at once"
    start_sylar "$OUT/emfile-sylar.log" "$EMFILE_NOFILE" || { record emfile "server starts" "did not start" 0; return; }
    local hold_secs=15
    "$CLIENTS/hold" --addr "127.0.0.1:$PORT" --conns "$EMFILE_CONNS" --answer-secs 5 \
        --hold-secs "$hold_secs" >"$OUT/emfile-hold.txt" 2>&1 </dev/null &
    local hold_pid=$!
    STARTED_PIDS+=("$hold_pid")
    while alive "$hold_pid" && ! grep -q "holding" "$OUT/emfile-hold.txt"; do sleep 0.1; done
    # Out of fds, with clients still knocking: it must not spin.
    local cpu
    cpu=$(cpu_percent "$SYLAR_PID" 5)
    wait "$hold_pid" || true
    stop_pid "$hold_pid"
    local line served shed reset waiting wrong
    line=$(grep '^hold: conns=' "$OUT/emfile-hold.txt" || echo "")
    served=$(kv "$line" served) shed=$(kv "$line" shed) reset=$(kv "$line" reset) waiting=$(kv "$line" waiting) wrong=$(kv "$line" wrong)
    record emfile "out of fds: some served, the others shed (closed or reset) or left queued" \
        "$served served, $shed closed and $reset reset by the shedding, $waiting still queued after 5 s, $wrong wrong" \
        "$([ "${served:-0}" -ge 1 ] && [ $((${shed:-0} + ${reset:-0})) -ge 1 ] && [ "${wrong:-1}" = 0 ] && echo 1)"
    record emfile "never spins while out of fds" "CPU over 5 s: $cpu % of a core" \
        "$([ "$cpu" -le 10 ] && echo 1)"
    # The clients have gone: fds are free again.
    local i code=000
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/hello" || true)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    local shed_count warnings
    shed_count=$(status connections_shed)
    warnings=$(grep -c "out of file descriptors" "$OUT/emfile-sylar.log" || true)
    record emfile "recovers when fds free up; the log is not flooded" \
        "GET /hello: $code after $((i / 10)).$((i % 10)) s; connections_shed $shed_count; $warnings warning lines in ${hold_secs} s" \
        "$([ "$code" = 200 ] && [ "${shed_count:-0}" -ge 1 ] && [ "$warnings" -le $((hold_secs + 2)) ] && echo 1)"
    stop_pid "$SYLAR_PID"
}
# ANCHOR_END: scenario_emfile

# ANCHOR: scenario_shutdown
scenario_shutdown() {
    log ""
    log "== shutdown: SIGINT under wrk -c$SHUTDOWN_CONNS; server.shutdown_grace $GRACE_MS ms"
    start_sylar "$OUT/shutdown-sylar.log" || { record shutdown "server starts" "did not start" 0; return; }
    warm_up
    wrk -t2 -c"$SHUTDOWN_CONNS" -d10s --timeout 10s -s "$HERE/check.lua" \
        "http://127.0.0.1:$PORT/hello" >"$OUT/shutdown-wrk.txt" 2>&1 </dev/null &
    local wrk_pid=$!
    STARTED_PIDS+=("$wrk_pid")
    # Beside wrk, clients that tell a clean close (FIN) from a reset.
    "$CLIENTS/requests" --addr "127.0.0.1:$PORT" --conns 200 --secs 10 \
        >"$OUT/shutdown-requests.txt" 2>&1 </dev/null &
    local requests_pid=$!
    STARTED_PIDS+=("$requests_pid")
    sleep 4 # under full load
    local t0 t1 status=0
    t0=$(date +%s%N)
    kill -INT "$SYLAR_PID"
    while alive "$SYLAR_PID"; do sleep 0.01; done
    t1=$(date +%s%N)
    wait "$SYLAR_PID" || status=$?
    local stop_ms=$(((t1 - t0) / 1000000))
    # The server is gone: stop wrk too (on SIGINT it prints its figures), so
    # that its errors are those of the shutdown, not of reconnecting after it.
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || true
    stop_pid "$wrk_pid"
    wait "$requests_pid" || true
    stop_pid "$requests_pid"
    run_wrk_parse "$OUT/shutdown-wrk.txt"
    local line
    line=$(grep '^requests: conns=' "$OUT/shutdown-requests.txt" || echo "")
    record shutdown "SIGINT under load ends within the grace period" \
        "exited with status $status after $stop_ms ms (grace $GRACE_MS ms); $(grep -c '^stopped' "$OUT/shutdown-sylar.log") 'stopped' line" \
        "$([ "$status" = 0 ] && [ "$stop_ms" -le "$GRACE_MS" ] && grep -q '^stopped' "$OUT/shutdown-sylar.log" && echo 1)"
    record shutdown "every accepted request answered or cleanly closed" \
        "$WRK_REQUESTS responses, $WRK_GOOD right, $WRK_BAD wrong, non-2xx $WRK_NON2XX; socket errors: connect $WRK_CONNECT, read $WRK_READ, write $WRK_WRITE, timeout $WRK_TIMEOUT" \
        "$([ "$WRK_NON2XX" = 0 ] && [ "$WRK_BAD" = 0 ] && [ "$WRK_TIMEOUT" = 0 ] && echo 1)"
    record shutdown "every connection it ended was closed cleanly (FIN), none reset or cut" \
        "200 keep-alive clients: $(kv "$line" served) responses; endings: $(kv "$line" closed) closed, $(kv "$line" reset) reset, $(kv "$line" wrong) cut, $(kv "$line" timeout) timed out, $(kv "$line" still_open) never ended" \
        "$([ -n "$line" ] && [ "$(kv "$line" closed)" = 200 ] && echo 1)"
}
# ANCHOR_END: scenario_shutdown

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
log "raw outputs: $OUT"
for s in "${scenarios[@]}"; do
    "scenario_$s"
done

{
    echo "### Reliability: \`07-tcpserver/reliability/run.sh\`"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), Linux $(uname -r);"
    echo "sylar --threads $THREADS, head_timeout $HEAD_TIMEOUT_MS ms, min_body_rate $MIN_BODY_RATE bytes/s, body_grace $BODY_GRACE_MS ms, read_timeout $READ_TIMEOUT_MS ms, shutdown_grace $GRACE_MS ms;"
    echo "ran $(($(date +%s) - started)) s; load average $load_start before, $(cut -d' ' -f1-3 /proc/loadavg) after."
    echo
    echo "| scenario | check | figures | result |"
    echo "|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | **%s** |\n", $1, $2, $3, $4 }' "$TABLE"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
log ""
log "(saved in $OUT/table.md)"
exit "$FAILED"
