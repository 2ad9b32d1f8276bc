"""Issue-and-anchor throughput, one-transaction-per-document throughput, and anchoring gas.

Every figure comes from a fresh demo node. The issue-and-anchor throughput runs it as a
department does, ``regnode serve`` in its own process, and imports licences the way
``regnode licence issue-batch`` does: ``POST /v1/licences/batch`` requests of 2,000
licences, a few in flight (bodies encoded before the clock starts), while the node's
background loop batches the accepted leaves, sends the anchorBatch transactions and
indexes their events. The clock stops when no leaf, batch or transaction is left
waiting; then the node is checked to have anchored and indexed every leaf. The
one-transaction-per-document and gas runs open the node in this process and settle
after issuing (``Runtime.settle()``). Gas is read from the outbox rows of the mined
anchorBatch transactions (the receipts' gas used), joined to their batches for the
batch size.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import (
    CHUNK,
    Node,
    ServedNode,
    anchor_gas,
    anvil_chain,
    batch_bodies,
    check_all_anchored,
    demo_node,
    served_node,
)

#: Licences anchored in the gas-only runs: enough for several full batches.
GAS_BATCHES = 8
ONE_TX_SAMPLE = 1_000


def issue_and_anchor(node: Node, count: int, chunk: int = CHUNK) -> dict[str, float]:
    """Issue ``count`` licences over HTTP, settle, and return the timings."""
    t0 = time.perf_counter()
    node.issue(0, count, chunk)
    t1 = time.perf_counter()
    node.settle()
    t2 = time.perf_counter()
    node.check_all_anchored(count)
    total = t2 - t0
    return {"count": count, "issue_s": t1 - t0, "settle_s": t2 - t1, "total_s": total,
            "per_s": count / total, "issue_only_per_s": count / (t1 - t0),
            "anchor_txs": len(node.anchor_gas())}


def import_and_anchor(node: ServedNode, count: int) -> dict[str, float]:
    """Import ``count`` licences into a served node, wait until all are anchored; return the timings."""
    bodies = batch_bodies(0, count)
    t0 = time.perf_counter()
    issued = node.issue(bodies)
    t1 = time.perf_counter()
    node.wait_anchored()
    t2 = time.perf_counter()
    if issued != count:
        raise RuntimeError(f"the node issued {issued} of {count} licences")
    check_all_anchored(node.engine, count)
    total = t2 - t0
    return {"count": count, "issue_s": t1 - t0, "anchor_tail_s": t2 - t1, "total_s": total,
            "per_s": count / total, "issue_only_per_s": count / (t1 - t0),
            "anchor_txs": len(anchor_gas(node.engine))}


def gas_per_licence(rows: list[tuple[int, int]], batch_size: int) -> dict[str, float]:
    """Return gas per licence over the full (``batch_size``-leaf) anchoring transactions in ``rows``."""
    full = [gas / n for n, gas in rows if n == batch_size]
    if not full:
        raise RuntimeError(f"no full batch of {batch_size} was anchored: {rows[:5]}")
    return {"gas_per_licence": statistics.median(full), "gas_per_tx": statistics.median(
        [gas for n, gas in rows if n == batch_size]), "full_batches": len(full),
        "gas_min_per_licence": min(full), "gas_max_per_licence": max(full)}


class IssuanceBench:
    """Runs the issuance metrics, sharing runs between metrics where they coincide."""

    def __init__(self, licences: int, meta: dict[str, Any]) -> None:
        self.licences = licences
        self.meta = meta
        self._gas: dict[int, dict[str, float]] = {}
        self._one_tx: dict[str, float] | None = None

    # ------------------------------------------------------------------ throughput
    def embedded(self) -> float:
        with served_node("embedded", batch_size=1024) as node:
            run = import_and_anchor(node, self.licences)
            if self.licences >= 1024 * 2:  # the b1024 gas figure comes free from this run
                self._gas.setdefault(1024, gas_per_licence(anchor_gas(node.engine), 1024))
            self.meta["embedded"] = {**run, "init_demo_s": node.init_s}
        return run["per_s"]

    def anvil(self) -> float:
        with anvil_chain() as (url, version):
            self.meta["anvil_version"] = version
            with served_node(url, batch_size=1024, chain_id=31337) as node:
                run = import_and_anchor(node, self.licences)
                gas = gas_per_licence(anchor_gas(node.engine), 1024) if self.licences >= 1024 else {}
                self.meta["anvil"] = {**run, "init_demo_s": node.init_s, **{
                    f"anvil_{k}": v for k, v in gas.items()}}
        return run["per_s"]

    def one_tx_per_doc(self) -> float:
        return self._run_one_tx()["per_s"]

    def _run_one_tx(self) -> dict[str, float]:
        if self._one_tx is None:
            count = min(ONE_TX_SAMPLE, self.licences)
            with demo_node("embedded", batch_size=1) as node:
                run = issue_and_anchor(node, count)
                self._gas[1] = gas_per_licence(node.anchor_gas(), 1)
            self._one_tx = run
            self.meta["one_tx_per_doc"] = run
        return self._one_tx

    # ------------------------------------------------------------------ gas
    def gas(self, batch_size: int) -> float:
        if batch_size == 1:
            self._run_one_tx()
        if batch_size not in self._gas:
            with demo_node("embedded", batch_size=batch_size) as node:
                issue_and_anchor(node, batch_size * GAS_BATCHES)
                self._gas[batch_size] = gas_per_licence(node.anchor_gas(), batch_size)
        self.meta[f"gas_b{batch_size}"] = self._gas[batch_size]
        return self._gas[batch_size]["gas_per_licence"]
