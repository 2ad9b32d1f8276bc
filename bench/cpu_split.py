"""CPU time per licence, split between the node process and its minting workers.

    .venv/bin/python -m bench.cpu_split [--licences N] [--chain embedded|anvil]

Wall-clock throughput on a shared machine says little; CPU seconds say where the work
is. A fresh demo node issues a warm-up request (workers spawned), then ``N``
licences over HTTP and settles them; the node process's CPU time is read for the
issue and settle phases, the workers' from ``/proc`` (Linux). With two cores the
issue + anchor rate cannot beat ``2 / total_cpu`` however well the phases overlap.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.common import anvil_chain, demo_node, quiet

WARM = 2_000


def children_cpu_s() -> float:
    """Return the CPU seconds (user + system) of this process's live children."""
    total, tick, me = 0.0, os.sysconf("SC_CLK_TCK"), os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == me:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(node: object, count: int) -> dict[str, float]:
    """Issue ``count`` licences after a warm-up and settle; return µs of CPU per licence."""
    node.issue(0, WARM)  # type: ignore[attr-defined]
    node.settle()  # type: ignore[attr-defined]
    w0, c0, t0 = children_cpu_s(), time.process_time(), time.perf_counter()
    node.issue(WARM, count)  # type: ignore[attr-defined]
    c1, w1, t1 = time.process_time(), children_cpu_s(), time.perf_counter()
    node.settle()  # type: ignore[attr-defined]
    c2, t2 = time.process_time(), time.perf_counter()
    node.check_all_anchored(WARM + count)  # type: ignore[attr-defined]
    out = {"node_issue_us": (c1 - c0) / count * 1e6, "workers_us": (w1 - w0) / count * 1e6,
           "settle_us": (c2 - c1) / count * 1e6, "wall_issue_s": t1 - t0, "wall_settle_s": t2 - t1}
    out["total_cpu_us"] = out["node_issue_us"] + out["workers_us"] + out["settle_us"]
    out["two_core_ceiling_per_s"] = 2e6 / out["total_cpu_us"]
    return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_split", description=__doc__.split("\n")[0])
    parser.add_argument("--licences", type=int, default=10_000)
    parser.add_argument("--chain", choices=("embedded", "anvil"), default="embedded")
    args = parser.parse_args()
    quiet()
    if args.chain == "anvil":
        with anvil_chain() as (url, _), demo_node(url, batch_size=1024, chain_id=31337) as node:
            print(json.dumps(measure(node, args.licences)))
    else:
        with demo_node("embedded", batch_size=1024) as node:
            print(json.dumps(measure(node, args.licences)))


if __name__ == "__main__":  # the minting workers are spawned: they import this module
    main()
