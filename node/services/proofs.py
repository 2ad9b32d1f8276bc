"""Serving our anchored leaves to other nodes: a leaf's Merkle proof, or a whole batch.

Both answers hold hashes only (leaves are keccak256 of salted document digests), so
they are public. A batch is served only once its ``BatchAnchored`` event is indexed:
a peer would refuse anything else anyway, and we promise nothing the chain has not.
"""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ledger.domain.merkle import MerkleTree
from ledger.store.models import AnchorBatch, Licence
from node.api.schemas import BatchLeaves, LeafProof
from node.errors import BadRequest, NotAnchored, NotFound
from node.services.context import NodeContext
from node.services.outbox import batch_leaves

_HASH = re.compile(r"^[0-9a-f]{64}$")


def _hash(value: str, name: str) -> str:
    text = value.lower().removeprefix("0x")
    if not _HASH.match(text):
        raise BadRequest(f"{name} must be 32 bytes in hex", **{name: value})
    return text


def _anchored(batch: AnchorBatch, what: str) -> tuple[int, int, str]:
    if batch.anchored_block is None or batch.anchored_at is None or batch.transaction_hash is None:
        raise NotAnchored(f"{what} is batched but its anchoring is not indexed yet",
                          batch_root=batch.root)
    return batch.anchored_block, batch.anchored_at, batch.transaction_hash


def leaf_proof(ctx: NodeContext, leaf: str) -> LeafProof:
    """Return the proof linking ``leaf`` (hex) to the anchored root of its batch."""
    leaf = _hash(leaf, "leaf")
    with Session(ctx.engine) as s:
        found = s.exec(select(Licence, AnchorBatch).join(
            AnchorBatch, col(Licence.batch_id) == col(AnchorBatch.id)).where(
            col(Licence.leaf) == leaf)).first()
    if found is None:
        raise NotFound(f"no batched licence with leaf {leaf} on this node", leaf=leaf)
    lic, batch = found
    block, at, tx = _anchored(batch, f"leaf {leaf}")
    assert lic.leaf_index is not None  # set together with batch_id
    proof = MerkleTree(batch_leaves(batch)).proof(lic.leaf_index)
    return LeafProof(leaf=leaf, department=batch.department, licence_type=batch.licence_type,
                     batch_root=batch.root, batch_count=batch.count, leaf_index=lic.leaf_index,
                     proof=[p.hex() for p in proof], block_number=block, anchored_at=at,
                     transaction_hash=tx)


def batch_of(ctx: NodeContext, root: str) -> BatchLeaves:
    """Return every leaf of the anchored batch ``root`` (hex)."""
    root = _hash(root, "root")
    with Session(ctx.engine) as s:
        row = s.exec(select(AnchorBatch).where(col(AnchorBatch.root) == root)).first()
    if row is None:
        raise NotFound(f"no batch with root {root} on this node", root=root)
    block, at, tx = _anchored(row, f"batch {root}")
    return BatchLeaves(root=root, department=row.department, licence_type=row.licence_type,
                       count=row.count, leaves=[x.hex() for x in batch_leaves(row)],
                       block_number=block, anchored_at=at, transaction_hash=tx)
