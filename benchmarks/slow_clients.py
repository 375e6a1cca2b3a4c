"""Benchmark the server against slow clients: how long a page load takes while N connections sit on a
request they never finish (slowloris).

    .venv/bin/python -m benchmarks.slow_clients [--counts 0,100,300,1000] [--kinds silent,head,body]
        [--addresses 5] [--loads 5] [--timeout-s 10] [--tls] [--out benchmarks/results/slow_clients.json]

Not a test: prints a Markdown table and writes the JSON. For each kind of slow client (tests/slow_clients.py:
`silent` sends nothing, `head` part of a request head, `body` a head and part of its body) and each count, a
fresh `vbg serve` (the production server, default threads) gets that many stalled connections, spread over
--addresses source addresses (127.0.0.2, ...: other machines to the server; "held open" is how many the
server did not refuse), then --loads page loads of / from 127.0.0.1 one after another; a load that has not
answered within --timeout-s counts as failed.
tests/webapp/test_slow_clients.py holds the property (300 of each, a page still answers within 2 s).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.pipeline import jsonable, machine_info, markdown_table
from model_export.paths import REPO_ROOT
from tests.server_process import start_server, stop_server
from tests.slow_clients import (
    HALF_SENT, OTHER_LOOPBACK_ADDRESSES, closed_by_server, half_sent_requests, timed_page_load,
)

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "slow_clients.json"
DEFAULT_COUNTS = (0, 100, 300, 1000)
DEFAULT_ADDRESSES = 5  # 60 connections each at 300: under one address's share of the server
DEFAULT_LOADS = 5
DEFAULT_TIMEOUT_S = 10.0
REFUSAL_WAIT_S = 1.0  # before the page loads: the connections the server refuses (per address) close by then


def run(counts: list[int], kinds: list[str], addresses: int, loads: int, timeout_s: float, tls: bool) -> list[dict]:
    """One row per (kind, count): the page loads' seconds and statuses."""
    rows = []
    for kind in kinds:
        for count in counts:
            server = start_server(["--tls"] if tls else [], scheme="https" if tls else "http")
            try:
                with half_sent_requests(server.url, count, kind, OTHER_LOOPBACK_ADDRESSES[:addresses]) as conns:
                    held = count - closed_by_server(conns, REFUSAL_WAIT_S) if count else 0
                    samples = [timed_page_load(server.url, timeout_s) for _ in range(loads)]
            finally:
                stop_server(server)
            answered = [seconds for seconds, status in samples if status == 200]
            rows.append({"kind": kind, "count": count, "addresses": addresses, "held": held, "loads": loads,
                         "answered": len(answered),
                         "median_s": statistics.median(answered) if answered else None,
                         "max_s": max(answered) if answered else None,
                         "failures": sorted({str(status) for _, status in samples if status != 200})})
            print(f"{kind} x{count}: {len(answered)}/{loads} answered", file=sys.stderr, flush=True)
    return rows


def report_markdown(result: dict) -> str:
    """The rows as a table."""
    def seconds(value):
        return None if value is None else f"{value:.3f}"

    header = ["slow clients", "opened", "from addresses", "held open", "page loads answered", "median (s)", "max (s)",
              "failures"]
    rows = [[row["kind"], row["count"], row["addresses"], row["held"], f"{row['answered']}/{row['loads']}",
             seconds(row["median_s"]),
             seconds(row["max_s"]), ", ".join(row["failures"]) or None] for row in result["rows"]]
    return markdown_table(header, rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default=",".join(map(str, DEFAULT_COUNTS)))
    parser.add_argument("--kinds", default=",".join(HALF_SENT))
    parser.add_argument("--addresses", type=int, choices=range(1, len(OTHER_LOOPBACK_ADDRESSES) + 1),
                        default=DEFAULT_ADDRESSES, metavar=f"1..{len(OTHER_LOOPBACK_ADDRESSES)}")
    parser.add_argument("--loads", type=int, default=DEFAULT_LOADS)
    parser.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(HALF_SENT):
        parser.error(f"unknown kinds {sorted(unknown)}; known: {', '.join(HALF_SENT)}")
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_info(),
              "command": "python -m benchmarks.slow_clients " + " ".join(sys.argv[1:] if argv is None else argv),
              "rows": run([int(c) for c in args.counts.split(",")], kinds, args.addresses, args.loads, args.timeout_s,
                          args.tls)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n")
    print(report_markdown(result))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
