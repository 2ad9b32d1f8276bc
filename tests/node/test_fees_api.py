"""``POST /v1/fees/quote`` on a demo node: exact lines, coded errors (never a 500), and the
fee schedule that the demo's TAX published on chain quoting the same amounts."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.fee_rules import default_fee_rules
from ledger.domain.fees import facts_from_inputs, quote
from node.chain.fee_schedule import fee_schedule_abi, quote_on_chain, schedule_from_struct
from node.config import ConfigError, Settings
from node.services.fees import node_rules, rules_from_file
from tests.domain.fee_cases import BOUNDARIES, WORKED_EXAMPLE, WORKED_EXAMPLE_YUAN
from tests.node.conftest import DemoNode

URL = "/v1/fees/quote"


def post(demo: DemoNode, body: dict[str, Any]) -> Any:
    return demo.client.post(URL, json=body)


def test_worked_example(demo: DemoNode) -> None:
    r = post(demo, WORKED_EXAMPLE)  # public: no token
    assert r.status_code == 200, r.text
    assert r.json() == WORKED_EXAMPLE_YUAN


def test_boundaries(demo: DemoNode) -> None:
    for name, (inputs, expected) in BOUNDARIES.items():
        r = post(demo, inputs)
        assert r.status_code == 200, (name, r.text)
        assert r.json() == expected, name


def test_numbers_and_strings_both_work(demo: DemoNode) -> None:
    as_numbers = {**WORKED_EXAMPLE, "price": 5_000_000, "area": 89}
    assert post(demo, as_numbers).json() == WORKED_EXAMPLE_YUAN
    with_decimals = {**WORKED_EXAMPLE, "price": "5000000.00", "area": 89.5, "cost": "1234567.89",
                     "certificates": 2, "property_type": "residential", "seller_only_home": False}
    expected = quote(facts_from_inputs(**{**with_decimals, "area": "89.5"})).as_yuan()
    assert post(demo, with_decimals).json() == expected
    assert expected["registration_fee"] == "90.00"


@pytest.mark.parametrize(("changes", "status", "code", "field"), [
    ({"price": "-1"}, 400, "invalid_fee_facts", "price"),
    ({"price": "0.001"}, 400, "invalid_fee_facts", "price"),
    ({"area": 0}, 400, "invalid_fee_facts", "area"),
    ({"buyer_homes": 0}, 400, "invalid_fee_facts", "buyer_homes"),
    ({"certificates": -1}, 400, "invalid_fee_facts", "certificates"),
    ({"acquired": "2026-03-02"}, 400, "contract_before_acquisition", "contract_date"),
    ({"city": "120000"}, 400, "unknown_city", None),
    ({"city": "abc"}, 400, "invalid_fee_facts", "city"),
    ({"acquired": "2020-01-01", "contract_date": "2024-11-30"}, 400, "no_fee_rule_in_force", None),
    ({"price": "lots"}, 422, "invalid_request", None),
    ({"acquired": "01/03/2025"}, 422, "invalid_request", None),
    ({"property_type": "castle"}, 422, "invalid_request", None),
    ({"surprise": 1}, 422, "invalid_request", None),
])
def test_bad_facts_get_coded_errors(demo: DemoNode, changes: dict[str, Any], status: int, code: str,
                                    field: str | None) -> None:
    r = post(demo, {**WORKED_EXAMPLE, **changes})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field


def test_missing_facts_are_named(demo: DemoNode) -> None:
    r = post(demo, {"price": "1"})
    assert r.status_code == 422
    assert {p["at"] for p in r.json()["error"]["problems"]} >= {"body.area", "body.acquired", "body.buyer_homes"}


_anything = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                      st.sampled_from(["NaN", "Infinity", "-0", "1e400", "1e-9999999", "1E+9999999", "2026-02-30"]),
                      st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["price", "area", "acquired", "contract_date", "buyer_homes", "seller_only_home",
                              "cost", "property_type", "certificates", "city"]), value=_anything)
def test_never_a_500(demo: DemoNode, field: str, value: Any) -> None:
    r = post(demo, {**WORKED_EXAMPLE, field: value})
    assert r.status_code in (200, 400, 422), (field, value, r.text)
    if r.status_code != 200:
        assert r.json()["error"]["code"]


def test_demo_tax_published_the_schedule_on_chain(demo: DemoNode) -> None:
    rt = demo.runtime
    address = bytes.fromhex(rt.settings.fee_schedule_address.removeprefix("0x"))
    abi = fee_schedule_abi()
    count = abi.decode_output("scheduleCount", rt.gateway.call(address, abi.encode_call("scheduleCount")))[0]
    on_chain = [schedule_from_struct(abi.decode_output("scheduleAt", rt.gateway.call(
        address, abi.encode_call("scheduleAt", [i])))[0]) for i in range(count)]
    assert tuple(on_chain) == default_fee_rules().schedules
    for inputs, expected in [(WORKED_EXAMPLE, WORKED_EXAMPLE_YUAN), *BOUNDARIES.values()]:
        lines = quote_on_chain(rt.gateway, address, facts_from_inputs(**inputs))
        assert {k: f"{v // 100}.{v % 100:02d}" for k, v in lines.items()} == expected


def test_a_department_rule_file(tmp_path: Path) -> None:
    raw = json.loads(resources.files("ledger.domain.data").joinpath("fee_rules.json").read_text("utf-8"))
    raw["schedules"][1]["registration_fee"]["residential"] = "100"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    settings_ = Settings(data_dir=tmp_path, fee_rules_file=str(path))
    assert quote(facts_from_inputs(**WORKED_EXAMPLE), node_rules(settings_)).as_yuan()["registration_fee"] == "100.00"
    assert node_rules(Settings(data_dir=tmp_path)) is default_fee_rules()
    with pytest.raises(ConfigError):
        rules_from_file(str(tmp_path / "missing.json"))
