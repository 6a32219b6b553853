#!/usr/bin/env bash
# HTTP hello throughput: ours (sylar) against nginx, tokio+hyper and
# may_minihttp, in one session on one machine (issue 7).
#
#   07-tcpserver/peers/compare.sh [SERVER...]
#       (default: sylar sylar-nopoll hyper may nginx ceiling; see lib.sh)
#
# Settings, from the environment:
#   ROUNDS=3          rounds; each round runs every server once, in rotated order
#   DURATION=10s      length of each wrk run
#   CONNS="16 100 1000"  wrk connection counts
#   WARMUP=2s         a wrk run after each start whose figures are thrown away (0 to skip)
#   BASELINE=sylar    the row the ratios are against (falls back to the first
#                     server measured when it is missing, and says so)
#   SYLAR_BIN=...     run this binary as ours instead of building target/release/sylar
#   PORT_BASE=18080   sylar, hyper, may, nginx, sylar-nopoll, ceiling listen on PORT_BASE+0..5
#   OUT=...           where raw results go (default peers/target/compare/<time>)
#
# Each server runs pinned to CPU 0 (taskset -c 0); wrk -t2 runs pinned to
# CPU 1. Prints Markdown tables of medians: requests/s with ratios, p99
# latency, and CPU use of the server and of wrk (a server well below 100 %
# while wrk is near 100 % means the client was the bottleneck).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
[[ $DURATION =~ ^[0-9]+$ ]] && DURATION=${DURATION}s
CONNS=${CONNS:-16 100 1000}
WARMUP=${WARMUP:-2s}
[[ $WARMUP =~ ^[0-9]+$ ]] && WARMUP=${WARMUP}s
BASELINE=${BASELINE:-sylar}
OUT=${OUT:-$PEERS_DIR/target/compare/$(date +%Y%m%d-%H%M%S)}
SERVER_CPU=0
CLIENT_CPU=1
servers=("$@")
((${#servers[@]})) || servers=("${ALL_SERVERS[@]}")
for s in "${servers[@]}"; do server_port "$s" >/dev/null || exit 2; done

mkdir -p "$OUT"
ensure_tools wrk nginx curl taskset pgrep python3
raise_nofile 4096
if (($(nproc) < 2)); then
    log "warning: $(nproc) CPU: server and wrk will share it, the figures mean little"
    CLIENT_CPU=0
fi

# Build everything first: a build must not run beside a measurement.
build_all "$OUT"

CLK_TCK=$(getconf CLK_TCK)
RESULTS=$OUT/results.tsv
printf 'round\tserver\tconns\trps\tp99_ms\tserver_cpu\twrk_cpu\terrors\n' >"$RESULTS"

# One wrk run against $1 at $2 connections; appends a row to $RESULTS.
measure() {
    local name=$1 conns=$2 round=$3 port out t0 t1 w0 w1 wrk_cpu
    port=$(server_port "$name")
    out=$OUT/wrk-$name-c$conns-r$round.txt
    t0=$(cpu_ticks "$MEASURE_PID")
    w0=$(date +%s.%N)
    # wrk runs in the background and we `wait` for it: wrk handles SIGINT
    # itself (it stops and prints), so were it in the foreground bash would
    # take a Ctrl-C as handled and carry on; `wait` lets our trap run.
    # `times` (a builtin: no fork) reports the CPU time of reaped children,
    # so the difference around the wait is wrk's.
    times >"$out.cpu0"
    taskset -c "$CLIENT_CPU" wrk -t2 -c"$conns" -d"$DURATION" --latency \
        "http://127.0.0.1:$port/hello" >"$out" 2>&1 </dev/null &
    STARTED_PIDS+=($!)
    wait $! || true
    stop_pid $!
    times >"$out.cpu1"
    w1=$(date +%s.%N)
    t1=$(cpu_ticks "$MEASURE_PID" 2>/dev/null || echo "$t0")
    wrk_cpu=$(cat "$out.cpu0" "$out.cpu1" | awk '
        function sec(t) { split(t, p, "m"); return p[1] * 60 + p[2] }
        NR == 2 { a = sec($1) + sec($2) } NR == 4 { b = sec($1) + sec($2) }
        END { print b - a }')
    rm -f "$out.cpu0" "$out.cpu1"
    awk -v r="$round" -v s="$name" -v c="$conns" -v t0="$t0" -v t1="$t1" \
        -v w0="$w0" -v w1="$w1" -v hz="$CLK_TCK" -v wrk_cpu="$wrk_cpu" '
        function ms(v) {   # wrk prints 850.00us, 1.23ms, 2.10s, 1.00m
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
            if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v
        }
        /^Requests\/sec:/ { rps = $2 }
        /^ +99%/ { p99 = ms($2) }
        /^ +Socket errors:/ { gsub(/,/, ""); errs += $4 + $6 + $8 + $10 }
        /^ +Non-2xx or 3xx responses:/ { errs += $5 }
        END {
            wall = w1 - w0
            printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%d\n", r, s, c,
                (rps == "" ? "NA" : rps), (p99 == "" ? "NA" : p99),
                100 * (t1 - t0) / hz / wall, 100 * wrk_cpu / wall, errs
        }' "$out" | tee -a "$RESULTS" | awk -F'\t' '{
            printf "  round %s  %-6s c=%-5s %10s req/s  p99 %8s ms  server CPU %3s%%  wrk CPU %3s%%%s\n",
                $1, $2, $3, $4, $5, $6, $7, ($8 > 0 ? "  errors " $8 : "") }' >&2
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log ""
log "== $ROUNDS rounds x ${servers[*]} x c=[$CONNS], $DURATION each; server on CPU $SERVER_CPU, wrk -t2 on CPU $CLIENT_CPU"
log "   raw results: $OUT"
for ((round = 1; round <= ROUNDS; round++)); do
    ((${#servers[@]})) || { log "no server left to measure"; exit 1; }
    rotate_servers "$round"
    for name in "${order[@]}"; do
        if ! start_server "$name" "$SERVER_CPU" "$OUT/$name.log"; then
            log "  skipping $name from now on"
            drop_server "$name"
            continue
        fi
        port=$(server_port "$name")
        if [ ! -s "$OUT/response-$name.txt" ]; then
            curl -si --max-time 5 "http://127.0.0.1:$port/hello" >"$OUT/response-$name.txt" || true
        fi
        if [ "$WARMUP" != 0s ]; then
            taskset -c "$CLIENT_CPU" wrk -t2 -c100 -d"$WARMUP" "http://127.0.0.1:$port/hello" >/dev/null 2>&1 || true
        fi
        for conns in $CONNS; do
            measure "$name" "$conns" "$round"
        done
        stop_server
    done
done

{
    echo "### HTTP hello, one server core: medians of $ROUNDS rounds"
    echo
    echo "\`07-tcpserver/peers/compare.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)),"
    echo "server pinned to CPU $SERVER_CPU, \`wrk -t2 -cN -d$DURATION --latency\` pinned to CPU $CLIENT_CPU, loopback, keep-alive, 11-byte body;"
    echo "load average $load_start before, $(cut -d' ' -f1-3 /proc/loadavg) after (other work on the machine shows here)."
    echo
} >"$OUT/table.md"
labels=()
for s in "${ALL_SERVERS[@]}"; do labels+=(--label "$s=$(server_label "$s")"); done
python3 "$PEERS_DIR/report.py" "$RESULTS" --baseline "$BASELINE" \
    --responses "$OUT" "${labels[@]}" >>"$OUT/table.md"
echo
cat "$OUT/table.md"
log ""
log "(saved in $OUT/table.md)"
