"""A real transfer case, followed: every step's Case* event reaches a subscribed receiver, in order.

The case runs through the node's case API on the embedded chain (HOUSING opens, TAX
assesses, BANK funds, REGISTRY settles); the receiver subscribes right after the case is
opened, so CaseOpened comes by replay and the later steps as they are indexed.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.property import unit_key
from node.services import actions
from tests.node.conftest import DemoNode
from tests.node.receiver import Receiver

UNIT_NUMBER = "110105001002GB00123F00450099"
CASE = {"unit_number": UNIT_NUMBER, "contract_number": "BJ-2026-000999", "price": "3000000", "area": "75",
        "acquired": "2019-03-01", "contract_date": "2026-03-01", "buyer_homes": 1,
        "buyers": [{"name": "赵六", "id_number": "110101199105051234", "share_percent": "100"}],
        "seller_account": "0x" + "5f" * 20}


def _post(demo: DemoNode, dept: str, path: str, body: dict[str, Any] | None = None) -> Any:
    r = demo.client.post(path, json=body, headers=demo.headers(dept))
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_every_step_of_a_case_reaches_its_subscriber(demo: DemoNode) -> None:
    unit = unit_key(UNIT_NUMBER)
    _post(demo, "REGISTRY", "/v1/property", {"unit_number": UNIT_NUMBER, "owners": [
        {"id_number": "110101198002021234", "name": "孙七", "share": "100"}]})
    actions.perform(demo.runtime, "REGISTRY", "PropertyRegistry", "recordOwnerConsent", [unit, 1])
    opened = _post(demo, "HOUSING", "/v1/cases", CASE)
    case = opened["case_id"]
    receiver = Receiver()
    try:
        hook = _post(demo, "HOUSING", f"/v1/cases/{case}/webhooks", {"url": receiver.url})
        receiver.secret = hook["secret"]
        _post(demo, "TAX", f"/v1/cases/{case}/assess")
        _post(demo, "BANK", f"/v1/cases/{case}/fund", {"mint": True})
        _post(demo, "REGISTRY", f"/v1/cases/{case}/settle",
              {"buyers": [{"name": "赵六", "disclosure": opened["buyers"][0]["disclosure"]}]})
        demo.settle()
        while demo.runtime.deliveries.run_once().attempted:
            pass
        listed = demo.client.get(f"/v1/cases/{case}/events", params={"format": "json"}).json()["events"]
        steps = [e for e in listed if e["name"].startswith("Case")]
        assert [e["name"] for e in steps] == ["CaseOpened", "CaseAssessed", "CaseFunded", "CaseSettled"]
        got = receiver.received
        assert [(g.body["name"], g.event_key) for g in got] == [(e["name"], str(e["id"])) for e in listed]
        assert all(g.signature == "ok" and g.body["subject"] == case.removeprefix("0x") for g in got)
    finally:
        receiver.close()
