"""The webhook sender: posts queued notifications, signed, in order per subscription, at least once.

Only the leader runs it. A pass takes, for every subscription, its oldest pending
delivery (so one subscription's notifications go in event order; a later one waits
until the earlier is delivered or has failed for good), keeps those that are due, posts
them in parallel across subscriptions, and records each outcome in its own transaction
*after* the POST returned. A crash in between leaves the delivery pending: it is sent
again, with the same ``Regnode-Event-Id``, which is what receivers dedupe on.
A 2xx answer delivers; anything else (another status, a redirect, a timeout, a refused
connection) is retried after ``retry_delay_ms`` until ``webhook_max_attempts``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.store.models import WebhookDelivery, WebhookSubscription
from node.config import Settings
from node.services.notify import DROPPED, queue_retraction
from node.services.webhooks import (
    EVENT,
    SecretUnreadable,
    host_allowed,
    notification_key,
    retry_delay_ms,
    unseal,
)
from verifiers.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
BATCH = 64  # heads taken per pass; a full pass is followed by another at once
USER_AGENT = "regnode-webhooks/0.1"


@dataclass
class DeliveryReport:
    """What one pass did (tests and the loop read it)."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Due:
    id: int
    subscription_id: int
    chain_event_id: int
    kind: str
    payload: str
    attempts: int
    url: str
    subject: str
    secret_sealed: str


def _heads() -> Any:
    """Return the subquery of each subscription's oldest pending delivery id."""
    return (select(func.min(WebhookDelivery.id)).where(WebhookDelivery.state == "pending")
            .group_by(col(WebhookDelivery.subscription_id)))


class DeliveryWorker:
    """Sends webhook deliveries; ``run_once`` for one pass, ``start``/``stop`` for a thread."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.jitter = jitter
        self._client = httpx.Client(timeout=settings.webhook_timeout_ms / 1000, follow_redirects=False,
                                    limits=httpx.Limits(max_connections=settings.webhook_workers * 2))
        self._pool = ThreadPoolExecutor(max_workers=settings.webhook_workers,
                                        thread_name_prefix="regnode-webhook")
        self._pass = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one pass
    def due(self, now_ms: int) -> list[_Due]:
        """Return the deliveries to attempt at ``now_ms``: due heads of their subscriptions' queues."""
        with Session(self.engine) as s:
            owner = col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id)
            rows = s.exec(select(WebhookDelivery, WebhookSubscription).join(WebhookSubscription, owner)
                          .where(col(WebhookDelivery.id).in_(_heads()),
                                 col(WebhookDelivery.next_attempt_at_ms) <= now_ms)
                          .order_by(col(WebhookDelivery.next_attempt_at_ms), col(WebhookDelivery.id))
                          .limit(BATCH)).all()
        return [_Due(id=d.id or 0, subscription_id=d.subscription_id, chain_event_id=d.chain_event_id,
                     kind=d.kind, payload=d.payload, attempts=d.attempts, url=sub.url, subject=sub.subject,
                     secret_sealed=sub.secret_sealed) for d, sub in rows]

    def next_due_ms(self) -> int | None:
        """Return when the earliest queue head falls due (None when nothing is pending)."""
        with Session(self.engine) as s:
            value = s.exec(select(func.min(WebhookDelivery.next_attempt_at_ms))
                           .where(col(WebhookDelivery.id).in_(_heads()))).one()
        return None if value is None else int(value)

    def run_once(self, now: float | None = None) -> DeliveryReport:
        """Attempt every due delivery once; ``now`` (unix seconds) pins the clock for tests."""
        with self._pass:
            start = self.clock() if now is None else now
            batch = self.due(int(start * 1000))
            report = DeliveryReport(attempted=len(batch))
            for outcome in self._pool.map(lambda d: self._attempt(d, now), batch):
                setattr(report, outcome, getattr(report, outcome) + 1)
            return report

    def _attempt(self, d: _Due, pinned: float | None) -> str:
        host = urlsplit(d.url).hostname or ""
        if not host_allowed(host, self.settings.webhook_hosts):
            return self._record(d, pinned, None, f"{host} is no longer in webhook_hosts", final=True)
        try:
            secret = unseal(self.settings.webhook_secret, d.subject, d.secret_sealed)
        except SecretUnreadable as exc:
            return self._record(d, pinned, None, exc.message, final=True)
        body = d.payload.encode()
        sent_at = int(self.clock() if pinned is None else pinned)
        headers = {"content-type": "application/json", "user-agent": USER_AGENT,
                   SIGNATURE_HEADER: sign(secret, body, sent_at),
                   EVENT_ID_HEADER: notification_key(d.kind, d.chain_event_id),
                   "Regnode-Delivery": str(d.id), "Regnode-Attempt": str(d.attempts + 1)}
        try:
            response = self._client.post(d.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return self._record(d, pinned, None, f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= response.status_code < 300
        return self._record(d, pinned, response.status_code, None if ok else f"HTTP {response.status_code}")

    def _record(self, d: _Due, pinned: float | None, status: int | None, error: str | None,
                final: bool = False) -> str:
        now = int((self.clock() if pinned is None else pinned) * 1000)
        pending = (col(WebhookDelivery.id) == d.id, col(WebhookDelivery.state) == "pending")
        with Session(self.engine) as s:
            if error is None:
                done = s.execute(update(WebhookDelivery).where(*pending).values(
                    state="delivered", attempts=d.attempts + 1, last_status=status, last_error=None,
                    delivered_at_ms=now))
                if done.rowcount == 0:
                    self._delivered_after_cancel(s, d.id, status, now)
                outcome = "delivered"
            else:
                attempts = d.attempts + 1
                if final or attempts >= self.settings.webhook_max_attempts:
                    values: dict[str, object] = {"state": "failed"}
                    outcome = "failed"
                else:
                    delay = retry_delay_ms(attempts, self.settings.webhook_retry_base_ms,
                                           self.settings.webhook_retry_cap_ms, self.jitter())
                    values = {"next_attempt_at_ms": now + delay}
                    outcome = "retrying"
                s.execute(update(WebhookDelivery).where(*pending).values(
                    attempts=attempts, last_status=status, last_error=error, **values))
            s.commit()
        if outcome != "delivered":
            log.info("webhook delivery not accepted", extra={"delivery": d.id, "outcome": outcome,
                                                             "status": status, "error": error})
        return outcome

    @staticmethod
    def _delivered_after_cancel(s: Session, delivery_id: int, status: int | None, now: int) -> None:
        """Record a 2xx for a delivery cancelled while it was on the wire (the receiver has it)."""
        row = s.get(WebhookDelivery, delivery_id)
        if row is None or row.state != "cancelled":
            return
        row.state, row.attempts, row.last_status, row.delivered_at_ms = "delivered", row.attempts + 1, status, now
        s.add(row)
        if row.kind == EVENT and row.last_error == DROPPED:
            queue_retraction(s, row, now)

    # ------------------------------------------------------------------ the thread
    def start(self) -> None:
        """Send in a thread of its own until ``stop`` (the leader calls this)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="regnode-webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (new events were indexed)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread (a POST on the wire finishes or times out first) and close sockets."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout_ms / 1000 + 30)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once().attempted >= BATCH:
                    continue
                wait = 1.0
                due = self.next_due_ms()
                if due is not None:
                    wait = min(1.0, max(0.01, due / 1000 - self.clock()))
            except Exception:  # keep sending; the queue is in the database
                log.exception("webhook pass failed")
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()
