"""``regnode fee quote``: local quotes with no node and no data folder, ``--json`` lines, coded errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.domain.fee_cases import BOUNDARIES, WORKED_EXAMPLE, WORKED_EXAMPLE_YUAN

REGNODE = str(Path(sys.executable).with_name("regnode"))
FLAGS = {"price": "--price", "area": "--area", "acquired": "--acquired", "contract_date": "--contract-date",
         "buyer_homes": "--buyer-homes", "cost": "--cost", "property_type": "--property-type",
         "certificates": "--certificates", "city": "--city"}


def args_for(inputs: dict[str, Any]) -> list[str]:
    """Return the command line for the facts ``inputs`` (as the HTTP API takes them)."""
    args = ["fee", "quote"]
    for key, value in inputs.items():
        if key == "seller_only_home":
            args += ["--seller-only-home"] if value else []
        else:
            args += [FLAGS[key], str(value)]
    return args


def test_worked_example_needs_no_node(tmp_path: Path) -> None:
    # An empty folder and a node URL nobody listens on: the quote must not need either.
    env = {**os.environ, "REGNODE_DATA": str(tmp_path / "none"), "REGNODE_NODE": "http://127.0.0.1:9"}
    proc = subprocess.run([REGNODE, *args_for(WORKED_EXAMPLE), "--json"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == WORKED_EXAMPLE_YUAN
    assert list(json.loads(proc.stdout)) == ["vat", "vat_surcharges", "deed_tax", "income_tax",
                                             "registration_fee", "total"]
    assert not (tmp_path / "none").exists()
    human = subprocess.run([REGNODE, *args_for(WORKED_EXAMPLE)], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=120)
    assert human.returncode == 0, human.stderr
    for line in ("145631.07", "8737.86", "48543.69", "80.00", "251536.31", "seller", "buyer", "2026-01-01"):
        assert line in human.stdout


@pytest.mark.parametrize("name", list(BOUNDARIES))
def test_boundaries(name: str) -> None:
    inputs, expected = BOUNDARIES[name]
    result = CliRunner().invoke(app, [*args_for(inputs), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize(("changes", "code"), [
    ({"price": "-5"}, "invalid_fee_facts"),
    ({"area": "0"}, "invalid_fee_facts"),
    ({"contract_date": "2026-02-30"}, "invalid_fee_facts"),
    ({"acquired": "2026-03-02"}, "contract_before_acquisition"),
    ({"city": "120000"}, "unknown_city"),
    ({"property_type": "castle"}, "invalid_fee_facts"),
    ({"acquired": "2020-01-01", "contract_date": "2024-11-30"}, "no_fee_rule_in_force"),
])
def test_bad_facts_exit_2_with_a_code(changes: dict[str, Any], code: str) -> None:
    result = CliRunner().invoke(app, [*args_for({**WORKED_EXAMPLE, **changes}), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == code
    human = CliRunner().invoke(app, args_for({**WORKED_EXAMPLE, **changes}))
    assert human.exit_code == 2 and f"[{code}]" in human.stderr


def test_a_rule_file_replaces_the_packaged_table(tmp_path: Path) -> None:
    from importlib import resources

    raw = json.loads(resources.files("ledger.domain.data").joinpath("fee_rules.json").read_text("utf-8"))
    raw["schedules"][1]["vat"]["rate"] = "0.01"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(raw), encoding="utf-8")
    result = CliRunner().invoke(app, [*args_for(WORKED_EXAMPLE), "--rules", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["vat"] == "49504.95"  # 5,000,000 × 0.01 / 1.01
    rules.write_text("{", encoding="utf-8")
    broken = CliRunner().invoke(app, [*args_for(WORKED_EXAMPLE), "--rules", str(rules), "--json"])
    assert broken.exit_code == 2 and json.loads(broken.stdout)["error"]["code"] == "invalid_fee_rules"
