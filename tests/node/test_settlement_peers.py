"""Settlement when TAX runs its own node: REGISTRY checks the deed-tax voucher the applicant presents.

Node A is the Beijing demo consortium (REGISTRY, HOUSING, BANK …); node B joins the same
chain as a second tax bureau, BJTAX2, with its own PostgreSQL schema, served over real
HTTP at the endpoint it registered. B assesses a case A's HOUSING opened, so A holds none
of the vouchers: A refuses to settle without the deed-tax voucher (coded), and with its QR
fetches the voucher's Merkle proof from B, checks it against the root the assessment
anchored, and settles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ledger.domain.property import unit_key
from ledger.store.models import PeerProof
from node.app import create_app
from node.chain.anvil import AnvilProcess
from node.chain.rpc import RpcChain
from node.config import load_settings
from node.keys import KeyStore
from node.runtime import Runtime
from node.services import actions, council, keys
from node.services.bootstrap import demo_uscc, init_demo, read_tokens
from node.services.context import Identity
from node.services.joining import init_join
from tests.conftest import fresh_postgres_schema
from tests.node.conftest import DemoNode
from tests.node.served import ServedApp

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]

BEIJING = "110000"
TAX2 = "BJTAX2"
UNIT_NUMBER = "110105001002GB00123F00450061"
BUYER = {"name": "卫七", "id_number": "110101199712121234", "share_percent": "100"}
CASE = {"unit_number": UNIT_NUMBER, "contract_number": "BJ-2026-000061", "price": "2500000", "area": "80",
        "acquired": "2016-03-01", "contract_date": "2026-03-01", "buyer_homes": 1, "buyers": [BUYER],
        "seller_account": "0x" + "6c" * 20}
CONTRACTS = ("property_registry_address", "settlement_token_address", "fee_schedule_address",
             "transfer_cases_address")


@dataclass
class Pair:
    """A's node with every demo department; B's node, the second tax bureau, served over HTTP."""

    a: DemoNode
    b: DemoNode


def _node(data: Path, **overrides: Any) -> DemoNode:
    settings = load_settings(data, background=False, batch_size=64, **overrides)
    runtime = Runtime(settings)
    return DemoNode(data, runtime, TestClient(create_app(settings, runtime), raise_server_exceptions=False),
                    read_tokens(data))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("two-tax")
    with AnvilProcess(chain_id=31337) as anvil, fresh_postgres_schema() as db_a, fresh_postgres_schema() as db_b:
        init_demo(root / "a", chain=anvil.url, db_url=db_a, chain_id=31337, region=BEIJING)
        a = _node(root / "a")
        members = [KeyStore(root / "a" / "keys").account(f"council-{i}") for i in (1, 2)]
        gateway = RpcChain(anvil.url)
        served_b = ServedApp()
        identity = Identity(code=TAX2, name="国家税务总局北京市第二税务分局", uscc=demo_uscc(BEIJING, 20),
                            region=BEIJING, roles=("TAX", "ISSUER"), endpoint=served_b.url)
        joined = init_join(root / "b", chain=anvil.url, registry_address=a.runtime.settings.registry_address,
                           registry_block=a.runtime.settings.registry_block, identity=identity,
                           db_url=db_b, chain_id=31337, fund=True)
        council.enact(gateway, a.runtime.ctx.registry, members, council.add_department_call(identity, joined.account))
        # B watches the same case contracts as A (a joining node learns their addresses from its operator).
        b = _node(root / "b", **{k: getattr(a.runtime.settings, k) for k in CONTRACTS})
        keys.rotate(b.runtime, TAX2)
        # like the demo's TAX, BJTAX2 lets the cases anchor its e-tax vouchers in its name
        actions.perform(b.runtime, TAX2, "LicenceRegistry", "setAnchorDelegate",
                        [actions.address_of(b.runtime.settings, "TransferCases"), True], to=b.runtime.ctx.registry)
        served_b.start(create_app(b.runtime.settings, b.runtime))
        a.runtime.tick()
        try:
            yield Pair(a, b)
        finally:
            served_b.stop()
            a.runtime.stop()
            b.runtime.stop()
            gateway.close()


def _ok(r: Any) -> Any:
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_registry_settles_with_a_voucher_from_another_tax_node(pair: Pair) -> None:
    a, b = pair.a, pair.b
    _ok(a.client.post("/v1/property", json={"unit_number": UNIT_NUMBER, "owners": [
        {"id_number": "110101197301011234", "name": "蒋四", "share": "100"}]}, headers=a.headers("REGISTRY")))
    actions.perform(a.runtime, "REGISTRY", "PropertyRegistry", "recordOwnerConsent", [unit_key(UNIT_NUMBER), 1])
    opened = _ok(a.client.post("/v1/cases", json=CASE, headers=a.headers("HOUSING")))
    cid = opened["case_id"]
    b.runtime.tick()  # B indexes the case
    assessed = _ok(b.client.post(f"/v1/cases/{cid}/assess", headers=b.headers(TAX2)))
    a.runtime.tick()
    _ok(a.client.post(f"/v1/cases/{cid}/fund", json={"mint": True}, headers=a.headers("BANK")))
    at_counter: dict[str, Any] = {"buyers": [{"name": BUYER["name"], "disclosure": opened["buyers"][0]["disclosure"]}]}

    required = a.client.post(f"/v1/cases/{cid}/settle", json=at_counter, headers=a.headers("REGISTRY"))
    assert required.status_code == 400 and required.json()["error"]["code"] == "deed_voucher_required", required.text
    vat = a.client.post(f"/v1/cases/{cid}/settle", json={**at_counter, "deed_voucher": assessed["vouchers"][0]["qr"]},
                        headers=a.headers("REGISTRY"))
    assert vat.status_code == 400 and vat.json()["error"]["code"] == "deed_voucher_not_for_case", vat.text

    deed = assessed["vouchers"][1]
    settled = _ok(a.client.post(f"/v1/cases/{cid}/settle", json={**at_counter, "deed_voucher": deed["qr"]},
                                headers=a.headers("REGISTRY")))
    with Session(a.runtime.engine) as s:
        proof = s.get(PeerProof, deed["leaf"])
    # A proved the voucher with B's proof, checked against the root B's assessment anchored.
    assert proof is not None and proof.department == TAX2
    assert proof.root == assessed["assessment"]["voucherRoot"]
    verdict = _ok(a.client.post("/v1/verify", json={"token": settled["certificate"]["qr"]}))
    assert verdict["verdict"] == "valid", verdict
    assert _ok(a.client.get(f"/v1/cases/{cid}"))["state"] == "settled"
