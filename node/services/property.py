"""The property register's steps, each taken by a department with its own chain identity.

Every step is one call to the PropertyRegistry through :mod:`node.services.actions`: the
contract decides who may do what (a wrong department gets ``missing_role`` before
anything is queued) and every guard; this module turns request facts into call
arguments (unit numbers into unit keys, yuan into fen, order numbers into hashes) and
the mined event back into an answer. Registering also issues the title e-certificate
through the licence machinery; owners go on chain only as the certificate's salted
commitments of their ID numbers (:mod:`ledger.domain.title_certificate`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from ledger.domain.canonical import keccak256
from ledger.domain.disclosure import Disclosure
from ledger.domain.identifiers import to_bytes32
from ledger.domain.property import Kind, UnitState, unit_key
from ledger.domain.property_mirror import replay
from ledger.domain.title_certificate import (
    PUBLIC_FIELDS,
    UNIT_NUMBER_FIELD,
    TitleOwner,
    certificate_fields,
    owner_commitments,
)
from ledger.store.models import Licence
from node.api.schemas import LicenceCreate
from node.errors import BadRequest, ContractReverted, TitleNotHeld, Unavailable, UnknownTitle
from node.services import actions, licences, status
from node.services.property_view import title_event, title_events

if TYPE_CHECKING:
    from node.runtime import Runtime

REGISTER = "PropertyRegistry"
CERTIFICATE_TYPE = "11100000000013127D101"
ISSUED_IN_ERROR = 1  # the reason code a certificate gets when its title was refused
DAY = 86_400


@dataclass(frozen=True)
class StepDone:
    """A register step the chain recorded: which change, the unit's new head, the transaction."""

    unit_number: str
    unit: str
    step: str
    change: str
    head: str
    transaction_hash: str
    block_number: int
    gas_used: int
    outbox_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the answer's JSON body."""
        body = {k: v for k, v in vars(self).items() if k != "extra"}
        return {**body, **self.extra}


def _hash_of(text: str | None, hex_hash: str | None, what: str) -> bytes:
    """Return ``hex_hash`` as 32 bytes, or the keccak-256 of ``text`` (exactly one is given)."""
    if (text is None) == (hex_hash is None):
        raise BadRequest(f"give either {what} or {what}_hash", field=what)
    if hex_hash is not None:
        return commitment(hex_hash, f"{what}_hash")
    assert text is not None
    return keccak256(text.encode("utf-8"))


def commitment(text: str, name: str) -> bytes:
    """Return a 32-byte commitment or hash given as 64 hex digits (optionally 0x-prefixed)."""
    raw = text.removeprefix("0x")
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        value = b""
    if len(value) != 32:
        raise BadRequest(f"{name} must be 32 bytes as 64 hex digits", field=name)
    return value


def _step(runtime: Runtime, department: str, unit_number: str, function: str,
          args: Sequence[Any], **extra: Any) -> tuple[StepDone, actions.ActionResult]:
    unit = unit_key(unit_number)
    done = actions.perform(runtime, department, REGISTER, function, [unit, *args],
                           subject=unit_number, detail={"unit": unit.hex()})
    changed = done.event("TitleChanged")
    step = StepDone(unit_number=unit_number, unit=unit.hex(), step=function,
                    change=Kind(changed.args["kind"]).name.lower(), head=changed.args["head"].hex(),
                    transaction_hash=done.transaction_hash, block_number=done.block_number,
                    gas_used=done.gas_used, outbox_id=done.outbox_id, extra=extra)
    return step, done


# ---------------------------------------------------------------------------- REGISTRY


def certificate_request(unit_number: str, owners: Sequence[TitleOwner],
                        salts: dict[str, str] | None = None) -> LicenceCreate:
    """Return the title e-certificate of ``owners`` of ``unit_number`` as a licence request.

    ``salts`` fixes the salts of chosen fields: a transfer keeps the buyers' ``owner<n>Id``
    salts, so the certificate's owner commitments are the ones the case put on chain.
    """
    names = "、".join(o.name for o in owners)
    if len(names) > 200:
        raise BadRequest("the owners' names together exceed 200 characters", field="owners")
    fields = certificate_fields(unit_number, owners)
    try:
        return LicenceCreate(type=CERTIFICATE_TYPE, holder_name=names, holder_id=owners[0].id_number,
                             holder_id_type=owners[0].id_type, fields=fields,
                             disclose=list(PUBLIC_FIELDS), salts=salts)
    except ValidationError as exc:  # e.g. many long ID types joined in one field
        raise BadRequest(f"the owners do not fit a title certificate: {exc.errors()[0]['msg']}",
                         field="owners") from None


def certificate_unit_number(runtime: Runtime, unit: bytes) -> str:
    """Return the unit number of ``unit`` as the certificate of its current title, held here, names it.

    UnknownTitle when no title of the unit is indexed; TitleNotHeld when this node did
    not issue the title's certificate (another registry node registered it).
    """
    state = _current_title(runtime, unit)
    with Session(runtime.engine) as s:
        row = s.exec(select(Licence).where(col(Licence.leaf) == state.certificate_leaf.hex())).first()
    number = None
    if row is not None and row.licence_type == CERTIFICATE_TYPE:
        number = next((d.value for d in map(Disclosure.from_json, json.loads(row.disclosures))
                       if d.key == UNIT_NUMBER_FIELD), None)
    if not isinstance(number, str) or unit_key(number) != unit:
        raise TitleNotHeld("this node holds no certificate of the unit's current title, so it cannot "
                           "name the unit", unit=unit.hex(), certificate_leaf=state.certificate_leaf.hex())
    return number


def _current_title(runtime: Runtime, unit: bytes) -> UnitState:
    rows = title_events(runtime, unit)
    mirrored = replay(unit, [title_event(r) for r in rows])
    if not rows:
        raise UnknownTitle("no title of the unit is indexed on this node", unit=unit.hex())
    if mirrored.state is None:
        raise Unavailable("the node cannot mirror this unit's first change", unit=unit.hex(),
                          problem=mirrored.problem)
    return mirrored.state


def register(runtime: Runtime, department: str, unit_number: str,
             owners: Sequence[TitleOwner]) -> dict[str, Any]:
    """Register the title of ``unit_number`` and issue its e-certificate to the owners.

    The contract is asked first with stand-in commitments, so a refusal (wrong department,
    existing title, bad shares) issues no certificate; a refusal after the certificate was
    issued (a race with another request) revokes it as issued in error.
    """
    unit = unit_key(unit_number)
    ids = [o.id_number for o in owners]
    if len(set(ids)) != len(ids):
        raise BadRequest("an owner is named twice", field="owners")
    stand_in = [(secrets.token_bytes(32), o.share) for o in owners]
    actions.preflight(runtime.ctx, department, REGISTER, "registerTitle",
                      [unit, stand_in, secrets.token_bytes(32)])
    issued = licences.issue(runtime.ctx, department, [certificate_request(unit_number, owners)])[0]
    with Session(runtime.engine) as s:
        row = s.get(Licence, issued.identifier)
        assert row is not None
        disclosures = [Disclosure.from_json(d) for d in json.loads(row.disclosures)]
    commitments = owner_commitments(disclosures, len(owners))
    on_chain = [(c, o.share) for c, o in zip(commitments, owners, strict=True)]
    certificate = {"identifier": issued.identifier, "leaf": issued.leaf, "qr": issued.qr}
    try:
        step, _ = _step(runtime, department, unit_number, "registerTitle",
                        [on_chain, bytes.fromhex(issued.leaf)])
    except ContractReverted as exc:
        status.request_change(runtime.ctx, runtime.anchorer, department, issued.identifier,
                              "revoke", ISSUED_IN_ERROR)
        exc.fields.update(certificate=issued.identifier, certificate_revoked=True)
        raise
    except Unavailable as exc:
        raise Unavailable(exc.message, **exc.fields, certificate=issued.identifier) from None
    body = step.to_json()
    body.update(certificate=certificate, owners=[
        {"index": i, "commitment": c.hex(), "share_ppm": o.share}
        for i, (c, o) in enumerate(zip(commitments, owners, strict=True))])
    return body


def record_mortgage(runtime: Runtime, department: str, unit_number: str, mortgagee: str,
                    amount_fen: int) -> dict[str, Any]:
    """Record a mortgage of ``amount_fen`` for bank department ``mortgagee``; the rank comes back."""
    step, done = _step(runtime, department, unit_number, "recordMortgage",
                       [to_bytes32(mortgagee), amount_fen], mortgagee=mortgagee, amount_fen=amount_fen)
    data = done.event("TitleChanged").args["data"]
    step.extra["rank"] = int.from_bytes(data[64:96], "big")
    return step.to_json()


def record_pre_notice(runtime: Runtime, department: str, unit_number: str, holder: bytes,
                      expires_at: int) -> dict[str, Any]:
    """Record a pre-notice (预告登记) for the holder commitment until ``expires_at``."""
    return _step(runtime, department, unit_number, "recordPreNotice", [holder, expires_at],
                 holder=holder.hex(), expires_at=expires_at)[0].to_json()


def record_objection(runtime: Runtime, department: str, unit_number: str,
                     applicant: bytes) -> dict[str, Any]:
    """Record an objection (异议登记) by the applicant commitment; it lapses in 15 days."""
    step, done = _step(runtime, department, unit_number, "recordObjection", [applicant],
                       applicant=applicant.hex())
    step.extra["expires_at"] = int.from_bytes(done.event("TitleChanged").args["data"][32:64], "big")
    return step.to_json()


def file_objection_suit(runtime: Runtime, department: str, unit_number: str, suit: str | None,
                        suit_hash: str | None) -> dict[str, Any]:
    """Record that the objector filed suit (by case number or its hash)."""
    digest = _hash_of(suit, suit_hash, "suit")
    return _step(runtime, department, unit_number, "fileObjectionSuit", [digest],
                 suit_hash=digest.hex())[0].to_json()


def record_owner_consent(runtime: Runtime, department: str, unit_number: str,
                         indexes: Sequence[int]) -> dict[str, Any]:
    """Record the consent of the co-owners at ``indexes`` (0-based, as ``show`` lists them)."""
    if not indexes or any(not 0 <= i < 32 for i in indexes):
        raise BadRequest("owners are 0-based indexes below 32", field="owners")
    mask = 0
    for i in indexes:
        mask |= 1 << i
    return _step(runtime, department, unit_number, "recordOwnerConsent", [mask],
                 owners=sorted(set(indexes)), mask=mask)[0].to_json()


def cancel(runtime: Runtime, department: str, unit_number: str, reason: str | None,
           reason_hash: str | None) -> dict[str, Any]:
    """Cancel the title (注销) for a reason given as text or its hash."""
    digest = _hash_of(reason, reason_hash, "reason")
    return _step(runtime, department, unit_number, "cancelTitle", [digest],
                 reason_hash=digest.hex())[0].to_json()


def simple(runtime: Runtime, department: str, unit_number: str, function: str) -> dict[str, Any]:
    """Take a step whose only argument is the unit (consent to / clear a pre-notice, clear an objection)."""
    if function not in ("consentPreNotice", "clearPreNotice", "clearObjection"):
        raise BadRequest(f"{function} is not a step on a unit alone")
    return _step(runtime, department, unit_number, function, [])[0].to_json()


# -------------------------------------------------------------------------- BANK, COURT


def mortgagee_step(runtime: Runtime, department: str, unit_number: str, rank: int,
                   release: bool) -> dict[str, Any]:
    """The mortgagee bank releases its mortgage (抵押注销) or consents to transfer with it (带押过户)."""
    if not 0 < rank < 256:
        raise BadRequest("a mortgage rank is 1 to 255", field="rank")
    function = "releaseMortgage" if release else "consentMortgageTransfer"
    return _step(runtime, department, unit_number, function, [rank], rank=rank)[0].to_json()


def seize(runtime: Runtime, department: str, unit_number: str, order: str | None,
          order_hash: str | None, days: int) -> dict[str, Any]:
    """Seize the unit by court order for ``days`` (or queue behind the seizure in force)."""
    digest = _hash_of(order, order_hash, "order")
    return _step(runtime, department, unit_number, "seize", [digest, days * DAY],
                 order_hash=digest.hex(), duration=days * DAY)[0].to_json()


def release_seizure(runtime: Runtime, department: str, unit_number: str, order: str | None,
                    order_hash: str | None) -> dict[str, Any]:
    """Release the court's seizure; the next waiting one is promoted and runs from now."""
    digest = _hash_of(order, order_hash, "order")
    return _step(runtime, department, unit_number, "releaseSeizure", [digest],
                 order_hash=digest.hex())[0].to_json()
