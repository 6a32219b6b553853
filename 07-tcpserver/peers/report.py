#!/usr/bin/env python3
"""Turns compare.sh's raw results into Markdown tables of medians.

    report.py RESULTS.tsv [--baseline sylar] [--responses DIR] [--label name=Label ...]

RESULTS.tsv has one row per wrk run (round, server, conns, rps, p99_ms,
server_cpu, wrk_cpu, errors). DIR holds response-<server>.txt, the bytes
`curl -si` got from each server, shown side by side in a last table.
"""

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def load(path):
    runs = defaultdict(list)  # (server, conns) -> [row]
    servers, conns = [], []
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            s, c = row["server"], int(row["conns"])
            servers += [s] if s not in servers else []
            conns += [c] if c not in conns else []
            runs[s, c].append(row)
    return runs, servers, sorted(conns)


def table(title, servers, conns, labels, cell):
    out = [title, "", "| server | " + " | ".join(f"c={c}" for c in conns) + " |"]
    out.append("|---|" + "---:|" * len(conns))
    for s in servers:
        out.append(f"| {labels.get(s, s)} | " + " | ".join(cell(s, c) for c in conns) + " |")
    return "\n".join(out) + "\n"


def split_response(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = raw.partition(b"\n\n")
    lines = head.split(b"\r\n") if b"\r\n" in head else head.split(b"\n")
    bare_lf = b"\n" in head.replace(b"\r\n", b"")
    return [l.decode("latin-1") for l in lines], body, bare_lf


def responses_table(directory, servers, labels):
    got = {}
    for s in servers:
        f = Path(directory) / f"response-{s}.txt"
        if f.is_file() and f.stat().st_size:
            got[s] = f.read_bytes()
    if not got:
        return ""
    parsed = {s: split_response(raw) for s, raw in got.items()}
    names = []  # header names in order of first appearance, case-folded
    for lines, _, _ in parsed.values():
        for line in lines[1:]:
            key = line.split(":", 1)[0].strip().lower()
            names += [key] if key not in names else []
    cols = list(got)
    esc = lambda t: t.replace("|", "\\|")
    rows = [("status line", {s: f"`{esc(parsed[s][0][0])}`" for s in cols})]
    for key in names:
        cells = {}
        for s in cols:
            cells[s] = "—"
            for pos, line in enumerate(parsed[s][0][1:], 1):
                name, _, value = line.partition(":")
                if name.strip().lower() == key:
                    shown = "<date>" if key == "date" else value.strip()
                    cells[s] = f"`{esc(name)}: {esc(shown)}` ({pos})"
        rows.append((key, cells))
    rows.append(("body", {s: f"`{parsed[s][1].decode('latin-1')!r}` ({len(parsed[s][1])} B)" for s in cols}))
    rows.append(("head bytes", {s: str(len(got[s]) - len(parsed[s][1])) for s in cols}))
    rows.append(("line ends", {s: "bare LF!" if parsed[s][2] else "CRLF" for s in cols}))
    out = ["`curl -si http://127.0.0.1:PORT/hello`, side by side (header position in brackets):", ""]
    out.append("| | " + " | ".join(labels.get(s, s) for s in cols) + " |")
    out.append("|---|" + "---|" * len(cols))
    for what, cells in rows:
        out.append(f"| {what} | " + " | ".join(cells[s] for s in cols) + " |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--baseline", default="sylar")
    ap.add_argument("--responses")
    ap.add_argument("--label", action="append", default=[], help="name=Label, repeatable")
    args = ap.parse_args()
    labels = dict(item.split("=", 1) for item in args.label)
    runs, servers, conns = load(args.results)
    if not servers:
        sys.exit("report.py: no results to report")

    med = {}
    for key, rows in runs.items():
        med[key] = {f: median([number(r[f]) for r in rows]) for f in ("rps", "p99_ms", "server_cpu", "wrk_cpu")}
        # Requests per second of server CPU: what it would do on a whole core
        # if the client kept up. Median of the per-run quotients.
        med[key]["per_cpu"] = median(
            [number(r["rps"]) / (number(r["server_cpu"]) / 100)
             for r in rows if number(r["rps"]) and number(r["server_cpu"])])
        med[key]["errors"] = sum(int(r["errors"]) for r in rows)
        med[key]["n"] = len(rows)

    base = args.baseline
    note = ""
    if base not in servers:
        note = (f"\n> {labels.get(base, base)} was not measured in this run, so the ratios "
                f"are against {labels.get(servers[0], servers[0])} instead.\n")
        base = servers[0]

    def rps(s, c):
        m = med.get((s, c))
        if not m or m["rps"] is None:
            return "—"
        b = med.get((base, c), {}).get("rps")
        ratio = f" ({m['rps'] / b:.2f})" if b else ""
        return f"{m['rps'] / 1000:.1f}{ratio}"

    def per_cpu(s, c):
        m = med.get((s, c))
        if not m or m["per_cpu"] is None:
            return "—"
        b = med.get((base, c), {}).get("per_cpu")
        ratio = f" ({m['per_cpu'] / b:.2f})" if b else ""
        return f"{m['per_cpu'] / 1000:.1f}{ratio}"

    def p99(s, c):
        m = med.get((s, c))
        return "—" if not m or m["p99_ms"] is None else f"{m['p99_ms']:.2f}"

    busy = []

    def cpu(s, c):
        m = med.get((s, c))
        if not m or m["server_cpu"] is None:
            return "—"
        mark = ""
        if m["server_cpu"] < 80 and m["wrk_cpu"] < 80:
            busy.append((s, c))
            mark = " †"
        return f"{m['server_cpu']:.0f} / {m['wrk_cpu']:.0f}{mark}"

    print(table(f"Requests/s in thousands (ratio against {labels.get(base, base)} = 1.00):",
                servers, conns, labels, rps) + note)
    print(table("p99 latency, ms:", servers, conns, labels, p99))
    print(table("CPU use, % of one core, server / wrk (wrk's two threads share one core):",
                servers, conns, labels, cpu))
    if busy:
        print("> † Neither the server nor wrk had its core to itself: something else on the "
              "machine was taking CPU, so these cells understate both.\n")
    print(table("Requests per second of server CPU, thousands (ratio): req/s divided by the "
                "server's share of its core. Read this one when wrk sits near 100 %: it is "
                "what the server would do if the client kept up (a server with idle time wakes "
                "more often per request, so this understates it a little).",
                servers, conns, labels, per_cpu))
    target = target_table(runs, med, servers, conns, labels)
    if target:
        print(target)
    rounds = {m["n"] for m in med.values()}
    errors = {k: m["errors"] for k, m in med.items() if m["errors"]}
    if len(rounds) > 1:
        print(f"> Not every cell has the same number of rounds: {sorted(rounds)}.\n")
    if errors:
        print("> wrk reported socket errors or non-2xx responses: "
              + ", ".join(f"{s} c={c}: {n}" for (s, c), n in sorted(errors.items())) + ".\n")
    if args.responses:
        print(responses_table(args.responses, servers, labels))


# The peers a user would pick instead (issue 7's target is 1.05 times the best
# of them at each concurrency); ours and the ceiling are not among them.
PEERS = ("hyper", "may", "nginx")


def target_table(runs, med, servers, conns, labels):
    """Ours against the best peer and the ceiling, and how far apart our own
    rounds were: the figures the verdict needs, without reading them off."""
    peers = [s for s in PEERS if s in servers]
    if "sylar" not in servers or not peers:
        return ""

    def best(c, field):
        cells = [(med[(s, c)][field], s) for s in peers
                 if med.get((s, c)) and med[(s, c)][field]]
        return max(cells) if cells else (None, None)

    def ratio(top, bottom):
        return f"{top / bottom:.2f}" if top and bottom else "—"

    def field(s, c, name):
        return med.get((s, c), {}).get(name)

    rows = []
    raw = [best(c, "rps") for c in conns]
    rows.append(("best peer, requests/s (thousands)",
                 [f"{labels.get(s, s)}: {v / 1000:.1f}" if v else "—" for v, s in raw]))
    rows.append(("ours / best peer, requests/s",
                 [ratio(field("sylar", c, "rps"), v) for c, (v, _) in zip(conns, raw)]))
    if "ceiling" in servers:
        rows.append(("ours / ceiling, requests/s",
                     [ratio(field("sylar", c, "rps"), field("ceiling", c, "rps")) for c in conns]))
    if "sylar-nopoll" in servers:
        per = [best(c, "per_cpu") for c in conns]
        rows.append(("ours with busy polling off / best peer, per server-CPU-second",
                     [ratio(field("sylar-nopoll", c, "per_cpu"), v)
                      for c, (v, _) in zip(conns, per)]))

    def spread(c):
        values = [number(r["rps"]) for r in runs.get(("sylar", c), []) if number(r["rps"])]
        return f"{max(values) / min(values):.2f}" if len(values) > 1 else "—"

    rows.append(("spread of ours' rounds, requests/s (highest / lowest)", [spread(c) for c in conns]))
    out = ["Against the target, 1.05 times the best peer (" + ", ".join(labels.get(s, s) for s in peers)
           + ") at each concurrency:", "",
           "| | " + " | ".join(f"c={c}" for c in conns) + " |",
           "|---|" + "---:|" * len(conns)]
    out += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
