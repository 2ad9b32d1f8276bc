"""A case's events as Server-Sent Events, through a real uvicorn server and an httpx stream.

A licence leaf stands in for a case id (same shape; transfer cases are not on chain yet).
The node is driven tick by tick from the test; the stream polls the index every 50 ms.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.app import create_app
from node.services.bootstrap import read_tokens
from tests.node.conftest import DemoNode, _open
from tests.node.served import ServedApp
from tests.node.steps import change, events, licence


@dataclass
class Message:
    """One server-sent event, or (``comment`` set) one comment line."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    comment: str | None = None

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads("\n".join(self.data)))


def messages(response: httpx.Response) -> Iterator[Message]:
    """Parse an event stream as the EventSource specification does (minus reconnection)."""
    current = Message()
    for line in response.iter_lines():
        if line == "":
            if current.data or current.event or current.id:
                yield current
            current = Message()
        elif line.startswith(":"):
            yield Message(comment=line[1:].strip())
        else:
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "data":
                current.data.append(value)
            elif key in ("id", "event"):
                setattr(current, key, value)


def next_event(stream: Iterator[Message]) -> Message:
    return next(m for m in stream if m.comment is None)


@pytest.fixture(scope="module")
def node(demo_data: Path) -> Iterator[tuple[DemoNode, ServedApp]]:
    rt, client = _open(demo_data, batch_size=64, sse_poll_ms=50, sse_keepalive_s=0.2)
    served = ServedApp(create_app(rt.settings, rt)).start()
    yield DemoNode(demo_data, rt, client, read_tokens(demo_data)), served
    served.stop()
    rt.stop()


def test_the_stream_replays_history_then_follows_the_index(node: tuple[DemoNode, ServedApp]) -> None:
    demo, served = node
    ident, leaf = licence(demo, "sse-live")
    change(demo, ident, "suspend", 2)
    history = events(demo, leaf)
    with httpx.Client(base_url=served.url, timeout=30) as http, \
            http.stream("GET", f"/v1/cases/{leaf}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        stream = messages(r)
        replayed = [next_event(stream) for _ in history]
        assert [(m.id, m.event) for m in replayed] == [(str(e["id"]), e["name"]) for e in history]
        assert [m.json for m in replayed] == history

        change(demo, ident, "reinstate")  # indexed while the stream is open
        live = next_event(stream)
        assert live.event == "LicenceReinstated" and int(live.id or 0) > history[-1]["id"]
        assert live.json == events(demo, leaf)[-1]
        assert any(m.comment == "keep-alive" for m in stream)  # an idle stream says it is alive


def test_last_event_id_resumes_after_that_event(node: tuple[DemoNode, ServedApp]) -> None:
    demo, served = node
    ident, leaf = licence(demo, "sse-resume")
    change(demo, ident, "suspend", 2)
    change(demo, ident, "revoke", 4)
    history = events(demo, leaf)
    assert len(history) == 3
    with httpx.Client(base_url=served.url, timeout=30) as http:
        with http.stream("GET", f"/v1/cases/{leaf}/events", headers={"Last-Event-ID": str(history[0]["id"])}) as r:
            stream = messages(r)
            assert [next_event(stream).id for _ in history[1:]] == [str(e["id"]) for e in history[1:]]
        with http.stream("GET", f"/v1/cases/{leaf}/events", params={"after": history[1]["id"]}) as r:
            assert next_event(messages(r)).id == str(history[2]["id"])
        listed = http.get(f"/v1/cases/{leaf}/events", params={"format": "json", "after": history[0]["id"]})
        assert listed.json()["events"] == history[1:]
        r = http.get(f"/v1/cases/{'x' * 64}/events")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_case_id"


def test_the_stream_ends_cleanly_when_the_node_stops(node: tuple[DemoNode, ServedApp]) -> None:
    demo, served = node
    _, leaf = licence(demo, "sse-stop")
    with httpx.Client(base_url=served.url, timeout=30) as http:
        with http.stream("GET", f"/v1/cases/{leaf}/events") as gone:
            next_event(messages(gone))  # a client that goes away mid-stream
        with http.stream("GET", f"/v1/cases/{leaf}/events") as r:
            stream = messages(r)
            assert next_event(stream).event == "BatchAnchored"
            served.stop()  # returns once every connection is closed
            rest = list(stream)  # the response ends with its terminating chunk: no protocol error
        assert all(m.comment == "keep-alive" for m in rest)
    served.start()  # the same node serves again, and its streams work
    with httpx.Client(base_url=served.url, timeout=30) as http, \
            http.stream("GET", f"/v1/cases/{leaf}/events") as r:
        assert next_event(messages(r)).event == "BatchAnchored"
