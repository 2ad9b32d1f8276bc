"""Licence status rules: states, reason codes, allowed transitions and ``status_at``.

A licence is active once anchored. It may be suspended (from active),
reinstated (from suspended) or revoked (from active or suspended); revoked is
final. The history of a licence is an append-only list of
``(at, status, reason)`` entries in non-decreasing time order; the numeric
values of :class:`LicenceStatus` equal the on-chain status codes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import NamedTuple

from ledger.domain.errors import (
    InvalidStatusTransition,
    StatusHistoryOutOfOrder,
    UnknownReasonCode,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "REASON_CODES",
    "LicenceStatus",
    "ReasonCode",
    "StatusEntry",
    "append_status",
    "check_transition",
    "current_status",
    "status_at",
]


class LicenceStatus(IntEnum):
    """The status of an anchored licence; values are the contract's status codes."""

    ACTIVE = 0
    SUSPENDED = 1
    REVOKED = 2


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One row of the reason-code table."""

    code: int
    name: str
    description: str
    applies_to: frozenset[LicenceStatus]


_S, _R, _A = LicenceStatus.SUSPENDED, LicenceStatus.REVOKED, LicenceStatus.ACTIVE

#: The reason-code table, kept as data. 0 is only used to reinstate a licence.
REASON_CODES: MappingProxyType[int, ReasonCode] = MappingProxyType(
    {
        row.code: row
        for row in (
            ReasonCode(0, "none", "no reason recorded (reinstatement)", frozenset({_A})),
            ReasonCode(1, "issued_in_error", "issued in error", frozenset({_S, _R})),
            ReasonCode(2, "holder_request", "at the holder's request", frozenset({_S, _R, _A})),
            ReasonCode(3, "superseded", "replaced by a newer version", frozenset({_R})),
            ReasonCode(4, "court_order", "ordered by a court", frozenset({_S, _R, _A})),
            ReasonCode(5, "fraud", "obtained by fraud", frozenset({_S, _R})),
            ReasonCode(6, "key_compromise", "issuer signing key compromised", frozenset({_S, _R})),
        )
    }
)

#: Allowed status changes: current status -> statuses it may move to.
ALLOWED_TRANSITIONS: MappingProxyType[LicenceStatus, frozenset[LicenceStatus]] = MappingProxyType(
    {
        LicenceStatus.ACTIVE: frozenset({LicenceStatus.SUSPENDED, LicenceStatus.REVOKED}),
        LicenceStatus.SUSPENDED: frozenset({LicenceStatus.ACTIVE, LicenceStatus.REVOKED}),
        LicenceStatus.REVOKED: frozenset(),
    }
)


class StatusEntry(NamedTuple):
    """One status change: from ``at`` (unix seconds) the licence is ``status``."""

    at: int
    status: LicenceStatus
    reason: int


def check_transition(current: LicenceStatus, target: LicenceStatus, reason: int) -> None:
    """Raise unless ``current -> target`` is allowed with ``reason``."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidStatusTransition(current.name.lower(), target.name.lower())
    row = REASON_CODES.get(reason) if type(reason) is int else None
    if row is None or target not in row.applies_to:
        raise UnknownReasonCode(reason, target.name.lower())


def current_status(history: Sequence[StatusEntry]) -> LicenceStatus:
    """Return the latest status of ``history`` (active when empty)."""
    return history[-1].status if history else LicenceStatus.ACTIVE


def append_status(
    history: Sequence[StatusEntry], at: int, status: LicenceStatus, reason: int
) -> tuple[StatusEntry, ...]:
    """Return ``history`` with a validated new entry appended (the input is not changed)."""
    if history and at < history[-1].at:
        raise StatusHistoryOutOfOrder(history[-1].at, at)
    check_transition(current_status(history), status, reason)
    return (*history, StatusEntry(at, LicenceStatus(status), reason))


def status_at(history: Sequence[StatusEntry], t: int) -> StatusEntry:
    """Return the entry in force at time ``t`` (entries take effect at their ``at``).

    Before the first entry, or for an empty history, the licence is active with
    reason 0 since time 0. Entries sharing a timestamp apply in list order.
    """
    index = bisect_right(history, t, key=_entry_time)
    return history[index - 1] if index else StatusEntry(0, LicenceStatus.ACTIVE, 0)


def _entry_time(entry: StatusEntry) -> int:
    """Return the time key used to search a history."""
    return entry.at
