#!/usr/bin/env bash
# Where each server's CPU time per request goes: the kernel, the server's own
# code, or the shared libraries it calls (libc, the vDSO). cpu.sh says how
# much a request costs; this says which part of that a server could change.
#
#   07-tcpserver/peers/split.sh [SERVER...]
#       (default: sylar-nopoll may; names as in lib.sh)
#
# Settings, from the environment:
#   ROUNDS=3          rounds; each round runs every server once, in rotated order
#   DURATION=6        seconds of each measured wrk run
#   CONNS="16 100 1000"  wrk connection counts
#   PERIOD_US=500     one sample per this many microseconds of the server's CPU
#   OUT=...           raw results (default peers/target/split/<time>)
#
# Servers and wrk are pinned as in compare.sh. While wrk runs, `perf record -e
# cpu-clock -c PERIOD` samples the server (all its threads) once per
# PERIOD_US of CPU time it uses; each sample is tagged with where its
# instruction was: the kernel, the server's executable, or a library.
# Samples x period / requests = microseconds of CPU per request in that
# part. Sampling has a cost of its own and the totals are estimates, within
# about 10 % of cpu.sh's: read the shares here and the amounts there. Needs
# root (or kernel.perf_event_paranoid <= 1) to see the kernel.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

servers=("$@")
((${#servers[@]})) || servers=(sylar-nopoll may)
measure_setup split
PERIOD_US=${PERIOD_US:-500}
# Without root (or kernel.perf_event_paranoid <= 1) perf quietly samples
# user space only (`cpu-clock:u`), and every kernel figure would read 0.
probe=$OUT/probe.data
if ! perf record -q -e cpu-clock -o "$probe" true >/dev/null 2>&1 ||
    perf evlist -i "$probe" 2>/dev/null | grep -q ':u'; then
    log "perf cannot sample the kernel here: run as root, or set kernel.perf_event_paranoid to 1 or less"
    exit 1
fi
rm -f "$probe"
build_all "$OUT"

# Samples the server over one wrk run and counts the samples per binary.
measure_split() {
    local name=$1 conns=$2 round=$3 data exe requests kernel own libs
    data=$OUT/perf-$name-c$conns-r$round.data
    # The executable's name as perf reports it (a rebuilt binary is "(deleted)").
    exe=$(basename "$(readlink "/proc/$MEASURE_PID/exe")")
    exe=${exe% (deleted)}
    requests=$(perf_beside_wrk "$conns" "$data.log" record -q -e cpu-clock \
        -c $((PERIOD_US * 1000)) -o "$data") || return 0
    # Samples per symbol: "[k]" marks the kernel (modules included); the
    # rest is the server's executable or a library.
    read -r kernel own libs < <(perf report -i "$data" --stdio -q -n --sort dso,sym -g none 2>/dev/null |
        awk -v exe="$exe" '
            $4 == "[k]" { k += $2; next }
            $3 == exe { o += $2; next }
            NF >= 4 { l += $2 }
            END { print k + 0, o + 0, l + 0 }')
    rm -f "$data"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$conns" "$requests" \
        "$kernel" "$own" "$libs" >>"$RESULTS"
    awk -v r="$round" -v s="$name" -v c="$conns" -v n="$requests" -v p="$PERIOD_US" \
        -v k="$kernel" -v o="$own" -v l="$libs" \
        'BEGIN { printf "  round %s  %-13s c=%-5s kernel %.3f  own %.3f  libraries %.3f us/request\n",
                 r, s, c, k * p / n, o * p / n, l * p / n }' >&2
}

RESULTS=$OUT/results.tsv
printf 'round\tserver\tconns\trequests\tkernel\town\tlibraries\n' >"$RESULTS"
log "== $ROUNDS rounds x ${servers[*]} x c=[$CONNS], ${DURATION}s each, a sample per ${PERIOD_US} us of server CPU"
log "   raw results: $OUT"
measure_rounds measure_split

python3 - "$RESULTS" "$PERIOD_US" "${servers[@]}" <<'EOF2'
import csv, statistics, sys
path, period, order = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
conns = sorted({int(r["conns"]) for r in rows})
parts = ["kernel", "own", "libraries"]
def med(name, c, key):
    vals = [float(r[key]) * period / int(r["requests"]) for r in rows
            if r["server"] == name and int(r["conns"]) == c]
    return statistics.median(vals) if vals else None
for c in conns:
    print(f"\nc={c}: CPU per request by where it ran, microseconds (medians of rounds):\n")
    print("| server | kernel | own code | libraries | user space | total | user share |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in order:
        v = {p: med(name, c, p) for p in parts}
        if None in v.values():
            continue
        user = v["own"] + v["libraries"]
        total = user + v["kernel"]
        print(f"| {name} | {v['kernel']:.2f} | {v['own']:.2f} | {v['libraries']:.2f} | "
              f"{user:.2f} | {total:.2f} | {100 * user / total:.0f} % |")
EOF2
log "raw results in $OUT"
