"""The indexer under real chain reorganisations on anvil, with the node's own projections.

A LicenceRegistry is deployed on anvil, the node's tables hold the batches and licences
it anchors, and the indexer runs with exactly the projections and rollbacks the node
registers. A reorganisation is an ``evm_revert`` to a snapshot followed by different
blocks at the same heights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.indexer.indexer import MAX_RANGE, Indexer
from ledger.store.db import make_engine, migrate
from ledger.store.models import AnchorBatch, ChainEvent, IndexedBlock, Licence, NodeState
from node.chain.gateway import RawLog, Receipt
from node.chain.rpc import RpcChain
from node.runtime import PROJECTIONS, ROLLBACKS
from node.services import chainview
from tests.chain.harness import ChainHarness
from tests.contracts.helpers import ISSUER, MerkleTree, Registry, b32, digests, leaf_of
from tests.node.reorg import Fork, assert_index_matches_chain, indexed_events, replaced, table_rows

pytestmark = pytest.mark.anvil

LICENCE_TYPE = "11100000000013338W011"


@dataclass
class Batch:
    """A batch of licences as the node keeps it, and its Merkle tree."""

    name: str
    docs: list[bytes]
    tree: MerkleTree

    @property
    def root(self) -> str:
        return self.tree.root.hex()

    def leaf(self, i: int) -> str:
        return leaf_of(self.docs[i]).hex()


class Ledger:
    """The issuing department: its rows in the node's tables and its registry calls."""

    def __init__(self, engine: Engine, registry: Registry, issuer: LocalAccount) -> None:
        self.engine = engine
        self.registry = registry
        self.issuer = issuer

    def batch(self, name: str, size: int) -> Batch:
        """Record ``size`` issued licences and their (not yet anchored) batch."""
        docs = digests(size, salt=name)
        tree = MerkleTree([leaf_of(d) for d in docs])
        with Session(self.engine) as s:
            row = AnchorBatch(department="MARKET", licence_type=LICENCE_TYPE, root=tree.root.hex(),
                              count=size, leaves=b"".join(tree.leaves), created_at_ms=0)
            s.add(row)
            s.flush()
            for i, doc in enumerate(docs):
                s.add(Licence(identifier=f"{name}-{i}", department="MARKET", licence_type=LICENCE_TYPE,
                              leaf=leaf_of(doc).hex(), document_digest=doc.hex(), document="{}",
                              disclosures="[]", token="", kid="00", issued_at=0, valid_from=0,
                              batch_id=row.id, leaf_index=i))
            s.commit()
        return Batch(name, docs, tree)

    def anchor(self, batch: Batch) -> Receipt:
        return self.registry.tx(self.issuer, "anchorBatch", batch.tree.root, len(batch.docs),
                                b32(LICENCE_TYPE))

    def change(self, fn: str, batch: Batch, i: int, *reason: int) -> Receipt:
        return self.registry.tx(self.issuer, fn, batch.docs[i], batch.tree.root, batch.tree.proof(i),
                                *reason)

    def anchored(self, batch: Batch) -> tuple[int | None, int | None, str | None]:
        """Return (block, time, transaction) of the batch's anchor as the node shows it."""
        with Session(self.engine) as s:
            row = s.exec(select(AnchorBatch).where(AnchorBatch.root == batch.root)).one()
        return row.anchored_block, row.anchored_at, row.transaction_hash

    def status(self, batch: Batch, i: int) -> tuple[str, int | None]:
        with Session(self.engine) as s:
            lic = s.exec(select(Licence).where(Licence.leaf == batch.leaf(i))).one()
        return lic.status, lic.status_reason


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The node's database on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def start(anvil_chain: ChainHarness) -> int:
    """The indexer's start block: the one that will deploy the registry."""
    return anvil_chain.gateway.head().number + 1


@pytest.fixture
def registry(anvil_chain: ChainHarness, start: int) -> Registry:
    """A fresh LicenceRegistry on anvil with MARKET as an issuer."""
    council = anvil_chain.accounts[0:3]
    address = anvil_chain.deploy("LicenceRegistry", [a.address for a in council], 2)
    reg = Registry(anvil_chain, address, list(council))
    reg.add_department("MARKET", anvil_chain.accounts[3], ISSUER, "110000")
    return reg


@pytest.fixture
def ledger(engine: Engine, registry: Registry, anvil_chain: ChainHarness) -> Ledger:
    return Ledger(engine, registry, anvil_chain.accounts[3])


def indexer(engine: Engine, chain: ChainHarness, registry: Registry, start: int, confirmations: int = 0,
            source: Any = None, max_range: int = MAX_RANGE) -> Indexer:
    """Return an indexer wired as the node wires it."""
    return Indexer(engine, source or chain.gateway, [registry.address], chainview.decode,
                   start_block=start, confirmations=confirmations, projections=PROJECTIONS,
                   rollbacks=ROLLBACKS, max_range=max_range)


def rpc(chain: ChainHarness) -> RpcChain:
    """Return the harness's anvil gateway."""
    assert isinstance(chain.gateway, RpcChain)
    return chain.gateway


def reorg(chain: ChainHarness, fork: Fork, mine: int = 0) -> list[Any]:
    """Switch ``chain`` to a new branch from ``fork`` and forget cached nonces."""
    orphaned = fork.switch(mine)
    chain.sender.reset()
    return orphaned


def check_index(engine: Engine, chain: ChainHarness, registry: Registry, start: int,
                confirmations: int = 0) -> None:
    assert_index_matches_chain(engine, rpc(chain), registry.address, start, confirmations)


# ---------------------------------------------------------------------- confirmations = 0
def test_reorg_below_the_tip_removes_orphaned_events_and_undoes_their_projections(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain = anvil_chain
    idx = indexer(engine, chain, registry, start)
    a, b, c = ledger.batch("A", 4), ledger.batch("B", 3), ledger.batch("C", 2)
    anchored_a = ledger.anchor(a)
    idx.run_once()
    fork = Fork.here(rpc(chain))

    # the old branch: B and C anchored, one licence of A suspended and one revoked
    old_b = ledger.anchor(b)
    ledger.anchor(c)
    ledger.change("suspend", a, 1, 2)
    ledger.change("revoke", a, 2, 5)
    chain.mine(2)
    status = idx.run_once()
    assert status.events == 4 and status.reorged_from is None
    assert ledger.anchored(b)[0] == old_b.block_number
    assert ledger.anchored(c)[0] is not None
    assert ledger.status(a, 1) == ("suspended", 2) and ledger.status(a, 2) == ("revoked", 5)
    version = idx.version

    # the new branch, longer than the old one: only B is anchored again, two blocks later
    orphaned = reorg(chain, fork, mine=2)
    new_b = ledger.anchor(b)
    chain.mine(4)
    assert replaced(rpc(chain), orphaned)
    assert new_b.block_number == old_b.block_number + 2 and new_b.block_hash != old_b.block_hash

    status = idx.run_once()
    assert status.reorged_from == fork.base.number + 1
    assert status.indexed_to == chain.gateway.head().number
    assert idx.version > version
    new_block = chain.gateway.block(new_b.block_number)
    assert new_block is not None
    assert ledger.anchored(b) == (new_b.block_number, new_block.timestamp, new_b.transaction_hash.hex())
    assert ledger.anchored(c) == (None, None, None)
    assert ledger.anchored(a)[0] == anchored_a.block_number
    assert [ledger.status(a, i) for i in range(4)] == [("active", None)] * 4
    names = [(e.name, e.subject) for e in indexed_events(engine) if e.block_number > fork.base.number]
    assert names == [("BatchAnchored", b.root)]
    orphan_hashes = {o.hash.hex() for o in orphaned}
    with Session(engine) as s:
        assert not s.exec(select(ChainEvent).where(col(ChainEvent.block_hash).in_(orphan_hashes))).all()
        assert not s.exec(select(IndexedBlock).where(col(IndexedBlock.hash).in_(orphan_hashes))).all()
    check_index(engine, chain, registry, start)
    # the verifier's view agrees: a status query at any time finds no suspension or revocation
    view = chainview.TrustView(engine)
    assert view.status(bytes.fromhex(a.leaf(1)), 2**63).status.name == "ACTIVE"
    assert view.status(bytes.fromhex(a.leaf(2)), 2**63).status.name == "ACTIVE"


def test_reorg_onto_a_shorter_branch_rewinds_below_the_old_cursor(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain = anvil_chain
    idx = indexer(engine, chain, registry, start)
    a, b = ledger.batch("A", 2), ledger.batch("B", 5)
    ledger.anchor(a)
    fork = Fork.here(rpc(chain))
    ledger.anchor(b)
    ledger.change("revoke", a, 0, 1)
    chain.mine(5)
    idx.run_once()
    old_cursor = idx.cursor()
    assert ledger.anchored(b)[0] is not None and ledger.status(a, 0) == ("revoked", 1)

    reorg(chain, fork, mine=1)
    assert chain.gateway.head().number < old_cursor
    status = idx.run_once()
    assert status.reorged_from == fork.base.number + 1
    assert idx.cursor() == chain.gateway.head().number
    assert ledger.anchored(b) == (None, None, None)
    assert ledger.anchored(a)[0] == fork.base.number
    assert ledger.status(a, 0) == ("active", None)
    check_index(engine, chain, registry, start)


def test_a_reinstatement_orphaned_by_a_reorg_leaves_the_earlier_suspension(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain = anvil_chain
    idx = indexer(engine, chain, registry, start)
    a = ledger.batch("A", 3)
    ledger.anchor(a)
    ledger.change("suspend", a, 0, 3)
    idx.run_once()
    fork = Fork.here(rpc(chain))
    ledger.change("reinstate", a, 0)
    idx.run_once()
    assert ledger.status(a, 0) == ("active", None)

    reorg(chain, fork, mine=2)
    assert idx.run_once().reorged_from == fork.base.number + 1
    assert ledger.status(a, 0) == ("suspended", 3)
    check_index(engine, chain, registry, start)


# ---------------------------------------------------------------------- confirmations = N
def test_young_events_are_not_projected_and_a_shallow_reorg_leaves_projections_alone(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain, n = anvil_chain, 3
    idx = indexer(engine, chain, registry, start, confirmations=n)
    a, b = ledger.batch("A", 4), ledger.batch("B", 2)
    anchored_a = ledger.anchor(a)
    chain.mine(n - 1)
    idx.run_once()
    assert ledger.anchored(a) == (None, None, None)  # n - 1 blocks on top: still too young
    chain.mine(1)
    idx.run_once()
    assert ledger.anchored(a)[0] == anchored_a.block_number
    fork = Fork.here(rpc(chain))

    # the old branch: B anchored and a licence of A revoked, both younger than n blocks
    ledger.anchor(b)
    ledger.change("revoke", a, 3, 4)
    chain.mine(n - 2)
    status = idx.run_once()
    assert status.events == 0 and status.indexed_to == fork.base.number
    assert ledger.anchored(b) == (None, None, None) and ledger.status(a, 3) == ("active", None)
    assert [e.name for e in indexed_events(engine) if e.block_number > fork.base.number] == []
    tables = (AnchorBatch, Licence, ChainEvent, IndexedBlock, NodeState)
    before = table_rows(engine, *tables)

    # a reorganisation of those n young blocks is invisible to the projections
    orphaned = reorg(chain, fork, mine=n)
    assert replaced(rpc(chain), orphaned)
    status = idx.run_once()
    assert status.reorged_from is None and status.events == 0
    assert table_rows(engine, *tables) == before
    check_index(engine, chain, registry, start, confirmations=n)

    # B anchored on the new branch is projected once it has n blocks on top of it
    new_b = ledger.anchor(b)
    chain.mine(n - 1)
    idx.run_once()
    assert ledger.anchored(b) == (None, None, None)
    chain.mine(1)
    idx.run_once()
    assert ledger.anchored(b)[0] == new_b.block_number
    assert ledger.status(a, 3) == ("active", None)
    check_index(engine, chain, registry, start, confirmations=n)


def test_a_reorg_deeper_than_the_confirmations_is_rolled_back(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain, n = anvil_chain, 2
    idx = indexer(engine, chain, registry, start, confirmations=n)
    a = ledger.batch("A", 2)
    fork = Fork.here(rpc(chain))
    ledger.anchor(a)
    ledger.change("suspend", a, 1, 2)
    chain.mine(n)
    idx.run_once()
    assert ledger.anchored(a)[0] is not None and ledger.status(a, 1) == ("suspended", 2)

    reorg(chain, fork, mine=n + 3)
    status = idx.run_once()
    assert status.reorged_from == fork.base.number + 1
    assert ledger.anchored(a) == (None, None, None) and ledger.status(a, 1) == ("active", None)
    check_index(engine, chain, registry, start, confirmations=n)


# ---------------------------------------------------------------------- restart
def test_an_indexer_started_after_a_reorg_detects_the_fork(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, db_url: str, engine: Engine,
        start: int) -> None:
    chain = anvil_chain
    a, b = ledger.batch("A", 3), ledger.batch("B", 3)
    ledger.anchor(a)
    fork = Fork.here(rpc(chain))
    ledger.anchor(b)
    ledger.change("suspend", a, 0, 1)
    first = indexer(engine, chain, registry, start)
    first.run_once()
    assert ledger.anchored(b)[0] is not None and ledger.status(a, 0) == ("suspended", 1)
    engine.dispose()
    del first  # the node stops; the chain reorganises while nobody watches

    reorg(chain, fork, mine=1)
    new_b = ledger.anchor(b)
    chain.mine(3)
    reopened = make_engine(db_url)
    try:
        second = indexer(reopened, chain, registry, start)
        status = second.run_once()
        assert status.reorged_from == fork.base.number + 1
        assert ledger.anchored(b)[0] == new_b.block_number
        assert ledger.status(a, 0) == ("active", None)
        check_index(reopened, chain, registry, start)
    finally:
        reopened.dispose()


# ---------------------------------------------------------------------- reorgs during a pass
class ReorgAfterGetLogs:
    """The real gateway, except that once, right after ``get_logs`` answers, the chain reorganises."""

    def __init__(self, chain: ChainHarness, then: Any) -> None:
        self.chain = chain
        self.then = then

    def head(self) -> Any:
        return self.chain.gateway.head()

    def block(self, number: int) -> Any:
        return self.chain.gateway.block(number)

    def get_logs(self, from_block: int, to_block: int, addresses: Sequence[bytes] = (),
                 topic0: Sequence[bytes] = ()) -> list[RawLog]:
        logs = self.chain.gateway.get_logs(from_block, to_block, addresses, topic0)
        then, self.then = self.then, None
        if then is not None:
            then()
        return logs


def test_a_reorg_between_get_logs_and_the_block_check_loses_no_event(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain = anvil_chain
    a = ledger.batch("A", 2)
    fork = Fork.here(rpc(chain))
    chain.mine(3)  # the old branch: empty blocks

    def new_branch() -> None:  # same height, but A is anchored in its first block
        reorg(chain, fork)
        ledger.anchor(a)
        chain.mine(2)

    idx = indexer(engine, chain, registry, start, source=ReorgAfterGetLogs(chain, new_branch))
    idx.run_once()
    idx.run_once()
    assert ledger.anchored(a)[0] == fork.base.number + 1
    check_index(engine, chain, registry, start)


def test_a_range_retried_after_a_reorg_is_not_skipped_by_the_next_range(
        anvil_chain: ChainHarness, registry: Registry, ledger: Ledger, engine: Engine, start: int) -> None:
    chain = anvil_chain
    a, b = ledger.batch("A", 2), ledger.batch("B", 2)
    idx = indexer(engine, chain, registry, start)
    idx.run_once()
    fork = Fork.here(rpc(chain))
    ledger.anchor(a)  # the old branch anchors A, the new one B, both right after the fork
    chain.mine(6)

    def new_branch() -> None:
        reorg(chain, fork)
        ledger.anchor(b)
        chain.mine(6)

    idx = indexer(engine, chain, registry, start, source=ReorgAfterGetLogs(chain, new_branch), max_range=2)
    status = idx.run_once()
    assert status.indexed_to == idx.cursor()
    idx.run_once()
    assert ledger.anchored(a) == (None, None, None)
    assert ledger.anchored(b)[0] == fork.base.number + 1
    check_index(engine, chain, registry, start)
