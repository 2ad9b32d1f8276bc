"""E-licences through the node's HTTP API on the embedded chain: issue, anchor, verify, change status."""

from __future__ import annotations

import os
import time

from sqlalchemy import func
from sqlmodel import Session, select

from ledger.domain.disclosure import Disclosure, encode_salt
from ledger.store.audit import verify_chain
from ledger.store.models import AuditEntry, Licence
from tests.node.conftest import DemoNode

BUSINESS = "11100000000013338W011"


def business(i: int = 0, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "type": BUSINESS, "holder_name": f"北京示范科技有限公司{i}", "holder_id": "91110105MA01ABCD2X",
        "holder_id_type": "USCC",
        "fields": {"legalRepresentative": "张三", "registeredCapital": "100万元人民币",
                   "address": "北京市朝阳区建国路88号", "businessScope": "软件开发；技术服务"},
    }
    body.update(extra)
    return body


def verify(demo: DemoNode, token: str, **extra: object) -> dict[str, object]:
    r = demo.client.post("/v1/verify", json={"token": token, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def licence_count(demo: DemoNode) -> int:
    with Session(demo.runtime.engine) as s:
        return int(s.exec(select(func.count()).select_from(Licence)).one())


def test_issue_then_anchor_then_valid(demo: DemoNode) -> None:
    r = demo.client.post("/v1/licences", json=business(), headers=demo.headers("MARKET"))
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["identifier"].startswith(f"1.2.156.3005.2.{BUSINESS}.")
    assert verify(demo, issued["qr"])["verdict"] == "not_anchored_yet"
    demo.settle()
    result = verify(demo, issued["qr"])
    assert result["verdict"] == "valid", result
    assert result["issuer"] == "MARKET"
    assert result["disclosed"]["holderName"] == "北京示范科技有限公司0"
    shown = demo.client.get(f"/v1/licences/{issued['identifier']}", headers=demo.headers("MARKET")).json()
    assert shown["anchor"]["block_number"] is not None
    assert shown["document_digest"] == issued["document_digest"]


def test_batch_is_all_or_nothing(demo: DemoNode) -> None:
    before = licence_count(demo)
    bad = [business(1), business(2, type="NOPE")]
    r = demo.client.post("/v1/licences/batch", json={"licences": bad}, headers=demo.headers("MARKET"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_request"
    assert licence_count(demo) == before
    good = [business(i) for i in range(3, 8)]
    r = demo.client.post("/v1/licences/batch", json={"licences": good}, headers=demo.headers("MARKET"))
    assert r.status_code == 201
    assert r.json()["count"] == 5
    assert licence_count(demo) == before + 5


def test_bad_input_gets_codes_not_500(demo: DemoNode) -> None:
    h = demo.headers("MARKET")
    r = demo.client.post("/v1/licences", json={"type": BUSINESS}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = demo.client.post("/v1/licences", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = demo.client.post("/v1/licences", json=business(valid_from="2030-01-02", valid_until="2030-01-01"),
                         headers=h)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = demo.client.post("/v1/licences", json=business(), headers={"authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = demo.client.get("/v1/licences/no-such-id", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = demo.client.post("/v1/licences", json=business(type="11100000000013127D101"), headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert verify(demo, "garbage")["verdict"] == "malformed"


def test_status_changes_reach_every_verifier(demo: DemoNode) -> None:
    h = demo.headers("MARKET")
    issued = demo.client.post("/v1/licences", json=business(9), headers=h).json()
    ident, token = issued["identifier"], issued["qr"]
    demo.settle()
    before = demo.runtime.chain_time()
    # another department may not touch MARKET's licence
    r = demo.client.post(f"/v1/licences/{ident}/suspend", json={"reason": 2}, headers=demo.headers("POLICE"))
    assert r.status_code == 403
    r = demo.client.post(f"/v1/licences/{ident}/suspend", json={"reason": 2}, headers=h)
    assert r.status_code == 202, r.text
    demo.settle()
    assert verify(demo, token)["verdict"] == "suspended"
    r = demo.client.post(f"/v1/licences/{ident}/reinstate", headers=h)
    assert r.status_code == 202
    demo.settle()
    assert verify(demo, token)["verdict"] == "valid"
    r = demo.client.post(f"/v1/licences/{ident}/revoke", json={"reason": 5}, headers=h)
    assert r.status_code == 202
    demo.settle()
    result = verify(demo, token)
    assert result["verdict"] == "revoked" and result["status_reason"] == 5
    r = demo.client.post(f"/v1/licences/{ident}/revoke", json={"reason": 5}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = demo.client.post(f"/v1/licences/{ident}/suspend", json={"reason": 999}, headers=h)
    assert r.status_code == 400
    # statusAt: what it was before any change
    past = demo.client.get(f"/v1/licences/{ident}/status", params={"at": before - 1}, headers=h).json()
    assert past["status"] == "active"
    now = demo.client.get(f"/v1/licences/{ident}/status", headers=h).json()
    assert now["status"] == "revoked"


def test_key_rotation_keeps_old_licences_valid(demo: DemoNode) -> None:
    h = demo.headers("HEALTH")
    birth = {"type": "11100000000013127D003", "holder_name": "李小明", "holder_id": "110105202601010011",
             "fields": {"motherName": "王芳", "birthDate": "2026-01-01"}}
    old = demo.client.post("/v1/licences", json=birth, headers=h).json()
    rotated = demo.client.post("/v1/keys/rotate", headers=h)
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["kid"]
    assert rotated.json()["previous_kid"] and rotated.json()["previous_kid"] != new_kid
    new = demo.client.post("/v1/licences", json=birth, headers=h).json()
    demo.settle()
    old_result, new_result = verify(demo, old["qr"]), verify(demo, new["qr"])
    assert old_result["verdict"] == "valid", old_result
    assert new_result["verdict"] == "valid", new_result
    assert new_result["kid"] == new_kid and old_result["kid"] != new_kid
    # personal fields stay out of the QR by default
    assert "holderId" not in new_result["disclosed"]


def test_every_document_access_is_audited(demo: DemoNode) -> None:
    h = demo.headers("MARKET")
    issued = demo.client.post("/v1/licences", json=business(42), headers=h).json()
    demo.client.get(f"/v1/licences/{issued['identifier']}", headers=h)
    demo.client.get(f"/v1/licences/{issued['identifier']}/qr", params={"format": "text"}, headers=h)
    with Session(demo.runtime.engine) as s:
        entries = list(s.exec(select(AuditEntry).order_by(AuditEntry.seq)))  # type: ignore[arg-type]
    mine = [e for e in entries if e.subject == issued["identifier"]]
    assert [e.action for e in mine] == ["licence.show", "licence.qr"]
    assert verify_chain(entries) is None
    entries[0].detail = '{"forged":true}'
    assert verify_chain(entries) is not None


def test_health_reports_chain_and_lag(demo: DemoNode) -> None:
    demo.settle()
    h = demo.client.get("/health").json()
    assert h["status"] == "ok" and h["chain_id"] == 1337
    assert h["indexer_lag"] == 0 and h["outbox_pending"] == 0
    assert h["chain_head_time"] >= int(time.time()) - 60


def test_a_request_may_keep_given_salts_for_chosen_fields(demo: DemoNode) -> None:
    salt = encode_salt(os.urandom(16))
    earlier = Disclosure(salt, "legalRepresentative", "张三")  # a commitment made before issuing
    r = demo.client.post("/v1/licences", json=business(7, salts={"legalRepresentative": salt}),
                         headers=demo.headers("MARKET"))
    assert r.status_code == 201, r.text
    shown = demo.client.get(f"/v1/licences/{r.json()['identifier']}", headers=demo.headers("MARKET")).json()
    disclosures = [Disclosure.from_json(d) for d in shown["disclosures"]]
    assert earlier in disclosures
    assert earlier.digest() in shown["document"]["credentialSubject"]["_sd"]
    assert all(d.salt != salt for d in disclosures if d.key != "legalRepresentative")
    # in a batch, each request keeps its own and only its own
    two = demo.client.post("/v1/licences/batch", json={"licences": [
        business(8, salts={"address": salt}), business(9)]}, headers=demo.headers("MARKET"))
    assert two.status_code == 201, two.text
    first, second = (demo.client.get(f"/v1/licences/{x['identifier']}", headers=demo.headers("MARKET")).json()
                     for x in two.json()["results"])
    assert [salt, "address", "北京市朝阳区建国路88号"] in first["disclosures"]
    assert all(d[0] != salt for d in second["disclosures"])


def test_unusable_salts_are_refused_before_anything_is_issued(demo: DemoNode) -> None:
    before = licence_count(demo)
    for salts, field in (({"noSuchField": "A" * 22}, None), ({"address": "short"}, "salts.address"),
                         ({"address": "A" * 21 + "B"}, "salts.address")):
        r = demo.client.post("/v1/licences", json=business(salts=salts), headers=demo.headers("MARKET"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text
        assert r.json()["error"].get("field") == field
    assert licence_count(demo) == before


def test_issued_at_is_read_while_the_signing_lock_is_held(demo: DemoNode) -> None:
    """A key rotation holds the department's lock until its new key is valid: a request that
    waited for it must claim the time it signs at, not the time it arrived (else its token would
    claim an issued_at before the new key's valid_from and verify key_not_valid_at_issue)."""
    import threading

    ctx = demo.runtime.ctx
    clock = ctx.clock
    now = [int(time.time())]
    ctx.clock = lambda: now[0]
    try:
        lock = ctx.department_lock("MARKET")
        replies: list[object] = []
        with lock:  # as keys.rotate holds it
            worker = threading.Thread(target=lambda: replies.append(demo.client.post(
                "/v1/licences", json=business(7), headers=demo.headers("MARKET"))))
            worker.start()
            time.sleep(0.5)
            assert not replies, "issuing went ahead while the signing lock was held"
            now[0] += 60  # the rotation's new key becomes valid only now
        worker.join(30)
    finally:
        ctx.clock = clock
    reply = replies[0]
    assert reply.status_code == 201, reply.text  # type: ignore[attr-defined]
    with Session(demo.runtime.engine) as s:
        row = s.get(Licence, reply.json()["identifier"])  # type: ignore[attr-defined]
    assert row is not None and row.issued_at == now[0]
