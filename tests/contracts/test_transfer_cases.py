"""TransferCases on both chains: a whole case pays everyone to the fen in one settlement
transaction, every guard holds in the contract, every step refuses every wrong department,
cancelling and expiring refund the buyer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eth_utils import keccak

from ledger.domain.cases import CaseState, case_id, payout
from ledger.domain.property import Kind, Owner
from node.chain.errors import CallReverted

from .case_helpers import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DAY,
    SELLER_ACCOUNT,
    TITLE_TYPE,
    UNIT,
    WHOLE,
    CaseSetup,
    vouchers,
)
from .helpers import REVOKED, SUSPENDED, MerkleTree, addr, b32


@pytest.fixture
def s(chain: Any) -> CaseSetup:
    return CaseSetup.deploy(chain)


def test_a_whole_case_pays_everyone_and_moves_the_title(s: CaseSetup) -> None:
    s.register_title(owners=(Owner(ALICE, 600_000), Owner(CAROL, 400_000)))
    terms = s.terms(buyers=(Owner(BOB, 500_000), Owner(DAVE, 500_000)))
    buyer_before, supply = s.balance(s.buyer), s.token.view("totalSupply")
    assessment, receipts = s.run_case(terms)

    expected = s.expected_assessment(terms)
    assert (assessment["taxFen"], assessment["feeFen"], assessment["dueFen"]) == (
        expected.tax_fen, expected.fee_fen, expected.due_fen)
    # DOMAIN.md's worked example: taxes 145,631.07 + 8,737.86 + 48,543.69 + 48,543.69, fee 80.00.
    assert expected.tax_fen == 25_145_631
    assert expected.fee_fen == 8_000
    assert expected.due_fen == 500_000_000 + 4_854_369 + 8_000
    split = payout(expected)
    assert s.balance(s.buyer) == buyer_before - expected.due_fen
    assert s.balance(s["TAX"]) == split.treasury
    assert s.balance(s["REGISTRY"]) == split.registry
    assert s.balance(SELLER_ACCOUNT) == split.seller == 500_000_000 - 14_563_107 - 873_786 - 4_854_369
    assert s.balance(addr(s.chain.accounts[0])) == 0
    assert s.balance(s.cases.address) == 0
    assert s.token.view("totalSupply") == supply

    owners = s.register.view("owners", UNIT)
    assert [(o["commitment"], o["share"]) for o in owners] == [(BOB, 500_000), (DAVE, 500_000)]
    title = s.register.view("title", UNIT)
    certificate = keccak(text=f"title-certificate|{terms.contract_hash.hex()}")
    assert title["certificateLeaf"] == certificate
    assert title["contractHash"] == bytes(32) and title["ownerConsentMask"] == 0
    # The settlement anchored the new certificate as REGISTRY's own one-leaf batch.
    batch = s.directory.view("batch", certificate)
    assert batch["issuer"] == b32("REGISTRY") and batch["count"] == 1
    assert batch["licenceTypeHash"] == keccak(TITLE_TYPE)[:16]

    case = s.case(terms)
    assert case["state"] == CaseState.SETTLED and case["escrowFen"] == 0
    settled = [e for e in s.case_events(receipts[-1]) if e.name == "CaseSettled"]
    assert settled[0].args["sellerFen"] == split.seller
    kinds = [e.args["kind"] for e in s.register.events(receipts[-1]) if e.name == "TitleChanged"]
    assert kinds == [Kind.TRANSFERRED]


def test_transfer_with_mortgage_pays_the_bank_and_releases_only_its_mortgage(s: CaseSetup) -> None:
    s.register_title()
    s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKA"), 2_000_000 * 100)
    s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKB"), 300_000 * 100)
    terms = s.terms()
    s.open(terms)
    payoff = 1_234_567_89
    s.cases.tx(s["BANKA"], "consentMortgage", UNIT, terms.contract_hash, 1, payoff)
    # BANKB consents without payoff: its mortgage follows the property (Civil Code §406).
    s.cases.tx(s["BANKB"], "consentMortgage", UNIT, terms.contract_hash, 2, 0)
    with s.cases.reverts("TransferCasesPayoffExists"):
        s.cases.tx(s["BANKB"], "consentMortgage", UNIT, terms.contract_hash, 2, 1)
    assessment = s.assessment_of(s.assess(terms))
    expected = s.expected_assessment(terms, payoff)
    assert assessment["dueFen"] == expected.due_fen
    s.fund(terms, assessment)
    s.settle(terms, assessment)
    split = payout(expected, payoff)
    assert s.balance(s["BANKA"]) == payoff
    assert s.balance(SELLER_ACCOUNT) == split.seller
    assert s.register.view("mortgage", UNIT, 1)["released"] is True
    second = s.register.view("mortgage", UNIT, 2)
    assert second["released"] is False and second["consented"] is True
    assert s.register.view("title", UNIT)["activeMortgages"] == 1


def test_a_payoff_larger_than_the_price_is_refused_at_assessment(s: CaseSetup) -> None:
    s.register_title()
    s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKA"), 10**10)
    terms = s.terms()
    s.open(terms)
    s.cases.tx(s["BANKA"], "consentMortgage", UNIT, terms.contract_hash, 1, terms.facts.price)
    with s.cases.reverts("TransferCasesProceedsShort", caseId=case_id(UNIT, terms.contract_hash)):
        s.assess(terms)


@pytest.mark.parametrize("guard", ["seized", "objection", "pre_notice", "mortgage", "owner_consent"])
def test_settlement_refuses_while_a_guard_is_up_and_names_it(s: CaseSetup, guard: str) -> None:
    s.register_title(consent=guard != "owner_consent")
    terms = s.terms()
    if guard == "mortgage":
        s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKA"), 100)
    s.open(terms)
    assessment = s.assessment_of(s.assess(terms))
    s.fund(terms, assessment)
    expected = {"seized": "PropertyRegistryUnitSeized", "objection": "PropertyRegistryUnderObjection",
                "pre_notice": "PropertyRegistryPreNoticeHeld", "mortgage": "PropertyRegistryMortgageNotReleased",
                "owner_consent": "PropertyRegistryOwnerNotConsented"}[guard]
    if guard == "seized":
        s.register.tx(s["COURT"], "seize", UNIT, keccak(text="order"), 30 * DAY)
    elif guard == "objection":
        s.register.tx(s["REGISTRY"], "recordObjection", UNIT, CAROL)
    elif guard == "pre_notice":
        s.register.tx(s["REGISTRY"], "recordPreNotice", UNIT, CAROL, s.now() + 10 * DAY)
    before = s.balance(s.buyer), s.register.view("title", UNIT)["head"]
    with s.register.reverts(expected):
        s.settle(terms, assessment)
    assert (s.balance(s.buyer), s.register.view("title", UNIT)["head"]) == before
    assert s.case(terms)["state"] == CaseState.FUNDED
    # Lift the guard and the same case settles.
    if guard == "seized":
        s.register.tx(s["COURT"], "releaseSeizure", UNIT, keccak(text="order"))
    elif guard == "objection":
        s.register.tx(s["REGISTRY"], "clearObjection", UNIT)
    elif guard == "pre_notice":
        s.register.tx(s["REGISTRY"], "consentPreNotice", UNIT)
    elif guard == "mortgage":
        s.register.tx(s["BANKA"], "releaseMortgage", UNIT, 1)
    else:
        s.register.tx(s["REGISTRY"], "recordOwnerConsent", UNIT, 1)
    s.settle(terms, assessment)
    assert s.case(terms)["state"] == CaseState.SETTLED


def test_a_case_cannot_even_open_on_a_seized_unit_or_under_a_foreign_pre_notice(s: CaseSetup) -> None:
    s.register_title()
    s.register.tx(s["COURT"], "seize", UNIT, keccak(text="order"), 30 * DAY)
    with s.register.reverts("PropertyRegistryUnitSeized"):
        s.open(s.terms())
    s.register.tx(s["COURT"], "releaseSeizure", UNIT, keccak(text="order"))
    s.register.tx(s["REGISTRY"], "recordPreNotice", UNIT, CAROL, s.now() + 10 * DAY)
    with s.register.reverts("PropertyRegistryPreNoticeHeld", holder=CAROL):
        s.open(s.terms())
    # The pre-notice holder is the buyer: the case opens and the transfer clears the pre-notice.
    terms = s.terms(buyers=(Owner(CAROL, WHOLE),))
    s.run_case(terms)
    assert s.register.view("preNotice", UNIT)[0] == bytes(32)
    assert [o["commitment"] for o in s.register.view("owners", UNIT)] == [CAROL]


def test_a_filed_contract_blocks_a_second_case(s: CaseSetup) -> None:
    s.register_title()
    s.open(s.terms("contract-1"))
    with s.register.reverts("PropertyRegistryContractAlreadyFiled"):
        s.open(s.terms("contract-2"))
    with s.cases.reverts("TransferCasesCaseExists"):
        s.open(s.terms("contract-1"))


def test_cancel_and_expiry_refund_the_buyer_and_clear_the_contract(s: CaseSetup) -> None:
    s.register_title()
    start = s.balance(s.buyer)
    terms = s.terms("contract-1")
    s.open(terms)
    assessment = s.assessment_of(s.assess(terms))
    s.fund(terms, assessment)
    assert s.balance(s.buyer) == start - assessment["dueFen"]
    with s.cases.reverts("TransferCasesMissingRole"):
        s.cases.tx(s["TAX"], "cancel", UNIT, terms.contract_hash)
    s.cases.tx(s["HOUSING"], "cancel", UNIT, terms.contract_hash)
    assert s.balance(s.buyer) == start and s.balance(s.cases.address) == 0
    assert s.case(terms)["state"] == CaseState.CANCELLED
    assert s.register.view("title", UNIT)["contractHash"] == bytes(32)
    with s.cases.reverts("TransferCasesWrongState", state=CaseState.CANCELLED):
        s.settle(terms, assessment)

    late = s.terms("contract-2", deadline_days=2)
    s.open(late)
    assessment = s.assessment_of(s.assess(late, name="late"))
    s.fund(late, assessment)
    with s.cases.reverts("TransferCasesDeadlineNotPassed"):
        s.cases.tx(s.buyer, "expire", UNIT, late.contract_hash)
    s.chain.set_next_block_timestamp(late.deadline + 1)
    s.chain.mine()
    with s.cases.reverts("TransferCasesDeadlinePassed"):
        s.settle(late, assessment, name="late")
    s.cases.tx(s.buyer, "expire", UNIT, late.contract_hash)  # anyone may close an expired case
    assert s.balance(s.buyer) == start
    assert s.case(late)["state"] == CaseState.EXPIRED
    assert [o["commitment"] for o in s.register.view("owners", UNIT)] == [ALICE]


def test_altered_terms_or_assessment_are_refused(s: CaseSetup) -> None:
    s.register_title()
    terms = s.terms()
    s.open(terms)
    forged = replace(terms, facts=replace(terms.facts, price=100 * 100), buyers=(Owner(DAVE, WHOLE),))
    with s.cases.reverts("TransferCasesDigestMismatch"):
        s.assess(forged)
    assessment = s.assessment_of(s.assess(terms))
    with s.cases.reverts("TransferCasesDigestMismatch"):
        s.fund(terms, {**assessment, "dueFen": 1})
    s.fund(terms, assessment)
    with s.cases.reverts("TransferCasesDigestMismatch"):
        s.settle(forged, assessment)
    with s.cases.reverts("TransferCasesDigestMismatch"):
        s.settle(terms, {**assessment, "taxFen": 0})


@pytest.mark.parametrize("status", [SUSPENDED, REVOKED])
def test_settlement_checks_the_deed_tax_voucher(s: CaseSetup, status: int) -> None:
    s.register_title()
    terms = s.terms()
    s.open(terms)
    assessment = s.assessment_of(s.assess(terms))
    s.fund(terms, assessment)
    with s.cases.reverts("TransferCasesVoucherNotInCase"):
        s.settle(terms, assessment, name="another-case")
    # TAX withdraws the deed-tax voucher (a re-assessment, a forged declaration).
    leaves = vouchers("case")
    tree = MerkleTree(leaves)
    digest = keccak(text="voucher|case|1")  # the voucher's document digest: leaf = keccak(digest)
    assert keccak(digest) == leaves[1]
    fn = "suspend" if status == SUSPENDED else "revoke"
    s.directory.tx(s["TAX"], fn, digest, tree.root, tree.proof(1), 1)
    with s.cases.reverts("TransferCasesVoucherNotValid", leaf=leaves[1], status=status):
        s.settle(terms, assessment)


def test_every_step_refuses_every_wrong_department(s: CaseSetup) -> None:
    s.register_title()
    s.register.tx(s["REGISTRY"], "recordMortgage", UNIT, b32("BANKA"), 100)
    terms = s.terms()
    departments = ["REGISTRY", "HOUSING", "TAX", "BANKA", "COURT", "MARKET"]
    holder: dict[str, Any] = {}

    def settle(who: str) -> Any:
        return s.settle(terms, holder["assessment"], by=who)

    def assess(who: str) -> Any:
        receipt = s.assess(terms, by=who)
        holder["assessment"] = s.assessment_of(receipt)
        s.fund(terms, holder["assessment"])
        return receipt

    steps: list[tuple[set[str], Any]] = [
        ({"HOUSING"}, lambda who: s.open(terms, by=who)),
        ({"BANKA"}, lambda who: s.cases.tx(s[who], "consentMortgage", UNIT, terms.contract_hash, 1, 0)),
        ({"TAX"}, assess),
        ({"REGISTRY"}, settle),
    ]
    refused = 0
    for allowed, act in steps:
        for who in departments:
            if who in allowed:
                continue
            with pytest.raises(CallReverted) as info:
                act(who)
            name, _ = s.cases.abi.decode_error(info.value.data)
            assert name == "TransferCasesMissingRole", (who, name)
            refused += 1
        act(next(iter(allowed)))
    assert refused == 4 * 5
    assert s.case(terms)["state"] == CaseState.SETTLED
    # Only HOUSING and REGISTRY cancel; a bank that is not the mortgagee is refused by the register.
    other = s.terms("contract-2")
    s.register.tx(s["REGISTRY"], "recordOwnerConsent", UNIT, 1)
    s.open(other)
    for who in ("TAX", "BANKA", "COURT", "MARKET"):
        with s.cases.reverts("TransferCasesMissingRole"):
            s.cases.tx(s[who], "cancel", UNIT, other.contract_hash)
    with s.register.reverts("PropertyRegistryNotMortgagee"):
        s.cases.tx(s["BANKB"], "consentMortgage", UNIT, other.contract_hash, 1, 0)
    s.cases.tx(s["REGISTRY"], "cancel", UNIT, other.contract_hash)
