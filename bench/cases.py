"""Transfer-case figures: wall time, gas and throughput of whole cases through a demo node's API.

Every case goes through the node's HTTP API with each department's own token
(:mod:`bench.case_driver`): HOUSING files the contract and opens the case, REGISTRY records the
seller's consent, TAX assesses (issuing and anchoring the e-tax vouchers), BANK mints the buyer's
deposit and funds the escrow (approving the case contract once), REGISTRY settles; the clock
stops when the public unit status shows the buyers as owners. Titles are registered beforehand,
outside the clock. Gas is read from the chain's receipts of every transaction a case sent.

One-at-a-time figures come from a node without a background loop (each request drives its own
transactions, as in the other benches); the throughput figure starts the node's background loop
and keeps ``IN_FLIGHT`` cases on as many units going at once, one thread each. Beside wall time
each run records the CPU seconds of the bench process (node and client; the embedded chain too)
plus anvil's, a figure the neighbours on a shared machine disturb much less.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from bench.case_driver import CaseDriver, CaseRun, unit_number
from bench.common import Node, anvil_process, anvil_version, cpu_seconds, demo_node

CASES = 12  # sequential cases per backend (the first on a fresh chain is reported apart)
IN_FLIGHT = 8  # cases progressing at once in the throughput run
ROUNDS = 3  # cases each in-flight thread takes one after another on its unit
VARIANTS = {"with_mortgage": {"owners": 2, "mortgage": "consent"},
            "with_release": {"owners": 2, "mortgage": "release"}}


def case_gas(node: Node, run: CaseRun) -> dict[str, int]:
    """Return the gas of each step of ``run``, summed over the receipts of the transactions it sent."""
    out: dict[str, int] = {}
    for step, hashes in run.transactions.items():
        total = 0
        for h in hashes:
            receipt = node.runtime.gateway.receipt(bytes.fromhex(h.removeprefix("0x")))
            if receipt is None or receipt.status != 1:
                raise RuntimeError(f"{step}: transaction {h} has no successful receipt")
            total += receipt.gas_used
        out[step] = total
    return out


def _cpu(chain_pid: int | None) -> float:
    """Return the CPU seconds of this process (node, bench and an embedded chain) plus anvil's."""
    return cpu_seconds() + (cpu_seconds(chain_pid) if chain_pid else 0.0)


def _sequential(node: Node, backend: str, chain_pid: int | None = None) -> dict[str, Any]:
    """Run CASES typical cases one after another, then one case of each variant."""
    driver = CaseDriver(node.client, node.tokens)
    units = [unit_number(i) for i in range(CASES)]
    for u in units:
        driver.register(u)
    runs, cpu = [], []
    for i, u in enumerate(units):
        c0 = _cpu(chain_pid)
        runs.append(driver.run(u, f"BENCH-{backend}-{i}"))
        cpu.append(_cpu(chain_pid) - c0)
    gas = [case_gas(node, r) for r in runs]
    variants: dict[str, dict[str, int]] = {}
    for k, (name, shape) in enumerate(VARIANTS.items()):
        u = unit_number(CASES + k)
        driver.register(u, owners=int(shape["owners"]), mortgage=True)
        variants[name] = case_gas(node, driver.run(u, f"BENCH-{backend}-{name}", **shape))  # type: ignore[arg-type]
    warm = runs[1:]
    totals = [sum(g.values()) for g in gas]
    return {
        "cases": CASES, "case_seconds": [round(r.seconds, 4) for r in runs],
        "median_s": statistics.median(r.seconds for r in warm), "first_s": runs[0].seconds,
        "case_cpu_seconds": [round(c, 3) for c in cpu], "median_cpu_s": statistics.median(cpu[1:]),
        "gas": statistics.median(totals[1:]), "gas_first": totals[0],
        "gas_steps_first": gas[0], "gas_steps_warm": gas[1],
        "gas_min": min(totals[1:]), "gas_max": max(totals[1:]),
        **{f"gas_{name}": sum(g.values()) for name, g in variants.items()},
        **{f"gas_steps_{name}": g for name, g in variants.items()},
        "per_min_sequential": 60 * len(warm) / sum(r.seconds for r in warm),
    }


def _in_flight(node: Node, chain_pid: int | None) -> dict[str, Any]:
    """Keep IN_FLIGHT cases going at once (one thread per unit, ROUNDS cases each); count per minute."""
    driver = CaseDriver(node.client, node.tokens)
    base = CASES + len(VARIANTS)
    units = [unit_number(base + i) for i in range(IN_FLIGHT)]
    for u in units:
        driver.register(u)
    done: list[CaseRun] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(k: int, unit: str) -> None:
        for r in range(ROUNDS):  # each settled case leaves the buyers as owners: the next one sells on
            try:
                run = driver.run(unit, f"FLIGHT-{k}-{r}")
            except Exception as exc:  # a failed case is reported, the others carry on
                with lock:
                    errors.append(f"{unit} round {r}: {type(exc).__name__}: {exc}")
                return
            with lock:
                done.append(run)

    threads = [threading.Thread(target=worker, args=(k, u), name=f"case-{k}") for k, u in enumerate(units)]
    t0, c0 = time.perf_counter(), _cpu(chain_pid)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, _cpu(chain_pid) - c0
    if errors:
        raise RuntimeError(f"{len(errors)} in-flight case(s) failed: {errors[:3]}")
    return {"in_flight": IN_FLIGHT, "rounds": ROUNDS, "completed": len(done), "wall_s": round(wall, 3),
            "per_min": 60 * len(done) / wall, "cpu_s": round(cpu, 3),
            "cases_per_cpu_min": 60 * len(done) / cpu if cpu else None,
            "gas_median": statistics.median(sum(case_gas(node, r).values()) for r in done),
            "case_seconds_median": statistics.median(r.seconds for r in done),
            "case_seconds_max": max(r.seconds for r in done)}


def embedded(meta: dict[str, Any]) -> dict[str, Any]:
    """Return the one-at-a-time figures on a fresh embedded-chain demo node."""
    with demo_node("embedded", batch_size=64) as node:
        figures = _sequential(node, "embedded")
    meta.setdefault("transfer_cases", {})["embedded"] = {**figures, "mode": "one at a time, HTTP API"}
    return figures


def anvil(meta: dict[str, Any]) -> dict[str, Any]:
    """Return the one-at-a-time figures on a fresh anvil demo node."""
    meta["anvil_version"] = anvil_version()
    with anvil_process() as proc, demo_node(proc.url, batch_size=64, chain_id=31337) as node:
        figures = _sequential(node, "anvil", proc.pid)
    meta.setdefault("transfer_cases", {})["anvil"] = {**figures, "mode": "one at a time, HTTP API"}
    return figures


def anvil_in_flight(meta: dict[str, Any]) -> dict[str, Any]:
    """Return the throughput with IN_FLIGHT cases at once on a fresh anvil node with its background loop."""
    meta["anvil_version"] = anvil_version()
    with anvil_process() as proc, demo_node(proc.url, batch_size=64, chain_id=31337, background=True) as node:
        flight = _in_flight(node, proc.pid)
    meta.setdefault("transfer_cases", {})["anvil_in_flight"] = {
        **flight, "mode": "threads over the HTTP API, node background loop"}
    return flight
