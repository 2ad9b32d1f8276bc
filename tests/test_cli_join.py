"""A department joins a running consortium through the CLI alone, as its engineers would.

Every command goes through the `regnode` app (in process, to spare the busy test machine a
Python start per command) except `regnode serve`, which runs as its own process per node.
A demo consortium (`regnode init --demo`) runs on anvil with its own PostgreSQL schema and
is served by `regnode serve`. Guangdong's market regulator initialises its node with
`regnode init` (no --demo) on the same anvil and another schema, and hands its join request
to the council; council members vote through `regnode council …` against the demo node;
the new node is served, registers its key, issues a licence, and the demo node verifies it
`valid` once the council recognises Guangdong's business licences in Beijing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app
from node.chain.anvil import AnvilProcess
from node.services.bootstrap import demo_uscc
from tests.conftest import fresh_postgres_schema
from tests.test_cli_e2e import BUSINESS, Server, free_port

pytestmark = [pytest.mark.anvil, pytest.mark.postgres, pytest.mark.slow]

GD = "GDMARKET"
BEIJING, GUANGDONG = "110000", "440000"
GOOD_USCC = demo_uscc(GUANGDONG, 1)


def cli(data: Path, *args: str, code: int = 0) -> Any:
    """Run ``regnode ARGS --json`` (in process) for the node of ``data``; return its JSON output."""
    result = CliRunner().invoke(app, [*args, "--json"], env={"REGNODE_DATA": str(data)})
    assert result.exit_code == code, (args, result.output, result.exception)
    return json.loads(result.stdout)


@dataclass
class World:
    """Anvil, the demo consortium's served node (A) and what a joining department needs."""

    anvil: AnvilProcess
    a: Path
    a_server: Server
    registry: str
    db_b: str
    root: Path

    def join_args(self, data: Path, port: int, **override: str) -> list[str]:
        options = {"department": GD, "name": "广东省市场监督管理局", "uscc": GOOD_USCC,
                   "region": GUANGDONG, "roles": "ISSUER", "registry": self.registry,
                   "chain": self.anvil.url, "db": self.db_b, "port": str(port),
                   "endpoint": f"http://127.0.0.1:{port}", **override}
        return ["init", "--data", str(data), "--fund",
                *[a for k, v in options.items() for a in (f"--{k.replace('_', '-')}", v)]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("join")
    with AnvilProcess(chain_id=31337) as anvil, fresh_postgres_schema() as db_a, \
            fresh_postgres_schema() as db_b:
        a = root / "a"
        port = free_port()
        made = cli(a, "init", "--demo", "--data", str(a), "--chain", anvil.url, "--db", db_a,
                   "--port", str(port))
        server = Server(a, port, startup_timeout=180, batch_interval_ms="100")
        try:
            yield World(anvil, a, server, str(made["registry_address"]), db_b, root)
        finally:
            server.stop()


def test_a_department_joins_is_approved_issues_and_is_verified_valid(world: World) -> None:
    b = world.root / "b"
    port = free_port()
    request = cli(b, *world.join_args(b, port))
    assert request["department"] == GD and request["region"] == GUANGDONG
    assert request["account"].startswith("0x") and len(request["signing_key"]["kid"]) == 16
    assert request["endpoint"] == f"http://127.0.0.1:{port}" and request["chain_id"] == 31337
    assert json.loads((b / "join-request.json").read_text()) == {
        k: v for k, v in request.items() if k not in ("data", "request_file")}
    assert (b / "regnode.toml").exists() and (b / "keys" / f"{GD}.account").exists()

    # Its node serves at once, but cannot register its key before the council has added it.
    server_b = Server(b, port, startup_timeout=180, batch_interval_ms="100")
    try:
        assert cli(b, "keys", "register", code=2)["error"]["code"] == "not_admitted"
        _council_admits_and_b_is_verified(world, b, request, server_b)
    finally:
        server_b.stop()


def _council_admits_and_b_is_verified(world: World, b: Path, request: dict[str, Any],
                                      server_b: Server) -> None:
    a = world.a
    # BANK holds no council seat; MARKET proposes, cannot vote twice, POLICE's approval carries it.
    assert cli(a, "council", "propose-department", "--request", str(b / "join-request.json"),
               "--as", "BANK", code=2)["error"]["code"] == "not_council_member"
    council = cli(a, "council", "show", "--as", "MARKET")
    assert council["threshold"] == 2 and council["is_member"] and len(council["members"]) == 3
    proposed = cli(a, "council", "propose-department", "--request", str(b / "join-request.json"),
                   "--as", "MARKET")
    assert proposed["function"] == "addDepartment" and proposed["args"]["code"] == GD
    assert proposed["approvals"] == 1 and not proposed["executed"]
    pid = str(proposed["id"])
    assert cli(a, "council", "approve", pid, "--as", "MARKET", code=2)["error"]["code"] == "already_approved"
    assert cli(a, "council", "approve", pid, "--as", "COURT", code=2)["error"]["code"] == "not_council_member"
    approved = cli(a, "council", "approve", pid, "--as", "POLICE")
    assert approved["executed"] and approved["approvals"] == 2 and approved["indexed"]
    assert cli(a, "council", "approve", pid, "--as", "HEALTH", code=2)["error"]["code"] == "proposal_executed"
    # A second proposal for the same code is refused before anything is sent.
    again = cli(a, "council", "propose-department", "--request", str(b / "join-request.json"),
                "--as", "HEALTH", code=2)
    assert again["error"]["code"] == "department_exists"

    registered = cli(b, "keys", "register")
    assert registered["kid"] == request["signing_key"]["kid"]
    assert cli(b, "keys", "register", code=2)["error"]["code"] == "key_already_registered"
    listed = {d["code"]: d for d in httpx.get(f"{world.a_server.url}/v1/departments", timeout=10).json()}
    assert [k["kid"] for k in listed[GD]["keys"]] == [request["signing_key"]["kid"]]

    issued = cli(b, "licence", "issue", "--type", BUSINESS, "--holder-name", "广州示范贸易有限公司",
                 "--holder-id", "91110105MA01ABCD2X", "--holder-id-type", "USCC")
    server_b.wait_settled()
    world.a_server.wait_settled()
    token = issued["qr"]
    assert cli(b, "verify", token)["verdict"] == "valid"  # its own region needs no trust
    before = cli(a, "verify", token, code=1)
    assert before["verdict"] == "unknown_issuer"

    trust = cli(a, "council", "trust", "--verifier-region", BEIJING, "--issuer-region", GUANGDONG,
                "--type", BUSINESS, "--as", "HEALTH")
    assert trust["function"] == "setTrust" and not trust["executed"]
    cli(a, "council", "approve", str(trust["id"]), "--as", "MARKET")
    shown = cli(a, "council", "proposal", str(trust["id"]), "--as", "POLICE")
    assert shown["executed"] and len(shown["approved_by"]) == 2
    after = cli(a, "verify", token)
    assert after["verdict"] == "valid" and after["issuer"] == GD
    assert after["peer"]["code"] == "proven"  # A fetched the proof from B's served node


def test_init_refuses_bad_input_and_leaves_nothing_behind(world: World) -> None:
    port = free_port()
    cases = [
        ({"department": "gd-market"}, "invalid_department_code"),
        ({"uscc": GOOD_USCC[:-1] + ("1" if GOOD_USCC[-1] == "0" else "0")}, "invalid_uscc"),
        ({"region": "44"}, "invalid_region"),
        ({"roles": "ISSUER,MAYOR"}, "invalid_roles"),
        ({"endpoint": "ftp://x"}, "invalid_endpoint"),
        ({"registry": "0x1234"}, "invalid_registry_address"),
        ({"registry": "0x" + "11" * 20}, "not_a_registry"),
        ({"department": "MARKET"}, "department_exists"),
        ({"chain": f"http://127.0.0.1:{free_port()}"}, "chain_unreachable"),
        ({"chain": "embedded"}, "embedded_chain"),
        ({"chain_id": "1"}, "wrong_chain"),
    ]
    for n, (override, code) in enumerate(cases):
        data = world.root / f"refused-{n}"
        answer = cli(data, *world.join_args(data, port, **override), code=2)
        assert answer["error"]["code"] == code, (override, answer)
        assert not data.exists(), override
    missing = world.root / "missing"
    assert cli(missing, "init", "--data", str(missing), "--chain", world.anvil.url,
               code=2)["error"]["code"] == "missing_option"
    taken = world.root / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert cli(taken, *world.join_args(taken, port), code=2)["error"]["code"] == "data_folder_exists"
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
    assert cli(world.a, *world.join_args(world.a, port), code=2)["error"]["code"] == "already_initialised"


def test_a_database_holding_another_node_is_refused_and_the_folder_removed(world: World) -> None:
    data = world.root / "same-db"
    with fresh_postgres_schema() as db:
        first = world.root / "first"
        cli(first, *world.join_args(first, free_port(), department="GDPOLICE", db=db))
        answer = cli(data, *world.join_args(data, free_port(), department="GDHEALTH", db=db), code=2)
    assert answer["error"]["code"] == "database_in_use"
    assert not data.exists()


def test_council_proposals_are_checked_before_anything_is_sent(world: World) -> None:
    a = world.a
    count = cli(a, "council", "show", "--as", "MARKET")["proposal_count"]
    bad = cli(a, "council", "trust", "--verifier-region", "11", "--issuer-region", GUANGDONG,
              "--type", BUSINESS, "--as", "MARKET", code=2)
    assert bad["error"]["code"] == "invalid_request"
    unknown = cli(a, "council", "set-active", "NOBODY", "--inactive", "--as", "MARKET", code=2)
    assert unknown["error"]["code"] == "unknown_department"
    assert cli(a, "council", "approve", "9999", "--as", "MARKET", code=2)["error"]["code"] == "unknown_proposal"
    assert cli(a, "council", "proposal", "9999", "--as", "MARKET", code=2)["error"]["code"] == "unknown_proposal"
    assert cli(a, "council", "show", "--as", "MARKET")["proposal_count"] == count
    assert cli(a, "council", "show", "--as", "BANK")["seat"] is None
