"""``regnode``: run a node (``init``, ``serve``) and talk to one (everything else).

Every command takes ``--data DIR`` (or ``REGNODE_DATA``), ``--node URL`` (or
``REGNODE_NODE``), ``--as DEPT`` where a node holds several departments, and ``--json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.cases import case_app
from cli.client import CliError, NodeClient, connect, data_dir, node_url
from cli.council import council_app
from cli.fees import fee_app
from cli.keys import keys_app, snapshot_app
from cli.licences import licence_app
from cli.output import DataOpt, JsonOpt, NodeOpt, console, emit, fail
from cli.property import property_app

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="regnode: e-licences and property titles on a shared EVM chain.")
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
