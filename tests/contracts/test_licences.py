"""Licence batches: anchoring, per-leaf status with Merkle proofs, status history, gas."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from .helpers import (
    ACTIVE,
    NOT_ANCHORED,
    REVOKED,
    SUSPENDED,
    MerkleTree,
    Registry,
    addr,
    b32,
    digests,
    leaf_of,
    verify,
)

LICENCE_TYPE = b32("11100000000013338W011")
GAS_LIMIT_PER_BATCH = 51_200  # <= 50 gas per licence at batch 1,024


@pytest.fixture
def batch(registry: Registry, chain: Any, t0: int) -> tuple[MerkleTree, list[bytes]]:
    """Seven licences anchored by MARKET at t0."""
    docs = digests(7)
    tree = MerkleTree([leaf_of(d) for d in docs])
    registry.tx(chain.accounts[3], "anchorBatch", tree.root, 7, LICENCE_TYPE, at=t0)
    return tree, docs


def test_python_tree_matches_openzeppelin(registry: Registry, chain: Any, t0: int) -> None:
    for size in (1, 2, 3, 5, 8, 13):
        docs = digests(size, salt=f"s{size}")
        tree = MerkleTree([leaf_of(d) for d in docs])
        registry.tx(chain.accounts[3], "anchorBatch", tree.root, size, LICENCE_TYPE)
        for i, doc in enumerate(docs):
            assert verify(tree.proof(i), tree.root, leaf_of(doc))
            assert registry.view("verifiedStatusAt", doc, tree.root, tree.proof(i), 2**63) == (
                ACTIVE, 0, 0)


def test_anchor_records_one_batch(registry: Registry, chain: Any, t0: int) -> None:
    reg, root = registry, keccak(text="root")
    receipt = reg.tx(chain.accounts[3], "anchorBatch", root, 1024, LICENCE_TYPE, at=t0)
    (event,) = reg.events(receipt)
    assert (event.name, event.args) == ("BatchAnchored", {
        "root": root, "issuer": b32("MARKET"), "licenceType": LICENCE_TYPE, "count": 1024,
        "anchoredAt": t0})
    assert reg.view("batch", root) == {"issuer": b32("MARKET"), "anchoredAt": t0, "count": 1024,
                                       "licenceTypeHash": keccak(LICENCE_TYPE)[:16]}
    with reg.reverts("LicenceRegistryBatchExists", root=root):
        reg.tx(chain.accounts[4], "anchorBatch", root, 3, LICENCE_TYPE)
    with reg.reverts("LicenceRegistryUnknownBatch", root=keccak(text="other")):
        reg.view("batch", keccak(text="other"))
    with reg.reverts("LicenceRegistryInvalidBatch", root=bytes(32)):
        reg.tx(chain.accounts[3], "anchorBatch", bytes(32), 3, LICENCE_TYPE)
    with reg.reverts("LicenceRegistryInvalidBatch", count=0):
        reg.tx(chain.accounts[3], "anchorBatch", keccak(text="x"), 0, LICENCE_TYPE)


def test_only_active_issuers_anchor(registry: Registry, chain: Any) -> None:
    reg, root = registry, keccak(text="root")
    for account in (chain.accounts[5], chain.accounts[9], reg.council[0]):  # HOUSING, nobody
        with reg.reverts("LicenceRegistryNotIssuer", account=addr(account)):
            reg.tx(account, "anchorBatch", root, 1, LICENCE_TYPE)
    reg.council_do("setDepartmentActive", b32("MARKET"), False)
    with reg.reverts("LicenceRegistryNotIssuer", account=addr(chain.accounts[3])):
        reg.tx(chain.accounts[3], "anchorBatch", root, 1, LICENCE_TYPE)


@pytest.mark.parametrize("count", [1, 1024, 100_000])
def test_anchor_gas(registry: Registry, chain: Any, count: int) -> None:
    # A realistic root (no zero bytes) and a 21-character type code in the calldata.
    root = keccak(text=f"gas-{count}")
    receipt = registry.tx(chain.accounts[3], "anchorBatch", root, count, LICENCE_TYPE)
    assert receipt.gas_used <= GAS_LIMIT_PER_BATCH, receipt.gas_used


def test_suspend_reinstate_revoke_and_history(registry: Registry, chain: Any, t0: int,
                                              batch: tuple[MerkleTree, list[bytes]]) -> None:
    reg, market = registry, chain.accounts[3]
    tree, docs = batch
    doc, proof, leaf = docs[2], tree.proof(2), leaf_of(docs[2])

    receipt = reg.tx(market, "suspend", doc, tree.root, proof, 7, at=t0 + 100)
    (event,) = reg.events(receipt)
    assert (event.name, event.args) == ("LicenceSuspended",
                                        {"leaf": leaf, "root": tree.root, "reason": 7,
                                         "at": t0 + 100})
    with reg.reverts("LicenceRegistryAlreadySuspended", leaf=leaf):
        reg.tx(market, "suspend", doc, tree.root, proof, 8)

    receipt = reg.tx(market, "reinstate", doc, tree.root, proof, at=t0 + 200)
    assert reg.events(receipt)[0].args == {"leaf": leaf, "root": tree.root, "at": t0 + 200}
    with reg.reverts("LicenceRegistryNotSuspended", leaf=leaf):
        reg.tx(market, "reinstate", doc, tree.root, proof)

    receipt = reg.tx(market, "revoke", doc, tree.root, proof, 3, at=t0 + 300)
    assert reg.events(receipt)[0].name == "LicenceRevoked"
    for fn, extra in (("suspend", (1,)), ("revoke", (1,)), ("reinstate", ())):
        with reg.reverts("LicenceRegistryAlreadyRevoked", leaf=leaf):
            reg.tx(market, fn, doc, tree.root, proof, *extra)

    assert reg.view("statusOf", leaf) == (REVOKED, 3, t0 + 300)
    assert reg.view("statusHistoryLength", leaf) == 3
    assert reg.view("statusHistoryAt", leaf, 0) == (SUSPENDED, 7, t0 + 100, b32("MARKET"))
    expected = {
        t0 - 1: (ACTIVE, 0, 0), t0: (ACTIVE, 0, 0), t0 + 99: (ACTIVE, 0, 0),
        t0 + 100: (SUSPENDED, 7, t0 + 100), t0 + 199: (SUSPENDED, 7, t0 + 100),
        t0 + 200: (ACTIVE, 0, t0 + 200), t0 + 299: (ACTIVE, 0, t0 + 200),
        t0 + 300: (REVOKED, 3, t0 + 300), 2**64 - 1: (REVOKED, 3, t0 + 300),
    }
    assert {t: reg.view("statusAt", leaf, t) for t in expected} == expected
    verified = {t: reg.view("verifiedStatusAt", doc, tree.root, proof, t) for t in expected}
    assert verified == {**expected, t0 - 1: (NOT_ANCHORED, 0, 0)}

    # Its neighbours are untouched.
    assert reg.view("statusOf", leaf_of(docs[3])) == (ACTIVE, 0, 0)


def test_status_needs_the_batch_issuer_and_a_valid_proof(
        registry: Registry, chain: Any, batch: tuple[MerkleTree, list[bytes]]) -> None:
    reg, market, police = registry, chain.accounts[3], chain.accounts[4]
    tree, docs = batch
    with reg.reverts("LicenceRegistryNotBatchIssuer", root=tree.root, department=b32("POLICE")):
        reg.tx(police, "revoke", docs[0], tree.root, tree.proof(0), 1)
    with reg.reverts("LicenceRegistryNotBatchIssuer", root=tree.root, department=bytes(32)):
        reg.tx(chain.accounts[9], "suspend", docs[0], tree.root, tree.proof(0), 1)
    with reg.reverts("LicenceRegistryInvalidProof", leaf=leaf_of(docs[0]), root=tree.root):
        reg.tx(market, "suspend", docs[0], tree.root, tree.proof(1), 1)
    stranger = keccak(text="not in the batch")
    with reg.reverts("LicenceRegistryInvalidProof", leaf=leaf_of(stranger)):
        reg.tx(market, "revoke", stranger, tree.root, tree.proof(0), 1)
    with reg.reverts("LicenceRegistryUnknownBatch", root=keccak(text="nope")):
        reg.tx(market, "revoke", docs[0], keccak(text="nope"), tree.proof(0), 1)
    reg.council_do("setDepartmentActive", b32("MARKET"), False)
    with reg.reverts("LicenceRegistryNotBatchIssuer", root=tree.root, department=bytes(32)):
        reg.tx(market, "suspend", docs[0], tree.root, tree.proof(0), 1)


def test_leaf_history_is_pinned_to_its_first_department(
        registry: Registry, chain: Any, batch: tuple[MerkleTree, list[bytes]]) -> None:
    reg, market, police = registry, chain.accounts[3], chain.accounts[4]
    tree, docs = batch
    reg.tx(market, "suspend", docs[0], tree.root, tree.proof(0), 1)
    # POLICE anchors a root holding MARKET's leaf and tries to revoke it through that root.
    rogue = MerkleTree([leaf_of(docs[0]), keccak(text="filler")])
    reg.tx(police, "anchorBatch", rogue.root, 2, LICENCE_TYPE)
    with reg.reverts("LicenceRegistryNotLeafIssuer", leaf=leaf_of(docs[0]),
                     department=b32("POLICE")):
        reg.tx(police, "revoke", docs[0], rogue.root, rogue.proof(0), 1)


def test_verified_status_reports_not_anchored(registry: Registry, chain: Any, t0: int,
                                              batch: tuple[MerkleTree, list[bytes]]) -> None:
    reg = registry
    tree, docs = batch
    assert reg.view("verifiedStatusAt", docs[1], tree.root, tree.proof(1), t0) == (ACTIVE, 0, 0)
    assert reg.view("verifiedStatusAt", docs[1], tree.root, tree.proof(1), t0 - 1) == (
        NOT_ANCHORED, 0, 0)
    assert reg.view("verifiedStatusAt", docs[1], tree.root, tree.proof(2), t0) == (
        NOT_ANCHORED, 0, 0)
    assert reg.view("verifiedStatusAt", docs[1], keccak(text="x"), tree.proof(1), t0) == (
        NOT_ANCHORED, 0, 0)
