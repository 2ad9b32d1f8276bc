"""The anchorer: groups accepted licences into Merkle batches, one outbox entry per batch.

A batch closes when a department has ``batch_size`` pending leaves of one licence
type, or when the oldest pending leaf has waited ``batch_interval_ms``. Building the
batch, assigning every licence its place in the tree, queuing the anchoring
transaction and removing the pending leaves happen in one database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from ledger.domain.merkle import MerkleTree
from ledger.store.db import executemany, fetchall
from ledger.store.models import AnchorBatch, ChainEvent, Licence, PendingLeaf
from node.services.context import NodeContext
from node.services.outbox import enqueue, now_ms


@dataclass(frozen=True)
class BatchMade:
    """A batch the anchorer just closed."""

    batch_id: int
    department: str
    licence_type: str
    root: str
    count: int


_OLDEST_PENDING = (f"SELECT seq, identifier, leaf FROM {PendingLeaf.__tablename__} "
                   "WHERE department = ? AND licence_type = ? ORDER BY seq LIMIT ?")


class Anchorer:
    """Closes batches of pending leaves; cheap to call often."""

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    def run_once(self, force: bool = False) -> list[BatchMade]:
        """Close every batch that is full or due (all non-empty ones when ``force``)."""
        size = self.ctx.settings.batch_size
        due_before = now_ms() - self.ctx.settings.batch_interval_ms
        made: list[BatchMade] = []
        with Session(self.ctx.engine) as s:
            groups = s.exec(
                select(PendingLeaf.department, PendingLeaf.licence_type,
                       func.count(), func.min(PendingLeaf.accepted_at_ms))
                .group_by(PendingLeaf.department, PendingLeaf.licence_type)).all()
        for department, licence_type, count, oldest in groups:
            while count >= size or (count > 0 and (force or oldest <= due_before)):
                batch = self.close_batch(department, licence_type, size)
                if batch is None:
                    break
                made.append(batch)
                count -= batch.count
        return made

    def close_batch(self, department: str, licence_type: str, size: int) -> BatchMade | None:
        """Turn up to ``size`` oldest pending leaves of one group into a batch."""
        with Session(self.ctx.engine) as s:
            # plain tuples through the driver: a batch is up to thousands of leaves
            pending = fetchall(s.connection(), _OLDEST_PENDING, (department, licence_type, size))
            if not pending:
                return None
            leaves = [bytes.fromhex(leaf) for _, _, leaf in pending]
            tree = MerkleTree(leaves)
            root = tree.root.hex()
            outbox = enqueue(s, department, "anchor", {
                "root": root, "count": len(leaves), "licence_type": licence_type})
            batch = AnchorBatch(department=department, licence_type=licence_type, root=root,
                                count=len(leaves), leaves=b"".join(leaves), outbox_id=outbox.id,
                                created_at_ms=now_ms())
            s.add(batch)
            s.flush()
            conn, batch_id = s.connection(), batch.id
            executemany(conn, f"UPDATE {Licence.__tablename__} SET batch_id = ?, leaf_index = ? "
                               "WHERE identifier = ?",
                         [(batch_id, i, ident) for i, (_, ident, _) in enumerate(pending)])
            executemany(conn, f"DELETE FROM {PendingLeaf.__tablename__} WHERE seq = ?",
                         [(seq,) for seq, _, _ in pending])
            s.commit()
            return BatchMade(batch_id or 0, department, licence_type, root, len(leaves))

    def batch_now(self, identifier: str) -> None:
        """Put one licence into a batch at once (a status change needs its proof)."""
        with Session(self.ctx.engine) as s:
            p = s.exec(select(PendingLeaf).where(PendingLeaf.identifier == identifier)).first()
        if p is not None:
            self.close_batch(p.department, p.licence_type, self.ctx.settings.batch_size)


def project_anchors(session: Session, events: list[ChainEvent]) -> None:
    """Indexer projection: record where and when our batches were anchored."""
    for e in events:
        if e.name == "BatchAnchored":
            session.execute(update(AnchorBatch).where(col(AnchorBatch.root) == e.subject)
                            .values(anchored_block=e.block_number, anchored_at=e.block_timestamp,
                                    transaction_hash=e.transaction_hash))


def unproject_anchors(session: Session, dropped: list[ChainEvent]) -> None:
    """Indexer rollback: batches whose anchoring event was dropped are unanchored again."""
    roots = [e.subject for e in dropped if e.name == "BatchAnchored"]
    if roots:
        session.execute(update(AnchorBatch).where(col(AnchorBatch.root).in_(roots))
                        .values(anchored_block=None, anchored_at=None, transaction_hash=None))
