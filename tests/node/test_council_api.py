"""Council votes through the node's HTTP API on the embedded chain: seats, proposals, refusals."""

from __future__ import annotations

import time

from sqlmodel import Session, col, select

from ledger.store.models import AuditEntry
from tests.node.conftest import DemoNode

FOOD = "11100000000013338W042"


def post(demo: DemoNode, path: str, dept: str, body: object = None) -> tuple[int, dict[str, object]]:
    r = demo.client.post(path, json=body, headers=demo.headers(dept))
    return r.status_code, r.json()


def code(answer: dict[str, object]) -> object:
    return answer["error"]["code"]  # type: ignore[index]


def test_a_trust_relation_is_proposed_approved_and_indexed(demo: DemoNode) -> None:
    relation = ("110000", "310000", FOOD)
    assert relation not in demo.runtime.trust.trust_relations()
    status, proposed = post(demo, "/v1/council/proposals", "POLICE", {
        "action": "set_trust", "verifier_region": "110000", "issuer_region": "310000",
        "licence_type": FOOD})
    assert status == 201, proposed
    assert proposed["function"] == "setTrust" and proposed["approvals"] == 1
    assert proposed["args"] == {"verifierRegion": "110000", "issuerRegion": "310000",
                                "licenceType": FOOD, "trusted": True}
    assert relation not in demo.runtime.trust.trust_relations()
    status, approved = post(demo, f"/v1/council/proposals/{proposed['id']}/approve", "HEALTH")
    assert status == 200 and approved["executed"] and approved["indexed"]
    assert relation in demo.runtime.trust.trust_relations()
    status, again = post(demo, f"/v1/council/proposals/{proposed['id']}/execute", "MARKET")
    assert status == 409 and code(again) == "proposal_executed"
    with Session(demo.runtime.engine) as s:
        actions = s.exec(select(AuditEntry.actor, AuditEntry.action).where(
            col(AuditEntry.action).startswith("council."))).all()
    assert ("POLICE", "council.propose") in actions and ("HEALTH", "council.approve") in actions


def test_votes_are_refused_with_codes_and_nothing_sent(demo: DemoNode) -> None:
    before = demo.client.get("/v1/council", headers=demo.headers("MARKET")).json()
    assert before["is_member"] and before["threshold"] == 2
    trust = {"action": "set_trust", "verifier_region": "110000", "issuer_region": "440000",
             "licence_type": FOOD}
    assert demo.client.post("/v1/council/proposals", json=trust).status_code == 401
    status, answer = post(demo, "/v1/council/proposals", "BANK", trust)
    assert (status, code(answer)) == (403, "not_council_member")
    status, answer = post(demo, "/v1/council/proposals", "MARKET", {
        "action": "set_department_active", "department": "NOBODY", "active": False})
    assert (status, code(answer)) == (404, "unknown_department")
    status, answer = post(demo, "/v1/council/proposals", "MARKET", {
        "action": "add_department", "department": "TAX", "account": "0x" + "ab" * 20,
        "roles": ["TAX"], "region": "110000", "endpoint": "http://127.0.0.1:1"})
    assert (status, code(answer)) == (409, "department_exists")
    compromised = {"action": "declare_key_compromised", "kid": "00" * 8, "since": int(time.time()) - 60}
    status, answer = post(demo, "/v1/council/proposals", "MARKET", compromised)
    assert (status, code(answer)) == (404, "unknown_key")
    for body in ({"action": "set_trust"}, {"action": "mint_money"},
                 {**trust, "verifier_region": "beijing"}, {**compromised, "kid": "xyz"}):
        status, answer = post(demo, "/v1/council/proposals", "MARKET", body)
        assert (status, code(answer)) == (422, "invalid_request"), body
    for path in ("/v1/council/proposals/0/approve", "/v1/council/proposals/-1/approve",
                 f"/v1/council/proposals/{2**64}/approve"):
        status, answer = post(demo, path, "MARKET")
        assert (status, code(answer)) == (422, "invalid_request"), path
    status, answer = post(demo, "/v1/council/proposals/9999/approve", "MARKET")
    assert (status, code(answer)) == (404, "unknown_proposal")
    after = demo.client.get("/v1/council", headers=demo.headers("MARKET")).json()
    assert after["proposal_count"] == before["proposal_count"]


def test_a_duplicate_vote_is_refused(demo: DemoNode) -> None:
    status, proposed = post(demo, "/v1/council/proposals", "MARKET", {
        "action": "set_department_roles", "department": "COURT", "roles": ["COURT", "NOTARY"]})
    assert status == 201
    status, answer = post(demo, f"/v1/council/proposals/{proposed['id']}/approve", "MARKET")
    assert (status, code(answer)) == (409, "already_approved")
    shown = demo.client.get(f"/v1/council/proposals/{proposed['id']}", headers=demo.headers("BANK")).json()
    assert shown["approvals"] == 1 and not shown["executed"] and shown["args"]["roles"] == 96


def test_registering_a_first_key_when_one_is_registered_is_refused(demo: DemoNode) -> None:
    status, answer = post(demo, "/v1/keys/register", "MARKET")
    assert (status, code(answer)) == (409, "key_already_registered")
