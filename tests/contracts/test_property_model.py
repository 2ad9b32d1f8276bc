"""The Python model of a unit (ledger.domain.property) against PropertyRegistry, step by step."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from ledger.domain.property import (
    Cancel,
    ClearContract,
    ClearObjection,
    ClearPreNotice,
    ConsentMortgage,
    ConsentPreNotice,
    FileContract,
    FileObjectionSuit,
    Owner,
    RecordMortgage,
    RecordObjection,
    RecordOwnerConsent,
    RecordPreNotice,
    Register,
    ReleaseMortgage,
    ReleaseSeizure,
    Seize,
    UpdateCertificate,
)

from .helpers import b32
from .property_helpers import ALICE, BOB, CAROL, DAY, LEAF, UNIT, PropertySetup
from .property_twin import Twin

BANKS = (b32("BANKA"), b32("BANKB"))
COURTS = (b32("COURTA"), b32("COURTB"), b32("COURTC"))
ORDERS = tuple(keccak(text=f"order-{i}") for i in range(4))
PEOPLE = (ALICE, BOB, CAROL)


def test_model_follows_the_contract_on_a_scripted_sequence(property_setup: PropertySetup) -> None:
    twin = Twin(property_setup)
    owners = (Owner(ALICE, 500_000), Owner(BOB, 300_000), Owner(CAROL, 200_000))
    steps = [
        (Register(UNIT, (Owner(ALICE, 1), Owner(BOB, 2)), LEAF), "InvalidShares"),
        (Register(UNIT, owners, LEAF), "ok"),
        (Register(UNIT, owners, LEAF), "TitleExists"),
        (FileContract(keccak(text="c1")), "ok"),
        (FileContract(keccak(text="c2")), "ContractAlreadyFiled"),
        (RecordMortgage(BANKS[0], 100_000_00), "ok"),
        (RecordMortgage(BANKS[1], 20_000_00), "ok"),
        (ReleaseMortgage(BANKS[1], 1), "NotMortgagee"),
        (Seize(COURTS[0], ORDERS[0], 10 * DAY), "ok"),
        (Seize(COURTS[1], ORDERS[1], 20 * DAY), "ok"),
        (Seize(COURTS[2], ORDERS[2], 30 * DAY), "ok"),
        (RecordMortgage(BANKS[0], 1), "UnitSeized"),
        (ReleaseSeizure(COURTS[1], ORDERS[0]), "NotSeizingCourt"),
        (ReleaseSeizure(COURTS[0], ORDERS[0]), "ok"),
        (RecordPreNotice(CAROL, 0), "InvalidExpiry"),
        (RecordObjection(BOB), "ok"),
        (ConsentMortgage(BANKS[1], 2), "ok"),
        (RecordOwnerConsent(0b101), "ok"),
        (RecordOwnerConsent(0b1000), "InvalidOwnerMask"),
        (Cancel(keccak(text="x")), "UnitSeized"),
    ]
    for change, rule_name in steps:
        assert twin.do(change) == rule_name, (change, twin.applied)
        if twin.state is not None:
            twin.check(PEOPLE)
    twin.wait(16 * DAY)  # the objection lapsed; B (20 days from A's release) still runs
    twin.check(PEOPLE)
    assert twin.do(ClearObjection()) == "NoObjection"
    assert twin.do(Cancel(keccak(text="x"))) == "UnitSeized"
    twin.wait(10 * DAY)  # B ended on day 20 and C took over from then
    twin.check(PEOPLE)
    assert twin.state is not None and twin.state.seizures[2].start == 0
    twin.wait(30 * DAY)  # C ended on day 50
    assert twin.do(ReleaseMortgage(BANKS[0], 1)) == "ok"
    assert twin.do(ReleaseMortgage(BANKS[1], 2)) == "ok"
    assert twin.do(Cancel(keccak(text="x"))) == "ok"
    assert twin.do(UpdateCertificate(LEAF)) == "TitleCancelled"
    twin.check(PEOPLE)


class PropertyMachine(RuleBasedStateMachine):
    """Random operations on one unit; the model and the contract must agree after each."""

    def __init__(self, setup: PropertySetup) -> None:
        super().__init__()
        self.setup = setup
        self.snapshot = setup.chain.snapshot()
        self.twin = Twin(setup)

    @initialize(shares=st.lists(st.integers(1, 1000), min_size=1, max_size=3))
    def register(self, shares: list[int]) -> None:
        total = sum(shares)
        parts = [s * 1_000_000 // total for s in shares]
        parts[0] += 1_000_000 - sum(parts)
        owners = tuple(Owner(p, s) for p, s in zip(PEOPLE, parts, strict=False))
        assert self.twin.do(Register(UNIT, owners, LEAF)) == "ok"

    @rule(bank=st.sampled_from(BANKS), amount=st.integers(0, 10**12))
    def mortgage(self, bank: bytes, amount: int) -> None:
        self.twin.do(RecordMortgage(bank, amount))

    @rule(bank=st.sampled_from(BANKS), rank=st.integers(1, 3), consent=st.booleans())
    def release_or_consent_mortgage(self, bank: bytes, rank: int, consent: bool) -> None:
        self.twin.do(ConsentMortgage(bank, rank) if consent else ReleaseMortgage(bank, rank))

    @rule(court=st.sampled_from(COURTS), order=st.sampled_from(ORDERS),
          duration=st.sampled_from([DAY, 10 * DAY, 3 * 365 * DAY, 3 * 365 * DAY + 1]))
    def seize(self, court: bytes, order: bytes, duration: int) -> None:
        self.twin.do(Seize(court, order, duration))

    @rule(court=st.sampled_from(COURTS), order=st.sampled_from(ORDERS))
    def release_seizure(self, court: bytes, order: bytes) -> None:
        self.twin.do(ReleaseSeizure(court, order))

    @rule(holder=st.sampled_from(PEOPLE), days=st.integers(-1, 60), op=st.sampled_from("rcx"))
    def pre_notice(self, holder: bytes, days: int, op: str) -> None:
        change = {"r": RecordPreNotice(holder, self.setup.now() + 1 + days * DAY),
                  "c": ConsentPreNotice(), "x": ClearPreNotice()}[op]
        self.twin.do(change)

    @rule(applicant=st.sampled_from(PEOPLE), op=st.sampled_from("rsx"))
    def objection(self, applicant: bytes, op: str) -> None:
        change = {"r": RecordObjection(applicant), "s": FileObjectionSuit(keccak(text="suit")),
                  "x": ClearObjection()}[op]
        self.twin.do(change)

    @rule(mask=st.integers(0, 15))
    def owner_consent(self, mask: int) -> None:
        self.twin.do(RecordOwnerConsent(mask))

    @rule(filed=st.booleans())
    def contract(self, filed: bool) -> None:
        self.twin.do(FileContract(keccak(text="c")) if filed else ClearContract())

    @rule(roll=st.integers(0, 9))
    def cancel(self, roll: int) -> None:
        if roll == 0:  # rarely: a cancelled title takes no further change
            self.twin.do(Cancel(keccak(text="reason")))

    @rule(seconds=st.sampled_from([1, DAY, 15 * DAY, 365 * DAY]))
    def wait(self, seconds: int) -> None:
        self.twin.wait(seconds)

    @invariant()
    def model_and_contract_agree(self) -> None:
        if self.twin.state is not None:
            self.twin.check(PEOPLE)

    def teardown(self) -> None:
        self.setup.chain.revert(self.snapshot)


def test_state_machine(property_setup: PropertySetup, chain: Any) -> None:
    examples = 12 if chain.backend == "anvil" else 4
    run_state_machine_as_test(
        lambda: PropertyMachine(property_setup),
        settings=settings(max_examples=examples, stateful_step_count=20, deadline=None,
                          derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck)),
    )
