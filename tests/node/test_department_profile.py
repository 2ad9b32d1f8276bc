"""The department profile: a node on a real anvil over JSON-RPC with PostgreSQL, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.app import create_app
from node.chain.anvil import AnvilProcess
from node.config import load_settings
from node.runtime import Runtime
from node.services.bootstrap import init_demo, read_tokens

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]


@pytest.fixture
def anvil_url() -> Iterator[str]:
    with AnvilProcess(chain_id=31337) as anvil:
        yield anvil.url


def test_issue_anchor_verify_revoke_on_anvil_and_postgres(tmp_path: Path, anvil_url: str,
                                                           postgres_url: str) -> None:
    data = tmp_path / "data"
    init_demo(data, chain=anvil_url, db_url=postgres_url, chain_id=31337)
    settings = load_settings(data, background=False, batch_size=16)
    rt = Runtime(settings)
    try:
        client = TestClient(create_app(settings, rt), raise_server_exceptions=False)
        h = {"authorization": f"Bearer {read_tokens(data)['MARKET']}"}
        batch = [{"type": "11100000000013338W011", "holder_name": f"企业{i}", "holder_id": f"ID{i}"}
                 for i in range(40)]
        r = client.post("/v1/licences/batch", json={"licences": batch}, headers=h)
        assert r.status_code == 201, r.text
        results = r.json()["results"]
        rt.settle()
        verdicts = {client.post("/v1/verify", json={"token": x["qr"]}).json()["verdict"] for x in results}
        assert verdicts == {"valid"}
        ident = results[0]["identifier"]
        assert client.post(f"/v1/licences/{ident}/revoke", json={"reason": 1}, headers=h).status_code == 202
        rt.settle()
        assert client.post("/v1/verify", json={"token": results[0]["qr"]}).json()["verdict"] == "revoked"
        assert client.post("/v1/verify", json={"token": results[1]["qr"]}).json()["verdict"] == "valid"
        health = client.get("/health").json()
        assert health["chain_id"] == 31337 and health["indexer_lag"] == 0
    finally:
        rt.stop()
