"""The unit mirror: events produced by the twin replay back into the very same state.

Random sequences of changes (Hypothesis) go through ``property.apply``; every accepted
change becomes the event the contract would log (``change_data``, time, head). Replaying
those events gives the twin's state exactly, with a valid chain; a tampered, dropped or
reordered event breaks the chain where it happened. (tests/contracts/property_twin.py
also replays the contract's own events after every step of its state machine.)
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.errors import PropertyError
from ledger.domain.property import (
    Cancel,
    Change,
    ClearCaseContract,
    ClearContract,
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
    UnitState,
    UpdateCertificate,
    apply,
    chain_link,
    change_data,
    seizure_queue,
    unit_key,
)
from ledger.domain.property_mirror import TitleEvent, decode_change, replay

UNIT = unit_key("320684413219GB00029F00010002")
DAY = 86_400
T0 = 1_767_225_600  # 2026-01-01
BANKS = tuple(f"BANK{c}".encode().ljust(32, b"\0") for c in "AB")
COURTS = tuple(f"COURT{c}".encode().ljust(32, b"\0") for c in "ABC")
ORDERS = tuple(keccak(text=f"order-{i}") for i in range(3))
PEOPLE = tuple(keccak(text=p) for p in ("alice", "bob", "carol"))

changes = st.one_of(
    st.builds(UpdateCertificate, st.sampled_from(PEOPLE)),
    st.builds(FileContract, st.sampled_from(ORDERS)),
    st.just(ClearContract()),
    st.builds(ClearCaseContract, st.sampled_from(ORDERS)),
    st.builds(RecordPreNotice, st.sampled_from(PEOPLE), st.integers(T0 - DAY, T0 + 400 * DAY)),
    st.just(ConsentPreNotice()),
    st.just(ClearPreNotice()),
    st.builds(RecordMortgage, st.sampled_from(BANKS), st.integers(0, 10**12)),
    st.builds(ConsentMortgage, st.sampled_from(BANKS), st.integers(1, 3)),
    st.builds(ReleaseMortgage, st.sampled_from(BANKS), st.integers(1, 3)),
    st.builds(Seize, st.sampled_from(COURTS), st.sampled_from(ORDERS),
              st.sampled_from([DAY, 10 * DAY, 3 * 365 * DAY])),
    st.builds(ReleaseSeizure, st.sampled_from(COURTS), st.sampled_from(ORDERS)),
    st.builds(RecordObjection, st.sampled_from(PEOPLE)),
    st.builds(FileObjectionSuit, st.sampled_from(ORDERS)),
    st.just(ClearObjection()),
    st.builds(RecordOwnerConsent, st.integers(0, 7)),
    st.builds(Cancel, st.sampled_from(ORDERS)),
)


def run(steps: list[tuple[Change, int]]) -> tuple[UnitState, list[TitleEvent]]:
    """Apply a registration and then ``steps`` (change, seconds later); return state and events."""
    register = Register(UNIT, (Owner(PEOPLE[0], 500_000), Owner(PEOPLE[1], 300_000),
                               Owner(PEOPLE[2], 200_000)), keccak(text="leaf"))
    state, at = apply(None, register, T0), T0
    events = [TitleEvent(Kind.REGISTERED, change_data(None, register, at), at, state.head)]
    for change, later in steps:
        at += later
        try:
            after = apply(state, change, at)
        except PropertyError:
            continue
        kind = _KINDS[type(change)]
        events.append(TitleEvent(kind, change_data(state, change, at), at, after.head))
        state = after
    return state, events


_KINDS = {UpdateCertificate: Kind.CERTIFICATE_UPDATED, FileContract: Kind.CONTRACT_FILED,
          ClearContract: Kind.CONTRACT_CLEARED, ClearCaseContract: Kind.CONTRACT_CLEARED,
          RecordPreNotice: Kind.PRE_NOTICE_RECORDED,
          ConsentPreNotice: Kind.PRE_NOTICE_CONSENTED, ClearPreNotice: Kind.PRE_NOTICE_CLEARED,
          RecordMortgage: Kind.MORTGAGE_RECORDED, ConsentMortgage: Kind.MORTGAGE_CONSENTED,
          ReleaseMortgage: Kind.MORTGAGE_RELEASED, Seize: Kind.SEIZURE_RECORDED,
          ReleaseSeizure: Kind.SEIZURE_RELEASED, RecordObjection: Kind.OBJECTION_RECORDED,
          FileObjectionSuit: Kind.OBJECTION_SUIT_FILED, ClearObjection: Kind.OBJECTION_CLEARED,
          RecordOwnerConsent: Kind.OWNERS_CONSENTED, Cancel: Kind.CANCELLED}


steps = st.lists(st.tuples(changes, st.sampled_from([1, 60, DAY, 16 * DAY, 400 * DAY])), max_size=30)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(steps)
def test_replaying_the_events_gives_the_twins_state(sequence: list[tuple[Change, int]]) -> None:
    state, events = run(sequence)
    mirrored = replay(UNIT, events)
    assert mirrored.problem is None
    assert mirrored.chain_valid and len(mirrored.links) == state.changes
    assert mirrored.state == state


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(steps, st.data())
def test_a_tampered_event_breaks_the_chain_there(sequence: list[tuple[Change, int]],
                                                 data: st.DataObject) -> None:
    _, events = run(sequence)
    i = data.draw(st.integers(0, len(events) - 1))
    tampered = list(events)
    tampered[i] = replace(events[i], at=events[i].at + 1)
    mirrored = replay(UNIT, tampered)
    assert not mirrored.chain_valid
    assert [link.valid for link in mirrored.links] == [n != i for n in range(len(events))]
    assert mirrored.problem is not None and f"change {i + 1} " in mirrored.problem


def test_a_dropped_event_breaks_the_chain_and_the_mirror_stops_there() -> None:
    _, events = run([(RecordMortgage(BANKS[0], 100), 1), (FileContract(ORDERS[0]), 1),
                     (RecordOwnerConsent(1), 1)])
    mirrored = replay(UNIT, [events[0], *events[2:]])
    assert [link.valid for link in mirrored.links] == [True, False, True]
    assert mirrored.problem is not None and "change 2 (contract_filed)" in mirrored.problem
    assert mirrored.state is not None and mirrored.state.changes == 1
    assert not replay(UNIT, []).chain_valid and replay(UNIT, []).state is None


@pytest.mark.parametrize("change", [
    UpdateCertificate(PEOPLE[0]), FileContract(ORDERS[0]), RecordPreNotice(PEOPLE[1], T0 + DAY),
    RecordMortgage(BANKS[0], 12_345), ConsentMortgage(BANKS[0], 2), ReleaseMortgage(BANKS[1], 1),
    Seize(COURTS[0], ORDERS[1], 10 * DAY), ReleaseSeizure(COURTS[2], ORDERS[0]),
    RecordObjection(PEOPLE[2]), RecordOwnerConsent(0b101), Cancel(ORDERS[2]), ClearCaseContract(ORDERS[0]),
])
def test_decode_inverts_change_data(change: Change) -> None:
    state, _ = run([])
    data = change_data(state, change, T0 + 1)
    assert decode_change(UNIT, _KINDS[type(change)], data) == change


def test_a_case_clearing_its_contract_on_a_cancelled_title_replays() -> None:
    # A closing case clears its contract even on a cancelled title; HOUSING's clear could not.
    state, events = run([(FileContract(ORDERS[0]), 1), (Cancel(ORDERS[1]), 1),
                         (ClearContract(), 1), (ClearCaseContract(ORDERS[0]), 1)])
    assert [e.kind for e in events[1:]] == [Kind.CONTRACT_FILED, Kind.CANCELLED, Kind.CONTRACT_CLEARED]
    mirrored = replay(UNIT, events)
    assert mirrored.problem is None and mirrored.chain_valid and mirrored.state == state
    assert state.cancelled and state.contract_hash == bytes(32)


def test_a_cleared_contract_that_was_not_the_filed_one_is_a_problem() -> None:
    _, events = run([(FileContract(ORDERS[0]), 1)])
    at = events[-1].at + 1
    forged = TitleEvent(Kind.CONTRACT_CLEARED, ORDERS[1], at,
                        chain_link(events[-1].head, Kind.CONTRACT_CLEARED, ORDERS[1], at))
    mirrored = replay(UNIT, [*events, forged])
    assert mirrored.chain_valid
    assert mirrored.problem == "change 3 (contract_cleared): ContractMismatch"


def test_malformed_data_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(PropertyError) as info:
        decode_change(UNIT, Kind.MORTGAGE_RECORDED, bytes(64))
    assert info.value.rule == "MalformedChange"
    with pytest.raises(PropertyError) as info:
        decode_change(UNIT, 99, bytes(32))
    assert info.value.rule == "UnknownChangeKind"
    with pytest.raises(PropertyError):
        decode_change(UNIT, Kind.REGISTERED, bytes(96))  # offset must be 0x40


def test_seizure_queue_names_the_active_and_the_waiting_in_order() -> None:
    state, _ = run([(Seize(COURTS[0], ORDERS[0], 10 * DAY), 1), (Seize(COURTS[1], ORDERS[1], 10 * DAY), 1),
                    (Seize(COURTS[2], ORDERS[2], 10 * DAY), 1)])
    active, waiting = seizure_queue(state, T0 + 5)
    assert active is not None and active.order_hash == ORDERS[0]
    assert [s.order_hash for s in waiting] == [ORDERS[1], ORDERS[2]]
    active, waiting = seizure_queue(state, T0 + 1 + 10 * DAY)  # A's term ended: B runs
    assert active is not None and active.order_hash == ORDERS[1] and len(waiting) == 1
