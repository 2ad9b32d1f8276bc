"""``POST /v1/licences/batch`` reads its body in Rust (node.api.licences.batch_body) and refuses as FastAPI did.

Every refusal is compared with what FastAPI's own body handling answers for the same
request: a reference app declares ``body: LicenceBatchCreate`` on the same dependencies and
error handlers. Good bodies must come out as the very models FastAPI's path would make.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from node.api import errors
from node.api.deps import DepartmentDep, RuntimeDep
from node.api.licences import batch_body
from node.api.schemas import CheckedLicenceBatchCreate, LicenceBatchCreate
from tests.node.conftest import DemoNode

BUSINESS = "11100000000013338W011"
GOOD = {"type": BUSINESS, "holder_name": "北京示范科技有限公司", "holder_id": "91110105MA01ABCD2X",
        "holder_id_type": "USCC", "fields": {"address": "北京市朝阳区建国路88号", "capital": 100}}


def _with(**change: Any) -> dict[str, Any]:
    return {**GOOD, **change}


# bodies FastAPI refuses, as (raw bytes, content type)
REFUSED: list[tuple[bytes, str | None]] = [
    (b"", "application/json"),
    (b"{not json", "application/json"),
    (b"\xff\xfe{}", "application/json"),
    (b"[]", "application/json"),
    (b"{}", "application/json"),
    (json.dumps({"licences": []}).encode(), "application/json"),
    (json.dumps({"licences": [GOOD], "extra": 1}).encode(), "application/json"),
    (json.dumps({"licences": [GOOD]}).encode(), "text/plain"),
    (json.dumps({"licences": [GOOD]}).encode(), None),
    (json.dumps({"licences": [GOOD, _with(type="")]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(fields={"bad key": "v"})]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(fields={"k": "v" * 501})]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(fields={"k": [1]})]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(fields={f"k{i}": "v" for i in range(80)})]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(valid_until="2031-02-30"), _with(holder_id=None)]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(disclose="holderName"), _with(salts={"a": 1})]}).encode(), "application/json"),
    (json.dumps({"licences": [_with(nope=True)] * 3}).encode(), "application/vnd.api+json"),
    (b'{"licences": [{"type": "T", "holder_name": "a", "holder_id": "x", "fields": {"a": NaN}}]}', "application/json"),
    (b'{"licences": [{"type": "T", "holder_name": "\\ud800", "holder_id": "x"}]}', "application/json"),
]

# bodies FastAPI accepts
ACCEPTED: list[bytes] = [
    json.dumps({"licences": [GOOD]}).encode(),
    json.dumps({"licences": [GOOD, _with(valid_until="2031-12-31", valid_from="2026-01-01", disclose=[],
                                         salts={"address": "A" * 22}, fields={})]}, ensure_ascii=False).encode(),
    json.dumps({"licences": [_with(fields={"a": 5.0, "b": True, "c": 10**30, "d": "v" * 500},
                                   valid_until=1_893_456_000)]}).encode(),
    json.dumps({"licences": [_with(type="X")] * 3}).encode(),
    # a field name that ends in a newline passes LicenceCreate's check ("$"), so it must pass here too
    json.dumps({"licences": [_with(fields={"name\n": "v"})]}).encode(),
]


@pytest.fixture(scope="module")
def reference(demo: DemoNode) -> TestClient:
    """An app whose batch route declares its body the plain FastAPI way, with the node's deps and errors."""
    app = FastAPI()
    app.state.runtime = demo.runtime
    errors.install(app)

    @app.post("/v1/licences/batch", status_code=201)
    def issue_batch(body: LicenceBatchCreate, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, int]:
        return {"count": len(body.licences)}

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("authorised", [True, False])
@pytest.mark.parametrize("raw,content_type", REFUSED)
def test_refusals_are_fastapis(demo: DemoNode, reference: TestClient, raw: bytes, content_type: str | None,
                               authorised: bool) -> None:
    headers = demo.headers("MARKET") if authorised else {"authorization": "Bearer wrong"}
    if content_type:
        headers = {**headers, "content-type": content_type}
    ours = demo.client.post("/v1/licences/batch", content=raw, headers=headers)
    theirs = reference.post("/v1/licences/batch", content=raw, headers=headers)
    assert ours.status_code == theirs.status_code and ours.status_code in (400, 401, 422)
    assert ours.json() == theirs.json()


def _read(raw: bytes) -> object:
    """Return what the route's body dependency makes of ``raw`` sent as JSON."""
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": raw, "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/v1/licences/batch",
                       "headers": [(b"content-type", b"application/json")]}, receive)
    return asyncio.run(batch_body(request))


@pytest.mark.parametrize("raw", ACCEPTED)
def test_good_bodies_read_as_fastapi_reads_them(raw: bytes) -> None:
    body = _read(raw)
    plain = LicenceBatchCreate.model_validate(json.loads(raw), from_attributes=True)
    assert isinstance(body, LicenceBatchCreate | CheckedLicenceBatchCreate)
    assert [c.model_dump() for c in body.licences] == [p.model_dump() for p in plain.licences]


def test_a_typical_batch_takes_the_rust_path() -> None:
    assert isinstance(_read(ACCEPTED[1]), CheckedLicenceBatchCreate)


def test_the_batch_body_is_documented(demo: DemoNode) -> None:
    doc = demo.client.get("/openapi.json").json()
    body = doc["paths"]["/v1/licences/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["licences"]["items"] == {"$ref": "#/components/schemas/LicenceCreate"}
    assert "LicenceCreate" in doc["components"]["schemas"] and body["required"] == ["licences"]
