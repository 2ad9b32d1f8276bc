"""The chain-event indexer: mirrors contract events into the database, reorg-safe.

It reads logs only up to ``head - confirmations``, remembers the hash of every block
it drew events from (and of the last block of every pass), and before each pass
checks that the newest remembered block is still canonical. When it is not, it
walks back to the fork point, deletes everything indexed above it, and lets the
projection hooks undo their effects before indexing the new branch. A range whose
blocks change while it is read is not written; the pass stops there and the next one
reads it again.

The chain is reached through a structural ``LogSource`` (the node's chain gateway
satisfies it) and events are decoded by an injected ``decode`` function, so this
module imports nothing from ``node``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.store.models import ChainEvent, IndexedBlock, NodeState

log = logging.getLogger(__name__)

CURSOR = "indexer.block"
MAX_RANGE = 5_000


class _Block(Protocol):
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int


class _Log(Protocol):
    address: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int


class LogSource(Protocol):
    """The part of the chain gateway the indexer needs."""

    def head(self) -> Any: ...

    def block(self, number: int) -> Any: ...

    def get_logs(self, from_block: int, to_block: int, addresses: Sequence[bytes] = (),
                 topic0: Sequence[bytes] = ()) -> list[Any]: ...


@dataclass(frozen=True)
class DecodedEvent:
    """One event as the indexer stores it."""

    name: str
    subject: str
    args: dict[str, Any]
    raw: Any


Decode = Callable[[list[Any]], list[DecodedEvent]]
Projection = Callable[[Session, list[ChainEvent]], None]
Rollback = Callable[[Session, list[ChainEvent]], None]


@dataclass
class IndexerStatus:
    """Where the indexer stands after a pass."""

    indexed_to: int
    head: int
    events: int
    reorged_from: int | None = None

    @property
    def lag(self) -> int:
        """Return how many blocks the index trails the chain head."""
        return max(0, self.head - self.indexed_to)


class Indexer:
    """Pulls events from the chain into ``chain_event`` and runs projections on them."""

    def __init__(self, engine: Engine, source: LogSource, addresses: Sequence[bytes],
                 decode: Decode, start_block: int = 0, confirmations: int = 0,
                 projections: Iterable[Projection] = (), rollbacks: Iterable[Rollback] = (),
                 max_range: int = MAX_RANGE):
        self.engine = engine
        self.source = source
        self.addresses = list(addresses)
        self.decode = decode
        self.start_block = start_block
        self.confirmations = confirmations
        self.projections = list(projections)
        self.rollbacks = list(rollbacks)
        self.max_range = max_range  # blocks per eth_getLogs request
        self.version = 0  # bumps whenever indexed data changes; readers use it to refresh caches

    def cursor(self) -> int:
        """Return the last block whose events are indexed (start_block - 1 if none)."""
        with Session(self.engine) as s:
            row = s.get(NodeState, CURSOR)
            return int(row.value) if row else self.start_block - 1

    def run_once(self) -> IndexerStatus:
        """Index everything that has become confirmed since the last pass."""
        head = self.source.head().number
        reorged = self._detect_reorg()
        cursor = self.cursor()
        target = head - self.confirmations
        events = 0
        while cursor < target:
            upto = min(target, cursor + self.max_range)
            indexed = self._index_range(cursor + 1, upto)
            if indexed is None:  # the chain moved under us: the next pass starts from the cursor
                break
            events += indexed
            cursor = upto
        return IndexerStatus(indexed_to=cursor, head=head, events=events, reorged_from=reorged)

    # ------------------------------------------------------------------ indexing
    def _index_range(self, first: int, last: int) -> int | None:
        """Index ``[first, last]`` in one transaction; None when a reorg got in the way."""
        before = self.source.block(last)
        if before is None:  # the head moved back under us
            return None
        raw = self.source.get_logs(first, last, self.addresses)
        decoded = self.decode(raw)
        blocks: dict[int, Any] = {}
        for number in sorted({d.raw.block_number for d in decoded} | {last}):
            block = self.source.block(number)
            if block is None:
                return None
            blocks[number] = block
        if blocks[last].hash != before.hash:
            # A reorg under ``last`` while get_logs ran: the logs may come from either branch,
            # and a block that held none on the old one may hold some on the new one.
            return None
        rows = []
        for d in decoded:
            if d.raw.block_hash != blocks[d.raw.block_number].hash:
                return None  # these logs come from a branch that is no longer canonical
            rows.append(ChainEvent(
                block_number=d.raw.block_number, block_hash=d.raw.block_hash.hex(),
                log_index=d.raw.log_index, transaction_hash=d.raw.transaction_hash.hex(),
                contract=d.raw.address.hex(), name=d.name, subject=d.subject,
                block_timestamp=blocks[d.raw.block_number].timestamp,
                args=json.dumps(d.args, sort_keys=True, separators=(",", ":")),
            ))
        with Session(self.engine) as s:
            for number, block in blocks.items():
                s.merge(IndexedBlock(number=number, hash=block.hash.hex(),
                                     parent_hash=block.parent_hash.hex(),
                                     timestamp=block.timestamp))
            s.add_all(rows)
            s.flush()
            for project in self.projections:
                project(s, rows)
            s.merge(NodeState(name=CURSOR, value=str(last)))
            s.commit()
        if rows:
            self.version += 1
        return len(rows)

    # ------------------------------------------------------------------ reorgs
    def _detect_reorg(self) -> int | None:
        with Session(self.engine) as s:
            remembered = s.exec(
                select(IndexedBlock).order_by(col(IndexedBlock.number).desc()).limit(256)
            ).all()
        if not remembered:
            return None
        fork: int | None = None
        for rb in remembered:
            current = self.source.block(rb.number)
            if current is not None and current.hash.hex() == rb.hash:
                fork = rb.number
                break
        if fork == remembered[0].number:
            return None  # the newest block we indexed is still canonical
        fork_point = fork if fork is not None else self.start_block - 1
        log.warning("chain reorganisation detected", extra={"fork_point": fork_point})
        self._rewind(fork_point)
        return fork_point + 1

    def _rewind(self, fork_point: int) -> None:
        with Session(self.engine) as s:
            dropped = list(s.exec(select(ChainEvent).where(ChainEvent.block_number > fork_point)))
            s.execute(delete(ChainEvent).where(col(ChainEvent.block_number) > fork_point))
            s.execute(delete(IndexedBlock).where(col(IndexedBlock.number) > fork_point))
            s.flush()
            for undo in self.rollbacks:
                undo(s, dropped)
            s.merge(NodeState(name=CURSOR, value=str(fork_point)))
            s.commit()
        self.version += 1
