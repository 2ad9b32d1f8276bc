"""`regnode case settle` against a served demo node: the buyers' disclosures on the command line or
in a file, the deed-tax voucher's QR, and `regnode verify` of the new title certificate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_node import CliNode, run_cli, served_demo

UNIT = "320684413219GB00029F00010051"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    yield from served_demo(tmp_path_factory, "cli-settle", 18005)


cli = run_cli


def test_a_settlement_through_the_cli(node: tuple[Path, str], tmp_path: Path) -> None:
    cli(node, "property", "register", UNIT, "--owner", "110101197201011234,冯一,100", "--as", "REGISTRY")
    cli(node, "property", "consent", UNIT, "--owners", "0", "--as", "REGISTRY")
    opened = cli(node, "case", "open", UNIT, "--contract", "CLI-2026-51", "--price", "1500000", "--area", "70",
                 "--acquired", "2017-05-01", "--contract-date", "2026-03-01", "--buyer-homes", "1",
                 "--buyer", "陈五:110101199510101234:70", "--buyer", "褚六:110101199611111234:30",
                 "--seller-account", "0x" + "7c" * 20, "--as", "HOUSING")
    cid = opened["case_id"]
    assessed = cli(node, "case", "assess", cid, "--as", "TAX")
    cli(node, "case", "fund", cid, "--mint", "--as", "BANK")
    first, second = opened["buyers"]
    by_option = f"陈五:{first['disclosure'][0]}:owner1Id:{first['disclosure'][2]}"

    # One buyer missing, and a malformed option: coded refusals, exit 2.
    missing = cli(node, "case", "settle", cid, "--buyer-disclosure", by_option, "--as", "REGISTRY", code=2)
    assert missing["error"]["code"] == "buyer_disclosure_missing"
    bad = cli(node, "case", "settle", cid, "--buyer-disclosure", "陈五:110101199510101234", "--as", "REGISTRY",
              code=2)
    assert bad["error"]["code"] == "bad_request"

    # One buyer on the command line, the other from a file, the deed-tax voucher by its QR.
    listed = tmp_path / "buyers.json"
    listed.write_text(json.dumps([{"name": "褚六", "disclosure": second["disclosure"]}], ensure_ascii=False),
                      encoding="utf-8")
    settled = cli(node, "case", "settle", cid, "--buyer-disclosure", by_option, "--buyers-file", str(listed),
                  "--deed-voucher", assessed["vouchers"][1]["qr"], "--as", "REGISTRY")
    assert settled["unit_number"] == UNIT
    assert [o["commitment"] for o in settled["owners"]] == [first["commitment"], second["commitment"]]
    verdict = cli(node, "verify", settled["certificate"]["qr"])
    assert verdict["verdict"] == "valid" and verdict["disclosed"]["unitNumber"] == UNIT
    shown = cli(node, "property", "show", UNIT)
    assert [o["commitment"] for o in shown["owners"]] == [first["commitment"], second["commitment"]]
    assert shown["certificate_leaf"] == settled["certificate"]["leaf"]
