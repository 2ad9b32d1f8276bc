"""On the embedded chain the sender keeps the chain's second of lead for the last block of a burst.

Blocks carry strictly later whole seconds and may run at most a second ahead of the wall
clock (`max_lead=1`), so under load about one block a second is mined. While more
licences are being issued or wait to be batched, a block that would take that second of
lead is held back (the loop retries when the second turns); the block that carries the
last batch is sent at once and finds the lead free.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ledger.store.models import OutboxEntry, PendingLeaf
from node.chain.embedded import EmbeddedChain
from node.runtime import Runtime
from node.services.bootstrap import read_tokens
from tests.node.conftest import _open
from tests.node.test_licences import business


@pytest.fixture(scope="module")
def node(demo_data: Path) -> Iterator[tuple[Runtime, object, dict[str, str]]]:
    # batches of 4, and a batch interval no test waits out: only full or forced batches close
    runtime, client = _open(demo_data, batch_size=4, batch_interval_ms=600_000)
    yield runtime, client, {"authorization": f"Bearer {read_tokens(demo_data)['MARKET']}"}
    runtime.stop()


def _use_up_the_lead(chain: EmbeddedChain) -> None:
    while chain.head().timestamp <= time.time():
        chain.mine(1)


def _states(runtime: Runtime) -> list[str]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(OutboxEntry.state).where(OutboxEntry.kind == "anchor")
                           .order_by(col(OutboxEntry.id))))


def test_block_delay_follows_the_lead(node: tuple[Runtime, object, dict[str, str]]) -> None:
    runtime, _, _ = node
    chain = runtime.gateway
    assert isinstance(chain, EmbeddedChain)
    _use_up_the_lead(chain)
    now_delay, keep_delay = chain.block_delay(), chain.block_delay(keep_lead=True)
    ahead = chain.head().timestamp - time.time()
    assert 0 < now_delay <= ahead + 0.05 and now_delay <= 1
    assert keep_delay == pytest.approx(now_delay + 1, abs=0.05)
    time.sleep(now_delay + 0.01)
    assert chain.block_delay() == 0.0 and 0 < chain.block_delay(keep_lead=True) <= 1


def test_blocks_wait_for_the_second_only_while_more_licences_come(
        node: tuple[Runtime, object, dict[str, str]]) -> None:
    runtime, client, headers = node
    chain = runtime.gateway
    assert isinstance(chain, EmbeddedChain)
    runtime.settle()
    before = len(_states(runtime))
    r = client.post("/v1/licences/batch", json={"licences": [business(i) for i in range(6)]},  # type: ignore[attr-defined]
                    headers=headers)
    assert r.status_code == 201, r.text

    # a full batch of 4 closes, 2 leaves wait: its block would take the lead, so it waits
    _use_up_the_lead(chain)
    head = chain.head().number
    progress = runtime.tick()
    assert progress.batches == 1 and progress.sent == 0
    assert 0 < progress.send_wait_s <= 2
    assert _states(runtime)[before:] == ["queued"] and chain.head().number == head

    # every leaf batched, but a request of the department is still being issued: still waiting
    assert len(runtime.anchorer.run_once(force=True)) == 1
    with Session(runtime.engine) as s:
        assert s.exec(select(PendingLeaf)).first() is None
    with runtime.ctx.issuing("MARKET"):
        report = runtime.sender.run_once()
    assert report.sent == 0 and report.wait_s > 0

    # nothing more is coming: both batches go at once, in one block, without waiting for the
    # second that a held-back block would have waited for
    t0 = time.monotonic()
    report = runtime.sender.run_once()
    assert report.sent == 2 and report.mined == 2 and report.wait_s == 0
    assert time.monotonic() - t0 < 1.5
    assert _states(runtime)[before:] == ["mined", "mined"] and chain.head().number == head + 1
