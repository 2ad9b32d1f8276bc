"""SQLite persistence for the embedded chain: a key/value store behind a write buffer.

py-evm writes trie nodes, headers, bodies and lookups through :class:`BufferedStore`
(an ``AtomicDatabaseAPI``). Nothing reaches SQLite until :meth:`BufferedStore.flush`,
which writes the buffered keys and the sealed blocks' log rows in one transaction, so
after a crash the file holds whole blocks only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    transaction_hash BLOB NOT NULL,
    transaction_index INTEGER NOT NULL,
    address BLOB NOT NULL,
    topic0 BLOB,
    topics BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_by_address ON logs (address, block_number, log_index);
CREATE INDEX IF NOT EXISTS logs_by_topic0 ON logs (topic0, block_number, log_index);
"""

_DELETED = None


@dataclass(frozen=True, slots=True)
class LogRow:
    """One row of the events index."""

    block_number: int
    log_index: int
    block_hash: bytes
    transaction_hash: bytes
    transaction_index: int
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


class StepCounter:
    """Counts SQLite virtual-machine steps (in units of ``granularity``) while active."""

    granularity = 10

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self) -> int:
        self.steps += self.granularity
        return 0


class BufferedStore(BaseAtomicDB):
    """A py-evm key/value database whose writes stay in memory until flushed."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(_SCHEMA)
        self._pending: dict[bytes, bytes | None] = {}

    # -- AtomicDatabaseAPI -------------------------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._pending:
            value = self._pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[bytes(key)] = _DELETED

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        # The batch commits into the write buffer; durability comes from flush().
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    # -- buffer control ----------------------------------------------------------------

    @property
    def pending_keys(self) -> int:
        """Return how many keys wait in the write buffer."""
        return len(self._pending)

    def discard(self) -> None:
        """Drop every buffered write (a block that was not sealed)."""
        self._pending.clear()

    def flush(self, logs: Iterable[LogRow] = (), drop_logs_above: int | None = None) -> None:
        """Write the buffer, ``logs`` and log deletions to SQLite in one transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if drop_logs_above is not None:
                conn.execute("DELETE FROM logs WHERE block_number > ?", (drop_logs_above,))
            conn.executemany(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                [(k, v) for k, v in self._pending.items() if v is not _DELETED],
            )
            conn.executemany(
                "DELETE FROM kv WHERE key = ?",
                [(k,) for k, v in self._pending.items() if v is _DELETED],
            )
            conn.executemany(
                "INSERT INTO logs (block_number, log_index, block_hash, transaction_hash,"
                " transaction_index, address, topic0, topics, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        row.block_number, row.log_index, row.block_hash,
                        row.transaction_hash, row.transaction_index, row.address,
                        row.topics[0] if row.topics else None, b"".join(row.topics), row.data,
                    )
                    for row in logs
                ],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._pending.clear()

    # -- events index ------------------------------------------------------------------

    def query_logs(
        self,
        from_block: int,
        to_block: int,
        addresses: Sequence[bytes] = (),
        topic0: Sequence[bytes] = (),
        transaction_index: int | None = None,
    ) -> list[LogRow]:
        """Return indexed logs in a block range, filtered, ordered by position."""
        sql = (
            "SELECT block_number, log_index, block_hash, transaction_hash, transaction_index,"
            " address, topics, data FROM logs WHERE block_number BETWEEN ? AND ?"
        )
        params: list[object] = [from_block, to_block]
        if addresses:
            sql += f" AND address IN ({','.join('?' * len(addresses))})"
            params.extend(bytes(a) for a in addresses)
        if topic0:
            sql += f" AND topic0 IN ({','.join('?' * len(topic0))})"
            params.extend(bytes(t) for t in topic0)
        if transaction_index is not None:
            sql += " AND transaction_index = ?"
            params.append(transaction_index)
        sql += " ORDER BY block_number, log_index"
        return [
            LogRow(
                block_number=r[0], log_index=r[1], block_hash=bytes(r[2]),
                transaction_hash=bytes(r[3]), transaction_index=r[4], address=bytes(r[5]),
                topics=tuple(bytes(r[6][i:i + 32]) for i in range(0, len(r[6]), 32)),
                data=bytes(r[7]),
            )
            for r in self._conn.execute(sql, params)
        ]

    def max_logged_block(self) -> int | None:
        """Return the highest block number that has indexed logs."""
        row = self._conn.execute("SELECT MAX(block_number) FROM logs").fetchone()
        return None if row is None else row[0]

    @contextmanager
    def count_steps(self) -> Iterator[StepCounter]:
        """Count SQLite VM steps spent inside the block (an implementation cost gauge)."""
        counter = StepCounter()
        self._conn.set_progress_handler(counter, StepCounter.granularity)
        try:
            yield counter
        finally:
            self._conn.set_progress_handler(None, 0)

    def close(self) -> None:
        """Close the SQLite connection (buffered writes are dropped)."""
        self._pending.clear()
        self._conn.close()
