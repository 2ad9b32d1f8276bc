"""CPU time per licence, split between the node process, its minting workers, the chain and the client.

    .venv/bin/python -m bench.cpu_split [--licences N] [--chain embedded|anvil]

Wall-clock throughput on a shared machine says little; CPU seconds say where the work
is. A fresh demo node is served by ``regnode serve`` in its own process, as in the
issue-and-anchor bench: a warm-up import (workers spawned), then ``N`` licences imported
over HTTP with a few requests in flight until every one is anchored and indexed. CPU
seconds are read from ``/proc`` (Linux) for the node process (HTTP, validation,
database, anchorer, sender, indexer; with the embedded chain also the EVM), its minting
workers, anvil when it is the chain, and this process (the client). However well the
processes overlap, two cores cannot issue and anchor faster than ``2 / total_cpu``.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack

from bench.common import (
    ServedNode,
    anvil_process,
    batch_bodies,
    check_all_anchored,
    cpu_seconds,
    quiet,
    served_node,
)

WARM = 2_000


def measure(node: ServedNode, count: int, chain_pid: int | None = None) -> dict[str, float]:
    """Import ``count`` licences after a warm-up, wait until anchored; return µs of CPU per licence."""
    node.issue(batch_bodies(0, WARM))
    node.wait_anchored()
    bodies = batch_bodies(WARM, count)

    def sample() -> tuple[float, ...]:
        chain = cpu_seconds(chain_pid) if chain_pid else 0.0
        return (*node.cpu_seconds(), chain, cpu_seconds(), time.perf_counter())

    before = sample()
    node.issue(bodies)
    node.wait_anchored()
    after = sample()
    check_all_anchored(node.engine, WARM + count)
    used = [(b - a) / count * 1e6 for a, b in zip(before, after, strict=True)]
    out = {"node_us": used[0], "workers_us": used[1], "chain_us": used[2], "client_us": used[3],
           "wall_s": used[4] * count / 1e6}
    out["total_cpu_us"] = sum(used[:4])
    out["two_core_ceiling_per_s"] = 2e6 / out["total_cpu_us"]
    out["per_s"] = count / out["wall_s"]
    return {k: round(v, 1) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_split", description=__doc__.split("\n")[0])
    parser.add_argument("--licences", type=int, default=10_000)
    parser.add_argument("--chain", choices=("embedded", "anvil"), default="embedded")
    args = parser.parse_args()
    quiet()
    with ExitStack() as stack:
        if args.chain == "anvil":
            anvil = stack.enter_context(anvil_process())
            node = stack.enter_context(served_node(anvil.url, batch_size=1024, chain_id=31337))
            print(json.dumps(measure(node, args.licences, anvil.pid)))
        else:
            node = stack.enter_context(served_node("embedded", batch_size=1024))
            print(json.dumps(measure(node, args.licences)))


if __name__ == "__main__":
    main()
