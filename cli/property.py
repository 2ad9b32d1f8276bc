"""``regnode property …``: the register steps of a unit, each as the department ``--as`` names.

Every step waits until the chain recorded it and prints the change, the unit's new head and
the transaction; a refusal prints the contract's code (``[unit_seized]``, ``[missing_role]``
…) and exits 2. ``show`` is public.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.client import CliError, connect
from cli.output import AsOpt, DataOpt, JsonOpt, NodeOpt, emit, fail

property_app = typer.Typer(no_args_is_help=True, help="The property register: titles and their flags.")

UnitArg = Annotated[str, typer.Argument(help="the 28-character unit number")]
RankArg = Annotated[int, typer.Argument(help="the mortgage's rank (1 = first registered)")]


def _step(data: Path | None, node: str | None, dept: str | None, as_json: bool, unit: str,
          path: str, body: dict[str, Any] | None = None) -> None:
    try:
        done = connect(data, node, dept).json("POST", f"/v1/property/{unit}{path}", json=body or {})
    except CliError as exc:
        fail(exc, as_json)
    extra = "".join(f" · {k} {done[k]}" for k in ("rank", "expires_at") if k in done)
    emit(as_json, done, f"[green]{escape(done['change'])}[/green] {escape(unit)}{extra}\n"
         f"head {done['head']} · block {done['block_number']} · tx {done['transaction_hash']}")


def _one_of(text: str | None, digest: str | None, name: str) -> dict[str, str]:
    if (text is None) == (digest is None):
        raise CliError("bad_arguments", f"give either --{name} or --{name}-hash")
    return {name: text} if text is not None else {f"{name}_hash": digest or ""}


def _owner(spec: str) -> dict[str, str]:
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) not in (3, 4) or not all(parts):
        raise CliError("bad_owner", f"--owner takes ID,NAME,SHARE[,ID_TYPE], got {spec!r}")
    owner = {"id_number": parts[0], "name": parts[1], "share": parts[2].rstrip("%")}
    if len(parts) == 4:
        owner["id_type"] = parts[3]
    return owner


@property_app.command("register")
def register(
    unit: UnitArg,
    owner: Annotated[list[str], typer.Option("--owner", help="ID,NAME,SHARE% [,ID_TYPE], repeatable")],
    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False,
) -> None:
    """REGISTRY registers a title and issues its e-certificate to the owners."""
    try:
        body = {"unit_number": unit, "owners": [_owner(o) for o in owner]}
        done = connect(data, node, as_).json("POST", "/v1/property", json=body)
    except CliError as exc:
        fail(exc, as_json)
    shares = ", ".join(f"#{o['index']} {o['share_ppm'] / 10_000:g}%" for o in done["owners"])
    emit(as_json, done, f"[green]registered[/green] {escape(unit)} · owners {shares}\n"
         f"certificate {done['certificate']['identifier']}\nhead {done['head']} · tx {done['transaction_hash']}")


@property_app.command("mortgage")
def mortgage(unit: UnitArg,
             bank: Annotated[str, typer.Option("--bank", help="the mortgagee bank's department code")],
             amount: Annotated[str, typer.Option("--amount", help="secured amount in yuan")],
             data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY records a mortgage for a bank; prints its rank."""
    _step(data, node, as_, as_json, unit, "/mortgages", {"mortgagee": bank, "amount": amount})


@property_app.command("release-mortgage")
def release_mortgage(unit: UnitArg, rank: RankArg, data: DataOpt = None, node: NodeOpt = None,
                     as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """The mortgagee BANK releases its mortgage (抵押注销)."""
    _step(data, node, as_, as_json, unit, f"/mortgages/{rank}/release")


@property_app.command("consent-mortgage")
def consent_mortgage(unit: UnitArg, rank: RankArg, data: DataOpt = None, node: NodeOpt = None,
                     as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """The mortgagee BANK consents to a transfer with its mortgage (带押过户)."""
    _step(data, node, as_, as_json, unit, f"/mortgages/{rank}/consent")


@property_app.command("pre-notice")
def pre_notice(unit: UnitArg,
               holder: Annotated[str, typer.Option("--holder", help="the holder's commitment (64 hex)")],
               until: Annotated[str | None, typer.Option("--until", help="in force through YYYY-MM-DD")] = None,
               expires_at: Annotated[int | None, typer.Option("--expires-at", help="or: a unix time")] = None,
               data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY records a pre-notice (预告登记) for a holder."""
    body: dict[str, Any] = {"holder": holder}
    if until is not None:
        body["expires_on"] = until
    if expires_at is not None:
        body["expires_at"] = expires_at
    _step(data, node, as_, as_json, unit, "/pre-notice", body)


@property_app.command("consent-pre-notice")
def consent_pre_notice(unit: UnitArg, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                       as_json: JsonOpt = False) -> None:
    """REGISTRY records the pre-notice holder's consent to a transfer to someone else."""
    _step(data, node, as_, as_json, unit, "/pre-notice/consent")


@property_app.command("clear-pre-notice")
def clear_pre_notice(unit: UnitArg, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                     as_json: JsonOpt = False) -> None:
    """REGISTRY clears the pre-notice in force."""
    _step(data, node, as_, as_json, unit, "/pre-notice/clear")


@property_app.command("objection")
def objection(unit: UnitArg,
              applicant: Annotated[str, typer.Option("--applicant", help="the applicant's commitment (64 hex)")],
              data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY records an objection (异议登记); it lapses in 15 days unless a suit is filed."""
    _step(data, node, as_, as_json, unit, "/objection", {"applicant": applicant})


@property_app.command("objection-suit")
def objection_suit(unit: UnitArg,
                   suit: Annotated[str | None, typer.Option("--suit", help="the case number")] = None,
                   suit_hash: Annotated[str | None, typer.Option("--suit-hash", help="or: its hash")] = None,
                   data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY records that the objector filed suit."""
    try:
        body = _one_of(suit, suit_hash, "suit")
    except CliError as exc:
        fail(exc, as_json)
    _step(data, node, as_, as_json, unit, "/objection/suit", body)


@property_app.command("clear-objection")
def clear_objection(unit: UnitArg, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
                    as_json: JsonOpt = False) -> None:
    """REGISTRY clears the objection in force."""
    _step(data, node, as_, as_json, unit, "/objection/clear")


@property_app.command("consent")
def consent(unit: UnitArg,
            owners: Annotated[str, typer.Option("--owners", help="co-owner indexes as `show` lists them: 0,1")],
            data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY records which co-owners consented to a transfer."""
    try:
        indexes = [int(i) for i in owners.split(",") if i.strip()]
    except ValueError:
        fail(CliError("bad_arguments", f"--owners takes indexes like 0,1, got {owners!r}"), as_json)
    _step(data, node, as_, as_json, unit, "/consent", {"owners": indexes})


@property_app.command("seize")
def seize(unit: UnitArg,
          days: Annotated[int, typer.Option("--days", help="duration in days, at most 3 years (1095)")],
          order: Annotated[str | None, typer.Option("--order", help="the court order's number")] = None,
          order_hash: Annotated[str | None, typer.Option("--order-hash", help="or: its hash")] = None,
          data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """COURT seizes the unit (behind a seizure in force, the order waits in the queue)."""
    try:
        body: dict[str, Any] = {**_one_of(order, order_hash, "order"), "days": days}
    except CliError as exc:
        fail(exc, as_json)
    _step(data, node, as_, as_json, unit, "/seizures", body)


@property_app.command("release-seizure")
def release_seizure(unit: UnitArg,
                    order: Annotated[str | None, typer.Option("--order", help="the court order's number")] = None,
                    order_hash: Annotated[str | None, typer.Option("--order-hash", help="or: its hash")] = None,
                    data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """COURT releases its seizure; the next waiting one is promoted."""
    try:
        body = _one_of(order, order_hash, "order")
    except CliError as exc:
        fail(exc, as_json)
    _step(data, node, as_, as_json, unit, "/seizures/release", body)


@property_app.command("cancel")
def cancel(unit: UnitArg,
           reason: Annotated[str | None, typer.Option("--reason", help="why the title is cancelled")] = None,
           reason_hash: Annotated[str | None, typer.Option("--reason-hash", help="or: its hash")] = None,
           data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None, as_json: JsonOpt = False) -> None:
    """REGISTRY cancels the title (注销)."""
    try:
        body = _one_of(reason, reason_hash, "reason")
    except CliError as exc:
        fail(exc, as_json)
    _step(data, node, as_, as_json, unit, "/cancel", body)


@property_app.command("show")
def show(unit: UnitArg, data: DataOpt = None, node: NodeOpt = None, as_: AsOpt = None,
         as_json: JsonOpt = False) -> None:
    """Show a unit's public status: flags, shares, history and whether its hash chain links."""
    try:
        status = connect(data, node, as_).json("GET", f"/v1/property/{unit}")
    except CliError as exc:
        fail(exc, as_json)
    emit(as_json, status, _status_view(status))


def _status_view(s: dict[str, Any]) -> Group:
    flags = Table(show_header=False, title=f"unit {s['unit_number']}")
    flags.add_row("owners", ", ".join(f"#{o['index']} {o['share']}" + (" ✓" if o["consented"] else "")
                                      for o in s["owners"]))
    flags.add_row("cancelled", "yes" if s["cancelled"] else "no")
    flags.add_row("contract filed", "yes" if s["contract_filed"] else "no")
    pre = s["pre_notice"]
    flags.add_row("pre-notice", "—" if pre is None else
                  f"holder {pre['holder'][:12]}… until {pre['expires_at']}"
                  + (" (consented)" if pre["consented"] else "") + ("" if pre["in_force"] else " (lapsed)"))
    flags.add_row("mortgages", "; ".join(
        f"#{m['rank']} {m['mortgagee']} {m['amount']}"
        + (" released" if m["released"] else " consented" if m["consented"] else "")
        for m in s["mortgages"]) or "—")
    seizure = s["seizure"]
    flags.add_row("seizure", "—" if seizure is None else
                  f"{seizure['court']} until {seizure['to']}, {seizure['waiting']} waiting")
    obj = s["objection"]
    flags.add_row("objection", "—" if obj is None else
                  ("suit filed" if obj["suit_filed"] else f"until {obj['expires_at']}")
                  + ("" if obj["in_force"] else " (lapsed)"))
    flags.add_row("transfer guards", ", ".join(s["transfer_guards"]) or "none")
    flags.add_row("certificate leaf", s["certificate_leaf"])
    history = Table("#", "change", "at", "block", "head", "link")
    for h in s["history"]:
        history.add_row(str(h["seq"]), h["kind"], str(h["at"]), str(h["block_number"]), h["head"][:16] + "…",
                        "ok" if h["link_valid"] else "BROKEN")
    verdict = Text("hash chain links" if s["chain_valid"] else "hash chain BROKEN",
                   style="green" if s["chain_valid"] else "red")
    return Group(flags, history, verdict)
