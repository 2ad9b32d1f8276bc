"""Following a transfer case: its chain events as a Server-Sent Events stream or a list, and webhooks.

A case's events are those whose subject is its id; the routes are thin over
``node.services.notify``, which works for any subject.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from ledger.store.models import WebhookDelivery, WebhookSubscription
from node.api.deps import DepartmentDep, RuntimeDep
from node.api.schemas import (
    SubjectEvents,
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
)
from node.errors import InvalidLastEventId
from node.services import notify

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def _public(row: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic(id=row.id or 0, subject=row.subject, url=row.url, department=row.department,
                         created_at_ms=row.created_at_ms, active=row.active)


def _delivery(row: WebhookDelivery) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=row.id or 0, event_id=row.chain_event_id, kind=row.kind,  # type: ignore[arg-type]
        state=row.state, attempts=row.attempts,  # type: ignore[arg-type]
        next_attempt_at_ms=row.next_attempt_at_ms, last_status=row.last_status,
        last_error=row.last_error, created_at_ms=row.created_at_ms, delivered_at_ms=row.delivered_at_ms)


@router.post("/{case_id}/webhooks", response_model=WebhookCreated, status_code=201)
def create_webhook(case_id: str, body: WebhookCreate, rt: RuntimeDep, dept: DepartmentDep) -> WebhookCreated:
    """Subscribe a receiver to the case's events; the signing secret is returned this once."""
    row, secret = notify.subscribe(rt.engine, rt.settings, dept, notify.case_subject(case_id), body.url,
                                   replay=body.replay)
    return WebhookCreated(**_public(row).model_dump(), secret=secret)


@router.get("/{case_id}/webhooks", response_model=list[WebhookPublic])
def list_webhooks(case_id: str, rt: RuntimeDep, dept: DepartmentDep) -> list[WebhookPublic]:
    """Return the calling department's active webhooks on the case."""
    return [_public(r) for r in notify.subscriptions(rt.engine, notify.case_subject(case_id), dept)]


@router.delete("/{case_id}/webhooks/{webhook_id}", response_model=WebhookPublic)
def delete_webhook(case_id: str, webhook_id: int, rt: RuntimeDep, dept: DepartmentDep) -> WebhookPublic:
    """Stop notifying a receiver; what it was still owed is cancelled."""
    return _public(notify.unsubscribe(rt.engine, notify.case_subject(case_id), dept, webhook_id))


@router.get("/{case_id}/webhooks/{webhook_id}/deliveries", response_model=list[WebhookDeliveryPublic])
def list_deliveries(case_id: str, webhook_id: int, rt: RuntimeDep, dept: DepartmentDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[WebhookDeliveryPublic]:
    """Return a webhook's newest deliveries, oldest first: state, attempts, last error."""
    rows = notify.deliveries(rt.engine, notify.case_subject(case_id), dept, webhook_id, limit)
    return [_delivery(r) for r in rows]


def _resume_after(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is None or not last_event_id.strip():
        return after or 0
    text = last_event_id.strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidLastEventId("Last-Event-ID must be an event id this stream sent", last_event_id=text[:40])
    return int(text)


@router.get("/{case_id}/events", response_model=SubjectEvents,
            responses={200: {"content": {"text/event-stream": {}}}})
async def case_events(case_id: str, request: Request, rt: RuntimeDep,
                      format: Literal["sse", "json"] = "sse",
                      after: Annotated[int | None, Query(ge=0, description="only events with larger ids")] = None,
                      last_event_id: Annotated[str | None, Header()] = None) -> Response | SubjectEvents:
    """Return the case's chain events: a live Server-Sent Events stream, or with ``format=json`` a list.

    The stream replays the history first, then follows the index: each event as
    ``id: <event id>``, ``event: <name>``, ``data: <json>``; an event a reorganisation
    dropped after it was sent comes again as ``event: retracted``. ``Last-Event-ID``
    (or ``after``) resumes after an id. Public: events hold only hashes and codes.
    """
    subject = notify.case_subject(case_id)
    start = _resume_after(last_event_id, after)
    if format == "json":
        found = await anyio.to_thread.run_sync(notify.events, rt.engine, subject, start, notify.PAGE)
        return SubjectEvents(subject=subject, events=found)
    closing: threading.Event = request.app.state.closing

    def closed() -> bool:
        return closing.is_set() or rt.stopping.is_set()

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async for notice in notify.follow(rt.engine, subject, start, rt.settings.sse_poll_ms / 1000, closed):
            data = json.dumps(notice.event, ensure_ascii=False, separators=(",", ":"))
            if notice.kind == notify.EVENT:
                yield ServerSentEvent(data, event=notice.event["name"], id=str(notice.event["id"]))
            else:  # no id: a retraction must not move the client's resume point
                yield ServerSentEvent(data, event=notice.kind)

    return EventSourceResponse(stream(), ping=rt.settings.sse_keepalive_s,
                               ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"))
