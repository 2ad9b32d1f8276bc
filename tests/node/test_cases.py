"""A second-hand transfer through the node's API, on the embedded chain and on anvil: every
department takes its step with its own token; a mortgage is released, a seizure refuses
settlement with a coded error, the settlement pays everyone and the title and certificate
follow; wrong departments are refused by the API at every step; cancelling refunds; a bank
funds from its token balance and mints the buyer's deposit only when asked."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from ledger.domain.identifiers import to_bytes32
from ledger.domain.property import unit_key
from node.services import actions

from .conftest import DemoNode

UNIT_NUMBER = "110105001002GB00123F00450012"
SELLER = "0x" + "5e" * 20
CASE = {"unit_number": UNIT_NUMBER, "contract_number": "BJ-2026-000123", "price": "5000000", "area": "89",
        "acquired": "2025-03-01", "contract_date": "2026-03-01", "buyer_homes": 1,
        "buyers": [{"name": "王五", "id_number": "110101199003071234", "share_percent": "100"}],
        "seller_account": SELLER}
DEPARTMENTS = ["MARKET", "POLICE", "HEALTH", "REGISTRY", "HOUSING", "TAX", "BANK", "COURT"]


def _do(demo: DemoNode, dept: str, function: str, *args: Any, contract: str = "PropertyRegistry") -> None:
    actions.perform(demo.runtime, dept, contract, function, list(args))


def _balance(demo: DemoNode, address: str) -> int:
    return int(actions.preflight(demo.runtime.ctx, "BANK", "SettlementToken", "balanceOf", [address]).output[0])


def _supply(demo: DemoNode) -> int:
    return int(actions.preflight(demo.runtime.ctx, "BANK", "SettlementToken", "totalSupply", []).output[0])


def _account(demo: DemoNode, dept: str) -> str:
    return str(demo.runtime.ctx.account(dept).address)


@pytest.fixture(scope="module")
def titled(any_chain_demo: DemoNode) -> DemoNode:
    """The unit registered by REGISTRY to one owner who consented, with a mortgage by BANK."""
    demo = any_chain_demo
    unit = unit_key(UNIT_NUMBER)
    registered = _post(demo, "REGISTRY", "/v1/property", {"unit_number": UNIT_NUMBER, "owners": [
        {"id_number": "110101198001011234", "name": "李四", "share": "100"}]})
    assert registered.status_code == 201, registered.text
    _do(demo, "REGISTRY", "recordOwnerConsent", unit, 1)
    _do(demo, "REGISTRY", "recordMortgage", unit, to_bytes32("BANK"), 1_000_000 * 100)
    return demo


def _post(demo: DemoNode, dept: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return demo.client.post(path, json=body, headers=demo.headers(dept))


def presented(opened: dict[str, Any], names: tuple[str, ...] = ("王五",)) -> dict[str, Any]:
    """Return the settle body: each buyer's name and the disclosure ``case open`` gave them."""
    return {"buyers": [{"name": name, "disclosure": b["disclosure"]}
                       for name, b in zip(names, opened["buyers"], strict=True)]}


def test_a_whole_transfer_through_the_api(titled: DemoNode) -> None:
    demo = titled
    opened = _post(demo, "HOUSING", "/v1/cases", CASE)
    assert opened.status_code == 201, opened.text
    case = opened.json()["case_id"]
    buyer = opened.json()["buyers"][0]
    assert buyer["disclosure"][1:] == ["owner1Id", "110101199003071234"]
    shown = demo.client.get(f"/v1/cases/{case}").json()
    assert shown["state"] == "open" and "110101199003071234" not in str(shown)
    # A second contract on the unit is refused while this one is filed.
    again = _post(demo, "HOUSING", "/v1/cases", {**CASE, "contract_number": "BJ-2026-000124"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "contract_already_filed"

    # A bank cannot fund before TAX has assessed: refused by state, and nothing is minted.
    supply = _supply(demo)
    early = _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True})
    assert early.status_code == 409 and early.json()["error"]["code"] == "wrong_state", early.text
    assert _supply(demo) == supply

    assessed = _post(demo, "TAX", f"/v1/cases/{case}/assess")
    assert assessed.status_code == 200, assessed.text
    body = assessed.json()
    assert body["lines_fen"]["deedTax"] == 4_854_369 and body["lines_fen"]["registrationFee"] == 8_000
    assert len(body["vouchers"]) == 3
    # The vouchers were anchored by the assessment itself: they verify at once.
    verdict = demo.client.post("/v1/verify", json={"token": body["vouchers"][1]["qr"]}).json()
    assert verdict["verdict"] == "valid", verdict

    funded = _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True})
    assert funded.status_code == 200, funded.text
    assert funded.json()["amount_fen"] == funded.json()["minted_fen"] == 500_000_000 + 4_854_369 + 8_000
    assert funded.json()["payer"] == _account(demo, "BANK")

    # The seller's bank has not released its mortgage: REGISTRY's settlement is refused, coded.
    at_counter = presented(opened.json())
    refused = _post(demo, "REGISTRY", f"/v1/cases/{case}/settle", at_counter)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "mortgage_not_released", refused.text
    _do(demo, "BANK", "releaseMortgage", unit_key(UNIT_NUMBER), 1)
    # A court seizes the unit: refused again, naming the guard.
    _do(demo, "COURT", "seize", unit_key(UNIT_NUMBER), keccak(text="order-1"), 30 * 86_400)
    seized = _post(demo, "REGISTRY", f"/v1/cases/{case}/settle", at_counter)
    assert seized.status_code == 409 and seized.json()["error"]["code"] == "unit_seized", seized.text
    _do(demo, "COURT", "releaseSeizure", unit_key(UNIT_NUMBER), keccak(text="order-1"))

    tax_before, registry_before = _balance(demo, _account(demo, "TAX")), _balance(demo, _account(demo, "REGISTRY"))
    settled = _post(demo, "REGISTRY", f"/v1/cases/{case}/settle", at_counter)
    assert settled.status_code == 200, settled.text
    s = settled.json()["settlement"]
    assert s["sellerFen"] == 500_000_000 - 14_563_107 - 873_786 - 4_854_369
    assert _balance(demo, SELLER) == s["sellerFen"]
    assert _balance(demo, _account(demo, "TAX")) - tax_before == 25_145_631
    assert _balance(demo, _account(demo, "REGISTRY")) - registry_before == 8_000
    certificate = settled.json()["certificate"]
    assert demo.client.post("/v1/verify", json={"token": certificate["qr"]}).json()["verdict"] == "valid"
    final = demo.client.get(f"/v1/cases/{case}").json()
    assert final["state"] == "settled" and final["escrow_fen"] == 0
    owners = actions.preflight(demo.runtime.ctx, "REGISTRY", "PropertyRegistry", "owners",
                               [unit_key(UNIT_NUMBER)]).output[0]
    assert [o["commitment"].hex() for o in owners] == [buyer["commitment"]]


@pytest.mark.parametrize("step", ["open", "assess", "fund", "settle", "cancel"])
def test_every_step_refuses_every_wrong_department(titled: DemoNode, step: str) -> None:
    demo = titled
    allowed = {"open": {"HOUSING"}, "assess": {"TAX"}, "fund": {"BANK"}, "settle": {"REGISTRY"},
               "cancel": {"HOUSING", "REGISTRY"}}[step]
    body = {**CASE, "contract_number": f"ROLE-{step}"}
    if step == "open":
        for dept in sorted(set(DEPARTMENTS) - allowed):
            r = _post(demo, dept, "/v1/cases", body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "missing_role", (dept, r.text)
        return
    opened = _post(demo, "HOUSING", "/v1/cases", body).json()
    case = opened["case_id"]
    try:
        if step in ("fund", "settle"):
            assert _post(demo, "TAX", f"/v1/cases/{case}/assess").status_code == 200
        if step == "settle":
            assert _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True}).status_code == 200
        supply = _supply(demo)
        for dept in sorted(set(DEPARTMENTS) - allowed):
            body = {"mint": True} if step == "fund" else presented(opened) if step == "settle" else None
            r = _post(demo, dept, f"/v1/cases/{case}/{step}", body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "missing_role", (dept, r.text)
            if step == "fund":  # the node's own check: the contract lets anyone pay in
                assert r.json()["error"]["role"] == "BANK"
        assert _supply(demo) == supply
    finally:
        r = _post(demo, "HOUSING", f"/v1/cases/{case}/cancel")
        assert r.status_code == 200, r.text


def test_cancelling_a_funded_case_refunds_the_payer(titled: DemoNode) -> None:
    demo = titled
    opened = _post(demo, "HOUSING", "/v1/cases", {**CASE, "contract_number": "REFUND-1"}).json()
    case = opened["case_id"]
    assert _post(demo, "TAX", f"/v1/cases/{case}/assess").status_code == 200
    bank = _account(demo, "BANK")
    assert _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True}).status_code == 200
    before = _balance(demo, bank)
    closed = _post(demo, "REGISTRY", f"/v1/cases/{case}/cancel")
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"]["refundFen"] == 500_000_000 + 4_854_369 + 8_000
    assert _balance(demo, bank) - before == 500_000_000 + 4_854_369 + 8_000
    assert demo.client.get(f"/v1/cases/{case}").json()["state"] == "cancelled"
    again = _post(demo, "REGISTRY", f"/v1/cases/{case}/settle", presented(opened))
    assert again.status_code == 409 and again.json()["error"]["code"] == "wrong_state"


def test_a_bank_funds_from_its_balance_and_mints_only_when_asked(titled: DemoNode) -> None:
    demo = titled
    bank = _account(demo, "BANK")
    big = _post(demo, "HOUSING", "/v1/cases", {**CASE, "contract_number": "BIG-1", "price": "50000000"})
    case = big.json()["case_id"]
    assessed = _post(demo, "TAX", f"/v1/cases/{case}/assess")
    due = int(assessed.json()["assessment"]["dueFen"])
    assert due == 5_000_000_000 + 48_543_689 + 8_000
    balance, supply = _balance(demo, bank), _supply(demo)
    assert balance < due

    # Without mint the bank pays from its balance: too small, refused with the figures, nothing sent.
    short = _post(demo, "BANK", f"/v1/cases/{case}/fund")
    assert short.status_code == 409, short.text
    error = short.json()["error"]
    assert (error["code"], error["due_fen"], error["balance_fen"]) == ("insufficient_balance", due, balance)
    assert (_balance(demo, bank), _supply(demo)) == (balance, supply)
    assert demo.client.get(f"/v1/cases/{case}").json()["state"] == "assessed"

    minted = _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True})
    assert minted.status_code == 200, minted.text
    assert minted.json()["minted_fen"] == minted.json()["amount_fen"] == due
    assert (_balance(demo, bank), _supply(demo)) == (balance, supply + due)
    # A refusal by the case's own state comes before the mint: no deposit is credited twice.
    again = _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "wrong_state", again.text
    assert _supply(demo) == supply + due
    assert _post(demo, "HOUSING", f"/v1/cases/{case}/cancel").status_code == 200
    assert _balance(demo, bank) == balance + due

    # Now the bank holds the deposit: it funds an ordinary case from its balance, minting nothing.
    small = _post(demo, "HOUSING", "/v1/cases", {**CASE, "contract_number": "FROM-BALANCE-1"}).json()["case_id"]
    assert _post(demo, "TAX", f"/v1/cases/{small}/assess").status_code == 200
    paid = _post(demo, "BANK", f"/v1/cases/{small}/fund", {"mint": False})
    assert paid.status_code == 200, paid.text
    assert paid.json()["minted_fen"] == 0 and paid.json()["preparation"] == []
    assert _balance(demo, bank) == balance + due - paid.json()["amount_fen"]
    assert _supply(demo) == supply + due
    assert demo.client.get(f"/v1/cases/{small}").json()["escrow_fen"] == paid.json()["amount_fen"]
    assert _post(demo, "HOUSING", f"/v1/cases/{small}/cancel").status_code == 200


def test_bad_case_ids_and_bodies_are_coded(titled: DemoNode) -> None:
    demo = titled
    assert demo.client.get("/v1/cases/xyz").json()["error"]["code"] == "invalid_case_id"
    assert demo.client.get("/v1/cases/" + "00" * 32).status_code == 404
    bad = _post(demo, "HOUSING", "/v1/cases", {**CASE, "buyers": [{**CASE["buyers"][0], "share_percent": "60"}]})
    assert bad.status_code == 400
