"""The pure property model: unit keys, registration rules, seizure promotion, guard order."""

from __future__ import annotations

import pytest
from eth_hash.auto import keccak

from ledger.domain.errors import InvalidUnitNumber, PropertyError, TransferRefused
from ledger.domain.property import (
    OBJECTION_PERIOD,
    Guard,
    Owner,
    RecordMortgage,
    RecordObjection,
    Register,
    ReleaseSeizure,
    Seize,
    active_seizure,
    apply,
    chain_link,
    check_transferable,
    guards,
    unit_key,
)

UNIT = unit_key("320684413219GB00029F00010002")
A, B = keccak(b"a"), keccak(b"b")
COURT1, COURT2 = b"C1".ljust(32, b"\0"), b"C2".ljust(32, b"\0")


def test_unit_key_validates_the_unit_number() -> None:
    assert keccak(b"320684413219GB00029F00010002") == UNIT
    for bad in ("320684413219GB00029F0001000", "320684413219GB00029X00010002", "", "3206844132"):
        with pytest.raises(InvalidUnitNumber):
            unit_key(bad)


def test_registration_rules_and_first_link() -> None:
    with pytest.raises(PropertyError) as info:
        apply(None, Register(UNIT, (Owner(A, 500_000), Owner(B, 499_999)), A), 10)
    assert (info.value.rule, info.value.fields) == ("InvalidShares", {"total": 999_999})
    state = apply(None, Register(UNIT, (Owner(A, 500_000), Owner(B, 500_000)), A), 10)
    data = (0x40).to_bytes(32, "big") + A + (2).to_bytes(32, "big") + b"".join(
        c + (500_000).to_bytes(32, "big") for c in (A, B))
    assert state.head == chain_link(UNIT, 1, data, 10) == keccak(
        UNIT + (1).to_bytes(32, "big") + keccak(data) + (10).to_bytes(32, "big"))
    with pytest.raises(PropertyError, match="TitleExists"):
        apply(state, Register(UNIT, state.owners, A), 11)


def test_waiting_seizures_promote_in_order() -> None:
    state = apply(None, Register(UNIT, (Owner(A, 1_000_000),), A), 0)
    state = apply(state, Seize(COURT1, A, 100), 10)
    state = apply(state, Seize(COURT2, B, 50), 20)
    assert active_seizure(state, 109) is not None and active_seizure(state, 109).court == COURT1
    second = active_seizure(state, 110)
    assert second is not None and (second.court, second.start) == (COURT2, 110)
    assert active_seizure(state, 160) is None
    released = apply(state, ReleaseSeizure(COURT1, A), 30)
    promoted = active_seizure(released, 30)
    assert promoted is not None and (promoted.court, promoted.start) == (COURT2, 30)
    with pytest.raises(TransferRefused, match="UnitSeized"):
        apply(state, RecordMortgage(A, 1), 40)


def test_guards_and_their_order() -> None:
    state = apply(None, Register(UNIT, (Owner(A, 1_000_000),), A), 0)
    state = apply(state, RecordObjection(B), 5)
    state = apply(state, RecordMortgage(COURT1, 7), 6)
    assert guards(state, B, 6) == Guard.OBJECTION | Guard.MORTGAGE | Guard.OWNER_CONSENT
    with pytest.raises(TransferRefused) as info:
        check_transferable(state, B, 6)
    assert info.value.rule == "UnderObjection" and info.value.code == "transfer_refused"
    assert guards(state, B, 5 + OBJECTION_PERIOD) == Guard.MORTGAGE | Guard.OWNER_CONSENT
