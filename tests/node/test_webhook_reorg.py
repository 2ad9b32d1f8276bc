"""Webhooks through a real chain reorganisation on anvil, with the node's projections and rollbacks.

A LicenceRegistry on anvil stands in for the case contract: a batch root and a licence
leaf are subjects as a case id will be. Receivers told of events on the orphaned branch
get a ``retracted`` notice; events of the new branch come after it, with new ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from node.config import Settings
from node.services import notify
from node.services.delivery import DeliveryWorker
from tests.chain.harness import ChainHarness
from tests.contracts.helpers import ISSUER, Registry
from tests.node.receiver import Receiver
from tests.node.reorg import Fork, replaced
from tests.node.test_indexer_reorg import Ledger, check_index, indexer, reorg, rpc

pytestmark = pytest.mark.anvil


@pytest.fixture
def start(anvil_chain: ChainHarness) -> int:
    """The indexer's start block: the one that will deploy the registry."""
    return anvil_chain.gateway.head().number + 1


@pytest.fixture
def registry(anvil_chain: ChainHarness, start: int) -> Registry:
    council = anvil_chain.accounts[0:3]
    address = anvil_chain.deploy("LicenceRegistry", [a.address for a in council], 2)
    reg = Registry(anvil_chain, address, list(council))
    reg.add_department("MARKET", anvil_chain.accounts[3], ISSUER, "110000")
    return reg


def sent(receiver: Receiver) -> list[tuple[str, str, str, str]]:
    return [(r.event_key, r.body["type"], r.body["name"], r.body["block_hash"]) for r in receiver.received]


def drain(worker: DeliveryWorker) -> None:
    for _ in range(50):
        if worker.run_once().attempted == 0:
            return
    raise AssertionError("the sender never ran out of due deliveries")


def test_receivers_of_orphaned_events_are_told_and_then_hear_the_new_branch(
        anvil_chain: ChainHarness, registry: Registry, engine: Engine, start: int, tmp_path: Path) -> None:
    chain = anvil_chain
    settings = Settings(data_dir=tmp_path, webhook_secret="e" * 64)
    idx = indexer(engine, chain, registry, start)
    ledger = Ledger(engine, registry, chain.accounts[3])
    a, b = ledger.batch("A", 3), ledger.batch("B", 2)
    receivers: dict[str, Receiver] = {}
    for subject in (b.root, a.leaf(1)):
        receivers[subject] = Receiver()
        _, receivers[subject].secret = notify.subscribe(engine, settings, "MARKET", subject,
                                                        receivers[subject].url)
    worker = DeliveryWorker(engine, settings)
    try:
        ledger.anchor(a)
        idx.run_once()
        fork = Fork.here(rpc(chain))
        ledger.anchor(b)
        ledger.change("suspend", a, 1, 2)
        idx.run_once()
        drain(worker)
        old = {s: sent(r) for s, r in receivers.items()}
        assert [x[2] for x in old[b.root]] == ["BatchAnchored"]
        assert [x[2] for x in old[a.leaf(1)]] == ["LicenceSuspended"]

        orphaned = reorg(chain, fork, mine=2)  # the new branch anchors B again, later, and suspends nothing
        ledger.anchor(b)
        chain.mine(2)
        assert replaced(rpc(chain), orphaned)
        assert idx.run_once().reorged_from == fork.base.number + 1
        check_index(engine, chain, registry, start)
        drain(worker)

        [(old_b, _, _, old_hash)] = old[b.root]
        retracted, anew = sent(receivers[b.root])[1:]
        assert retracted == (f"{old_b}-retracted", "retracted", "BatchAnchored", old_hash)
        assert anew[1:3] == ("event", "BatchAnchored") and int(anew[0]) > int(old_b) and anew[3] != old_hash
        [(old_a, _, _, a_hash)] = old[a.leaf(1)]
        assert sent(receivers[a.leaf(1)])[1:] == [(f"{old_a}-retracted", "retracted", "LicenceSuspended", a_hash)]
        assert all(r.signature == "ok" for rec in receivers.values() for r in rec.received)
    finally:
        worker.stop()
        for rec in receivers.values():
            rec.close()
