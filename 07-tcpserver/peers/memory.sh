#!/usr/bin/env bash
# Resident memory per idle keep-alive connection (issue 7: ours <= 16 KiB).
#
#   07-tcpserver/peers/memory.sh [SERVER...]   (default: sylar; `all` for
#                                               sylar hyper may nginx)
# Settings, from the environment:
#   CONNS=10000     idle connections to hold
#   SYLAR_BIN=...     run this binary as ours instead of building target/release/sylar
#   PORT_BASE=18080 as in compare.sh
#   OUT=...         logs (default peers/target/memory/<time>)
#
# For each server: start it (pinned to CPU 0), read its VmRSS once it has
# answered a request, open CONNS connections with idle_clients (each sends
# one GET /hello and reads the answer, then stays open, idle), read VmRSS
# again, then close them all and read it a third time. For nginx the RSS is
# the one worker's (the master only supervises).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CONNS=${CONNS:-10000}
OUT=${OUT:-$PEERS_DIR/target/memory/$(date +%Y%m%d-%H%M%S)}
TARGET_KIB=16
servers=("$@")
((${#servers[@]})) || servers=(sylar)
[ "${servers[*]}" = all ] && servers=("${REAL_SERVERS[@]}")
for s in "${servers[@]}"; do server_port "$s" >/dev/null || exit 2; done

mkdir -p "$OUT"
ensure_tools curl taskset pgrep ss
[[ " ${servers[*]} " != *" nginx "* ]] || ensure_tools nginx
raise_nofile $((CONNS + 1000))
build_peers "$OUT/build-peers.log"
rows=()
if wants_ours && ! build_ours "$OUT/build-ours.log"; then
    drop_server sylar
    rows+=("| $(server_label sylar) | — | — | — | — | not built |")
fi

# Connections in state ESTABLISHED on the server's side of port $1.
established() { ss -Htn state established "( sport = :$1 )" | wc -l; }

for name in "${servers[@]}"; do
    [ -n "$name" ] || continue
    port=$(server_port "$name")
    if ! start_server "$name" 0 "$OUT/$name.log"; then
        rows+=("| $(server_label "$name") | — | — | — | — | did not start |")
        continue
    fi
    before=$(rss_kib "$MEASURE_PID")

    log "$name: opening $CONNS idle keep-alive connections"
    clog=$OUT/idle-$name.log
    taskset -c 1 "$PEERS_BIN/idle_clients" --addr "127.0.0.1:$port" \
        --conns "$CONNS" --hold 600 >"$clog" 2>&1 </dev/null &
    client=$!
    STARTED_PIDS+=("$client")
    # Wait for its "holding N connections" line (or its failure).
    until grep -q '^holding' "$clog"; do
        if ! alive "$client"; then
            log "$name: idle_clients failed:"
            sed 's/^/    /' "$clog" >&2
            stop_pid "$client"
            break
        fi
        sleep 0.1
    done
    if ! grep -q '^holding' "$clog"; then
        rows+=("| $(server_label "$name") | $before | — | — | — | client failed: $(tail -n 1 "$clog") |")
        stop_server
        continue
    fi
    held=$(established "$port")
    with=$(rss_kib "$MEASURE_PID")
    log "$name: $(cat "$clog"); server side established: $held"

    stop_pid "$client"
    for ((i = 0; i < 100; i++)); do # up to 10 s for the server to see them close
        (($(established "$port") == 0)) && break
        sleep 0.1
    done
    after=$(rss_kib "$MEASURE_PID")
    stop_server

    per=$(awk -v a="$before" -v b="$with" -v n="$CONNS" 'BEGIN { printf "%.1f", (b - a) / n }')
    verdict=
    if [ "$name" = sylar ]; then
        verdict=$(awk -v p="$per" -v t="$TARGET_KIB" 'BEGIN { print (p <= t ? "meets" : "MISSES") " the <= " t " KiB target" }')
    fi
    rows+=("| $(server_label "$name") | $before | $with | $after | **$per** | $held held${verdict:+; $verdict} |")
done

{
    echo "### Resident memory per idle keep-alive connection"
    echo
    echo "\`07-tcpserver/peers/memory.sh\` on $(date -u +%Y-%m-%d): $CONNS connections, each after one \`GET /hello\`;"
    echo "VmRSS in KiB (nginx: its worker), per connection = (with - before) / $CONNS."
    echo
    echo "| server | RSS before | RSS with $CONNS idle | RSS after they close | KiB per connection | notes |"
    echo "|---|---:|---:|---:|---:|---|"
    printf '%s\n' "${rows[@]}"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
log ""
log "(saved in $OUT/table.md)"
