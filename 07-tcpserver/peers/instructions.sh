#!/usr/bin/env bash
# User-space instructions per keep-alive request of our server (or of a
# peer), counted by valgrind's callgrind: a figure that other work on the
# machine cannot move.
#
#   07-tcpserver/peers/instructions.sh          # ours
#   07-tcpserver/peers/instructions.sh may      # a peer: may or hyper
#
# Settings, from the environment:
#   CONNS=16          keep-alive connections
#   N1=1250 N2=2500   requests per connection in the two runs
#   SYLAR_BIN=...     run this binary instead of building target/release/sylar
#   PORT=18190        where it listens
#   OUT=...           callgrind files and logs (default peers/target/instructions/<time>)
#
# nginx is left out: its master forks the worker, which callgrind would
# have to follow. The ceiling is left out: it polls without sleeping, so
# its count grows with time, not with requests.
#
# The server (one I/O thread) runs under callgrind twice, answering
# CONNS x N1 and then CONNS x N2 requests from count_client.py; each run is
# stopped with SIGINT, and the difference of the two totals divided by the
# difference of the request counts is the cost of one request, start-up and
# shutdown cancelled out. Kernel time is not counted: callgrind sees user
# space only. `callgrind_annotate OUT/callgrind.N2.out` shows where the
# instructions go.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SERVER=${1:-sylar}
case $SERVER in
sylar | may | hyper) ;;
*) log "usage: $0 [sylar|may|hyper]" && exit 2 ;;
esac
CONNS=${CONNS:-16}
N1=${N1:-1250}
N2=${N2:-2500}
PORT=${PORT:-18190}
OUT=${OUT:-$PEERS_DIR/target/instructions/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
ensure_tools valgrind python3
if [ "$SERVER" = sylar ]; then
    build_ours "$OUT/build-ours.log"
    # Busy polling off: its polls depend on timing (under callgrind, on how
    # slow the simulated CPU is), and the count is meant to be the work a
    # request does. Builds from before busy polling do not know the flag.
    CMD=("$OURS_BIN" --bind "127.0.0.1:$PORT" --threads 1 --quiet)
    STOP=INT # ours stops gracefully on Ctrl-C
    "$OURS_BIN" --help 2>&1 | grep -q -- --busy-poll && CMD+=(--busy-poll 0)
else
    build_peers "$OUT/build-peers.log"
    server_cmd "$SERVER" "$PORT"
    # may_minihttp does not end on SIGINT under valgrind, and a server left
    # idle keeps counting (its timers): end the peers with SIGTERM.
    STOP=TERM
fi

# Runs the server under callgrind for CONNS x $1 requests; sets IR to its
# total instruction count.
instructions_for() {
    local per_conn=$1 logf=$OUT/server.$1.log i pid
    valgrind --tool=callgrind --separate-threads=no \
        --callgrind-out-file="$OUT/callgrind.$per_conn.out" \
        "${CMD[@]}" >"$logf" 2>&1 </dev/null &
    pid=$!
    STARTED_PIDS+=("$pid")
    for ((i = 0; i < 300; i++)); do
        grep -q listening "$logf" && break
        alive "$pid" || { log "the server exited (log: $logf)" && return 1; }
        sleep 0.1
    done
    python3 "$PEERS_DIR/count_client.py" "$PORT" "$CONNS" "$per_conn"
    kill -"$STOP" "$pid"
    wait "$pid" || true
    stop_pid "$pid"
    IR=$(awk '/^(summary|totals):/ { print $2; exit }' "$OUT/callgrind.$per_conn.out")
}

instructions_for "$N1"
ir1=$IR
instructions_for "$N2"
ir2=$IR
python3 - "$ir1" "$ir2" "$((CONNS * N1))" "$((CONNS * N2))" <<'EOF2'
import sys
ir1, ir2, n1, n2 = map(int, sys.argv[1:5])
print(f"{n1} requests: {ir1} instructions; {n2} requests: {ir2}")
print(f"instructions per request: {(ir2 - ir1) / (n2 - n1):.0f}")
EOF2
log "callgrind files in $OUT"
