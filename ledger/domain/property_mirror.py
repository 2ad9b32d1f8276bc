"""A unit's register state mirrored from the chain: its ``TitleChanged`` events replayed.

``decode_change`` reads one event's ``kind`` and ABI-encoded ``data`` back into the
:mod:`ledger.domain.property` change that produced it (the inverse of
``property.change_data``; where two calls log the same event, into the one that accepts
every state either accepts); ``replay`` applies a unit's events in chain order to the
Python twin and recomputes every link of the unit's hash chain from the events alone.
The result says whether the chain links (``chain_valid``) and whether the twin agreed
with every change the contract accepted (``problem`` names the first it could not follow).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.domain.errors import PropertyError
from ledger.domain.property import (
    Cancel,
    Change,
    ClearCaseContract,
    ClearObjection,
    ClearPreNotice,
    ConsentMortgage,
    ConsentPreNotice,
    FileContract,
    FileObjectionSuit,
    Kind,
    Owner,
    RecordMortgage,
    RecordObjection,
    RecordOwnerConsent,
    RecordPreNotice,
    Register,
    ReleaseMortgage,
    ReleaseSeizure,
    Seize,
    Transfer,
    UnitState,
    UpdateCertificate,
    apply,
    chain_link,
)

__all__ = ["Link", "MirroredUnit", "TitleEvent", "decode_change", "replay"]

WORD = 32
# How many 32-byte words each fixed-layout kind's data holds.
_FIXED_WORDS = {
    Kind.CERTIFICATE_UPDATED: 1, Kind.CONTRACT_FILED: 1, Kind.CONTRACT_CLEARED: 1,
    Kind.PRE_NOTICE_RECORDED: 2, Kind.PRE_NOTICE_CONSENTED: 1, Kind.PRE_NOTICE_CLEARED: 1,
    Kind.MORTGAGE_RECORDED: 3, Kind.MORTGAGE_CONSENTED: 2, Kind.MORTGAGE_RELEASED: 2,
    Kind.SEIZURE_RECORDED: 3, Kind.SEIZURE_RELEASED: 2, Kind.OBJECTION_RECORDED: 2,
    Kind.OBJECTION_SUIT_FILED: 2, Kind.OBJECTION_CLEARED: 1, Kind.OWNERS_CONSENTED: 1,
    Kind.CANCELLED: 1,
}


@dataclass(frozen=True, slots=True)
class TitleEvent:
    """One ``TitleChanged`` event of a unit, as the chain logged it."""

    kind: int
    data: bytes
    at: int
    head: bytes


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a unit's hash chain, recomputed from the events."""

    event: TitleEvent
    previous: bytes
    valid: bool


@dataclass(frozen=True, slots=True)
class MirroredUnit:
    """A unit's state after replaying its events, and the links of its hash chain."""

    unit: bytes
    state: UnitState | None
    links: tuple[Link, ...]
    problem: str | None = None

    @property
    def chain_valid(self) -> bool:
        """Return True when the events form one unbroken chain from the unit key."""
        return bool(self.links) and all(link.valid for link in self.links)


def _words(unit: bytes, kind: int, data: bytes, count: int) -> list[bytes]:
    if len(data) != count * WORD:
        raise PropertyError(unit, "MalformedChange", kind=kind, length=len(data))
    return [data[i:i + WORD] for i in range(0, len(data), WORD)]


def _int(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _registered(unit: bytes, data: bytes) -> Register:
    """Decode ``abi.encode(Owner[] owners, bytes32 certificateLeaf)``."""
    if len(data) < 3 * WORD or _int(data[:WORD]) != 2 * WORD:
        raise PropertyError(unit, "MalformedChange", kind=int(Kind.REGISTERED), length=len(data))
    leaf, count = data[WORD:2 * WORD], _int(data[2 * WORD:3 * WORD])
    body = _words(unit, int(Kind.REGISTERED), data[3 * WORD:], 2 * count)
    owners = tuple(Owner(body[2 * i], _int(body[2 * i + 1])) for i in range(count))
    return Register(unit, owners, leaf)


def _transferred(unit: bytes, data: bytes) -> Transfer:
    """Decode ``abi.encode(bytes32 contractHash, Owner[] owners, bytes32 certificateLeaf, uint8 releaseRank)``."""
    kind = int(Kind.TRANSFERRED)
    if len(data) < 5 * WORD or _int(data[WORD:2 * WORD]) != 4 * WORD:
        raise PropertyError(unit, "MalformedChange", kind=kind, length=len(data))
    contract_hash, leaf, rank = data[:WORD], data[2 * WORD:3 * WORD], _int(data[3 * WORD:4 * WORD])
    count = _int(data[4 * WORD:5 * WORD])
    body = _words(unit, kind, data[5 * WORD:], 2 * count)
    owners = tuple(Owner(body[2 * i], _int(body[2 * i + 1])) for i in range(count))
    return Transfer(contract_hash, owners, leaf, rank)


def decode_change(unit: bytes, kind: int, data: bytes) -> Change:  # noqa: C901, PLR0911, PLR0912
    """Return the change that the contract logged as ``kind`` with ``data`` on ``unit``."""
    if kind == Kind.REGISTERED:
        return _registered(unit, data)
    if kind == Kind.TRANSFERRED:
        return _transferred(unit, data)
    if kind not in _FIXED_WORDS:
        raise PropertyError(unit, "UnknownChangeKind", kind=kind)
    w = _words(unit, kind, data, _FIXED_WORDS[Kind(kind)])
    match Kind(kind):
        case Kind.CERTIFICATE_UPDATED:
            return UpdateCertificate(w[0])
        case Kind.CONTRACT_FILED:
            return FileContract(w[0])
        case Kind.CONTRACT_CLEARED:
            # HOUSING's clearContract and a closing case's clearContractForCase log the same event;
            # only the case's clear also follows a cancelled title, so the event is read as that one.
            return ClearCaseContract(w[0])
        case Kind.PRE_NOTICE_RECORDED:
            return RecordPreNotice(w[0], _int(w[1]))
        case Kind.PRE_NOTICE_CONSENTED:
            return ConsentPreNotice()
        case Kind.PRE_NOTICE_CLEARED:
            return ClearPreNotice()
        case Kind.MORTGAGE_RECORDED:
            return RecordMortgage(w[0], _int(w[1]))
        case Kind.MORTGAGE_CONSENTED:
            return ConsentMortgage(w[0], _int(w[1]))
        case Kind.MORTGAGE_RELEASED:
            return ReleaseMortgage(w[0], _int(w[1]))
        case Kind.SEIZURE_RECORDED:
            return Seize(w[0], w[1], _int(w[2]))
        case Kind.SEIZURE_RELEASED:
            return ReleaseSeizure(w[0], w[1])
        case Kind.OBJECTION_RECORDED:
            return RecordObjection(w[0])
        case Kind.OBJECTION_SUIT_FILED:
            return FileObjectionSuit(w[1])
        case Kind.OBJECTION_CLEARED:
            return ClearObjection()
        case Kind.OWNERS_CONSENTED:
            return RecordOwnerConsent(_int(w[0]))
        case _:  # Kind.CANCELLED
            return Cancel(w[0])


def replay(unit: bytes, events: Iterable[TitleEvent]) -> MirroredUnit:
    """Replay a unit's events, oldest first, into the twin; recompute every chain link.

    Never raises for what the chain holds: a link that does not follow is ``valid=False``,
    and the first change the twin cannot follow (or whose head differs) is ``problem``;
    the state is then the one before that change.
    """
    state: UnitState | None = None
    links: list[Link] = []
    previous, problem = unit, None
    for n, event in enumerate(events, 1):
        links.append(Link(event, previous,
                          chain_link(previous, event.kind, event.data, event.at) == event.head))
        previous = event.head
        if problem is not None:
            continue
        try:
            after = apply(state, decode_change(unit, event.kind, event.data), event.at)
        except PropertyError as exc:
            problem = f"change {n} ({_kind_name(event.kind)}): {exc.rule}"
            continue
        if after.head != event.head:
            problem = f"change {n} ({_kind_name(event.kind)}): the twin's head differs"
            continue
        state = after
    return MirroredUnit(unit, state, tuple(links), problem)


def _kind_name(kind: int) -> str:
    return Kind(kind).name.lower() if kind in Kind._value2member_map_ else str(kind)
