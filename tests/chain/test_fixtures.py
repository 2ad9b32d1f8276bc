"""The shared fixtures that other suites rely on."""

from __future__ import annotations

import psycopg
import pytest

from tests.chain.harness import ChainHarness


@pytest.mark.postgres
def test_postgres_url_has_a_private_schema(postgres_url: str) -> None:
    plain, _, options = postgres_url.replace("postgresql+psycopg://", "postgresql://").partition("?")
    schema = options.split("%3D")[-1]
    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT current_schema()").fetchone() == (schema,)
        conn.execute("CREATE TABLE probe (id int)")
        conn.execute("INSERT INTO probe VALUES (1)")
    assert plain.endswith("/test")


def test_backend_fixtures_alone(embedded_chain: ChainHarness, anvil_chain: ChainHarness) -> None:
    assert embedded_chain.backend == "embedded" and anvil_chain.backend == "anvil"
    assert [a.address for a in embedded_chain.accounts] == [a.address for a in anvil_chain.accounts]
    assert embedded_chain.gateway.chain_id == anvil_chain.gateway.chain_id == 1337
