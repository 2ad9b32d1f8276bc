"""The unit mirror (ledger.domain.property_mirror) replays what transfer cases write to a title,
from the contract's own TitleChanged events on a real chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from ledger.domain.property import ZERO, Owner
from ledger.domain.property_mirror import MirroredUnit, TitleEvent, replay

from .case_helpers import ALICE, BOB, UNIT, WHOLE, CaseSetup
from .helpers import b32


@pytest.fixture
def s(chain: Any) -> CaseSetup:
    return CaseSetup.deploy(chain)


def mirrored(s: CaseSetup) -> MirroredUnit:
    """Replay every TitleChanged event of UNIT the register logged so far."""
    abi = s.register.abi
    logs = s.chain.gateway.get_logs(0, s.chain.gateway.head().number, addresses=[s.register.address],
                                    topic0=[abi.events["TitleChanged"].topic0])
    events = [e for e in abi.decode_logs(logs) if e.args["unit"] == UNIT]
    return replay(UNIT, [TitleEvent(e.args["kind"], e.args["data"], e.args["at"], e.args["head"])
                         for e in events])


def test_a_case_cancelled_after_its_title_was_cancelled_replays(s: CaseSetup) -> None:
    s.register_title(owners=(Owner(ALICE, WHOLE),))
    terms = s.terms()
    s.open(terms)
    s.register.tx(s["REGISTRY"], "cancelTitle", UNIT, keccak(text="demolished"))
    # The cancelled case clears its contract on the cancelled title (clearContractForCase).
    s.cases.tx(s["HOUSING"], "cancel", UNIT, terms.contract_hash)
    title = s.register.view("title", UNIT)
    assert title["cancelled"] is True and title["contractHash"] == ZERO

    unit = mirrored(s)
    assert unit.chain_valid
    assert unit.problem is None
    assert unit.state is not None and unit.state.head == title["head"]
    assert unit.state.cancelled and unit.state.contract_hash == ZERO
    assert unit.state.changes == title["changes"] == 5


def test_a_whole_case_with_a_paid_off_mortgage_replays(s: CaseSetup) -> None:
    s.register_title(owners=(Owner(ALICE, WHOLE),))
    s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKA"), 2_000_000 * 100)
    terms = s.terms(buyers=(Owner(BOB, WHOLE),))
    s.open(terms)
    s.cases.tx(s["BANKA"], "consentMortgage", UNIT, terms.contract_hash, 1, 1_000_000 * 100)
    assessment = s.assessment_of(s.assess(terms))
    s.fund(terms, assessment)
    s.settle(terms, assessment)

    unit = mirrored(s)
    assert unit.chain_valid and unit.problem is None
    assert unit.state is not None and unit.state.head == s.register.view("title", UNIT)["head"]
    assert unit.state.owners == (Owner(BOB, WHOLE),)
    assert [(m.consented, m.released) for m in unit.state.mortgages] == [(True, True)]
