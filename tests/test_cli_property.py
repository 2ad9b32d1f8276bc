"""`regnode property …` against a served demo node (embedded chain, background loop running).

Every command is run as a user would, with ``--as DEPT``, over real HTTP: a register story
with two co-owners, a mortgage, a second seizure queued and promoted when the first is
released, an objection with a suit, consents, then every flag cleared and the title
cancelled; refusals print the contract's code and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from typer.testing import CliRunner

from cli.main import app
from tests.cli_node import CliNode, run_cli, served_demo

UNIT = "320684413219GB00029F00010002"
REGNODE = str(Path(sys.executable).with_name("regnode"))
BUYER = keccak(text="buyer").hex()
APPLICANT = keccak(text="objector").hex()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    yield from served_demo(tmp_path_factory, "cli-property", 18003)


cli = run_cli


def prop(node: tuple[Path, str], dept: str, *args: str, code: int = 0) -> Any:
    return cli(node, "property", *args, "--as", dept, code=code)


def test_the_register_story_through_the_cli(node: tuple[Path, str]) -> None:
    registered = prop(node, "REGISTRY", "register", UNIT, "--owner", "110101199001011234,张三,60",
                      "--owner", "11010119920202234X,李四,40%")
    assert registered["change"] == "registered" and len(registered["owners"]) == 2
    assert registered["certificate"]["identifier"].startswith("1.2.156.3005.2.11100000000013127D101.")
    assert prop(node, "REGISTRY", "mortgage", UNIT, "--bank", "BANK", "--amount", "800000")["rank"] == 1
    first = prop(node, "COURT", "seize", UNIT, "--order", "(2026)京0105执保1号", "--days", "180")
    second = prop(node, "COURT", "seize", UNIT, "--order", "(2026)京0105执保2号", "--days", "60")
    shown = cli(node, "property", "show", UNIT)
    assert shown["seizure"]["order_hash"] == first["order_hash"] and shown["seizure"]["waiting"] == 1

    refused = prop(node, "REGISTRY", "mortgage", UNIT, "--bank", "BANK", "--amount", "1", code=2)
    assert refused["error"]["code"] == "unit_seized"
    assert refused["error"]["args"]["orderHash"] == first["order_hash"]

    prop(node, "COURT", "release-seizure", UNIT, "--order", "(2026)京0105执保1号")
    shown = cli(node, "property", "show", UNIT)
    assert shown["seizure"]["order_hash"] == second["order_hash"] and shown["seizure"]["waiting"] == 0

    assert prop(node, "REGISTRY", "objection", UNIT, "--applicant", APPLICANT)["change"] == "objection_recorded"
    prop(node, "REGISTRY", "objection-suit", UNIT, "--suit", "(2026)京0105民初9号")
    prop(node, "REGISTRY", "pre-notice", UNIT, "--holder", BUYER, "--until", "2099-12-31")
    prop(node, "REGISTRY", "consent-pre-notice", UNIT)
    prop(node, "REGISTRY", "consent", UNIT, "--owners", "0,1")
    assert prop(node, "BANK", "consent-mortgage", UNIT, "1")["change"] == "mortgage_consented"
    shown = cli(node, "property", "show", UNIT)
    assert shown["chain_valid"] and shown["transfer_guards"] == ["seized", "objection"]
    assert [h["kind"] for h in shown["history"]][-6:] == [
        "objection_recorded", "objection_suit_filed", "pre_notice_recorded", "pre_notice_consented",
        "owners_consented", "mortgage_consented"]

    prop(node, "COURT", "release-seizure", UNIT, "--order-hash", second["order_hash"])
    prop(node, "REGISTRY", "clear-objection", UNIT)
    prop(node, "REGISTRY", "clear-pre-notice", UNIT)
    prop(node, "BANK", "release-mortgage", UNIT, "1")
    assert prop(node, "REGISTRY", "cancel", UNIT, "--reason", "房屋灭失")["change"] == "cancelled"
    shown = cli(node, "property", "show", UNIT)
    assert shown["cancelled"] and shown["chain_valid"] and shown["changes"] == len(shown["history"]) == 16
    assert "110101199001011234" not in json.dumps(shown)


def test_a_wrong_department_gets_the_code(node: tuple[Path, str]) -> None:
    data, url = node
    out = prop(node, "MARKET", "seize", UNIT, "--order", "x", "--days", "1", code=2)
    assert out["error"]["code"] == "missing_role" and out["error"]["args"]["role"] == 32
    human = CliRunner().invoke(app, ["property", "release-mortgage", UNIT, "1", "--as", "COURT",
                                     "--data", str(data), "--node", url])
    assert human.exit_code == 2 and "[missing_role]" in human.stderr
    bad = cli(node, "property", "show", "not-a-unit", code=2)
    assert bad["error"]["code"] == "invalid_unit_number"
    bad = prop(node, "COURT", "seize", UNIT, "--days", "1", code=2)
    assert bad["error"]["code"] == "bad_arguments"
    bad = prop(node, "REGISTRY", "register", UNIT, "--owner", "only-an-id", code=2)
    assert bad["error"]["code"] == "bad_owner"


def test_show_is_the_installed_command_too(node: tuple[Path, str]) -> None:
    data, url = node
    other = "110105001002GB00123F00450012"
    prop(node, "REGISTRY", "register", other, "--owner", "110101199001011234,张三,100")
    env = {**os.environ, "REGNODE_DATA": str(data), "REGNODE_NODE": url}
    done = subprocess.run([REGNODE, "property", "show", other, "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unit_number"] == other
    text = subprocess.run([REGNODE, "property", "show", other], capture_output=True, text=True, env=env,
                          timeout=120)
    assert text.returncode == 0 and "hash chain links" in text.stdout
