"""A department's own entry in the on-chain directory: where its node is reached."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from ledger.store import audit
from node.api.schemas import EndpointChanged
from node.errors import BadRequest, ContractRefused
from node.services.outbox import drive_until_done, enqueue

if TYPE_CHECKING:
    from node.runtime import Runtime


def set_endpoint(runtime: Runtime, department: str, endpoint: str,
                 timeout: float = 60.0) -> EndpointChanged:
    """Record on chain that ``department``'s node answers at ``endpoint``; wait until indexed."""
    ctx = runtime.ctx
    ctx.identity(department)
    if not endpoint.startswith(("http://", "https://")) or len(endpoint) > 512:
        raise BadRequest("endpoint must be an http(s) URL of at most 512 characters",
                         endpoint=endpoint)
    with Session(ctx.engine) as s:
        entry = enqueue(s, department, "set_endpoint", {"endpoint": endpoint})
        audit.append(s, actor=department, action="directory.set_endpoint", subject=department,
                     detail={"endpoint": endpoint})
        s.commit()
        entry_id = entry.id
    done = drive_until_done(runtime, entry_id, timeout)
    if done.state != "mined":
        raise ContractRefused(done.error_code or "set_endpoint_failed")
    runtime.tick()
    return EndpointChanged(department=department, endpoint=endpoint,
                           transaction_hash=done.transaction_hash or "")
