"""Licence serials, taken from the database in a transaction of their own.

Each department numbers its licences per type and year (GB/T 36904's serial). The
serial is inside the signed token, so it is settled before a licence is minted: the
issuing request takes its serials (one upsert per type, committed at once) while it
holds the department's signing lock, mints, lets the lock go, and writes its rows in
a later, short transaction. Taking serials in the rows' transaction would hold the
write lock (all of SQLite's) from the first serial to the last row, and the next
request could not start minting until the previous one was written.

The counter is the database's, so every API worker sharing one PostgreSQL takes
disjoint serials. A request that fails after taking its serials (the node dies, the
disk fills) leaves them unused: a gap in the numbering, never a duplicate. Requests
refused for their content are refused before any serial is taken, but for text the
domain finds unencodable only while minting (a lone surrogate).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine

from ledger.store.db import fetchall
from ledger.store.models import SerialCounter

_TAKE = (
    f"INSERT INTO {SerialCounter.__tablename__} (department, licence_type, year, next_value) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (department, licence_type, year) DO UPDATE SET "
    f"next_value = {SerialCounter.__tablename__}.next_value + excluded.next_value - 1 "
    "RETURNING next_value"
)


def take_serials(engine: Engine, department: str, year: int, counts: Mapping[str, int]) -> dict[str, int]:
    """Reserve ``counts[type]`` serials of each licence type for ``year``; return the first of each.

    One committed transaction; types in sorted order, so two requests of several types
    never wait on each other's counter rows in opposite orders.
    """
    first: dict[str, int] = {}
    with engine.begin() as conn:
        for licence_type in sorted(counts):
            n = counts[licence_type]
            if n <= 0:
                raise ValueError(f"cannot take {n} serials")
            # A new counter starts at 1 and is stored as 1 + n; an existing one grows by n.
            [(following,)] = fetchall(conn, _TAKE, (department, licence_type, year, n + 1))
            first[licence_type] = int(following) - n
    return first
