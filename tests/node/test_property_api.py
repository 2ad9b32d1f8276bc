"""The property register through the node's HTTP API, on the embedded chain (and PostgreSQL).

A whole register story; the mirrored unit against the contract's views; the public status
(no personal data, a hash chain that links, a broken link shown); the title certificate
issued through the licence machinery with the owners' commitments; and the role matrix:
every step attempted by every wrong demo department is refused with the contract's code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from ledger.domain.disclosure import Disclosure
from ledger.domain.property import unit_key
from ledger.domain.title_certificate import owner_id_field
from ledger.store.models import ChainEvent, Licence, OutboxEntry
from node.services import actions
from node.services.bootstrap import DEMO_DEPARTMENTS, init_demo, read_tokens
from tests.node.conftest import DemoNode, _open
from tests.node.property_story import (
    APPLICANT,
    BUYER,
    LI,
    ORDER_A,
    ORDER_B,
    OWNERS,
    UNIT_NUMBER,
    ZHANG,
    Story,
    assert_mirror_is_chain,
    in_days,
    post,
    refused,
    show,
)

CERTIFICATE = "11100000000013127D101"
OTHER_UNIT = "110105001002GB00123F00450012"
MATRIX_UNIT = "110105001002GB00124F00450013"
ROLE_BITS = {"REGISTRY": 2, "BANK": 16, "COURT": 32}


def test_a_full_register_story(demo: DemoNode) -> None:
    status = Story(demo.client, demo.tokens, demo.runtime).run()
    assert status["chain_valid"] and status["mirror_problem"] is None
    kinds = [h["kind"] for h in status["history"]]
    assert kinds == ["registered", "mortgage_recorded", "seizure_recorded", "seizure_recorded",
                     "seizure_released", "objection_recorded", "objection_suit_filed",
                     "pre_notice_recorded", "pre_notice_consented", "owners_consented",
                     "mortgage_consented"]
    assert status["changes"] == len(kinds) and status["head"] == status["history"][-1]["head"]
    assert all(h["link_valid"] for h in status["history"])
    assert status["history"][0]["previous"] == unit_key(UNIT_NUMBER).hex()
    assert (status["owner_count"], [o["share"] for o in status["owners"]]) == (2, ["60%", "40%"])
    public = json.dumps(status, ensure_ascii=False)
    assert ZHANG not in public and LI not in public and "张三" not in public
    assert_mirror_is_chain(demo.runtime, UNIT_NUMBER)

    # the story's end: the court lifts the promoted seizure, the objection and pre-notice are
    # cleared, the bank releases, and the title is cancelled; then it takes no further change
    story = Story(demo.client, demo.tokens, demo.runtime)
    story.step("COURT", "/seizures/release", {"order": ORDER_B})
    story.step("REGISTRY", "/objection/clear")
    story.step("REGISTRY", "/pre-notice/clear")
    story.step("BANK", "/mortgages/1/release")
    cancelled = story.step("REGISTRY", "/cancel", {"reason": "房屋灭失"})
    assert cancelled["change"] == "cancelled"
    status = show(demo.client)
    assert status["cancelled"] and status["seizure"] is None and status["objection"] is None
    assert status["pre_notice"] is None and status["mortgages"][0]["released"]
    assert status["transfer_guards"] == ["cancelled"] and status["chain_valid"]
    assert_mirror_is_chain(demo.runtime, UNIT_NUMBER)
    r = demo.client.post(f"/v1/property/{UNIT_NUMBER}/objection", json={"applicant": APPLICANT},
                         headers=story.h("REGISTRY"))
    refused(r, 409, "title_cancelled")


@pytest.fixture(scope="module")
def other_unit(demo: DemoNode) -> dict[str, Any]:
    """A second registered unit, with nothing on it; returns the registration's answer."""
    return post(demo.client, demo.headers("REGISTRY"), "/v1/property",
                {"unit_number": OTHER_UNIT, "owners": OWNERS}, status=201)


def test_the_certificate_is_a_licence_and_holds_the_owners_commitments(demo: DemoNode,
                                                                       other_unit: dict[str, Any]) -> None:
    h, body = demo.headers("REGISTRY"), other_unit
    cert = body["certificate"]
    shown = demo.client.get(f"/v1/licences/{cert['identifier']}", headers=h).json()
    assert shown["licence_type"] == CERTIFICATE and shown["department"] == "REGISTRY"
    assert shown["leaf"] == cert["leaf"] == show(demo.client, OTHER_UNIT)["certificate_leaf"]
    disclosures = {d[1]: Disclosure.from_json(d) for d in shown["disclosures"]}
    assert disclosures["holderName"].value == "张三、李四"
    assert disclosures["unitNumber"].value == OTHER_UNIT
    for i, (owner, ident) in enumerate(zip(body["owners"], (ZHANG, LI), strict=True)):
        field = disclosures[owner_id_field(i)]
        assert field.value == ident and field.digest() == owner["commitment"]
    qr = demo.client.post("/v1/verify", json={"token": cert["qr"]}).json()
    assert ZHANG not in json.dumps(qr) and qr.get("disclosed", {}).get("unitNumber") == OTHER_UNIT
    demo.settle()
    assert demo.client.post("/v1/verify", json={"token": cert["qr"]}).json()["verdict"] == "valid"


def test_thirty_two_co_owners_fit_one_certificate_and_a_33rd_does_not(demo: DemoNode) -> None:
    owners = [{"id_number": f"1101011990010{i:05d}", "name": f"业主{i}", "share": "3.125"} for i in range(32)]
    unit = "110105001002GB00130F00450019"
    body = post(demo.client, demo.headers("REGISTRY"), "/v1/property", {"unit_number": unit, "owners": owners},
                status=201)
    assert [o["share_ppm"] for o in body["owners"]] == [31_250] * 32
    assert show(demo.client, unit)["owner_count"] == 32
    long_types = [{**o, "id_type": "A" * 32} for o in owners]
    refused(demo.client.post("/v1/property", json={"unit_number": "110105001002GB00131F00450020",
                                                   "owners": long_types}, headers=demo.headers("REGISTRY")),
            400, "bad_request")
    more = [*owners, {"id_number": "X1", "name": "多余", "share": "1"}]
    refused(demo.client.post("/v1/property", json={"unit_number": unit, "owners": more},
                             headers=demo.headers("REGISTRY")), 422, "invalid_request")


def test_refusals_before_the_certificate_issue_nothing(demo: DemoNode) -> None:
    h = demo.headers("REGISTRY")
    before = _counts(demo)
    bad_shares = [{**OWNERS[0], "share": "60"}, {**OWNERS[1], "share": "30"}]
    err = refused(demo.client.post("/v1/property", json={"unit_number": "110105001002GB00125F00450014",
                                                         "owners": bad_shares}, headers=h),
                  400, "invalid_shares")
    assert err["args"] == {"total": 900_000}
    twice = [{**OWNERS[0], "share": "50"}, {**OWNERS[0], "share": "50"}]
    refused(demo.client.post("/v1/property", json={"unit_number": "110105001002GB00125F00450014",
                                                   "owners": twice}, headers=h), 400, "bad_request")
    refused(demo.client.post("/v1/property", json={"unit_number": "110105001002GB00125F0045001",
                                                   "owners": OWNERS}, headers=h), 422, "invalid_request")
    refused(demo.client.post("/v1/property", json={"unit_number": "110105001002QB00125F00450014",
                                                   "owners": OWNERS}, headers=h), 400, "invalid_unit_number")
    post(demo.client, h, "/v1/property", {"unit_number": "110105001002GB00126F00450015", "owners": OWNERS},
         status=201)
    after_one = _counts(demo)
    refused(demo.client.post("/v1/property", json={"unit_number": "110105001002GB00126F00450015",
                                                   "owners": OWNERS}, headers=h), 409, "title_exists")
    assert _counts(demo) == after_one and after_one[0] == before[0] + 1


def test_a_title_refused_after_its_certificate_was_issued_revokes_the_certificate(demo: DemoNode) -> None:
    unit, h, rt = "110105001002GB00129F00450018", demo.headers("REGISTRY"), demo.runtime
    # another registration of the unit is queued, not yet mined, when the request comes in:
    # both preflights pass, and the request's own call is refused once it is its turn
    other = actions.preflight(rt.ctx, "REGISTRY", "PropertyRegistry", "registerTitle",
                              [unit_key(unit), [(keccak(text="someone"), 1_000_000)], keccak(text="leaf")])
    actions.submit(rt, "REGISTRY", other)
    err = refused(demo.client.post("/v1/property", json={"unit_number": unit, "owners": OWNERS}, headers=h),
                  409, "title_exists")
    assert err["certificate_revoked"] is True
    demo.settle()
    lic = demo.client.get(f"/v1/licences/{err['certificate']}", headers=h).json()
    assert (lic["status"], lic["status_reason"]) == ("revoked", 1)
    assert show(demo.client, unit)["owners"][0]["commitment"] == keccak(text="someone").hex()


def _counts(demo: DemoNode) -> tuple[int, int]:
    with Session(demo.runtime.engine) as s:
        licences = s.exec(select(func.count()).select_from(Licence).where(
            Licence.licence_type == CERTIFICATE)).one()
        entries = s.exec(select(func.count()).select_from(OutboxEntry)).one()
    return int(licences), int(entries)


def test_bad_input_and_unknown_units_get_codes(demo: DemoNode, other_unit: dict[str, Any]) -> None:
    refused(demo.client.get("/v1/property/110105001002GB00999F00450099"), 404, "unknown_title")
    refused(demo.client.get("/v1/property/not-a-unit"), 400, "invalid_unit_number")
    h = demo.headers("REGISTRY")
    unit = "110105001002GB00999F00450099"
    refused(demo.client.post(f"/v1/property/{unit}/mortgages", json={"mortgagee": "BANK", "amount": "0.001"},
                             headers=h), 422, "invalid_request")
    refused(demo.client.post(f"/v1/property/{unit}/mortgages", json={"mortgagee": "BANK", "amount": "10"},
                             headers=h), 404, "unknown_title")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/mortgages",
                             json={"mortgagee": "COURT", "amount": "10"}, headers=h), 400, "invalid_mortgage")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/pre-notice",
                             json={"holder": BUYER, "expires_on": in_days(3), "expires_at": 5}, headers=h),
            422, "invalid_request")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/pre-notice",
                             json={"holder": BUYER, "expires_at": 1_000}, headers=h), 400, "invalid_expiry")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/seizures",
                             json={"order": "x", "days": 3 * 365 + 1}, headers=demo.headers("COURT")),
            422, "invalid_request")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/seizures", json={"days": 3},
                             headers=demo.headers("COURT")), 400, "bad_request")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/seizures/release", json={"order": "never"},
                             headers=demo.headers("COURT")), 404, "unknown_seizure")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/mortgages/7/release", headers=demo.headers("BANK")),
            404, "unknown_mortgage")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/consent", json={"owners": [2]}, headers=h),
            400, "invalid_owner_mask")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/pre-notice/consent", headers=h), 409, "no_pre_notice")
    refused(demo.client.post(f"/v1/property/{OTHER_UNIT}/cancel", json={"reason": "x"}),
            401, "unauthorized")


def test_a_broken_link_in_the_index_shows_as_an_invalid_chain(demo: DemoNode) -> None:
    unit = "110105001002GB00127F00450016"
    h = demo.headers("REGISTRY")
    post(demo.client, h, "/v1/property", {"unit_number": unit, "owners": OWNERS}, status=201)
    post(demo.client, h, f"/v1/property/{unit}/consent", {"owners": [1]})
    assert show(demo.client, unit)["chain_valid"]
    with Session(demo.runtime.engine) as s:
        row = s.exec(select(ChainEvent).where(ChainEvent.subject == unit_key(unit).hex())
                     .order_by(col(ChainEvent.block_number).desc())).first()
        assert row is not None
        row_id, original = row.id, row.args
        args = json.loads(original)
        args["data"] = args["data"][:-1] + ("3" if args["data"][-1] != "3" else "1")  # owner mask 2 → 3
        s.execute(update(ChainEvent).where(col(ChainEvent.id) == row_id).values(args=json.dumps(args)))
        s.commit()
    try:
        status = show(demo.client, unit)
        assert not status["chain_valid"]
        assert [h["link_valid"] for h in status["history"]] == [True, False]
        assert status["mirror_problem"] is not None and "owners_consented" in status["mirror_problem"]
    finally:
        with Session(demo.runtime.engine) as s:
            s.execute(update(ChainEvent).where(col(ChainEvent.id) == row_id).values(args=original))
            s.commit()
    assert show(demo.client, unit)["chain_valid"]


# ------------------------------------------------------------------------------ role matrix

STEPS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # (step, department allowed, path after /v1/property/{unit}, body)
    ("register", "REGISTRY", "", None),
    ("mortgage", "REGISTRY", "/mortgages", {"mortgagee": "BANK", "amount": "500000"}),
    ("pre-notice", "REGISTRY", "/pre-notice", {"holder": BUYER, "expires_on": in_days(30)}),
    ("consent-pre-notice", "REGISTRY", "/pre-notice/consent", None),
    ("clear-pre-notice", "REGISTRY", "/pre-notice/clear", None),
    ("objection", "REGISTRY", "/objection", {"applicant": APPLICANT}),
    ("objection-suit", "REGISTRY", "/objection/suit", {"suit": "(2026)京0105民初1号"}),
    ("clear-objection", "REGISTRY", "/objection/clear", None),
    ("consent", "REGISTRY", "/consent", {"owners": [0]}),
    ("cancel", "REGISTRY", "/cancel", {"reason": "x"}),
    ("consent-mortgage", "BANK", "/mortgages/1/consent", None),
    ("release-mortgage", "BANK", "/mortgages/1/release", None),
    ("seize", "COURT", "/seizures", {"order": ORDER_A, "days": 10}),
    ("release-seizure", "COURT", "/seizures/release", {"order": ORDER_A}),
]
DEPARTMENTS = [code for code, _, _ in DEMO_DEPARTMENTS]
MATRIX = [pytest.param(step, allowed, path, body, dept, id=f"{step}-by-{dept}")
          for step, allowed, path, body in STEPS for dept in DEPARTMENTS if dept != allowed]


@pytest.fixture(scope="module")
def matrix_unit(demo: DemoNode) -> str:
    """A unit that carries a mortgage, a seizure, a pre-notice and an objection: every step applies."""
    h = demo.headers("REGISTRY")
    post(demo.client, h, "/v1/property", {"unit_number": MATRIX_UNIT, "owners": OWNERS}, status=201)
    post(demo.client, h, f"/v1/property/{MATRIX_UNIT}/mortgages", {"mortgagee": "BANK", "amount": "1"})
    post(demo.client, h, f"/v1/property/{MATRIX_UNIT}/pre-notice", {"holder": BUYER, "expires_on": in_days(30)})
    post(demo.client, h, f"/v1/property/{MATRIX_UNIT}/objection", {"applicant": APPLICANT})
    post(demo.client, demo.headers("COURT"), f"/v1/property/{MATRIX_UNIT}/seizures",
         {"order": ORDER_A, "days": 10})
    return MATRIX_UNIT


def test_the_matrix_covers_every_step_and_every_wrong_department() -> None:
    assert len(MATRIX) == len(STEPS) * (len(DEPARTMENTS) - 1) == 98


@pytest.mark.parametrize(("step", "allowed", "path", "body", "dept"), MATRIX)
def test_every_step_by_a_wrong_department_is_refused(demo: DemoNode, matrix_unit: str, step: str,
                                                     allowed: str, path: str, body: dict[str, Any] | None,
                                                     dept: str) -> None:
    before = _counts(demo)
    if step == "register":
        url, body = "/v1/property", {"unit_number": "110105001002GB00128F00450017", "owners": OWNERS}
    else:
        url = f"/v1/property/{matrix_unit}{path}"
    r = demo.client.post(url, json=body or {}, headers=demo.headers(dept))
    err = refused(r, 403, "missing_role")
    account = demo.runtime.ctx.account(dept).address.lower()[2:]
    assert err["args"] == {"account": account, "role": ROLE_BITS[allowed]}
    assert err["error"] == "PropertyRegistryMissingRole"
    assert _counts(demo) == before  # no certificate issued, nothing queued


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.postgres
def test_the_register_story_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    data = tmp_path / "data"
    init_demo(data, db_url=postgres_url, port=18002)
    rt, client = _open(data)
    try:
        status = Story(client, read_tokens(data), rt).run()
        assert status["chain_valid"] and len(status["history"]) == 11
        assert_mirror_is_chain(rt, UNIT_NUMBER)
        assert rt.engine.dialect.name == "postgresql"
    finally:
        rt.stop()
