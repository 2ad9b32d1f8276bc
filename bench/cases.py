"""Transfer-case figures: wall time and gas of a full case (contract filing → registered title).

Drives the contracts directly with the test suite's case driver (each transaction signed and
waited for, as a department's node does): HOUSING opens, TAX assesses (anchoring the
vouchers), the buyer funds, REGISTRY settles. The seller's title is registered and its owner
has consented beforehand; no mortgage. Cases run one after another.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_utils import keccak

from ledger.domain.property import Owner
from node.chain.anvil import AnvilProcess
from node.chain.embedded import EmbeddedChain
from node.chain.rpc import RpcChain
from tests.chain.harness import (
    ACCOUNT_BALANCE,
    ACCOUNT_COUNT,
    TEST_ACCOUNTS,
    TEST_CHAIN_ID,
    ChainHarness,
    address_bytes,
)
from tests.contracts.case_helpers import CaseSetup

CASES = 20


def _run(harness: ChainHarness, meta: dict[str, Any], backend: str) -> dict[str, float]:
    s = CaseSetup.deploy(harness)
    times, gas = [], []
    for i in range(CASES):
        unit = keccak(text=f"bench-unit-{i}")
        s.register.tx(s["REGISTRY"], "registerTitle", unit, [(keccak(text=f"owner-{i}"), 1_000_000)],
                      keccak(text=f"cert-{i}"))
        s.register.tx(s["REGISTRY"], "recordOwnerConsent", unit, 1)
        terms = replace(s.terms(f"bench-contract-{i}", buyers=(Owner(keccak(text=f"buyer-{i}"), 1_000_000),)),
                        unit=unit)
        t0 = time.perf_counter()
        _, receipts = s.run_case(terms, name=f"bench-{i}")
        times.append(time.perf_counter() - t0)
        gas.append(sum(r.gas_used for r in receipts))
    meta.setdefault("transfer_cases", {})[backend] = {
        "cases": CASES, "case_seconds": [round(t, 4) for t in times], "case_gas": gas,
        "steps": ["openCase", "assess", "fund", "settle"], "mode": "sequential, contract driver"}
    return {"median_s": statistics.median(times), "gas": statistics.median(gas),
            "per_min": 60 * CASES / sum(times)}


def embedded(meta: dict[str, Any]) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    gateway = EmbeddedChain(folder, chain_id=TEST_CHAIN_ID,
                            genesis_balances={address_bytes(a): ACCOUNT_BALANCE for a in TEST_ACCOUNTS})
    try:
        return _run(ChainHarness(gateway, TEST_ACCOUNTS), meta, "embedded")
    finally:
        gateway.close()


def anvil(meta: dict[str, Any]) -> dict[str, float]:
    with AnvilProcess(chain_id=TEST_CHAIN_ID, accounts=ACCOUNT_COUNT,
                      balance_ether=ACCOUNT_BALANCE // 10**18) as process:
        gateway = RpcChain(process.url)
        try:
            return _run(ChainHarness(gateway, TEST_ACCOUNTS), meta, "anvil")
        finally:
            gateway.close()
