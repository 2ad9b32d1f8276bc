"""A demo consortium node per test module, driven in process (no background thread).

``demo`` runs on the embedded chain; ``any_chain_demo`` runs the module's tests once on the
embedded chain and once on a fresh anvil, so a behaviour suite is written once for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.app import create_app
from node.chain.anvil import AnvilProcess
from node.config import load_settings
from node.runtime import Runtime
from node.services.bootstrap import init_demo, read_tokens


@dataclass
class DemoNode:
    """A running demo node: its runtime, an HTTP client, and the department tokens."""

    data: Path
    runtime: Runtime
    client: TestClient
    tokens: dict[str, str]

    def headers(self, dept: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[dept]}"}

    def settle(self) -> None:
        self.runtime.settle()


def _open(data: Path, **overrides: object) -> tuple[Runtime, TestClient]:
    settings = load_settings(data, background=False, **overrides)
    rt = Runtime(settings)
    client = TestClient(create_app(settings, rt), raise_server_exceptions=False)
    return rt, client


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("node") / "data"
    init_demo(data, port=18000)
    return data


@pytest.fixture(scope="module")
def demo(demo_data: Path) -> Iterator[DemoNode]:
    rt, client = _open(demo_data, batch_size=64)
    yield DemoNode(demo_data, rt, client, read_tokens(demo_data))
    rt.stop()


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def any_chain_demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoNode]:
    """A demo node on the embedded chain, then one on a fresh anvil (one per module)."""
    data = tmp_path_factory.mktemp(f"node-{request.param}") / "data"
    with ExitStack() as stack:
        if request.param == "anvil":
            anvil = stack.enter_context(AnvilProcess(chain_id=31337))
            init_demo(data, chain=anvil.url, chain_id=31337, port=18000)
        else:
            init_demo(data, port=18000)
        rt, client = _open(data, batch_size=64)
        stack.callback(rt.stop)
        yield DemoNode(data, rt, client, read_tokens(data))
