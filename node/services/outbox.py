"""The outbox: chain transactions the node has promised, sent exactly once and in order.

Life of an entry: ``queued`` (recorded with the request that caused it) → ``signed``
(raw transaction and nonce journaled *before* it is sent) → ``sent`` → ``mined`` or
``failed``. After a restart, ``signed`` and ``sent`` entries are re-sent with the very
same raw transaction, so a retry can never produce a second, different transaction.
The contract refuses a second anchor of the same root as a last line of defence.

Kinds: ``anchor`` (a batch root), ``suspend`` / ``revoke`` / ``reinstate`` (the proof is
computed when signing), ``set_endpoint``, ``rotate_key`` — all to the LicenceRegistry — and
``call``: any calldata to any of the node's contracts, fixed when it is queued (payload
``{"to": "0x…", "contract": artifact name, "function": name, "data": "0x…"}``; see
:func:`call_payload`). A refused entry ends ``failed`` with the contract's custom error
name in ``error_code`` and its arguments as JSON in ``error``.

``mined`` is not final while a reorganisation can still take the block away. Once the
indexer holds the entry's event, its reorg handling reopens the entry
(:func:`reopen_after_reorg`); until then the sender re-reads the receipt on every pass
and sends the transaction again when it has gone.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, update
from sqlmodel import Session, col, select

from ledger.domain.identifiers import to_bytes32
from ledger.domain.merkle import MerkleTree
from ledger.store.models import AnchorBatch, ChainEvent, Licence, OutboxEntry, PendingLeaf
from node.chain.abi import ContractAbi, contract
from node.chain.errors import CallReverted, TransactionRejected
from node.chain.txsend import SignedTx, TxSender
from node.errors import Unavailable, jsonable
from node.services.context import NodeContext

if TYPE_CHECKING:
    from node.runtime import Runtime

log = logging.getLogger(__name__)

ANCHOR_GAS = 120_000
PENDING_STATES = ("queued", "signed", "sent")


def now_ms() -> int:
    """Return the wall clock in milliseconds."""
    return int(time.time() * 1000)


def enqueue(session: Session, department: str, kind: str, payload: dict[str, Any]) -> OutboxEntry:
    """Record a chain action inside the caller's transaction."""
    ts = now_ms()
    entry = OutboxEntry(department=department, kind=kind, payload=json.dumps(payload),
                        state="queued", created_at_ms=ts, updated_at_ms=ts)
    session.add(entry)
    session.flush()
    return entry


def call_payload(to: bytes, contract_name: str, function: str, data: bytes) -> dict[str, Any]:
    """Return the payload of a ``call`` entry: ``data`` sent to ``to`` as it is now."""
    contract(contract_name)  # the revert reason is decoded with this artifact's ABI
    return {"to": "0x" + bytes(to).hex(), "contract": contract_name, "function": function,
            "data": "0x" + bytes(data).hex()}


def batch_leaves(batch: AnchorBatch) -> list[bytes]:
    """Return the batch's leaves in tree order."""
    raw = batch.leaves
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def drive_until_done(runtime: Runtime, entry_id: int | None, timeout: float) -> OutboxEntry:
    """Tick the node until outbox entry ``entry_id`` is mined or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runtime.tick()
        with Session(runtime.engine) as s:
            row = s.get(OutboxEntry, entry_id)
        if row is not None and row.state in ("mined", "failed"):
            return row
        time.sleep(0.02)
    raise Unavailable("the chain did not confirm the transaction in time", outbox_id=entry_id)


#: The longest an anchor waits for the chain's next second (see `Sender._hold_back`).
HOLD_LIMIT_MS = 2_000


@dataclass
class SendReport:
    """What one sender pass did."""

    signed: int = 0
    sent: int = 0
    mined: int = 0
    failed: int = 0
    reorged: int = 0
    #: Seconds until held-back transactions can be mined without waiting (0.0: none held back).
    wait_s: float = 0.0


class Sender:
    """Turns outbox entries into transactions; one instance per node (the elected leader)."""

    def __init__(self, ctx: NodeContext, txsender: TxSender) -> None:
        self.ctx = ctx
        self.tx = txsender
        self.registry = contract("LicenceRegistry")
        # Per department, the lowest entry id that may still be unconfirmed: entries below it
        # are failed or have their event indexed, so the indexer guards them against reorgs.
        self._unconfirmed_from: dict[str, int] = {}

    def run_once(self, limit: int = 256) -> SendReport:
        """Advance every department's outbox as far as the chain allows now."""
        report = SendReport()
        busy, newest = self._busy_departments()
        for department in self.ctx.identities:
            if department in busy:
                self._recheck_mined(department, report)
                self._advance(department, limit, report)
            else:  # every entry it has is below its mark, so below the newest one too
                self._unconfirmed_from[department] = max(self._unconfirmed_from.get(department, 0),
                                                         newest + 1)
        return report

    def _busy_departments(self) -> tuple[set[str], int]:
        """Return the departments with an entry pending or at or above their mark, and the newest id.

        The node ticks after every accepted request; two indexed queries here spare the
        idle departments the three queries each that :meth:`_recheck_mined` and
        :meth:`_advance` would run to find nothing.
        """
        low = min((self._unconfirmed_from.get(d, 0) for d in self.ctx.identities), default=0)
        with Session(self.ctx.engine) as s:
            busy = set(s.exec(select(OutboxEntry.department).where(
                col(OutboxEntry.state).in_(PENDING_STATES)).distinct()).all())
            recent = s.exec(select(OutboxEntry.department, OutboxEntry.id).where(col(OutboxEntry.id) >= low)).all()
        busy.update(d for d, entry_id in recent if entry_id >= self._unconfirmed_from.get(d, 0))
        # With no entry at or above the lowest mark, every mark already covers the newest entry.
        return busy, max((entry_id for _, entry_id in recent), default=low - 1)

    # ---------------------------------------------------------------- reorgs
    def _recheck_mined(self, department: str, report: SendReport) -> None:
        """Reopen mined entries whose transaction a reorg took away before it was indexed."""
        indexed = exists().where(and_(col(ChainEvent.block_number) == col(OutboxEntry.block_number),
                                      col(ChainEvent.transaction_hash) == col(OutboxEntry.transaction_hash)))
        with Session(self.ctx.engine) as s:
            # entries reopened by the indexer or re-queued may sit below the remembered mark
            pending_from = s.exec(select(func.min(OutboxEntry.id)).where(
                OutboxEntry.department == department,
                col(OutboxEntry.state).in_(PENDING_STATES))).one()
            since = min(self._unconfirmed_from.get(department, 0),
                        pending_from if pending_from is not None else 2**62)
            rows = s.exec(select(OutboxEntry.id, OutboxEntry.state, OutboxEntry.transaction_hash,
                                 OutboxEntry.block_number, indexed.label("indexed"))
                          .where(OutboxEntry.department == department, col(OutboxEntry.id) >= since,
                                 OutboxEntry.state != "failed")
                          .order_by(col(OutboxEntry.id))).all()
        unconfirmed: int | None = None
        for entry_id, state, tx_hash, block_number, is_indexed in rows:
            if state == "mined" and is_indexed:
                continue
            unconfirmed = entry_id if unconfirmed is None else unconfirmed
            if state != "mined" or not tx_hash:
                continue
            receipt = self.ctx.gateway.receipt(bytes.fromhex(tx_hash))
            if receipt is None:
                log.warning("a reorganisation dropped a mined transaction; sending it again",
                            extra={"outbox_id": entry_id, "transaction_hash": tx_hash,
                                   "block_number": block_number})
                self._finish(entry_id, "sent", block_number=None, gas_used=None)
                report.reorged += 1
            elif receipt.block_number != block_number:  # mined again on the new branch
                self._finish(entry_id, "mined", block_number=receipt.block_number,
                             gas_used=receipt.gas_used)
        last = rows[-1][0] + 1 if rows else since
        self._unconfirmed_from[department] = unconfirmed if unconfirmed is not None else last

    # ---------------------------------------------------------------- per department
    def _advance(self, department: str, limit: int, report: SendReport) -> None:
        with Session(self.ctx.engine) as s:
            entries = list(s.exec(
                select(OutboxEntry).where(OutboxEntry.department == department,
                                          col(OutboxEntry.state).in_(PENDING_STATES))
                .order_by(col(OutboxEntry.id)).limit(limit)))
        if not entries:
            return
        self._check_sent(entries, report)
        if self._hold_back(department, [e for e in entries if e.state not in ("mined", "failed")], report):
            return
        to_send: list[tuple[OutboxEntry, SignedTx | None]] = []
        next_nonce: int | None = None
        for entry in entries:
            if entry.state in ("mined", "failed"):
                continue
            if entry.state in ("signed", "sent"):
                to_send.append((entry, None))
                next_nonce = (entry.nonce or 0) + 1
                continue
            # queued: status changes read chain state, so they wait for earlier entries
            if entry.kind != "anchor" and to_send:
                break
            if next_nonce is None:
                next_nonce = self._next_nonce(department)
            signed = self._sign(entry, next_nonce)
            if signed is None:
                report.failed += 1
                continue
            next_nonce += 1
            report.signed += 1
            to_send.append((entry, signed))
        if to_send:
            self._send(to_send, report)

    def _hold_back(self, department: str, unsent: list[OutboxEntry], report: SendReport) -> bool:
        """Return True when the department's anchors should wait for the chain's next second.

        While more of its licences are being issued or wait to be batched, a block of only
        anchors that would take the embedded chain's second of lead
        (`ChainGateway.block_delay`) is held back, not waited for: the loop goes on batching
        and indexing, and sends when the second turns. The lead then stays free for the
        block with the last batch of a burst, which is mined at once instead of up to a
        second later. Anything else is sent now: a status change, key rotation or other
        call among them, or an anchor queued `HOLD_LIMIT_MS` ago (blocks of other
        departments may keep taking the second).
        """
        if not unsent or any(e.kind != "anchor" for e in unsent):
            return False
        if now_ms() - min(e.created_at_ms for e in unsent) >= HOLD_LIMIT_MS:
            return False
        # Another worker's requests are not seen here, only their leaves once written.
        if not self.ctx.is_issuing(department):
            with Session(self.ctx.engine) as s:
                if s.exec(select(PendingLeaf.seq).where(PendingLeaf.department == department)
                          .limit(1)).first() is None:
                    return False
        delay = self.ctx.gateway.block_delay(keep_lead=True)
        if delay <= 0:
            return False
        report.wait_s = min(report.wait_s, delay) if report.wait_s else delay
        return True

    def _next_nonce(self, department: str) -> int:
        address = bytes.fromhex(self.ctx.account(department).address[2:])
        chain_nonce = self.ctx.gateway.nonce(address)
        with Session(self.ctx.engine) as s:
            journaled = s.exec(
                select(OutboxEntry.nonce).where(OutboxEntry.department == department,
                                                col(OutboxEntry.nonce).is_not(None))
                .order_by(col(OutboxEntry.nonce).desc()).limit(1)).first()
        return max(chain_nonce, (journaled + 1) if journaled is not None else 0)

    def _target(self, entry: OutboxEntry) -> tuple[bytes, ContractAbi]:
        """Return the address the entry's transaction goes to and that contract's ABI."""
        if entry.kind == "call":
            p = json.loads(entry.payload)
            return bytes.fromhex(p["to"].removeprefix("0x")), contract(p["contract"])
        return self.ctx.registry, self.registry

    def _sign(self, entry: OutboxEntry, nonce: int) -> SignedTx | None:
        """Build, sign and journal the entry's transaction; None when it cannot succeed."""
        account = self.ctx.account(entry.department)
        to, abi = self._target(entry)
        try:
            data = self._calldata(entry)
            gas = ANCHOR_GAS if entry.kind == "anchor" else None
            signed = self.tx.build(account, to, data, gas=gas, nonce=nonce)
        except CallReverted as exc:
            name, args = abi.decode_error(exc.data)
            self._finish(entry.id, "failed", error_code=name or "reverted", error=_error_json(args))
            return None
        with Session(self.ctx.engine) as s:
            s.execute(update(OutboxEntry).where(col(OutboxEntry.id) == entry.id).values(
                state="signed", nonce=signed.nonce, raw_transaction=signed.raw,
                transaction_hash=signed.hash.hex(), updated_at_ms=now_ms(),
                attempts=OutboxEntry.attempts + 1))
            s.commit()
        return signed

    def _calldata(self, entry: OutboxEntry) -> bytes:
        p = json.loads(entry.payload)
        if entry.kind == "call":
            return bytes.fromhex(p["data"].removeprefix("0x"))
        if entry.kind == "anchor":
            return self.registry.encode_call(
                "anchorBatch", [bytes.fromhex(p["root"]), p["count"], to_bytes32(p["licence_type"])])
        if entry.kind in ("suspend", "revoke", "reinstate"):
            with Session(self.ctx.engine) as s:
                lic = s.get(Licence, p["identifier"])
                batch = s.get(AnchorBatch, lic.batch_id) if lic and lic.batch_id else None
            if lic is None or batch is None or lic.leaf_index is None:
                raise RuntimeError(f"outbox {entry.id}: licence {p['identifier']} is not batched")
            proof = MerkleTree(batch_leaves(batch)).proof(lic.leaf_index)
            args: list[Any] = [bytes.fromhex(lic.document_digest), bytes.fromhex(batch.root), proof]
            if entry.kind != "reinstate":
                args.append(p["reason"])
            return self.registry.encode_call(entry.kind, args)
        if entry.kind == "set_endpoint":
            return self.registry.encode_call("setEndpoint", [p["endpoint"]])
        if entry.kind == "rotate_key":
            return self.registry.encode_call(
                "rotateKey", [bytes.fromhex(p["kid"]), p["alg"], bytes.fromhex(p["public_key"])])
        raise RuntimeError(f"outbox {entry.id}: unknown kind {entry.kind!r}")

    def _send(self, items: list[tuple[OutboxEntry, SignedTx | None]], report: SendReport) -> None:
        raws = [(e, signed.raw if signed else (e.raw_transaction or b"")) for e, signed in items]
        try:
            self.ctx.gateway.send_raw_transactions([r for _, r in raws])
        except TransactionRejected as exc:
            # Already-known or already-mined transactions are fine; receipts tell.
            log.info("node refused a resend; checking receipts", extra={"error": str(exc)})
            self._resend_individually(raws)
        with Session(self.ctx.engine) as s:
            ids = [e.id for e, _ in raws if e.state != "sent"]
            if ids:
                s.execute(update(OutboxEntry).where(col(OutboxEntry.id).in_(ids))
                          .values(state="sent", updated_at_ms=now_ms()))
                s.commit()
        report.sent += len(raws)
        with Session(self.ctx.engine) as s:
            refreshed = list(s.exec(select(OutboxEntry).where(
                col(OutboxEntry.id).in_([e.id for e, _ in raws])).order_by(col(OutboxEntry.id))))
        self._check_sent(refreshed, report)

    def _resend_individually(self, raws: list[tuple[OutboxEntry, bytes]]) -> None:
        for entry, raw in raws:
            try:
                self.ctx.gateway.send_raw_transactions([raw])
            except TransactionRejected as exc:
                if entry.transaction_hash and self.ctx.gateway.receipt(
                        bytes.fromhex(entry.transaction_hash)) is not None:
                    continue
                if "nonce" in str(exc).lower():
                    # Our nonce was consumed by something else: sign again with a fresh one.
                    self._finish(entry.id, "queued", error_code="nonce_reset", error=str(exc))
                    self.tx.resync(bytes.fromhex(self.ctx.account(entry.department).address[2:]))
                else:
                    self._finish(entry.id, "failed", error_code="rejected", error=str(exc))

    def _check_sent(self, entries: list[OutboxEntry], report: SendReport) -> None:
        for entry in entries:
            if entry.state not in ("signed", "sent") or not entry.transaction_hash:
                continue
            receipt = self.ctx.gateway.receipt(bytes.fromhex(entry.transaction_hash))
            if receipt is None:
                continue
            if receipt.status == 1:
                self._finish(entry.id, "mined", block_number=receipt.block_number,
                             gas_used=receipt.gas_used)
                entry.state = "mined"
                report.mined += 1
            else:
                code, args = self._revert_reason(entry)
                self._finish(entry.id, "failed", block_number=receipt.block_number,
                             gas_used=receipt.gas_used, error_code=code, error=_error_json(args))
                entry.state = "failed"
                report.failed += 1

    def _revert_reason(self, entry: OutboxEntry) -> tuple[str, dict[str, Any]]:
        """Return the custom error (and arguments) the entry's call reverts with now."""
        try:
            to, abi = self._target(entry)
            address = bytes.fromhex(self.ctx.account(entry.department).address[2:])
            self.ctx.gateway.call(to, self._calldata(entry), sender=address)
        except CallReverted as exc:
            name, args = abi.decode_error(exc.data)
            return name or "reverted", args
        except Exception:  # the reason is best effort; the receipt status already failed it
            return "reverted", {}
        return "reverted", {}

    def _finish(self, entry_id: int | None, state: str, **values: Any) -> None:
        with Session(self.ctx.engine) as s:
            s.execute(update(OutboxEntry).where(col(OutboxEntry.id) == entry_id)
                      .values(state=state, updated_at_ms=now_ms(), **values))
            s.commit()


def _error_json(args: dict[str, Any]) -> str:
    """Return decoded error arguments as JSON (bytes as hex)."""
    return json.dumps(jsonable(args), default=str)


def reopen_after_reorg(session: Session, dropped: list[ChainEvent]) -> None:
    """Indexer rollback hook: entries mined in dropped blocks go back to ``sent``."""
    if not dropped:
        return
    fork = min(e.block_number for e in dropped) - 1
    session.execute(update(OutboxEntry).where(col(OutboxEntry.state) == "mined",
                                              col(OutboxEntry.block_number) > fork)
                    .values(state="sent", block_number=None, updated_at_ms=now_ms()))
