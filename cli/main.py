"""``regnode``: run a node (``init``, ``serve``) and talk to one (everything else).

Every command takes ``--data DIR`` (or ``REGNODE_DATA``), ``--node URL`` (or
``REGNODE_NODE``), ``--as DEPT`` where a node holds several departments, and ``--json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.cases import case_app
from cli.client import CliError, NodeClient, connect, data_dir, node_url
from cli.council import council_app
from cli.fees import fee_app
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, console, emit, err_console, fail
from cli.property import property_app

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="regnode: e-licences and property titles on a shared EVM chain.")
licence_app = typer.Typer(no_args_is_help=True, help="Issue and manage e-licences.")
keys_app = typer.Typer(no_args_is_help=True, help="Manage the department's signing keys.")
snapshot_app = typer.Typer(no_args_is_help=True, help="Offline verification snapshots.")
app.add_typer(licence_app, name="licence")
app.add_typer(keys_app, name="keys")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(fee_app, name="fee")
app.add_typer(property_app, name="property")
app.add_typer(case_app, name="case")
app.add_typer(council_app, name="council")



def _client(data: Path | None, node: str | None, dept: str | None) -> NodeClient:
    return connect(data, node, dept)


# ------------------------------------------------------------------------------- node
Opt = typer.Option


@app.command()
def init(data: DataOpt = None, demo: Annotated[bool, Opt(help="create a demo consortium")] = False,
         chain: Annotated[str, Opt(help="'embedded' or a JSON-RPC URL")] = "embedded",
         db: Annotated[str | None, Opt(help="SQLAlchemy URL (default: SQLite in the data folder)")] = None,
         port: Annotated[int, Opt(help="port the node will serve on")] = 8000,
         department: Annotated[str | None, Opt(help="joining: the department's code")] = None,
         name: Annotated[str | None, Opt(help="joining: the department's name")] = None,
         uscc: Annotated[str | None, Opt(help="joining: its unified social credit code")] = None,
         region: Annotated[str | None, Opt(help="joining: 6-digit division code")] = None,
         roles: Annotated[str, Opt(help="joining: comma-separated roles")] = "ISSUER",
         registry: Annotated[str | None, Opt(help="joining: the consortium's registry address")] = None,
         registry_block: Annotated[int, Opt(help="joining: block to index from (its deployment)")] = 0,
         endpoint: Annotated[str | None, Opt(help="joining: URL other nodes reach this one at")] = None,
         chain_id: Annotated[int | None, Opt(help="joining: refuse a chain with another id")] = None,
         fund: Annotated[bool, Opt(help="joining a test chain (anvil): give the account gas")] = False,
         as_json: JsonOpt = False) -> None:
    """Create a data folder: with --demo a whole consortium, else a department joining one."""
    from node.services.bootstrap import InitError, init_demo
    from node.services.context import Identity
    from node.services.joining import JOIN_REQUEST_FILE, init_join

    folder = data_dir(data)
    try:
        if demo:
            if department or registry:
                raise CliError("bad_arguments", "--demo creates its own consortium: drop "
                               "--department and --registry")
            with console.status("initialising") as status:
                made = init_demo(folder, chain=chain, db_url=db, port=port,
                                 progress=lambda m: status.update(m))
            emit(as_json, {"data": str(made.data_dir), "registry_address": made.registry_address,
                           "fee_schedule_address": made.fee_schedule_address,
                           "departments": made.departments, "chain": made.chain, "db": made.db_url},
                 f"[green]initialised[/green] {folder} · registry {made.registry_address} · "
                 f"departments {', '.join(made.departments)}\n"
                 f"department tokens are in {folder / 'tokens.json'} (owner-only)")
            return
        identity = Identity(code=_required(department, "department"), name=_required(name, "name"),
                            uscc=_required(uscc, "uscc"), region=_required(region, "region"),
                            roles=tuple(r.strip().upper() for r in roles.split(",") if r.strip()),
                            endpoint=endpoint or f"http://127.0.0.1:{port}")
        with console.status("checking the chain and preparing the data folder"):
            joined = init_join(folder, chain=chain, registry_address=_required(registry, "registry"),
                               registry_block=registry_block, identity=identity, db_url=db,
                               chain_id=chain_id, port=port, fund=fund)
    except InitError as exc:
        fail(CliError(exc.code, exc.message, dict(exc.fields)), as_json)
    except CliError as exc:
        fail(exc, as_json)
    request = joined.request
    emit(as_json, {**request, "data": str(folder), "request_file": str(folder / JOIN_REQUEST_FILE)},
         f"[green]initialised[/green] {folder} for {identity.code}\n"
         f"account {request['account']} · signing key {request['signing_key']['kid']} · "
         f"endpoint {request['endpoint']}\n"
         f"send {folder / JOIN_REQUEST_FILE} to a council member (`regnode council "
         f"propose-department --request FILE`); once approved: `regnode serve`, then "
         f"`regnode keys register`")


def _required(value: str | None, option: str) -> str:
    if not value:
        raise CliError("missing_option", f"joining a consortium needs --{option} (or --demo for "
                       "a demo consortium)")
    return value


@app.command()
def serve(data: DataOpt = None, port: Annotated[int | None, typer.Option()] = None,
          host: Annotated[str | None, typer.Option(help="bind address (default 127.0.0.1)")] = None) -> None:
    """Run the node: API, verifier page, anchoring and indexing."""
    from node.app import create_app
    from node.config import ConfigError, load_settings
    from node.serving import serve as serve_http

    folder = data_dir(data)
    if not (folder / "regnode.toml").exists():
        fail(CliError("not_initialised", f"{folder} is not a regnode data folder: run "
                       "`regnode init` first"), False)
    try:
        settings = load_settings(folder, port=port, host=host)
        settings.check_runnable()
    except ConfigError as exc:
        fail(CliError(exc.code, str(exc)), False)
    console.print(f"regnode serving {settings.base_url} (docs at {settings.base_url}/docs)")
    serve_http(create_app(settings), settings.host, settings.port, log_level="warning")


@app.command()
def health(data: DataOpt = None, node: NodeOpt = None, as_json: JsonOpt = False) -> None:
    """Show the node's chain head, index lag and queues."""
    try:
        h = _client(data, node, None).json("GET", "/health")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, h, "\n".join(f"{k}: {v}" for k, v in h.items()))


# ------------------------------------------------------------------------------ licences
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


@licence_app.command("issue-batch")
def licence_issue_batch(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one licence object per line")],
    chunk: Annotated[int, typer.Option(help="licences per request")] = 2000,
    out: Annotated[Path | None, typer.Option(help="write identifier+qr JSON Lines here")] = None,
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Issue every licence in a JSON Lines file, in chunks, with a progress bar."""
    try:
        client = _client(data, node, as_)
        lines = _read_jsonl(file)
        issued: list[dict[str, Any]] = []
        sink = out.open("w", encoding="utf-8") if out else None
        with Progress(TextColumn("issuing"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err_console, disable=as_json) as bar:
            task = bar.add_task("issue", total=len(lines))
            for start in range(0, len(lines), chunk):
                part = lines[start:start + chunk]
                res = client.json("POST", "/v1/licences/batch", json={"licences": part})
                for r in res["results"]:
                    if sink:
                        sink.write(json.dumps({"identifier": r["identifier"], "qr": r["qr"]},
                                              ensure_ascii=False) + "\n")
                issued.extend(res["results"][:1])
                bar.advance(task, len(part))
        if sink:
            sink.close()
    except CliError as exc:
        fail(exc, as_json)
    summary = {"count": len(lines), "first": issued[0]["identifier"] if issued else None,
               "out": str(out) if out else None}
    emit(as_json, summary, f"[green]issued[/green] {len(lines)} licences")


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


# ------------------------------------------------------------------------------ keys etc.
@keys_app.command("rotate")
def keys_rotate(data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                as_json: JsonOpt = False) -> None:
    """Register a new signing key on chain; old licences keep verifying."""
    try:
        result = _client(data, node, as_).json("POST", "/v1/keys/rotate")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, f"{result['department']} now signs with key {result['kid']} "
         f"(previous {result['previous_kid']})")


@keys_app.command("register")
def keys_register(data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                  as_json: JsonOpt = False) -> None:
    """Register the signing key `regnode init` made, once the council has added the department."""
    try:
        result = _client(data, node, as_).json("POST", "/v1/keys/register")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, f"{result['department']} signs with key {result['kid']} from "
         f"{result['valid_from']}")


@snapshot_app.command("export")
def snapshot_export(out: Annotated[Path, typer.Option("--out")], data: DataOpt = None,
                    node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Download a signed snapshot for offline verification."""
    try:
        body = _client(data, node, as_).request("GET", "/v1/snapshot").content
        out.write_bytes(body)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, {"file": str(out), "bytes": len(body)}, f"wrote {out} ({len(body)} bytes)")


@app.command()
def verify(
    token: Annotated[str | None, typer.Argument(help="the QR text (RN1:...)")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="PNG/JPEG photo of the code")] = None,
    offline: Annotated[Path | None, typer.Option("--offline", help="verify against this snapshot")] = None,
    region: Annotated[str | None, typer.Option(help="verifier's region (offline)")] = None,
    pin: Annotated[str | None, typer.Option(help="expected snapshot signer kid (hex)")] = None,
    at: Annotated[int | None, typer.Option(help="verify as of this unix time")] = None,
    data: DataOpt = None, node: NodeOpt = None, as_json: JsonOpt = False,
) -> None:
    """Check a QR token: online against a node, or --offline against a snapshot file."""
    from verifiers.errors import VerifierError

    try:
        if (token is None) == (image is None):
            raise CliError("bad_arguments", "give either a TOKEN or --image FILE")
        if image is not None:
            from verifiers.image import decode_image

            try:
                token = decode_image(image.read_bytes())
            except (OSError, VerifierError) as exc:
                raise CliError("unreadable_image", str(exc)) from None
        assert token is not None
        if offline is not None:
            result = _verify_offline(token, offline, region, pin, at)
        else:
            folder = data_dir(data)
            body: dict[str, Any] = {"token": token}
            if at is not None:
                body["at"] = at
            result = NodeClient(node_url(node, folder)).json("POST", "/v1/verify", json=body)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, _verdict_text(result))
    if result["verdict"] != "valid":
        raise typer.Exit(1)


def _verify_offline(token: str, snapshot: Path, region: str | None, pin: str | None,
                    at: int | None) -> dict[str, Any]:
    from verifiers.errors import SnapshotError
    from verifiers.snapshot import load_snapshot
    from verifiers.verify import verify_token

    try:
        snap = load_snapshot(snapshot.read_bytes(), pinned_kid=bytes.fromhex(pin) if pin else None)
    except OSError as exc:
        raise CliError("unreadable_snapshot", str(exc)) from None
    except SnapshotError as exc:
        raise CliError("untrusted_snapshot", str(exc)) from None
    verifier_region = region or (snap.department(snap.exporter).region
                                 if snap.department(snap.exporter) else "")
    # The snapshot reflects the chain at its block's time; "now" is never earlier than that.
    now = max(int(time.time()), snap.position.block_timestamp) if at is None else at
    result = verify_token(token, snap, now=now, verifier_region=verifier_region).to_json()
    result.update(checked_at=now, snapshot_block=snap.position.block_number,
                  snapshot_exported_at=snap.exported_at, snapshot_exporter=snap.exporter)
    return result


def _verdict_text(r: dict[str, Any]) -> str:
    colour = "green" if r["verdict"] == "valid" else "red"
    lines = [f"[{colour}]{r['verdict']}[/{colour}] {r.get('reason') or ''}"]
    for key in ("issuer", "type_name", "identifier"):
        if r.get(key):
            lines.append(f"{key}: {r[key]}")
    for key, value in (r.get("disclosed") or {}).items():
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    sys.exit(main())
