"""``regnode licence …``: issue e-licences one at a time or in bulk, show them, change their status."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.client import CliError, NodeClient, connect
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, emit, err_console, fail

licence_app = typer.Typer(no_args_is_help=True, help="Issue and manage e-licences.")


def _client(data: Path | None, node: str | None, dept: str | None) -> NodeClient:
    return connect(data, node, dept)


def _parse_fields(items: list[str]) -> dict[str, str]:
    fields = {}
    for item in items:
        if "=" not in item:
            raise CliError("bad_field", f"--field takes KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        fields[key] = value
    return fields


@licence_app.command("issue")
def licence_issue(
    type_: Annotated[str, typer.Option("--type", help="licence type code")],
    holder_name: Annotated[str, typer.Option("--holder-name")],
    holder_id: Annotated[str, typer.Option("--holder-id")],
    holder_id_type: Annotated[str, typer.Option("--holder-id-type")] = "RESIDENT_ID",
    field: Annotated[list[str] | None, typer.Option("--field", help="KEY=VALUE, repeatable")] = None,
    valid_from: Annotated[str | None, typer.Option("--valid-from", help="YYYY-MM-DD")] = None,
    valid_until: Annotated[str | None, typer.Option("--valid-until", help="YYYY-MM-DD")] = None,
    disclose: Annotated[str | None, typer.Option(help="comma-separated fields shown in the QR")] = None,
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Issue one licence and print its identifier and QR token."""
    try:
        body: dict[str, Any] = {"type": type_, "holder_name": holder_name, "holder_id": holder_id,
                                "holder_id_type": holder_id_type, "fields": _parse_fields(field or [])}
        if valid_from:
            body["valid_from"] = valid_from
        if valid_until:
            body["valid_until"] = valid_until
        if disclose is not None:
            body["disclose"] = [d for d in disclose.split(",") if d]
        result = _client(data, node, as_).json("POST", "/v1/licences", json=body)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, f"[green]issued[/green] {result['identifier']}\n{result['qr']}")


#: Requests ``issue-batch`` keeps open: the node validates and stores one while it signs another.
IN_FLIGHT = 3
#: Licences per request: 4,000 imported ~10% faster than 2,000 (fewer per-request steps:
#: the signing lock, the commit, the reply); the node takes up to 10,000.
CHUNK = 4000


@licence_app.command("issue-batch")
def licence_issue_batch(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one licence object per line")],
    chunk: Annotated[int, typer.Option(help="licences per request")] = CHUNK,
    in_flight: Annotated[int, typer.Option(help="requests open at once")] = IN_FLIGHT,
    out: Annotated[Path | None, typer.Option(help="write identifier+qr JSON Lines here")] = None,
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Issue every licence in a JSON Lines file, in chunks, with a progress bar.

    Results are written in file order. When the node refuses a chunk, no further chunk is
    sent; the error names the licences (1-based, in file order) that were refused or never
    sent, and every other one is issued and written to ``--out``.
    """
    issued = 0
    first: str | None = None
    try:
        client = _client(data, node, as_)
        lines = _read_jsonl(file)
        bodies = batch_bodies(lines, chunk)
        with (out.open("w", encoding="utf-8") if out else nullcontext()) as sink, \
                Progress(TextColumn("issuing"), BarColumn(), MofNCompleteColumn(),
                         TimeRemainingColumn(), console=err_console, disable=as_json) as bar:
            task = bar.add_task("issue", total=len(lines))

            def record(_: int, reply: dict[str, Any]) -> None:
                nonlocal issued, first
                results = reply["results"]
                if sink:
                    sink.writelines(json.dumps({"identifier": r["identifier"], "qr": r["qr"]},
                                               ensure_ascii=False) + "\n" for r in results)
                first = first or (results[0]["identifier"] if results else None)
                issued += len(results)
                bar.advance(task, len(results))

            client.post_in_order("/v1/licences/batch", bodies, in_flight, record)
    except CliError as exc:
        if "failed_requests" in exc.detail:
            _name_licences(exc, chunk, len(lines), issued)
        fail(exc, as_json)
    summary = {"count": len(lines), "first": first, "out": str(out) if out else None}
    emit(as_json, summary, f"[green]issued[/green] {len(lines)} licences")


def batch_bodies(licences: list[dict[str, Any]], chunk: int) -> list[bytes]:
    """Return the JSON bodies of ``POST /v1/licences/batch`` for ``licences``, ``chunk`` to a request."""
    return [json.dumps({"licences": licences[k:k + chunk]}, ensure_ascii=False).encode()
            for k in range(0, len(licences), chunk)]


def _name_licences(exc: CliError, chunk: int, total: int, issued: int) -> None:
    """Turn the refused and unsent request indexes of ``exc`` into licence positions in the file."""
    failed = exc.detail.pop("failed_requests")
    unsent = exc.detail.pop("not_sent_from")
    exc.detail.update(issued=issued,
                      refused_licences=[[i * chunk + 1, min((i + 1) * chunk, total)] for i in failed],
                      not_sent_from_licence=None if unsent is None else unsent * chunk + 1)
    exc.message += f" ({issued} other licences were issued)"


def _read_jsonl(file: Path) -> list[dict[str, Any]]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError("unreadable_file", f"cannot read {file}: {exc}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliError("bad_jsonl", f"{file}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise CliError("bad_jsonl", f"{file}:{n}: each line must be a JSON object")
        out.append(item)
    if not out:
        raise CliError("bad_jsonl", f"{file} holds no licences")
    return out


@licence_app.command("show")
def licence_show(identifier: str, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                 as_json: JsonOpt = False) -> None:
    """Show a licence, its status and where it is anchored."""
    try:
        lic = _client(data, node, as_).json("GET", f"/v1/licences/{identifier}")
    except CliError as exc:
        fail(exc, as_json)
    table = Table(show_header=False)
    for key in ("identifier", "department", "licence_type", "status", "status_reason", "kid", "leaf"):
        table.add_row(key, str(lic[key]))
    anchor = lic.get("anchor") or {}
    table.add_row("anchored", f"block {anchor.get('block_number')}" if anchor.get("block_number")
                  else "not yet")
    emit(as_json, lic, table)


def _status_command(action: str, identifier: str, reason: int | None, wait: bool,
                    data: Path | None, node: str | None, dept: str | None, as_json: bool) -> None:
    try:
        client = _client(data, node, dept)
        body = {"reason": reason} if action != "reinstate" else None
        accepted = client.json("POST", f"/v1/licences/{identifier}/{action}", json=body)
        result: dict[str, Any] = dict(accepted)
        if wait:
            entry = client.wait_outbox(accepted["outbox_id"])
            lic = client.json("GET", f"/v1/licences/{identifier}")
            result.update(state=entry["state"], transaction_hash=entry["transaction_hash"],
                          status=lic["status"], status_reason=lic["status_reason"])
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, f"{action}: {identifier} → {result.get('status', result['state'])}")


WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="wait until the chain records it")]
ReasonOpt = Annotated[int, typer.Option("--reason", help="reason code (see README)")]


@licence_app.command("suspend")
def licence_suspend(identifier: str, reason: ReasonOpt, wait: WaitOpt = True,
                    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                    as_json: JsonOpt = False) -> None:
    """Suspend a licence."""
    _status_command("suspend", identifier, reason, wait, data, node, as_, as_json)


@licence_app.command("reinstate")
def licence_reinstate(identifier: str, wait: WaitOpt = True, data: DataOpt = None,
                      node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Lift a licence's suspension."""
    _status_command("reinstate", identifier, None, wait, data, node, as_, as_json)


@licence_app.command("revoke")
def licence_revoke(identifier: str, reason: ReasonOpt, wait: WaitOpt = True,
                   data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                   as_json: JsonOpt = False) -> None:
    """Revoke a licence for good."""
    _status_command("revoke", identifier, reason, wait, data, node, as_, as_json)


@licence_app.command("status")
def licence_status(identifier: str, at: Annotated[int | None, typer.Option(help="unix time")] = None,
                   data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                   as_json: JsonOpt = False) -> None:
    """Show what the chain says the licence's status was at a time (default now)."""
    try:
        params = {"at": at} if at is not None else {}
        st = _client(data, node, as_).json("GET", f"/v1/licences/{identifier}/status", params=params)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, st, f"{identifier} at {st['at']}: {st['status']}")


@licence_app.command("qr")
def licence_qr(identifier: str,
               out: Annotated[Path | None, typer.Option("--out", help="FILE.png or FILE.svg")] = None,
               data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
               as_json: JsonOpt = False) -> None:
    """Print the QR token, or write the QR code as PNG or SVG."""
    try:
        client = _client(data, node, as_)
        if out is None:
            token = client.request("GET", f"/v1/licences/{identifier}/qr",
                                   params={"format": "text"}).text
            emit(as_json, {"identifier": identifier, "qr": token}, token)
            return
        suffix = out.suffix.lower().lstrip(".")
        if suffix not in ("png", "svg"):
            raise CliError("bad_format", "--out must end in .png or .svg")
        body = client.request("GET", f"/v1/licences/{identifier}/qr", params={"format": suffix})
        out.write_bytes(body.content)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, {"identifier": identifier, "file": str(out)}, f"wrote {out}")


