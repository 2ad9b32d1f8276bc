"""The ledger store on SQLite and on PostgreSQL: migrations match the tables, the audit chain holds."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from ledger.store import audit
from ledger.store.db import migrate
from ledger.store.models import AuditEntry, SerialCounter


def test_migrations_match_the_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"tables and migrations drifted: {diff}"


def test_migrate_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    with Session(engine) as s:
        assert s.exec(select(SerialCounter)).all() == []


def test_audit_chain_detects_edits_and_deletions(engine: Engine) -> None:
    with Session(engine) as s:
        for i in range(5):
            audit.append(s, actor="MARKET", action="licence.show", subject=f"id-{i}", detail={"n": i})
        s.commit()
        entries = list(s.exec(select(AuditEntry).order_by(AuditEntry.seq)))  # type: ignore[arg-type]
    assert len(entries) == 5 and audit.verify_chain(entries) is None
    assert audit.verify_chain(entries[:2] + entries[3:]) is not None  # a deleted entry
    entries[1].actor = "POLICE"
    broken = audit.verify_chain(entries)
    assert broken is not None and broken.seq == entries[1].seq


def test_large_times_fit(engine: Engine) -> None:
    """Millisecond times and far-future dates need 64-bit columns on PostgreSQL."""
    with Session(engine) as s:
        e = audit.append(s, actor="A", action="x", subject="y")
        s.commit()
        assert e.at_ms > 2**31
