"""Database engines and migrations for SQLite (embedded profile) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Return an engine for ``url`` tuned for the node's write pattern."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL keeps readers off the writer's back; FULL syncs every commit, so an
    # accepted request survives a kill -9 and a power cut alike.
    # Takes effect only on a new database: licence rows are ~2.5 KB, one to a 4 KiB page
    # but three to an 8 KiB one, so issuing and batching write far fewer pages.
    cursor.execute("PRAGMA page_size=8192")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # The licence table's unique leaf index takes random keys: with SQLite's default
    # 2 MiB page cache a large register re-reads index pages on every insert.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration bound to ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation; URLs carry %-escapes (passwords, options)
    cfg.set_main_option("sqlalchemy.url",
                        engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema at ``engine`` up to the newest migration."""
    command.upgrade(alembic_config(engine), "head")


def _driver_sql(conn: Connection, sql: str) -> str:
    """Return ``sql`` with its ``?`` placeholders as the driver's own (``%s`` for psycopg)."""
    return sql.replace("?", "%s") if conn.dialect.paramstyle in ("format", "pyformat") else sql


def executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run one statement over many rows through the driver, with no per-row ORM work.

    For the hot paths (issuing, batching): thousands of rows a request. ``sql`` uses
    ``?`` placeholders; they become the driver's own (``%s`` for psycopg).
    """
    if not rows:
        return
    conn.exec_driver_sql(_driver_sql(conn, sql), rows)


def fetchall(conn: Connection, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Return the rows of one query as plain tuples, read through the driver (``?`` placeholders).

    For the hot paths: reading a thousand rows through the ORM costs more than the query.
    """
    return [tuple(row) for row in conn.exec_driver_sql(_driver_sql(conn, sql), params).all()]
