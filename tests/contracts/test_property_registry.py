"""PropertyRegistry: registration, every flag, seizure queue, mortgages, guards, roles, hash chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from ledger.domain.property import SHARE_WHOLE, Guard, Kind, chain_link

from .helpers import BANK, COURT, HOUSING, REGISTRY, addr, b32
from .property_helpers import (
    ALICE,
    BOB,
    CAROL,
    DAY,
    LEAF,
    OTHER_UNIT,
    UNIT,
    PropertySetup,
    recompute_head,
)

YEAR3 = 3 * 365 * DAY
ORDER_A, ORDER_B, ORDER_C = (keccak(text=f"order-{c}") for c in "abc")


def test_register_title(property_setup: PropertySetup) -> None:
    s = property_setup
    receipt = s.register_title()
    (event,) = s.changes(receipt)
    assert event.args["kind"] == Kind.REGISTERED and event.args["unit"] == UNIT
    title = s.register.view("title", UNIT)
    assert title["certificateLeaf"] == LEAF and title["changes"] == 1 and not title["cancelled"]
    assert title["head"] == event.args["head"]
    owners = s.register.view("owners", UNIT)
    assert [(o["commitment"], o["share"]) for o in owners] == [(ALICE, 600_000), (BOB, 400_000)]
    assert s.register.view("guardsFor", UNIT, CAROL) == Guard.OWNER_CONSENT
    assert s.register.view("directory") == s.directory.address


@pytest.mark.parametrize(("owners", "error"), [
    ([(ALICE, 600_000), (BOB, 399_999)], "PropertyRegistryInvalidShares"),
    ([(ALICE, 600_000), (BOB, 400_001)], "PropertyRegistryInvalidShares"),
    ([(ALICE, SHARE_WHOLE), (BOB, 0)], "PropertyRegistryInvalidOwner"),
    ([(ALICE, 500_000), (ALICE, 500_000)], "PropertyRegistryInvalidOwner"),
    ([(bytes(32), SHARE_WHOLE)], "PropertyRegistryInvalidOwner"),
    ([], "PropertyRegistryInvalidOwner"),
    ([(keccak(i.to_bytes(2, "big")), 1) for i in range(33)], "PropertyRegistryInvalidOwner"),
])
def test_register_refuses_bad_owners(property_setup: PropertySetup, owners: list[Any],
                                     error: str) -> None:
    s = property_setup
    with s.register.reverts(error):
        s.register.tx(s.registrar, "registerTitle", UNIT, owners, LEAF)


def test_register_refuses_bad_unit_duplicate_and_zero_leaf(property_setup: PropertySetup) -> None:
    s = property_setup
    with s.register.reverts("PropertyRegistryInvalidUnit", unit=bytes(32)):
        s.register.tx(s.registrar, "registerTitle", bytes(32), [(ALICE, SHARE_WHOLE)], LEAF)
    with s.register.reverts("PropertyRegistryZeroValue"):
        s.register.tx(s.registrar, "registerTitle", UNIT, [(ALICE, SHARE_WHOLE)], bytes(32))
    s.register_title()
    with s.register.reverts("PropertyRegistryTitleExists", unit=UNIT):
        s.register_title()
    with s.register.reverts("PropertyRegistryUnknownTitle", unit=OTHER_UNIT):
        s.register.view("title", OTHER_UNIT)


def test_contract_filing_by_housing(property_setup: PropertySetup) -> None:
    s = property_setup
    s.register_title()
    contract_hash = keccak(text="contract-2026-001")
    s.register.tx(s.housing, "fileContract", UNIT, contract_hash)
    assert s.register.view("title", UNIT)["contractHash"] == contract_hash
    with s.register.reverts("PropertyRegistryContractAlreadyFiled", contractHash=contract_hash):
        s.register.tx(s.housing, "fileContract", UNIT, keccak(text="another"))
    s.register.tx(s.housing, "clearContract", UNIT)
    assert s.register.view("title", UNIT)["contractHash"] == bytes(32)
    with s.register.reverts("PropertyRegistryNoFiledContract"):
        s.register.tx(s.housing, "clearContract", UNIT)


def test_pre_notice_set_consent_clear_and_expiry(property_setup: PropertySetup, t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b11)
    with s.register.reverts("PropertyRegistryInvalidExpiry"):
        s.register.tx(s.registrar, "recordPreNotice", UNIT, CAROL, t0, at=t0 + 10)
    s.register.tx(s.registrar, "recordPreNotice", UNIT, CAROL, t0 + 90 * DAY, at=t0 + 20)
    assert s.register.view("preNotice", UNIT) == (CAROL, t0 + 90 * DAY, False, True)
    # The holder may take the title; anyone else is refused until the holder consents.
    assert s.register.view("guardsFor", UNIT, CAROL) == 0
    assert s.register.view("guardsFor", UNIT, ALICE) == Guard.PRE_NOTICE
    with s.register.reverts("PropertyRegistryPreNoticeHeld", holder=CAROL):
        s.register.view("checkTransferable", UNIT, ALICE)
    with s.register.reverts("PropertyRegistryPreNoticeExists", holder=CAROL):
        s.register.tx(s.registrar, "recordPreNotice", UNIT, ALICE, t0 + 100 * DAY)
    s.register.tx(s.registrar, "consentPreNotice", UNIT)
    s.register.view("checkTransferable", UNIT, ALICE)
    s.register.tx(s.registrar, "clearPreNotice", UNIT)
    assert s.register.view("preNotice", UNIT) == (bytes(32), 0, False, False)
    with s.register.reverts("PropertyRegistryNoPreNotice"):
        s.register.tx(s.registrar, "clearPreNotice", UNIT)
    # A lapsed pre-notice no longer blocks and can be replaced.
    s.register.tx(s.registrar, "recordPreNotice", UNIT, CAROL, t0 + 1000)
    s.chain.set_next_block_timestamp(t0 + 1000)
    s.chain.mine()
    assert s.register.view("guardsFor", UNIT, ALICE) == 0
    s.register.tx(s.registrar, "recordPreNotice", UNIT, BOB, t0 + 5000)


def test_objection_lapses_after_15_days_unless_suit_filed(property_setup: PropertySetup,
                                                          t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b11)
    s.register.tx(s.registrar, "recordObjection", UNIT, CAROL, at=t0 + 100)
    expires = t0 + 100 + 15 * DAY
    assert s.register.view("objection", UNIT) == (CAROL, expires, False, True)
    with s.register.reverts("PropertyRegistryUnderObjection", expiresAt=expires):
        s.register.view("checkTransferable", UNIT, ALICE)
    with s.register.reverts("PropertyRegistryObjectionExists"):
        s.register.tx(s.registrar, "recordObjection", UNIT, BOB)
    s.chain.set_next_block_timestamp(expires - 1)
    s.chain.mine()
    assert s.register.view("guardsFor", UNIT, ALICE) == Guard.OBJECTION
    s.chain.set_next_block_timestamp(expires)
    s.chain.mine()
    assert s.register.view("guardsFor", UNIT, ALICE) == 0
    with s.register.reverts("PropertyRegistryNoObjection"):
        s.register.tx(s.registrar, "fileObjectionSuit", UNIT, keccak(text="suit"))
    # A new objection with a suit filed in time stays in force past 15 days until cleared.
    s.register.tx(s.registrar, "recordObjection", UNIT, BOB, at=expires + 10)
    s.register.tx(s.registrar, "fileObjectionSuit", UNIT, keccak(text="suit"), at=expires + 20)
    s.chain.set_next_block_timestamp(expires + 10 + 30 * DAY)
    s.chain.mine()
    with s.register.reverts("PropertyRegistryUnderObjection", expiresAt=0):
        s.register.view("checkTransferable", UNIT, ALICE)
    s.register.tx(s.registrar, "clearObjection", UNIT)
    assert s.register.view("objection", UNIT) == (bytes(32), 0, False, False)


def test_mortgage_ranks_and_release_by_the_right_bank_only(property_setup: PropertySetup) -> None:
    s = property_setup
    s.register_title()
    s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b11)
    with s.register.reverts("PropertyRegistryInvalidMortgage", mortgagee=b32("COURTA")):
        s.register.tx(s.registrar, "recordMortgage", UNIT, b32("COURTA"), 100)
    with s.register.reverts("PropertyRegistryInvalidMortgage", mortgagee=b32("NOBODY")):
        s.register.tx(s.registrar, "recordMortgage", UNIT, b32("NOBODY"), 100)
    with s.register.reverts("PropertyRegistryInvalidMortgage", amount=0):
        s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 0)
    r1 = s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 300_000_000)
    s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKB"), 50_000_000)
    assert s.changes(r1)[0].args["data"][-32:] == (1).to_bytes(32, "big")
    m1, m2 = s.register.view("mortgage", UNIT, 1), s.register.view("mortgage", UNIT, 2)
    assert (m1["mortgagee"], m1["amount"]) == (b32("BANKA"), 300_000_000)
    assert (m2["mortgagee"], m2["amount"]) == (b32("BANKB"), 50_000_000)
    with s.register.reverts("PropertyRegistryMortgageNotReleased", rank=1, mortgagee=b32("BANKA")):
        s.register.view("checkTransferable", UNIT, CAROL)
    with s.register.reverts("PropertyRegistryNotMortgagee", rank=1, department=b32("BANKB")):
        s.register.tx(s.bank_b, "releaseMortgage", UNIT, 1)
    with s.register.reverts("PropertyRegistryMissingRole", account=addr(s.registrar), role=BANK):
        s.register.tx(s.registrar, "releaseMortgage", UNIT, 1)
    with s.register.reverts("PropertyRegistryUnknownMortgage", rank=3):
        s.register.tx(s.bank_a, "releaseMortgage", UNIT, 3)
    s.register.tx(s.bank_a, "releaseMortgage", UNIT, 1)
    with s.register.reverts("PropertyRegistryUnknownMortgage", rank=1):
        s.register.tx(s.bank_a, "releaseMortgage", UNIT, 1)
    with s.register.reverts("PropertyRegistryMortgageNotReleased", rank=2, mortgagee=b32("BANKB")):
        s.register.view("checkTransferable", UNIT, CAROL)
    # Transfer with the mortgage (带押过户): the lender's consent lifts the guard.
    s.register.tx(s.bank_b, "consentMortgageTransfer", UNIT, 2)
    s.register.view("checkTransferable", UNIT, CAROL)
    title = s.register.view("title", UNIT)
    assert (title["mortgageCount"], title["activeMortgages"]) == (2, 1)
    r3 = s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 1)
    assert s.changes(r3)[0].args["data"][-32:] == (3).to_bytes(32, "big")


def test_seizure_queue_promotes_in_order(property_setup: PropertySetup, t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register.tx(s.court_a, "seize", UNIT, ORDER_A, 100 * DAY, at=t0 + 10)
    s.register.tx(s.court_b, "seize", UNIT, ORDER_B, 200 * DAY, at=t0 + 20)
    s.register.tx(s.court_c, "seize", UNIT, ORDER_C, 300 * DAY, at=t0 + 30)
    assert s.register.view("activeSeizure", UNIT) == (
        True, b32("COURTA"), ORDER_A, t0 + 10, t0 + 10 + 100 * DAY, 2)
    assert s.register.view("seizureAt", UNIT, 1)["from"] == 0
    assert s.register.view("seizureCount", UNIT) == 3
    with s.register.reverts("PropertyRegistryUnknownSeizure", orderHash=bytes(32)):
        s.register.view("seizureAt", UNIT, 3)
    with s.register.reverts("PropertyRegistryUnitSeized", court=b32("COURTA"), orderHash=ORDER_A):
        s.register.view("checkTransferable", UNIT, CAROL)
    with s.register.reverts("PropertyRegistryUnitSeized"):
        s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 1)
    with s.register.reverts("PropertyRegistryUnitSeized"):
        s.register.tx(s.registrar, "cancelTitle", UNIT, keccak(text="why"))
    with s.register.reverts("PropertyRegistryNotSeizingCourt", department=b32("COURTB")):
        s.register.tx(s.court_b, "releaseSeizure", UNIT, ORDER_A)
    with s.register.reverts("PropertyRegistryUnknownSeizure", orderHash=keccak(text="nope")):
        s.register.tx(s.court_a, "releaseSeizure", UNIT, keccak(text="nope"))
    # Releasing the active seizure promotes B from now, for B's own term.
    s.register.tx(s.court_a, "releaseSeizure", UNIT, ORDER_A, at=t0 + 50 * DAY)
    assert s.register.view("activeSeizure", UNIT) == (
        True, b32("COURTB"), ORDER_B, t0 + 50 * DAY, t0 + 250 * DAY, 1)
    assert s.register.view("seizureAt", UNIT, 1)["from"] == t0 + 50 * DAY
    # When B's term ends, C is in force at once, with no transaction needed.
    s.chain.set_next_block_timestamp(t0 + 250 * DAY)
    s.chain.mine()
    assert s.register.view("activeSeizure", UNIT) == (
        True, b32("COURTC"), ORDER_C, t0 + 250 * DAY, t0 + 550 * DAY, 0)
    s.register.tx(s.court_c, "releaseSeizure", UNIT, ORDER_C, at=t0 + 260 * DAY)
    assert s.register.view("activeSeizure", UNIT)[0] is False
    assert s.register.view("guardsFor", UNIT, CAROL) & Guard.SEIZED == 0


def test_waiting_seizure_released_is_skipped(property_setup: PropertySetup, t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register.tx(s.court_a, "seize", UNIT, ORDER_A, 10 * DAY, at=t0 + 10)
    s.register.tx(s.court_b, "seize", UNIT, ORDER_B, 10 * DAY)
    s.register.tx(s.court_c, "seize", UNIT, ORDER_C, 10 * DAY)
    s.register.tx(s.court_b, "releaseSeizure", UNIT, ORDER_B)
    assert s.register.view("activeSeizure", UNIT)[5] == 1
    s.register.tx(s.court_a, "releaseSeizure", UNIT, ORDER_A, at=t0 + DAY)
    assert s.register.view("activeSeizure", UNIT)[1:4] == (b32("COURTC"), ORDER_C, t0 + DAY)
    with s.register.reverts("PropertyRegistryInvalidSeizureDuration", duration=YEAR3 + 1):
        s.register.tx(s.court_a, "seize", UNIT, ORDER_A, YEAR3 + 1)
    with s.register.reverts("PropertyRegistryInvalidSeizureDuration", duration=0):
        s.register.tx(s.court_a, "seize", UNIT, ORDER_A, 0)
    s.register.tx(s.court_a, "seize", UNIT, keccak(text="three years"), YEAR3)


def test_seizure_queue_is_bounded(property_setup: PropertySetup) -> None:
    s = property_setup
    s.register_title()
    for i in range(16):
        s.register.tx(s.court_a, "seize", UNIT, keccak(i.to_bytes(1, "big")), DAY)
    with s.register.reverts("PropertyRegistrySeizureQueueFull"):
        s.register.tx(s.court_a, "seize", UNIT, ORDER_A, DAY)


def test_certificate_owner_consent_and_cancellation(property_setup: PropertySetup) -> None:
    s = property_setup
    s.register_title()
    new_leaf = keccak(text="certificate-2")
    s.register.tx(s.registrar, "updateCertificate", UNIT, new_leaf)
    assert s.register.view("title", UNIT)["certificateLeaf"] == new_leaf
    with s.register.reverts("PropertyRegistryOwnerNotConsented", index=0):
        s.register.view("checkTransferable", UNIT, CAROL)
    s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b01)
    with s.register.reverts("PropertyRegistryOwnerNotConsented", index=1):
        s.register.view("checkTransferable", UNIT, CAROL)
    with s.register.reverts("PropertyRegistryInvalidOwnerMask", mask=0b100):
        s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b100)
    s.register.tx(s.registrar, "recordOwnerConsent", UNIT, 0b10)
    s.register.view("checkTransferable", UNIT, CAROL)
    s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 1)
    with s.register.reverts("PropertyRegistryMortgageNotReleased", rank=1):
        s.register.tx(s.registrar, "cancelTitle", UNIT, keccak(text="demolished"))
    s.register.tx(s.bank_a, "releaseMortgage", UNIT, 1)
    s.register.tx(s.registrar, "cancelTitle", UNIT, keccak(text="demolished"))
    assert s.register.view("title", UNIT)["cancelled"] is True
    assert s.register.view("guardsFor", UNIT, CAROL) == Guard.CANCELLED
    with s.register.reverts("PropertyRegistryTitleCancelled", unit=UNIT):
        s.register.view("checkTransferable", UNIT, CAROL)
    for account, fn, args in [
        (s.registrar, "updateCertificate", (UNIT, new_leaf)),
        (s.housing, "fileContract", (UNIT, new_leaf)),
        (s.court_a, "seize", (UNIT, ORDER_A, DAY)),
        (s.registrar, "cancelTitle", (UNIT, new_leaf)),
    ]:
        with s.register.reverts("PropertyRegistryTitleCancelled"):
            s.register.tx(account, fn, *args)


def test_checks_run_in_the_documented_order(property_setup: PropertySetup, t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 1)
    s.register.tx(s.registrar, "recordPreNotice", UNIT, BOB, t0 + 100 * DAY)
    s.register.tx(s.registrar, "recordObjection", UNIT, BOB)
    s.register.tx(s.court_a, "seize", UNIT, ORDER_A, DAY)
    assert s.register.view("guardsFor", UNIT, CAROL) == (
        Guard.SEIZED | Guard.OBJECTION | Guard.PRE_NOTICE | Guard.MORTGAGE | Guard.OWNER_CONSENT)
    expected = ["PropertyRegistryUnitSeized", "PropertyRegistryUnderObjection",
                "PropertyRegistryPreNoticeHeld", "PropertyRegistryMortgageNotReleased",
                "PropertyRegistryOwnerNotConsented"]
    lifts = [(s.court_a, "releaseSeizure", (UNIT, ORDER_A)),
             (s.registrar, "clearObjection", (UNIT,)),
             (s.registrar, "consentPreNotice", (UNIT,)),
             (s.bank_a, "releaseMortgage", (UNIT, 1)),
             (s.registrar, "recordOwnerConsent", (UNIT, 0b11))]
    for name, (account, fn, args) in zip(expected, lifts, strict=True):
        with s.register.reverts(name):
            s.register.view("checkTransferable", UNIT, CAROL)
        s.register.tx(account, fn, *args)
    s.register.view("checkTransferable", UNIT, CAROL)
    assert s.register.view("guardsFor", UNIT, CAROL) == 0


def test_every_write_refuses_every_wrong_role(property_setup: PropertySetup) -> None:
    s = property_setup
    s.register_title()
    roles = {REGISTRY: s.registrar, HOUSING: s.housing, BANK: s.bank_a, COURT: s.court_a}
    outsiders = [s.issuer, s.stranger]
    writes = [
        (REGISTRY, "registerTitle", (OTHER_UNIT, [(ALICE, SHARE_WHOLE)], LEAF)),
        (REGISTRY, "updateCertificate", (UNIT, LEAF)),
        (REGISTRY, "recordPreNotice", (UNIT, CAROL, 2**40)),
        (REGISTRY, "consentPreNotice", (UNIT,)),
        (REGISTRY, "clearPreNotice", (UNIT,)),
        (REGISTRY, "recordMortgage", (UNIT, b32("BANKA"), 1)),
        (REGISTRY, "recordObjection", (UNIT, CAROL)),
        (REGISTRY, "fileObjectionSuit", (UNIT, LEAF)),
        (REGISTRY, "clearObjection", (UNIT,)),
        (REGISTRY, "recordOwnerConsent", (UNIT, 1)),
        (REGISTRY, "cancelTitle", (UNIT, LEAF)),
        (HOUSING, "fileContract", (UNIT, LEAF)),
        (HOUSING, "clearContract", (UNIT,)),
        (BANK, "consentMortgageTransfer", (UNIT, 1)),
        (BANK, "releaseMortgage", (UNIT, 1)),
        (COURT, "seize", (UNIT, ORDER_A, DAY)),
        (COURT, "releaseSeizure", (UNIT, ORDER_A)),
        (REGISTRY, "bindTransferCases", (addr(s.stranger),)),
    ]
    refused = 0
    for role, fn, args in writes:
        wrong = [a for r, a in roles.items() if r != role] + outsiders
        for account in wrong:
            with s.register.reverts("PropertyRegistryMissingRole", account=addr(account), role=role):
                s.register.tx(account, fn, *args)
            refused += 1
    assert refused == len(writes) * 5
    # An owner has no key at all; a deactivated REGISTRY loses its pen.
    s.directory.council_do("setDepartmentActive", b32("REGISTRY"), False)
    with s.register.reverts("PropertyRegistryMissingRole", role=REGISTRY):
        s.register.tx(s.registrar, "updateCertificate", UNIT, LEAF)
    # Only the bound transfer-case contract moves a title or files for a case: no department,
    # not even REGISTRY, and no owner can call these directly.
    case_only = [
        ("transferTitle", (UNIT, LEAF, [(CAROL, SHARE_WHOLE)], LEAF, 0)),
        ("fileContractForCase", (UNIT, LEAF, [(CAROL, SHARE_WHOLE)])),
        ("clearContractForCase", (UNIT, LEAF)),
        ("consentMortgageForCase", (UNIT, 1, s.bank_a.address)),
    ]
    for fn, args in case_only:
        for account in [*roles.values(), *outsiders]:
            with s.register.reverts("PropertyRegistryNotTransferCases", account=addr(account)):
                s.register.tx(account, fn, *args)
    movers = [f["name"] for f in s.register.abi.abi if f.get("type") == "function"
              and "transfer" in f["name"].lower()]
    assert sorted(movers) == ["bindTransferCases", "checkTransferable", "consentMortgageTransfer",
                              "transferCases", "transferTitle"]


def test_hash_chain_recomputes_from_events(property_setup: PropertySetup, t0: int) -> None:
    s = property_setup
    s.register_title(at=t0)
    s.register_title(unit=OTHER_UNIT)
    s.register.tx(s.housing, "fileContract", UNIT, keccak(text="c"))
    s.register.tx(s.registrar, "recordMortgage", UNIT, b32("BANKA"), 12_345)
    s.register.tx(s.court_a, "seize", UNIT, ORDER_A, DAY)
    s.register.tx(s.court_b, "seize", UNIT, ORDER_B, DAY)
    s.register.tx(s.court_a, "releaseSeizure", UNIT, ORDER_A)
    s.register.tx(s.bank_a, "releaseMortgage", UNIT, 1)
    events = s.title_changes(UNIT)
    assert [e.args["kind"] for e in events] == [
        Kind.REGISTERED, Kind.CONTRACT_FILED, Kind.MORTGAGE_RECORDED, Kind.SEIZURE_RECORDED,
        Kind.SEIZURE_RECORDED, Kind.SEIZURE_RELEASED, Kind.MORTGAGE_RELEASED]
    head = recompute_head(UNIT, events)
    assert head == s.register.view("title", UNIT)["head"]
    assert s.register.view("title", UNIT)["changes"] == len(events)
    assert len(s.title_changes(OTHER_UNIT)) == 1
    # Changing any event's data breaks the chain from there on.
    forged = events[2].args["data"][:-1] + b"\x02"
    assert chain_link(events[1].args["head"], Kind.MORTGAGE_RECORDED, forged,
                      events[2].args["at"]) != events[2].args["head"]
