"""On the embedded chain the sender keeps the chain's second of lead for the last block of a burst.

Blocks carry strictly later whole seconds and may run at most a second ahead of the wall
clock (`max_lead=1`), so under load about one block a second is mined. While more
licences are being issued or wait to be batched, a block of anchors that would take that
second of lead is held back (the loop retries when the second turns); the block that
carries the last batch is sent at once and finds the lead free.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.store.models import OutboxEntry, PendingLeaf
from node.chain.embedded import EmbeddedChain
from node.runtime import Runtime
from node.services import outbox
from node.services.bootstrap import read_tokens
from tests.node.conftest import _open
from tests.node.test_licences import business

Node = tuple[Runtime, Any, dict[str, str]]


@pytest.fixture(scope="module")
def node(demo_data: Path) -> Iterator[Node]:
    # batches of 4, and a batch interval no test waits out: only full or forced batches close
    runtime, client = _open(demo_data, batch_size=4, batch_interval_ms=600_000)
    yield runtime, client, {"authorization": f"Bearer {read_tokens(demo_data)['MARKET']}"}
    runtime.stop()


def _chain(runtime: Runtime) -> EmbeddedChain:
    assert isinstance(runtime.gateway, EmbeddedChain)
    return runtime.gateway


def _lead_used_up(chain: EmbeddedChain) -> None:
    """Mine until the head's time is ahead of the wall clock: a block now would wait."""
    while chain.head().timestamp <= time.time():
        chain.mine(1)


def _lead_kept(chain: EmbeddedChain) -> None:
    """Return once a block could be mined now, but only by taking the second of lead."""
    _lead_used_up(chain)
    time.sleep(chain.block_delay() + 0.01)
    assert chain.block_delay() == 0.0 and chain.block_delay(keep_lead=True) > 0


def _issue(node: Node, count: int, first: int) -> None:
    runtime, client, headers = node
    r = client.post("/v1/licences/batch", json={"licences": [business(first + i) for i in range(count)]},
                    headers=headers)
    assert r.status_code == 201, r.text


def _states(runtime: Runtime, since: int) -> list[tuple[str, str]]:
    with Session(runtime.engine) as s:
        return [(kind, state) for kind, state in s.exec(
            select(OutboxEntry.kind, OutboxEntry.state).where(col(OutboxEntry.id) > since)
            .order_by(col(OutboxEntry.id)))]


def _last_entry(runtime: Runtime) -> int:
    with Session(runtime.engine) as s:
        return s.exec(select(OutboxEntry.id).order_by(col(OutboxEntry.id).desc()).limit(1)).first() or 0


def test_a_burst_keeps_the_lead_for_its_last_block(node: Node) -> None:
    runtime = node[0]
    chain = _chain(runtime)
    runtime.settle()
    since = _last_entry(runtime)
    _issue(node, 6, 0)  # a full batch of 4 closes; 2 leaves wait for the next
    _lead_kept(chain)
    progress = runtime.tick()
    # a block could be mined now, but only in the second of lead: held back, nothing signed
    assert progress.batches == 1 and progress.sent == 0
    assert 0 < progress.send_wait_s <= 1
    assert _states(runtime, since) == [("anchor", "queued")]

    # when the second turns it goes, leaves still waiting, in a block that takes no lead
    time.sleep(progress.send_wait_s + 0.01)
    head = chain.head().number
    progress = runtime.tick()
    assert progress.sent == 1 and progress.mined == 1
    assert chain.head().number == head + 1 and chain.head().timestamp <= time.time()

    # the last batch of the burst is mined at once: the lead is free
    assert len(runtime.anchorer.run_once(force=True)) == 1
    t0 = time.monotonic()
    report = runtime.sender.run_once()
    assert report.sent == 1 and report.mined == 1 and report.wait_s == 0
    assert time.monotonic() - t0 < 0.5
    assert _states(runtime, since) == [("anchor", "mined"), ("anchor", "mined")]


def test_a_request_being_issued_counts_as_more_to_come(node: Node) -> None:
    runtime = node[0]
    chain = _chain(runtime)
    runtime.settle()
    seen: list[bool] = []
    mint = runtime.ctx.minting.mint

    def watching(*args: Any, **kwargs: Any) -> Any:
        seen.append(runtime.ctx.is_issuing("MARKET"))
        return mint(*args, **kwargs)

    runtime.ctx.minting.mint = watching  # type: ignore[method-assign]
    try:
        _issue(node, 4, 100)
    finally:
        del runtime.ctx.minting.mint
    assert seen == [True] and not runtime.ctx.is_issuing("MARKET")

    # every leaf batched, a request still being issued: the anchor waits for the second
    since = _last_entry(runtime)
    assert len(runtime.anchorer.run_once(force=True)) == 1
    with Session(runtime.engine) as s:
        assert s.exec(select(PendingLeaf)).first() is None
    _lead_kept(chain)
    with runtime.ctx.issuing("MARKET"):
        report = runtime.sender.run_once()
    assert report.sent == 0 and report.wait_s > 0
    report = runtime.sender.run_once()  # nothing more is coming
    assert report.sent == 1 and report.mined == 1
    assert _states(runtime, since) == [("anchor", "mined")]


def test_other_entries_and_old_anchors_are_not_held(node: Node) -> None:
    runtime = node[0]
    chain = _chain(runtime)
    runtime.settle()
    since = _last_entry(runtime)
    _issue(node, 6, 200)  # a queued anchor and 2 waiting leaves: the anchor alone would wait
    assert len(runtime.anchorer.run_once()) == 1
    with Session(runtime.engine) as s:  # a status change, key rotation or call must not wait
        outbox.enqueue(s, "MARKET", "set_endpoint", {"endpoint": "http://127.0.0.1:18001"})
        s.commit()
    _lead_kept(chain)
    report = runtime.sender.run_once()
    # not held: the anchor goes now, the call after it (calls wait for earlier entries' blocks)
    assert report.sent == 1 and report.mined == 1 and report.wait_s == 0
    assert runtime.sender.run_once().mined == 1
    assert _states(runtime, since) == [("anchor", "mined"), ("set_endpoint", "mined")]

    since = _last_entry(runtime)
    _issue(node, 4, 300)  # with the 2 that waited: a batch, and 2 leaves wait again
    assert len(runtime.anchorer.run_once()) == 1
    _lead_kept(chain)
    assert runtime.sender.run_once().sent == 0
    with Session(runtime.engine) as s:  # queued HOLD_LIMIT_MS ago: other blocks may keep taking the second
        s.execute(update(OutboxEntry).where(col(OutboxEntry.id) > since).values(
            created_at_ms=outbox.now_ms() - outbox.HOLD_LIMIT_MS))
        s.commit()
    report = runtime.sender.run_once()
    assert report.sent == 1 and report.mined == 1
