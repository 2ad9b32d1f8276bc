"""Licences anchored by a case's own transaction (e-tax vouchers, the new title certificate).

Such a licence must be anchored by that transaction or by none: a voucher anchored on its
own would verify ``valid`` although its assessment never happened. So the licences and
their batch are written in one database transaction that never feeds the anchorer
(:func:`node.services.licences.issue_reserved`), and the batch is linked to the outbox
entry of the case's call in the transaction that queues it. Between the two the node can
die, and after them the contract can refuse the call: :func:`sweep` finds batches that no
queued call will anchor (never linked, or linked to a failed call) and marks their
licences ``void``, which the node's verifier reports. Nothing accepted is lost: the
request that issued them was never answered, or was answered with the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.store import audit
from ledger.store.models import AnchorBatch, Licence, OutboxEntry
from node.api.schemas import LicenceCreate, LicenceIssued
from node.errors import ContractReverted
from node.services import actions, licences
from node.services.outbox import now_ms

if TYPE_CHECKING:
    from node.runtime import Runtime

log = logging.getLogger(__name__)

VOID = "void"
#: How long an unlinked reserved batch may wait for its call to be queued (a request in flight).
GRACE_MS = 60_000


def issue(runtime: Runtime, department: str, requests: list[LicenceCreate]) -> tuple[int, list[LicenceIssued]]:
    """Issue ``requests`` as one reserved batch; return the batch id and the licences."""
    return licences.issue_reserved(runtime.ctx, department, requests)


def anchor_with(runtime: Runtime, department: str, batch_id: int, contract_name: str, function: str,
                args: Sequence[Any], subject: str = "") -> actions.ActionResult:
    """Send the call that anchors reserved batch ``batch_id``; a refusal voids the batch's licences."""
    try:
        call = actions.preflight(runtime.ctx, department, contract_name, function, args)
    except ContractReverted:
        void(runtime, batch_id, f"{contract_name}.{function} was refused")
        raise

    def link(s: Session, entry: OutboxEntry) -> None:
        s.execute(update(AnchorBatch).where(col(AnchorBatch.id) == batch_id).values(outbox_id=entry.id))

    entry_id = actions.submit(runtime, department, call, subject=subject, on_queued=link)
    try:
        return actions.wait(runtime, entry_id)
    except ContractReverted:
        void(runtime, batch_id, f"{contract_name}.{function} was refused")
        raise


def void(runtime: Runtime, batch_id: int, why: str) -> int:
    """Mark the licences of reserved batch ``batch_id`` void (unless it is anchored); return how many."""
    with Session(runtime.engine) as s:
        batch = s.get(AnchorBatch, batch_id)
        if batch is None or batch.anchored_block is not None:
            return 0
        changed = s.execute(update(Licence).where(col(Licence.batch_id) == batch_id,
                                                  col(Licence.status) != VOID)
                            .values(status=VOID)).rowcount
        if changed:
            audit.append(s, actor=batch.department, action="licence.void", subject=batch.root,
                         detail={"batch": batch_id, "licences": changed, "why": why})
        s.commit()
    if changed:
        log.warning("reserved licences voided", extra={"batch": batch_id, "licences": changed, "why": why})
    return int(changed)


def orphans(runtime: Runtime, grace_ms: int = GRACE_MS) -> list[int]:
    """Return reserved batches no queued call will anchor whose licences are not all void yet."""
    before = now_ms() - grace_ms
    with Session(runtime.engine) as s:
        unlinked = s.exec(select(AnchorBatch.id).where(col(AnchorBatch.outbox_id).is_(None),
                                                       col(AnchorBatch.anchored_block).is_(None),
                                                       col(AnchorBatch.created_at_ms) <= before)).all()
        refused = s.exec(select(AnchorBatch.id).join(OutboxEntry, col(OutboxEntry.id) == col(AnchorBatch.outbox_id))
                         .where(OutboxEntry.kind == "call", OutboxEntry.state == "failed",
                                col(AnchorBatch.anchored_block).is_(None))).all()
        candidates = sorted({int(i) for i in (*unlinked, *refused) if i is not None})
        if not candidates:
            return []
        live = s.exec(select(Licence.batch_id).where(col(Licence.batch_id).in_(candidates),
                                                     col(Licence.status) != VOID).distinct()).all()
    return sorted(int(i) for i in live if i is not None)


def sweep(runtime: Runtime, grace_ms: int = GRACE_MS) -> int:
    """Void the licences of every orphaned reserved batch; return how many were voided."""
    return sum(void(runtime, batch_id, "its anchoring call was never queued or was refused")
               for batch_id in orphans(runtime, grace_ms))


def is_void(runtime: Runtime, leaf: str) -> bool:
    """Return whether this node voided the licence with Merkle leaf ``leaf`` (hex)."""
    with Session(runtime.engine) as s:
        status = s.exec(select(Licence.status).where(col(Licence.leaf) == leaf)).first()
    return status == VOID
