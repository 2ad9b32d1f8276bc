"""Licence serials: handed out in memory while the signing lock is held, recorded with the rows.

Each department numbers its licences per type and year (GB/T 36904's serial). The
serial is inside the signed token, so it must be settled before a licence is minted.
Taking it from the database would hold the database's write lock (all of it, on
SQLite) from the moment the first serial is taken until the request's rows commit:
the next request could not start minting until the previous one was written. So the
node process hands serials out from :class:`SerialBook`, which reads the stored
counter once per department, type and year, and each request records how far it got
(:func:`record_serials`) in the same transaction as its licence rows. The stored
counter only grows, so requests may commit in any order.

One node process serves one database (the outbox's nonces already assume it). A
request that fails after taking serials gives them back when no later request has
taken any (:meth:`SerialBook.give_back`); otherwise they stay unused, a gap in the
numbering, never a duplicate: the identifier is the licence table's primary key.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine
from sqlmodel import Session, select

from ledger.store.db import executemany
from ledger.store.models import SerialCounter

SerialKey = tuple[str, str, int]  # department, licence type, year


class SerialBook:
    """The next serial per department, licence type and year, as this process hands them out."""

    def __init__(self) -> None:
        self._next: dict[SerialKey, int] = {}
        self._lock = threading.Lock()

    def take(self, engine: Engine, key: SerialKey, count: int) -> int:
        """Reserve ``count`` serials of ``key`` and return the first."""
        with self._lock:
            first = self._next.get(key)
            if first is None:
                first = _stored_next(engine, key)
            self._next[key] = first + count
            return first

    def give_back(self, key: SerialKey, first: int, count: int) -> None:
        """Return serials a failed request took, if no request has taken any after them."""
        with self._lock:
            if self._next.get(key) == first + count:
                self._next[key] = first

    def forget(self) -> None:
        """Drop what was read (the next ``take`` reads the stored counters again)."""
        with self._lock:
            self._next.clear()


def _stored_next(engine: Engine, key: SerialKey) -> int:
    department, licence_type, year = key
    with Session(engine) as s:
        stored = s.exec(select(SerialCounter.next_value).where(
            SerialCounter.department == department, SerialCounter.licence_type == licence_type,
            SerialCounter.year == year)).first()
    return 1 if stored is None else int(stored)


def record_serials(conn: Connection, key: SerialKey, end: int) -> None:
    """Raise the stored counter of ``key`` to ``end`` (one past the last serial used) in ``conn``'s transaction."""
    greatest = "GREATEST" if conn.dialect.name == "postgresql" else "MAX"
    executemany(conn, f"INSERT INTO {SerialCounter.__tablename__} (department, licence_type, year, next_value) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT (department, licence_type, year) DO UPDATE SET "
                      f"next_value = {greatest}({SerialCounter.__tablename__}.next_value, excluded.next_value)",
                [(*key, end)])
