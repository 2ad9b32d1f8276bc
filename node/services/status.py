"""Suspending, reinstating and revoking licences: recorded now, sent by the outbox."""

from __future__ import annotations

from sqlmodel import Session, col, select

from ledger.domain.status import REASON_CODES
from ledger.store import audit
from ledger.store.models import Licence, OutboxEntry
from node.errors import BadRequest, Conflict, Forbidden, NotFound
from node.services.anchoring import Anchorer
from node.services.context import NodeContext
from node.services.outbox import enqueue

ALLOWED_FROM = {"suspend": {"active"}, "reinstate": {"suspended"},
                "revoke": {"active", "suspended"}}


def request_change(ctx: NodeContext, anchorer: Anchorer, department: str, identifier: str,
                   action: str, reason: int | None) -> OutboxEntry:
    """Queue a status change of ``identifier``; refuse changes the rules forbid."""
    if action not in ALLOWED_FROM:
        raise BadRequest(f"unknown status action {action!r}")
    if action != "reinstate":
        if reason is None:
            raise BadRequest(f"{action} needs a reason code", known=sorted(REASON_CODES))
        if reason not in REASON_CODES:
            raise BadRequest(f"unknown reason code {reason}", known=sorted(REASON_CODES))
    with Session(ctx.engine) as s:
        lic = s.get(Licence, identifier)
        if lic is None:
            raise NotFound(f"no licence {identifier!r} on this node", identifier=identifier)
        if lic.department != department:
            raise Forbidden(f"only {lic.department} may change licence {identifier}",
                            identifier=identifier)
        expected = _status_after_queue(s, lic)
        if expected not in ALLOWED_FROM[action]:
            raise Conflict(f"cannot {action} a licence that is {expected}",
                           identifier=identifier, status=expected)
    anchorer.batch_now(identifier)  # a status change needs the leaf's Merkle proof
    with Session(ctx.engine) as s:
        entry = enqueue(s, department, action, {"identifier": identifier,
                                                 "reason": reason or 0})
        audit.append(s, actor=department, action=f"licence.{action}", subject=identifier,
                     detail={"reason": reason, "outbox": entry.id})
        s.commit()
        s.refresh(entry)
    ctx.anchor_wakeup()
    return entry


def _status_after_queue(s: Session, lic: Licence) -> str:
    """Return the status the licence will have once already-queued changes land."""
    queued = s.exec(select(OutboxEntry).where(
        OutboxEntry.department == lic.department,
        col(OutboxEntry.kind).in_(list(ALLOWED_FROM)),
        col(OutboxEntry.state).in_(("queued", "signed", "sent")),
    ).order_by(col(OutboxEntry.id))).all()
    status = lic.status
    for e in queued:
        if f'"identifier": "{lic.identifier}"' in e.payload:
            status = {"suspend": "suspended", "reinstate": "active", "revoke": "revoked"}[e.kind]
    return status
