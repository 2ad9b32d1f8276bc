"""``regnode fee quote``: each tax and fee of a property resale, computed locally (no node)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from cli.client import CliError
from cli.output import JsonOpt, emit, fail

fee_app = typer.Typer(no_args_is_help=True, help="Taxes and fees of a property resale.")


@fee_app.command("quote")
def fee_quote(
    price: Annotated[str, typer.Option("--price", help="taxable price in yuan")],
    area: Annotated[str, typer.Option("--area", help="floor area in m²")],
    acquired: Annotated[str, typer.Option("--acquired", help="date the seller acquired it, YYYY-MM-DD")],
    contract_date: Annotated[str, typer.Option("--contract-date", help="date of the sale contract, YYYY-MM-DD")],
    buyer_homes: Annotated[int, typer.Option("--buyer-homes",
                                             help="which home of the buyer's family this will be: 1, 2, 3 …")],
    seller_only_home: Annotated[bool, typer.Option("--seller-only-home",
                                                   help="it is the seller's family's only home")] = False,
    cost: Annotated[str | None, typer.Option("--cost", help="the seller's proven original cost in yuan")] = None,
    property_type: Annotated[str, typer.Option("--property-type",
                                               help="residential | parking | non_residential")] = "residential",
    certificates: Annotated[int, typer.Option("--certificates", help="title certificates issued")] = 1,
    city: Annotated[str | None, typer.Option("--city", help="6-digit city code for local rates")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="a fee rule table (JSON) instead of the packaged one")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Quote each tax and fee of a resale, locally (no node needed)."""
    from ledger.domain.errors import FeeError
    from ledger.domain.fee_rules import default_fee_rules, load_fee_rules
    from ledger.domain.fees import LINES, facts_from_inputs, held_years, quote

    try:
        try:
            table = load_fee_rules(rules.read_text(encoding="utf-8")) if rules else default_fee_rules()
        except OSError as exc:
            raise CliError("unreadable_file", f"cannot read {rules}: {exc}") from None
        facts = facts_from_inputs(price=price, area=area, acquired=acquired, contract_date=contract_date,
                                  buyer_homes=buyer_homes, seller_only_home=seller_only_home, cost=cost,
                                  property_type=property_type, certificates=certificates, city=city)
        result = quote(facts, table)
    except FeeError as exc:
        fail(CliError(exc.code, str(exc), {k: v for k, v in vars(exc).items() if isinstance(v, str)}),
              as_json)
    except CliError as exc:
        fail(exc, as_json)
    amounts = result.as_yuan()
    table = Table(title="taxes and fees (CNY)", show_footer=True)
    table.add_column("line", footer="total")
    table.add_column("payer")
    table.add_column("amount", justify="right", footer=amounts["total"])
    for line, payer in LINES:
        table.add_row(line.replace("_", " "), payer, amounts[line])
    held = held_years(facts.acquired, facts.contract_date)
    schedule = result.schedule
    basis = Text(f"rules in force from {_day_text(schedule.effective_from)} with "
                 f"{f'the local rates of {facts.city}' if facts.city else 'the national rates'}; "
                 f"VAT rate {_percent(schedule.vat_rate)}; held {held} full year{'s' if held != 1 else ''}",
                 style="dim")
    emit(as_json, amounts, Group(table, basis))


def _percent(ppm: int) -> str:
    from decimal import Decimal

    return f"{(Decimal(ppm) / 10_000).normalize():f} %"


def _day_text(unix_day: int) -> str:
    import datetime as dt

    return (dt.date(1970, 1, 1) + dt.timedelta(days=unix_day)).isoformat()
