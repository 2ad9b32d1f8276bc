"""Reserved licences (a case's e-tax vouchers) and the node dying at the worst moment.

Each test makes the node "die" at one crash point by raising from the step that would
come next, then opens the node again on the same data folder, as a restart after
``kill -9`` would: a voucher whose assessment never landed is void, never ``valid``;
the case is assessed again and nothing the node accepted is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from ledger.domain.property import unit_key
from ledger.store.models import AnchorBatch, Licence, OutboxEntry, PendingLeaf
from node.errors import ContractReverted
from node.services import actions, cases, reserved
from node.services.bootstrap import read_tokens
from tests.node.conftest import DemoNode, _open

UNIT_NUMBER = "110105001002GB00123F00450041"
CASE = {"unit_number": UNIT_NUMBER, "price": "2000000", "area": "60", "acquired": "2018-03-01",
        "contract_date": "2026-03-01", "buyer_homes": 1,
        "buyers": [{"name": "钱二", "id_number": "110101199409091234", "share_percent": "100"}],
        "seller_account": "0x" + "6b" * 20}


class Crash(Exception):
    """Stands for the process dying at this point."""


@dataclass
class Restartable:
    """A demo node that a test can stop and open again on the same data."""

    node: DemoNode

    def restart(self) -> DemoNode:
        self.node.runtime.stop()
        rt, client = _open(self.node.data, batch_size=64)
        self.node = DemoNode(self.node.data, rt, client, read_tokens(self.node.data))
        return self.node


@pytest.fixture(scope="module")
def node(demo_data: Path) -> Iterator[Restartable]:
    rt, client = _open(demo_data, batch_size=64)
    holder = Restartable(DemoNode(demo_data, rt, client, read_tokens(demo_data)))
    demo = holder.node
    r = demo.client.post("/v1/property", json={"unit_number": UNIT_NUMBER, "owners": [
        {"id_number": "110101197101011234", "name": "孙三", "share": "100"}]}, headers=demo.headers("REGISTRY"))
    assert r.status_code == 201, r.text
    actions.perform(rt, "REGISTRY", "PropertyRegistry", "recordOwnerConsent", [unit_key(UNIT_NUMBER), 1])
    yield holder
    holder.node.runtime.stop()


def _open_case(demo: DemoNode, contract: str) -> str:
    r = demo.client.post("/v1/cases", json={**CASE, "contract_number": contract}, headers=demo.headers("HOUSING"))
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def _vouchers(demo: DemoNode, cid: str) -> list[Licence]:
    with Session(demo.runtime.engine) as s:
        return list(s.exec(select(Licence).where(col(Licence.licence_type) == cases.VOUCHER_TYPE,
                                                 col(Licence.disclosures).contains(cid))))


def _verdict(demo: DemoNode, token: str) -> dict[str, Any]:
    r = demo.client.post("/v1/verify", json={"token": token})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _finish(demo: DemoNode, cid: str) -> None:
    """Assess the case again (the retry a client makes) and cancel it, freeing the unit."""
    again = demo.client.post(f"/v1/cases/{cid}/assess", headers=demo.headers("TAX"))
    assert again.status_code == 200, again.text
    for v in again.json()["vouchers"]:
        assert _verdict(demo, v["qr"])["verdict"] == "valid"
    assert demo.client.post(f"/v1/cases/{cid}/cancel", headers=demo.headers("HOUSING")).status_code == 200


def test_dying_between_issuing_and_queuing_leaves_void_vouchers(node: Restartable,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    demo = node.node
    cid = _open_case(demo, "RESERVED-1")

    def die(*_: Any, **__: Any) -> int:
        raise Crash

    monkeypatch.setattr(actions, "submit", die)
    with pytest.raises(Crash):
        cases.assess(demo.runtime, "TAX", cid)
    monkeypatch.undo()
    vouchers = _vouchers(demo, cid)
    assert len(vouchers) == 3 and {v.status for v in vouchers} == {"active"}
    with Session(demo.runtime.engine) as s:
        batch = s.get(AnchorBatch, vouchers[0].batch_id)
        assert batch is not None and batch.outbox_id is None
        # written with their batch: the anchorer never sees them, so they cannot be anchored on their own
        assert not s.exec(select(PendingLeaf).where(
            col(PendingLeaf.identifier).in_([v.identifier for v in vouchers]))).all()
    demo.runtime.settle()
    assert _verdict(demo, vouchers[1].token)["verdict"] == "not_anchored_yet"

    demo = node.restart()  # the start-up sweep finds the batch no call will ever anchor
    vouchers = _vouchers(demo, cid)
    assert {v.status for v in vouchers} == {"void"}
    answer = _verdict(demo, vouchers[1].token)
    assert answer["verdict"] == "not_anchored_yet" and answer["void"] is True, answer
    refused = demo.client.post(f"/v1/licences/{vouchers[1].identifier}/revoke", json={"reason": 1},
                               headers=demo.headers("TAX"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict", refused.text
    _finish(demo, cid)


def test_a_refused_call_voids_its_vouchers_even_when_the_node_dies_first(
        node: Restartable, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = node.node
    cid = _open_case(demo, "RESERVED-2")
    record = cases.load(demo.runtime, cid)
    # HOUSING's cancel is queued first: the assessment passes its preflight, then is refused when mined.
    cancel = actions.preflight(demo.runtime.ctx, "HOUSING", cases.CASES, "cancel", [record.unit, record.contract_hash])
    actions.submit(demo.runtime, "HOUSING", cancel)

    def die(*_: Any, **__: Any) -> int:
        raise Crash

    monkeypatch.setattr(reserved, "void", die)  # the node dies before it voids them itself
    with pytest.raises(Crash):
        cases.assess(demo.runtime, "TAX", cid)
    monkeypatch.undo()
    vouchers = _vouchers(demo, cid)
    with Session(demo.runtime.engine) as s:
        batch = s.get(AnchorBatch, vouchers[0].batch_id)
        assert batch is not None and batch.outbox_id is not None
        entry = s.get(OutboxEntry, batch.outbox_id)
        assert entry is not None and entry.state == "failed" and entry.error_code == "TransferCasesWrongState"
    assert {v.status for v in vouchers} == {"active"}
    assert reserved.orphans(demo.runtime) == [vouchers[0].batch_id]

    demo = node.restart()
    assert {v.status for v in _vouchers(demo, cid)} == {"void"}
    assert _verdict(demo, vouchers[0].token)["void"] is True
    assert demo.client.get(f"/v1/cases/{cid}").json()["state"] == "cancelled"


def test_a_refusal_the_node_survives_voids_at_once(node: Restartable) -> None:
    demo = node.node
    cid = _open_case(demo, "RESERVED-3")
    record = cases.load(demo.runtime, cid)
    cancel = actions.preflight(demo.runtime.ctx, "HOUSING", cases.CASES, "cancel", [record.unit, record.contract_hash])
    actions.submit(demo.runtime, "HOUSING", cancel)
    with pytest.raises(ContractReverted) as refused:
        cases.assess(demo.runtime, "TAX", cid)
    assert refused.value.code == "wrong_state"
    assert {v.status for v in _vouchers(demo, cid)} == {"void"}
    assert reserved.orphans(demo.runtime, grace_ms=0) == []
