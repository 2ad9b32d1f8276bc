"""The fee engine: the worked example, the boundaries, held years, bad facts, and equality with a
plain Decimal reference that reads the rule table's decimal strings itself."""

from __future__ import annotations

import calendar
import copy
import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import errors
from ledger.domain.fee_rules import PropertyType, default_fee_rules, parse_fee_rules
from ledger.domain.fees import (
    FeeFacts,
    facts_from_inputs,
    format_yuan,
    held_at_least,
    held_years,
    parse_area,
    parse_yuan,
    quote,
)

from .fee_cases import BOUNDARIES, WORKED_EXAMPLE, WORKED_EXAMPLE_YUAN, fee_facts

CENT = Decimal("0.01")
RAW_RULES: dict[str, Any] = json.loads(
    resources.files("ledger.domain.data").joinpath("fee_rules.json").read_text("utf-8"))


# ----------------------------------------------------------------------------- reference

def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year: the last day of the month (Civil Code §201)
        return date(start.year + years, 2, 28)


def reference_quote(raw: dict[str, Any], facts: FeeFacts) -> dict[str, Decimal]:
    """Compute DOMAIN.md's table literally in Decimal yuan from the raw rule table."""
    day = facts.contract_date
    schedule = max((s for s in raw["schedules"] if date.fromisoformat(s["effective_from"]) <= day),
                   key=lambda s: s["effective_from"])
    local = {"deed_tax_local_rate": schedule["deed_tax"]["local_rate"],
             "income_tax_deemed_rate": schedule["income_tax"]["deemed_rate"],
             "vat_surcharge_rate": schedule["vat_surcharges"]["rate"]}
    if facts.city is not None:
        overrides = [o for o in raw["cities"][facts.city]["overrides"]
                     if date.fromisoformat(o["effective_from"]) <= day]
        if overrides:
            latest = max(overrides, key=lambda o: o["effective_from"])
            local.update({k: v for k, v in latest.items() if k in local})
    d = Decimal
    price = d(facts.price) / 100
    area = d(facts.area) / 100
    housing = facts.property_type.label in schedule["housing_relief_types"]
    with localcontext() as ctx:
        ctx.prec = 60
        r = d(schedule["vat"]["rate"])
        if housing and day >= _anniversary(facts.acquired, schedule["vat"]["exempt_after_years"]):
            vat = d(0)
        else:
            vat = (price * r / (1 + r)).quantize(CENT, ROUND_HALF_UP)
        sur = (vat * d(local["vat_surcharge_rate"]) * d(schedule["vat_surcharges"]["levied_share"])
               ).quantize(CENT, ROUND_HALF_UP)
        deed_rules = schedule["deed_tax"]
        small = area <= d(deed_rules["area_threshold_m2"])
        band = "up_to_threshold" if small else "above_threshold"
        if housing and facts.buyer_homes == 1:
            deed_rate = d(deed_rules["first_home"][band])
        elif housing and facts.buyer_homes == 2:
            deed_rate = d(deed_rules["second_home"][band])
        else:
            deed_rate = d(local["deed_tax_local_rate"])
        deed = ((price - vat) * deed_rate).quantize(CENT, ROUND_HALF_UP)
        inc = schedule["income_tax"]
        if housing and facts.seller_only_home and day >= _anniversary(facts.acquired, inc["exempt_after_years"]):
            income = d(0)
        elif facts.cost is not None:
            gain = price - vat - d(facts.cost) / 100 - sur
            income = max(gain * d(inc["gain_rate"]), d(0)).quantize(CENT, ROUND_HALF_UP)
        else:
            income = ((price - vat) * d(local["income_tax_deemed_rate"])).quantize(CENT, ROUND_HALF_UP)
        reg = schedule["registration_fee"]
        fee = d(reg[facts.property_type.label]) + d(reg["per_extra_certificate"]) * (facts.certificates - 1)
    lines = {"vat": vat, "vat_surcharges": sur, "deed_tax": deed, "income_tax": income, "registration_fee": fee}
    lines["total"] = sum(lines.values(), d(0))
    return lines


def _fen(lines: dict[str, Decimal]) -> dict[str, int]:
    return {k: int(v * 100) for k, v in lines.items()}


_rate = st.integers(0, 10**6).map(lambda ppm: str(Decimal(ppm) / 10**6))
_money = st.integers(0, 10**6).map(lambda fen: str(Decimal(fen) / 100))


@st.composite
def random_rules(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a rule table shaped like fee_rules.json with arbitrary rates, fees and thresholds."""
    raw = copy.deepcopy(RAW_RULES)
    for s in raw["schedules"]:
        s["vat"] = {"rate": draw(_rate), "exempt_after_years": draw(st.integers(0, 12))}
        s["vat_surcharges"] = {"rate": draw(_rate), "levied_share": draw(_rate)}
        s["deed_tax"] = {
            "area_threshold_m2": str(Decimal(draw(st.integers(1, 10**6))) / 100),
            "first_home": {"up_to_threshold": draw(_rate), "above_threshold": draw(_rate)},
            "second_home": {"up_to_threshold": draw(_rate), "above_threshold": draw(_rate)},
            "local_rate": draw(_rate)}
        s["income_tax"] = {"exempt_after_years": draw(st.integers(0, 12)), "gain_rate": draw(_rate),
                           "deemed_rate": draw(_rate)}
        s["registration_fee"] = {k: draw(_money) for k in
                                 ("residential", "parking", "non_residential", "per_extra_certificate")}
        s["housing_relief_types"] = draw(st.lists(st.sampled_from([t.label for t in PropertyType]), unique=True))
    for city in raw["cities"].values():
        city["overrides"] = [{"effective_from": "2025-07-01",
                              **{k: draw(_rate) for k in draw(st.lists(st.sampled_from(
                                  ["deed_tax_local_rate", "income_tax_deemed_rate", "vat_surcharge_rate"]),
                                  min_size=1, unique=True))}}]
    return raw


# ------------------------------------------------------------------------------- tests

def test_worked_example_is_exact() -> None:
    result = quote(facts_from_inputs(**WORKED_EXAMPLE))
    assert (result.vat, result.vat_surcharges, result.deed_tax, result.income_tax, result.registration_fee) == (
        14_563_107, 873_786, 4_854_369, 4_854_369, 8_000)
    assert result.as_yuan() == WORKED_EXAMPLE_YUAN
    assert result.schedule.effective_from == (date(2026, 1, 1) - date(1970, 1, 1)).days


@pytest.mark.parametrize("name", list(BOUNDARIES))
def test_boundaries(name: str) -> None:
    inputs, expected = BOUNDARIES[name]
    facts = facts_from_inputs(**inputs)
    assert quote(facts).as_yuan() == expected
    assert {k: format_yuan(int(v * 100)) for k, v in reference_quote(RAW_RULES, facts).items()} == expected


@settings(max_examples=2_000, deadline=None)
@given(facts=fee_facts())
def test_engine_equals_decimal_reference_on_the_packaged_rules(facts: FeeFacts) -> None:
    assert quote(facts).lines() == _fen(reference_quote(RAW_RULES, facts))


@settings(max_examples=1_500, deadline=None)
@given(raw=random_rules(), facts=fee_facts())
def test_engine_equals_decimal_reference_on_any_rules(raw: dict[str, Any], facts: FeeFacts) -> None:
    assert quote(facts, parse_fee_rules(raw)).lines() == _fen(reference_quote(raw, facts))


@settings(max_examples=1_000, deadline=None)
@given(acquired=st.dates(date(1970, 1, 1), date(2100, 12, 31)), days=st.integers(0, 40 * 366))
def test_held_years_counts_anniversaries(acquired: date, days: int) -> None:
    on = acquired + timedelta(days=days)
    years = held_years(acquired, on)
    assert _anniversary(acquired, years) <= on < _anniversary(acquired, years + 1)
    for n in (0, 1, 2, 5, years, years + 1):
        assert held_at_least(acquired, on, n) == (n <= years)


def test_leap_day_anniversaries() -> None:
    leap = date(2024, 2, 29)
    assert held_years(leap, date(2025, 2, 27)) == 0
    assert held_years(leap, date(2025, 2, 28)) == 1
    assert held_years(leap, date(2028, 2, 28)) == 3
    assert held_years(leap, date(2028, 2, 29)) == 4
    assert not calendar.isleap(2026) and held_at_least(leap, date(2026, 2, 28), 2)


def test_city_overrides_apply_from_their_day() -> None:
    raw = copy.deepcopy(RAW_RULES)
    raw["cities"]["330100"] = {"name": "杭州市", "overrides": [
        {"effective_from": "2026-06-01", "deed_tax_local_rate": "0.04", "vat_surcharge_rate": "0.1"}]}
    rules = parse_fee_rules(raw)
    before = facts_from_inputs(price="1000000", area="200", acquired="2025-01-01", contract_date="2026-05-31",
                               buyer_homes=3, city="330100")
    after = facts_from_inputs(price="1000000", area="200", acquired="2025-01-01", contract_date="2026-06-01",
                              buyer_homes=3, city="330100")
    # VAT 29,126.21 either way; national: surcharges 6 %, deed 3 %; Hangzhou from 1 June: 5 %, 4 %.
    assert quote(before, rules).as_yuan()["vat_surcharges"] == "1747.57"
    assert quote(before, rules).as_yuan()["deed_tax"] == "29126.21"
    assert quote(after, rules).as_yuan()["vat_surcharges"] == "1456.31"
    assert quote(after, rules).as_yuan()["deed_tax"] == "38834.95"
    assert quote(after, rules).schedule.deed_local == 40_000
    assert quote(after, rules).schedule.income_deemed_rate == 10_000  # not overridden


def test_packaged_rules_match_the_domain_text() -> None:
    rules = default_fee_rules()
    first, second = rules.schedules
    assert (first.vat_rate, second.vat_rate) == (50_000, 30_000)
    assert date(1970, 1, 1) + timedelta(days=second.effective_from) == date(2026, 1, 1)
    assert sorted(rules.cities) == ["110000", "310000", "440100", "440300"]
    for city in rules.cities.values():
        assert city.overrides[0].deed_local == 30_000
    assert (second.fee_residential, second.fee_parking, second.fee_non_residential,
            second.fee_extra_certificate) == (8_000, 8_000, 55_000, 1_000)


def _facts(**changes: Any) -> dict[str, Any]:
    return {**WORKED_EXAMPLE, **changes}


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"price": "-1"}, "invalid_fee_facts", "price"),
    ({"price": "0"}, "invalid_fee_facts", "price"),
    ({"price": "100.001"}, "invalid_fee_facts", "price"),
    ({"price": "abc"}, "invalid_fee_facts", "price"),
    ({"price": "NaN"}, "invalid_fee_facts", "price"),
    ({"price": "1e30"}, "invalid_fee_facts", "price"),
    ({"price": "1e-9999999"}, "invalid_fee_facts", "price"),
    ({"cost": "1e9999999"}, "invalid_fee_facts", "cost"),
    ({"area": "-1E+1000000"}, "invalid_fee_facts", "area"),
    ({"area": "0"}, "invalid_fee_facts", "area"),
    ({"area": "-89"}, "invalid_fee_facts", "area"),
    ({"area": "89.005"}, "invalid_fee_facts", "area"),
    ({"cost": "-5"}, "invalid_fee_facts", "cost"),
    ({"buyer_homes": 0}, "invalid_fee_facts", "buyer_homes"),
    ({"certificates": 0}, "invalid_fee_facts", "certificates"),
    ({"property_type": "castle"}, "invalid_fee_facts", "property_type"),
    ({"acquired": "2025-13-01"}, "invalid_fee_facts", "acquired"),
    ({"acquired": "1969-12-31"}, "invalid_fee_facts", "acquired"),
    ({"acquired": "2026-03-02"}, "contract_before_acquisition", "contract_date"),
    ({"city": "11000"}, "invalid_fee_facts", "city"),
])
def test_bad_facts_raise_coded_errors(changes: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(errors.InvalidFeeFacts) as info:
        quote(facts_from_inputs(**_facts(**changes)))
    assert (info.value.code, info.value.field) == (code, field)


def test_unknown_city_and_no_rule_in_force() -> None:
    with pytest.raises(errors.UnknownCity) as city:
        quote(facts_from_inputs(**_facts(city="120000")))
    assert (city.value.code, city.value.city) == ("unknown_city", "120000")
    with pytest.raises(errors.NoFeeRuleInForce) as early:
        quote(facts_from_inputs(**_facts(acquired="2020-01-01", contract_date="2024-11-30")))
    assert (early.value.code, early.value.contract_date, early.value.earliest) == (
        "no_fee_rule_in_force", "2024-11-30", "2024-12-01")
    assert quote(facts_from_inputs(**_facts(acquired="2020-01-01", contract_date="2024-12-01"))).vat == 0


def test_facts_reject_wrong_types() -> None:
    base = facts_from_inputs(**WORKED_EXAMPLE)
    for field, value in [("price", 1.5), ("price", True), ("area", "89"), ("cost", 2.0),
                         ("seller_only_home", 1), ("property_type", 0), ("acquired", "2025-03-01")]:
        kwargs = {f: getattr(base, f) for f in FeeFacts.__dataclass_fields__} | {field: value}
        with pytest.raises(errors.InvalidFeeFacts):
            FeeFacts(**kwargs)


def test_yuan_and_area_parsing() -> None:
    assert parse_yuan("5000000") == 500_000_000
    assert parse_yuan(" 0.01 ") == 1
    assert parse_yuan(Decimal("145631.07")) == 14_563_107
    assert parse_yuan(80) == 8_000
    assert parse_area("140") == parse_area("140.00") == 14_000
    assert parse_area("140.01") == 14_001
    assert parse_yuan("5e6") == parse_yuan("0.50e7") == parse_yuan("5000000.0000") == 500_000_000
    assert parse_yuan("0e-1000000000") == 0
    assert format_yuan(14_563_107) == "145631.07" and format_yuan(5) == "0.05" and format_yuan(-5) == "-0.05"


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda r: r["schedules"].reverse(), "schedules"),
    (lambda r: r["schedules"][0]["vat"].update(rate="1.5"), "schedules[0].vat.rate"),
    (lambda r: r["schedules"][0]["vat"].update(rate="0.0000001"), "schedules[0].vat.rate"),
    (lambda r: r["schedules"][0]["vat"].update(rate="-0.01"), "schedules[0].vat.rate"),
    (lambda r: r["schedules"][0]["vat"].update(rate=0.05), "schedules[0].vat.rate"),
    (lambda r: r["schedules"][0]["vat"].update(exempt_after_years=256), "schedules[0].vat.exempt_after_years"),
    (lambda r: r["schedules"][0]["vat"].update(typo="1"), "schedules[0].vat"),
    (lambda r: r["schedules"][0].pop("income_tax"), "schedules[0]"),
    (lambda r: r["schedules"][0].update(housing_relief_types=["castle"]), "schedules[0].housing_relief_types"),
    (lambda r: r["schedules"][0]["deed_tax"].update(area_threshold_m2="0"), "schedules[0].deed_tax.area_threshold_m2"),
    (lambda r: r["schedules"][0].update(effective_from="1969-12-31"), "schedules[0].effective_from"),
    (lambda r: r["schedules"][0].update(effective_from="yesterday"), "schedules[0].effective_from"),
    (lambda r: r.update(schedules=[]), "schedules"),
    (lambda r: r["cities"].update({"1100": r["cities"]["110000"]}), "cities.1100"),
    (lambda r: r["cities"]["110000"]["overrides"][0].pop("deed_tax_local_rate"), "cities.110000.overrides[0]"),
    (lambda r: r["cities"]["110000"]["overrides"].append({"effective_from": "2024-01-01",
                                                          "deed_tax_local_rate": "0.04"}),
     "cities.110000.overrides"),
])
def test_malformed_rule_tables_are_refused(mutate: Any, where: str) -> None:
    raw = copy.deepcopy(RAW_RULES)
    mutate(raw)
    with pytest.raises(errors.InvalidFeeRules) as info:
        parse_fee_rules(raw)
    assert (info.value.code, info.value.where) == ("invalid_fee_rules", where)
