"""Parity: Hypothesis drives random case facts through the Python fee engine and the FeeSchedule
contract (``eth_call``) and they agree to the fen — 10,000 cases on the embedded chain, a smaller
run on anvil, held years on every calendar corner, and rule tables other than the packaged one."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.fee_rules import default_fee_rules, parse_fee_rules, unix_day
from ledger.domain.fees import FeeFacts, held_years, quote
from tests.domain.fee_cases import fee_facts
from tests.domain.test_fees import random_rules

from .fees import FeeScheduleDriver, deploy_fee_schedule

PARITY_EXAMPLES = 10_000
ANVIL_EXAMPLES = 300
RAW_RULES: dict[str, Any] = json.loads(
    resources.files("ledger.domain.data").joinpath("fee_rules.json").read_text("utf-8"))
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _run_parity(driver: FeeScheduleDriver, examples: int) -> int:
    seen = 0

    @settings(max_examples=examples, deadline=None, suppress_health_check=SLOW_OK)
    @given(facts=fee_facts())
    def agree(facts: FeeFacts) -> None:
        nonlocal seen
        seen += 1
        assert driver.quote(facts) == quote(facts).lines(), facts

    agree()
    return seen


@pytest.mark.slow
def test_python_and_contract_agree_on_10000_cases(embedded_chain: Any) -> None:
    driver, _ = deploy_fee_schedule(embedded_chain)
    assert _run_parity(driver, PARITY_EXAMPLES) >= PARITY_EXAMPLES


@pytest.mark.anvil
def test_python_and_contract_agree_on_anvil(anvil_chain: Any) -> None:
    driver, _ = deploy_fee_schedule(anvil_chain)
    assert _run_parity(driver, ANVIL_EXAMPLES) >= ANVIL_EXAMPLES


def test_held_years_agree(embedded_chain: Any) -> None:
    driver, _ = deploy_fee_schedule(embedded_chain)
    leap_days = [date(y, 2, 29) for y in (1972, 2000, 2024, 2096)]

    @settings(max_examples=600, deadline=None, suppress_health_check=SLOW_OK)
    @given(acquired=st.one_of(st.sampled_from(leap_days), st.dates(date(1970, 1, 1), date(2200, 12, 31))),
           days=st.one_of(st.integers(0, 40 * 366), st.sampled_from([364, 365, 366, 730, 731, 1826, 1827])))
    def agree(acquired: date, days: int) -> None:
        on = acquired + timedelta(days=days)
        assert driver.view("heldYears", unix_day(acquired), unix_day(on)) == held_years(acquired, on)

    agree()
    assert driver.view("heldYears", unix_day(date(2024, 2, 29)), unix_day(date(2026, 2, 28))) == 2
    assert driver.view("heldYears", unix_day(date(2100, 2, 28)), unix_day(date(2100, 3, 1))) == 0


def test_agree_under_a_table_with_every_override(embedded_chain: Any) -> None:
    raw = copy.deepcopy(RAW_RULES)
    raw["schedules"][1]["housing_relief_types"] = ["residential", "parking"]
    raw["schedules"][1]["registration_fee"]["parking"] = "40.5"
    raw["cities"]["110000"]["overrides"].append({"effective_from": "2026-07-01", "deed_tax_local_rate": "0.035",
                                                 "income_tax_deemed_rate": "0.015", "vat_surcharge_rate": "0.1"})
    raw["cities"]["330100"] = {"name": "杭州市", "overrides": [{"effective_from": "2026-02-01",
                                                                 "income_tax_deemed_rate": "0.02"}]}
    rules = parse_fee_rules(raw)
    driver, _ = deploy_fee_schedule(embedded_chain, rules)

    @settings(max_examples=800, deadline=None, suppress_health_check=SLOW_OK)
    @given(facts=fee_facts(cities=(None, "110000", "330100", "440100")))
    def agree(facts: FeeFacts) -> None:
        assert driver.quote(facts) == quote(facts, rules).lines(), facts

    agree()


@pytest.mark.slow
def test_agree_under_random_tables(embedded_chain: Any) -> None:
    @settings(max_examples=12, deadline=None, suppress_health_check=SLOW_OK)
    @given(raw=random_rules(), cases=st.lists(fee_facts(), min_size=25, max_size=25))
    def agree(raw: dict[str, Any], cases: list[FeeFacts]) -> None:
        rules = parse_fee_rules(raw)
        snapshot = embedded_chain.snapshot()
        try:
            driver, _ = deploy_fee_schedule(embedded_chain, rules)
            for facts in cases:
                assert driver.quote(facts) == quote(facts, rules).lines(), facts
        finally:
            embedded_chain.revert(snapshot)

    agree()
    assert default_fee_rules().schedules  # the packaged table is untouched by the random ones
