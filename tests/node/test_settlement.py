"""REGISTRY's settlement on the embedded chain: the buyers present their disclosures, the new title
certificate carries exactly the commitments the title now holds, the deed-tax voucher may be
presented as a QR, and a title REGISTRY never certified is refused by code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from sqlalchemy import func
from sqlmodel import Session, col, select

from ledger.domain.disclosure import Disclosure
from ledger.domain.property import unit_key
from ledger.domain.title_certificate import PUBLIC_FIELDS, owner_commitments
from ledger.store.models import Licence
from node.services import actions
from node.services.property import CERTIFICATE_TYPE
from tests.node.conftest import DemoNode

UNIT_NUMBER = "110105001002GB00123F00450031"
BARE_UNIT = "110105001002GB00123F00450032"  # registered straight on the contract, no certificate here
BUYERS = [{"name": "周八", "id_number": "110101199207071234", "share_percent": "60"},
          {"name": "吴九", "id_number": "11010119930808123X", "share_percent": "40"}]
CASE = {"unit_number": UNIT_NUMBER, "contract_number": "BJ-2026-000031", "price": "2000000", "area": "60",
        "acquired": "2018-03-01", "contract_date": "2026-03-01", "buyer_homes": 1, "buyers": BUYERS,
        "seller_account": "0x" + "6a" * 20}


def _post(demo: DemoNode, dept: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return demo.client.post(path, json=body, headers=demo.headers(dept))


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _certificates(demo: DemoNode) -> int:
    with Session(demo.runtime.engine) as s:
        return int(s.exec(select(func.count()).select_from(Licence)
                          .where(Licence.licence_type == CERTIFICATE_TYPE)).one())


def _disclosures(demo: DemoNode, identifier: str) -> list[Disclosure]:
    with Session(demo.runtime.engine) as s:
        row = s.get(Licence, identifier)
        assert row is not None
        return [Disclosure.from_json(d) for d in json.loads(row.disclosures)]


def _owners_on_chain(demo: DemoNode, unit_number: str) -> list[tuple[str, int]]:
    owners = actions.preflight(demo.runtime.ctx, "REGISTRY", "PropertyRegistry", "owners",
                               [unit_key(unit_number)]).output[0]
    return [(o["commitment"].hex(), int(o["share"])) for o in owners]


@pytest.fixture(scope="module")
def case(demo: DemoNode) -> Iterator[dict[str, Any]]:
    """A registered, consented unit with a case opened, assessed and funded; yields the answers."""
    registered = _ok(_post(demo, "REGISTRY", "/v1/property", {"unit_number": UNIT_NUMBER, "owners": [
        {"id_number": "110101197001011234", "name": "郑一", "share": "100"}]}))
    actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "recordOwnerConsent", [unit_key(UNIT_NUMBER), 1])
    opened = _ok(_post(demo, "HOUSING", "/v1/cases", CASE))
    assessed = _ok(_post(demo, "TAX", f"/v1/cases/{opened['case_id']}/assess"))
    _ok(_post(demo, "BANK", f"/v1/cases/{opened['case_id']}/fund", {"mint": True}))
    yield {"registered": registered, "opened": opened, "assessed": assessed}


def _presented(opened: dict[str, Any], **changes: Any) -> list[dict[str, Any]]:
    return [{"name": b["name"], "disclosure": o["disclosure"], **changes}
            for b, o in zip(BUYERS, opened["buyers"], strict=True)]


@pytest.mark.parametrize(("buyers", "code"), [
    (lambda p: p[:1], "buyer_disclosure_missing"),
    (lambda p: [], "buyer_disclosure_missing"),
    (lambda p: [*p, {"name": "x", "disclosure": [p[0]["disclosure"][0], "owner3Id", "1"]}],
     "buyer_disclosure_unexpected"),
    (lambda p: [p[0], p[0], p[1]], "buyer_disclosure_unexpected"),
    (lambda p: [p[0], {**p[1], "disclosure": [*p[1]["disclosure"][:2], "110101199308081234"]}],
     "buyer_disclosure_mismatch"),
    (lambda p: [{**p[0], "disclosure": [p[1]["disclosure"][0], *p[0]["disclosure"][1:]]}, p[1]],
     "buyer_disclosure_mismatch"),
    (lambda p: [{**p[0], "disclosure": ["bad", "owner1Id", "1"]}, p[1]], "malformed_document"),
])
def test_buyers_must_present_exactly_their_own_disclosures(demo: DemoNode, case: dict[str, Any],
                                                           buyers: Any, code: str) -> None:
    before = _certificates(demo)
    body = {"buyers": buyers(_presented(case["opened"]))}
    r = _post(demo, "REGISTRY", f"/v1/cases/{case['opened']['case_id']}/settle", body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
    assert _certificates(demo) == before
    assert demo.client.get(f"/v1/cases/{case['opened']['case_id']}").json()["state"] == "funded"


def test_a_voucher_that_is_not_the_cases_deed_tax_one_is_refused(demo: DemoNode, case: dict[str, Any]) -> None:
    cid = case["opened"]["case_id"]
    vat = case["assessed"]["vouchers"][0]["qr"]
    r = _post(demo, "REGISTRY", f"/v1/cases/{cid}/settle",
              {"buyers": _presented(case["opened"]), "deed_voucher": vat})
    assert r.status_code == 400 and r.json()["error"]["code"] == "deed_voucher_not_for_case", r.text
    assert r.json()["error"]["tax_line"] == "vat"
    forged = _post(demo, "REGISTRY", f"/v1/cases/{cid}/settle",
                   {"buyers": _presented(case["opened"]), "deed_voucher": "HC1:not-a-voucher"})
    assert forged.status_code == 409 and forged.json()["error"]["code"] == "deed_voucher_invalid", forged.text


def test_the_new_certificate_commits_to_the_titles_owners(demo: DemoNode, case: dict[str, Any]) -> None:
    cid = case["opened"]["case_id"]
    deed = case["assessed"]["vouchers"][1]["qr"]
    settled = _ok(_post(demo, "REGISTRY", f"/v1/cases/{cid}/settle",
                        {"buyers": _presented(case["opened"]), "deed_voucher": deed}))
    assert settled["unit_number"] == UNIT_NUMBER
    on_chain = _owners_on_chain(demo, UNIT_NUMBER)
    assert on_chain == [(b["commitment"], b["share_ppm"]) for b in case["opened"]["buyers"]]
    certificate = settled["certificate"]
    disclosures = _disclosures(demo, certificate["identifier"])
    # Owner n's disclosed field hashes to owner n's commitment on chain, and is the buyer's own.
    assert [c.hex() for c in owner_commitments(disclosures, 2)] == [c for c, _ in on_chain]
    for buyer in case["opened"]["buyers"]:
        assert Disclosure.from_json(buyer["disclosure"]) in disclosures
    # The very shape registration gives a certificate: the same fields, the same public ones.
    registered = _disclosures(demo, case["registered"]["certificate"]["identifier"])
    assert ({d.key for d in disclosures} - {"owner2Id"}) == {d.key for d in registered}
    fields = {d.key: d.value for d in disclosures}
    assert fields["ownerSharesPpm"] == "600000,400000" and fields["holderName"] == "周八、吴九"
    verdict = _ok(demo.client.post("/v1/verify", json={"token": certificate["qr"]}))
    assert verdict["verdict"] == "valid", verdict
    assert set(verdict["disclosed"]) == set(PUBLIC_FIELDS) and verdict["disclosed"]["unitNumber"] == UNIT_NUMBER
    status = _ok(demo.client.get(f"/v1/property/{UNIT_NUMBER}"))
    assert status["certificate_leaf"] == certificate["leaf"] and status["chain_valid"]


def test_a_title_registry_did_not_certify_is_refused_by_code(demo: DemoNode) -> None:
    unit = unit_key(BARE_UNIT)
    actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "registerTitle",
                    [unit, [(keccak(text="seller-32"), 1_000_000)], keccak(text="certificate-elsewhere")])
    actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "recordOwnerConsent", [unit, 1])
    opened = _ok(_post(demo, "HOUSING", "/v1/cases", {**CASE, "unit_number": BARE_UNIT,
                                                      "contract_number": "BJ-2026-000032"}))
    _ok(_post(demo, "TAX", f"/v1/cases/{opened['case_id']}/assess"))
    before = _certificates(demo)
    r = _post(demo, "REGISTRY", f"/v1/cases/{opened['case_id']}/settle", {"buyers": _presented(opened)})
    assert r.status_code == 404 and r.json()["error"]["code"] == "title_not_held", r.text
    assert _certificates(demo) == before
    unknown = _post(demo, "REGISTRY", f"/v1/cases/{'ab' * 32}/settle", {"buyers": []})
    assert unknown.status_code == 404
    with Session(demo.runtime.engine) as s:
        assert s.exec(select(Licence).where(col(Licence.status) == "void")).first() is None
