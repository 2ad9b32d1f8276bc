"""Tests for licence status transitions and ``status_at``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import (
    InvalidStatusTransition,
    StatusHistoryOutOfOrder,
    UnknownReasonCode,
)
from ledger.domain.status import (
    ALLOWED_TRANSITIONS,
    REASON_CODES,
    LicenceStatus,
    StatusEntry,
    append_status,
    check_transition,
    current_status,
    status_at,
)

ACTIVE, SUSPENDED, REVOKED = LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED, LicenceStatus.REVOKED


def test_status_values_are_the_contract_codes() -> None:
    assert [int(s) for s in (ACTIVE, SUSPENDED, REVOKED)] == [0, 1, 2]


def test_reason_table() -> None:
    names = {code: row.name for code, row in REASON_CODES.items()}
    assert names == {
        0: "none",
        1: "issued_in_error",
        2: "holder_request",
        3: "superseded",
        4: "court_order",
        5: "fraud",
        6: "key_compromise",
    }
    with pytest.raises(TypeError):
        REASON_CODES[7] = REASON_CODES[1]  # type: ignore[index]


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (ACTIVE, SUSPENDED, 4),
        (ACTIVE, REVOKED, 1),
        (ACTIVE, REVOKED, 3),
        (SUSPENDED, ACTIVE, 0),
        (SUSPENDED, ACTIVE, 4),
        (SUSPENDED, REVOKED, 5),
    ],
)
def test_allowed_transitions(current: LicenceStatus, target: LicenceStatus, reason: int) -> None:
    check_transition(current, target, reason)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (ACTIVE, ACTIVE),
        (SUSPENDED, SUSPENDED),
        (REVOKED, ACTIVE),
        (REVOKED, SUSPENDED),
        (REVOKED, REVOKED),
    ],
)
def test_forbidden_transitions(current: LicenceStatus, target: LicenceStatus) -> None:
    with pytest.raises(InvalidStatusTransition) as info:
        check_transition(current, target, 2)
    assert info.value.code == "invalid_status_transition"
    assert (info.value.current, info.value.target) == (current.name.lower(), target.name.lower())


@pytest.mark.parametrize(
    ("target", "reason"),
    [(SUSPENDED, 0), (REVOKED, 0), (SUSPENDED, 3), (SUSPENDED, 99), (REVOKED, -1), (ACTIVE, 5)],
)
def test_reason_must_fit_the_change(target: LicenceStatus, reason: int) -> None:
    current = SUSPENDED if target is ACTIVE else ACTIVE
    with pytest.raises(UnknownReasonCode) as info:
        check_transition(current, target, reason)
    assert info.value.reason == reason


def test_history_is_append_only_and_ordered() -> None:
    history = append_status((), 100, SUSPENDED, 4)
    history2 = append_status(history, 200, ACTIVE, 4)
    assert history == (StatusEntry(100, SUSPENDED, 4),)
    assert current_status(history2) is ACTIVE
    with pytest.raises(StatusHistoryOutOfOrder) as info:
        append_status(history2, 150, REVOKED, 5)
    assert (info.value.previous_at, info.value.at) == (200, 150)
    revoked = append_status(history2, 200, REVOKED, 5)
    with pytest.raises(InvalidStatusTransition):
        append_status(revoked, 300, ACTIVE, 0)


def test_status_at() -> None:
    history = append_status((), 100, SUSPENDED, 4)
    history = append_status(history, 200, ACTIVE, 0)
    history = append_status(history, 300, REVOKED, 6)
    assert status_at((), 500) == StatusEntry(0, ACTIVE, 0)
    assert status_at(history, 99).status is ACTIVE
    assert status_at(history, 100) == StatusEntry(100, SUSPENDED, 4)
    assert status_at(history, 199).status is SUSPENDED
    assert status_at(history, 200) == StatusEntry(200, ACTIVE, 0)
    assert status_at(history, 299).status is ACTIVE
    assert status_at(history, 300) == StatusEntry(300, REVOKED, 6)
    assert status_at(history, 10**12).status is REVOKED


def test_same_second_entries_apply_in_order() -> None:
    history = append_status((), 100, SUSPENDED, 5)
    history = append_status(history, 100, REVOKED, 5)
    assert status_at(history, 100).status is REVOKED
    assert status_at(history, 99).status is ACTIVE


actions = st.lists(
    st.tuples(st.integers(0, 50), st.sampled_from(list(LicenceStatus)), st.sampled_from(sorted(REASON_CODES))),
    max_size=25,
)


@given(actions, st.integers(0, 2000))
def test_model_agrees_with_status_at(steps: list[tuple[int, LicenceStatus, int]], t: int) -> None:
    """Random operation sequences: accepted ones form a history that status_at reads back."""
    history: tuple[StatusEntry, ...] = ()
    now = 0
    timeline: list[tuple[int, LicenceStatus]] = []
    for gap, target, reason in steps:
        now += gap
        current = current_status(history)
        allowed = target in ALLOWED_TRANSITIONS[current] and target in REASON_CODES[reason].applies_to
        try:
            history = append_status(history, now, target, reason)
        except (InvalidStatusTransition, UnknownReasonCode):
            assert not allowed
            continue
        assert allowed
        timeline.append((now, target))
    expected = ACTIVE
    for at, status in timeline:
        if at <= t:
            expected = status
    assert status_at(history, t).status is expected
    if REVOKED in [s for _, s in timeline]:
        assert history[-1].status is REVOKED
