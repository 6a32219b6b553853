#!/usr/bin/env bash
# CPU time per request of each server, from the kernel's own accounting:
# the measure that does not depend on the client keeping up (issue 7).
#
#   07-tcpserver/peers/cpu.sh [SERVER...]
#       (default: sylar-nopoll hyper may nginx; names as in lib.sh)
#
# Settings, from the environment:
#   ROUNDS=3          rounds; each round runs every server once, in rotated order
#   DURATION=6        seconds of each measured wrk run
#   CONNS="16 100 1000"  wrk connection counts
#   PORT_BASE=18080   as in compare.sh
#   OUT=...           raw results (default peers/target/cpu/<time>)
#
# Each server runs pinned to CPU 0, wrk -t2 pinned to CPU 1, as in
# compare.sh. While wrk runs, `perf stat -e task-clock,context-switches -p
# PID` counts the server's CPU time (user and kernel, all its threads) and
# how often it slept; both are divided by the requests wrk completed. Ours
# runs with busy polling off by default (sylar-nopoll): a polling server
# spends its idle time polling by design, which would be counted as cost.
# wrk's own figure of requests can include a few in flight at its end, so
# the figures are good to a fraction of a percent, well inside the noise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

servers=("$@")
((${#servers[@]})) || servers=(sylar-nopoll hyper may nginx)
measure_setup cpu
if ! perf stat -e task-clock true >/dev/null 2>&1; then
    log "perf stat cannot count task-clock here (see /proc/sys/kernel/perf_event_paranoid)"
    exit 1
fi
build_all "$OUT"

# Counts the server's CPU time and sleeps over one wrk run.
measure_cpu() {
    local name=$1 conns=$2 round=$3 csv requests cpu_ms switches
    csv=$OUT/perf-$name-c$conns-r$round.csv
    requests=$(perf_beside_wrk "$conns" "$csv.log" stat -x, -e task-clock,context-switches -o "$csv") ||
        return 0
    read -r cpu_ms switches < <(awk -F, '
        $3 == "task-clock" { ms = $1 }
        $3 == "context-switches" { cs = $1 }
        END { print ms, cs }' "$csv")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$conns" "$requests" "$cpu_ms" "$switches" >>"$RESULTS"
    awk -v r="$round" -v s="$name" -v c="$conns" -v n="$requests" -v ms="$cpu_ms" -v cs="$switches" \
        'BEGIN { printf "  round %s  %-13s c=%-5s %9d requests  %6.3f us CPU/request  %7.4f sleeps/request\n",
                 r, s, c, n, ms * 1000 / n, cs / n }' >&2
}

RESULTS=$OUT/results.tsv
printf 'round\tserver\tconns\trequests\tcpu_ms\tswitches\n' >"$RESULTS"
log "== $ROUNDS rounds x ${servers[*]} x c=[$CONNS], ${DURATION}s each; server on CPU 0, wrk -t2 on CPU 1"
log "   raw results: $OUT"
measure_rounds measure_cpu

python3 - "$RESULTS" "${servers[@]}" <<'EOF2'
import csv, statistics, sys
path, order = sys.argv[1], sys.argv[2:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
conns = sorted({int(r["conns"]) for r in rows})
def med(name, c, key):
    vals = [float(r[key]) / int(r["requests"]) for r in rows
            if r["server"] == name and int(r["conns"]) == c]
    return statistics.median(vals) if vals else None
ours = next((s for s in order if s.startswith("sylar")), None)
print(f"CPU time per request, microseconds (medians of rounds; ratio = server / {ours}):\n")
print("| server | " + " | ".join(f"c={c}" for c in conns) + " |")
print("|---|" + "---:|" * len(conns))
for name in order:
    cells = []
    for c in conns:
        v, base = med(name, c, "cpu_ms"), med(ours, c, "cpu_ms") if ours else None
        cells.append("—" if v is None else f"{v * 1000:.2f}" + (f" ({v / base:.2f})" if base else ""))
    print(f"| {name} | " + " | ".join(cells) + " |")
print("\nSleeps (context switches) per request:\n")
print("| server | " + " | ".join(f"c={c}" for c in conns) + " |")
print("|---|" + "---:|" * len(conns))
for name in order:
    cells = [("—" if med(name, c, "switches") is None else f"{med(name, c, 'switches'):.4f}") for c in conns]
    print(f"| {name} | " + " | ".join(cells) + " |")
if ours:
    print(f"\nBest peer's CPU per request / {ours}'s (above 1: ours is cheaper):\n")
    print("| | " + " | ".join(f"c={c}" for c in conns) + " |")
    print("|---|" + "---:|" * len(conns))
    cells = []
    for c in conns:
        peers = [(med(n, c, "cpu_ms"), n) for n in order if not n.startswith("sylar") and med(n, c, "cpu_ms")]
        base = med(ours, c, "cpu_ms")
        cells.append("—" if not peers or not base else f"{min(peers)[0] / base:.2f} ({min(peers)[1]})")
    print("| best peer / ours | " + " | ".join(cells) + " |")
EOF2
log "raw results in $OUT"
