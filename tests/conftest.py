"""Shared fixtures: a chain harness over the embedded chain and anvil, and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ledger.store.db import make_engine, migrate
from node.chain.anvil import AnvilProcess
from node.chain.embedded import EmbeddedChain
from node.chain.rpc import RpcChain
from tests.chain.harness import (
    ACCOUNT_BALANCE,
    ACCOUNT_COUNT,
    TEST_ACCOUNTS,
    TEST_CHAIN_ID,
    ChainHarness,
    address_bytes,
)

__all__ = ["ChainHarness"]

POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def embedded_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainHarness]:
    """One embedded chain in a fresh folder per test module."""
    folder = tmp_path_factory.mktemp("embedded-chain")
    gateway = EmbeddedChain(
        folder,
        chain_id=TEST_CHAIN_ID,
        genesis_balances={address_bytes(a): ACCOUNT_BALANCE for a in TEST_ACCOUNTS},
        synchronous="OFF",
    )
    yield ChainHarness(gateway, TEST_ACCOUNTS)
    gateway.close()


@pytest.fixture(scope="module")
def anvil_backend() -> Iterator[ChainHarness]:
    """One fresh anvil process per test module (anvil slows as its chain grows)."""
    with AnvilProcess(chain_id=TEST_CHAIN_ID, accounts=ACCOUNT_COUNT,
                      balance_ether=ACCOUNT_BALANCE // 10**18) as anvil:
        gateway = RpcChain(anvil.url)
        yield ChainHarness(gateway, TEST_ACCOUNTS)
        gateway.close()


def _isolated(harness: ChainHarness) -> Iterator[ChainHarness]:
    snapshot = harness.snapshot()
    harness.sender.reset()
    yield harness
    harness.revert(snapshot)


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def chain(request: pytest.FixtureRequest) -> Iterator[ChainHarness]:
    """The chain harness on each backend, reverted after every test."""
    yield from _isolated(request.getfixturevalue(f"{request.param}_backend"))


@pytest.fixture
def embedded_chain(embedded_backend: ChainHarness) -> Iterator[ChainHarness]:
    """The embedded chain harness alone, reverted after the test."""
    yield from _isolated(embedded_backend)


@pytest.fixture
def anvil_chain(anvil_backend: ChainHarness) -> Iterator[ChainHarness]:
    """The anvil chain harness alone, reverted after the test."""
    yield from _isolated(anvil_backend)


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """Yield a PostgreSQL URL whose ``search_path`` is a fresh schema, dropped afterwards."""
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL at {plain} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after the test."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated ledger database, once on SQLite and once on PostgreSQL (a fresh schema)."""
    url = (f"sqlite:///{tmp_path / 'ledger.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    eng = make_engine(url)
    migrate(eng)
    yield eng
    eng.dispose()
