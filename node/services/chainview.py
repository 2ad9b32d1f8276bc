"""What the node knows of the chain, read from the indexed events.

``decode`` turns raw logs into the indexer's rows, dispatching on the log's address to
the contract watched there (``WATCHED``); ``project_statuses`` mirrors licence status
events onto our licence rows; ``TrustView`` answers a verifier's questions (keys,
departments, trust, statuses, anchors) from the database, caching the small directory
tables until the indexer reports new events.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from ledger.domain import merkle
from ledger.domain.identifiers import from_bytes32
from ledger.indexer.indexer import DecodedEvent
from ledger.store.models import AnchorBatch, ChainEvent, Licence, PeerProof
from node.chain.abi import contract
from node.chain.gateway import RawLog
from node.config import Settings
from node.errors import jsonable
from verifiers.trust import (
    DepartmentRecord,
    KeyRecord,
    LicenceStatus,
    StatusEvent,
    StatusRecord,
    status_at,
)

STATUS_EVENTS = {"LicenceSuspended": LicenceStatus.SUSPENDED,
                 "LicenceReinstated": LicenceStatus.ACTIVE,
                 "LicenceRevoked": LicenceStatus.REVOKED}
STATUS_NAMES = {LicenceStatus.ACTIVE: "active", LicenceStatus.SUSPENDED: "suspended",
                LicenceStatus.REVOKED: "revoked"}


@dataclass(frozen=True)
class WatchedContract:
    """A contract the indexer follows: its artifact, the setting holding its address, and
    for each event the argument that is its ``subject`` (events not named: their own name)."""

    name: str
    address_setting: str
    subjects: Mapping[str, str]


# The contracts the node indexes. Watching another one is one line here (its artifact must
# be in node/chain/artifacts and its address a Settings field); Runtime reads this table.
WATCHED: dict[str, WatchedContract] = {c.name: c for c in (
    WatchedContract("LicenceRegistry", "registry_address", {
        "BatchAnchored": "root", "LicenceSuspended": "leaf", "LicenceReinstated": "leaf",
        "LicenceRevoked": "leaf", "KeyRegistered": "kid", "KeyRetired": "kid",
        "KeyCompromised": "kid", "DepartmentAdded": "code", "DepartmentUpdated": "code",
        "TrustSet": "verifierRegion"}),
    WatchedContract("PropertyRegistry", "property_registry_address", {"TitleChanged": "unit"}),
    WatchedContract("TransferCases", "transfer_cases_address", {
        "CaseOpened": "caseId", "CaseMortgageConsented": "caseId", "CaseAssessed": "caseId",
        "CaseFunded": "caseId", "CaseSettled": "caseId", "CaseClosed": "caseId"}),
)}


def watched_addresses(settings: Settings) -> dict[bytes, str]:
    """Return ``{address: contract name}`` of every watched contract ``settings`` configures."""
    out: dict[bytes, str] = {}
    for watched in WATCHED.values():
        text = str(getattr(settings, watched.address_setting, "") or "")
        if text:
            out[bytes.fromhex(text.removeprefix("0x"))] = watched.name
    return out


def decode(raw: list[RawLog], contracts: Mapping[bytes, str] | None = None) -> list[DecodedEvent]:
    """Decode logs in bulk into indexer rows, each with the ABI of the contract at its address.

    ``contracts`` maps addresses to watched contract names; without it every log is read as
    the LicenceRegistry's. Logs from other addresses, and events a contract's ABI does not
    know, are skipped.
    """
    by_contract: dict[str, list[tuple[int, RawLog]]] = defaultdict(list)
    for position, raw_log in enumerate(raw):
        name = "LicenceRegistry" if contracts is None else contracts.get(bytes(raw_log.address))
        if name is not None:
            by_contract[name].append((position, raw_log))
    rows: list[tuple[int, DecodedEvent]] = []
    for name, logs in by_contract.items():
        watched, abi = WATCHED[name], contract(name)
        known = [(p, r) for p, r in logs if r.topics and r.topics[0] in abi.event_by_topic0]
        for (position, raw_log), event in zip(known, abi.decode_logs([r for _, r in known]),
                                              strict=True):
            args = {k: jsonable(v) for k, v in event.args.items()}
            key = watched.subjects.get(event.name)
            subject = str(args[key]) if key else event.name
            rows.append((position, DecodedEvent(name=event.name, subject=subject, args=args,
                                                raw=raw_log)))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def decoder(contracts: Mapping[bytes, str]) -> Callable[[list[RawLog]], list[DecodedEvent]]:
    """Return the indexer's ``decode`` bound to the watched ``{address: contract name}``."""
    bound = {bytes(a): n for a, n in contracts.items()}
    return lambda raw: decode(raw, bound)


def project_statuses(session: Session, events: list[ChainEvent]) -> None:
    """Indexer projection: mirror status events onto the licences this node issued."""
    for e in events:
        status = STATUS_EVENTS.get(e.name)
        if status is None:
            continue
        reason = json.loads(e.args).get("reason")
        lic = session.exec(select(Licence).where(col(Licence.leaf) == e.subject)).first()
        if lic is not None:
            lic.status = STATUS_NAMES[status]
            lic.status_reason = reason
            session.add(lic)


def unproject_statuses(session: Session, dropped: list[ChainEvent]) -> None:
    """Indexer rollback: recompute the status of licences whose events were dropped."""
    for leaf in {e.subject for e in dropped if e.name in STATUS_EVENTS}:
        history = _status_history(session, leaf)
        current = history[-1] if history else None
        lic = session.exec(select(Licence).where(col(Licence.leaf) == leaf)).first()
        if lic is not None:
            lic.status = STATUS_NAMES[current.status] if current else "active"
            lic.status_reason = current.reason_code if current else None
            session.add(lic)


def _status_history(session: Session, leaf: str) -> list[StatusEvent]:
    rows = session.exec(select(ChainEvent).where(
        ChainEvent.subject == leaf, col(ChainEvent.name).in_(list(STATUS_EVENTS)))
        .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))).all()
    return [_status_event(r) for r in rows]


def _status_event(row: ChainEvent) -> StatusEvent:
    args = json.loads(row.args)
    return StatusEvent(at=int(args["at"]), status=STATUS_EVENTS[row.name],
                       reason_code=int(args.get("reason", 0)))


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch root as its indexed ``BatchAnchored`` event records it."""

    root: bytes
    issuer: str
    licence_type: str
    count: int
    anchored_at: int
    block_number: int
    transaction_hash: str


def _anchored_batch(row: ChainEvent) -> AnchoredBatch:
    a = json.loads(row.args)
    return AnchoredBatch(root=bytes.fromhex(row.subject),
                         issuer=from_bytes32(bytes.fromhex(a["issuer"])),
                         licence_type=from_bytes32(bytes.fromhex(a["licenceType"])),
                         count=int(a["count"]), anchored_at=int(a["anchoredAt"]),
                         block_number=row.block_number, transaction_hash=row.transaction_hash)


def split_proof(packed: str) -> list[bytes]:
    """Return the sibling hashes of a proof stored as concatenated hex."""
    raw = bytes.fromhex(packed)
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


class TrustView:
    """A ``TrustSource`` over the node's database."""

    def __init__(self, engine: Any, names: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.names = names or {}
        self._version = -1
        self._keys: dict[bytes, KeyRecord] = {}
        self._departments: dict[str, DepartmentRecord] = {}
        self._trust: set[tuple[str, str, str]] = set()
        self._endpoints: dict[str, str] = {}
        self._lock = threading.Lock()

    def refresh(self, version: int) -> None:
        """Reload the directory tables if the index changed since the last load."""
        with self._lock:
            if version == self._version:
                return
            self._load()
            self._version = version

    def _load(self) -> None:
        names = ["DepartmentAdded", "DepartmentUpdated", "KeyRegistered", "KeyRetired",
                 "KeyCompromised", "TrustSet"]
        with Session(self.engine) as s:
            rows = s.exec(select(ChainEvent).where(col(ChainEvent.name).in_(names))
                          .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))).all()
        keys: dict[bytes, dict[str, Any]] = {}
        departments: dict[str, DepartmentRecord] = {}
        endpoints: dict[str, str] = {}
        trust: set[tuple[str, str, str]] = set()
        for r in rows:
            a = json.loads(r.args)
            if r.name in ("DepartmentAdded", "DepartmentUpdated"):
                code = from_bytes32(bytes.fromhex(a["code"]))
                departments[code] = DepartmentRecord(
                    code=code, name=self.names.get(code, code),
                    region=from_bytes32(bytes.fromhex(a["region"])), roles=int(a["roles"]))
                endpoints[code] = str(a.get("endpoint") or "")
            elif r.name == "KeyRegistered":
                keys[bytes.fromhex(a["kid"])] = {
                    "department": from_bytes32(bytes.fromhex(a["department"])),
                    "alg": int(a["alg"]), "public_key": bytes.fromhex(a["publicKey"]),
                    "valid_from": int(a["validFrom"]), "valid_to": None, "compromised_since": None}
            elif r.name == "KeyRetired" and bytes.fromhex(a["kid"]) in keys:
                keys[bytes.fromhex(a["kid"])]["valid_to"] = int(a["validTo"])
            elif r.name == "KeyCompromised" and bytes.fromhex(a["kid"]) in keys:
                keys[bytes.fromhex(a["kid"])]["compromised_since"] = int(a["since"])
            elif r.name == "TrustSet":
                rel = (from_bytes32(bytes.fromhex(a["verifierRegion"])),
                       from_bytes32(bytes.fromhex(a["issuerRegion"])),
                       from_bytes32(bytes.fromhex(a["licenceType"])))
                (trust.add if a["trusted"] else trust.discard)(rel)
        self._keys = {kid: KeyRecord(kid=kid, **v) for kid, v in keys.items()}
        self._departments = departments
        self._endpoints = endpoints
        self._trust = trust

    # TrustSource ----------------------------------------------------------------------
    def key(self, kid: bytes) -> KeyRecord | None:
        """Return the key named ``kid`` from the indexed key history."""
        return self._keys.get(kid)

    def keys(self) -> list[KeyRecord]:
        """Return every indexed key."""
        return list(self._keys.values())

    def department(self, code: str) -> DepartmentRecord | None:
        """Return the indexed department ``code``."""
        return self._departments.get(code)

    def endpoint(self, code: str) -> str | None:
        """Return the node endpoint department ``code`` registered on chain (None if none)."""
        return self._endpoints.get(code) or None

    def departments(self) -> list[DepartmentRecord]:
        """Return every indexed department."""
        return list(self._departments.values())

    def trust_relations(self) -> list[tuple[str, str, str]]:
        """Return the recorded cross-region trust relations."""
        return sorted(self._trust)

    def is_trusted(self, verifier_region: str, issuer_region: str, licence_type: str) -> bool:
        """Return whether the council recorded that trust relation (same region: always)."""
        if verifier_region == issuer_region:
            return True
        return (verifier_region, issuer_region, licence_type) in self._trust

    def status(self, leaf: bytes, at: int) -> StatusRecord:
        """Return the leaf's status at ``at`` from indexed status events."""
        with Session(self.engine) as s:
            history = _status_history(s, leaf.hex())
        return status_at(history, at)

    def status_histories(self) -> dict[bytes, list[StatusEvent]]:
        """Return the status history of every leaf that ever changed."""
        with Session(self.engine) as s:
            rows = s.exec(select(ChainEvent).where(col(ChainEvent.name).in_(list(STATUS_EVENTS)))
                          .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))).all()
        out: dict[bytes, list[StatusEvent]] = defaultdict(list)
        for r in rows:
            out[bytes.fromhex(r.subject)].append(_status_event(r))
        return dict(out)

    def anchor_issuer(self, leaf: bytes) -> str | None:
        """Return the department whose anchored batch holds ``leaf``.

        Our own batches answer directly; another node's leaf counts only through a
        stored peer proof that folds it into a root whose ``BatchAnchored`` event is
        indexed, and the issuer is the one that event names.
        """
        with Session(self.engine) as s:
            row = s.exec(select(AnchorBatch.department).join(
                Licence, col(Licence.batch_id) == col(AnchorBatch.id)).where(
                col(Licence.leaf) == leaf.hex(), col(AnchorBatch.anchored_block).is_not(None))).first()
            if row is not None:
                return row
            proven = s.exec(select(PeerProof, ChainEvent).join(
                ChainEvent, col(ChainEvent.subject) == col(PeerProof.root)).where(
                col(PeerProof.leaf) == leaf.hex(), col(ChainEvent.name) == "BatchAnchored")).first()
        if proven is None:
            return None
        proof, event = proven
        if not merkle.verify(split_proof(proof.proof), bytes.fromhex(proof.root), leaf):
            return None
        return _anchored_batch(event).issuer

    def anchored_batch(self, root: bytes) -> AnchoredBatch | None:
        """Return the indexed anchoring of batch ``root``, or None when none is indexed."""
        with Session(self.engine) as s:
            row = s.exec(select(ChainEvent).where(
                col(ChainEvent.name) == "BatchAnchored", col(ChainEvent.subject) == root.hex())
                .order_by(col(ChainEvent.block_number))).first()
        return None if row is None else _anchored_batch(row)

    def foreign_batches(self, held: set[str]) -> list[AnchoredBatch]:
        """Return every indexed batch anchored by a department not in ``held``."""
        with Session(self.engine) as s:
            rows = s.exec(select(ChainEvent).where(col(ChainEvent.name) == "BatchAnchored")
                          .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))).all()
        batches = [_anchored_batch(r) for r in rows]
        return [b for b in batches if b.issuer not in held]

    def peer_anchored(self, upto_block: int) -> list[tuple[bytes, str]]:
        """Return (leaf, issuer) of every peer-proven leaf whose root is indexed up to a block."""
        with Session(self.engine) as s:
            rows = s.exec(select(PeerProof, ChainEvent).join(
                ChainEvent, col(ChainEvent.subject) == col(PeerProof.root)).where(
                col(ChainEvent.name) == "BatchAnchored",
                col(ChainEvent.block_number) <= upto_block)).all()
        out = []
        for proof, event in rows:
            leaf = bytes.fromhex(proof.leaf)
            if merkle.verify(split_proof(proof.proof), bytes.fromhex(proof.root), leaf):
                out.append((leaf, _anchored_batch(event).issuer))
        return out
