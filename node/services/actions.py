"""A department's step on one of the node's contracts, the way every API step takes it.

``perform`` encodes the call, preflights it with ``eth_call`` from the department's own
account (a revert becomes :class:`~node.errors.ContractReverted` and nothing is queued),
queues it in the outbox as a ``call`` entry (calldata fixed now, so the outbox's
guarantees hold: journaled raw transaction, exactly once, resumed after a restart, sent
again after a reorg), wakes the sender and waits until the transaction is mined or
failed. A revert after sending is the same coded error; a timeout is
:class:`~node.errors.Unavailable` (503) and the entry stays queued: it lands later.

Works for any contract whose artifact is in ``node/chain/artifacts``; its address is
the ``<snake_name>_address`` setting (``transfer_cases_address`` for ``TransferCases``)
unless the indexer's table (:data:`node.services.chainview.WATCHED`) names another, or
the caller passes ``to``. The contract must be watched by the indexer for reorg
protection to end once the entry's event is indexed (see the outbox).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_abi.exceptions import EncodingError
from sqlmodel import Session

from ledger.store import audit
from ledger.store.models import OutboxEntry
from node.chain.abi import AbiError, DecodedEvent, contract
from node.chain.errors import CallReverted
from node.config import Settings
from node.errors import BadRequest, ContractReverted, Unavailable
from node.services import chainview
from node.services.context import NodeContext
from node.services.outbox import call_payload, enqueue

if TYPE_CHECKING:
    from node.runtime import Runtime

DEFAULT_TIMEOUT = 60.0
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class PreparedCall:
    """A call that passed its preflight: where it goes, its calldata, what the preflight returned."""

    contract: str
    function: str
    to: bytes
    data: bytes
    output: tuple[Any, ...]


@dataclass(frozen=True)
class ActionResult:
    """A department's call as the chain recorded it."""

    outbox_id: int
    contract: str
    function: str
    transaction_hash: str
    block_number: int
    gas_used: int
    #: The target contract's events in the transaction's receipt, in log order.
    events: tuple[DecodedEvent, ...]
    #: Whether the node's index holds the block (its read endpoints show the change).
    indexed: bool

    def event(self, name: str) -> DecodedEvent:
        """Return the first event called ``name`` (KeyError when the receipt has none)."""
        for e in self.events:
            if e.name == name:
                return e
        raise KeyError(name)


def address_of(settings: Settings, contract_name: str) -> bytes:
    """Return the configured address of ``contract_name``; Unavailable when none is set."""
    watched = chainview.WATCHED.get(contract_name)
    setting = watched.address_setting if watched else (
        re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", contract_name).lower() + "_address")
    text = str(getattr(settings, setting, "") or "")
    if not text:
        raise Unavailable(f"this node has no {contract_name} configured ({setting})",
                          contract=contract_name)
    return bytes.fromhex(text.removeprefix("0x"))


def preflight(ctx: NodeContext, department: str, contract_name: str, function: str,
              args: Sequence[Any], to: bytes | None = None) -> PreparedCall:
    """Encode ``function(*args)`` and run it with ``eth_call`` from the department's account.

    Raises :class:`ContractReverted` with the contract's custom error when it would revert.
    """
    abi = contract(contract_name)
    target = to if to is not None else address_of(ctx.settings, contract_name)
    try:
        data = abi.encode_call(function, list(args))
    except (AbiError, EncodingError, TypeError, OverflowError) as exc:
        raise BadRequest(f"arguments do not fit {contract_name}.{function}: {exc}",
                         contract=contract_name, function=function) from None
    sender = bytes.fromhex(ctx.account(department).address[2:])
    try:
        raw = ctx.gateway.call(target, data, sender=sender)
    except CallReverted as exc:
        raise ContractReverted(contract_name, *abi.decode_error(exc.data),
                               function=function) from None
    return PreparedCall(contract_name, function, target, data, abi.decode_output(function, raw))


def submit(runtime: Runtime, department: str, call: PreparedCall, subject: str = "",
           detail: dict[str, Any] | None = None,
           on_queued: Callable[[Session, OutboxEntry], None] | None = None) -> int:
    """Queue a prepared call for ``department`` (with its audit entry) and wake the sender.

    ``on_queued`` runs inside the queuing transaction, to record what depends on the entry.
    """
    with Session(runtime.engine) as s:
        entry = enqueue(s, department, "call",
                        call_payload(call.to, call.contract, call.function, call.data))
        if on_queued is not None:
            on_queued(s, entry)
        audit.append(s, actor=department, action=f"{call.contract}.{call.function}"[:64],
                     subject=subject or "0x" + call.to.hex(),
                     detail={**(detail or {}), "outbox": entry.id})
        s.commit()
        entry_id = int(entry.id or 0)
    runtime.ctx.on_accepted()
    return entry_id


def wait(runtime: Runtime, entry_id: int, timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    """Wait until outbox entry ``entry_id`` is mined (return it) or failed (raise its error).

    A node without a background loop (tests, scripts) is driven from here; otherwise the
    loop does the work and this polls. Raises Unavailable after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        row = _entry(runtime, entry_id)
        if row.state in ("mined", "failed") or time.monotonic() >= deadline:
            break
        if runtime.is_leader and not runtime.background_running:
            _drive(runtime, deadline)
        else:
            time.sleep(POLL_SECONDS)
    payload = json.loads(row.payload)
    name, function = payload.get("contract", "LicenceRegistry"), payload.get("function", row.kind)
    if row.state == "failed":
        args = json.loads(row.error) if row.error and row.error.startswith("{") else {}
        raise ContractReverted(name, "" if row.error_code == "reverted" else row.error_code or "",
                               args, function=function, outbox_id=entry_id,
                               transaction_hash=row.transaction_hash)
    if row.state != "mined" or row.transaction_hash is None or row.block_number is None:
        raise Unavailable("the chain did not confirm the transaction in time; it stays queued "
                          "and is sent when the chain allows", outbox_id=entry_id, state=row.state)
    receipt = runtime.gateway.receipt(bytes.fromhex(row.transaction_hash))
    logs = [] if receipt is None else [g for g in receipt.logs
                                       if "to" in payload and g.address.hex() == payload["to"][2:]]
    indexed = await_index(runtime, row.block_number, deadline)
    return ActionResult(outbox_id=entry_id, contract=name, function=function,
                        transaction_hash=row.transaction_hash, block_number=row.block_number,
                        gas_used=row.gas_used or 0, events=tuple(contract(name).decode_logs(logs)),
                        indexed=indexed)


def perform(runtime: Runtime, department: str, contract_name: str, function: str,
            args: Sequence[Any], *, to: bytes | None = None, subject: str = "",
            detail: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT) -> ActionResult:
    """Preflight, queue and wait for ``contract_name.function(*args)`` sent by ``department``."""
    call = preflight(runtime.ctx, department, contract_name, function, args, to=to)
    entry_id = submit(runtime, department, call, subject=subject, detail=detail)
    return wait(runtime, entry_id, timeout)


def _entry(runtime: Runtime, entry_id: int) -> OutboxEntry:
    with Session(runtime.engine) as s:
        row = s.get(OutboxEntry, entry_id)
    if row is None:
        raise Unavailable(f"outbox entry {entry_id} is gone", outbox_id=entry_id)
    return row


def await_index(runtime: Runtime, block_number: int, deadline: float) -> bool:
    """Wait (within the deadline) for the index to reach ``block_number`` when it indexes at depth 0."""
    while runtime.indexer.cursor() < block_number:
        if runtime.settings.confirmations > 0 or time.monotonic() >= deadline:
            return False
        if runtime.is_leader and not runtime.background_running:
            _drive(runtime, deadline)
        else:
            time.sleep(POLL_SECONDS)
    return True


def _drive(runtime: Runtime, deadline: float) -> None:
    """Run one pass of a node without a background loop; sleep as long as it says its sender waits."""
    progress = runtime.tick()
    if progress.send_wait_s:
        time.sleep(max(0.0, min(progress.send_wait_s, deadline - time.monotonic())))
