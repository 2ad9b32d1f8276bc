"""A demo node served over real HTTP for tests that drive `regnode` in process (CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from node.app import create_app
from node.config import load_settings
from node.services.bootstrap import init_demo
from tests.node.served import ServedApp

CliNode = tuple[Path, str]


def served_demo(tmp_path_factory: pytest.TempPathFactory, name: str, port: int) -> Iterator[CliNode]:
    """Yield the data folder and URL of a demo node made by ``init --demo`` and served until the end."""
    data = tmp_path_factory.mktemp(name) / "data"
    init_demo(data, port=port)
    served = ServedApp(create_app(load_settings(data, batch_interval_ms=100))).start()
    yield data, served.url
    served.stop()


def run_cli(node: CliNode, *args: str, code: int = 0, as_json: bool = True) -> Any:
    """Run ``regnode ARGS`` against ``node`` (with ``--json`` unless told) and check the exit code."""
    data, url = node
    result = CliRunner().invoke(app, [*args, "--data", str(data), "--node", url, *(["--json"] if as_json else [])])
    assert result.exit_code == code, (args, result.output)
    return json.loads(result.stdout) if as_json else result.stdout
