"""Alembic environment: runs migrations on the engine handed over by ``ledger.store.db``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ledger.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when run from the alembic command line
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
