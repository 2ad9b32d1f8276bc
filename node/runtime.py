"""The running node: opens database and chain, and drives the anchorer, sender, indexer and webhooks.

One worker of a department is the *leader*: it alone sends transactions and indexes
(on PostgreSQL it holds an advisory lock for its lifetime; on SQLite there is only
one process). The others serve the API from the shared database.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from ledger.indexer.indexer import Indexer, IndexerStatus, Projection, Rollback
from ledger.store.db import make_engine, migrate
from ledger.store.models import OutboxEntry, PendingLeaf
from node.chain.txsend import TxSender
from node.config import Settings
from node.keys import KeyStore
from node.services import anchoring, chainview, notify, outbox, peers, reserved
from node.services.bootstrap import open_gateway
from node.services.context import NodeContext, read_identities
from node.services.delivery import DeliveryWorker
from node.services.minting import MintingPool

log = logging.getLogger(__name__)
LEADER_LOCK = 0x72656C6561646572  # "releader"
SWEEP_SECONDS = 30.0
# What the indexer mirrors into our tables, and how a reorganisation undoes it.
PROJECTIONS: tuple[Projection, ...] = (anchoring.project_anchors, chainview.project_statuses,
                                       notify.enqueue_deliveries)
ROLLBACKS: tuple[Rollback, ...] = (anchoring.unproject_anchors, chainview.unproject_statuses,
                                   outbox.reopen_after_reorg, notify.retract_deliveries)


def leader_lock_key(schema: str, registry_address: str) -> int:
    """Return the advisory-lock key of the leader of the node whose tables live in ``schema``.

    Advisory locks are shared by the whole database, so the key names the schema (and the
    registry): nodes of different departments in one PostgreSQL database do not shut each
    other out, while workers of one node still elect a single leader.
    """
    seed = f"{LEADER_LOCK:x}:{schema}:{registry_address.lower()}".encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big", signed=True)


@dataclass
class Progress:
    """Counters a tick reports (used by tests and the bench to wait without sleeping)."""

    batches: int = 0
    sent: int = 0
    mined: int = 0
    events: int = 0
    send_wait_s: float = 0.0  # transactions held back for the chain's next second: try again then


class Runtime:
    """Owns the node's resources and background work."""

    def __init__(self, settings: Settings) -> None:
        settings.check_runnable()
        self.settings = settings
        self.engine = make_engine(settings.db_url)
        migrate(self.engine)
        self.gateway = open_gateway(settings.chain, settings.data_dir, settings.chain_id)
        identities = {c: i for c, i in read_identities(settings.data_dir).items()
                      if c in settings.departments}
        self._wake = threading.Event()
        self.ctx = NodeContext(settings=settings, engine=self.engine, gateway=self.gateway,
                               registry=bytes.fromhex(settings.registry_address[2:]),
                               keystore=KeyStore(settings.keys_dir), identities=identities,
                               on_accepted=self._wake.set, clock=self.chain_time,
                               minting=MintingPool(settings.minting_processes, nice=settings.mint_nice))
        self.trust = chainview.TrustView(self.engine, {c: i.name for c, i in identities.items()})
        self.peers = peers.PeerProofs(self.engine, self.trust,
                                      timeout=settings.peer_timeout_ms / 1000)
        watched = chainview.watched_addresses(settings)
        self.indexer = Indexer(
            self.engine, self.gateway, list(watched), chainview.decoder(watched),
            start_block=settings.registry_block,
            confirmations=settings.confirmations,
            projections=PROJECTIONS, rollbacks=ROLLBACKS)
        self.anchorer = anchoring.Anchorer(self.ctx)
        self.sender = outbox.Sender(self.ctx, TxSender(self.gateway))
        self.deliveries = DeliveryWorker(self.engine, settings)
        self.last_index: IndexerStatus | None = None
        self._tick_lock = threading.Lock()
        self._stop = threading.Event()
        self.stopping = threading.Event()  # set by ``stop``; event streams end on it
        self._thread: threading.Thread | None = None
        self._leader_conn: Connection | None = None
        self.is_leader = self._elect()
        self._swept_at = 0.0
        if self.is_leader:
            self.last_index = self.indexer.run_once()
            # On SQLite this process is the only one: no request is between issuing a reserved
            # batch and queuing its call, so every unlinked one is left over from a crash.
            self.sweep_reserved(0 if self.engine.dialect.name == "sqlite" else reserved.GRACE_MS)
        self.refresh_trust()

    # ------------------------------------------------------------------ leadership
    def _elect(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        conn = self.engine.connect()
        schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
        key = leader_lock_key(schema, self.settings.registry_address)
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()  # end the implicit transaction; the session-level lock stays
        if got:
            self._leader_conn = conn  # the lock lives as long as this connection
            return True
        conn.close()
        return False

    # ------------------------------------------------------------------ work
    def tick(self, force_batches: bool = False) -> Progress:
        """Run one pass of indexer, anchorer and sender; safe to call from tests."""
        p = Progress()
        if not self.is_leader:
            return p
        with self._tick_lock:
            p.batches = len(self.anchorer.run_once(force=force_batches))
            report = self.sender.run_once()
            p.sent, p.mined, p.send_wait_s = report.sent, report.mined, report.wait_s
            self.last_index = self.indexer.run_once()
            p.events = self.last_index.events
            if time.monotonic() - self._swept_at >= SWEEP_SECONDS:
                self.sweep_reserved(reserved.GRACE_MS)
        if p.events or self.last_index.reorged_from is not None:
            self.deliveries.wake()
        self.refresh_trust()  # also after a reorg that only removed events
        return p

    def sweep_reserved(self, grace_ms: int) -> int:
        """Void reserved licences whose anchoring call was never queued or was refused."""
        self._swept_at = time.monotonic()
        return reserved.sweep(self, grace_ms)

    def refresh_trust(self) -> None:
        """Reload the directory caches when the index has changed."""
        self.trust.refresh(self.indexer.version)

    def settle(self, timeout: float = 120.0) -> None:
        """Tick until nothing is pending: every accepted leaf anchored and indexed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            progress = self.tick(force_batches=True)
            if progress.send_wait_s:  # anchors held back while a request is issued meanwhile
                time.sleep(progress.send_wait_s)
            if self.pending_counts() == (0, 0):
                self.tick()
                return
        raise TimeoutError("the node did not settle in time")

    def pending_counts(self) -> tuple[int, int]:
        """Return (leaves waiting for a batch, outbox entries not yet mined or failed)."""
        with Session(self.engine) as s:
            leaves = s.exec(select(func.count()).select_from(PendingLeaf)).one()
            entries = s.exec(select(func.count()).select_from(OutboxEntry).where(
                col(OutboxEntry.state).in_(outbox.PENDING_STATES))).one()
        return int(leaves), int(entries)

    def _loop(self) -> None:
        interval = min(self.settings.batch_interval_ms, self.settings.indexer_interval_ms,
                       self.settings.sender_interval_ms) / 1000
        while not self._stop.is_set():
            wait = interval
            try:
                progress = self.tick()
                if progress.send_wait_s:
                    wait = min(interval, progress.send_wait_s + 0.002)
            except Exception:  # keep the loop alive; the next pass retries from the DB
                log.exception("background pass failed")
                self._stop.wait(1.0)
            self._wake.wait(wait)
            self._wake.clear()

    def start(self) -> None:
        """Start the background loop and the webhook sender (leader only)."""
        if self.is_leader and self.settings.background and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="regnode-worker",
                                            daemon=True)
            self._thread.start()
            self.deliveries.start()

    @property
    def background_running(self) -> bool:
        """Return True while the background loop drives anchorer, sender and indexer."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop background work and release files and sockets."""
        self.stopping.set()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.deliveries.stop()
        self.ctx.minting.close()
        if self._leader_conn is not None:
            self._leader_conn.close()
        self.peers.close()
        self.gateway.close()
        self.engine.dispose()

    def chain_time(self) -> int:
        """Return the node's "now": the wall clock, or the chain head's time when ahead.

        The embedded chain gives every block a later second than its parent, so a burst of
        blocks can lead the wall clock briefly; issuing and checking licences against the
        later of the two keeps signing times inside keys' on-chain validity intervals.
        """
        return max(int(time.time()), self.gateway.head().timestamp)

    def health(self) -> dict[str, Any]:
        """Return the node's view of chain, index and queues."""
        head = self.gateway.head()
        indexed = self.indexer.cursor()
        leaves, entries = self.pending_counts()
        return {"chain_id": self.gateway.chain_id, "chain_head": head.number,
                "chain_head_time": head.timestamp, "indexed_block": indexed,
                "indexer_lag": max(0, head.number - indexed), "outbox_pending": entries,
                "licences_pending_anchor": leaves}
