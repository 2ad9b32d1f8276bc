"""Issuing e-licences: accept, sign, record; anchoring follows through the outbox.

An accepted licence is committed to the database (licence row + pending leaf) in the
same transaction, before the reply leaves the node; the anchorer batches pending leaves
later. A request either commits whole or not at all; its serials are taken before, in a
transaction of their own (node.services.serials).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.domain.disclosure import decode_salt
from ledger.domain.errors import InvalidLicence
from ledger.domain.identifiers import serial_identifiers
from ledger.domain.merkle import MerkleTree
from ledger.store import audit
from ledger.store.db import executemany
from ledger.store.models import AnchorBatch, Licence, PendingLeaf
from node.api.schemas import LicenceCreate, LicenceIssued
from node.errors import BadRequest, Forbidden, NotFound
from node.services.catalogue import LicenceType, licence_type
from node.services.context import NodeContext
from node.services.minting import Issuer, Minted, Planned
from node.services.serials import take_serials

DAY = 86_400


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _validity(req: LicenceCreate, kind: LicenceType, now: int) -> tuple[int, int | None]:
    valid_from = _epoch(req.valid_from) if req.valid_from else now - now % DAY
    if req.valid_until is not None:
        # a licence valid "until 2031-11-22" is valid through the end of that day
        valid_until: int | None = _epoch(req.valid_until + timedelta(days=1))
    elif kind.default_years:
        start = datetime.fromtimestamp(valid_from, UTC)
        valid_until = int(start.replace(year=start.year + kind.default_years).timestamp())
    else:
        valid_until = None
    if valid_until is not None and valid_until <= valid_from:
        raise BadRequest("valid_until must be after valid_from",
                         valid_from=valid_from, valid_until=valid_until)
    return valid_from, valid_until


def issue(ctx: NodeContext, department: str, requests: list[LicenceCreate]) -> list[LicenceIssued]:
    """Issue ``requests`` for ``department``; all are recorded or none is."""
    return _issue(ctx, department, requests, reserve=False)[1]


def issue_reserved(ctx: NodeContext, department: str,
                   requests: list[LicenceCreate]) -> tuple[int, list[LicenceIssued]]:
    """Issue ``requests`` as one batch that a caller's own transaction anchors; return its id too.

    The licences and their batch are written in one database transaction and never reach
    the anchorer. The batch has no outbox entry until the caller links the transaction that
    anchors it (:mod:`node.services.reserved`); one left unlinked is voided by the sweep.
    """
    if len({r.type for r in requests}) != 1:
        raise BadRequest("a reserved batch holds licences of one type")
    batch_id, issued = _issue(ctx, department, requests, reserve=True)
    assert batch_id is not None
    return batch_id, issued


def _issue(ctx: NodeContext, department: str, requests: list[LicenceCreate],
           reserve: bool) -> tuple[int | None, list[LicenceIssued]]:
    identity = ctx.identity(department)
    kinds = {r.type: licence_type(r.type) for r in requests}
    for kind in kinds.values():
        if kind.issuer_role not in identity.roles:
            raise Forbidden(f"{department} may not issue {kind.code} ({kind.name_en})",
                            department=department, licence_type=kind.code,
                            needs_role=kind.issuer_role)
    issuer = Issuer(department, identity.uscc, identity.region)
    with ExitStack() as issuing:
        # The clock is read under the signing lock: a key rotation holds it until its new key
        # is valid, so no token claims an issued_at before its key's on-chain valid_from.
        with ctx.signing(department) as signer:
            if not reserve:  # from here until the rows are written, more leaves are coming (outbox)
                issuing.enter_context(ctx.issuing(department))
            now = ctx.clock()
            year = datetime.fromtimestamp(now, UTC).year
            # Everything that can refuse a request is decided before a serial is taken.
            plans: list[tuple[LicenceType, int, int | None, dict[str, str | int], dict[str, str | int],
                              dict[str, str] | None]] = []
            for req in requests:
                kind = kinds[req.type]
                valid_from, valid_until = _validity(req, kind, now)
                fields: dict[str, str | int] = {
                    "holderName": req.holder_name, "holderId": req.holder_id,
                    "holderIdType": req.holder_id_type, **req.fields,
                }
                plans.append((kind, valid_from, valid_until, fields, _disclosed(fields, kind, req.disclose),
                              _salts(fields, req.salts)))
            # Serials are committed at once (node.services.serials): the rows are written later,
            # after the lock is let go, so the next request mints while this one is written.
            counts = Counter(req.type for req in requests)
            firsts = take_serials(ctx.engine, department, year, counts)
            identifiers = {code: iter(serial_identifiers(code, identity.uscc, year, firsts[code], n))
                           for code, n in counts.items()}
            planned: list[Planned] = [
                (next(identifiers[kind.code]), kind.code, kind.name, valid_from, valid_until, fields, disclosed, salts)
                for kind, valid_from, valid_until, fields, disclosed, salts in plans
            ]
            minted = ctx.minting.mint(signer, issuer, now, planned)
            kid = signer.kid.hex()
        batch_id, results = _record(ctx, department, now, kid, planned, minted, reserve)
    if not reserve:
        ctx.anchor_wakeup()
    return batch_id, results


def _record(ctx: NodeContext, department: str, now: int, kid: str, planned: list[Planned],
            minted: Iterator[list[Minted]], reserve: bool) -> tuple[int | None, list[LicenceIssued]]:
    """Wait for the minted licences, then write them and their pending leaves in one short transaction."""
    rows, pending, results = [], [], []
    accepted_ms = int(time.time() * 1000)
    in_order = iter(planned)  # the n-th minted licence is the n-th planned one
    for chunk in minted:
        for (identifier, leaf, digest, document, disclosures, token), plan in zip(chunk, in_order, strict=False):
            _, type_code, _, valid_from, valid_until, _, _, _ = plan
            rows.append((identifier, department, type_code, leaf, digest, document, disclosures, token,
                         kid, now, valid_from, valid_until))
            pending.append((identifier, department, type_code, leaf, accepted_ms))
            results.append(LicenceIssued(identifier=identifier, qr=token, leaf=leaf, document_digest=digest))
    # Written once all are minted: the write lock is held for the inserts alone.
    with Session(ctx.engine) as session:
        conn = session.connection()
        executemany(conn, _INSERT_LICENCE, rows)
        if not reserve:
            executemany(conn, _INSERT_PENDING, pending)
        batch_id = _reserve_batch(session, department, planned[0][1], results) if reserve else None
        session.commit()
    return batch_id, results


def _reserve_batch(session: Session, department: str, licence_type: str,
                   issued: list[LicenceIssued]) -> int:
    """Put ``issued`` in a batch of their own, without an outbox entry, inside the caller's transaction."""
    leaves = [bytes.fromhex(i.leaf) for i in issued]
    batch = AnchorBatch(department=department, licence_type=licence_type, root=MerkleTree(leaves).root.hex(),
                        count=len(leaves), leaves=b"".join(leaves), outbox_id=None,
                        created_at_ms=int(time.time() * 1000))
    session.add(batch)
    session.flush()
    executemany(session.connection(), f"UPDATE {Licence.__tablename__} SET batch_id = ?, leaf_index = ? "
                                      "WHERE identifier = ?",
                [(batch.id, index, item.identifier) for index, item in enumerate(issued)])
    return int(batch.id or 0)


def _salts(fields: dict[str, str | int], given: dict[str, str] | None) -> dict[str, str] | None:
    """Check the salts a request fixes: each names a field of the licence and is a well-formed salt."""
    if not given:
        return None
    unknown = sorted(set(given).difference(fields))
    if unknown:
        raise BadRequest(f"salts given for fields the licence does not have: {unknown}", fields=unknown)
    for key, salt in given.items():
        try:
            decode_salt(salt)
        except InvalidLicence as exc:
            raise BadRequest(f"the salt of {key} is not usable: {exc.reason}", field=f"salts.{key}") from None
    return dict(given)


_INSERT_LICENCE = (
    f"INSERT INTO {Licence.__tablename__} (identifier, department, licence_type, leaf, document_digest, "
    "document, disclosures, token, kid, issued_at, valid_from, valid_until, batch_id, leaf_index, status, "
    "status_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 'active', NULL)"
)
_INSERT_PENDING = (
    f"INSERT INTO {PendingLeaf.__tablename__} (identifier, department, licence_type, leaf, accepted_at_ms) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _disclosed(fields: dict[str, str | int], kind: LicenceType,
               chosen: list[str] | None) -> dict[str, str | int]:
    if chosen is None:
        return {k: v for k, v in fields.items() if k not in kind.personal}
    unknown = [k for k in chosen if k not in fields]
    if unknown:
        raise BadRequest(f"cannot disclose fields the licence does not have: {unknown}",
                         fields=unknown)
    return {k: fields[k] for k in chosen}


def get(ctx: NodeContext, department: str, identifier: str, action: str = "licence.show") -> Licence:
    """Return the licence ``identifier`` held by ``department``, recording the access."""
    with Session(ctx.engine) as session:
        row = session.get(Licence, identifier)
        if row is None:
            raise NotFound(f"no licence {identifier!r} on this node", identifier=identifier)
        if row.department != department:
            raise Forbidden(f"licence {identifier} belongs to {row.department}",
                            identifier=identifier)
        audit.append(session, actor=department, action=action, subject=identifier)
        session.commit()
        session.refresh(row)
        return row


def by_leaf(ctx: NodeContext, leaf: str) -> Licence | None:
    """Return the licence with Merkle leaf ``leaf`` (hex) if this node issued it."""
    with Session(ctx.engine) as session:
        return session.exec(select(Licence).where(col(Licence.leaf) == leaf)).first()


def mark_status(session: Session, leaf: str, status: str, reason: int | None) -> None:
    """Mirror a status change seen on chain onto the licence row."""
    session.execute(update(Licence).where(col(Licence.leaf) == leaf)
                    .values(status=status, status_reason=reason))
