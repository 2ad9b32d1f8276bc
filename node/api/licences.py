"""Department endpoints for issuing and managing e-licences."""

from __future__ import annotations

import email.message
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from ledger.domain.merkle import MerkleTree
from ledger.store.models import AnchorBatch, OutboxEntry
from node.api.deps import DepartmentDep, RuntimeDep
from node.api.schemas import (
    AnchorInfo,
    CheckedLicenceBatchCreate,
    LicenceBatchCreate,
    LicenceBatchIssued,
    LicenceCreate,
    LicenceIssued,
    LicencePublic,
    StatusAt,
    StatusChange,
    StatusChangeAccepted,
)
from node.errors import BadRequest, NotFound
from node.services import licences, status
from node.services.chainview import STATUS_NAMES
from node.services.outbox import batch_leaves
from verifiers.qr import qr_png, qr_svg

router = APIRouter(prefix="/v1/licences", tags=["licences"])


@router.post("", response_model=LicenceIssued, status_code=201)
def issue_one(body: LicenceCreate, rt: RuntimeDep, dept: DepartmentDep) -> LicenceIssued:
    """Issue one licence; the identifier and QR token come back at once."""
    return licences.issue(rt.ctx, dept, [body])[0]


BatchBody = LicenceBatchCreate | CheckedLicenceBatchCreate | RequestValidationError


async def batch_body(request: Request) -> BatchBody:
    """Read a batch request's body the way FastAPI would, but validate it in Rust when it is good.

    FastAPI parses a body with ``json.loads`` and validates the dicts, calling
    ``LicenceCreate``'s field check in Python for each licence; for 2,000 licences that is a
    sizeable share of the node's work. A well-formed batch here goes through
    :class:`CheckedLicenceBatchCreate` in one call. Anything else takes FastAPI's own steps,
    so a refusal is the one FastAPI gives, at the same moment: a body that is not JSON
    at once, a body that breaks the schema after the caller is authenticated (returned,
    for the route to raise).
    """
    raw = await request.body()
    json_type = _is_json(request.headers.get("content-type"))
    if raw and json_type:
        try:
            return CheckedLicenceBatchCreate.model_validate_json(raw)
        except ValidationError:
            pass  # FastAPI's steps below say why
    value: Any = None
    if raw:
        value = _json_body(raw) if json_type else raw
    try:
        return LicenceBatchCreate.model_validate(value, from_attributes=True)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        if not raw:
            errors = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        return RequestValidationError(errors, body=value)


def _is_json(content_type: str | None) -> bool:
    """Return True when FastAPI parses a body of ``content_type`` as JSON."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _json_body(raw: bytes) -> Any:
    """Decode a JSON body, refusing it as FastAPI does when it is not JSON."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", e.pos), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": e.msg}}], body=e.doc) from e
    except Exception as e:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from e


#: The batch body as the OpenAPI document shows it (the route reads it with :func:`batch_body`);
#: ``LicenceCreate`` is among the document's schemas already (``POST /v1/licences`` takes it).
_BATCH_SCHEMA = LicenceBatchCreate.model_json_schema(ref_template="#/components/schemas/{model}")
_BATCH_SCHEMA.pop("$defs", None)
_BATCH_REQUEST = {"required": True, "content": {"application/json": {"schema": _BATCH_SCHEMA}}}


@router.post("/batch", response_model=LicenceBatchIssued, status_code=201,
             openapi_extra={"requestBody": _BATCH_REQUEST})
def issue_batch(body: Annotated[BatchBody, Depends(batch_body)],
                rt: RuntimeDep, dept: DepartmentDep) -> Response:
    """Issue many licences in one all-or-nothing request."""
    if isinstance(body, RequestValidationError):
        raise body
    results = licences.issue(rt.ctx, dept, list(body.licences))
    # Serialised by pydantic in one call: FastAPI's generic response path re-validates
    # and walks every result in Python, which costs more than signing them.
    return Response(LicenceBatchIssued(count=len(results), results=results).model_dump_json(),
                    status_code=201, media_type="application/json")


@router.get("/{identifier}", response_model=LicencePublic)
def show(identifier: str, rt: RuntimeDep, dept: DepartmentDep) -> LicencePublic:
    """Return a licence with its document, disclosures and anchoring (access is audited)."""
    lic = licences.get(rt.ctx, dept, identifier)
    anchor = None
    if lic.batch_id is not None and lic.leaf_index is not None:
        with Session(rt.engine) as s:
            batch = s.get(AnchorBatch, lic.batch_id)
        if batch is not None:
            proof = MerkleTree(batch_leaves(batch)).proof(lic.leaf_index)
            anchor = AnchorInfo(batch_root=batch.root, leaf_index=lic.leaf_index,
                                proof=[p.hex() for p in proof],
                                block_number=batch.anchored_block, anchored_at=batch.anchored_at,
                                transaction_hash=batch.transaction_hash)
    return LicencePublic(
        identifier=lic.identifier, department=lic.department, licence_type=lic.licence_type,
        leaf=lic.leaf, document_digest=lic.document_digest, status=lic.status,
        status_reason=lic.status_reason, issued_at=lic.issued_at, valid_from=lic.valid_from,
        valid_until=lic.valid_until, kid=lic.kid, qr=lic.token,
        document=json.loads(lic.document), disclosures=json.loads(lic.disclosures),
        anchor=anchor)


@router.get("/{identifier}/qr")
def qr(identifier: str, rt: RuntimeDep, dept: DepartmentDep,
       format: str = Query("png", pattern="^(png|svg|text)$")) -> Response:
    """Return the licence's QR code as PNG, SVG or the token text."""
    lic = licences.get(rt.ctx, dept, identifier, action="licence.qr")
    if format == "text":
        return Response(lic.token, media_type="text/plain")
    if format == "svg":
        return Response(qr_svg(lic.token), media_type="image/svg+xml")
    buf = io.BytesIO()
    qr_png(lic.token, buf)
    return Response(buf.getvalue(), media_type="image/png")


def _change(rt: RuntimeDep, dept: str, identifier: str, action: str,
            reason: int | None) -> StatusChangeAccepted:
    entry = status.request_change(rt.ctx, rt.anchorer, dept, identifier, action, reason)
    return StatusChangeAccepted(identifier=identifier, action=action, outbox_id=entry.id or 0,
                                state=entry.state)


@router.post("/{identifier}/suspend", response_model=StatusChangeAccepted, status_code=202)
def suspend(identifier: str, body: StatusChange, rt: RuntimeDep,
            dept: DepartmentDep) -> StatusChangeAccepted:
    """Suspend a licence (reason code required); the chain records it via the outbox."""
    return _change(rt, dept, identifier, "suspend", body.reason)


@router.post("/{identifier}/reinstate", response_model=StatusChangeAccepted, status_code=202)
def reinstate(identifier: str, rt: RuntimeDep, dept: DepartmentDep) -> StatusChangeAccepted:
    """Lift a suspension."""
    return _change(rt, dept, identifier, "reinstate", None)


@router.post("/{identifier}/revoke", response_model=StatusChangeAccepted, status_code=202)
def revoke(identifier: str, body: StatusChange, rt: RuntimeDep,
           dept: DepartmentDep) -> StatusChangeAccepted:
    """Revoke a licence for good (reason code required)."""
    return _change(rt, dept, identifier, "revoke", body.reason)


@router.get("/{identifier}/status", response_model=StatusAt)
def status_at(identifier: str, rt: RuntimeDep, dept: DepartmentDep,
              at: int | None = None) -> StatusAt:
    """Return the licence's status at time ``at`` (default now) as the chain records it."""
    lic = licences.get(rt.ctx, dept, identifier, action="licence.status")
    when = rt.chain_time() if at is None else at
    if when < 0:
        raise BadRequest("at must be a unix time", at=at)
    rec = rt.trust.status(bytes.fromhex(lic.leaf), when)
    return StatusAt(identifier=identifier, at=when, status=STATUS_NAMES[rec.status],
                    reason=rec.reason_code or None, since=rec.since)


outbox_router = APIRouter(prefix="/v1/outbox", tags=["outbox"])


@outbox_router.get("/{entry_id}")
def outbox_entry(entry_id: int, rt: RuntimeDep, dept: DepartmentDep) -> dict[str, object]:
    """Return the state of a queued chain action of the caller's department."""
    with Session(rt.engine) as s:
        row = s.get(OutboxEntry, entry_id)
    if row is None or row.department != dept:
        raise NotFound(f"no outbox entry {entry_id} for {dept}")
    indexed = row.block_number is not None and rt.indexer.cursor() >= row.block_number
    return {"id": row.id, "kind": row.kind, "state": row.state, "error_code": row.error_code,
            "transaction_hash": row.transaction_hash, "block_number": row.block_number,
            "indexed": indexed}
