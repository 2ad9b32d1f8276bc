"""A unit's public status, mirrored from the indexed ``TitleChanged`` events.

The node never asks the contract for this: it replays the unit's events from its index
into the Python twin (:func:`ledger.domain.property_mirror.replay`) and recomputes every
link of the unit's hash chain, so the answer is exactly as current as the index, is
undone with it on a reorganisation, and shows whether the history links. Owners appear
as commitments and shares only.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from ledger.domain.errors import InvalidCode
from ledger.domain.identifiers import from_bytes32
from ledger.domain.property import (
    SHARE_WHOLE,
    ZERO,
    Guard,
    Kind,
    UnitState,
    guards,
    seizure_queue,
    unit_key,
)
from ledger.domain.property_mirror import MirroredUnit, TitleEvent, replay
from ledger.store.models import ChainEvent
from node.errors import Unavailable, UnknownTitle
from node.services.actions import address_of

if TYPE_CHECKING:
    from node.runtime import Runtime


def title_events(runtime: Runtime, unit: bytes) -> list[ChainEvent]:
    """Return the unit's indexed ``TitleChanged`` rows in chain order."""
    register = address_of(runtime.settings, "PropertyRegistry").hex()
    with Session(runtime.engine) as s:
        return list(s.exec(select(ChainEvent).where(
            ChainEvent.name == "TitleChanged", ChainEvent.subject == unit.hex(),
            ChainEvent.contract == register)
            .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))))


def title_event(row: ChainEvent) -> TitleEvent:
    """Return an indexed ``TitleChanged`` row as the twin replays it."""
    a = json.loads(row.args)
    return TitleEvent(kind=int(a["kind"]), data=bytes.fromhex(a["data"]), at=int(a["at"]),
                      head=bytes.fromhex(a["head"]))


def mirror(runtime: Runtime, unit_number: str) -> tuple[MirroredUnit, list[ChainEvent]]:
    """Return the unit mirrored from the index, with the rows it came from."""
    unit = unit_key(unit_number)
    rows = title_events(runtime, unit)
    return replay(unit, [title_event(r) for r in rows]), rows


def _code(value: bytes) -> str:
    """Return a department code stored as bytes32, or its hex when it is not one."""
    try:
        return from_bytes32(value)
    except InvalidCode:  # not a code the directory could hold: show the raw value
        return value.hex()


def _yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _state_json(state: UnitState, now: int) -> dict[str, Any]:
    active, waiting = seizure_queue(state, now)
    mortgages = [{"rank": rank, "mortgagee": _code(m.mortgagee), "amount_fen": m.amount,
                  "amount": _yuan(m.amount), "recorded_at": m.recorded_at,
                  "consented": m.consented, "released": m.released}
                 for rank, m in enumerate(state.mortgages, 1)]
    refused = guards(state, ZERO, now)
    return {
        "registered_at": state.registered_at, "updated_at": state.updated_at,
        "changes": state.changes, "head": state.head.hex(),
        "certificate_leaf": state.certificate_leaf.hex(), "cancelled": state.cancelled,
        "owner_count": len(state.owners),
        "owners": [{"index": i, "commitment": o.commitment.hex(), "share_ppm": o.share,
                    "share": f"{Decimal(o.share) * 100 / SHARE_WHOLE:f}%",
                    "consented": bool(state.owner_consent_mask >> i & 1)}
                   for i, o in enumerate(state.owners)],
        "contract_filed": state.contract_hash != ZERO,
        "contract_hash": state.contract_hash.hex() if state.contract_hash != ZERO else None,
        "pre_notice": None if state.pre_notice_holder == ZERO else {
            "holder": state.pre_notice_holder.hex(), "expires_at": state.pre_notice_expires_at,
            "consented": state.pre_notice_consented, "in_force": state.pre_notice_in_force(now)},
        "mortgages": mortgages,
        "active_mortgages": state.active_mortgages,
        "seizure": None if active is None else {
            "court": _code(active.court), "order_hash": active.order_hash.hex(),
            "from": active.start, "to": active.start + active.duration, "waiting": len(waiting)},
        "waiting_seizures": [{"court": _code(s.court), "order_hash": s.order_hash.hex(),
                              "duration": s.duration} for s in waiting],
        "objection": None if state.objection_applicant == ZERO else {
            "applicant": state.objection_applicant.hex(),
            "expires_at": None if state.objection_suit_filed else state.objection_expires_at,
            "suit_filed": state.objection_suit_filed, "in_force": state.objection_in_force(now)},
        "transfer_guards": [g.name.lower() for g in Guard if g in refused],
    }


def unit_status(runtime: Runtime, unit_number: str) -> dict[str, Any]:
    """Return the public status of ``unit_number``: flags, owners' shares, history, chain check."""
    mirrored, rows = mirror(runtime, unit_number)
    if not rows:
        raise UnknownTitle(f"no title is registered for unit {unit_number} (as far as this node "
                           "has indexed)", unit_number=unit_number)
    if mirrored.state is None:
        raise Unavailable("the node cannot mirror this unit's first change",
                          unit_number=unit_number, problem=mirrored.problem)
    now = runtime.chain_time()
    history = [{"seq": n, "kind": _kind_name(link.event.kind), "kind_code": link.event.kind,
                "at": link.event.at, "block_number": row.block_number,
                "transaction_hash": row.transaction_hash, "log_index": row.log_index,
                "data": link.event.data.hex(), "previous": link.previous.hex(),
                "head": link.event.head.hex(), "link_valid": link.valid}
               for n, (link, row) in enumerate(zip(mirrored.links, rows, strict=True), 1)]
    return {"unit_number": unit_number, "unit": mirrored.unit.hex(), "as_of": now,
            "indexed_block": runtime.indexer.cursor(), **_state_json(mirrored.state, now),
            "chain_valid": mirrored.chain_valid, "mirror_problem": mirrored.problem,
            "history": history}


def _kind_name(kind: int) -> str:
    return Kind(kind).name.lower() if kind in Kind._value2member_map_ else str(kind)
