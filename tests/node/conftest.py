"""A demo consortium node per test module, driven in process (no background thread)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.app import create_app
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
