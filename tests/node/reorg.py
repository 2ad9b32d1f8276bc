"""Real chain reorganisations on anvil, and checks that an index agrees with the canonical chain."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.indexer.indexer import CURSOR
from ledger.store.models import ChainEvent, IndexedBlock, NodeState
from node.chain.gateway import BlockRef
from node.chain.rpc import RpcChain
from node.services import chainview


@dataclass
class Fork:
    """A point on an anvil chain to which a later reorganisation returns."""

    chain: RpcChain
    snapshot: object
    base: BlockRef

    @classmethod
    def here(cls, chain: RpcChain) -> Fork:
        """Remember the current head as the last block the old and new branch will share."""
        return cls(chain, chain.request("evm_snapshot"), chain.head())

    def switch(self, mine: int = 0) -> list[BlockRef]:
        """Orphan every block after the base, then mine ``mine`` different empty blocks.

        Return the orphaned blocks. Transactions sent afterwards land on the new branch.
        """
        head = self.chain.head().number
        orphaned = [self.chain.block(n) for n in range(self.base.number + 1, head + 1)]
        if not self.chain.request("evm_revert", self.snapshot):
            raise AssertionError(f"anvil refused to revert to {self.snapshot!r}")
        assert self.chain.head().hash == self.base.hash
        # A new miner address makes every new block differ from the one it replaces, even
        # where both hold the same transactions at the same time.
        self.chain.request("anvil_setCoinbase", "0x" + secrets.token_bytes(20).hex())
        if mine:
            self.chain.mine(mine)
        return [b for b in orphaned if b is not None]


def replaced(chain: RpcChain, orphaned: list[BlockRef]) -> bool:
    """Return whether no orphaned block is canonical any more (the reorg really happened)."""
    for old in orphaned:
        now = chain.block(old.number)
        if now is not None and now.hash == old.hash:
            return False
    return True


def event_keys(rows: list[ChainEvent]) -> set[tuple[int, str, int, str, str]]:
    """Return what identifies indexed events: position, block hash, name and subject."""
    return {(e.block_number, e.block_hash, e.log_index, e.name, e.subject) for e in rows}


def indexed_events(engine: Engine) -> list[ChainEvent]:
    """Return every event row in the index, in chain order."""
    with Session(engine) as s:
        return list(s.exec(select(ChainEvent).order_by(col(ChainEvent.block_number),
                                                        col(ChainEvent.log_index))))


def assert_index_matches_chain(engine: Engine, chain: RpcChain, registry: bytes,
                               start_block: int, confirmations: int = 0) -> None:
    """Check that the index holds exactly the canonical chain's confirmed registry events."""
    with Session(engine) as s:
        state = s.get(NodeState, CURSOR)
        blocks = list(s.exec(select(IndexedBlock)))
    assert state is not None, "the indexer never ran"
    cursor = int(state.value)
    assert cursor <= chain.head().number - confirmations
    for b in blocks:
        canonical = chain.block(b.number)
        assert canonical is not None and canonical.hash.hex() == b.hash, f"stale block {b.number}"
    expected = set()
    if cursor >= start_block:
        for d in chainview.decode(chain.get_logs(start_block, cursor, [registry])):
            expected.add((d.raw.block_number, d.raw.block_hash.hex(), d.raw.log_index, d.name,
                          d.subject))
    assert event_keys(indexed_events(engine)) == expected


def table_rows(engine: Engine, *tables: Any) -> dict[str, list[dict[str, Any]]]:
    """Return every row of ``tables`` as plain dicts, for before/after comparisons."""
    out: dict[str, list[dict[str, Any]]] = {}
    with Session(engine) as s:
        for table in tables:
            rows = s.exec(select(table)).all()
            out[table.__tablename__] = sorted((r.model_dump() for r in rows), key=repr)
    return out
