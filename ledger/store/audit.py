"""The hash-chained audit log: every access to a citizen's document leaves an entry.

Each entry's hash covers the previous entry's hash and its own fields in canonical
JSON, so removing or editing an entry breaks every hash after it. ``verify_chain``
recomputes the whole chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from ledger.store.models import AuditEntry

GENESIS = "0" * 64
_LOCK = threading.Lock()
_PG_AUDIT_LOCK = 0x7265676E6F6465  # "regnode": serialises appends across workers


@dataclass(frozen=True)
class AuditBreak:
    """Where a verification of the audit chain found a mismatch."""

    seq: int
    reason: str


def entry_hash(prev_hash: str, at_ms: int, actor: str, action: str, subject: str,
               detail: str) -> str:
    """Return the hash that chains an entry to the one before it."""
    body = json.dumps([prev_hash, at_ms, actor, action, subject, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def append(session: Session, actor: str, action: str, subject: str,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry inside the caller's transaction and return it."""
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True,
                             separators=(",", ":"))
    with _LOCK:
        if session.get_bind().dialect.name == "postgresql":
            session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_AUDIT_LOCK))
        last = session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(1)).first()
        prev = last.hash if last else GENESIS
        at_ms = int(time.time() * 1000)
        entry = AuditEntry(at_ms=at_ms, actor=actor, action=action, subject=subject,
                           detail=detail_text, prev_hash=prev,
                           hash=entry_hash(prev, at_ms, actor, action, subject, detail_text))
        session.add(entry)
        session.flush()
    return entry


def verify_chain(entries: Iterable[AuditEntry]) -> AuditBreak | None:
    """Return the first break in the chain of ``entries`` (in order), or None if intact."""
    prev = GENESIS
    for e in entries:
        if e.prev_hash != prev:
            return AuditBreak(e.seq or 0, "prev_hash does not match the entry before")
        if entry_hash(e.prev_hash, e.at_ms, e.actor, e.action, e.subject, e.detail) != e.hash:
            return AuditBreak(e.seq or 0, "entry hash does not match its contents")
        prev = e.hash
    return None
