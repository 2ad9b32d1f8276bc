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

from dataclasses import replace

from ledger.domain.errors import PropertyError, TransferRefused
from ledger.domain.property_types import (  # noqa: F401 (re-exported)
    MAX_OWNERS,
    MAX_PENDING_SEIZURES,
    MAX_SEIZURE_DURATION,
    OBJECTION_PERIOD,
    SHARE_WHOLE,
    ZERO,
    Cancel,
    Change,
    ClearCaseContract,
    ClearContract,
    ClearObjection,
    ClearPreNotice,
    ConsentMortgage,
    ConsentMortgageForCase,
    ConsentPreNotice,
    FileCaseContract,
    FileContract,
    FileObjectionSuit,
    Guard,
    Kind,
    Mortgage,
    Owner,
    RecordMortgage,
    RecordObjection,
    RecordOwnerConsent,
    RecordPreNotice,
    Register,
    ReleaseMortgage,
    ReleaseSeizure,
    Seize,
    Seizure,
    Transfer,
    UnitState,
    UpdateCertificate,
    abi_word,
    chain_link,
    unit_key,
)

__all__ = [
    "MAX_PENDING_SEIZURES", "MAX_SEIZURE_DURATION", "OBJECTION_PERIOD", "SHARE_WHOLE", "Cancel",
    "Change", "ClearCaseContract", "ClearContract", "ClearObjection", "ClearPreNotice",
    "ConsentMortgage", "ConsentMortgageForCase", "ConsentPreNotice", "FileCaseContract",
    "FileContract", "FileObjectionSuit", "Guard", "Kind", "Mortgage", "Owner", "RecordMortgage",
    "RecordObjection", "RecordOwnerConsent", "RecordPreNotice", "Register", "ReleaseMortgage",
    "ReleaseSeizure", "Seize", "Seizure", "Transfer", "UnitState", "UpdateCertificate",
    "active_seizure", "apply", "change_data", "chain_link", "check_case_step", "check_transferable",
    "guards", "seizure_queue", "unit_key",
]

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


def seizure_queue(state: UnitState, now: int) -> tuple[Seizure | None, tuple[Seizure, ...]]:
    """Return the seizure in force at ``now`` and the ones waiting behind it, in order."""
    head, _ = _seizure_state(state, now)
    waiting = tuple(s for s in state.seizures[head + 1:] if not s.released)
    return active_seizure(state, now), waiting


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
    _refuse_mortgage_or_missing_consent(state)


def _refuse_mortgage_or_missing_consent(state: UnitState) -> None:
    """Raise for the first mortgage neither released nor consented, then the first co-owner who has not consented."""
    for rank, m in enumerate(state.mortgages, 1):
        if not m.released and not m.consented:
            raise TransferRefused(state.unit, "MortgageNotReleased", rank=rank, mortgagee=m.mortgagee)
    for index in range(len(state.owners)):
        if not state.owner_consent_mask >> index & 1:
            raise TransferRefused(state.unit, "OwnerNotConsented", index=index)


# ---------------------------------------------------------------- apply


def _register(change: Register, at: int) -> UnitState:
    unit, owners = change.unit, change.owners
    if unit == ZERO:
        raise PropertyError(unit, "InvalidUnit")
    if change.certificate_leaf == ZERO:
        raise PropertyError(unit, "ZeroValue")
    _check_owners(unit, owners)
    return UnitState(unit=unit, owners=owners, certificate_leaf=change.certificate_leaf,
                     registered_at=at, head=unit)


def _check_owners(unit: bytes, owners: tuple[Owner, ...]) -> None:
    if not 0 < len(owners) <= MAX_OWNERS:
        raise PropertyError(unit, "InvalidOwner", index=len(owners))
    for i, owner in enumerate(owners):
        if (owner.commitment == ZERO or owner.share == 0
                or owner.commitment in {o.commitment for o in owners[:i]}):
            raise PropertyError(unit, "InvalidOwner", index=i)
    total = sum(o.share for o in owners)
    if total != SHARE_WHOLE:
        raise PropertyError(unit, "InvalidShares", total=total)


def check_case_step(state: UnitState, buyers: tuple[Owner, ...], now: int) -> None:
    """Raise :class:`TransferRefused` when a transfer case may not take a step on the unit.

    The case guards: a seizure, an objection, a pre-notice held by none of ``buyers`` without
    consent. Mortgages and owners' consent are checked only when the title moves.
    """
    if state.cancelled:
        raise PropertyError(state.unit, "TitleCancelled")
    _refuse_if_seized(state, now)
    if state.objection_in_force(now):
        expires = 0 if state.objection_suit_filed else state.objection_expires_at
        raise TransferRefused(state.unit, "UnderObjection", expires_at=expires)
    if (state.pre_notice_in_force(now) and not state.pre_notice_consented
            and state.pre_notice_holder not in {b.commitment for b in buyers}):
        raise TransferRefused(state.unit, "PreNoticeHeld", holder=state.pre_notice_holder)


def _transfer(state: UnitState, change: Transfer, at: int) -> UnitState:
    unit = state.unit
    if state.contract_hash != change.contract_hash or change.contract_hash == ZERO:
        raise PropertyError(unit, "ContractMismatch", filed=state.contract_hash, given=change.contract_hash)
    if change.certificate_leaf == ZERO:
        raise PropertyError(unit, "ZeroValue")
    state = _settle(state, at)
    check_case_step(state, change.owners, at)
    _refuse_mortgage_or_missing_consent(state)
    rank = change.release_rank
    if rank:
        if rank > len(state.mortgages) or state.mortgages[rank - 1].released:
            raise PropertyError(unit, "UnknownMortgage", rank=rank)
        state = _set_mortgage(state, rank, replace(state.mortgages[rank - 1], released=True))
    _check_owners(unit, change.owners)
    return replace(state, owners=change.owners, owner_consent_mask=0, contract_hash=ZERO,
                   pre_notice_holder=ZERO, pre_notice_expires_at=0, pre_notice_consented=False,
                   certificate_leaf=change.certificate_leaf)


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
        case FileCaseContract(contract_hash, buyers):
            check_case_step(state, buyers, at)
            return _step(state, FileContract(contract_hash), at)
        case ClearCaseContract(contract_hash):
            if state.contract_hash != contract_hash or contract_hash == ZERO:
                raise PropertyError(unit, "ContractMismatch", filed=state.contract_hash, given=contract_hash)
            return replace(state, contract_hash=ZERO), Kind.CONTRACT_CLEARED
        case Transfer():
            return _transfer(state, change, at), Kind.TRANSFERRED
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
        case ConsentMortgage(bank, rank) | ConsentMortgageForCase(bank, rank):
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
            body = b"".join(o.commitment + abi_word(o.share) for o in owners)
            return abi_word(0x40) + leaf + abi_word(len(owners)) + body
        case UpdateCertificate(leaf):
            return leaf
        case FileContract(contract_hash) | FileCaseContract(contract_hash, _) | ClearCaseContract(contract_hash):
            return contract_hash
        case Transfer(contract_hash, owners, leaf, rank):
            body = b"".join(o.commitment + abi_word(o.share) for o in owners)
            return contract_hash + abi_word(0x80) + leaf + abi_word(rank) + abi_word(len(owners)) + body
        case RecordPreNotice(holder, expires_at):
            return holder + abi_word(expires_at)
        case RecordMortgage(mortgagee, amount):
            assert before is not None
            return mortgagee + abi_word(amount) + abi_word(len(before.mortgages) + 1)
        case ConsentMortgage(bank, rank) | ReleaseMortgage(bank, rank) | ConsentMortgageForCase(bank, rank):
            return bank + abi_word(rank)
        case Seize(court, order_hash, duration):
            return court + order_hash + abi_word(duration)
        case ReleaseSeizure(court, order_hash):
            return court + order_hash
        case RecordObjection(applicant):
            return applicant + abi_word(at + OBJECTION_PERIOD)
        case RecordOwnerConsent(mask):
            return abi_word(mask)
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
        if state.cancelled and not isinstance(change, ClearCaseContract):
            raise PropertyError(state.unit, "TitleCancelled")
        after, kind = _step(state, change, at)
    data = change_data(state, change, at)
    return replace(after, head=chain_link(after.head, kind, data, at), changes=after.changes + 1,
                   updated_at=at)
