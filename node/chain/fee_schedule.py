"""The ``FeeSchedule`` contract's ABI shapes for the domain's fee types, both directions, in one place.

``ledger.domain.fee_rules`` keeps schedules in the contract's units and field order,
so a schedule is its struct as is; facts become ``CaseFacts`` (dates as unix days,
``cost`` ``None`` as ``costKnown = false``, the city as a ``uint32``, 0 for none).
"""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

from ledger.domain.fee_rules import CityOverride, FeeRules, FeeSchedule
from node.chain.abi import ContractAbi, contract
from node.chain.gateway import ChainGateway

__all__ = ["case_facts", "decode_lines", "fee_schedule_abi", "override_struct", "publish_calls",
           "quote_on_chain", "schedule_from_struct", "schedule_struct"]

LINE_NAMES = ("vat", "vat_surcharges", "deed_tax", "income_tax", "registration_fee", "total")


def fee_schedule_abi() -> ContractAbi:
    """Return the binding of the ``FeeSchedule`` artifact."""
    return contract("FeeSchedule")


def schedule_struct(schedule: FeeSchedule) -> tuple[int, ...]:
    """Return ``schedule`` as the contract's ``Schedule`` tuple."""
    return astuple(schedule)


def schedule_from_struct(struct: dict[str, Any]) -> FeeSchedule:
    """Return the decoded ``Schedule`` struct (a dict by field name) as a domain schedule."""
    return FeeSchedule(*struct.values())


def override_struct(override: CityOverride) -> tuple[int, ...]:
    """Return ``override`` as the contract's ``CityOverride`` tuple (unset rates are 0)."""
    return (override.effective_from, override.mask, override.deed_local or 0,
            override.income_deemed_rate or 0, override.surcharge_rate or 0)


def case_facts(facts: Any) -> tuple[Any, ...]:
    """Return :class:`ledger.domain.fees.FeeFacts` as the contract's ``CaseFacts`` tuple."""
    return (facts.price, facts.area, facts.acquired_day, facts.contract_day, facts.buyer_homes,
            facts.seller_only_home, facts.cost is not None, facts.cost or 0, int(facts.property_type),
            facts.certificates, int(facts.city) if facts.city else 0)


def decode_lines(output: bytes) -> dict[str, int]:
    """Decode the return data of ``quote`` as ``{line: fen}`` with the domain's line names."""
    (lines,) = fee_schedule_abi().decode_output("quote", output)
    return dict(zip(LINE_NAMES, lines.values(), strict=True))


def publish_calls(rules: FeeRules) -> list[bytes]:
    """Return the calldata that publishes ``rules`` on a fresh contract: the schedules, then the cities."""
    abi = fee_schedule_abi()
    calls = [abi.encode_call("publishSchedule", [schedule_struct(s)]) for s in rules.schedules]
    for code, city in sorted(rules.cities.items()):
        calls += [abi.encode_call("publishCityOverride", [int(code), override_struct(o)])
                  for o in city.overrides]
    return calls


def quote_on_chain(gateway: ChainGateway, address: bytes, facts: Any) -> dict[str, int]:
    """Return the contract's quote of ``facts`` as ``{line: fen}`` (an ``eth_call``, no transaction).

    Raises :class:`node.chain.errors.CallReverted` with the contract's custom error.
    """
    abi = fee_schedule_abi()
    return decode_lines(gateway.call(address, abi.encode_call("quote", [case_facts(facts)])))
