"""Following a subject: its chain events as a feed, and webhook subscriptions to them.

Everything here is keyed by an indexed event's ``subject`` (a case id, a licence leaf,
a batch root — 64 hex characters), so any kind of record can be followed the same way.
The feed reads ``chain_event`` in id order, which is chain order: one indexer writes
it, in order, and ids are never handed out twice. Webhook deliveries are queued by
``enqueue_deliveries``, an indexer projection, in the very transaction that indexes the
events (so exactly once, and never for an event that was not indexed); a
reorganisation cancels what was not sent and queues a ``retracted`` notice for what a
receiver may have seen (``retract_deliveries``). ``node.services.delivery`` sends them.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from sqlalchemy import func, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ledger.store.models import ChainEvent, WebhookDelivery, WebhookSubscription
from node.config import Settings
from node.errors import InvalidCaseId, WebhookLimitReached, WebhookNotFound
from node.services.outbox import now_ms
from node.services.webhooks import EVENT, RETRACTED, check_url, notification_body, seal

PAGE = 500  # events per read of the feed
RECENT = 256  # events a live stream remembers, to tell its client when a reorg drops one
ENQUEUE_LOCK = 0x72656E6F74696679  # "renotify": subscribing vs. enqueueing, PostgreSQL only
DROPPED = "the event was dropped by a chain reorganisation"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
T = TypeVar("T")


def case_subject(case_id: str) -> str:
    """Return the subject of a transfer case's events: its id as 64 lowercase hex characters."""
    text_ = case_id.strip().lower().removeprefix("0x")
    if not _HEX64.match(text_):
        raise InvalidCaseId("a case id is 32 bytes in hex (64 characters)", case_id=case_id[:80])
    return text_


def _chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ------------------------------------------------------------------ the feed
def event_view(e: ChainEvent) -> dict[str, Any]:
    """Return an indexed event as streams, lists and webhook bodies show it."""
    return {"id": e.id, "name": e.name, "subject": e.subject, "block_number": e.block_number,
            "block_hash": e.block_hash, "log_index": e.log_index,
            "transaction_hash": e.transaction_hash, "contract": e.contract,
            "time": e.block_timestamp, "args": json.loads(e.args)}


def events(engine: Engine, subject: str, after: int = 0, limit: int = PAGE) -> list[dict[str, Any]]:
    """Return up to ``limit`` events of ``subject`` with ids above ``after``, in chain order."""
    with Session(engine) as s:
        rows = s.exec(select(ChainEvent).where(ChainEvent.subject == subject, col(ChainEvent.id) > after)
                      .order_by(col(ChainEvent.id)).limit(limit)).all()
    return [event_view(r) for r in rows]


def still_indexed(engine: Engine, ids: Sequence[int]) -> set[int]:
    """Return which of the event ``ids`` are still in the index (a reorg deletes the others)."""
    with Session(engine) as s:
        return {int(i) for chunk in _chunks(ids)
                for i in s.exec(select(ChainEvent.id).where(col(ChainEvent.id).in_(chunk)))}


@dataclass(frozen=True)
class Notice:
    """One item of a followed feed: an event, or the retraction of one sent before."""

    kind: str  # EVENT or RETRACTED
    event: dict[str, Any]


async def follow(engine: Engine, subject: str, after: int, poll_s: float,
                 closed: Callable[[], bool]) -> AsyncIterator[Notice]:
    """Yield the events of ``subject`` after id ``after``, then new ones as they are indexed.

    Events this generator yielded and a reorganisation then dropped come again as
    ``retracted`` notices. It returns once ``closed()`` is true (checked every ``poll_s``).
    """
    last = after
    recent: OrderedDict[int, dict[str, Any]] = OrderedDict()
    while not closed():
        if recent:  # retractions first: what a reorg replaced comes before what replaced it
            kept = await anyio.to_thread.run_sync(still_indexed, engine, list(recent))
            for gone in [i for i in recent if i not in kept]:
                yield Notice(RETRACTED, recent.pop(gone))
        page = await anyio.to_thread.run_sync(events, engine, subject, last, PAGE)
        for view in page:
            yield Notice(EVENT, view)
            last = int(view["id"])
            recent[last] = view
            if len(recent) > RECENT:
                recent.popitem(last=False)
        if len(page) < PAGE:  # else more history to replay before waiting
            await anyio.sleep(poll_s)


# ------------------------------------------------------------------ subscriptions
def _serialise_enqueueing(session: Session) -> None:
    """Make subscribing and indexing take turns, so no event falls between the two.

    The lock lasts until the transaction ends. SQLite needs none: its writers are serial
    and both sides write before they read.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ENQUEUE_LOCK})


def subscribe(engine: Engine, settings: Settings, department: str, subject: str, url: str,
              replay: bool = True) -> tuple[WebhookSubscription, str]:
    """Register ``url`` for the events of ``subject``; return the row and its secret (once).

    With ``replay`` the events already indexed are queued first, in order, so a receiver
    that subscribes late still hears every step.
    """
    check_url(url, settings.webhook_hosts)
    secret = secrets.token_hex(32)
    now = now_ms()
    with Session(engine) as s:
        row = WebhookSubscription(subject=subject, url=url, department=department, created_at_ms=now,
                                  secret_sealed=seal(settings.webhook_secret, subject, secret))
        s.add(row)
        s.flush()  # write first: on SQLite this waits for an indexing transaction to end
        _serialise_enqueueing(s)
        active = s.exec(select(func.count()).select_from(WebhookSubscription).where(
            WebhookSubscription.subject == subject, WebhookSubscription.department == department,
            col(WebhookSubscription.active).is_(True))).one()
        if active > settings.webhook_limit:
            s.rollback()
            raise WebhookLimitReached(f"{department} already has {settings.webhook_limit} webhooks "
                                      "on this subject", limit=settings.webhook_limit)
        if replay:
            assert row.id is not None
            for e in s.exec(select(ChainEvent).where(ChainEvent.subject == subject)
                            .order_by(col(ChainEvent.id))):
                s.add(_delivery(row.id, e, now))
        s.commit()
        s.refresh(row)
    return row, secret


def subscriptions(engine: Engine, subject: str, department: str) -> list[WebhookSubscription]:
    """Return ``department``'s active subscriptions to ``subject``, oldest first."""
    with Session(engine) as s:
        return list(s.exec(select(WebhookSubscription).where(
            WebhookSubscription.subject == subject, WebhookSubscription.department == department,
            col(WebhookSubscription.active).is_(True)).order_by(col(WebhookSubscription.id))))


def _owned(s: Session, subject: str, department: str, subscription_id: int) -> WebhookSubscription:
    row = s.get(WebhookSubscription, subscription_id)
    if row is None or row.subject != subject or row.department != department or not row.active:
        raise WebhookNotFound(f"no webhook {subscription_id} of {department} on this subject",
                              webhook_id=subscription_id)
    return row


def unsubscribe(engine: Engine, subject: str, department: str, subscription_id: int) -> WebhookSubscription:
    """Deactivate a subscription and cancel what it still had to send (kept for inspection)."""
    with Session(engine) as s:
        row = _owned(s, subject, department, subscription_id)
        _serialise_enqueueing(s)  # a delivery queued meanwhile is cancelled below, not left behind
        row.active = False
        row.cancelled_at_ms = now_ms()
        s.add(row)
        s.execute(update(WebhookDelivery).where(
            col(WebhookDelivery.subscription_id) == subscription_id,
            col(WebhookDelivery.state) == "pending").values(
            state="cancelled", last_error="the subscription was deleted"))
        s.commit()
        s.refresh(row)
    return row


def deliveries(engine: Engine, subject: str, department: str, subscription_id: int,
               limit: int = 100) -> list[WebhookDelivery]:
    """Return the newest ``limit`` deliveries of one of ``department``'s subscriptions."""
    with Session(engine) as s:
        _owned(s, subject, department, subscription_id)
        rows = s.exec(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                      .order_by(col(WebhookDelivery.id).desc()).limit(limit)).all()
    return list(reversed(rows))


# ------------------------------------------------------------------ the indexer's hooks
def _delivery(subscription_id: int, event: ChainEvent, now: int) -> WebhookDelivery:
    assert event.id is not None
    return WebhookDelivery(subscription_id=subscription_id, chain_event_id=event.id, kind=EVENT,
                           payload=notification_body(EVENT, subscription_id, event_view(event)),
                           next_attempt_at_ms=now, created_at_ms=now)


def enqueue_deliveries(session: Session, new: list[ChainEvent]) -> None:
    """Indexer projection: queue a delivery per new event and active subscription to its subject."""
    if not new:
        return
    _serialise_enqueueing(session)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted({e.subject for e in new})):
        for sub in session.exec(select(WebhookSubscription).where(
                col(WebhookSubscription.subject).in_(chunk), col(WebhookSubscription.active).is_(True))
                .order_by(col(WebhookSubscription.id))):
            assert sub.id is not None
            by_subject[sub.subject].append(sub.id)
    if not by_subject:
        return
    now = now_ms()
    for e in new:  # chain order: the delivery ids keep it
        for sub_id in by_subject.get(e.subject, ()):
            session.add(_delivery(sub_id, e, now))


def queue_retraction(session: Session, sent: WebhookDelivery, now: int) -> None:
    """Queue a ``retracted`` notice of ``sent``'s event, once, if its subscription is active."""
    sub = session.get(WebhookSubscription, sent.subscription_id)
    if sub is None or not sub.active:
        return
    exists = session.exec(select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == sent.subscription_id,
        WebhookDelivery.chain_event_id == sent.chain_event_id,
        WebhookDelivery.kind == RETRACTED)).first()
    if exists is not None:
        return
    body = json.loads(sent.payload)
    body.pop("type", None)
    body.pop("subscription", None)
    session.add(WebhookDelivery(subscription_id=sent.subscription_id, chain_event_id=sent.chain_event_id,
                                kind=RETRACTED, payload=notification_body(RETRACTED, sent.subscription_id, body),
                                next_attempt_at_ms=now, created_at_ms=now))


def retract_deliveries(session: Session, dropped: list[ChainEvent]) -> None:
    """Indexer rollback: cancel unsent deliveries of dropped events, retract the ones maybe seen."""
    ids = [e.id for e in dropped if e.id is not None]
    now = now_ms()
    for chunk in _chunks(ids):
        rows = session.exec(select(WebhookDelivery).where(
            col(WebhookDelivery.chain_event_id).in_(chunk), WebhookDelivery.kind == EVENT)
            .order_by(col(WebhookDelivery.id))).all()
        for d in rows:
            # A receiver may have acted on an attempt that failed only on the way back.
            maybe_seen = d.state in ("delivered", "failed") or (d.state == "pending" and d.attempts > 0)
            if d.state == "pending":
                d.state, d.last_error = "cancelled", DROPPED
                session.add(d)
            if maybe_seen:
                queue_retraction(session, d, now)
