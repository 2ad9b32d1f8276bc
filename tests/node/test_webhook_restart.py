"""At least once across a crash: a POST on the wire when `regnode serve` is killed -9 is sent again.

The receiver kills the node while the webhook request is in flight, before answering;
the delivery was never recorded, so the restarted node sends it again, byte for byte,
with the same ``Regnode-Event-Id`` a receiver dedupes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.services.bootstrap import init_demo, read_tokens
from tests.node.receiver import Received, Receiver
from tests.test_cli_e2e import BUSINESS, Server, free_port

pytestmark = pytest.mark.slow


def wait_until(what: str, found: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


def test_a_delivery_cut_by_a_crash_is_sent_again_after_restart(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    init_demo(data, port=port)
    h = {"authorization": f"Bearer {read_tokens(data)['MARKET']}"}
    servers = [Server(data, port, batch_interval_ms="100")]

    def crash_on_first(_: Received) -> None:
        if not receiver.received:
            servers[-1].kill9()

    receiver = Receiver(on_request=crash_on_first)
    try:
        with httpx.Client(base_url=servers[0].url, timeout=30) as http:
            issued = http.post("/v1/licences", json={"type": BUSINESS, "holder_name": "企业", "holder_id": "X1"},
                               headers=h).json()
            ident = issued["identifier"]
            shown = wait_until("anchored", lambda: (lic := http.get(f"/v1/licences/{ident}", headers=h).json())
                               ["anchor"] and lic["anchor"]["block_number"] is not None and lic)
            leaf = shown["leaf"]
            r = http.post(f"/v1/cases/{leaf}/webhooks", json={"url": receiver.url, "replay": False}, headers=h)
            assert r.status_code == 201, r.text
            receiver.secret, hook = r.json()["secret"], r.json()["id"]
            assert http.post(f"/v1/licences/{ident}/revoke", json={"reason": 5}, headers=h).status_code == 202

        receiver.wait_for(1)
        assert servers[0].proc.poll() is not None  # killed with the POST unanswered
        servers.append(Server(data, port, batch_interval_ms="100"))
        first, again = receiver.wait_for(2)
        assert first.body["name"] == "LicenceRevoked" and first.body["subject"] == leaf
        assert again.event_key == first.event_key and again.raw == first.raw
        assert first.signature == again.signature == "ok"
        with httpx.Client(base_url=servers[-1].url, timeout=30) as http:
            [d] = wait_until("recorded", lambda: [d for d in http.get(
                f"/v1/cases/{leaf}/webhooks/{hook}/deliveries", headers=h).json() if d["state"] == "delivered"])
        assert d["attempts"] == 1  # the attempt the crash cut short was never recorded
    finally:
        servers[-1].stop()
        receiver.close()
