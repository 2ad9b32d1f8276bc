"""``regnode case …``: a second-hand transfer case, one command per department's step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.client import CliError, NodeClient, data_dir, node_url, token_for
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, emit, fail

case_app = typer.Typer(no_args_is_help=True, help="Second-hand transfer cases across departments.")


def _client(data: Path | None, node: str | None, dept: str | None) -> NodeClient:
    folder = data_dir(data)
    _, token = token_for(dept, folder)
    return NodeClient(node_url(node, folder), token)


def _run(data: Path | None, node: str | None, dept: str | None, as_json: bool, method: str, path: str,
         body: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        result: dict[str, Any] = _client(data, node, dept).json(method, path, json=body)
    except CliError as exc:
        fail(exc, as_json)
    return result


def _summary(result: dict[str, Any], keys: tuple[str, ...]) -> Table:
    table = Table(show_header=False)
    for key in keys:
        if key in result:
            value = result[key]
            table.add_row(key, json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value))
    tx = result.get("transaction")
    if tx:
        table.add_row("transaction", f"{tx['transaction_hash']} (block {tx['block']}, gas {tx['gas_used']})")
    return table


@case_app.command("open")
def open_case(unit: Annotated[str, typer.Argument(help="28-character unit number")],
              contract: Annotated[str, typer.Option("--contract", help="sale contract number")],
              price: Annotated[str, typer.Option("--price", help="price in yuan")],
              area: Annotated[str, typer.Option("--area", help="floor area in m²")],
              acquired: Annotated[str, typer.Option("--acquired", help="date the seller acquired it")],
              contract_date: Annotated[str, typer.Option("--contract-date")],
              buyer_homes: Annotated[int, typer.Option("--buyer-homes")],
              buyer: Annotated[list[str], typer.Option("--buyer", help="NAME:ID_NUMBER:SHARE_PERCENT, repeatable")],
              seller_account: Annotated[str, typer.Option("--seller-account", help="0x address")],
              seller_only_home: Annotated[bool, typer.Option("--seller-only-home")] = False,
              city: Annotated[str | None, typer.Option("--city")] = None,
              deadline_days: Annotated[int, typer.Option("--deadline-days")] = 30,
              data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """HOUSING files the sale contract and opens the case."""
    buyers = []
    for item in buyer:
        parts = item.rsplit(":", 2)
        if len(parts) != 3:
            fail(CliError("bad_request", f"--buyer {item!r} is not NAME:ID_NUMBER:SHARE_PERCENT"), as_json)
        buyers.append({"name": parts[0], "id_number": parts[1], "share_percent": parts[2]})
    body = {"unit_number": unit, "contract_number": contract, "price": price, "area": area, "acquired": acquired,
            "contract_date": contract_date, "buyer_homes": buyer_homes, "seller_only_home": seller_only_home,
            "city": city, "buyers": buyers, "seller_account": seller_account, "deadline_days": deadline_days}
    result = _run(data, node, as_, as_json, "POST", "/v1/cases", body)
    emit(as_json, result, _summary(result, ("case_id", "unit_number", "contract_hash")))


@case_app.command("show")
def show(case_id: str, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
         as_json: JsonOpt = False) -> None:
    """Show a case as mirrored from its chain events."""
    result = _run(data, node, as_, as_json, "GET", f"/v1/cases/{case_id}")
    emit(as_json, result, _summary(result, ("case_id", "state", "unit", "price_fen", "escrow_fen", "assessment",
                                            "settlement")))


@case_app.command("consent-mortgage")
def consent_mortgage(case_id: str, rank: Annotated[int, typer.Option("--rank")],
                     payoff: Annotated[str, typer.Option("--payoff", help="yuan owed at settlement")] = "0",
                     data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """BANK consents to transfer with its mortgage (带押过户), naming the payoff."""
    result = _run(data, node, as_, as_json, "POST", f"/v1/cases/{case_id}/mortgage-consent",
                  {"rank": rank, "payoff": payoff})
    emit(as_json, result, _summary(result, ("case_id",)))


@case_app.command("fund")
def fund(case_id: str,
         mint: Annotated[bool, typer.Option("--mint", help="first mint what is due: credit the deposit the "
                                            "buyer made (default: pay from the bank's token balance)")] = False,
         data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """The buyer's BANK (the --as department) pays what the buyer owes into escrow."""
    result = _run(data, node, as_, as_json, "POST", f"/v1/cases/{case_id}/fund", {"mint": mint})
    emit(as_json, result, _summary(result, ("case_id", "payer", "amount_fen", "minted_fen")))


_DISCLOSURE = re.compile(r"(?P<name>[^:]+):(?P<salt>[A-Za-z0-9_-]{22}):(?P<key>owner[0-9]+Id):(?P<id>\S+)")


def _presented(items: list[str], path: Path | None, as_json: bool) -> list[dict[str, Any]]:
    """Return the buyers as the settle endpoint takes them, from --buyer-disclosure and --buyers-file."""
    buyers: list[dict[str, Any]] = []
    for item in items:
        match = _DISCLOSURE.fullmatch(item)
        if match is None:
            fail(CliError("bad_request", f"--buyer-disclosure {item!r} is not NAME:SALT:owner<n>Id:ID_NUMBER"),
                 as_json)
        buyers.append({"name": match["name"], "disclosure": [match["salt"], match["key"], match["id"]]})
    if path is not None:
        try:
            listed = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(CliError("bad_request", f"--buyers-file {path}: {exc}"), as_json)
        if not isinstance(listed, list):
            fail(CliError("bad_request", f"--buyers-file {path} holds no JSON list of buyers"), as_json)
        buyers.extend(listed)
    return buyers


@case_app.command("settle")
def settle(case_id: str,
           buyer_disclosure: Annotated[list[str] | None, typer.Option(
               "--buyer-disclosure", help="NAME:SALT:owner<n>Id:ID_NUMBER, one per buyer, as `case open` "
                                          "gave the disclosure [salt, owner<n>Id, ID number]")] = None,
           buyers_file: Annotated[Path | None, typer.Option(
               "--buyers-file", help='JSON list of {"name", "id_type"?, "disclosure": [salt, key, id]}')] = None,
           deed_voucher: Annotated[str | None, typer.Option(
               "--deed-voucher", help="the deed-tax e-voucher's QR text (needed when TAX's node is another)")] = None,
           data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY settles: checks the buyers and the deed-tax voucher, pays everyone, moves the title."""
    body: dict[str, Any] = {"buyers": _presented(buyer_disclosure or [], buyers_file, as_json)}
    if deed_voucher is not None:
        body["deed_voucher"] = deed_voucher
    result = _run(data, node, as_, as_json, "POST", f"/v1/cases/{case_id}/settle", body)
    emit(as_json, result, _summary(result, ("case_id", "unit_number", "settlement", "certificate")))


def _step(name: str, help_text: str) -> None:
    def command(case_id: str, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                as_json: JsonOpt = False) -> None:
        result = _run(data, node, as_, as_json, "POST", f"/v1/cases/{case_id}/{name}")
        emit(as_json, result, _summary(result, ("case_id", "amount_fen", "assessment", "settlement",
                                                "certificate", "closed")))

    command.__doc__ = help_text
    case_app.command(name)(command)


_step("assess", "TAX assesses the case and issues its e-tax vouchers.")
_step("cancel", "HOUSING or REGISTRY cancels the case; the escrow is refunded.")
_step("expire", "Close a case past its deadline; the escrow is refunded.")
