"""The vocabulary of the property register: units, owners, mortgages, seizures, changes.

The rules that move a unit from one state to the next are in :mod:`ledger.domain.property`,
which re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from ledger.domain.canonical import keccak256
from ledger.domain.units import validate_unit_number

SHARE_WHOLE = 1_000_000
OBJECTION_PERIOD = 15 * 86_400
MAX_SEIZURE_DURATION = 3 * 365 * 86_400
MAX_OWNERS = 32
MAX_PENDING_SEIZURES = 16
ZERO = bytes(32)


class Kind(IntEnum):
    """Kinds of change in a unit's hash chain; values are the contract's CHANGE_* codes."""

    REGISTERED = 1
    CERTIFICATE_UPDATED = 2
    CONTRACT_FILED = 3
    CONTRACT_CLEARED = 4
    PRE_NOTICE_RECORDED = 5
    PRE_NOTICE_CONSENTED = 6
    PRE_NOTICE_CLEARED = 7
    MORTGAGE_RECORDED = 8
    MORTGAGE_CONSENTED = 9
    MORTGAGE_RELEASED = 10
    SEIZURE_RECORDED = 11
    SEIZURE_RELEASED = 12
    OBJECTION_RECORDED = 13
    OBJECTION_SUIT_FILED = 14
    OBJECTION_CLEARED = 15
    OWNERS_CONSENTED = 16
    CANCELLED = 17
    TRANSFERRED = 18


class Guard(IntFlag):
    """Guards that refuse a transfer; values are the contract's GUARD_* bits."""

    SEIZED = 1
    OBJECTION = 2
    PRE_NOTICE = 4
    MORTGAGE = 8
    OWNER_CONSENT = 16
    CANCELLED = 32


def unit_key(unit_number: str) -> bytes:
    """Return the on-chain key of a validated 28-character unit number."""
    return keccak256(validate_unit_number(unit_number).encode("ascii"))


def abi_word(value: int | bytes) -> bytes:
    """Return ``value`` as one 32-byte ABI word (integers big-endian, bytes left-padded)."""
    return value.rjust(32, b"\0") if isinstance(value, bytes) else value.to_bytes(32, "big")


def chain_link(previous: bytes, kind: int, data: bytes, at: int) -> bytes:
    """Return the head after appending a change of ``kind`` with ``data`` at time ``at``."""
    return keccak256(previous + abi_word(kind) + keccak256(data) + abi_word(at))


# ----------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class Owner:
    """A co-owner: salted ID-number commitment and share in parts per million."""

    commitment: bytes
    share: int


@dataclass(frozen=True, slots=True)
class Mortgage:
    """A mortgage; its rank is its 1-based position in ``UnitState.mortgages``."""

    mortgagee: bytes
    amount: int
    recorded_at: int
    consented: bool = False
    released: bool = False


@dataclass(frozen=True, slots=True)
class Seizure:
    """A seizure; ``start`` is 0 while it waits in the queue."""

    court: bytes
    order_hash: bytes
    duration: int
    start: int
    released: bool = False


@dataclass(frozen=True, slots=True)
class UnitState:
    """Everything the register holds about one unit."""

    unit: bytes
    owners: tuple[Owner, ...]
    certificate_leaf: bytes
    registered_at: int
    head: bytes
    changes: int = 0
    updated_at: int = 0
    cancelled: bool = False
    contract_hash: bytes = ZERO
    pre_notice_holder: bytes = ZERO
    pre_notice_expires_at: int = 0
    pre_notice_consented: bool = False
    objection_applicant: bytes = ZERO
    objection_expires_at: int = 0
    objection_suit_filed: bool = False
    owner_consent_mask: int = 0
    mortgages: tuple[Mortgage, ...] = ()
    seizures: tuple[Seizure, ...] = ()
    seizure_head: int = 0

    def pre_notice_in_force(self, now: int) -> bool:
        return self.pre_notice_holder != ZERO and now < self.pre_notice_expires_at

    def objection_in_force(self, now: int) -> bool:
        return self.objection_applicant != ZERO and (
            self.objection_suit_filed or now < self.objection_expires_at)

    @property
    def active_mortgages(self) -> int:
        return sum(not m.released for m in self.mortgages)


# --------------------------------------------------------------- changes


@dataclass(frozen=True, slots=True)
class Register:
    """Register the title of ``unit``."""

    unit: bytes
    owners: tuple[Owner, ...]
    certificate_leaf: bytes


@dataclass(frozen=True, slots=True)
class UpdateCertificate:
    """Replace the title certificate leaf."""

    leaf: bytes


@dataclass(frozen=True, slots=True)
class FileContract:
    """File a sale contract (HOUSING)."""

    contract_hash: bytes


@dataclass(frozen=True, slots=True)
class ClearContract:
    """Clear the filed sale contract (HOUSING)."""


@dataclass(frozen=True, slots=True)
class RecordPreNotice:
    """Record a pre-notice for ``holder`` until ``expires_at``."""

    holder: bytes
    expires_at: int


@dataclass(frozen=True, slots=True)
class ConsentPreNotice:
    """Record the pre-notice holder's consent to a transfer to someone else."""


@dataclass(frozen=True, slots=True)
class ClearPreNotice:
    """Clear the pre-notice in force."""


@dataclass(frozen=True, slots=True)
class RecordMortgage:
    """Record a mortgage for bank ``mortgagee`` at the next rank."""

    mortgagee: bytes
    amount: int


@dataclass(frozen=True, slots=True)
class ConsentMortgage:
    """Bank ``bank`` consents to a transfer with mortgage ``rank``."""

    bank: bytes
    rank: int


@dataclass(frozen=True, slots=True)
class ReleaseMortgage:
    """Bank ``bank`` releases mortgage ``rank``."""

    bank: bytes
    rank: int


@dataclass(frozen=True, slots=True)
class Seize:
    """Court ``court`` seizes the unit (or queues) for ``duration`` seconds."""

    court: bytes
    order_hash: bytes
    duration: int


@dataclass(frozen=True, slots=True)
class ReleaseSeizure:
    """Court ``court`` releases its seizure ``order_hash``."""

    court: bytes
    order_hash: bytes


@dataclass(frozen=True, slots=True)
class RecordObjection:
    """Record an objection by ``applicant``."""

    applicant: bytes


@dataclass(frozen=True, slots=True)
class FileObjectionSuit:
    """Record that the objector filed suit."""

    suit_hash: bytes


@dataclass(frozen=True, slots=True)
class ClearObjection:
    """Clear the objection in force."""


@dataclass(frozen=True, slots=True)
class RecordOwnerConsent:
    """Record the consent of the co-owners set in ``mask``."""

    mask: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel the title."""

    reason_hash: bytes


@dataclass(frozen=True, slots=True)
class FileCaseContract:
    """File a transfer case's sale contract: refused under the case guards (seizure, objection,
    a pre-notice held by none of ``buyers`` without consent)."""

    contract_hash: bytes
    buyers: tuple[Owner, ...]


@dataclass(frozen=True, slots=True)
class ClearCaseContract:
    """Clear the contract of a cancelled or expired case."""

    contract_hash: bytes


@dataclass(frozen=True, slots=True)
class ConsentMortgageForCase:
    """A bank's consent to transfer with its mortgage, given through a transfer case."""

    bank: bytes
    rank: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move the title to ``owners`` at a case's settlement, releasing the paid-off mortgage ``release_rank``."""

    contract_hash: bytes
    owners: tuple[Owner, ...]
    certificate_leaf: bytes
    release_rank: int = 0


Change = (Register | UpdateCertificate | FileContract | ClearContract | RecordPreNotice
          | ConsentPreNotice | ClearPreNotice | RecordMortgage | ConsentMortgage | ReleaseMortgage
          | Seize | ReleaseSeizure | RecordObjection | FileObjectionSuit | ClearObjection
          | RecordOwnerConsent | Cancel | FileCaseContract | ClearCaseContract | ConsentMortgageForCase
          | Transfer)
