"""Following a subject on SQLite and PostgreSQL: the indexer queues deliveries, reorgs retract them.

The real ``Indexer`` runs with the node's projections and rollbacks over a scripted
chain (blocks and logs a test lays out and reorganises at will, as a case contract's
events will look: subject = case id); deliveries go to a real receiver on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.indexer.indexer import DecodedEvent, Indexer
from ledger.store.models import ChainEvent, WebhookDelivery
from node.config import Settings
from node.runtime import PROJECTIONS, ROLLBACKS
from node.services import notify
from node.services.delivery import DeliveryWorker
from tests.node.receiver import Receiver

CASE = "ca" * 32
OTHER = "0b" * 32
CONTRACT = bytes(20)


@dataclass(frozen=True)
class Block:
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int


@dataclass(frozen=True)
class Log:
    address: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int
    name: str
    subject: str


@dataclass
class ScriptedChain:
    """A chain whose blocks and logs the test lays out, and replaces from any height (a reorg)."""

    blocks: list[Block] = field(default_factory=list)
    logs: dict[int, list[Log]] = field(default_factory=dict)
    branch: str = "a"

    def __post_init__(self) -> None:
        self.blocks.append(Block(0, self._hash(0), bytes(32), 1_700_000_000))

    def _hash(self, number: int) -> bytes:
        return hashlib.sha256(f"{self.branch}:{number}".encode()).digest()

    def mine(self, *events: tuple[str, str]) -> int:
        """Add a block holding one log per (name, subject); return its number."""
        parent = self.blocks[-1]
        block = Block(parent.number + 1, self._hash(parent.number + 1), parent.hash, parent.timestamp + 1)
        self.blocks.append(block)
        self.logs[block.number] = [
            Log(CONTRACT, block.number, block.hash, hashlib.sha256(block.hash + bytes([i])).digest(), i, name, subject)
            for i, (name, subject) in enumerate(events)]
        return block.number

    def reorg(self, keep: int, branch: str) -> None:
        """Drop every block above ``keep``; later blocks are mined on branch ``branch``."""
        self.blocks = self.blocks[:keep + 1]
        self.logs = {n: logs for n, logs in self.logs.items() if n <= keep}
        self.branch = branch

    # the LogSource the indexer reads
    def head(self) -> Block:
        return self.blocks[-1]

    def block(self, number: int) -> Block | None:
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    def get_logs(self, from_block: int, to_block: int, addresses: Any = (), topic0: Any = ()) -> list[Log]:
        return [log for n in range(from_block, to_block + 1) for log in self.logs.get(n, [])]


def decode(raw: list[Log]) -> list[DecodedEvent]:
    return [DecodedEvent(name=r.name, subject=r.subject, args={"case": r.subject}, raw=r) for r in raw]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, webhook_secret="f" * 64, webhook_retry_base_ms=1, webhook_retry_cap_ms=1)


@pytest.fixture
def chain() -> ScriptedChain:
    return ScriptedChain()


@pytest.fixture
def indexer(engine: Engine, chain: ScriptedChain) -> Indexer:
    return Indexer(engine, chain, [CONTRACT], decode, start_block=1, projections=PROJECTIONS, rollbacks=ROLLBACKS)


@pytest.fixture
def worker(engine: Engine, settings: Settings) -> Iterator[DeliveryWorker]:
    w = DeliveryWorker(engine, settings)
    yield w
    w.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def subscribe(engine: Engine, settings: Settings, receiver: Receiver, subject: str = CASE,
              replay: bool = True) -> int:
    row, secret = notify.subscribe(engine, settings, "HOUSING", subject, receiver.url, replay=replay)
    receiver.secret = secret
    assert row.id is not None
    return row.id


def queue(engine: Engine) -> list[tuple[int, str, str, int]]:
    """Return every delivery as (event id, kind, state, attempts), in queue order."""
    with Session(engine) as s:
        rows = s.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).all()
    return [(d.chain_event_id, d.kind, d.state, d.attempts) for d in rows]


def event_ids(engine: Engine, subject: str = CASE) -> list[int]:
    return [int(e["id"]) for e in notify.events(engine, subject)]


def sent(receiver: Receiver) -> list[tuple[str, str, str]]:
    return [(r.event_key, r.body["type"], r.body["name"]) for r in receiver.received]


def drain(worker: DeliveryWorker) -> None:
    for _ in range(50):
        if worker.run_once().attempted == 0:
            return
    raise AssertionError("the sender never ran out of due deliveries")


def test_deliveries_are_queued_with_the_indexing_exactly_once(
        engine: Engine, settings: Settings, chain: ScriptedChain, indexer: Indexer, worker: DeliveryWorker,
        receiver: Receiver) -> None:
    chain.mine(("CaseOpened", CASE), ("CaseOpened", OTHER))
    indexer.run_once()
    subscribe(engine, settings, receiver)  # replays CaseOpened
    late = Receiver()
    subscribe(engine, settings, late, replay=False)
    gone = Receiver()
    gone_id = subscribe(engine, settings, gone)
    notify.unsubscribe(engine, CASE, "HOUSING", gone_id)
    chain.mine(("CaseAssessed", CASE))
    chain.mine(("CaseFunded", OTHER), ("CaseFunded", CASE))
    indexer.run_once()
    indexer.run_once()  # nothing new: nothing queued twice
    opened, assessed, funded = event_ids(engine)
    assert queue(engine) == [(opened, "event", "pending", 0), (opened, "event", "cancelled", 0),
                             (assessed, "event", "pending", 0), (assessed, "event", "pending", 0),
                             (funded, "event", "pending", 0), (funded, "event", "pending", 0)]
    drain(worker)
    assert sent(receiver) == [(str(opened), "event", "CaseOpened"), (str(assessed), "event", "CaseAssessed"),
                              (str(funded), "event", "CaseFunded")]
    assert sent(late) == [(str(assessed), "event", "CaseAssessed"), (str(funded), "event", "CaseFunded")]
    assert gone.received == [] and all(r.signature == "ok" for r in receiver.received + late.received)
    late.close()
    gone.close()


def test_a_reorg_cancels_what_was_not_sent_and_retracts_what_may_have_been_seen(
        engine: Engine, settings: Settings, chain: ScriptedChain, indexer: Indexer, worker: DeliveryWorker) -> None:
    receiver = Receiver(answers=(204, 500))
    subscribe(engine, settings, receiver)
    chain.mine(("CaseOpened", CASE))
    chain.mine(("CaseAssessed", CASE))
    chain.mine(("CaseFunded", CASE))
    indexer.run_once()
    old = event_ids(engine)
    worker.run_once()  # CaseOpened delivered
    worker.run_once()  # CaseAssessed answered 500: to be retried
    assert queue(engine) == [(old[0], "event", "delivered", 1), (old[1], "event", "pending", 1),
                             (old[2], "event", "pending", 0)]

    chain.reorg(keep=0, branch="b")
    chain.mine(("CaseOpened", CASE))
    status = indexer.run_once()
    assert status.reorged_from == 1
    new = event_ids(engine)
    assert len(new) == 1 and new[0] > max(old)  # a dropped event's id is never handed out again
    assert queue(engine) == [(old[0], "event", "delivered", 1), (old[1], "event", "cancelled", 1),
                             (old[2], "event", "cancelled", 0), (old[0], "retracted", "pending", 0),
                             (old[1], "retracted", "pending", 0), (new[0], "event", "pending", 0)]
    drain(worker)
    assert sent(receiver) == [(str(old[0]), "event", "CaseOpened"), (str(old[1]), "event", "CaseAssessed"),
                              (f"{old[0]}-retracted", "retracted", "CaseOpened"),
                              (f"{old[1]}-retracted", "retracted", "CaseAssessed"),
                              (str(new[0]), "event", "CaseOpened")]
    assert all(r.signature == "ok" for r in receiver.received)
    receiver.close()


def test_an_event_dropped_while_its_delivery_is_on_the_wire_is_retracted(
        engine: Engine, settings: Settings, chain: ScriptedChain, indexer: Indexer, worker: DeliveryWorker) -> None:
    def reorganise_meanwhile(_: Any) -> None:  # runs in the receiver before it answers 204
        if len(receiver.received) == 0:
            chain.reorg(keep=0, branch="b")
            chain.mine()
            indexer.run_once()

    receiver = Receiver(on_request=reorganise_meanwhile)
    subscribe(engine, settings, receiver)
    chain.mine(("CaseOpened", CASE))
    indexer.run_once()
    [opened] = event_ids(engine)
    worker.run_once()
    assert event_ids(engine) == []
    assert queue(engine) == [(opened, "event", "delivered", 1), (opened, "retracted", "pending", 0)]
    drain(worker)
    assert sent(receiver) == [(str(opened), "event", "CaseOpened"), (f"{opened}-retracted", "retracted", "CaseOpened")]
    receiver.close()


def test_follow_replays_then_follows_and_retracts_what_a_reorg_dropped(
        engine: Engine, chain: ScriptedChain, indexer: Indexer) -> None:
    chain.mine(("CaseOpened", CASE), ("CaseOpened", OTHER))
    keep = chain.mine(("CaseAssessed", CASE))
    indexer.run_once()
    closed = False

    async def scenario() -> list[tuple[str, str, int]]:
        seen = []
        feed = notify.follow(engine, CASE, 0, 0.01, lambda: closed)
        for _ in range(2):  # history
            n = await feed.__anext__()
            seen.append((n.kind, n.event["name"], n.event["id"]))
        chain.mine(("CaseFunded", CASE))
        indexer.run_once()
        n = await feed.__anext__()  # live
        seen.append((n.kind, n.event["name"], n.event["id"]))
        chain.reorg(keep=keep, branch="b")
        chain.mine(("CaseCancelled", CASE))
        indexer.run_once()
        for _ in range(2):  # the retraction, then the new branch's event
            n = await feed.__anext__()
            seen.append((n.kind, n.event["name"], n.event["id"]))
        nonlocal closed
        closed = True
        with pytest.raises(StopAsyncIteration):
            await feed.__anext__()
        return seen

    seen = anyio.run(scenario)
    opened, assessed, funded = (s[2] for s in seen[:3])
    cancelled = seen[4][2]
    assert seen == [("event", "CaseOpened", opened), ("event", "CaseAssessed", assessed),
                    ("event", "CaseFunded", funded), ("retracted", "CaseFunded", funded),
                    ("event", "CaseCancelled", cancelled)]
    assert cancelled > funded
    with Session(engine) as s:
        assert s.get(ChainEvent, funded) is None
