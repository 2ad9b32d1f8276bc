"""`regnode council …` against a served demo node on the embedded chain (background loop running)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from tests.cli_node import CliNode, run_cli, served_demo


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliNode]:
    yield from served_demo(tmp_path_factory, "cli-council", 18004)


run = run_cli


def test_a_department_is_added_from_options_and_shown(node: tuple[Path, str]) -> None:
    account = Account.create().address
    proposed = run(node, "council", "propose-department", "--department", "SHNOTARY",
                   "--account", account, "--roles", "notary", "--region", "310000",
                   "--endpoint", "https://notary.example.org", "--as", "HEALTH")
    assert proposed["args"] == {"code": "SHNOTARY", "account": account, "roles": 64,
                                "region": "310000", "endpoint": "https://notary.example.org"}
    text = run(node, "council", "approve", str(proposed["id"]), "--as", "MARKET", as_json=False)
    assert "executed" in text and "yes" in text and "2 of 2" in text
    listed = {d["code"]: d for d in httpx.get(f"{node[1]}/v1/departments", timeout=10).json()}
    assert listed["SHNOTARY"]["region"] == "310000" and listed["SHNOTARY"]["roles"] == 64


def test_council_commands_refuse_with_codes(node: tuple[Path, str], tmp_path: Path) -> None:
    missing = run(node, "council", "propose-department", "--department", "X1", "--as", "MARKET", code=2)
    assert missing["error"]["code"] == "missing_option"
    assert "--account" in missing["error"]["message"]
    unreadable = run(node, "council", "propose-department", "--request", str(tmp_path / "none.json"),
                     "--as", "MARKET", code=2)
    assert unreadable["error"]["code"] == "unreadable_request"
    (tmp_path / "list.json").write_text("[1, 2]")
    assert run(node, "council", "propose-department", "--request", str(tmp_path / "list.json"),
               "--as", "MARKET", code=2)["error"]["code"] == "unreadable_request"
    assert run(node, "council", "compromise-key", "nothex", "--since", "1", "--as", "MARKET",
               code=2)["error"]["code"] == "invalid_request"
    assert run(node, "council", "set-roles", "COURT", "--roles", "COURT,KING", "--as", "MARKET",
               code=2)["error"]["code"] == "invalid_request"
    assert run(node, "council", "execute", "1", "--as", "MARKET",
               code=2)["error"]["code"] == "proposal_executed"
    assert run(node, "council", "show", "--as", "NOBODY", code=2)["error"]["code"] == "no_token"
