"""``regnode council …``: a council member's votes on the department directory, through its node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.client import CliError, connect
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, emit, fail

council_app = typer.Typer(no_args_is_help=True, help="Council votes: add departments, record trust.")

RolesOpt = Annotated[str | None, typer.Option("--roles", help="comma-separated, e.g. ISSUER,REGISTRY")]


def _roles(text: str | None) -> list[str] | None:
    return None if text is None else [r.strip().upper() for r in text.split(",") if r.strip()]


def _proposal_text(p: dict[str, Any]) -> Table:
    table = Table(show_header=False)
    table.add_row("proposal", str(p["id"]))
    table.add_row("action", str(p.get("function")))
    for key, value in (p.get("args") or {}).items():
        table.add_row(f"  {key}", str(value))
    table.add_row("approvals", f"{p['approvals']} of {p['threshold']}")
    table.add_row("executed", "yes" if p["executed"] else "no")
    if p.get("transaction_hash"):
        table.add_row("transaction", p["transaction_hash"])
    return table


def _post(path: str, body: dict[str, Any] | None, data: Path | None, node: str | None,
          dept: str | None, as_json: bool) -> None:
    try:
        result = connect(data, node, dept).json("POST", path, json=body)
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, _proposal_text(result))


def _propose(body: dict[str, Any], data: Path | None, node: str | None, dept: str | None,
             as_json: bool) -> None:
    _post("/v1/council/proposals", body, data, node, dept, as_json)


def _read_request(path: Path) -> dict[str, Any]:
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError("unreadable_request", f"cannot read the join request {path}: {exc}") from None
    if not isinstance(request, dict):
        raise CliError("unreadable_request", f"{path} is not a join request")
    return request


@council_app.command("show")
def show(data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
         as_json: JsonOpt = False) -> None:
    """Show the council's members, threshold and the caller's seat."""
    try:
        result = connect(data, node, as_).json("GET", "/v1/council")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, f"threshold {result['threshold']} of {len(result['members'])} · "
         f"{result['proposal_count']} proposals · {result['department']}'s seat: "
         f"{result['seat'] or 'none'}")


@council_app.command("proposal")
def show_proposal(proposal_id: int, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                  as_json: JsonOpt = False) -> None:
    """Show a proposal: its action, approvals and whether it ran."""
    try:
        result = connect(data, node, as_).json("GET", f"/v1/council/proposals/{proposal_id}")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, result, _proposal_text(result))


@council_app.command("propose-department")
def propose_department(
    request: Annotated[Path | None, typer.Option("--request", help="join-request.json from `regnode init`")] = None,
    code: Annotated[str | None, typer.Option("--department", help="department code")] = None,
    account: Annotated[str | None, typer.Option("--account", help="its chain account (0x…)")] = None,
    roles: RolesOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="6-digit division code")] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="its node's URL")] = None,
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Propose adding a department (from its join request, options override it)."""
    try:
        base = _read_request(request) if request else {}
        body = {"action": "add_department", "department": code or base.get("department"),
                "account": account or base.get("account"), "roles": _roles(roles) or base.get("roles"),
                "region": region or base.get("region"), "endpoint": endpoint or base.get("endpoint")}
        missing = [k for k, v in body.items() if v is None]
        if missing:
            raise CliError("missing_option", f"give --request or --{' --'.join(missing)}")
    except CliError as exc:
        fail(exc, as_json)
    _propose(body, data, node, as_, as_json)


@council_app.command("trust")
def trust(
    verifier_region: Annotated[str, typer.Option("--verifier-region", help="region whose verifiers accept")],
    issuer_region: Annotated[str, typer.Option("--issuer-region", help="region that issues")],
    licence_type: Annotated[str, typer.Option("--type", help="licence type code")],
    revoke: Annotated[bool, typer.Option("--revoke", help="clear the relation instead")] = False,
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Propose that verifiers of one region recognise a licence type issued in another."""
    _propose({"action": "set_trust", "verifier_region": verifier_region, "issuer_region": issuer_region,
              "licence_type": licence_type, "trusted": not revoke}, data, node, as_, as_json)


@council_app.command("set-active")
def set_active(
    code: Annotated[str, typer.Argument(help="department code")],
    active: Annotated[bool, typer.Option("--active/--inactive")],
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Propose suspending a department from the directory, or restoring it."""
    _propose({"action": "set_department_active", "department": code, "active": active},
             data, node, as_, as_json)


@council_app.command("set-roles")
def set_roles(
    code: Annotated[str, typer.Argument(help="department code")],
    roles: Annotated[str, typer.Option("--roles", help="comma-separated; empty for none")],
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Propose replacing a department's roles."""
    _propose({"action": "set_department_roles", "department": code, "roles": _roles(roles)},
             data, node, as_, as_json)


@council_app.command("compromise-key")
def compromise_key(
    kid: Annotated[str, typer.Argument(help="the key's kid (16 hex digits)")],
    since: Annotated[int, typer.Option("--since", help="unix time the key is distrusted from")],
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """Propose declaring a department's signing key compromised from a time on."""
    _propose({"action": "declare_key_compromised", "kid": kid.lower(), "since": since},
             data, node, as_, as_json)


@council_app.command("approve")
def approve(proposal_id: int, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
            as_json: JsonOpt = False) -> None:
    """Approve a proposal; it runs when the approvals reach the threshold."""
    _post(f"/v1/council/proposals/{proposal_id}/approve", None, data, node, as_, as_json)


@council_app.command("execute")
def execute(proposal_id: int, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
            as_json: JsonOpt = False) -> None:
    """Run a proposal that already has enough approvals (after the threshold was lowered)."""
    _post(f"/v1/council/proposals/{proposal_id}/execute", None, data, node, as_, as_json)
