"""FeeSchedule on both backends: the worked example and the boundaries, publishing (TAX only,
effective-dated, validated), reading the schedules back, and named errors for bad facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ledger.domain.errors import FeeError
from ledger.domain.fee_rules import CityOverride, default_fee_rules, unix_day
from ledger.domain.fees import facts_from_inputs, format_yuan, quote
from node.chain.fee_schedule import case_facts, override_struct, schedule_from_struct, schedule_struct
from tests.domain.fee_cases import BOUNDARIES, WORKED_EXAMPLE, WORKED_EXAMPLE_YUAN

from .fees import FeeScheduleDriver, deploy_fee_schedule
from .helpers import Registry, addr, b32

QUOTE_GAS_LIMIT = 60_000  # a settlement pays this to price a case on chain


@pytest.fixture
def fees(chain: Any) -> tuple[FeeScheduleDriver, Registry]:
    return deploy_fee_schedule(chain)


def _yuan(lines: dict[str, int]) -> dict[str, str]:
    return {k: format_yuan(v) for k, v in lines.items()}


def test_worked_example_and_boundaries(fees: tuple[FeeScheduleDriver, Registry], chain: Any) -> None:
    driver, _ = fees
    example = facts_from_inputs(**WORKED_EXAMPLE)
    assert _yuan(driver.quote(example)) == WORKED_EXAMPLE_YUAN
    for name, (inputs, expected) in BOUNDARIES.items():
        facts = facts_from_inputs(**inputs)
        assert _yuan(driver.quote(facts)) == expected, name
        assert driver.quote(facts) == quote(facts).lines(), name
    gas = chain.gateway.estimate_gas(addr(chain.accounts[9]), driver.address,
                                     driver.abi.encode_call("quote", [case_facts(example)]))
    assert gas <= QUOTE_GAS_LIMIT, gas


def test_published_rules_read_back(fees: tuple[FeeScheduleDriver, Registry]) -> None:
    driver, registry = fees
    assert driver.view("directory") == registry.address
    rules = default_fee_rules()
    assert driver.view("scheduleCount") == len(rules.schedules)
    for i, schedule in enumerate(rules.schedules):
        assert schedule_from_struct(driver.view("scheduleAt", i)) == schedule
    for code, city in rules.cities.items():
        assert driver.view("cityOverrideCount", int(code)) == len(city.overrides)
        assert tuple(driver.view("cityOverrideAt", int(code), 0).values()) == override_struct(city.overrides[0])
    for day in (date(2024, 12, 1), date(2025, 12, 31), date(2026, 1, 1), date(2030, 1, 1)):
        for city in (None, "110000", "440300"):
            on_chain = driver.view("scheduleInForce", unix_day(day), int(city or 0))
            assert schedule_from_struct(on_chain) == rules.in_force(unix_day(day), city)


def test_only_tax_publishes(fees: tuple[FeeScheduleDriver, Registry], chain: Any) -> None:
    driver, registry = fees
    later = replace(default_fee_rules().schedules[-1], effective_from=unix_day(date(2027, 1, 1)))
    override = CityOverride(effective_from=unix_day(date(2027, 1, 1)), deed_local=40_000)
    for account in (chain.accounts[5], chain.accounts[0], chain.accounts[9]):  # HOUSING, council, nobody
        with driver.reverts("FeeScheduleNotTax", account=addr(account)):
            driver.tx(account, "publishSchedule", schedule_struct(later))
        with driver.reverts("FeeScheduleNotTax", account=addr(account)):
            driver.tx(account, "publishCityOverride", 110000, override_struct(override))
    registry.council_do("setDepartmentActive", b32("TAX"), False)
    with driver.reverts("FeeScheduleNotTax", account=addr(driver.tax)):
        driver.tx(driver.tax, "publishSchedule", schedule_struct(later))
    registry.council_do("setDepartmentActive", b32("TAX"), True)
    receipt = driver.tx(driver.tax, "publishSchedule", schedule_struct(later))
    (event,) = driver.events(receipt)
    assert (event.name, event.args) == ("SchedulePublished", {
        "effectiveFrom": later.effective_from, "publisher": addr(driver.tax), "index": 2})
    receipt = driver.tx(driver.tax, "publishCityOverride", 110000, override_struct(override))
    (event,) = driver.events(receipt)
    assert (event.name, event.args) == ("CityOverridePublished", {
        "city": 110000, "effectiveFrom": override.effective_from, "publisher": addr(driver.tax)})
    third_home = facts_from_inputs(price="1000000", area="90", acquired="2026-06-01", contract_date="2027-01-01",
                                   buyer_homes=3, city="110000")
    assert driver.quote(third_home)["deed_tax"] == 3_883_495  # (1,000,000 − 29,126.21) × 4 %


def test_publishing_is_validated(fees: tuple[FeeScheduleDriver, Registry]) -> None:
    driver, _ = fees
    latest = default_fee_rules().schedules[-1]
    with driver.reverts("FeeScheduleNotAfterLatest", effectiveFrom=latest.effective_from,
                        latest=latest.effective_from):
        driver.tx(driver.tax, "publishSchedule", schedule_struct(latest))
    next_day = latest.effective_from + 1
    for bad in (replace(latest, effective_from=next_day, vat_rate=1_000_001),
                replace(latest, effective_from=next_day, deed_local=2**32 - 1),
                replace(latest, effective_from=next_day, deed_area_threshold=0),
                replace(latest, effective_from=next_day, housing_relief_types=8)):
        with driver.reverts("FeeScheduleInvalidSchedule", effectiveFrom=next_day):
            driver.tx(driver.tax, "publishSchedule", schedule_struct(bad))
    good = (next_day, 1, 40_000, 0, 0)
    for city, struct in ((0, good), (99_999, good), (1_000_000, good), (110000, (next_day, 0, 0, 0, 0)),
                         (110000, (next_day, 8, 0, 0, 0)), (110000, (next_day, 1, 1_000_001, 0, 0)),
                         (110000, (next_day, 2, 0, 1_000_001, 0)), (110000, (next_day, 4, 0, 0, 1_000_001))):
        with driver.reverts("FeeScheduleInvalidOverride", city=city, effectiveFrom=next_day):
            driver.tx(driver.tax, "publishCityOverride", city, struct)
    first = default_fee_rules().cities["110000"].overrides[0].effective_from
    with driver.reverts("FeeScheduleNotAfterLatest", effectiveFrom=first, latest=first):
        driver.tx(driver.tax, "publishCityOverride", 110000, (first, 1, 40_000, 0, 0))
    driver.tx(driver.tax, "publishCityOverride", 330100, good)  # a new city is fine
    assert driver.view("cityOverrideCount", 330100) == 1


def _raw(**changes: Any) -> tuple[Any, ...]:
    fields = ["priceFen", "areaCentiM2", "acquiredDay", "contractDay", "buyerHomeNumber", "sellerOnlyHome",
              "costKnown", "costFen", "propertyType", "certificates", "city"]
    values = dict(zip(fields, case_facts(facts_from_inputs(**WORKED_EXAMPLE)), strict=True))
    return tuple({**values, **changes}.values())


def test_bad_facts_revert_with_named_errors(fees: tuple[FeeScheduleDriver, Registry]) -> None:
    driver, _ = fees
    day = unix_day(date(2026, 3, 1))
    cases = [
        (_raw(priceFen=0), "FeeScheduleInvalidPrice", {"priceFen": 0}),
        (_raw(areaCentiM2=0), "FeeScheduleInvalidArea", {"areaCentiM2": 0}),
        (_raw(acquiredDay=day + 1), "FeeScheduleContractBeforeAcquisition",
         {"acquiredDay": day + 1, "contractDay": day}),
        (_raw(buyerHomeNumber=0), "FeeScheduleInvalidHomeNumber", {"buyerHomeNumber": 0}),
        (_raw(certificates=0), "FeeScheduleInvalidCertificates", {"certificates": 0}),
        (_raw(propertyType=3), "FeeScheduleInvalidPropertyType", {"propertyType": 3}),
        (_raw(city=120000), "FeeScheduleUnknownCity", {"city": 120000}),
        (_raw(acquiredDay=0, contractDay=unix_day(date(2024, 11, 30))), "FeeScheduleNoScheduleInForce",
         {"day": unix_day(date(2024, 11, 30))}),
    ]
    for struct, name, args in cases:
        with driver.reverts(name, **args):
            driver.quote(struct)
    # The Python engine refuses the same cases with coded errors.
    for changes, code in [({"city": "120000"}, "unknown_city"),
                          ({"acquired": "2020-01-01", "contract_date": "2024-11-30"}, "no_fee_rule_in_force"),
                          ({"acquired": "2026-03-02"}, "contract_before_acquisition"),
                          ({"price": "0"}, "invalid_fee_facts"), ({"area": "0"}, "invalid_fee_facts")]:
        with pytest.raises(FeeError) as info:
            quote(facts_from_inputs(**{**WORKED_EXAMPLE, **changes}))
        assert info.value.code == code
