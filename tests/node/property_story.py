"""Drivers for the property register through the node's API, shared by its API tests.

``Story`` takes a demo node through a whole register story over HTTP; ``assert_mirror_is_chain``
checks the unit mirrored from the node's index equals what the contract's views say.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_utils import keccak
from fastapi.testclient import TestClient

from ledger.domain.identifiers import to_bytes32
from ledger.domain.property import ZERO, guards, seizure_queue, unit_key
from node.chain.abi import contract
from node.runtime import Runtime
from node.services.actions import address_of
from node.services.property_view import mirror

UNIT_NUMBER = "320684413219GB00029F00010002"
ZHANG, LI = "110101199001011234", "11010119920202234X"
OWNERS = [{"id_number": ZHANG, "name": "张三", "share": "60"},
          {"id_number": LI, "name": "李四", "share": "40"}]
BUYER = keccak(text="buyer commitment").hex()
APPLICANT = keccak(text="objector commitment").hex()
ORDER_A, ORDER_B = "(2026)京0105执保101号", "(2026)京0105执保202号"


def post(client: TestClient, headers: dict[str, str], path: str, body: dict[str, Any] | None = None,
         status: int = 200) -> dict[str, Any]:
    """POST and assert the status; return the JSON body."""
    r = client.post(path, json=body or {}, headers=headers)
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    return out


def show(client: TestClient, unit_number: str = UNIT_NUMBER) -> dict[str, Any]:
    r = client.get(f"/v1/property/{unit_number}")
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def refused(r: Any, status: int, code: str) -> dict[str, Any]:
    """Assert a coded refusal and return its error body."""
    assert r.status_code == status, r.text
    err: dict[str, Any] = r.json()["error"]
    assert err["code"] == code, err
    return err


def in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def view(rt: Runtime, fn: str, *args: Any) -> Any:
    abi = contract("PropertyRegistry")
    raw = rt.gateway.call(address_of(rt.settings, "PropertyRegistry"), abi.encode_call(fn, list(args)))
    out = abi.decode_output(fn, raw)
    return out[0] if len(out) == 1 else out


def assert_mirror_is_chain(rt: Runtime, unit_number: str) -> None:
    """Assert the unit mirrored from the index equals the contract's views, field by field."""
    mirrored, _ = mirror(rt, unit_number)
    state, unit = mirrored.state, unit_key(unit_number)
    assert state is not None and mirrored.problem is None and mirrored.chain_valid
    now = rt.gateway.head().timestamp
    title = view(rt, "title", unit)
    assert (title["head"], title["changes"], title["cancelled"]) == (state.head, state.changes, state.cancelled)
    assert (title["registeredAt"], title["updatedAt"]) == (state.registered_at, state.updated_at)
    assert (title["certificateLeaf"], title["contractHash"]) == (state.certificate_leaf, state.contract_hash)
    assert title["ownerConsentMask"] == state.owner_consent_mask
    assert (title["mortgageCount"], title["activeMortgages"]) == (len(state.mortgages), state.active_mortgages)
    assert [(o["commitment"], o["share"]) for o in view(rt, "owners", unit)] == [
        (o.commitment, o.share) for o in state.owners]
    assert view(rt, "preNotice", unit)[:3] == (state.pre_notice_holder, state.pre_notice_expires_at,
                                               state.pre_notice_consented)
    assert view(rt, "objection", unit)[:3] == (state.objection_applicant, state.objection_expires_at,
                                               state.objection_suit_filed)
    for rank, m in enumerate(state.mortgages, 1):
        got = view(rt, "mortgage", unit, rank)
        assert (got["mortgagee"], got["amount"], got["recordedAt"], got["consented"], got["released"]) == (
            m.mortgagee, m.amount, m.recorded_at, m.consented, m.released)
    assert view(rt, "seizureCount", unit) == len(state.seizures)
    for i, s in enumerate(state.seizures):
        got = view(rt, "seizureAt", unit, i)
        assert (got["court"], got["orderHash"], got["from"], got["duration"], got["released"]) == (
            s.court, s.order_hash, s.start, s.duration, s.released)
    seized, court, order, start, end, waiting = view(rt, "activeSeizure", unit)
    active, queued = seizure_queue(state, now)
    assert seized == (active is not None) and waiting == len(queued)
    if active is not None:
        assert (court, order, start, end) == (active.court, active.order_hash, active.start,
                                              active.start + active.duration)
    assert view(rt, "guardsFor", unit, ZERO) == guards(state, ZERO, now)


class Story:
    """A full register story on one unit, department by department, over the node's HTTP API."""

    def __init__(self, client: TestClient, tokens: dict[str, str], runtime: Runtime,
                 unit_number: str = UNIT_NUMBER) -> None:
        self.client, self.tokens, self.rt, self.unit = client, tokens, runtime, unit_number

    def h(self, dept: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[dept]}"}

    def step(self, dept: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return post(self.client, self.h(dept), f"/v1/property/{self.unit}{path}", body)

    def run(self) -> dict[str, Any]:  # noqa: PLR0915
        """Register with two co-owners, mortgage, two seizures (one queued then promoted), an
        objection with a suit, consents; return the final public status."""
        registered = post(self.client, self.h("REGISTRY"), "/v1/property",
                           {"unit_number": self.unit, "owners": OWNERS}, status=201)
        assert registered["change"] == "registered" and registered["unit"] == unit_key(self.unit).hex()
        assert [o["share_ppm"] for o in registered["owners"]] == [600_000, 400_000]
        assert ZHANG not in json.dumps(registered) and LI not in json.dumps(registered)

        mortgage = self.step("REGISTRY", "/mortgages", {"mortgagee": "BANK", "amount": "1200000.50"})
        assert (mortgage["change"], mortgage["rank"], mortgage["amount_fen"]) == ("mortgage_recorded", 1, 120000050)

        first = self.step("COURT", "/seizures", {"order": ORDER_A, "days": 365})
        second = self.step("COURT", "/seizures", {"order": ORDER_B, "days": 30})
        assert first["change"] == second["change"] == "seizure_recorded"
        status = show(self.client, self.unit)
        assert status["seizure"]["court"] == "COURT" and status["seizure"]["order_hash"] == first["order_hash"]
        assert status["seizure"]["waiting"] == 1
        assert status["waiting_seizures"] == [{"court": "COURT", "order_hash": second["order_hash"],
                                               "duration": 30 * 86_400}]
        # while seized, no new mortgage: the contract's guard, named, with its arguments
        err = refused(self.client.post(f"/v1/property/{self.unit}/mortgages", headers=self.h("REGISTRY"),
                                       json={"mortgagee": "BANK", "amount": "1"}), 409, "unit_seized")
        assert err["error"] == "PropertyRegistryUnitSeized" and err["contract"] == "PropertyRegistry"
        assert err["args"]["court"] == to_bytes32("COURT").hex()
        assert err["args"]["orderHash"] == first["order_hash"]

        released = self.step("COURT", "/seizures/release", {"order": ORDER_A})
        status = show(self.client, self.unit)
        promoted = status["seizure"]
        assert promoted["order_hash"] == second["order_hash"] and promoted["waiting"] == 0
        released_at = status["history"][-1]["at"]
        assert status["history"][-1]["transaction_hash"] == released["transaction_hash"]
        assert (promoted["from"], promoted["to"]) == (released_at, released_at + 30 * 86_400)

        objection = self.step("REGISTRY", "/objection", {"applicant": APPLICANT})
        assert objection["expires_at"] == show(self.client, self.unit)["history"][-1]["at"] + 15 * 86_400
        self.step("REGISTRY", "/objection/suit", {"suit": "(2026)京0105民初303号"})
        self.step("REGISTRY", "/pre-notice", {"holder": BUYER, "expires_on": in_days(90)})
        self.step("REGISTRY", "/pre-notice/consent")
        self.step("REGISTRY", "/consent", {"owners": [0, 1]})
        consented = self.step("BANK", "/mortgages/1/consent")
        assert consented["change"] == "mortgage_consented"

        status = show(self.client, self.unit)
        assert status["objection"]["suit_filed"] and status["objection"]["expires_at"] is None
        assert status["objection"]["in_force"]
        assert status["pre_notice"]["consented"] and status["pre_notice"]["holder"] == BUYER
        assert status["mortgages"][0]["consented"] and status["mortgages"][0]["amount"] == "1200000.50"
        assert [o["consented"] for o in status["owners"]] == [True, True]
        assert status["transfer_guards"] == ["seized", "objection"]
        return status
