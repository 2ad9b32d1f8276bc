"""A node on anvil through real reorganisations: nothing accepted is lost, verifiers never see orphans.

Each test runs a demo node (driven tick by tick, no background thread) on one anvil per
module, issues and changes licences over HTTP, reorganises the chain with
``evm_revert`` and different blocks, and follows what a verifier is told.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from ledger.store.models import AnchorBatch, Licence, OutboxEntry
from node.app import create_app
from node.chain.anvil import AnvilProcess
from node.chain.rpc import RpcChain
from node.config import load_settings
from node.runtime import Runtime
from node.services.bootstrap import init_demo, read_tokens
from tests.node.reorg import Fork, replaced

pytestmark = pytest.mark.anvil

BUSINESS = "11100000000013338W011"


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    """One fresh anvil for this module."""
    with AnvilProcess(chain_id=31337) as anvil:
        yield anvil.url


@dataclass
class Node:
    """A demo node on anvil and what a test needs to drive it."""

    data: Path
    runtime: Runtime
    client: TestClient
    token: str

    @property
    def chain(self) -> RpcChain:
        assert isinstance(self.runtime.gateway, RpcChain)
        return self.runtime.gateway

    def issue(self, n: int, tag: str) -> list[dict[str, str]]:
        batch = [{"type": BUSINESS, "holder_name": f"企业{tag}{i}", "holder_id": f"ID{tag}{i}"}
                 for i in range(n)]
        r = self.client.post("/v1/licences/batch", json={"licences": batch}, headers=self.headers)
        assert r.status_code == 201, r.text
        return list(r.json()["results"])

    def change(self, action: str, licence: dict[str, str], reason: int) -> None:
        r = self.client.post(f"/v1/licences/{licence['identifier']}/{action}", json={"reason": reason},
                             headers=self.headers)
        assert r.status_code == 202, r.text

    def verdict(self, licence: dict[str, str]) -> str:
        r = self.client.post("/v1/verify", json={"token": licence["qr"]})
        assert r.status_code == 200, r.text
        return str(r.json()["verdict"])

    def anchor(self, licence: dict[str, str]) -> tuple[AnchorBatch, OutboxEntry]:
        """Return the batch holding ``licence`` and the outbox entry anchoring it."""
        with Session(self.runtime.engine) as s:
            lic = s.get(Licence, licence["identifier"])
            assert lic is not None and lic.batch_id is not None
            batch = s.get(AnchorBatch, lic.batch_id)
            assert batch is not None
            entry = s.get(OutboxEntry, batch.outbox_id)
            assert entry is not None
            return batch, entry

    def tick_until_mined(self, licence: dict[str, str]) -> OutboxEntry:
        """Tick until the anchor of ``licence`` has a receipt (anvil mines in the background)."""
        for _ in range(200):
            self.runtime.tick()
            _, entry = self.anchor(licence)
            if entry.state == "mined":
                return entry
        raise AssertionError(f"outbox entry {entry.id} is still {entry.state}")

    def entries(self, kind: str) -> list[OutboxEntry]:
        with Session(self.runtime.engine) as s:
            return list(s.exec(select(OutboxEntry).where(OutboxEntry.kind == kind)))

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def open_node(data: Path, confirmations: int) -> Node:
    settings = load_settings(data, background=False, batch_size=16, confirmations=confirmations)
    rt = Runtime(settings)
    client = TestClient(create_app(settings, rt), raise_server_exceptions=False)
    return Node(data, rt, client, read_tokens(data)["MARKET"])


def make_node(tmp_path: Path, anvil_url: str, confirmations: int, db_url: str | None = None) -> Node:
    data = tmp_path / "data"
    init_demo(data, chain=anvil_url, db_url=db_url, chain_id=31337)
    node = open_node(data, confirmations)
    if confirmations:
        node.chain.mine(confirmations)  # the departments' keys are confirmed before any licence
    node.runtime.tick()
    return node


@pytest.mark.postgres
def test_an_anchor_and_a_revocation_reorged_away_are_sent_again(tmp_path: Path, anvil_url: str,
                                                                 postgres_url: str) -> None:
    node = make_node(tmp_path, anvil_url, confirmations=0, db_url=postgres_url)
    try:
        rt = node.runtime
        first = node.issue(3, "a")
        rt.settle()
        assert {node.verdict(x) for x in first} == {"valid"}
        fork = Fork.here(node.chain)

        later = node.issue(2, "b")
        rt.settle()
        node.change("revoke", first[0], 5)
        rt.settle()
        assert node.verdict(later[0]) == "valid" and node.verdict(first[0]) == "revoked"
        old_batch, old_entry = node.anchor(later[0])
        assert old_batch.anchored_block == old_entry.block_number == fork.base.number + 1

        orphaned = fork.switch(mine=3)  # a longer branch without the anchor and the revocation
        assert replaced(node.chain, orphaned)
        rt.tick()
        # the index has dropped both, and the outbox owes both transactions again
        assert node.verdict(later[0]) == "not_anchored_yet"
        assert node.verdict(later[1]) == "not_anchored_yet"
        assert node.verdict(first[0]) == "valid"
        batch, entry = node.anchor(later[0])
        assert batch.anchored_block is None and entry.state == "sent"
        assert [e.state for e in node.entries("revoke")] == ["sent"]
        health = node.client.get("/health").json()
        assert health["outbox_pending"] == 2 and health["indexer_lag"] == 0

        rt.settle()
        assert node.verdict(later[0]) == "valid" and node.verdict(later[1]) == "valid"
        assert node.verdict(first[0]) == "revoked"
        batch, entry = node.anchor(later[0])
        receipt = node.chain.receipt(bytes.fromhex(entry.transaction_hash or ""))
        assert receipt is not None and entry.state == "mined"
        assert batch.anchored_block == entry.block_number == receipt.block_number > fork.base.number + 3
        shown = node.client.get(f"/v1/licences/{later[0]['identifier']}", headers=node.headers).json()
        assert shown["anchor"]["block_number"] == receipt.block_number
    finally:
        node.runtime.stop()


def test_an_unconfirmed_anchor_reorged_away_is_sent_again(tmp_path: Path, anvil_url: str) -> None:
    n = 2
    node = make_node(tmp_path, anvil_url, confirmations=n)
    try:
        rt = node.runtime
        fork = Fork.here(node.chain)
        licence = node.issue(1, "c")[0]
        rt.settle()
        _, entry = node.anchor(licence)
        assert entry.state == "mined" and entry.block_number == fork.base.number + 1
        # mined, but not yet n blocks deep: verifiers are not told it is anchored
        assert node.verdict(licence) == "not_anchored_yet"

        orphaned = fork.switch(mine=n + 1)  # replaces the anchor's block, not the indexed ones
        assert replaced(node.chain, orphaned)
        entry = node.tick_until_mined(licence)
        assert rt.last_index is not None and rt.last_index.reorged_from is None
        assert entry.block_number == fork.base.number + n + 2
        assert node.chain.receipt(bytes.fromhex(entry.transaction_hash or "")) is not None
        assert node.verdict(licence) == "not_anchored_yet"

        node.chain.mine(n)
        rt.tick()
        batch, entry = node.anchor(licence)
        assert batch.anchored_block == entry.block_number
        assert node.verdict(licence) == "valid"
    finally:
        node.runtime.stop()


def test_an_anchor_survives_a_deep_reorg_then_a_shallow_one(tmp_path: Path, anvil_url: str) -> None:
    n = 2
    node = make_node(tmp_path, anvil_url, confirmations=n)
    try:
        rt = node.runtime
        deep = Fork.here(node.chain)
        licence = node.issue(1, "e")[0]
        rt.settle()
        node.chain.mine(n)
        rt.tick()
        assert node.verdict(licence) == "valid"

        deep.switch(mine=n + 2)  # deeper than the confirmations: the indexer rolls it back
        rt.tick()
        # the fork is found at or below the real one (the index remembers only some blocks)
        assert rt.last_index is not None and rt.last_index.reorged_from is not None
        assert rt.last_index.reorged_from <= deep.base.number + 1
        assert node.anchor(licence)[1].state == "sent"
        assert node.verdict(licence) == "not_anchored_yet"

        shallow = Fork.here(node.chain)
        entry = node.tick_until_mined(licence)  # sent again, mined, not yet confirmed ...
        assert entry.block_number == shallow.base.number + 1
        shallow.switch(mine=n)  # ... and taken away again
        entry = node.tick_until_mined(licence)
        assert entry.block_number == shallow.base.number + n + 1
        assert node.verdict(licence) == "not_anchored_yet"
        node.chain.mine(n)
        rt.tick()
        batch, entry = node.anchor(licence)
        assert batch.anchored_block == entry.block_number and node.verdict(licence) == "valid"
    finally:
        node.runtime.stop()


def test_a_key_registration_reorged_away_leaves_the_trust_view(tmp_path: Path, anvil_url: str) -> None:
    node = make_node(tmp_path, anvil_url, confirmations=0)
    try:
        rt = node.runtime
        fork = Fork.here(node.chain)
        r = node.client.post("/v1/keys/rotate", headers=node.headers)
        assert r.status_code == 200, r.text
        kid = bytes.fromhex(r.json()["kid"])
        assert rt.trust.key(kid) is not None

        fork.switch(mine=2)
        rt.tick()  # the registration is rolled back; no new event arrives in this pass
        assert rt.trust.key(kid) is None
        rt.settle()  # the outbox registers the key again, on the new branch
        key = rt.trust.key(kid)
        registered = node.chain.block(fork.base.number + 3)
        assert key is not None and registered is not None and key.valid_from == registered.timestamp
    finally:
        node.runtime.stop()


def test_a_node_restarted_after_a_reorg_sends_the_lost_anchor_again(tmp_path: Path, anvil_url: str) -> None:
    node = make_node(tmp_path, anvil_url, confirmations=0)
    chain = RpcChain(anvil_url)  # outlives the node's own connection
    fork = Fork.here(chain)
    licence = node.issue(4, "d")[1]
    node.runtime.settle()
    assert node.verdict(licence) == "valid"
    node.runtime.stop()

    fork.switch(mine=2)  # while the node is down
    chain.close()
    node = open_node(node.data, confirmations=0)
    try:
        assert node.runtime.last_index is not None
        assert node.runtime.last_index.reorged_from == fork.base.number + 1
        assert node.verdict(licence) == "not_anchored_yet"
        node.runtime.settle()
        batch, entry = node.anchor(licence)
        assert batch.anchored_block == entry.block_number == fork.base.number + 3
        assert node.verdict(licence) == "valid"
    finally:
        node.runtime.stop()
