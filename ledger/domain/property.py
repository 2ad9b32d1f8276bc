"""The property register of one unit as a pure state machine, mirroring PropertyRegistry.sol.

``apply(state, change, at)`` returns the unit's next state or raises
:class:`~ledger.domain.errors.PropertyError` whose ``rule`` is the contract's custom
error name without its ``PropertyRegistry`` prefix; ``check_transferable`` raises
:class:`~ledger.domain.errors.TransferRefused` for the first failing guard in the
contract's order. Roles are the contract's business; the mortgagee and seizing court
checks, which depend on *which* department acts, are mirrored here.

Every change appends ``keccak(abi.encode(previous head, kind, keccak(data), at))`` to the
unit's hash chain, which starts from the unit key; ``data`` is the ABI encoding of the
change's fields, exactly as the contract's ``TitleChanged`` event carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, IntFlag

from eth_hash.auto import keccak

from ledger.domain.errors import PropertyError, TransferRefused
from ledger.domain.units import validate_unit_number

__all__ = [
    "MAX_PENDING_SEIZURES",
    "MAX_SEIZURE_DURATION",
    "OBJECTION_PERIOD",
    "SHARE_WHOLE",
    "Cancel", "Change", "ClearContract", "ClearObjection", "ClearPreNotice", "ConsentMortgage",
    "ConsentPreNotice", "FileContract", "FileObjectionSuit", "Guard", "Kind", "Mortgage", "Owner",
    "RecordMortgage", "RecordObjection", "RecordOwnerConsent", "RecordPreNotice", "Register",
    "ReleaseMortgage", "ReleaseSeizure", "Seize", "Seizure", "UnitState", "UpdateCertificate",
    "active_seizure", "apply", "change_data", "chain_link", "check_transferable", "guards",
    "unit_key",
]

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
    return keccak(validate_unit_number(unit_number).encode("ascii"))


def _word(value: int | bytes) -> bytes:
    return value.rjust(32, b"\0") if isinstance(value, bytes) else value.to_bytes(32, "big")


def chain_link(previous: bytes, kind: int, data: bytes, at: int) -> bytes:
    """Return the head after appending a change of ``kind`` with ``data`` at time ``at``."""
    return keccak(previous + _word(kind) + keccak(data) + _word(at))


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


Change = (Register | UpdateCertificate | FileContract | ClearContract | RecordPreNotice
          | ConsentPreNotice | ClearPreNotice | RecordMortgage | ConsentMortgage | ReleaseMortgage
          | Seize | ReleaseSeizure | RecordObjection | FileObjectionSuit | ClearObjection
          | RecordOwnerConsent | Cancel)


# -------------------------------------------------------------- seizures


def _seizure_state(state: UnitState, now: int) -> tuple[int, int]:
    """Return the index of the seizure in force (len when none) and its start."""
    carry = now
    for head in range(state.seizure_head, len(state.seizures)):
        s = state.seizures[head]
        if s.released:
            continue
        start = s.start or carry
        end = start + s.duration
        if now < end:
            return head, start
        carry = end
    return len(state.seizures), 0


def _settle(state: UnitState, now: int) -> UnitState:
    head, start = _seizure_state(state, now)
    seizures = state.seizures
    if head < len(seizures) and seizures[head].start == 0:
        seizures = (*seizures[:head], replace(seizures[head], start=start), *seizures[head + 1:])
    return replace(state, seizure_head=head, seizures=seizures)


def active_seizure(state: UnitState, now: int) -> Seizure | None:
    """Return the seizure in force at ``now`` (with its start applied), or None."""
    head, start = _seizure_state(state, now)
    return replace(state.seizures[head], start=start) if head < len(state.seizures) else None


# ----------------------------------------------------------------- guards


def guards(state: UnitState, transferee: bytes, now: int) -> Guard:
    """Return the guards that refuse a transfer of the unit to ``transferee`` at ``now``."""
    found = Guard(0)
    if state.cancelled:
        found |= Guard.CANCELLED
    if active_seizure(state, now) is not None:
        found |= Guard.SEIZED
    if state.objection_in_force(now):
        found |= Guard.OBJECTION
    if (state.pre_notice_in_force(now) and state.pre_notice_holder != transferee
            and not state.pre_notice_consented):
        found |= Guard.PRE_NOTICE
    if any(not m.released and not m.consented for m in state.mortgages):
        found |= Guard.MORTGAGE
    if state.owner_consent_mask != (1 << len(state.owners)) - 1:
        found |= Guard.OWNER_CONSENT
    return found


def check_transferable(state: UnitState, transferee: bytes, now: int) -> None:
    """Raise :class:`TransferRefused` for the first guard that refuses the transfer."""
    unit = state.unit
    if state.cancelled:
        raise PropertyError(unit, "TitleCancelled")
    found = guards(state, transferee, now)
    seizure = active_seizure(state, now)
    if seizure is not None:
        raise TransferRefused(unit, "UnitSeized", court=seizure.court, order_hash=seizure.order_hash)
    if Guard.OBJECTION in found:
        expires = 0 if state.objection_suit_filed else state.objection_expires_at
        raise TransferRefused(unit, "UnderObjection", expires_at=expires)
    if Guard.PRE_NOTICE in found:
        raise TransferRefused(unit, "PreNoticeHeld", holder=state.pre_notice_holder)
    for rank, m in enumerate(state.mortgages, 1):
        if not m.released and not m.consented:
            raise TransferRefused(unit, "MortgageNotReleased", rank=rank, mortgagee=m.mortgagee)
    for index in range(len(state.owners)):
        if not state.owner_consent_mask >> index & 1:
            raise TransferRefused(unit, "OwnerNotConsented", index=index)


# ---------------------------------------------------------------- apply


def _register(change: Register, at: int) -> UnitState:
    unit, owners = change.unit, change.owners
    if unit == ZERO:
        raise PropertyError(unit, "InvalidUnit")
    if change.certificate_leaf == ZERO:
        raise PropertyError(unit, "ZeroValue")
    if not 0 < len(owners) <= MAX_OWNERS:
        raise PropertyError(unit, "InvalidOwner", index=len(owners))
    for i, owner in enumerate(owners):
        if (owner.commitment == ZERO or owner.share == 0
                or owner.commitment in {o.commitment for o in owners[:i]}):
            raise PropertyError(unit, "InvalidOwner", index=i)
    total = sum(o.share for o in owners)
    if total != SHARE_WHOLE:
        raise PropertyError(unit, "InvalidShares", total=total)
    return UnitState(unit=unit, owners=owners, certificate_leaf=change.certificate_leaf,
                     registered_at=at, head=unit)


def _own_mortgage(state: UnitState, rank: int, bank: bytes) -> Mortgage:
    if not 0 < rank <= len(state.mortgages) or state.mortgages[rank - 1].released:
        raise PropertyError(state.unit, "UnknownMortgage", rank=rank)
    mortgage = state.mortgages[rank - 1]
    if mortgage.mortgagee != bank:
        raise PropertyError(state.unit, "NotMortgagee", rank=rank, department=bank)
    return mortgage


def _set_mortgage(state: UnitState, rank: int, mortgage: Mortgage) -> UnitState:
    ms = state.mortgages
    return replace(state, mortgages=(*ms[:rank - 1], mortgage, *ms[rank:]))


def _refuse_if_seized(state: UnitState, now: int) -> None:
    seizure = active_seizure(state, now)
    if seizure is not None:
        raise TransferRefused(state.unit, "UnitSeized", court=seizure.court,
                              order_hash=seizure.order_hash)


def _step(state: UnitState, change: Change, at: int) -> tuple[UnitState, Kind]:  # noqa: C901, PLR0911, PLR0912
    unit = state.unit
    match change:
        case UpdateCertificate(leaf):
            if leaf == ZERO:
                raise PropertyError(unit, "ZeroValue")
            return replace(state, certificate_leaf=leaf), Kind.CERTIFICATE_UPDATED
        case FileContract(contract_hash):
            if contract_hash == ZERO:
                raise PropertyError(unit, "ZeroValue")
            if state.contract_hash != ZERO:
                raise PropertyError(unit, "ContractAlreadyFiled", contract_hash=state.contract_hash)
            return replace(state, contract_hash=contract_hash), Kind.CONTRACT_FILED
        case ClearContract():
            if state.contract_hash == ZERO:
                raise PropertyError(unit, "NoFiledContract")
            return replace(state, contract_hash=ZERO), Kind.CONTRACT_CLEARED
        case RecordPreNotice(holder, expires_at):
            if holder == ZERO:
                raise PropertyError(unit, "ZeroValue")
            if expires_at <= at:
                raise PropertyError(unit, "InvalidExpiry", expires_at=expires_at)
            if state.pre_notice_in_force(at):
                raise PropertyError(unit, "PreNoticeExists", holder=state.pre_notice_holder)
            return replace(state, pre_notice_holder=holder, pre_notice_expires_at=expires_at,
                           pre_notice_consented=False), Kind.PRE_NOTICE_RECORDED
        case ConsentPreNotice() | ClearPreNotice():
            if not state.pre_notice_in_force(at):
                raise PropertyError(unit, "NoPreNotice")
            if isinstance(change, ConsentPreNotice):
                return replace(state, pre_notice_consented=True), Kind.PRE_NOTICE_CONSENTED
            return replace(state, pre_notice_holder=ZERO, pre_notice_expires_at=0,
                           pre_notice_consented=False), Kind.PRE_NOTICE_CLEARED
        case RecordMortgage(mortgagee, amount):
            state = _settle(state, at)
            _refuse_if_seized(state, at)
            if amount <= 0:
                raise PropertyError(unit, "InvalidMortgage", mortgagee=mortgagee, amount=amount)
            if len(state.mortgages) == 255:
                raise PropertyError(unit, "TooManyMortgages")
            return (replace(state, mortgages=(*state.mortgages, Mortgage(mortgagee, amount, at))),
                    Kind.MORTGAGE_RECORDED)
        case ConsentMortgage(bank, rank):
            m = _own_mortgage(state, rank, bank)
            return _set_mortgage(state, rank, replace(m, consented=True)), Kind.MORTGAGE_CONSENTED
        case ReleaseMortgage(bank, rank):
            m = _own_mortgage(state, rank, bank)
            return _set_mortgage(state, rank, replace(m, released=True)), Kind.MORTGAGE_RELEASED
        case Seize(court, order_hash, duration):
            if order_hash == ZERO:
                raise PropertyError(unit, "ZeroValue")
            if not 0 < duration <= MAX_SEIZURE_DURATION:
                raise PropertyError(unit, "InvalidSeizureDuration", duration=duration)
            state = _settle(state, at)
            n = len(state.seizures)
            if n - state.seizure_head >= MAX_PENDING_SEIZURES:
                raise PropertyError(unit, "SeizureQueueFull")
            new = Seizure(court, order_hash, duration, at if state.seizure_head == n else 0)
            return replace(state, seizures=(*state.seizures, new)), Kind.SEIZURE_RECORDED
        case ReleaseSeizure(court, order_hash):
            state = _settle(state, at)
            for i in range(state.seizure_head, len(state.seizures)):
                s = state.seizures[i]
                if s.released or s.order_hash != order_hash:
                    continue
                if s.court != court:
                    raise PropertyError(unit, "NotSeizingCourt", order_hash=order_hash,
                                        department=court)
                seizures = (*state.seizures[:i], replace(s, released=True), *state.seizures[i + 1:])
                return _settle(replace(state, seizures=seizures), at), Kind.SEIZURE_RELEASED
            raise PropertyError(unit, "UnknownSeizure", order_hash=order_hash)
        case RecordObjection(applicant):
            if applicant == ZERO:
                raise PropertyError(unit, "ZeroValue")
            if state.objection_in_force(at):
                raise PropertyError(unit, "ObjectionExists", applicant=state.objection_applicant)
            return replace(state, objection_applicant=applicant,
                           objection_expires_at=at + OBJECTION_PERIOD,
                           objection_suit_filed=False), Kind.OBJECTION_RECORDED
        case FileObjectionSuit(suit_hash):
            if not state.objection_in_force(at):
                raise PropertyError(unit, "NoObjection")
            if suit_hash == ZERO:
                raise PropertyError(unit, "ZeroValue")
            return replace(state, objection_suit_filed=True), Kind.OBJECTION_SUIT_FILED
        case ClearObjection():
            if not state.objection_in_force(at):
                raise PropertyError(unit, "NoObjection")
            return replace(state, objection_applicant=ZERO, objection_expires_at=0,
                           objection_suit_filed=False), Kind.OBJECTION_CLEARED
        case RecordOwnerConsent(mask):
            if mask == 0 or mask >> len(state.owners):
                raise PropertyError(unit, "InvalidOwnerMask", mask=mask)
            return (replace(state, owner_consent_mask=state.owner_consent_mask | mask),
                    Kind.OWNERS_CONSENTED)
        case Cancel():
            state = _settle(state, at)
            _refuse_if_seized(state, at)
            for rank, m in enumerate(state.mortgages, 1):
                if not m.released:
                    raise TransferRefused(unit, "MortgageNotReleased", rank=rank,
                                          mortgagee=m.mortgagee)
            return replace(state, cancelled=True), Kind.CANCELLED
    raise TypeError(f"not a property change: {change!r}")


def change_data(before: UnitState | None, change: Change, at: int) -> bytes:
    """Return the ABI-encoded ``data`` the contract logs for ``change`` to ``before`` at ``at``."""
    match change:
        case Register(_, owners, leaf):
            body = b"".join(o.commitment + _word(o.share) for o in owners)
            return _word(0x40) + leaf + _word(len(owners)) + body
        case UpdateCertificate(leaf):
            return leaf
        case FileContract(contract_hash):
            return contract_hash
        case RecordPreNotice(holder, expires_at):
            return holder + _word(expires_at)
        case RecordMortgage(mortgagee, amount):
            assert before is not None
            return mortgagee + _word(amount) + _word(len(before.mortgages) + 1)
        case ConsentMortgage(bank, rank) | ReleaseMortgage(bank, rank):
            return bank + _word(rank)
        case Seize(court, order_hash, duration):
            return court + order_hash + _word(duration)
        case ReleaseSeizure(court, order_hash):
            return court + order_hash
        case RecordObjection(applicant):
            return applicant + _word(at + OBJECTION_PERIOD)
        case RecordOwnerConsent(mask):
            return _word(mask)
        case Cancel(reason_hash):
            return reason_hash
    assert before is not None
    if isinstance(change, ClearContract):
        return before.contract_hash
    if isinstance(change, ConsentPreNotice | ClearPreNotice):
        return before.pre_notice_holder
    if isinstance(change, FileObjectionSuit):
        return before.objection_applicant + change.suit_hash
    return before.objection_applicant  # ClearObjection


def apply(state: UnitState | None, change: Change, at: int) -> UnitState:
    """Return the unit's state after ``change`` at time ``at``, hash chain advanced."""
    if isinstance(change, Register):
        if state is not None:
            raise PropertyError(change.unit, "TitleExists")
        after, kind = _register(change, at), Kind.REGISTERED
    else:
        if state is None:
            raise PropertyError(ZERO, "UnknownTitle")
        if state.cancelled:
            raise PropertyError(state.unit, "TitleCancelled")
        after, kind = _step(state, change, at)
    data = change_data(state, change, at)
    return replace(after, head=chain_link(after.head, kind, data, at), changes=after.changes + 1,
                   updated_at=at)
