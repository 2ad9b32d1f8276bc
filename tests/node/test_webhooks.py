"""Webhooks on a demo node: subscriptions over HTTP, signed deliveries to a real receiver, retries.

Transfer cases are not on chain yet; their ids have the shape of a licence leaf, so a
licence's leaf stands in for a case id: its BatchAnchored (a one-licence batch's root is
its leaf), LicenceSuspended, LicenceReinstated and LicenceRevoked events are the steps.
The sender is driven pass by pass with a pinned clock (``run_once(now)``), never slept on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from node.services.delivery import DeliveryReport
from tests.node.conftest import DemoNode, _open
from tests.node.receiver import DROP, Receiver
from tests.node.steps import change, events, licence
from tests.test_cli_e2e import free_port

BASE_MS, CAP_MS, ATTEMPTS = 1_000, 4_000, 4


@pytest.fixture(scope="module")
def node(demo_data: Path) -> Iterator[DemoNode]:
    from node.services.bootstrap import read_tokens

    rt, client = _open(demo_data, batch_size=64, webhook_retry_base_ms=BASE_MS,
                       webhook_retry_cap_ms=CAP_MS, webhook_max_attempts=ATTEMPTS, webhook_timeout_ms=5_000)
    yield DemoNode(demo_data, rt, client, read_tokens(demo_data))
    rt.stop()


@dataclass
class Hook:
    """A subscription to a leaf's events and the receiver it posts to."""

    leaf: str
    id: int
    receiver: Receiver

    @property
    def path(self) -> str:
        return f"/v1/cases/{self.leaf}/webhooks/{self.id}"


@pytest.fixture
def hooks(node: DemoNode) -> Iterator[Callable[..., Hook]]:
    made: list[Hook] = []

    def make(leaf: str, answers: tuple[int, ...] = (), replay: bool = True, url: str | None = None) -> Hook:
        receiver = Receiver(answers)
        r = node.client.post(f"/v1/cases/{leaf}/webhooks", json={"url": url or receiver.url, "replay": replay},
                             headers=node.headers("MARKET"))
        assert r.status_code == 201, r.text
        receiver.secret = r.json()["secret"]
        made.append(Hook(leaf, r.json()["id"], receiver))
        return made[-1]

    yield make
    for hook in made:  # a deleted subscription's pending deliveries are cancelled: later tests start clean
        node.client.delete(hook.path, headers=node.headers("MARKET"))
        hook.receiver.close()


def deliveries(node: DemoNode, hook: Hook) -> list[dict[str, Any]]:
    r = node.client.get(hook.path + "/deliveries", headers=node.headers("MARKET"))
    assert r.status_code == 200, r.text
    return list(r.json())


def drain(node: DemoNode, now: float | None = None) -> list[DeliveryReport]:
    """Run sender passes at ``now`` until one attempts nothing."""
    reports = []
    for _ in range(50):
        reports.append(node.runtime.deliveries.run_once(now))
        if reports[-1].attempted == 0:
            return reports
    raise AssertionError("the sender never ran out of due deliveries")


def error(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_bad_input_gets_coded_errors(node: DemoNode, hooks: Callable[..., Hook]) -> None:
    c, h = node.client, node.headers("MARKET")
    good = "ab" * 32
    for bad in ("zz", "ab" * 31, "ab" * 33, "g" * 64, "0x" + "ab" * 31):
        assert error(c.post(f"/v1/cases/{bad}/webhooks", json={"url": "http://127.0.0.1/x"}, headers=h)) \
            == (400, "invalid_case_id")
        assert error(c.get(f"/v1/cases/{bad}/webhooks", headers=h)) == (400, "invalid_case_id")
        assert error(c.delete(f"/v1/cases/{bad}/webhooks/1", headers=h)) == (400, "invalid_case_id")
        assert error(c.get(f"/v1/cases/{bad}/events")) == (400, "invalid_case_id")
        assert error(c.get(f"/v1/cases/{bad}/events", params={"format": "json"})) == (400, "invalid_case_id")
    for url in ("ftp://127.0.0.1/x", "http:///x", "127.0.0.1/x", "http://u:p@127.0.0.1/x",
                "http://127.0.0.1:99999/x", "http://127.0.0.1/ x", "http://127.0.0.1/x#f"):
        r = c.post(f"/v1/cases/{good}/webhooks", json={"url": url}, headers=h)
        assert error(r) == (400, "invalid_webhook_url"), url
    for url in ("https://example.org/hook", "http://10.0.0.1/hook", "http://[::2]/hook"):
        r = c.post(f"/v1/cases/{good}/webhooks", json={"url": url}, headers=h)
        assert error(r) == (400, "webhook_host_not_allowed"), url
    assert error(c.post(f"/v1/cases/{good}/webhooks", json={}, headers=h)) == (422, "invalid_request")
    assert error(c.post(f"/v1/cases/{good}/webhooks", json={"url": "http://127.0.0.1/x"})) == (401, "unauthorized")
    assert error(c.get(f"/v1/cases/{good}/events", headers={"last-event-id": "x1"})) == (400, "invalid_last_event_id")
    assert error(c.delete(f"/v1/cases/{good}/webhooks/999999", headers=h)) == (404, "webhook_not_found")

    hook = hooks("AB" * 32)  # case ids are case-insensitive and come back lowercase
    assert c.get(f"/v1/cases/0x{good}/webhooks", headers=h).json()[0]["subject"] == good
    listed = c.get(f"/v1/cases/{good}/webhooks", headers=h).json()
    assert [w["id"] for w in listed] == [hook.id] and "secret" not in listed[0] and "secret_sealed" not in listed[0]
    police = node.headers("POLICE")  # another department neither sees nor deletes MARKET's webhook
    assert c.get(f"/v1/cases/{good}/webhooks", headers=police).json() == []
    assert error(c.delete(hook.path, headers=police)) == (404, "webhook_not_found")
    assert error(c.get(hook.path + "/deliveries", headers=police)) == (404, "webhook_not_found")


def test_every_step_is_delivered_signed_once_and_in_order(node: DemoNode, hooks: Callable[..., Hook]) -> None:
    ident, leaf = licence(node, "order")
    hook = hooks(leaf)  # after the anchoring: replayed first
    change(node, ident, "suspend", 2)
    change(node, ident, "reinstate")
    change(node, ident, "revoke", 5)
    steps = events(node, leaf)
    assert [e["name"] for e in steps] == ["BatchAnchored", "LicenceSuspended", "LicenceReinstated",
                                          "LicenceRevoked"]

    reports = drain(node)
    assert sum(r.delivered for r in reports) == 4
    assert len(reports) == 5  # one per pass: a subscription's next delivery waits for the one before
    got = hook.receiver.received
    assert [g.signature for g in got] == ["ok"] * 4
    assert [g.event_key for g in got] == [str(e["id"]) for e in steps]
    for g, e in zip(got, steps, strict=True):
        assert g.body == {"type": "event", "subscription": hook.id, **e}
        assert g.headers["content-type"] == "application/json"
    assert [d["state"] for d in deliveries(node, hook)] == ["delivered"] * 4
    assert all(d["attempts"] == 1 and d["last_status"] == 204 for d in deliveries(node, hook))


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers(
        node: DemoNode, hooks: Callable[..., Hook]) -> None:
    ident, leaf = licence(node, "retry")
    hook = hooks(leaf, answers=(500, DROP, 503))  # then 204
    now = time.time()
    hook.receiver.clock = lambda: now
    delays = []
    for attempt in range(1, 5):
        report = node.runtime.deliveries.run_once(now)
        assert report.attempted == 1
        [d] = deliveries(node, hook)
        assert d["attempts"] == attempt
        if d["state"] == "delivered":
            break
        delays.append(d["next_attempt_at_ms"] - int(now * 1000))
        assert node.runtime.deliveries.run_once(now + delays[-1] / 1000 - 0.01).attempted == 0  # not yet due
        now = d["next_attempt_at_ms"] / 1000 + 0.0005
    assert d["state"] == "delivered" and d["last_status"] == 204 and d["last_error"] is None
    assert len(delays) == 3 and delays == sorted(delays)
    for n, delay in enumerate(delays, start=1):
        step = min(CAP_MS, BASE_MS * 2 ** (n - 1))
        assert step / 2 <= delay <= step
    got = hook.receiver.received
    assert [g.answered for g in got] == [500, DROP, 503, 204]
    assert len({g.event_key for g in got}) == 1 and all(g.signature == "ok" for g in got)
    assert [g.headers["regnode-attempt"] for g in got] == ["1", "2", "3", "4"]


def test_a_receiver_down_past_the_attempts_fails_and_the_queue_moves_on(
        node: DemoNode, hooks: Callable[..., Hook]) -> None:
    ident, leaf = licence(node, "down")
    down = hooks(leaf, url=f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    failing = hooks(leaf, answers=(502,) * ATTEMPTS)  # answers, but never 2xx for the first event
    change(node, ident, "suspend", 2)
    now = time.time()
    failing.receiver.clock = lambda: now
    for _ in range(ATTEMPTS - 1):
        drain(node, now)
        now += CAP_MS / 1000
    for hook in (down, failing):
        first, second = deliveries(node, hook)
        assert first["state"] == "pending" and first["attempts"] == ATTEMPTS - 1
        assert second["state"] == "pending" and second["attempts"] == 0  # waits its turn
    drain(node, now)  # the last attempt of the first event fails, then the second goes out
    for hook in (down, failing):
        first, second = deliveries(node, hook)
        assert first["state"] == "failed" and first["attempts"] == ATTEMPTS  # kept for inspection
        assert second["attempts"] == 1
    assert "ConnectError" in deliveries(node, down)[0]["last_error"]
    assert deliveries(node, down)[1]["state"] == "pending"  # still down: retried later
    assert deliveries(node, failing)[0]["last_status"] == 502
    assert deliveries(node, failing)[1]["state"] == "delivered"
    assert [g.body["name"] for g in failing.receiver.received] == ["BatchAnchored"] * ATTEMPTS + ["LicenceSuspended"]


def test_deleting_a_webhook_cancels_what_it_was_owed(node: DemoNode, hooks: Callable[..., Hook]) -> None:
    ident, leaf = licence(node, "delete")
    kept, dropped = hooks(leaf, replay=False), hooks(leaf)
    change(node, ident, "suspend", 1)
    r = node.client.delete(dropped.path, headers=node.headers("MARKET"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert error(node.client.delete(dropped.path, headers=node.headers("MARKET"))) == (404, "webhook_not_found")
    drain(node)
    assert [g.body["name"] for g in kept.receiver.received] == ["LicenceSuspended"]  # no replay asked
    assert dropped.receiver.received == []
    listed = node.client.get(f"/v1/cases/{leaf}/webhooks", headers=node.headers("MARKET")).json()
    assert [w["id"] for w in listed] == [kept.id]


def test_a_department_has_a_limit_of_webhooks_per_case(node: DemoNode, hooks: Callable[..., Hook]) -> None:
    case = "cd" * 32
    for _ in range(node.runtime.settings.webhook_limit):
        hooks(case)
    r = node.client.post(f"/v1/cases/{case}/webhooks", json={"url": "http://127.0.0.1/x"},
                         headers=node.headers("MARKET"))
    assert error(r) == (409, "webhook_limit_reached")
    r = node.client.post(f"/v1/cases/{case}/webhooks", json={"url": "http://127.0.0.1/x"},
                         headers=node.headers("POLICE"))
    assert r.status_code == 201  # the limit is per department
    node.client.delete(f"/v1/cases/{case}/webhooks/{r.json()['id']}", headers=node.headers("POLICE"))
