"""Suspending, reinstating and revoking licences: recorded now, sent by the outbox."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from ledger.domain.errors import InvalidStatusTransition, UnknownReasonCode
from ledger.domain.status import REASON_CODES, LicenceStatus, check_transition
from ledger.store import audit
from ledger.store.models import Licence, OutboxEntry
from node.errors import BadRequest, Conflict, Forbidden, NotFound
from node.services.anchoring import Anchorer
from node.services.context import NodeContext
from node.services.outbox import PENDING_STATES, enqueue

TARGET = {"suspend": LicenceStatus.SUSPENDED, "reinstate": LicenceStatus.ACTIVE,
          "revoke": LicenceStatus.REVOKED}
_BY_NAME = {"active": LicenceStatus.ACTIVE, "suspended": LicenceStatus.SUSPENDED,
            "revoked": LicenceStatus.REVOKED}


def request_change(ctx: NodeContext, anchorer: Anchorer, department: str, identifier: str,
                   action: str, reason: int | None) -> OutboxEntry:
    """Queue a status change of ``identifier``; refuse changes the status rules forbid."""
    if action not in TARGET:
        raise BadRequest(f"unknown status action {action!r}")
    if action != "reinstate" and reason is None:
        raise BadRequest(f"{action} needs a reason code")
    row = REASON_CODES.get(reason or 0)
    if row is None or TARGET[action] not in row.applies_to:
        raise UnknownReasonCode(reason or 0, TARGET[action].name.lower())  # bad input: 400
    with Session(ctx.engine) as s:
        lic = s.get(Licence, identifier)
        if lic is None:
            raise NotFound(f"no licence {identifier!r} on this node", identifier=identifier)
        if lic.department != department:
            raise Forbidden(f"only {lic.department} may change licence {identifier}",
                            identifier=identifier)
        if lic.status not in _BY_NAME:  # void: never anchored, so the chain has no status to change
            raise Conflict(f"cannot {action} a licence that is {lic.status}", identifier=identifier,
                           status=lic.status)
        expected = _status_after_queue(s, lic)
    try:
        check_transition(expected, TARGET[action], reason or 0)
    except InvalidStatusTransition:
        raise Conflict(f"cannot {action} a licence that is {expected.name.lower()}",
                       identifier=identifier, status=expected.name.lower()) from None
    anchorer.batch_now(identifier)  # a status change needs the leaf's Merkle proof
    with Session(ctx.engine) as s:
        entry = enqueue(s, department, action, {"identifier": identifier, "reason": reason or 0})
        audit.append(s, actor=department, action=f"licence.{action}", subject=identifier,
                     detail={"reason": reason, "outbox": entry.id})
        s.commit()
        s.refresh(entry)
    ctx.anchor_wakeup()
    return entry


def _status_after_queue(s: Session, lic: Licence) -> LicenceStatus:
    """Return the status the licence will have once already-queued changes land."""
    queued = s.exec(select(OutboxEntry).where(
        OutboxEntry.department == lic.department, col(OutboxEntry.kind).in_(list(TARGET)),
        col(OutboxEntry.state).in_(PENDING_STATES)).order_by(col(OutboxEntry.id))).all()
    status = _BY_NAME[lic.status]
    for e in queued:
        if json.loads(e.payload)["identifier"] == lic.identifier:
            status = TARGET[e.kind]
    return status
