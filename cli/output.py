"""What every ``regnode`` command shares: the common options and how results and errors print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from cli.client import CliError

console = Console()
err_console = Console(stderr=True)

DataOpt = Annotated[Path | None, typer.Option("--data", help="data folder [REGNODE_DATA]")]
NodeOpt = Annotated[str | None, typer.Option("--node", help="node URL [REGNODE_NODE]")]
AsOpt = Annotated[str | None, typer.Option("--as", help="act as this department")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def fail(exc: CliError, as_json: bool) -> None:
    """Print the error (JSON with --json) and exit with status 2."""
    if as_json:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message, **exc.detail}},
                         ensure_ascii=False))
    else:
        err_console.print(f"[red]error[/red] {escape(f'[{exc.code}]')} {escape(exc.message)}")
    raise typer.Exit(2)


def emit(as_json: bool, payload: Any, human: str | Table | Group | None = None) -> None:
    """Print ``payload`` as JSON with --json, else the human form when there is one."""
    if as_json:
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    elif human is not None:
        console.print(human)
