"""``regnode keys …`` and ``regnode snapshot export``: the department's signing keys and offline snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.client import CliError, connect
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, emit, fail

keys_app = typer.Typer(no_args_is_help=True, help="Manage the department's signing keys.")
snapshot_app = typer.Typer(no_args_is_help=True, help="Offline verification snapshots.")


def _post(data: Path | None, node: str | None, as_: str | None, as_json: bool, path: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = connect(data, node, as_).json("POST", path)
    except CliError as exc:
        fail(exc, as_json)
    return result


@keys_app.command("rotate")
def keys_rotate(data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                as_json: JsonOpt = False) -> None:
    """Register a new signing key on chain; old licences keep verifying."""
    result = _post(data, node, as_, as_json, "/v1/keys/rotate")
    emit(as_json, result, f"{result['department']} now signs with key {result['kid']} "
         f"(previous {result['previous_kid']})")


@keys_app.command("register")
def keys_register(data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                  as_json: JsonOpt = False) -> None:
    """Register the signing key `regnode init` made, once the council has added the department."""
    result = _post(data, node, as_, as_json, "/v1/keys/register")
    emit(as_json, result, f"{result['department']} signs with key {result['kid']} from "
         f"{result['valid_from']}")


@snapshot_app.command("export")
def snapshot_export(out: Annotated[Path, typer.Option("--out")], data: DataOpt = None,
                    node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Download a signed snapshot for offline verification."""
    try:
        body = connect(data, node, as_).request("GET", "/v1/snapshot").content
        out.write_bytes(body)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, {"file": str(out), "bytes": len(body)}, f"wrote {out} ({len(body)} bytes)")


